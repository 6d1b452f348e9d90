//! The `--record` log and `decision_log`: the chain catches an edited, dropped, inserted or
//! reordered line, concurrent writers never interleave, and `replay` re-evaluates a recorded
//! decision from what the line embeds.

mod common;

use common::platform::{NOW, Platform, refs};
use forgejo_gates::record::{self, Verification};
use std::path::Path;
use std::process::Command;

fn decision_log(args: &[&str]) -> common::Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_decision_log"));
    cmd.env_clear();
    if let Ok(v) = std::env::var("PATH") {
        cmd.env("PATH", v);
    }
    common::run(cmd.args(args))
}

/// A log of `n` decisions (alternating eligible / blocked) written by the real binary.
fn log_of(p: &Platform, n: usize) -> std::path::PathBuf {
    let log = p.tmp.path().join("decisions.log");
    for i in 0..n {
        let module = if i % 2 == 0 { "web-app" } else { "traefik" };
        let out = p.scope(&["--module", module, "--record", log.to_str().unwrap()]);
        assert!(out.code == 0 || out.code == 1, "{}", out.all());
    }
    log
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(path, text).unwrap();
}

fn broken_at(path: &Path) -> u64 {
    let out = decision_log(&["verify", path.to_str().unwrap()]);
    assert_eq!(out.code, 1, "verify should fail: {}", out.all());
    match record::verify(&std::fs::read_to_string(path).unwrap()) {
        Verification::Broken { line, .. } => {
            assert!(
                out.stdout.contains(&format!("line {line}:")),
                "{}",
                out.stdout
            );
            line
        }
        other => panic!("library says {other:?}"),
    }
}

