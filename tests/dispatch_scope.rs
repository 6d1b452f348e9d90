//! `auto_apply_scope` in dispatch mode, driven as a process the way the workflow runs it.
//! Each bad input names the exit code and the reason code it must give.

mod common;

use common::backup;
use common::platform::{CONFIRM, NOW, Platform, REAL_BACKUP, refs};
use std::os::unix::fs::symlink;

#[track_caller]
fn assert_blocked(out: &common::Run, code: &str) {
    assert_eq!(
        out.code,
        1,
        "expected blocked (1) with {code}:\n{}",
        out.all()
    );
    assert!(
        out.stdout.starts_with("auto_apply_scope: BLOCKED"),
        "{}",
        out.all()
    );
    assert!(
        out.stdout.contains(&format!("error[{code}]")),
        "missing {code}:\n{}",
        out.all()
    );
}

#[track_caller]
fn assert_error(out: &common::Run, code: &str) {
    assert_eq!(
        out.code,
        2,
        "expected could-not-evaluate (2) with {code}:\n{}",
        out.all()
    );
    assert!(
        out.stderr.contains(&format!("error[{code}]")),
        "missing {code}:\n{}",
        out.all()
    );
}

#[test]
fn the_real_dispatch_is_eligible() {
    let p = Platform::new();
    let backup = p.real_backup();
    let out = p.scope(&refs(&Platform::dispatch_args(&backup)));
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout
            .starts_with("auto_apply_scope: ELIGIBLE — minio-init"),
        "{}",
        out.stdout
    );
    // Why the yes was a yes: each precondition is named.
    for code in [
        "scope.stateful.allowed",
        "backup.ref.ok",
        "backup.artifact.ok",
        "scope.confirm.ok",
        "scope.restore.ok",
    ] {
        assert!(
            out.stdout.contains(&format!("info[{code}]")),
            "{code}:\n{}",
            out.stdout
        );
    }
    assert!(out.stdout.contains("scope: one-shot"), "{}", out.stdout);
}

#[test]
fn the_real_dispatch_from_the_event_payload_is_eligible() {
    let p = Platform::new();
    let backup = p.real_backup();
    let event = p.file(
        "event.json",
        format!(
            r#"{{"inputs":{{"module":"minio-init","allow_stateful":"true","backup_ref":"{backup}","stateful_confirm":"{CONFIRM}"}},"ref":"refs/heads/main"}}"#
        )
        .as_bytes(),
    );
    let out = p.scope(&["--from-event", event.to_str().unwrap(), "--fail-on-blocked"]);
    assert_eq!(out.code, 0, "{}", out.all());
    // The default path comes from GITHUB_EVENT_PATH, as in a workflow.
    let out = common::run(
        common::gate("auto_apply_scope")
            .args([
                "--modules-dir",
                p.modules.to_str().unwrap(),
                "--policy",
                p.policy.to_str().unwrap(),
                "--now",
                NOW,
                "--from-event",
            ])
            .env("GITHUB_EVENT_PATH", &event),
    );
    assert_eq!(out.code, 0, "{}", out.all());
}

