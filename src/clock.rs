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

/// `--now` is refused inside a workflow run (`GITHUB_ACTIONS`/`FORGEJO_ACTIONS` is `true`):
/// the clock decides a backup's freshness and an exception's expiry, and whoever writes the
/// workflow must not choose it. Tests and replays run outside a workflow.
pub fn refuse_override_in_workflow(
    explicit: Option<&str>,
    env: &dyn crate::env::Env,
) -> Result<(), GateError> {
    if explicit.is_none() {
        return Ok(());
    }
    match crate::env::runner_var(env, "ACTIONS")?.as_deref() {
        Some("true") => Err(GateError::new(
            &general::USAGE,
            "--now is refused inside a workflow run (GITHUB_ACTIONS/FORGEJO_ACTIONS is true): the clock decides a backup's freshness and an exception's expiry, so a gate in a workflow reads the system clock; remove --now from the step",
        )),
        _ => Ok(()),
    }
}

pub fn format(t: OffsetDateTime) -> String {
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}
