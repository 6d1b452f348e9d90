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

/// `backup/reference.rs` `split_name`: every part of the stamp's shape is checked on its own
/// (a wrong separator or a letter among the digits is not a stamp, even where the date parser
/// would skip it), the module part must be a module id, and short names are refused without
/// slicing out of range.
#[test]
fn backup_file_names_are_split_only_when_every_part_has_its_shape() {
    use forgejo_gates::backup::reference::split_name;
    assert_eq!(
        split_name("a-20260517T010847Z.tar.gz"),
        Some(("a", "20260517T010847Z", "tar.gz")),
        "the shortest valid name"
    );
    for bad in [
        "minio-20260517X010847Z.tar.gz", // separator T
        "minio-20260517T010847X.tar.gz", // final Z
        "minio-2026O517T010847Z.tar.gz", // a letter in the date
        "minio-20260517T01O847Z.tar.gz", // a letter in the time
        "Minio-20260517T010847Z.tar.gz", // not a module id
        "minio_20260517T010847Z.tar.gz", // no hyphen before the stamp
        "-20260517T010847Z.tar.gz",      // no module
        "20260517T010847Z.tar.gz",
        "x-1.tar.gz",
        "x.tar.gz",
        ".tar.gz",
        "a20260517T010847Z.tar.gz",
    ] {
        assert_eq!(split_name(bad), None, "{bad}");
    }
}

/// The same through the gate: a stamp with a wrong separator is a name error, never a yes.
#[test]
fn a_backup_stamp_with_a_wrong_separator_is_refused_by_the_gate() {
    let p = Platform::new();
    let bad = p.backup(
        "minio-20260517X010847Z.tar.gz",
        &common::backup::minio_tar_gz(),
        0o600,
    );
    let out = p.scope(&refs(&Platform::dispatch_args(&bad)));
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout.contains("backup.ref.name_invalid"),
        "{}",
        out.stdout
    );
}
