//! The policy is read as a YAML 1.1 reader reads it, or refused (exit 2, `policy.invalid`,
//! naming the line), like the manifests: a number YAML 1.1 reads in octal, a number or a
//! tagged value where text is read, never silently the plain text.

mod common;

use common::platform::{CONFIRM, Platform};

fn assert_policy_refused(out: &common::Run, line: usize, words: &str) {
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.all().contains("policy.invalid"), "{}", out.all());
    assert!(
        out.stderr.contains(&format!("policy.yml:{line}:")),
        "expected a problem at line {line}: {}",
        out.stderr
    );
    assert!(
        out.stderr.contains(words),
        "expected {words:?}: {}",
        out.stderr
    );
}

#[test]
fn an_octal_freshness_window_is_refused() {
    // YAML 1.1 reads `010` as 8: a 9-hour-old backup is too old for the policy as written,
    // though a reader that drops the leading zero would take 10 hours.
    let p = Platform::with_policy_extra("  max_age_hours: 010\n");
    let backup = p.backup(
        "minio-20260516T163000Z.tar.gz",
        &common::backup::minio_tar_gz(),
        0o600,
    );
    let out = p.scope(&[
        "--module",
        "minio-init",
        "--allow-stateful",
        "--backup-ref",
        &backup,
        "--stateful-confirm",
        CONFIRM,
    ]);
    assert_policy_refused(&out, 5, "octal");
}

#[test]
fn a_number_as_the_confirm_phrase_is_refused() {
    // YAML 1.1 reads `12345678` as a number, not the phrase an operator types.
    let p = Platform::with_policy_extra("dispatch:\n  confirm_phrase: 12345678\n");
    let backup = p.real_backup();
    let out = p.scope(&[
        "--module",
        "minio-init",
        "--allow-stateful",
        "--backup-ref",
        &backup,
        "--stateful-confirm",
        "12345678",
    ]);
    assert_policy_refused(&out, 6, "number");
}

#[test]
fn a_binary_tagged_confirm_phrase_is_refused() {
    // PyYAML decodes `!!binary` to the bytes `BACKUP_DONE_F3`; never the base64 text.
    let p =
        Platform::with_policy_extra("dispatch:\n  confirm_phrase: !!binary QkFDS1VQX0RPTkVfRjM=\n");
    let backup = p.real_backup();
    let out = p.scope(&[
        "--module",
        "minio-init",
        "--allow-stateful",
        "--backup-ref",
        &backup,
        "--stateful-confirm",
        "QkFDS1VQX0RPTkVfRjM=",
    ]);
    assert_policy_refused(&out, 6, "!!binary");
}

#[test]
fn a_str_tagged_confirm_phrase_is_the_phrase() {
    let p = Platform::with_policy_extra("dispatch:\n  confirm_phrase: !!str BACKUP_DONE_F3\n");
    let backup = p.real_backup();
    let out = p.scope(&[
        "--module",
        "minio-init",
        "--allow-stateful",
        "--backup-ref",
        &backup,
        "--stateful-confirm",
        CONFIRM,
    ]);
    assert_eq!(out.code, 0, "{}", out.all());
}