#[test]
fn an_untouched_log_verifies_and_prints_its_head() {
    let p = Platform::new();
    let log = log_of(&p, 4);
    let out = decision_log(&["verify", log.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("4 line(s)"), "{}", out.stdout);
    let last = lines(&log).pop().unwrap();
    let head = forgejo_gates::digest::sha256_hex(last.as_bytes());
    assert!(out.stdout.contains(&head), "{}", out.stdout);
    let first: record::RecordLine = serde_json::from_str(&lines(&log)[0]).unwrap();
    assert_eq!(first.prev_sha256, record::GENESIS);
    assert_eq!(first.seq, 0);
}

#[test]
fn an_edited_line_is_caught_at_the_line_after_it() {
    let p = Platform::new();
    let log = log_of(&p, 4);
    let mut l = lines(&log);
    assert!(l[1].contains("\"outcome\":\"blocked\""));
    l[1] = l[1].replace("\"outcome\":\"blocked\"", "\"outcome\":\"eligible\"");
    write_lines(&log, &l);
    assert_eq!(broken_at(&log), 3);
}

#[test]
fn a_dropped_line_is_caught_where_it_was() {
    let p = Platform::new();
    let log = log_of(&p, 4);
    let mut l = lines(&log);
    l.remove(1);
    write_lines(&log, &l);
    assert_eq!(broken_at(&log), 2);
}

#[test]
fn dropping_the_first_line_is_caught() {
    let p = Platform::new();
    let log = log_of(&p, 3);
    let mut l = lines(&log);
    l.remove(0);
    write_lines(&log, &l);
    assert_eq!(broken_at(&log), 1);
}

#[test]
fn reordered_lines_are_caught() {
    let p = Platform::new();
    let log = log_of(&p, 4);
    let mut l = lines(&log);
    l.swap(1, 2);
    write_lines(&log, &l);
    assert_eq!(broken_at(&log), 2);
}

#[test]
fn an_inserted_line_is_caught_even_with_a_correct_prev_hash_and_seq() {
    let p = Platform::new();
    let log = log_of(&p, 3);
    let mut l = lines(&log);
    // A forger copies line 2, fixes seq and prev_sha256 to chain after line 2, and inserts it.
    let mut forged: record::RecordLine = serde_json::from_str(&l[1]).unwrap();
    forged.seq = 2;
    forged.prev_sha256 = forgejo_gates::digest::sha256_hex(l[1].as_bytes());
    forged.decision.outcome = "eligible".into();
    l.insert(2, serde_json::to_string(&forged).unwrap());
    write_lines(&log, &l);
    // The forged line chains; the original third line no longer does (seq 2 at line 4).
    assert_eq!(broken_at(&log), 4);
}

#[test]
fn a_blank_or_garbage_line_is_caught() {
    let p = Platform::new();
    let log = log_of(&p, 3);
    let mut l = lines(&log);
    l.insert(1, String::new());
    write_lines(&log, &l);
    assert_eq!(broken_at(&log), 2);
    let mut l = lines(&log);
    l[1] = "{\"not\":\"a record\"}".into();
    write_lines(&log, &l);
    assert_eq!(broken_at(&log), 2);
}

#[test]
fn a_cut_short_last_line_is_caught() {
    let p = Platform::new();
    let log = log_of(&p, 2);
    let text = std::fs::read_to_string(&log).unwrap();
    std::fs::write(&log, &text[..text.len() - 10]).unwrap();
    assert_eq!(broken_at(&log), 2);
}

#[test]
fn an_edit_to_the_last_line_needs_the_pinned_head() {
    let p = Platform::new();
    let log = log_of(&p, 3);
    let out = decision_log(&["verify", log.to_str().unwrap()]);
    let head = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("head sha256: "))
        .unwrap()
        .to_string();
    let mut l = lines(&log);
    l[2] = l[2].replace("\"outcome\":\"eligible\"", "\"outcome\":\"blocked\"");
    write_lines(&log, &l);
    // The chain alone cannot see it (documented)...
    let out = decision_log(&["verify", log.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.all());
    // ...the pinned head can.
    let out = decision_log(&["verify", log.to_str().unwrap(), "--head", &head]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stdout.contains("pinned"), "{}", out.stdout);
    // A log that grew after the pin still verifies against it.
    let p2 = Platform::new();
    let log2 = log_of(&p2, 2);
    let head2 = forgejo_gates::digest::sha256_hex(lines(&log2)[1].as_bytes());
    p2.scope(&["--module", "web-app", "--record", log2.to_str().unwrap()]);
    let out = decision_log(&["verify", log2.to_str().unwrap(), "--head", &head2]);
    assert_eq!(out.code, 0, "{}", out.all());
}

#[test]
fn a_missing_or_empty_log_cannot_be_evaluated() {
    let p = Platform::new();
    let missing = p.tmp.path().join("nope.log");
    assert_eq!(decision_log(&["verify", missing.to_str().unwrap()]).code, 2);
    let empty = p.file("empty.log", b"");
    assert_eq!(decision_log(&["verify", empty.to_str().unwrap()]).code, 2);
    let log = log_of(&p, 1);
    let out = decision_log(&["verify", log.to_str().unwrap(), "--head", "abc"]);
    assert_eq!(out.code, 2, "{}", out.all());
}

#[test]
fn recording_refuses_to_extend_a_damaged_chain() {
    let p = Platform::new();
    let log = log_of(&p, 1);
    std::fs::write(&log, "garbage\n").unwrap();
    let out = p.scope(&["--module", "web-app", "--record", log.to_str().unwrap()]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.all().contains("record.write_failed"), "{}", out.all());
}

#[test]
fn concurrent_writers_never_interleave_and_keep_the_chain() {
    let p = Platform::new();
    let log = p.tmp.path().join("concurrent.log");
    let writers: Vec<_> = (0..6)
        .map(|i| {
            let log = log.clone();
            let modules = p.modules.clone();
            let policy = p.policy.clone();
            std::thread::spawn(move || {
                for _ in 0..5 {
                    let module = if i % 2 == 0 { "web-app" } else { "traefik" };
                    let out = common::run(
                        common::gate("auto_apply_scope")
                            .arg("--modules-dir")
                            .arg(&modules)
                            .arg("--policy")
                            .arg(&policy)
                            .args(["--now", NOW, "--module", module, "--record"])
                            .arg(&log),
                    );
                    assert!(out.code == 0 || out.code == 1, "{}", out.all());
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.lines().count(), 30);
    assert_eq!(record::verify(&text), Verification::Intact { lines: 30 });
    let out = decision_log(&["verify", log.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.all());
}

/// The platform's real dispatch, with its backup present: `allow`, recorded.
fn recorded_allow(p: &Platform) -> std::path::PathBuf {
    let backup = p.real_backup();
    let log = p.tmp.path().join("allow.log");
    let mut args = Platform::dispatch_args(&backup);
    args.extend(["--record".to_string(), log.display().to_string()]);
    let out = p.one_shot(&Platform::plan("minio-init-exited.json"), &refs(&args));
    assert_eq!(out.code, 0, "{}", out.all());
    let out = p.scope(&refs(&args));
    assert_eq!(out.code, 0, "{}", out.all());
    log
}

#[test]
fn replay_reaches_the_same_outcome_from_the_record_alone() {
    let p = Platform::new();
    let log = recorded_allow(&p);
    // The backup is gone and the clock has moved on: replay uses what was observed then.
    for entry in std::fs::read_dir(&p.backups).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    let out = decision_log(&["replay", "--all", log.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout
            .contains("line 1: same: allow_one_shot_stateful_apply `minio-init`: recorded allow, this build says allow"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("line 2: same:"), "{}", out.stdout);
    let rec: record::RecordLine = serde_json::from_str(&lines(&log)[0]).unwrap();
    let replay = rec.replay.expect("a replay section");
    assert!(replay.policy.is_some());
    assert!(replay.plan.is_some());
    assert!(
        replay
            .observed
            .manifests
            .keys()
            .any(|k| k.ends_with("minio/module.yaml")),
        "the parent manifest read for the inherited restore path is embedded: {:?}",
        replay.observed.manifests.keys()
    );
    assert_eq!(replay.observed.backups.len(), 1);
}

#[test]
fn replay_under_a_changed_policy_reports_the_difference() {
    let p = Platform::new();
    let log = recorded_allow(&p);
    let policy = std::fs::read_to_string(&p.policy).unwrap();
    let stricter = p.file(
        "stricter.yml",
        format!("{policy}  mode: \"0400\"\n").as_bytes(),
    );
    let out = decision_log(&[
        "replay",
        "--line",
        "1",
        "--policy",
        stricter.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout.contains("different")
            && out.stdout.contains("recorded allow, this build says deny"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("backup.artifact.mode"),
        "{}",
        out.stdout
    );
}

#[test]
fn replay_of_an_edited_record_is_refused() {
    let p = Platform::new();
    let log = recorded_allow(&p);
    let mut l = lines(&log);
    l[0] = l[0].replace("BACKUP_DONE_F3", "BACKUP_DONE_F4");
    write_lines(&log, &l);
    let out = decision_log(&["replay", "--line", "1", log.to_str().unwrap()]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("broken"), "{}", out.stderr);
}

#[test]
fn a_pull_request_decision_is_not_replayable() {
    let p = Platform::new();
    let log = p.tmp.path().join("pr.log");
    let files = p.file("changed.txt", b"modules/web-app/compose.yml\n");
    // Pull-request mode runs at the repository root with a repository-relative --modules-dir.
    let out = common::run_in(
        &common::platform::fixtures(),
        common::gate("auto_apply_scope")
            .arg("--changed-files")
            .arg(&files)
            .arg("--policy")
            .arg(&p.policy)
            .arg("--record")
            .arg(&log),
    );
    assert!(out.code == 0 || out.code == 1, "{}", out.all());
    let out = decision_log(&["replay", log.to_str().unwrap()]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stdout.contains("not replayable"), "{}", out.stdout);
}

#[test]
fn a_decision_that_failed_before_its_inputs_were_read_embeds_nothing_to_replay() {
    let p = Platform::new();
    let log = p.tmp.path().join("error.log");
    let bad = p.file("bad-policy.yml", b"no_such_key: 1\n");
    let out = common::run(
        common::gate("auto_apply_scope")
            .arg("--modules-dir")
            .arg(&p.modules)
            .arg("--policy")
            .arg(&bad)
            .args(["--module", "web-app", "--record", log.to_str().unwrap()]),
    );
    assert_eq!(out.code, 2, "{}", out.all());
    let rec: record::RecordLine = serde_json::from_str(&lines(&log)[0]).unwrap();
    assert_eq!(rec.decision.outcome, "error");
    assert!(rec.replay.is_none());
    let out = decision_log(&["replay", log.to_str().unwrap()]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stdout.contains("not replayable"), "{}", out.stdout);
}

#[test]
fn an_error_decision_with_its_inputs_replays_to_the_same_error() {
    let p = Platform::new();
    let log = p.tmp.path().join("plan-error.log");
    let plan = p.file(
        "plan.json",
        br#"{"schema":"platformctl.plan/v1","module":"minio-init","noop":false,"drift":[],"x":1}"#,
    );
    let backup = p.real_backup();
    let mut args = Platform::dispatch_args(&backup);
    args.extend(["--record".to_string(), log.display().to_string()]);
    let out = p.one_shot(&plan, &refs(&args));
    assert_eq!(out.code, 2, "{}", out.all());
    let out = decision_log(&["replay", log.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("recorded error, this build says error"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_record_written_with_old_codes_still_verifies_and_replays_the_same() {
    // A deny by the one-shot gate, recorded, then given the codes a build before the rename
    // wrote (`oneshot.not_one_shot`): the line is what an old log holds, its chain intact.
    let p = Platform::new();
    let backup = p.backup(
        "postgres-20260517T010847Z.sql.gz",
        &common::backup::pg_dumpall_sql_gz(),
        0o600,
    );
    let log = p.tmp.path().join("old-codes.log");
    let args = [
        "--module",
        "postgres",
        "--allow-stateful",
        "--backup-ref",
        &backup,
        "--stateful-confirm",
        "BACKUP_DONE_F3",
        "--record",
        log.to_str().unwrap(),
    ];
    let out = p.one_shot(&Platform::plan("postgres-drift.json"), &args);
    assert_eq!(out.code, 1, "{}", out.all());
    let line = lines(&log).remove(0);
    assert!(line.contains("\"one_shot.not_one_shot\""), "{line}");
    let old = line.replace("\"one_shot.", "\"oneshot.");
    write_lines(&log, std::slice::from_ref(&old));
    let out = decision_log(&["verify", log.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.all());
    let out = decision_log(&["replay", log.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("same:") && out.stdout.contains("recorded deny, this build says deny"),
        "{}",
        out.stdout
    );
    // The codes are compared through the alias table: an old spelling is no difference.
    assert!(
        !out.stdout.contains("blocking codes were"),
        "{}",
        out.stdout
    );
    // The line itself is never rewritten.
    assert_eq!(lines(&log), [old]);
}

/// A decision made under the built-in policy is recorded (no policy text to embed: replay
/// uses the built-in policy too) and replays to the same outcome. A mutant of the "built-in"
/// test in `record_policy` tried to read a file called `builtin` and could not record.
#[test]
fn a_decision_under_the_built_in_policy_is_recorded_and_replays_the_same() {
    let p = Platform::new();
    let log = p.tmp.path().join("builtin.log");
    // No --policy and no .forgejo/gates.yml in the working directory: the built-in policy.
    let out = common::run(
        common::gate("auto_apply_scope")
            .current_dir(p.tmp.path())
            .arg("--modules-dir")
            .arg(&p.modules)
            .args(["--now", NOW, "--module", "web-app"])
            .args(["--record", log.to_str().unwrap()]),
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let rec: record::RecordLine = serde_json::from_str(&lines(&log)[0]).unwrap();
    let replay = rec.replay.expect("a replay section");
    assert!(replay.policy.is_none(), "{:?}", replay.policy);
    let out = decision_log(&["replay", log.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("line 1: same:"), "{}", out.stdout);
}

/// A policy file that happens to be called `builtin` is a file like any other: its text is
/// embedded, and replay judges under it, not under the built-in policy (whose backup root is
/// elsewhere, so the backup would not be found).
#[test]
fn a_policy_file_named_builtin_is_embedded_not_taken_for_the_built_in_policy() {
    let p = Platform::new();
    std::fs::copy(&p.policy, p.tmp.path().join("builtin")).unwrap();
    let log = p.tmp.path().join("named-builtin.log");
    let backup = p.real_backup();
    let out = common::run(
        common::gate("allow_one_shot_stateful_apply")
            .current_dir(p.tmp.path())
            .arg("--modules-dir")
            .arg(&p.modules)
            .args(["--policy", "builtin", "--now", NOW])
            .arg("--plan")
            .arg(Platform::plan("minio-init-exited.json"))
            .args(refs(&Platform::dispatch_args(&backup)))
            .args(["--record", log.to_str().unwrap()]),
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let rec: record::RecordLine = serde_json::from_str(&lines(&log)[0]).unwrap();
    let replay = rec.replay.expect("a replay section");
    assert!(replay.policy.is_some(), "the policy text is embedded");
    let out = decision_log(&["replay", log.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("recorded allow, this build says allow"),
        "{}",
        out.stdout
    );
}

/// An error is the same only when it is the same error: a recorded error that this build,
/// under another policy, turns into another error is a difference (exit 1), not "same". A
/// mutant that called any two errors the same survived before and after the move.
#[test]
fn an_error_replayed_to_another_error_is_different() {
    let p = Platform::new();
    let log = p.tmp.path().join("plan-error.log");
    let plan = p.file(
        "plan.json",
        br#"{"schema":"platformctl.plan/v1","module":"minio-init","noop":false,"drift":[],"x":1}"#,
    );
    let backup = p.real_backup();
    let mut args = Platform::dispatch_args(&backup);
    args.extend(["--record".to_string(), log.display().to_string()]);
    let out = p.one_shot(&plan, &refs(&args));
    assert_eq!(out.code, 2, "{}", out.all());
    // The same plan under a policy whose plan limit it exceeds: another error.
    let policy = std::fs::read_to_string(&p.policy).unwrap();
    let small = p.file(
        "small-plans.yml",
        format!("{policy}plan:\n  max_bytes: 10\n").as_bytes(),
    );
    let out = decision_log(&[
        "replay",
        "--policy",
        small.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout.contains("line 1: different:")
            && out
                .stdout
                .contains("recorded error, this build says error; blocking codes were"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_log_whose_last_line_lost_its_newline_is_not_extended() {
    // Appending glued the new line onto the cut one: the gate exited 0 while its record
    // broke the chain, and every later run failed.
    let p = Platform::new();
    let log = log_of(&p, 2);
    let mut text = std::fs::read(&log).unwrap();
    text.pop();
    std::fs::write(&log, &text).unwrap();
    let out = p.scope(&["--module", "web-app", "--record", log.to_str().unwrap()]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.all().contains("record.write_failed"), "{}", out.all());
    assert!(out.all().contains("has no newline"), "{}", out.all());
    assert_eq!(
        std::fs::read(&log).unwrap(),
        text,
        "the log was left as it was"
    );
}

#[test]
fn the_record_log_is_never_opened_through_a_link() {
    use std::os::unix::fs::symlink;
    let p = Platform::new();
    // A dangling link: the gate created the file it pointed at.
    let target = p.tmp.path().join("elsewhere.conf");
    let log = p.tmp.path().join("decisions.log");
    symlink(&target, &log).unwrap();
    let out = p.scope(&["--module", "web-app", "--record", log.to_str().unwrap()]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(!target.exists(), "the link's target was created");
    // A link to an existing file: the gate appended to it.
    std::fs::write(&target, "keep\n").unwrap();
    let out = p.scope(&["--module", "web-app", "--record", log.to_str().unwrap()]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep\n");
    // replay does not read through one either.
    let real = log_of(&Platform::new(), 1);
    let linked = p.tmp.path().join("linked.log");
    symlink(&real, &linked).unwrap();
    let out = decision_log(&["replay", linked.to_str().unwrap()]);
    assert_eq!(out.code, 2, "{}", out.all());
}

#[test]
fn a_broken_line_is_described_without_quoting_it() {
    // serde's message quoted the line's strings: a log path linked to a secret printed it.
    let p = Platform::new();
    let log = p.tmp.path().join("decisions.log");
    std::fs::write(&log, "\"ghp_SECRETTOKEN0123456789abcdef\"\n").unwrap();
    let out = p.scope(&["--module", "web-app", "--record", log.to_str().unwrap()]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(!out.all().contains("SECRETTOKEN"), "{}", out.all());
    std::fs::write(&log, "{\"seq\":\"s3cr3t-db-password\"}\n").unwrap();
    let out = decision_log(&["verify", log.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(!out.all().contains("s3cr3t"), "{}", out.all());
}

#[test]
fn a_record_written_as_an_array_is_not_a_record() {
    // serde reads a struct from an array too; no other JSON reader sees a record there.
    let p = Platform::new();
    let log = log_of(&p, 1);
    let line = lines(&log).remove(0);
    let value: serde_json::Value = serde_json::from_str(&line).unwrap();
    let as_array = serde_json::json!([
        value["format"],
        value["seq"],
        value["prev_sha256"],
        value["decision"],
        value["replay"]
    ]);
    write_lines(&log, &[as_array.to_string()]);
    assert_eq!(broken_at(&log), 1);
}

#[test]
fn the_largest_sequence_number_is_not_extended() {
    // seq + 1 overflowed: a panic in a debug build, a wrapped 0 that breaks the chain in a
    // release one.
    let p = Platform::new();
    let log = log_of(&p, 1);
    let line = lines(&log).remove(0);
    let max = line.replacen("\"seq\":0", &format!("\"seq\":{}", u64::MAX), 1);
    assert_ne!(max, line);
    write_lines(&log, &[max]);
    let out = p.scope(&["--module", "web-app", "--record", log.to_str().unwrap()]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.all().contains("largest sequence number"),
        "{}",
        out.all()
    );
}
