//! Tests added for mutants that survived in the decision code: each names what the surviving
//! mutant got away with (docs/mutation-testing.md).

mod common;

use common::platform::{Platform, refs};

/// `backup/reference.rs`: a sidecar's own-name backup is refused, and the message says why
/// (it is bound to its parent's backup), not only that the module is wrong.
#[test]
fn a_sidecars_own_backup_is_refused_with_the_binding_explained() {
    let p = Platform::new();
    let own = p.backup(
        "minio-init-20260517T010847Z.tar.gz",
        &common::backup::minio_tar_gz(),
        0o600,
    );
    let out = p.scope(&refs(&Platform::dispatch_args(&own)));
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout.contains("backup.ref.wrong_module"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "minio-init is bound to the backup of minio; its own backup does not cover the data"
        ),
        "{}",
        out.stdout
    );
    // A backup of an unrelated module gets no such note.
    let other = p.backup(
        "redis-20260517T010847Z.tar.gz",
        &common::backup::minio_tar_gz(),
        0o600,
    );
    let out = p.scope(&refs(&Platform::dispatch_args(&other)));
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout.contains("backup.ref.wrong_module"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("is bound to"), "{}", out.stdout);
}
