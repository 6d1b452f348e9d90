//! A backup much smaller than the module's previous one, or than a per-module minimum, blocks:
//! an emptied database backs up small and looks healthy. The previous size is the newest
//! older manifest of the same module and format in the backup root; the share is the policy's
//! `backup.min_size_ratio`, the minimum `backup.min_size.<module>`. A dated, explained
//! exception with `allow_small_backup: true` lets one pass, and says so.

use super::backup_beside::{file_facts, reference};
use crate::backup::evidence;
use crate::backup::reference::{parse_stamp, split_name};
use crate::gates::host::Beside;
use crate::gates::{Check, Context, Ran};
use crate::report::code::code;
use crate::report::{Code, Decision, Reason};
use std::path::Path;

code!(
    SIZE_SHRUNK,
    "backup.size.shrunk",
    Error,
    "The backup is much smaller than the module's previous backup.",
    "Check that the data is still there (an emptied database backs up small); if the drop is expected, add a dated exception with allow_small_backup: true and the reason."
);
code!(
    SIZE_BELOW_MINIMUM,
    "backup.size.below_minimum",
    Error,
    "The backup is smaller than the policy's minimum for this module.",
    "Check that the data is still there; if the module really shrank, lower backup.min_size for it or add a dated exception with allow_small_backup: true."
);
code!(
    SIZE_UNVERIFIABLE,
    "backup.size.unverifiable",
    Error,
    "The backup root could not be listed, so the previous backup's size is not known.",
    "Give the runner read access to the backup root (it already needs it to read the backup)."
);
code!(
    SIZE_PREVIOUS_INVALID,
    "backup.size.previous_invalid",
    Warning,
    "An older manifest in the backup root could not be read and was passed over for the size comparison.",
    "Remove or repair the broken manifest; the comparison used the next older valid one."
);
code!(
    SIZE_EXCEPTED,
    "backup.size.excepted",
    Warning,
    "The backup is smaller than the size check allows, and a live policy exception lets it pass.",
    "Remove the exception once backups are back to their usual size, or when it expires."
);
code!(
    SIZE_OK,
    "backup.size.ok",
    Info,
    "The backup is not much smaller than the module's previous one nor than its minimum.",
    "Nothing to do."
);

const SUBJECT: &str = "backup_size";
/// Older manifests read at most, newest first, before the comparison gives up on them.
const MAX_PREVIOUS_READ: usize = 16;

pub struct BackupSize;

impl Check for BackupSize {
    fn id(&self) -> &'static str {
        "backup-size"
    }
    fn summary(&self) -> &'static str {
        "the backup is not much smaller than the module's previous one, nor than its minimum"
    }
    fn codes(&self) -> &'static [&'static Code] {
        static CODES: &[&Code] = &[
            &SIZE_SHRUNK,
            &SIZE_BELOW_MINIMUM,
            &SIZE_UNVERIFIABLE,
            &SIZE_PREVIOUS_INVALID,
            &SIZE_EXCEPTED,
            &SIZE_OK,
        ];
        CODES
    }
    fn run(&self, ctx: &Context, d: &mut Decision) -> Ran {
        let Some(r) = reference(ctx) else {
            return Ran::NotApplicable;
        };
        // The artifact check refused the file (and blocks): there is no size to judge.
        let Some((_, size)) = file_facts(d) else {
            return Ran::NotApplicable;
        };
        let policy = &ctx.policy.backup;
        let minimum = [ctx.manifest.id.as_str(), r.ref_module.as_str()]
            .iter()
            .filter_map(|m| policy.min_size.get(*m).copied())
            .max();
        let previous = if policy.min_size_ratio > 0.0 {
            match previous_size(ctx, &r, d) {
                Ok(p) => p,
                Err(why) => {
                    d.push(Reason::new(&SIZE_UNVERIFIABLE, why).subject(SUBJECT));
                    return Ran::Yes;
                }
            }
        } else {
            None
        };
        let mut violations: Vec<(&'static Code, String)> = Vec::new();
        if let Some((name, prev)) = &previous
            && (size as f64) < policy.min_size_ratio * (*prev as f64)
        {
            violations.push((
                &SIZE_SHRUNK,
                format!(
                    "{} is {size} bytes, less than {} of the previous backup {name} ({prev} bytes)",
                    r.file_name, policy.min_size_ratio
                ),
            ));
        }
        if let Some(min) = minimum
            && size < min
        {
            violations.push((
                &SIZE_BELOW_MINIMUM,
                format!(
                    "{} is {size} bytes, below the minimum of {min} bytes in backup.min_size",
                    r.file_name
                ),
            ));
        }
        if violations.is_empty() {
            let compared = match (&previous, minimum) {
                (None, None) => {
                    "no previous manifest of this module and format in the root, and no minimum"
                        .to_string()
                }
                (p, m) => {
                    let mut parts = Vec::new();
                    if let Some((name, prev)) = p {
                        parts.push(format!("previous {name}: {prev} bytes"));
                    }
                    if let Some(min) = m {
                        parts.push(format!("minimum {min} bytes"));
                    }
                    parts.join(", ")
                }
            };
            d.push(
                Reason::new(
                    &SIZE_OK,
                    format!("{} is {size} bytes ({compared})", r.file_name),
                )
                .subject(SUBJECT),
            );
            return Ran::Yes;
        }
        let today = ctx.now.date();
        let exception = ctx.policy.exceptions.iter().find(|e| {
            e.allow_small_backup
                && (e.module == ctx.manifest.id.as_str() || e.module == r.ref_module)
                && e.applies_on(today)
        });
        for (code, message) in violations {
            match exception {
                Some(e) => d.push(
                    Reason::new(
                        &SIZE_EXCEPTED,
                        format!(
                            "{message}; allowed by the exception at line {} until {}: {}",
                            e.line, e.expires, e.reason
                        ),
                    )
                    .subject(SUBJECT),
                ),
                None => d.push(Reason::new(code, message).subject(SUBJECT)),
            }
        }
        Ran::Yes
    }
}

/// The newest valid manifest of an older backup of the same module and format in the root:
/// its file name and size.
fn previous_size(
    ctx: &Context,
    r: &crate::backup::reference::BackupRef,
    d: &mut Decision,
) -> Result<Option<(String, u64)>, String> {
    let root = Path::new(&ctx.policy.backup.root);
    let names = ctx.host.list_root(root)?;
    let mut older: Vec<(time::OffsetDateTime, String)> = names
        .iter()
        .filter_map(|n| {
            let artifact = n.strip_suffix(evidence::MANIFEST_SUFFIX)?;
            let (module, stamp, ext) = split_name(artifact)?;
            let at = parse_stamp(stamp)?;
            (module == r.ref_module && ext == r.extension && at < r.taken_at)
                .then(|| (at, artifact.to_string()))
        })
        .collect();
    older.sort();
    for (_, artifact) in older.iter().rev().take(MAX_PREVIOUS_READ) {
        let path = evidence::manifest_path(&root.join(artifact));
        let why = match ctx.host.beside(&path) {
            Beside::Present { text } => match evidence::parse_manifest(text.as_bytes()) {
                Ok(m) if m.artifact == *artifact => return Ok(Some((artifact.clone(), m.size))),
                Ok(m) => format!("it describes {}", m.artifact),
                Err(why) => why,
            },
            Beside::Absent => continue,
            Beside::Unreadable { why } => why,
        };
        d.push(
            Reason::new(
                &SIZE_PREVIOUS_INVALID,
                format!("{} was passed over: {why}", path.display()),
            )
            .subject(SUBJECT),
        );
    }
    Ok(None)
}
