//! What the backup-evidence checks share (not a check): the backup's reference when it passed
//! the grammar, what the artifact check saw of the file, and whether a record's module and
//! class fit the dispatch.

use crate::backup::reference::{self, BackupRef};
use crate::gates::Context;
use crate::report::Decision;

/// The reference of a stateful dispatch that passed the grammar; `None` otherwise (the
/// reference check has said why, and a path that failed it is never opened).
pub fn reference(ctx: &Context) -> Option<BackupRef> {
    if !ctx.manifest.is_stateful() {
        return None;
    }
    let raw = ctx.inputs.backup_ref.as_ref()?;
    reference::check(raw, ctx.manifest, &ctx.policy.backup, ctx.now).ok()
}

/// The file's sha256 and size as the artifact check (which runs before) read them; `None`
/// when it refused the file (and blocked, so nothing here can turn that into a yes).
pub fn file_facts(d: &Decision) -> Option<(String, u64)> {
    let sha = d.facts.get("backup_sha256")?.clone();
    let size = d.facts.get("backup_bytes")?.parse().ok()?;
    Some((sha, size))
}

/// Whether a record naming `module` may stand for this dispatch: the dispatched module itself,
/// or the module whose data the backup is (a backup of `minio` covers `minio-init`).
pub fn module_fits(ctx: &Context, r: &BackupRef, module: &str) -> bool {
    module == ctx.manifest.id.as_str() || module == r.ref_module
}

/// Whether a record's class is the dispatched module's backup class (any, when it declares
/// none: the gates then accept only the `tar.gz` fallback anyway).
pub fn class_fits(ctx: &Context, class: &str) -> bool {
    ctx.manifest
        .backup_class
        .as_deref()
        .is_none_or(|c| c == class)
}
