//! The record `restore_drill` writes beside a backup (`<backup>.drill.json`): the backup was
//! restored into a scratch instance and matched its inventory. Required for the classes the
//! policy lists in `backup.require_drill`; when present for any class it must be valid, for
//! this very file (sha256), passed, and not older than the backup.

use super::backup_beside::{class_fits, file_facts, module_fits, reference};
use crate::backup::evidence::{self, DrillOutcome};
use crate::gates::host::Beside;
use crate::gates::{Check, Context, Ran};
use crate::report::code::code;
use crate::report::{Code, Decision, Reason};
use std::path::Path;

code!(
    DRILL_MISSING,
    "backup.drill.missing",
    Error,
    "The policy requires a restore drill for this backup class and no drill record sits beside the backup.",
    "Run restore_drill --backup-ref PATH --module ID on the backup; it writes <backup>.drill.json when the restore matched."
);
code!(
    DRILL_INVALID,
    "backup.drill.invalid",
    Error,
    "The drill record beside the backup cannot be read, or is not a valid drill record.",
    "Run restore_drill again; a drill record is never edited by hand."
);
code!(
    DRILL_MISMATCH,
    "backup.drill.mismatch",
    Error,
    "The drill record is for another file (sha256 or name), module or class.",
    "The record was copied from another backup, or the backup changed after its drill: run restore_drill on this file."
);
code!(
    DRILL_FAILED,
    "backup.drill.failed",
    Error,
    "The restore drill of this backup failed: it did not restore, or what came back differs.",
    "Do not rely on this backup: read the record's comparison, take a new backup and drill it."
);
code!(
    DRILL_STALE,
    "backup.drill.stale",
    Error,
    "The drill record finished before the backup was taken.",
    "A drill cannot prove a backup that did not exist yet: run restore_drill on this backup."
);
code!(
    DRILL_OK,
    "backup.drill.ok",
    Info,
    "This very backup was restored into a scratch instance and matched its manifest.",
    "Nothing to do."
);

const SUBJECT: &str = "backup_drill";

pub struct RestoreDrill;

impl Check for RestoreDrill {
    fn id(&self) -> &'static str {
        "restore-drill"
    }
    fn summary(&self) -> &'static str {
        "a drill record beside the backup (required per class by policy, or present) shows this file restored and matched"
    }
    fn codes(&self) -> &'static [&'static Code] {
        static CODES: &[&Code] = &[
            &DRILL_MISSING,
            &DRILL_INVALID,
            &DRILL_MISMATCH,
            &DRILL_FAILED,
            &DRILL_STALE,
            &DRILL_OK,
        ];
        CODES
    }
    fn run(&self, ctx: &Context, d: &mut Decision) -> Ran {
        let Some(r) = reference(ctx) else {
            return Ran::NotApplicable;
        };
        let class = ctx.manifest.backup_class.as_deref().unwrap_or("(none)");
        let required = ctx.policy.backup.require_drill.iter().any(|c| c == class);
        let path = evidence::drill_path(Path::new(&r.path));
        let shown = path.display().to_string();
        let text = match ctx.host.beside(&path) {
            Beside::Absent if required => {
                d.push(
                    Reason::new(
                        &DRILL_MISSING,
                        format!(
                            "no drill record at {shown}, and backup.require_drill lists {class}"
                        ),
                    )
                    .subject(SUBJECT),
                );
                return Ran::Yes;
            }
            Beside::Absent => return Ran::NotApplicable,
            Beside::Unreadable { why } => {
                d.push(Reason::new(&DRILL_INVALID, why).subject(SUBJECT));
                return Ran::Yes;
            }
            Beside::Present { text } => text,
        };
        let record = match evidence::parse_drill(text.as_bytes()) {
            Ok(record) => record,
            Err(why) => {
                d.push(Reason::new(&DRILL_INVALID, format!("{shown}: {why}")).subject(SUBJECT));
                return Ran::Yes;
            }
        };
        let before = d.reasons.len();
        let mut wrong = Vec::new();
        if record.artifact != r.file_name {
            wrong.push(format!(
                "it drilled {}, not {}",
                record.artifact, r.file_name
            ));
        }
        if !module_fits(ctx, &r, &record.module) {
            wrong.push(format!(
                "it drilled a backup of `{}`, not `{}` (or `{}`)",
                record.module, ctx.manifest.id, r.ref_module
            ));
        }
        if !class_fits(ctx, &record.class) {
            wrong.push(format!(
                "its class is {}, the module's is {class}",
                record.class
            ));
        }
        match file_facts(d) {
            Some((sha, _)) if record.backup_sha256 != sha => wrong.push(format!(
                "it drilled a file with sha256 {}, this file's is {sha}",
                record.backup_sha256
            )),
            Some(_) => {}
            // The artifact check refused the file and blocks; a drill cannot vouch for it.
            None => wrong.push("this file's sha256 is not known (see backup_ref)".into()),
        }
        if !wrong.is_empty() {
            d.push(
                Reason::new(&DRILL_MISMATCH, format!("{shown}: {}", wrong.join("; ")))
                    .subject(SUBJECT),
            );
        }
        if record.outcome == DrillOutcome::Fail {
            let differs: Vec<String> = record
                .comparison
                .iter()
                .filter(|c| !c.ok)
                .take(5)
                .map(|c| {
                    format!(
                        "{}: expected {}, restored {}",
                        c.item, c.expected, c.restored
                    )
                })
                .collect();
            d.push(
                Reason::new(
                    &DRILL_FAILED,
                    format!(
                        "{shown}: the drill of {} failed{}",
                        r.file_name,
                        if differs.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", differs.join("; "))
                        }
                    ),
                )
                .subject(SUBJECT),
            );
        }
        if record.finished_at < r.taken_at {
            d.push(
                Reason::new(
                    &DRILL_STALE,
                    format!(
                        "{shown}: the drill finished at {}, before the backup's stamp {}",
                        evidence::stamp::format(record.finished_at),
                        evidence::stamp::format(r.taken_at)
                    ),
                )
                .subject(SUBJECT),
            );
        }
        if d.reasons.len() == before {
            d.push(
                Reason::new(
                    &DRILL_OK,
                    format!(
                        "{shown}: restored into {} and matched {} item(s), finished {}{}",
                        record.scratch,
                        record.comparison.len(),
                        evidence::stamp::format(record.finished_at),
                        if required {
                            " (required by policy)"
                        } else {
                            ""
                        }
                    ),
                )
                .subject(SUBJECT),
            );
        }
        Ran::Yes
    }
}
