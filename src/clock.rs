//! The clock is an input: tests and replays pass `--now`.
use crate::report::{GateError, general};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub fn now_or(explicit: Option<&str>) -> Result<OffsetDateTime, GateError> {
    match explicit {
        None => Ok(OffsetDateTime::now_utc()),
        Some(text) => OffsetDateTime::parse(text, &Rfc3339)
            .map(|t| t.to_offset(time::UtcOffset::UTC))
            .map_err(|_| {
                GateError::new(
                    &general::CLOCK_INVALID,
                    format!(
                        "--now `{}` is not an RFC 3339 timestamp",
                        text.escape_debug()
                    ),
                )
            }),
    }
}

pub fn format(t: OffsetDateTime) -> String {
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}
