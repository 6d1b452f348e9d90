//! The backup reference grammar: `<root>/<ref-module>-<YYYYMMDDTHHMMSSZ>.<ext>`.

use super::*;
use crate::model::backup_format::EXTENSIONS;
use crate::model::{Manifest, ModuleId};
use crate::policy::BackupPolicy;
use crate::report::Reason;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// A reference that passed the grammar.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupRef {
    pub path: String,
    pub file_name: String,
    pub ref_module: String,
    pub taken_at: OffsetDateTime,
    pub extension: String,
}

/// Check `raw` against the grammar, the module and the clock. Every problem found is
/// returned, not only the first.
pub fn check(
    raw: &str,
    manifest: &Manifest,
    policy: &BackupPolicy,
    now: OffsetDateTime,
) -> Result<BackupRef, Vec<Reason>> {
    let mut reasons = Vec::new();
    let subject = "backup_ref";
    if raw
        .chars()
        .any(|c| !c.is_ascii() || c.is_ascii_whitespace() || c.is_ascii_control())
    {
        reasons.push(
            Reason::new(
                &INVALID_CHARS,
                format!(
                    "backup_ref {:?} contains whitespace, control or non-ASCII characters",
                    short(raw)
                ),
            )
            .subject(subject),
        );
        return Err(reasons);
    }
    if !raw.starts_with('/') {
        reasons.push(
            Reason::new(
                &NOT_ABSOLUTE,
                format!("backup_ref {raw:?} is not an absolute path"),
            )
            .subject(subject),
        );
        return Err(reasons);
    }
    let components: Vec<&str> = raw[1..].split('/').collect();
    if components.contains(&"..") {
        reasons.push(
            Reason::new(&PARENT_DIR, format!("backup_ref {raw:?} contains `..`")).subject(subject),
        );
    }
    if components.iter().any(|c| c.is_empty() || *c == ".") {
        reasons.push(
            Reason::new(
                &NOT_NORMALIZED,
                format!("backup_ref {raw:?} has an empty, `.` or trailing-slash component"),
            )
            .subject(subject),
        );
    }
    if !reasons.is_empty() {
        return Err(reasons);
    }
    let (dir, file_name) = raw.rsplit_once('/').unwrap_or(("", raw));
    if dir != policy.root {
        reasons.push(
            Reason::new(
                &OUTSIDE_ROOT,
                format!(
                    "backup_ref {raw:?} is not directly inside the backup root {}",
                    policy.root
                ),
            )
            .subject(subject),
        );
    }
    let Some((ref_module, stamp, extension)) = split_name(file_name) else {
        reasons.push(
            Reason::new(
                &NAME_INVALID,
                format!(
                    "file name {file_name:?} is not <ref-module>-<YYYYMMDDTHHMMSSZ>.<ext> with a known extension"
                ),
            )
            .subject(subject),
        );
        return Err(reasons);
    };
    let allowed_modules = manifest.backup_modules();
    if !allowed_modules.iter().any(|m| m == ref_module) {
        let note = if ref_module == manifest.id.as_str() {
            format!(
                " ({} is bound to the backup of {}; its own backup does not cover the data)",
                manifest.id,
                allowed_modules.join(", ")
            )
        } else {
            String::new()
        };
        reasons.push(
            Reason::new(
                &WRONG_MODULE,
                format!(
                    "the backup is of `{ref_module}`, but `{}` is covered only by backups of: {}{note}",
                    manifest.id,
                    allowed_modules.join(", ")
                ),
            )
            .subject(subject),
        );
    }
    let taken_at = parse_stamp(stamp);
    match taken_at {
        None => reasons.push(
            Reason::new(
                &TIMESTAMP_INVALID,
                format!("timestamp {stamp} in the file name is not a real UTC instant"),
            )
            .subject(subject),
        ),
        Some(t) => {
            let skew = time::Duration::seconds(policy.max_future_skew_seconds as i64);
            let max_age = time::Duration::hours(policy.max_age_hours as i64);
            if t > now + skew {
                reasons.push(
                    Reason::new(
                        &FUTURE,
                        format!(
                            "backup timestamp {stamp} is {} ahead of the gate's clock ({}); at most {}s of skew is allowed",
                            human(t - now),
                            crate::clock::format(now),
                            policy.max_future_skew_seconds
                        ),
                    )
                    .subject(subject),
                );
            } else if now - t > max_age {
                reasons.push(
                    Reason::new(
                        &STALE,
                        format!(
                            "backup is {} old (taken {stamp}); the freshness window is {}h",
                            human(now - t),
                            policy.max_age_hours
                        ),
                    )
                    .subject(subject),
                );
            }
        }
    }
    let allowed_ext = policy.extensions_for(manifest.backup_class.as_deref());
    if !allowed_ext.iter().any(|e| e == extension) {
        reasons.push(
            Reason::new(
                &EXTENSION,
                format!(
                    "extension .{extension} does not fit backup class {}; allowed: {}",
                    manifest
                        .backup_class
                        .as_deref()
                        .unwrap_or("(none declared)"),
                    allowed_ext
                        .iter()
                        .map(|e| format!(".{e}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .subject(subject),
        );
    }
    match (reasons.is_empty(), taken_at) {
        (true, Some(taken_at)) => Ok(BackupRef {
            path: raw.to_string(),
            file_name: file_name.to_string(),
            ref_module: ref_module.to_string(),
            taken_at,
            extension: extension.to_string(),
        }),
        _ => Err(reasons),
    }
}

/// Split `minio-20260517T010847Z.tar.gz` into (`minio`, `20260517T010847Z`, `tar.gz`).
pub fn split_name(name: &str) -> Option<(&str, &str, &str)> {
    const STAMP: usize = 16;
    for (ext, _) in EXTENSIONS {
        let Some(rest) = name.strip_suffix(ext).and_then(|r| r.strip_suffix('.')) else {
            continue;
        };
        if rest.len() < STAMP + 2 {
            return None;
        }
        let (head, stamp) = rest.split_at(rest.len() - STAMP);
        let module = head.strip_suffix('-')?;
        let b = stamp.as_bytes();
        let shape = b[..8].iter().all(u8::is_ascii_digit)
            && b[8] == b'T'
            && b[9..15].iter().all(u8::is_ascii_digit)
            && b[15] == b'Z';
        if !shape || ModuleId::parse(module).is_err() {
            return None;
        }
        return Some((module, stamp, ext));
    }
    None
}

/// `YYYYMMDDTHHMMSSZ` as a real instant; `20260230T000000Z` is `None`.
pub fn parse_stamp(stamp: &str) -> Option<OffsetDateTime> {
    let n = |r: std::ops::Range<usize>| stamp.get(r)?.parse::<u32>().ok();
    let month = Month::try_from(n(4..6)? as u8).ok()?;
    let date = Date::from_calendar_date(n(0..4)? as i32, month, n(6..8)? as u8).ok()?;
    let time = Time::from_hms(n(9..11)? as u8, n(11..13)? as u8, n(13..15)? as u8).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

fn human(d: time::Duration) -> String {
    let s = d.whole_seconds().abs();
    if s >= 86_400 {
        format!("{}d{}h", s / 86_400, (s % 86_400) / 3600)
    } else if s >= 3600 {
        format!("{}h{}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}m{}s", s / 60, s % 60)
    }
}

fn short(raw: &str) -> String {
    crate::model::truncate(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_real_names() {
        assert_eq!(
            split_name("minio-20260517T010847Z.tar.gz"),
            Some(("minio", "20260517T010847Z", "tar.gz"))
        );
        assert_eq!(
            split_name("minio-init-20260517T010847Z.tar.zst"),
            Some(("minio-init", "20260517T010847Z", "tar.zst"))
        );
        assert_eq!(split_name("minio-20260517T010847Z.zip"), None);
        assert_eq!(split_name("minio_20260517T010847Z.tar.gz"), None);
        assert_eq!(split_name("-20260517T010847Z.tar.gz"), None);
        assert_eq!(split_name("minio-2026051T010847Z.tar.gz"), None);
    }

    #[test]
    fn impossible_dates_are_not_instants() {
        assert!(parse_stamp("20260230T000000Z").is_none());
        assert!(parse_stamp("20261301T000000Z").is_none());
        assert!(parse_stamp("20260101T246000Z").is_none());
        assert!(parse_stamp("20240229T235959Z").is_some());
    }
}