#[test]
fn a_stateless_module_needs_no_backup() {
    let p = Platform::new();
    let out = p.scope(&["--module", "web-app"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("info[scope.stateless]"));
}

#[test]
fn changing_any_one_input_of_the_real_dispatch_blocks() {
    let p = Platform::new();
    let backup = p.real_backup();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "--module".into(),
                "minio-init".into(),
                "--allow-stateful=false".into(),
                "--backup-ref".into(),
                backup.clone(),
                "--stateful-confirm".into(),
                CONFIRM.into(),
            ],
            "scope.stateful.not_allowed",
        ),
        (
            vec![
                "--module".into(),
                "minio-init".into(),
                "--allow-stateful".into(),
                "--stateful-confirm".into(),
                CONFIRM.into(),
            ],
            "backup.ref.missing",
        ),
        (
            vec![
                "--module".into(),
                "minio-init".into(),
                "--allow-stateful".into(),
                "--backup-ref".into(),
                backup.clone(),
            ],
            "scope.confirm.missing",
        ),
        (
            vec![
                "--module".into(),
                "postgres".into(),
                "--allow-stateful".into(),
                "--backup-ref".into(),
                backup.clone(),
                "--stateful-confirm".into(),
                CONFIRM.into(),
            ],
            "backup.ref.wrong_module",
        ),
        (
            vec![
                "--module".into(),
                "minio-init".into(),
                "--allow-stateful".into(),
                "--backup-ref".into(),
                backup.replace("010847Z", "010848Z"),
                "--stateful-confirm".into(),
                CONFIRM.into(),
            ],
            "backup.artifact.missing",
        ),
        (
            vec![
                "--module".into(),
                "minio-init".into(),
                "--allow-stateful".into(),
                "--backup-ref".into(),
                backup.clone(),
                "--stateful-confirm".into(),
                "BACKUP_DONE_F4".into(),
            ],
            "scope.confirm.mismatch",
        ),
    ];
    for (args, code) in cases {
        assert_blocked(&p.scope(&refs(&args)), code);
    }
    // And the clock: the same backup a day later is stale.
    let mut cmd = common::gate("auto_apply_scope");
    cmd.args([
        "--modules-dir",
        p.modules.to_str().unwrap(),
        "--policy",
        p.policy.to_str().unwrap(),
        "--now",
        "2026-05-18T01:30:00Z",
    ])
    .args(Platform::dispatch_args(&backup));
    assert_blocked(&common::run(&mut cmd), "backup.ref.stale");
}

#[test]
fn bad_backup_references_block_with_their_code() {
    let p = Platform::new();
    let good = p.real_backup();
    let root = p.backups.display().to_string();
    let cases = [
        (
            format!("{root}/../backups/{REAL_BACKUP}"),
            "backup.ref.parent_dir",
        ),
        (
            format!("{root}//{REAL_BACKUP}"),
            "backup.ref.not_normalized",
        ),
        (format!("{good} "), "backup.ref.invalid_chars"),
        (format!("backups/{REAL_BACKUP}"), "backup.ref.not_absolute"),
        (format!("/tmp/{REAL_BACKUP}"), "backup.ref.outside_root"),
        (
            format!("{root}/postgres-20260517T010847Z.sql.gz"),
            "backup.ref.wrong_module",
        ),
        // minio-init is bound to minio's backups: a backup of the sidecar itself is not enough.
        (
            format!("{root}/minio-init-20260517T010847Z.tar.gz"),
            "backup.ref.wrong_module",
        ),
        (
            format!("{root}/minio-20260517T023000Z.tar.gz"),
            "backup.ref.future",
        ),
        (
            format!("{root}/minio-20260230T000000Z.tar.gz"),
            "backup.ref.timestamp_invalid",
        ),
        (
            format!("{root}/minio-20260510T010847Z.tar.gz"),
            "backup.ref.stale",
        ),
        (
            format!("{root}/minio-20260517T010847Z.sql.gz"),
            "backup.ref.extension",
        ),
        (
            format!("{root}/minio-20260517T010847Z.zip"),
            "backup.ref.name_invalid",
        ),
        (
            format!("{root}/minio-20260517T010847Z.tar.gz\n"),
            "backup.ref.invalid_chars",
        ),
        (
            format!("{root}/mіnio-20260517T010847Z.tar.gz"),
            "backup.ref.invalid_chars",
        ),
    ];
    for (backup_ref, code) in cases {
        let out = p.scope(&refs(&Platform::dispatch_args(&backup_ref)));
        assert_blocked(&out, code);
    }
}

#[test]
fn the_backup_file_itself_must_be_real_private_and_readable() {
    let cases: [(&str, Vec<u8>, u32, &str); 6] = [
        (
            "mode 0644",
            backup::minio_tar_gz(),
            0o644,
            "backup.artifact.mode",
        ),
        (
            "mode 0400",
            backup::minio_tar_gz(),
            0o400,
            "backup.artifact.mode",
        ),
        ("zero bytes", Vec::new(), 0o600, "backup.artifact.empty"),
        (
            "text, not gzip",
            b"this is not an archive\n".to_vec(),
            0o600,
            "backup.artifact.format",
        ),
        (
            "gzip, not tar",
            backup::gzip(b"plain text inside gzip, no tar header here at all"),
            0o600,
            "backup.artifact.format",
        ),
        (
            "zstd bytes named .tar.gz",
            backup::zstd(&backup::tar(&[("a", b"x")])),
            0o600,
            "backup.artifact.format",
        ),
    ];
    for (what, bytes, mode, code) in cases {
        let p = Platform::new();
        let path = p.backup(REAL_BACKUP, &bytes, mode);
        let out = p.scope(&refs(&Platform::dispatch_args(&path)));
        assert_eq!(out.code, 1, "{what}: {}", out.all());
        assert!(
            out.stdout.contains(&format!("error[{code}]")),
            "{what}: {}",
            out.all()
        );
        assert!(!out.stdout.contains("info[backup.artifact.ok]"), "{what}");
    }
}

