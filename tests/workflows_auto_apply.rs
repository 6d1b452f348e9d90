//! `.forgejo/workflows/platformctl-auto-apply.yml`, run with act in host mode against the
//! example platform, a stand-in `platformctl` that records every call, and this build's gates.
//!
//! Each test states what the stand-in must have recorded: `apply` appears only when both gates
//! said yes. The backups are made now, named with the current UTC time, because the workflow
//! uses the real clock. act missing is a failure, never a skip (see tests/fixtures/workflows/act.rs).

#[path = "fixtures/workflows/act.rs"]
mod act;
mod common;

use act::{ActRepo, ActRun, stamp};
use serde_json::{Value, json};

const WF: &str = "platformctl-auto-apply.yml";
const CONFIRM: &str = "BACKUP_DONE_F3";

/// A `workflow_dispatch` payload as Forgejo sends it: every input a string, absent when empty.
fn dispatch(inputs: &[(&str, &str)]) -> Value {
    let mut map = serde_json::Map::new();
    for (k, v) in inputs {
        map.insert((*k).into(), Value::String((*v).into()));
    }
    json!({
        "inputs": map,
        "ref": "refs/heads/main",
        "repository": {"full_name": "pdurlej/platform", "default_branch": "main"},
        "sender": {"login": "operator"},
        "workflow": ".forgejo/workflows/platformctl-auto-apply.yml"
    })
}

/// The platform's real `minio-init` dispatch, with `backup_ref` pointing at `backup`.
fn minio_init(backup: &str) -> Value {
    dispatch(&[
        ("module", "minio-init"),
        ("allow_stateful", "true"),
        ("backup_ref", backup),
        ("stateful_confirm", CONFIRM),
    ])
}

/// Run the auto-apply workflow with `plan` (a file in fixtures/plans) as platformctl's plan.
fn run(r: &ActRepo, payload: &Value, plan: &str) -> ActRun {
    let plan = act::project().join("fixtures/plans").join(plan);
    r.act(
        "workflow_dispatch",
        WF,
        payload,
        &[("PLATFORMCTL_PLAN", plan.to_str().unwrap())],
    )
}

fn fresh_minio_backup(r: &ActRepo) -> String {
    r.backup(
        &format!("minio-{}.tar.gz", stamp(-60)),
        &common::backup::minio_tar_gz(),
        0o600,
    )
}

/// The run failed in the scope gate with `code`, and platformctl was never called.
fn assert_scope_blocked(r: &ActRepo, run: &ActRun, code: &str) {
    assert_ne!(run.code, 0, "the run must fail:\n{}", run.log);
    assert!(
        run.step("Failure", "Scope gate"),
        "the scope gate step must fail:\n{}",
        run.log
    );
    assert!(
        run.log.contains(&format!("error[{code}]")),
        "the gate's reason {code} must be in the log:\n{}",
        run.log
    );
    assert!(!run.ran("Plan"), "nothing runs after the scope gate");
    assert_eq!(r.calls(), Vec::<String>::new(), "platformctl was called");
}

