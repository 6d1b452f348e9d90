//! Every field of a `container.state.exited_success` drift item is checked, not only `service`:
//! the container is the module's own (`<compose project>-<service>-<n>`, as compose names it),
//! `desired` is the successful exit and `current` a state the kind describes (a failed exit).
//! Anything else is a deny (exit 1) that names the item.

mod common;

use common::platform::{CONFIRM, NOW, Platform, refs};

fn plan_with(p: &Platform, item: &str) -> std::path::PathBuf {
    p.file(
        "plan.json",
        format!(
            "{{\"schema\": \"platformctl.plan/v1\", \"module\": \"minio-init\", \"noop\": false, \"drift\": [{item}]}}"
        )
        .as_bytes(),
    )
}

fn item(container: Option<&str>, current: Option<&str>, desired: Option<&str>) -> String {
    let mut fields = vec![
        "\"kind\": \"container.state.exited_success\"".to_string(),
        "\"service\": \"minio-init\"".to_string(),
    ];
    for (key, value) in [
        ("container", container),
        ("current", current),
        ("desired", desired),
    ] {
        if let Some(v) = value {
            fields.push(format!("\"{key}\": \"{v}\""));
        }
    }
    format!("{{{}}}", fields.join(", "))
}

const OWN: &str = "home-platform-minio-init-1";

fn one_shot(p: &Platform, item: &str) -> common::Run {
    let backup = p.real_backup();
    let plan = plan_with(p, item);
    p.one_shot(&plan, &refs(&Platform::dispatch_args(&backup)))
}

/// A deny (exit 1) carrying `code`, whose message names `drift[index]`.
fn assert_denied(out: &common::Run, code: &str, index: usize) {
    assert_eq!(out.code, 1, "{}", out.all());
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains(&format!("error[{code}]")))
        .unwrap_or_else(|| panic!("expected error[{code}]: {}", out.stdout));
    assert!(line.contains(&format!("drift[{index}]")), "{line}");
}

#[test]
fn the_module_s_own_failed_container_is_allowed() {
    let p = Platform::new();
    for current in ["exited(1)", "exited(137)", "exited(255)"] {
        let out = one_shot(&p, &item(Some(OWN), Some(current), Some("exited(0)")));
        assert_eq!(out.code, 0, "{current}: {}", out.all());
        assert!(out.stdout.contains("info[plan.drift.ok]"), "{}", out.stdout);
    }
}

#[test]
fn a_container_of_another_service_is_denied() {
    let p = Platform::new();
    for container in [
        "home-platform-minio-1",
        "home-platform-postgres-1",
        "other-project-minio-init-1",
        "home-platform-minio-init",
        "home-platform-minio-init-1-x",
        "home-platform-minio-init-01",
        "home-platform_minio-init_1",
        "/home-platform-minio-init-1",
    ] {
        let out = one_shot(
            &p,
            &item(Some(container), Some("exited(1)"), Some("exited(0)")),
        );
        assert_denied(&out, "plan.drift.foreign_container", 0);
    }
}

#[test]
fn a_missing_container_is_denied() {
    let p = Platform::new();
    let out = one_shot(&p, &item(None, Some("exited(1)"), Some("exited(0)")));
    assert_denied(&out, "plan.drift.foreign_container", 0);
}

#[test]
fn a_desired_state_other_than_the_successful_exit_is_denied() {
    let p = Platform::new();
    for desired in [
        Some("running"),
        Some("exited(1)"),
        Some("exited(00)"),
        Some(""),
        None,
    ] {
        let out = one_shot(&p, &item(Some(OWN), Some("exited(1)"), desired));
        assert_denied(&out, "plan.drift.desired_not_success", 0);
    }
}

#[test]
fn a_current_state_the_kind_does_not_describe_is_denied() {
    let p = Platform::new();
    for current in [
        Some("exited(0)"),
        Some("running"),
        Some("restarting"),
        Some("exited(256)"),
        Some("exited(-1)"),
        Some("exited(01)"),
        Some("exited(1) "),
        None,
    ] {
        let out = one_shot(&p, &item(Some(OWN), current, Some("exited(0)")));
        assert_denied(&out, "plan.drift.current_unexpected", 0);
    }
}

#[test]
fn every_offending_item_is_named() {
    let p = Platform::new();
    let items = [
        item(Some(OWN), Some("exited(1)"), Some("exited(0)")),
        item(
            Some("home-platform-minio-1"),
            Some("exited(1)"),
            Some("exited(0)"),
        ),
        item(Some(OWN), Some("running"), Some("exited(0)")),
    ];
    let out = one_shot(&p, &items.join(", "));
    assert_denied(&out, "plan.drift.foreign_container", 1);
    assert_denied(&out, "plan.drift.current_unexpected", 2);
}

#[test]
fn a_manifest_without_a_compose_project_cannot_prove_the_container_is_its_own() {
    let p = Platform::new();
    let modules = p.tmp.path().join("modules");
    for id in ["minio", "minio-init"] {
        let from = common::platform::fixtures().join("modules").join(id);
        std::fs::create_dir_all(modules.join(id)).unwrap();
        for entry in std::fs::read_dir(&from).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), modules.join(id).join(entry.file_name())).unwrap();
        }
    }
    let manifest = modules.join("minio-init/module.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let without: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("compose:") && !l.contains("project:"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(text, without, "the fixture declares its compose project");
    std::fs::write(&manifest, without).unwrap();
    let backup = p.real_backup();
    let plan = plan_with(&p, &item(Some(OWN), Some("exited(1)"), Some("exited(0)")));
    let out = common::run(
        common::gate("allow_one_shot_stateful_apply")
            .arg("--modules-dir")
            .arg(&modules)
            .arg("--policy")
            .arg(&p.policy)
            .arg("--plan")
            .arg(&plan)
            .args(["--now", NOW, "--module", "minio-init", "--allow-stateful"])
            .args(["--backup-ref", &backup, "--stateful-confirm", CONFIRM]),
    );
    assert_denied(&out, "plan.drift.foreign_container", 0);
    assert!(
        out.stdout.contains("spec.compose.project"),
        "{}",
        out.stdout
    );
}