#[test]
fn symlinks_are_never_followed() {
    // A symlinked file.
    let p = Platform::new();
    let real = p.tmp.path().join("elsewhere.tar.gz");
    std::fs::write(&real, backup::minio_tar_gz()).unwrap();
    let link = p.backups.join(REAL_BACKUP);
    symlink(&real, &link).unwrap();
    assert_blocked(
        &p.scope(&refs(&Platform::dispatch_args(link.to_str().unwrap()))),
        "backup.artifact.symlink",
    );

    // A symlinked backup directory.
    let p = Platform::new();
    let real_dir = p.tmp.path().join("real-backups");
    std::fs::create_dir(&real_dir).unwrap();
    let linked_root = p.tmp.path().join("linked");
    symlink(&real_dir, &linked_root).unwrap();
    let uid = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&real_dir).unwrap());
    std::fs::write(
        &p.policy,
        format!(
            "backup:\n  root: {}\n  owner_uid: {uid}\n",
            linked_root.display()
        ),
    )
    .unwrap();
    let file = real_dir.join(REAL_BACKUP);
    std::fs::write(&file, backup::minio_tar_gz()).unwrap();
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let via_link = format!("{}/{REAL_BACKUP}", linked_root.display());
    assert_blocked(
        &p.scope(&refs(&Platform::dispatch_args(&via_link))),
        "backup.artifact.symlink",
    );
}

#[test]
fn a_runner_that_cannot_see_the_backup_directory_is_told_so() {
    let p = Platform::new();
    std::fs::write(&p.policy, "backup:\n  root: /nonexistent/pdurlej-backups\n").unwrap();
    let out = p.scope(&refs(&Platform::dispatch_args(&format!(
        "/nonexistent/pdurlej-backups/{REAL_BACKUP}"
    ))));
    assert_blocked(&out, "backup.artifact.root_unreadable");
}

#[test]
fn the_backup_owner_is_checked() {
    let p = Platform::new();
    let path = p.real_backup();
    // Require an owner the file cannot have.
    std::fs::write(
        &p.policy,
        format!(
            "backup:\n  root: {}\n  owner_uid: 4242\n",
            p.backups.display()
        ),
    )
    .unwrap();
    assert_blocked(
        &p.scope(&refs(&Platform::dispatch_args(&path))),
        "backup.artifact.owner",
    );
}

#[test]
fn bad_confirm_phrases_block() {
    let p = Platform::new();
    let backup = p.real_backup();
    for (phrase, code) in [
        ("backup_done_f3", "scope.confirm.mismatch"),
        ("BACKUP_DONE_F3\n", "scope.confirm.mismatch"),
        ("BACKUP_DОNE_F3", "scope.confirm.mismatch"), // Cyrillic О
        ("", "scope.confirm.missing"),
    ] {
        let mut args = Platform::dispatch_args(&backup);
        args[6] = phrase.to_string();
        assert_blocked(&p.scope(&refs(&args)), code);
    }
}

#[test]
fn booleans_are_exactly_true_or_false() {
    let p = Platform::new();
    let backup = p.real_backup();
    for bad in ["True", "yes", "1", ""] {
        let mut args = Platform::dispatch_args(&backup);
        args[2] = format!("--allow-stateful={bad}");
        assert_error(&p.scope(&refs(&args)), "input.bool_invalid");
    }
    // The same strictness through the event payload.
    let event = p.file(
        "e.json",
        br#"{"inputs":{"module":"minio-init","allow_stateful":"True"}}"#,
    );
    assert_error(
        &p.scope(&["--from-event", event.to_str().unwrap()]),
        "input.bool_invalid",
    );
}