#[test]
fn real_minio_init_dispatch_with_a_fresh_0600_backup_applies_once() {
    let r = ActRepo::with_platform(&[WF]);
    let backup = fresh_minio_backup(&r);
    let run = run(&r, &minio_init(&backup), "minio-init-exited.json");
    assert_eq!(run.code, 0, "{}", run.log);
    assert_eq!(
        r.calls(),
        [
            "plan --json minio-init",
            "apply minio-init",
            "health minio-init"
        ],
        "{}",
        run.log
    );
    assert!(
        run.log.contains("auto_apply_scope: ELIGIBLE"),
        "{}",
        run.log
    );
    assert!(
        run.log.contains("allow_one_shot_stateful_apply: ALLOW"),
        "{}",
        run.log
    );
    // The decision documents: kept as files in the workspace (act removes the host workspace
    // after the job, so the test reads them where the workflow prints them: in a folded group,
    // by `cat` of the file the gate wrote with --record).
    let group = |title: &str| -> String {
        let start = run
            .log
            .find(&format!(
                "::group::{title} decision document (gate-decisions/"
            ))
            .unwrap_or_else(|| panic!("no group for {title}:\n{}", run.log));
        let rest = &run.log[start..];
        rest[..rest.find("::endgroup::").expect("group closed")].to_string()
    };
    let scope = group("auto_apply_scope");
    assert!(scope.contains(r#""outcome":"eligible""#), "{scope}");
    assert!(
        scope.contains(r#""format":"forgejo-gates.record/"#),
        "{scope}"
    );
    let one_shot = group("allow_one_shot_stateful_apply");
    assert!(one_shot.contains(r#""outcome":"allow""#), "{one_shot}");
    assert!(one_shot.contains(&backup), "{one_shot}");
}

#[test]
fn missing_backup_fails_before_apply() {
    let r = ActRepo::with_platform(&[WF]);
    let never_made = r.backups.join(format!("minio-{}.tar.gz", stamp(-60)));
    let run = run(
        &r,
        &minio_init(never_made.to_str().unwrap()),
        "minio-init-exited.json",
    );
    assert_scope_blocked(&r, &run, "backup.artifact.missing");
}

#[test]
fn stale_backup_fails_before_apply() {
    let r = ActRepo::with_platform(&[WF]);
    let backup = r.backup(
        &format!("minio-{}.tar.gz", stamp(-7 * 3600)),
        &common::backup::minio_tar_gz(),
        0o600,
    );
    let run = run(&r, &minio_init(&backup), "minio-init-exited.json");
    assert_scope_blocked(&r, &run, "backup.ref.stale");
}

#[test]
fn mis_moded_backup_fails_before_apply() {
    let r = ActRepo::with_platform(&[WF]);
    let backup = r.backup(
        &format!("minio-{}.tar.gz", stamp(-60)),
        &common::backup::minio_tar_gz(),
        0o644,
    );
    let run = run(&r, &minio_init(&backup), "minio-init-exited.json");
    assert_scope_blocked(&r, &run, "backup.artifact.mode");
}

#[test]
fn other_modules_backup_fails_before_apply() {
    let r = ActRepo::with_platform(&[WF]);
    // A real, fresh, 0600 backup: of postgres, which does not cover minio-init.
    let backup = r.backup(
        &format!("postgres-{}.tar.gz", stamp(-60)),
        &common::backup::minio_tar_gz(),
        0o600,
    );
    let run = run(&r, &minio_init(&backup), "minio-init-exited.json");
    assert_scope_blocked(&r, &run, "backup.ref.wrong_module");
}

#[test]
fn wrong_confirm_phrase_fails_before_apply() {
    let r = ActRepo::with_platform(&[WF]);
    let backup = fresh_minio_backup(&r);
    let payload = dispatch(&[
        ("module", "minio-init"),
        ("allow_stateful", "true"),
        ("backup_ref", &backup),
        ("stateful_confirm", "backup_done_f3"),
    ]);
    let run = run(&r, &payload, "minio-init-exited.json");
    assert_scope_blocked(&r, &run, "scope.confirm.mismatch");
}

#[test]
fn allow_stateful_false_fails_before_apply() {
    let r = ActRepo::with_platform(&[WF]);
    let backup = fresh_minio_backup(&r);
    let payload = dispatch(&[
        ("module", "minio-init"),
        ("allow_stateful", "false"),
        ("backup_ref", &backup),
        ("stateful_confirm", CONFIRM),
    ]);
    let run = run(&r, &payload, "minio-init-exited.json");
    assert_scope_blocked(&r, &run, "scope.stateful.not_allowed");
}

#[test]
fn manual_class_module_fails_before_apply() {
    let r = ActRepo::with_platform(&[WF]);
    let payload = dispatch(&[("module", "traefik"), ("allow_stateful", "false")]);
    let run = run(&r, &payload, "web-app-drift.json");
    assert_scope_blocked(&r, &run, "scope.class.manual");
}

#[test]
fn stateful_non_one_shot_with_drift_is_denied_after_the_plan() {
    let r = ActRepo::with_platform(&[WF]);
    let backup = r.backup(
        &format!("postgres-{}.sql.gz", stamp(-60)),
        &common::backup::pg_dumpall_sql_gz(),
        0o600,
    );
    let payload = dispatch(&[
        ("module", "postgres"),
        ("allow_stateful", "true"),
        ("backup_ref", &backup),
        ("stateful_confirm", CONFIRM),
    ]);
    let run = run(&r, &payload, "postgres-drift.json");
    assert_ne!(run.code, 0, "{}", run.log);
    assert!(run.step("Success", "Scope gate"), "{}", run.log);
    assert!(run.step("Failure", "One-shot gate"), "{}", run.log);
    assert!(
        run.log.contains("allow_one_shot_stateful_apply: DENY"),
        "{}",
        run.log
    );
    assert_eq!(
        r.calls(),
        ["plan --json postgres"],
        "apply was called:\n{}",
        run.log
    );
}

#[test]
fn one_shot_plan_with_extra_drift_is_denied_after_the_plan() {
    let r = ActRepo::with_platform(&[WF]);
    let backup = fresh_minio_backup(&r);
    let run = run(&r, &minio_init(&backup), "minio-init-extra-drift.json");
    assert_ne!(run.code, 0, "{}", run.log);
    assert!(run.step("Failure", "One-shot gate"), "{}", run.log);
    assert!(
        run.log.contains("allow_one_shot_stateful_apply: DENY"),
        "{}",
        run.log
    );
    assert!(
        run.log.contains("image.ref"),
        "the offending item is named:\n{}",
        run.log
    );
    assert_eq!(
        r.calls(),
        ["plan --json minio-init"],
        "apply was called:\n{}",
        run.log
    );
}

#[test]
fn stateful_noop_plan_runs_the_smoke_only() {
    let r = ActRepo::with_platform(&[WF]);
    let backup = r.backup(
        &format!("postgres-{}.sql.gz", stamp(-60)),
        &common::backup::pg_dumpall_sql_gz(),
        0o600,
    );
    let payload = dispatch(&[
        ("module", "postgres"),
        ("allow_stateful", "true"),
        ("backup_ref", &backup),
        ("stateful_confirm", CONFIRM),
    ]);
    let run = run(&r, &payload, "postgres-noop.json");
    assert_eq!(run.code, 0, "{}", run.log);
    assert!(
        run.log.contains("allow_one_shot_stateful_apply: NOOP"),
        "{}",
        run.log
    );
    assert!(!run.ran("Apply"), "the apply step is skipped:\n{}", run.log);
    assert_eq!(
        r.calls(),
        ["plan --json postgres", "health postgres"],
        "{}",
        run.log
    );
}

#[test]
fn stateless_module_applies_without_backup_inputs() {
    let r = ActRepo::with_platform(&[WF]);
    // The platform's own web-app dispatch: no backup_ref, no stateful_confirm.
    let payload: Value = serde_json::from_str(
        &std::fs::read_to_string(act::project().join("fixtures/events/dispatch-web-app.json"))
            .unwrap(),
    )
    .unwrap();
    assert!(payload["inputs"].get("backup_ref").is_none());
    let run = run(&r, &payload, "web-app-drift.json");
    assert_eq!(run.code, 0, "{}", run.log);
    assert!(
        run.log.contains(
            "allow_one_shot_stateful_apply: not needed, auto_apply_scope found the module stateless"
        ),
        "{}",
        run.log
    );
    assert_eq!(
        r.calls(),
        ["plan --json web-app", "apply web-app", "health web-app"],
        "{}",
        run.log
    );
}

#[test]
fn hostile_backup_ref_and_confirm_reach_the_gate_as_data() {
    let r = ActRepo::with_platform(&[WF]);
    let canary = r.tmp.path().join("pwned");
    let canary = canary.to_str().unwrap();
    let payload = dispatch(&[
        ("module", "minio-init"),
        ("allow_stateful", "true"),
        // The shape of `x"; rm -rf / #`, with a harmless command whose effect is visible.
        ("backup_ref", &format!("x\"; touch {canary} #")),
        (
            "stateful_confirm",
            &format!("BACKUP_DONE_F3'\n$(touch {canary})`touch {canary}`"),
        ),
    ]);
    let run = run(&r, &payload, "minio-init-exited.json");
    assert_scope_blocked(&r, &run, "backup.ref.invalid_chars");
    assert!(
        run.log.contains("error[scope.confirm.mismatch]"),
        "{}",
        run.log
    );
    assert!(
        !std::path::Path::new(canary).exists(),
        "an input ran as shell code"
    );
}

#[test]
fn hostile_module_id_reaches_the_gate_as_data() {
    let r = ActRepo::with_platform(&[WF]);
    let canary = r.tmp.path().join("pwned");
    let canary = canary.to_str().unwrap();
    let payload = dispatch(&[
        ("module", &format!("web-app\"; touch {canary} #")),
        ("allow_stateful", "false"),
    ]);
    let run = run(&r, &payload, "web-app-drift.json");
    assert_scope_blocked(&r, &run, "input.module_invalid");
    assert!(
        !std::path::Path::new(canary).exists(),
        "an input ran as shell code"
    );
}

#[test]
fn dispatch_on_another_branch_is_refused_before_anything_runs() {
    let r = ActRepo::with_platform(&[WF]);
    // Forgejo (and act) take the ref from the dispatch: a branch picked in the form.
    let mut payload = dispatch(&[("module", "web-app"), ("allow_stateful", "false")]);
    payload["ref"] = json!("refs/heads/feature");
    let run = run(&r, &payload, "web-app-drift.json");
    assert_ne!(run.code, 0, "{}", run.log);
    assert!(
        run.step("Failure", "Only the default branch is applied"),
        "{}",
        run.log
    );
    assert!(!run.ran("Scope gate"), "{}", run.log);
    assert_eq!(r.calls(), Vec::<String>::new());
}
