//! `allow_one_shot_stateful_apply`: allow only a stateful one-shot whose every drift item is
//! allow-listed and on its own service; noop (3) for an empty plan; deny listing every
//! offending item; exit 2 for plans that cannot be trusted to say one thing.

mod common;

use common::platform::{Platform, refs};

fn run(p: &Platform, plan: &std::path::Path, backup: &str) -> common::Run {
    p.one_shot(plan, &refs(&Platform::dispatch_args(backup)))
}

#[test]
fn the_real_one_shot_plan_is_allowed() {
    let p = Platform::new();
    let backup = p.real_backup();
    let out = run(&p, &Platform::plan("minio-init-exited.json"), &backup);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout
            .starts_with("allow_one_shot_stateful_apply: ALLOW — minio-init"),
        "{}",
        out.stdout
    );
    for code in [
        "one_shot.ok",
        "plan.drift.ok",
        "plan.module_ok",
        "backup.artifact.ok",
        "scope.confirm.ok",
    ] {
        assert!(
            out.stdout.contains(&format!("info[{code}]")),
            "{code}: {}",
            out.stdout
        );
    }
}

#[test]
fn an_empty_plan_is_noop_exit_3() {
    let p = Platform::new();
    let backup = p.real_backup();
    let out = run(&p, &Platform::plan("minio-init-noop.json"), &backup);
    assert_eq!(out.code, 3, "{}", out.all());
    assert!(out.stdout.contains("NOOP"), "{}", out.stdout);
    assert!(out.stdout.contains("info[plan.noop]"));
}

#[test]
fn a_stateful_non_one_shot_may_only_run_a_noop_plan() {
    let p = Platform::new();
    let root = p.backups.display().to_string();
    let backup = p.backup(
        "postgres-20260517T010847Z.sql.gz",
        &common::backup::pg_dumpall_sql_gz(),
        0o600,
    );
    assert!(backup.starts_with(&root));
    let args = [
        "--module",
        "postgres",
        "--allow-stateful",
        "--backup-ref",
        &backup,
        "--stateful-confirm",
        "BACKUP_DONE_F3",
    ];
    let out = p.one_shot(&Platform::plan("postgres-drift.json"), &args);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout.contains("error[one_shot.not_one_shot]"),
        "{}",
        out.stdout
    );
    let out = p.one_shot(&Platform::plan("postgres-noop.json"), &args);
    assert_eq!(out.code, 3, "{}", out.all());
}

#[test]
fn every_offending_drift_item_is_listed() {
    let p = Platform::new();
    let backup = p.real_backup();
    let out = run(&p, &Platform::plan("minio-init-extra-drift.json"), &backup);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout
            .contains("error[plan.drift.kind_not_allowed]: drift[1] kind \"image.ref\""),
        "{}",
        out.stdout
    );

    let out = run(
        &p,
        &Platform::plan("minio-init-foreign-service.json"),
        &backup,
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.contains("error[plan.drift.foreign_service]"),
        "{}",
        out.stdout
    );

    let plan = p.file(
        "many.json",
        br#"{"schema":"platformctl.plan/v1","module":"minio-init","noop":false,"drift":[
            {"kind":"volume.delete","service":"minio-init"},
            {"kind":"container.state.exited_success","service":"minio-init"},
            {"kind":"network.attach","service":"postgres"}]}"#,
    );
    let out = run(&p, &plan, &backup);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.contains("drift[0] kind \"volume.delete\""),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("drift[2] kind \"network.attach\""),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("drift[2] targets service \"postgres\""),
        "{}",
        out.stdout
    );
}

#[test]
fn a_plan_for_another_module_is_denied() {
    let p = Platform::new();
    let backup = p.real_backup();
    let out = run(&p, &Platform::plan("postgres-drift.json"), &backup);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.contains("error[plan.module_mismatch]"),
        "{}",
        out.stdout
    );
}

#[test]
fn the_backup_and_confirm_are_checked_here_too() {
    let p = Platform::new();
    let backup = p.backup(
        common::platform::REAL_BACKUP,
        &common::backup::minio_tar_gz(),
        0o644,
    );
    let out = run(&p, &Platform::plan("minio-init-exited.json"), &backup);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.contains("error[backup.artifact.mode]"),
        "{}",
        out.stdout
    );
    let mut args = Platform::dispatch_args(&backup);
    args[6] = "backup_done_f3".into();
    let out = p.one_shot(&Platform::plan("minio-init-noop.json"), &refs(&args));
    assert_eq!(
        out.code,
        1,
        "a deny is never turned into a noop: {}",
        out.all()
    );
}