#[test]
fn module_ids_are_checked_before_any_path_is_built() {
    let p = Platform::new();
    for bad in ["../etc", "Minio", &"a".repeat(64), "minio/../../etc"] {
        assert_error(&p.scope(&["--module", bad]), "input.module_invalid");
    }
    assert_error(
        &p.scope(&["--module", "no-such-module"]),
        "manifest.missing",
    );
    assert_error(&p.scope(&[]), "input.module_missing");
}

#[test]
fn a_misspelt_manifest_value_is_an_error_not_a_default() {
    let p = Platform::new();
    let modules = p.tmp.path().join("modules");
    std::fs::create_dir_all(modules.join("cache")).unwrap();
    std::fs::write(
        modules.join("cache/module.yaml"),
        "metadata:\n  name: cache\nspec:\n  classes: [publc-edge]\n  runtime:\n    statefulness: statefull\n",
    )
    .unwrap();
    let out = common::run(common::gate("auto_apply_scope").args([
        "--modules-dir",
        modules.to_str().unwrap(),
        "--module",
        "cache",
    ]));
    assert_error(&out, "manifest.invalid");
    // Both problems, each with its line.
    assert!(out.stderr.contains("module.yaml:4:"), "{}", out.stderr);
    assert!(
        out.stderr.contains("module.yaml:6:") && out.stderr.contains("statefull"),
        "{}",
        out.stderr
    );

    std::fs::write(
        modules.join("cache/module.yaml"),
        "metadata:\n  name: other\n",
    )
    .unwrap();
    let out = common::run(common::gate("auto_apply_scope").args([
        "--modules-dir",
        modules.to_str().unwrap(),
        "--module",
        "cache",
    ]));
    assert_error(&out, "manifest.invalid");
}

#[test]
fn an_undeclared_statefulness_is_treated_as_stateful_and_said_so() {
    let p = Platform::new();
    let out = p.scope(&["--module", "legacy-cache"]);
    assert_blocked(&out, "scope.stateful.not_allowed");
    assert!(
        out.stdout
            .contains("warning[scope.statefulness.undeclared]"),
        "{}",
        out.stdout
    );
}

