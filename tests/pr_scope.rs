//! `auto_apply_scope --changed-files`: which modules a pull request touches, in which scope.

mod common;

use common::platform::fixtures;

fn scope_pr(list: &str, extra: &[&str]) -> common::Run {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("changed.txt");
    std::fs::write(&file, list).unwrap();
    // The fixture platform is a repository root: modules/ lives directly under it.
    common::run_in(
        &fixtures(),
        common::gate("auto_apply_scope")
            .args(["--changed-files", file.to_str().unwrap()])
            .args(extra),
    )
}

#[test]
fn a_stateless_only_change_is_eligible() {
    let out = scope_pr(
        "modules/web-app/compose.yaml\nmodules/web-app/module.yaml\n",
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("info[pr.module.auto]"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("scopes: web-app:auto"),
        "{}",
        out.stdout
    );
}

#[test]
fn every_touched_module_is_listed_with_its_scope() {
    let out = scope_pr(
        "modules/minio-init/module.yaml\nmodules/web-app/compose.yaml\nmodules/traefik/traefik.yml\nmodules/postgres/runbook.md\ncompose/networks.yml\ndocs/x.md\n",
        &[],
    );
    assert_eq!(out.code, 1, "{}", out.all());
    for code in [
        "pr.module.one_shot",
        "pr.module.manual",
        "pr.module.stateful",
        "pr.platform_path",
    ] {
        assert!(
            out.stdout.contains(&format!("error[{code}]")),
            "{code}: {}",
            out.stdout
        );
    }
    assert!(out.stdout.contains("info[pr.module.auto]"));
    assert!(
        out.stdout
            .contains("scopes: minio-init:one-shot,postgres:stateful,traefik:manual,web-app:auto"),
        "{}",
        out.stdout
    );
}

#[test]
fn report_only_reports_without_failing() {
    let out = scope_pr("modules/traefik/x.yml\n", &["--report-only"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("BLOCKED"));
}

#[test]
fn a_change_outside_modules_says_so() {
    let out = scope_pr("docs/README.md\n", &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("info[pr.no_module]"));
}

#[test]
fn an_unevaluable_change_is_exit_2() {
    for (list, code) in [
        ("", "input.changed_files_invalid"),
        ("\n\n", "input.changed_files_invalid"),
        ("modules/../etc/passwd\n", "input.changed_files_invalid"),
        ("/etc/passwd\n", "input.changed_files_invalid"),
        ("modules/Bad_Name/module.yaml\n", "input.module_invalid"),
        ("modules/deleted-module/module.yaml\n", "manifest.missing"),
    ] {
        let out = scope_pr(list, &["--report-only"]);
        assert_eq!(out.code, 2, "{list:?}: {}", out.all());
        assert!(out.stderr.contains(code), "{list:?}: {}", out.stderr);
    }
}

#[test]
fn pr_mode_does_not_mix_with_dispatch_inputs() {
    let out = scope_pr("modules/web-app/x\n", &["--module", "web-app"]);
    assert_eq!(out.code, 2);
}

/// A throwaway repository whose one commit after `base` adds `paths`; returns what
/// `git diff` prints for it with `extra` flags (default quoting: `core.quotePath` on).
fn git_diff_of(paths: &[&str], extra: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    common::git(d, &["init", "-q"], "");
    std::fs::write(d.join("README.md"), "base\n").unwrap();
    common::git(d, &["add", "-A"], "");
    common::git(d, &["commit", "-q", "-m", "base"], "");
    for p in paths {
        let file = d.join(p);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, "x\n").unwrap();
    }
    common::git(d, &["add", "-A"], "");
    common::git(d, &["commit", "-q", "-m", "head"], "");
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(d)
        .args(["-c", "core.quotePath=true", "diff", "--name-only"])
        .args(extra)
        .arg("HEAD~1...HEAD")
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout
}

fn scope_bytes(list: &[u8], extra: &[&str]) -> common::Run {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("changed.txt");
    std::fs::write(&file, list).unwrap();
    common::run_in(
        &fixtures(),
        common::gate("auto_apply_scope")
            .args(["--changed-files", file.to_str().unwrap()])
            .args(extra),
    )
}

/// `git diff --name-only` quotes a path with non-ASCII bytes, `"` or `\` (core.quotePath):
/// the quoted line is decoded exactly, so the module it touches is found.
#[test]
fn a_path_quoted_by_git_is_decoded_and_its_module_found() {
    let listed = git_diff_of(&["modules/traefik/été \"q\"\\.yml"], &[]);
    let text = String::from_utf8(listed.clone()).unwrap();
    assert!(
        text.starts_with("\"modules/traefik/\\303\\251t\\303\\251 \\\"q\\\"\\\\.yml\""),
        "git quotes it: {text}"
    );
    let out = scope_bytes(&listed, &[]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout.contains("error[pr.module.manual]"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("scopes: traefik:manual"),
        "{}",
        out.stdout
    );
}

/// `git diff -z --name-only`: NUL-terminated paths, never quoted.
#[test]
fn a_nul_separated_list_is_read() {
    let listed = git_diff_of(
        &["modules/traefik/été.yml", "modules/web-app/a b.yml"],
        &["-z"],
    );
    assert!(listed.ends_with(b"\0"));
    let out = scope_bytes(&listed, &[]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout.contains("scopes: traefik:manual,web-app:auto"),
        "{}",
        out.stdout
    );
}

/// Quoting that git never writes, and a NUL list cut short, cannot be evaluated.
#[test]
fn malformed_quoting_or_a_cut_nul_list_is_exit_2() {
    for list in [
        &b"\"modules/traefik/x.yml\n"[..],
        b"\"modules/traefik/\\q.yml\"\n",
        b"\"modules/traefik/\\377.yml\"\n",
        b"\"modules/traefik/\\30.yml\"\n",
        b"\"modules/traefik/x.yml\" trailing\n",
        b"modules/traefik/a.yml\0modules/web-app/b.yml",
        b"modules/traefik/a.yml\0\0",
    ] {
        let out = scope_bytes(list, &["--report-only"]);
        assert_eq!(out.code, 2, "{list:?}: {}", out.all());
        assert!(
            out.stderr.contains("input.changed_files_invalid"),
            "{list:?}: {}",
            out.stderr
        );
    }
}

/// `--modules-dir` is repository-relative in pull-request mode: an absolute path or one with
/// `.`/`..`/empty components could never match a changed path, so it is refused instead of
/// reporting "touches no module".
#[test]
fn a_modules_dir_that_cannot_match_repository_paths_is_exit_2() {
    let abs = fixtures().join("modules");
    for dir in [
        abs.to_str().unwrap(),
        "./modules",
        "modules/.",
        "../fixtures/modules",
        "modules//",
        "",
    ] {
        let out = scope_pr("modules/traefik/x.yml\n", &["--modules-dir", dir]);
        assert_eq!(out.code, 2, "{dir:?}: {}", out.all());
        assert!(
            out.stderr.contains("--modules-dir"),
            "{dir:?}: {}",
            out.stderr
        );
    }
    // A plain relative directory, with or without one trailing slash, is used as given.
    for dir in ["modules", "modules/"] {
        let out = scope_pr("modules/traefik/x.yml\n", &["--modules-dir", dir]);
        assert_eq!(out.code, 1, "{dir:?}: {}", out.all());
    }
}

/// Under a pull-request event, the rules must come from the base: without `--policy` the
/// working tree's `.forgejo/gates.yml` (the head's) is not read.
#[test]
fn under_a_pull_request_event_the_policy_must_be_given() {
    for (var, event) in [
        ("GITHUB_EVENT_NAME", "pull_request"),
        ("FORGEJO_EVENT_NAME", "pull_request_target"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("changed.txt");
        std::fs::write(&file, "modules/traefik/x.yml\n").unwrap();
        let out = common::run_in(
            &fixtures(),
            common::gate("auto_apply_scope")
                .env(var, event)
                .args(["--changed-files", file.to_str().unwrap()]),
        );
        assert_eq!(out.code, 2, "{event}: {}", out.all());
        assert!(out.stderr.contains("--policy"), "{}", out.stderr);
    }
}

/// The module directory's own entry (a symlink, a submodule or a file put where the directory
/// was) touches that module: never "touches no module".
#[test]
fn a_change_to_the_module_directory_entry_itself_touches_the_module() {
    let out = scope_pr("modules/traefik\n", &[]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout.contains("scopes: traefik:manual"),
        "{}",
        out.stdout
    );
    // No manifest behind it: cannot be evaluated.
    let out = scope_pr("modules/brand-new\n", &["--report-only"]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("manifest.missing"), "{}", out.stderr);
    // A file beside the modules that is not named like a module is not one.
    let out = scope_pr("modules/README.md\n", &[]);
    assert_eq!(out.code, 0, "{}", out.all());
}
