//! The backup file itself, on the runner host: regular, one link, not older than its name,
//! private, root-owned, non-empty and readable as its format (deep by default: proven
//! complete); its sha256 goes into the decision.

use crate::backup::{self, artifact, reference};
use crate::gates::{Check, Context, Ran};
use crate::report::{Code, Decision, InputDigest, Reason};

pub struct BackupArtifact;

impl Check for BackupArtifact {
    fn id(&self) -> &'static str {
        "backup-artifact"
    }
    fn summary(&self) -> &'static str {
        "the backup file exists on this host, private and owned right, and reads as its format"
    }
    fn codes(&self) -> &'static [&'static Code] {
        static CODES: &[&Code] = &[
            &backup::ROOT_UNREADABLE,
            &backup::ROOT_UNSAFE,
            &backup::ARTIFACT_MISSING,
            &backup::SYMLINK,
            &backup::NOT_REGULAR,
            &backup::EMPTY,
            &backup::MODE,
            &backup::OWNER,
            &backup::HARD_LINK,
            &backup::OLDER_THAN_NAME,
            &backup::FORMAT,
            &backup::deep::INCOMPLETE,
            &backup::deep::CHECKSUM,
            &backup::deep::UNVERIFIABLE,
            &backup::deep::NO_DATA,
            &backup::SHALLOW,
            &backup::ARTIFACT_OK,
        ];
        CODES
    }
    fn run(&self, ctx: &Context, d: &mut Decision) -> Ran {
        if !ctx.manifest.is_stateful() {
            return Ran::NotApplicable;
        }
        let Some(raw) = &ctx.inputs.backup_ref else {
            return Ran::NotApplicable;
        };
        // A reference that fails the grammar is never opened: its path is not trusted.
        let Ok(r) = reference::check(raw, ctx.manifest, &ctx.policy.backup, ctx.now) else {
            return Ran::NotApplicable;
        };
        let mut reasons = Vec::new();
        let observation = ctx.host.backup(&r, &ctx.policy.backup);
        if let Some(facts) = artifact::judge(&observation, &r, &ctx.policy.backup, &mut reasons) {
            d.push(
                Reason::new(
                    &backup::ARTIFACT_OK,
                    format!(
                        "{}: regular file, {} bytes, mode {:04o}, uid {}, {}; sha256 {}",
                        r.path, facts.size, facts.mode, facts.uid, facts.detail, facts.sha256
                    ),
                )
                .subject("backup_ref"),
            );
            d.fact("backup_sha256", facts.sha256.clone());
            d.fact("backup_bytes", facts.size.to_string());
            d.inputs.push(InputDigest {
                name: "backup".into(),
                source: r.path.clone(),
                sha256: facts.sha256,
                bytes: facts.size,
            });
        }
        for reason in reasons {
            d.push(reason);
        }
        Ran::Yes
    }
}