#[test]
fn manual_classes_stay_manual_unless_a_live_exception_says_otherwise() {
    let p = Platform::new();
    assert_blocked(&p.scope(&["--module", "traefik"]), "scope.class.manual");
    assert_blocked(&p.scope(&["--module", "vault"]), "scope.class.manual");

    let p = Platform::with_policy_extra(
        "exceptions:\n  - module: traefik\n    allow_classes: [public-edge]\n    reason: edge config is generated and reviewed upstream\n    expires: 2026-06-30\n",
    );
    let out = p.scope(&["--module", "traefik"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("warning[scope.class.exception]"),
        "{}",
        out.stdout
    );

    let p = Platform::with_policy_extra(
        "exceptions:\n  - module: traefik\n    allow_classes: [public-edge]\n    reason: edge config is generated and reviewed upstream\n    expires: 2026-05-01\n",
    );
    let out = p.scope(&["--module", "traefik"]);
    assert_blocked(&out, "scope.class.manual");
    assert!(
        out.stdout.contains("warning[policy.exception.expired]"),
        "{}",
        out.stdout
    );

    let p = Platform::with_policy_extra(
        "exceptions:\n  - module: web-app\n    allow_classes: [auth]\n    reason: left over from the old auth proxy\n    expires: 2026-12-31\n",
    );
    let out = p.scope(&["--module", "web-app"]);
    assert!(
        out.stdout.contains("warning[policy.exception.unused]"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_flag_and_the_event_disagreeing_is_an_error() {
    let p = Platform::new();
    let event = p.file(
        "e.json",
        br#"{"inputs":{"module":"minio-init","allow_stateful":"true"}}"#,
    );
    let out = p.scope(&["--from-event", event.to_str().unwrap(), "--module", "minio"]);
    assert_error(&out, "input.conflict");
    let out = p.scope(&[
        "--from-event",
        event.to_str().unwrap(),
        "--allow-stateful=false",
    ]);
    assert_error(&out, "input.conflict");
}

#[test]
fn hostile_inputs_are_data() {
    let p = Platform::new();
    let out = p.scope(&[
        "--module",
        "minio-init",
        "--allow-stateful",
        "--backup-ref",
        "x\"; rm -rf / #",
        "--stateful-confirm",
        "::error::forged",
    ]);
    assert_blocked(&out, "backup.ref.invalid_chars");
    // No line of the output starts with a workflow command.
    assert!(
        !out.stdout.lines().any(|l| l.starts_with("::")),
        "{}",
        out.stdout
    );
    let out = p.scope(&["--module", "--help"]);
    assert_error(&out, "input.module_invalid");
}

#[test]
fn report_only_turns_blocked_into_zero_and_nothing_else() {
    let p = Platform::new();
    let out = p.scope(&["--module", "traefik", "--report-only"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("BLOCKED"));
    let out = p.scope(&["--module", "../etc", "--report-only"]);
    assert_eq!(out.code, 2);
    let out = p.scope(&["--module", "traefik", "--report-only", "--fail-on-blocked"]);
    assert_eq!(out.code, 2, "conflicting flags are a usage error");
}

#[test]
fn json_output_is_the_versioned_document_and_keeps_the_exit_code() {
    let p = Platform::new();
    let backup = p.real_backup();
    let mut args = Platform::dispatch_args(&backup);
    args.extend(["--format".into(), "json".into()]);
    let out = p.scope(&refs(&args));
    assert_eq!(out.code, 0);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["version"], "forgejo-gates.decision/v1");
    assert_eq!(doc["gate"], "auto_apply_scope");
    assert_eq!(doc["outcome"], "eligible");
    assert_eq!(doc["now"], NOW);
    assert!(doc["checks_run"].as_u64().unwrap() >= 5);
    let names: Vec<&str> = doc["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    for n in ["policy", "manifest:minio-init", "backup"] {
        assert!(names.contains(&n), "{names:?}");
    }
    let backup_digest = doc["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "backup")
        .unwrap();
    let expected = {
        use sha2::Digest;
        forgejo_gates::digest::hex(&sha2::Sha256::digest(std::fs::read(&backup).unwrap()))
    };
    assert_eq!(backup_digest["sha256"], expected.as_str());

    let out = p.scope(&["--module", "traefik", "--format", "json"]);
    assert_eq!(out.code, 1, "json never changes the exit code");
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["outcome"], "blocked");
    assert_eq!(doc["reasons"][0]["code"], "scope.class.manual");

    let out = p.scope(&["--module", "../etc", "--format", "json"]);
    assert_eq!(out.code, 2);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["outcome"], "error");
    assert_eq!(doc["reasons"][0]["code"], "input.module_invalid");
}

#[test]
fn step_outputs_are_written_under_actions() {
    let p = Platform::new();
    let output = p.tmp.path().join("github_output");
    let out = common::run(
        common::gate("auto_apply_scope")
            .args([
                "--modules-dir",
                p.modules.to_str().unwrap(),
                "--policy",
                p.policy.to_str().unwrap(),
                "--module",
                "traefik",
            ])
            .env("GITHUB_OUTPUT", &output),
    );
    assert_eq!(out.code, 1);
    let written = std::fs::read_to_string(&output).unwrap();
    assert!(written.lines().any(|l| l == "outcome=blocked"), "{written}");
    assert!(written.lines().any(|l| l == "exit_code=1"), "{written}");
    assert!(
        written
            .lines()
            .any(|l| l == "blocking_codes=scope.class.manual"),
        "{written}"
    );
    assert!(written.lines().any(|l| l == "scope=manual"), "{written}");
}

#[test]
fn record_appends_a_hash_chained_line_per_decision() {
    let p = Platform::new();
    let log = p.tmp.path().join("decisions.log");
    for module in ["web-app", "traefik", "web-app"] {
        p.scope(&["--module", module, "--record", log.to_str().unwrap()]);
    }
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.lines().count(), 3);
    assert_eq!(
        forgejo_gates::record::verify(&text),
        forgejo_gates::record::Verification::Intact { lines: 3 }
    );
    // Editing the middle line breaks the chain at the line after it.
    let edited = text.replacen("\"outcome\":\"blocked\"", "\"outcome\":\"eligible\"", 1);
    assert!(matches!(
        forgejo_gates::record::verify(&edited),
        forgejo_gates::record::Verification::Broken { line: 3, .. }
    ));
}

#[test]
fn help_and_version_exit_zero_and_show_the_exit_codes() {
    let out = common::run(common::gate("auto_apply_scope").arg("--help"));
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("3  noop"), "{}", out.stdout);
    let out = common::run(common::gate("auto_apply_scope").arg("--version"));
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("commit "), "{}", out.stdout);
    let out = common::run(common::gate("auto_apply_scope").arg("--no-such-flag"));
    assert_eq!(out.code, 2);
}