#[test]
fn untrustworthy_plans_cannot_be_evaluated() {
    let p = Platform::new();
    let backup = p.real_backup();
    let cases: [(&str, &[u8], &str); 7] = [
        ("dup", br#"{"schema":"platformctl.plan/v1","module":"minio-init","module":"postgres","noop":false,"drift":[]}"#, "plan.invalid"),
        ("schema", br#"{"schema":"platformctl.plan/v2","module":"minio-init","noop":true,"drift":[]}"#, "plan.schema_unknown"),
        ("noop-with-drift", br#"{"schema":"platformctl.plan/v1","module":"minio-init","noop":true,"drift":[{"kind":"container.state.exited_success","service":"minio-init"}]}"#, "plan.noop_contradiction"),
        ("not-json", b"noop: true\n", "plan.invalid"),
        ("unknown-field", br#"{"schema":"platformctl.plan/v1","module":"minio-init","noop":true,"drift":[],"force":true}"#, "plan.invalid"),
        ("string-noop", br#"{"schema":"platformctl.plan/v1","module":"minio-init","noop":"true","drift":[]}"#, "plan.invalid"),
        ("nested-dup", br#"{"schema":"platformctl.plan/v1","module":"minio-init","noop":false,"drift":[{"kind":"container.state.exited_success","service":"minio-init","service":"postgres"}]}"#, "plan.invalid"),
    ];
    for (name, bytes, code) in cases {
        let plan = p.file(&format!("{name}.json"), bytes);
        let out = run(&p, &plan, &backup);
        assert_eq!(out.code, 2, "{name}: {}", out.all());
        assert!(
            out.stderr.contains(&format!("error[{code}]")),
            "{name}: {}",
            out.all()
        );
    }
}

#[test]
fn a_100_mb_plan_is_refused_without_reading_it() {
    let p = Platform::new();
    let backup = p.real_backup();
    let plan = p.tmp.path().join("huge.json");
    let f = std::fs::File::create(&plan).unwrap();
    f.set_len(100 * 1024 * 1024).unwrap();
    let out = run(&p, &plan, &backup);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("error[input.too_large]"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_oversized_plan_on_a_pipe_is_refused() {
    use std::io::Write;
    let p = Platform::new();
    let backup = p.real_backup();
    let mut cmd = common::gate("allow_one_shot_stateful_apply");
    cmd.args([
        "--modules-dir",
        p.modules.to_str().unwrap(),
        "--policy",
        p.policy.to_str().unwrap(),
        "--now",
        common::platform::NOW,
        "--plan",
        "-",
    ])
    .args(Platform::dispatch_args(&backup))
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let chunk = vec![b' '; 1 << 20];
        for _ in 0..8 {
            if stdin.write_all(&chunk).is_err() {
                break; // the gate stopped reading: expected
            }
        }
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("input.too_large"));
}

#[test]
fn a_stateless_module_is_not_applied_through_this_gate() {
    let p = Platform::new();
    let out = p.one_shot(
        &Platform::plan("web-app-drift.json"),
        &["--module", "web-app"],
    );
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout.contains("error[one_shot.not_stateful]"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_container_name_another_module_spells_too_is_not_the_modules_own() {
    // `home-platform` + `minio-init` and `home-platform-minio` + `init` both give
    // `home-platform-minio-init-1`: the name cannot show whose container it is.
    for manifest in [
        "metadata:\n  name: init\nspec:\n  classes: []\n  compose:\n    project: home-platform-minio\n  runtime:\n    statefulness: stateless\n",
        // A module there whose manifest cannot be read could be either.
        "metadata:\n  name: init\nspec: [not, a, mapping]\n",
    ] {
        let mut p = Platform::new();
        let modules = p.copy_modules();
        std::fs::create_dir(modules.join("init")).unwrap();
        std::fs::write(modules.join("init/module.yaml"), manifest).unwrap();
        let backup = p.real_backup();
        let out = run(&p, &Platform::plan("minio-init-exited.json"), &backup);
        assert_eq!(out.code, 1, "{}", out.all());
        assert!(
            out.stdout.contains("error[plan.drift.foreign_container]")
                && out.stdout.contains("cannot show whose container it is"),
            "{}",
            out.stdout
        );
    }
    // Another module at a split whose project does not make the same name: still allowed.
    let mut p = Platform::new();
    let modules = p.copy_modules();
    std::fs::create_dir(modules.join("init")).unwrap();
    std::fs::write(
        modules.join("init/module.yaml"),
        "metadata:\n  name: init\nspec:\n  classes: []\n  runtime:\n    statefulness: stateless\n",
    )
    .unwrap();
    let backup = p.real_backup();
    let out = run(&p, &Platform::plan("minio-init-exited.json"), &backup);
    assert_eq!(out.code, 0, "{}", out.all());
}

#[test]
fn the_clock_cannot_be_set_inside_a_workflow_run() {
    let p = Platform::new();
    let backup = p.real_backup();
    let args = Platform::dispatch_args(&backup);
    let plan = Platform::plan("minio-init-exited.json");
    for var in ["GITHUB_ACTIONS", "FORGEJO_ACTIONS"] {
        let out = p.one_shot_with_env(&plan, &refs(&args), &[(var, "true")]);
        assert_eq!(out.code, 2, "{}", out.all());
        assert!(
            out.stderr.contains("error[input.usage]") && out.stderr.contains("--now is refused"),
            "{}",
            out.all()
        );
    }
}
