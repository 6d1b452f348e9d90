//! `restore:` is a URL only when the whole value is an `http(s)://` URL; anything else is a
//! path that must be a file in the module directory. A sidecar may point at exactly the
//! restore section of a module in its `backup_ref_modules` (`../minio/runbook.md#restore`),
//! and nowhere else outside its directory.

mod common;

use common::platform::{CONFIRM, NOW, Platform};
use std::path::{Path, PathBuf};

/// A copy of the example platform's modules, so that manifests can be edited.
fn modules(p: &Platform) -> PathBuf {
    let modules = p.tmp.path().join("modules");
    for id in ["minio", "minio-init", "postgres"] {
        let from = common::platform::fixtures().join("modules").join(id);
        std::fs::create_dir_all(modules.join(id)).unwrap();
        for entry in std::fs::read_dir(&from).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), modules.join(id).join(entry.file_name())).unwrap();
        }
    }
    modules
}

/// Set `spec.runtime.restore` of `id` to `restore` (a YAML scalar as written).
fn set_restore(modules: &Path, id: &str, restore: &str) {
    let path = modules.join(id).join("module.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let kept: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("restore:"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&path, format!("{kept}    restore: {restore}\n")).unwrap();
}

fn scope(p: &Platform, modules: &Path, id: &str) -> common::Run {
    let backup = p.real_backup();
    common::run(
        common::gate("auto_apply_scope")
            .arg("--modules-dir")
            .arg(modules)
            .arg("--policy")
            .arg(&p.policy)
            .args(["--now", NOW, "--module", id, "--allow-stateful"])
            .args(["--backup-ref", &backup, "--stateful-confirm", CONFIRM]),
    )
}

fn assert_blocked(out: &common::Run, code: &str) {
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout.contains(&format!("error[{code}]")),
        "expected {code}: {}",
        out.stdout
    );
}

fn assert_eligible(out: &common::Run) {
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("info[scope.restore.ok]"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_value_that_only_contains_a_scheme_is_a_path_that_must_exist() {
    let p = Platform::new();
    let m = modules(&p);
    for restore in [
        "\"../../etc/passwd#x://\"",
        "\"runbook.md://wiki.example.com\"",
        "file:///etc/passwd",
        "\"see https://wiki.example.com/runbooks/minio\"",
        "\"https://\"",
        "\"https:///runbook\"",
        "\"ftp://wiki.example.com/runbook\"",
        "\"https://wiki.example.com/run book\"",
        "\"javascript://wiki.example.com/%0aalert(1)\"",
    ] {
        set_restore(&m, "minio", restore);
        let out = scope(&p, &m, "minio");
        assert_eq!(out.code, 1, "{restore}: {}", out.all());
        assert!(
            out.stdout.contains("error[scope.restore.not_found]")
                || out.stdout.contains("error[scope.restore.outside_module]"),
            "{restore}: {}",
            out.stdout
        );
    }
}

#[test]
fn a_whole_http_url_is_a_restore_path() {
    let p = Platform::new();
    let m = modules(&p);
    for restore in [
        "https://wiki.example.com/runbooks/minio#restore",
        "http://wiki.internal:8080/minio",
        "https://wiki.example.com",
    ] {
        set_restore(&m, "minio", restore);
        assert_eligible(&scope(&p, &m, "minio"));
    }
}

#[test]
fn a_path_outside_the_module_directory_is_refused() {
    let p = Platform::new();
    let m = modules(&p);
    for restore in [
        "../postgres/runbook.md#restore",
        "../minio/runbook.md#restore",
        "/etc/passwd",
    ] {
        set_restore(&m, "minio", restore);
        assert_blocked(&scope(&p, &m, "minio"), "scope.restore.outside_module");
    }
}

#[test]
fn a_sidecar_may_point_at_the_restore_section_of_its_backup_module() {
    let p = Platform::new();
    let m = modules(&p);
    set_restore(&m, "minio-init", "../minio/runbook.md#restore");
    assert_eligible(&scope(&p, &m, "minio-init"));
}

#[test]
fn a_sidecar_may_point_nowhere_else_outside_its_directory() {
    let p = Platform::new();
    let m = modules(&p);
    for restore in [
        // Not the restore section minio declares.
        "../minio/runbook.md",
        "../minio/runbook.md#backup",
        "../minio/module.yaml",
        // Not a module in backup_ref_modules.
        "../postgres/runbook.md#restore",
        // Not exactly `../<module>/...`.
        "../minio/../postgres/runbook.md#restore",
        "../minio/./runbook.md#restore",
        "../../minio/runbook.md#restore",
        "../minio//runbook.md#restore",
    ] {
        set_restore(&m, "minio-init", restore);
        let out = scope(&p, &m, "minio-init");
        assert_blocked(&out, "scope.restore.outside_module");
    }
}

#[test]
fn a_runbook_that_is_a_symlink_is_not_a_file_in_the_repository() {
    let p = Platform::new();
    let m = modules(&p);
    std::os::unix::fs::symlink("/etc/hostname", m.join("minio/elsewhere.md")).unwrap();
    set_restore(&m, "minio", "elsewhere.md");
    assert_blocked(&scope(&p, &m, "minio"), "scope.restore.not_found");
    // A linked directory on the way leads out of the repository just as well.
    std::fs::create_dir(p.tmp.path().join("outside")).unwrap();
    std::fs::write(p.tmp.path().join("outside/runbook.md"), "# Restore\n").unwrap();
    std::os::unix::fs::symlink(p.tmp.path().join("outside"), m.join("minio/docs")).unwrap();
    set_restore(&m, "minio", "docs/runbook.md#restore");
    assert_blocked(&scope(&p, &m, "minio"), "scope.restore.not_found");
    // The same file in a real directory is fine.
    std::fs::create_dir(m.join("minio/real")).unwrap();
    std::fs::write(m.join("minio/real/runbook.md"), "# Restore\n").unwrap();
    set_restore(&m, "minio", "real/runbook.md#restore");
    assert_eligible(&scope(&p, &m, "minio"));
}
