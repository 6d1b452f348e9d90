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
