//! Tests added for mutants that survived in the backup artifact checks (docs/mutation-testing.md).

mod common;

use common::platform::{Platform, REAL_BACKUP, refs};
use std::process::Command;

/// A FIFO planted at the backup path must not hang the gate (the file is opened with
/// O_NONBLOCK) and is not a regular file.
#[test]
fn a_fifo_at_the_backup_path_is_not_regular_and_does_not_hang() {
    let p = Platform::new();
    let path = p.backups.join(REAL_BACKUP);
    let status = Command::new("mkfifo")
        .arg("-m")
        .arg("600")
        .arg(&path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
    let args = Platform::dispatch_args(path.to_str().unwrap());
    let out = p.scope(&refs(&args));
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout.contains("backup.artifact.not_regular"),
        "{}",
        out.stdout
    );
}

/// The backup root itself being a file (not a directory) is the root's problem, reported as such.
#[test]
fn a_backup_root_that_is_a_file_is_unreadable_root() {
    let p = Platform::new();
    let root_file = p.file("not-a-dir", b"x");
    let policy = std::fs::read_to_string(&p.policy)
        .unwrap()
        .replace(p.backups.to_str().unwrap(), root_file.to_str().unwrap());
    let policy = p.file("policy-file-root.yml", policy.as_bytes());
    let backup = format!("{}/{REAL_BACKUP}", root_file.display());
    let out = common::run(
        common::gate("auto_apply_scope")
            .arg("--modules-dir")
            .arg(&p.modules)
            .arg("--policy")
            .arg(&policy)
            .args(["--now", common::platform::NOW])
            .args(refs(&Platform::dispatch_args(&backup))),
    );
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout.contains("backup.artifact.root_unreadable")
            && out.stdout.contains("is not a directory"),
        "{}",
        out.stdout
    );
}
