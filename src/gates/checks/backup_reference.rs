//! The backup reference of a stateful dispatch: present, well-formed, for the right module,
//! fresh, and of the module's format.

use crate::backup::{self, reference};
use crate::gates::{Check, Context, Ran};
use crate::report::{Code, Decision, Reason};

pub struct BackupReference;

impl Check for BackupReference {
    fn id(&self) -> &'static str {
        "backup-reference"
    }
    fn summary(&self) -> &'static str {
        "a stateful dispatch names a fresh backup of the right module, in the backup root"
    }
    fn codes(&self) -> &'static [&'static Code] {
        static CODES: &[&Code] = &[
            &backup::MISSING,
            &backup::INVALID_CHARS,
            &backup::NOT_ABSOLUTE,
            &backup::PARENT_DIR,
            &backup::NOT_NORMALIZED,
            &backup::OUTSIDE_ROOT,
            &backup::NAME_INVALID,
            &backup::WRONG_MODULE,
            &backup::TIMESTAMP_INVALID,
            &backup::FUTURE,
            &backup::STALE,
            &backup::EXTENSION,
            &backup::REF_OK,
        ];
        CODES
    }
    fn run(&self, ctx: &Context, d: &mut Decision) -> Ran {
        if !ctx.manifest.is_stateful() {
            return Ran::NotApplicable;
        }
        let Some(raw) = &ctx.inputs.backup_ref else {
            d.push(
                Reason::new(
                    &backup::MISSING,
                    format!(
                        "`{}` is stateful and no backup_ref was given",
                        ctx.manifest.id
                    ),
                )
                .subject("backup_ref"),
            );
            return Ran::Yes;
        };
        match reference::check(raw, ctx.manifest, &ctx.policy.backup, ctx.now) {
            Ok(r) => {
                let age = ctx.now - r.taken_at;
                d.push(
                    Reason::new(
                        &backup::REF_OK,
                        format!(
                            "backup {} is of `{}`, {} min old (window {}h), .{} fits class {}",
                            r.file_name,
                            r.ref_module,
                            age.whole_minutes().max(0),
                            ctx.policy.backup.max_age_hours,
                            r.extension,
                            ctx.manifest
                                .backup_class
                                .as_deref()
                                .unwrap_or("(none: fallback)")
                        ),
                    )
                    .subject("backup_ref"),
                );
            }
            Err(reasons) => {
                for r in reasons {
                    d.push(r);
                }
            }
        }
        Ran::Yes
    }
}
