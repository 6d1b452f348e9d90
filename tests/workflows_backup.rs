//! `.forgejo/workflows/platformctl-backup.yml`, run with act in host mode against the example
//! platform and this build's `backup_before_apply` and `restore_drill`: the backup is really
//! taken (a real PostgreSQL cluster, or a module's mounted directory), really drilled, and the
//! dispatch inputs for the auto-apply workflow are printed only after both succeeded.
//! act missing is a failure, never a skip (see tests/fixtures/workflows/act.rs).

#[path = "fixtures/workflows/act.rs"]
mod act;
mod common;
#[path = "support/servers.rs"]
mod servers;

use act::{ActRepo, ActRun};
use forgejo_gates::backup::evidence;
use serde_json::{Value, json};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

const WF: &str = "platformctl-backup.yml";

fn dispatch(module: &str) -> Value {
    json!({
        "inputs": {"module": module},
        "ref": "refs/heads/main",
        "repository": {"full_name": "pdurlej/platform", "default_branch": "main"},
        "sender": {"login": "operator"},
        "workflow": ".forgejo/workflows/platformctl-backup.yml"
    })
}

/// The example platform with `extra` lines in the policy's `backup:` section.
fn platform(extra: &str) -> ActRepo {
    let r = ActRepo::with_platform(&[WF]);
    let uid = std::fs::metadata(&r.backups).unwrap().uid();
    r.write(
        ".forgejo/gates.yml",
        &format!(
            "backup:\n  root: {}\n  owner_uid: {uid}\n  verify: deep\n{extra}",
            r.backups.display()
        ),
    );
    r.commit_all("the platform's backup policy");
    r
}

fn run(r: &ActRepo, module: &str) -> ActRun {
    r.act("workflow_dispatch", WF, &dispatch(module), &[])
}

/// The one backup in the root (besides its manifest and drill record).
fn the_backup(r: &ActRepo) -> PathBuf {
    let backups: Vec<PathBuf> = std::fs::read_dir(&r.backups)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.to_str().unwrap().ends_with(".json"))
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    backups.into_iter().next().unwrap()
}

fn assert_taken_drilled_and_printed(r: &ActRepo, run: &ActRun, module: &str) -> PathBuf {
    assert_eq!(run.code, 0, "{}", run.log);
    let backup = the_backup(r);
    let reference = backup.to_str().unwrap();
    assert!(
        run.log.contains("restore_drill: PASS"),
        "the drill must pass:\n{}",
        run.log
    );
    assert!(
        run.log.contains(&format!("module:           {module}"))
            && run.log.contains(&format!("backup_ref:       {reference}"))
            && run.log.contains("allow_stateful:   true"),
        "the dispatch inputs must be printed:\n{}",
        run.log
    );
    let record =
        evidence::parse_drill(&std::fs::read(evidence::drill_path(&backup)).unwrap()).unwrap();
    assert_eq!(record.outcome, evidence::DrillOutcome::Pass);
    assert_eq!(
        record.backup_sha256,
        forgejo_gates::digest::sha256_hex(&std::fs::read(&backup).unwrap())
    );
    backup
}

#[test]
fn a_mounted_module_is_backed_up_drilled_and_its_dispatch_inputs_printed() {
    let data = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(data.path().join("bucket")).unwrap();
    std::fs::write(data.path().join("bucket/object"), vec![1u8; 3000]).unwrap();
    std::fs::write(data.path().join("policy.json"), b"{}").unwrap();
    let r = platform(&format!(
        "  mounts:\n    minio:\n      - {}\n",
        data.path().display()
    ));
    let run = run(&r, "minio");
    let backup = assert_taken_drilled_and_printed(&r, &run, "minio");
    assert!(backup.to_str().unwrap().ends_with(".tar.gz"));
}

#[test]
fn a_postgres_module_is_dumped_drilled_into_a_scratch_cluster_and_printed() {
    let pg = servers::PgCluster::start();
    pg.sql("postgres", "CREATE DATABASE app");
    pg.sql(
        "app",
        "CREATE TABLE t (n int); INSERT INTO t SELECT generate_series(1, 50)",
    );
    let r = platform(&pg_procedure(pg.socket(), ""));
    let run = run(&r, "postgres");
    let backup = assert_taken_drilled_and_printed(&r, &run, "postgres");
    let record =
        evidence::parse_drill(&std::fs::read(evidence::drill_path(&backup)).unwrap()).unwrap();
    assert!(
        record
            .comparison
            .iter()
            .any(|c| c.item == "app.public.t rows" && c.restored == "50" && c.ok),
        "{record:?}"
    );
}

fn pg_procedure(socket: &Path, drill: &str) -> String {
    let s = socket.display();
    format!(
        "  procedures:\n    postgres:\n      exec: []\n      command: [pg_dumpall, -h, \"{s}\", -U, postgres]\n      psql: [psql, -h, \"{s}\", -U, postgres]\n{drill}"
    )
}

#[test]
fn a_drill_that_cannot_run_fails_the_job_and_prints_no_dispatch_inputs() {
    let pg = servers::PgCluster::start();
    pg.sql("postgres", "CREATE DATABASE app");
    let r = platform(&pg_procedure(
        pg.socket(),
        "  drill:\n    postgres:\n      exec: [/nonexistent/container-runner]\n",
    ));
    let run = run(&r, "postgres");
    assert_ne!(run.code, 0, "{}", run.log);
    assert!(
        run.step("Failure", "Restore drill"),
        "the drill step must fail:\n{}",
        run.log
    );
    assert!(run.log.contains("[drill.could_not_run]"), "{}", run.log);
    assert!(
        !run.ran("Dispatch inputs"),
        "no dispatch inputs after a failed drill:\n{}",
        run.log
    );
    // The backup itself was taken (and is still usable once a drill passes), with no record.
    let backup = the_backup(&r);
    assert!(!evidence::drill_path(&backup).exists());
}

#[test]
fn a_module_input_that_is_not_a_module_id_takes_nothing() {
    let r = platform("");
    let run = run(&r, "../minio");
    assert_ne!(run.code, 0, "{}", run.log);
    assert!(run.step("Failure", "Module id"), "{}", run.log);
    assert!(!run.ran("Take the backup"), "{}", run.log);
    assert_eq!(std::fs::read_dir(&r.backups).unwrap().count(), 0);
}