#[test]
fn the_policy_cannot_take_a_class_out_of_manual_without_an_exception() {
    // The mission keeps security-sensitive, public-edge and auth manual unless a dated,
    // explained exception says otherwise; an empty list took them all out silently.
    for list in ["[]", "[secret-bearing]", "[security-sensitive, auth]"] {
        let p = Platform::with_policy_extra(&format!("dispatch:\n  manual_classes: {list}\n"));
        let out = p.scope(&["--module", "traefik"]);
        assert_error(&out, "policy.invalid");
        assert!(out.stderr.contains("must keep"), "{}", out.all());
    }
    // More classes than the three is fine.
    let p = Platform::with_policy_extra(
        "dispatch:\n  manual_classes: [security-sensitive, public-edge, auth, secret-bearing]\n",
    );
    assert_blocked(&p.scope(&["--module", "traefik"]), "scope.class.manual");
}

#[test]
fn an_exception_whose_reason_says_nothing_is_refused() {
    for reason in [
        "\"TODO TODO.\"",
        "\"...........\"",
        "\"-         x\"",
        "xxxxxxxxxx",
        "\"n/a n/a n/a n/a\"",
        "\"tbd tbd tbd tbd tbd\"",
    ] {
        let p = Platform::with_policy_extra(&format!(
            "exceptions:\n  - module: traefik\n    allow_classes: [public-edge]\n    reason: {reason}\n    expires: 2026-06-30\n"
        ));
        let out = p.scope(&["--module", "traefik"]);
        assert_error(&out, "policy.invalid");
        assert!(
            out.stderr.contains("exceptions[].reason"),
            "{reason}: {}",
            out.all()
        );
    }
}

#[test]
fn an_exception_dated_more_than_a_year_ahead_does_not_apply() {
    let p = Platform::with_policy_extra(
        "exceptions:\n  - module: traefik\n    allow_classes: [public-edge]\n    reason: edge config is generated and reviewed upstream\n    expires: 9999-12-31\n",
    );
    let out = p.scope(&["--module", "traefik"]);
    assert_blocked(&out, "scope.class.manual");
    assert!(
        out.stdout
            .contains("warning[policy.exception.too_far_ahead]"),
        "{}",
        out.stdout
    );
    // 366 days ahead of NOW (2026-05-17) still applies; 367 does not.
    let p = Platform::with_policy_extra(
        "exceptions:\n  - module: traefik\n    allow_classes: [public-edge]\n    reason: edge config is generated and reviewed upstream\n    expires: 2027-05-18\n",
    );
    assert_eq!(p.scope(&["--module", "traefik"]).code, 0);
    let p = Platform::with_policy_extra(
        "exceptions:\n  - module: traefik\n    allow_classes: [public-edge]\n    reason: edge config is generated and reviewed upstream\n    expires: 2027-05-19\n",
    );
    assert_blocked(&p.scope(&["--module", "traefik"]), "scope.class.manual");
}

#[test]
fn the_policy_cannot_allow_a_drift_kind_the_one_shot_gate_does_not_check() {
    let p = Platform::with_policy_extra(
        "plan:\n  allowed_drift_kinds: [container.state.exited_success, volume.recreate]\n",
    );
    let out = p.scope(&["--module", "web-app"]);
    assert_error(&out, "policy.invalid");
    assert!(out.stderr.contains("volume.recreate"), "{}", out.all());
}

