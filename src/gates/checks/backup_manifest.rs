//! The manifest `backup_before_apply` writes beside a backup (`<backup>.manifest.json`): when
//! present it must be valid and describe exactly this file, for this module and class; the
//! policy's `backup.require_manifest` makes it required.

use super::backup_beside::{class_fits, file_facts, module_fits, reference};
use crate::backup::evidence;
use crate::gates::host::Beside;
use crate::gates::{Check, Context, Ran};
use crate::report::code::code;
use crate::report::{Code, Decision, Reason};
use std::path::Path;

code!(
    MANIFEST_MISSING,
    "backup.manifest.missing",
    Error,
    "The policy requires a backup manifest and none sits beside the backup.",
    "Take the backup with backup_before_apply, which writes <backup>.manifest.json beside it."
);
code!(
    MANIFEST_INVALID,
    "backup.manifest.invalid",
    Error,
    "The manifest beside the backup cannot be read, or is not a valid backup manifest.",
    "Take the backup again with backup_before_apply; a manifest is never edited by hand."
);
code!(
    MANIFEST_MISMATCH,
    "backup.manifest.mismatch",
    Error,
    "The manifest beside the backup describes another file, module or class.",
    "The file or its manifest was replaced or copied from another backup: take the backup again."
);
code!(
    MANIFEST_ABSENT,
    "backup.manifest.absent",
    Info,
    "No manifest sits beside the backup, and the policy does not require one.",
    "Nothing to do; set backup.require_manifest: true once every backup is taken by backup_before_apply."
);
code!(
    MANIFEST_OK,
    "backup.manifest.ok",
    Info,
    "The manifest beside the backup describes exactly this file, module and class.",
    "Nothing to do."
);

const SUBJECT: &str = "backup_manifest";

pub struct BackupManifest;

impl Check for BackupManifest {
    fn id(&self) -> &'static str {
        "backup-manifest"
    }
    fn summary(&self) -> &'static str {
        "a manifest beside the backup (required by policy, or present) describes exactly this file"
    }
    fn codes(&self) -> &'static [&'static Code] {
        static CODES: &[&Code] = &[
            &MANIFEST_MISSING,
            &MANIFEST_INVALID,
            &MANIFEST_MISMATCH,
            &MANIFEST_ABSENT,
            &MANIFEST_OK,
        ];
        CODES
    }
    fn run(&self, ctx: &Context, d: &mut Decision) -> Ran {
        let Some(r) = reference(ctx) else {
            return Ran::NotApplicable;
        };
        let path = evidence::manifest_path(Path::new(&r.path));
        let shown = path.display().to_string();
        let text = match ctx.host.beside(&path) {
            Beside::Absent if ctx.policy.backup.require_manifest => {
                d.push(
                    Reason::new(
                        &MANIFEST_MISSING,
                        format!("no manifest at {shown}, and backup.require_manifest is true"),
                    )
                    .subject(SUBJECT),
                );
                return Ran::Yes;
            }
            Beside::Absent => {
                d.push(
                    Reason::new(
                        &MANIFEST_ABSENT,
                        format!("no manifest at {shown}; not required by the policy"),
                    )
                    .subject(SUBJECT),
                );
                return Ran::Yes;
            }
            Beside::Unreadable { why } => {
                d.push(Reason::new(&MANIFEST_INVALID, why).subject(SUBJECT));
                return Ran::Yes;
            }
            Beside::Present { text } => text,
        };
        let m = match evidence::parse_manifest(text.as_bytes()) {
            Ok(m) => m,
            Err(why) => {
                d.push(Reason::new(&MANIFEST_INVALID, format!("{shown}: {why}")).subject(SUBJECT));
                return Ran::Yes;
            }
        };
        let mut wrong = Vec::new();
        if m.artifact != r.file_name {
            wrong.push(format!("it describes {}, not {}", m.artifact, r.file_name));
        }
        if m.ref_module != r.ref_module {
            wrong.push(format!(
                "its ref_module is `{}`, the file's is `{}`",
                m.ref_module, r.ref_module
            ));
        }
        if !module_fits(ctx, &r, &m.module) {
            wrong.push(format!(
                "it was taken for `{}`, not `{}` (or `{}`)",
                m.module, ctx.manifest.id, r.ref_module
            ));
        }
        if !class_fits(ctx, &m.class) {
            wrong.push(format!(
                "its class is {}, the module's is {}",
                m.class,
                ctx.manifest.backup_class.as_deref().unwrap_or("(none)")
            ));
        }
        match file_facts(d) {
            Some((sha, size)) => {
                if m.sha256 != sha {
                    wrong.push(format!("its sha256 is {}, the file's is {sha}", m.sha256));
                }
                if m.size != size {
                    wrong.push(format!(
                        "its size is {} bytes, the file's is {size}",
                        m.size
                    ));
                }
            }
            // The artifact check refused the file (and blocks): nothing was compared, so the
            // manifest is not said to match it.
            None => wrong.push("this file's sha256 and size are not known (see backup_ref)".into()),
        }
        if wrong.is_empty() {
            d.push(
                Reason::new(
                    &MANIFEST_OK,
                    format!(
                        "{shown}: {} of `{}` by {}, sha256 and size match the file",
                        m.class,
                        m.module,
                        m.procedure.as_str()
                    ),
                )
                .subject(SUBJECT),
            );
        } else {
            d.push(
                Reason::new(&MANIFEST_MISMATCH, format!("{shown}: {}", wrong.join("; ")))
                    .subject(SUBJECT),
            );
        }
        Ran::Yes
    }
}