#[test]
fn a_stateless_module_with_a_backup_binding_says_two_things_and_is_refused() {
    // A sidecar whose data lives in minio's backups, declared stateless: the gate believed
    // "stateless" and applied it with no backup.
    let mut p = Platform::new();
    let modules = p.copy_modules();
    std::fs::create_dir(modules.join("minio-sidecar")).unwrap();
    for fields in [
        "backup_class: minio\n    backup_ref_modules: [minio]\n",
        "backup_ref_modules: [minio]\n",
        "backup_class: minio\n",
    ] {
        std::fs::write(
            modules.join("minio-sidecar/module.yaml"),
            format!(
                "metadata:\n  name: minio-sidecar\nspec:\n  classes: []\n  runtime:\n    statefulness: stateless\n    {fields}"
            ),
        )
        .unwrap();
        let out = p.scope(&["--module", "minio-sidecar"]);
        assert_error(&out, "manifest.invalid");
        assert!(out.stderr.contains("contradicts"), "{}", out.all());
    }
}

#[test]
fn a_backup_binding_to_a_stateless_or_missing_module_blocks() {
    // minio-init bound to web-app's backups: any fresh archive named web-app-... was "the
    // right module's" backup, though web-app holds no data.
    for (bound, code) in [
        ("web-app", "scope.backup_binding.stateless"),
        ("ghost", "scope.backup_binding.unknown"),
    ] {
        let mut p = Platform::new();
        let modules = p.copy_modules();
        let manifest = std::fs::read_to_string(modules.join("minio-init/module.yaml")).unwrap();
        std::fs::write(
            modules.join("minio-init/module.yaml"),
            manifest.replace(
                "backup_ref_modules: [minio]",
                &format!("backup_ref_modules: [{bound}]"),
            ),
        )
        .unwrap();
        let backup = p.backup(
            &format!("{bound}-20260517T010847Z.tar.gz"),
            &backup::minio_tar_gz(),
            0o600,
        );
        let out = p.scope(&refs(&Platform::dispatch_args(&backup)));
        assert_blocked(&out, code);
    }
    // The fixture's binding to minio passes the check and says so.
    let p = Platform::new();
    let backup = p.real_backup();
    let out = p.scope(&refs(&Platform::dispatch_args(&backup)));
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("info[scope.backup_binding.ok]"),
        "{}",
        out.stdout
    );
}

#[test]
fn the_clock_cannot_be_set_inside_a_workflow_run() {
    // A 5-day-old backup was "5 min old" with --now set to just after it: whoever wrote the
    // step chose the freshness. Inside a workflow run --now is refused.
    let p = Platform::new();
    let backup = p.real_backup();
    let args = Platform::dispatch_args(&backup);
    for var in ["GITHUB_ACTIONS", "FORGEJO_ACTIONS"] {
        let out = p.scope_with_env(&refs(&args), &[(var, "true")]);
        assert_error(&out, "input.usage");
        assert!(out.stderr.contains("--now is refused"), "{}", out.all());
    }
    // Outside a workflow (tests, replays, an operator) it is the documented test clock.
    let out = p.scope_with_env(&refs(&args), &[("GITHUB_ACTIONS", "false")]);
    assert_eq!(out.code, 0, "{}", out.all());
}

#[test]
fn a_backup_directory_others_can_write_blocks() {
    use std::os::unix::fs::PermissionsExt;
    // The file was root's and 0600, but anyone could rename another file onto its name (or
    // delete it) right after the gate said yes.
    for mode in [0o777, 0o770, 0o722] {
        let p = Platform::new();
        let backup = p.real_backup();
        std::fs::set_permissions(&p.backups, std::fs::Permissions::from_mode(mode)).unwrap();
        let out = p.scope(&refs(&Platform::dispatch_args(&backup)));
        assert_blocked(&out, "backup.artifact.root_unsafe");
    }
    // A directory above it owned by another user (giving a directory away needs root, which
    // the test suite runs as in CI; the part above runs as anyone).
    let p = Platform::new();
    let backup = p.real_backup();
    if std::os::unix::fs::chown(p.tmp.path(), Some(65534), None).is_ok() {
        let out = p.scope(&refs(&Platform::dispatch_args(&backup)));
        assert_blocked(&out, "backup.artifact.root_unsafe");
    }
    // Sticky and shared, as /tmp is (which every test's path already goes through): fine.
    let p = Platform::new();
    let backup = p.real_backup();
    std::fs::set_permissions(&p.backups, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let out = p.scope(&refs(&Platform::dispatch_args(&backup)));
    assert_eq!(out.code, 0, "{}", out.all());
}
