//! Tests added for mutants that survived in the decision code: each names what the surviving
//! mutant got away with (docs/mutation-testing.md).

mod common;

use common::platform::{Platform, refs};

/// `backup/reference.rs`: a sidecar's own-name backup is refused, and the message says why
/// (it is bound to its parent's backup), not only that the module is wrong.
#[test]
fn a_sidecars_own_backup_is_refused_with_the_binding_explained() {
    let p = Platform::new();
    let own = p.backup(
        "minio-init-20260517T010847Z.tar.gz",
        &common::backup::minio_tar_gz(),
        0o600,
    );
    let out = p.scope(&refs(&Platform::dispatch_args(&own)));
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout.contains("backup.ref.wrong_module"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "minio-init is bound to the backup of minio; its own backup does not cover the data"
        ),
        "{}",
        out.stdout
    );
    // A backup of an unrelated module gets no such note.
    let other = p.backup(
        "redis-20260517T010847Z.tar.gz",
        &common::backup::minio_tar_gz(),
        0o600,
    );
    let out = p.scope(&refs(&Platform::dispatch_args(&other)));
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout.contains("backup.ref.wrong_module"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("is bound to"), "{}", out.stdout);
}

/// `backup/reference.rs` `split_name`: every part of the stamp's shape is checked on its own
/// (a wrong separator or a letter among the digits is not a stamp, even where the date parser
/// would skip it), the module part must be a module id, and short names are refused without
/// slicing out of range.
#[test]
fn backup_file_names_are_split_only_when_every_part_has_its_shape() {
    use forgejo_gates::backup::reference::split_name;
    assert_eq!(
        split_name("a-20260517T010847Z.tar.gz"),
        Some(("a", "20260517T010847Z", "tar.gz")),
        "the shortest valid name"
    );
    for bad in [
        "minio-20260517X010847Z.tar.gz", // separator T
        "minio-20260517T010847X.tar.gz", // final Z
        "minio-2026O517T010847Z.tar.gz", // a letter in the date
        "minio-20260517T01O847Z.tar.gz", // a letter in the time
        "Minio-20260517T010847Z.tar.gz", // not a module id
        "minio_20260517T010847Z.tar.gz", // no hyphen before the stamp
        "-20260517T010847Z.tar.gz",      // no module
        "20260517T010847Z.tar.gz",
        "x-1.tar.gz",
        "a-0517T010847Z.tar.gz", // 14 characters before the extension: shorter than a stamp
        "ab-0517T010847Z.tar.gz", // 15
        "x.tar.gz",
        ".tar.gz",
        "a20260517T010847Z.tar.gz",
    ] {
        assert_eq!(split_name(bad), None, "{bad}");
    }
}

/// The same through the gate: a stamp with a wrong separator is a name error, never a yes.
#[test]
fn a_backup_stamp_with_a_wrong_separator_is_refused_by_the_gate() {
    let p = Platform::new();
    let bad = p.backup(
        "minio-20260517X010847Z.tar.gz",
        &common::backup::minio_tar_gz(),
        0o600,
    );
    let out = p.scope(&refs(&Platform::dispatch_args(&bad)));
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout.contains("backup.ref.name_invalid"),
        "{}",
        out.stdout
    );
}

/// `model/changed_files.rs` `parse`: each way a path can fail to be plain is refused
/// on its own.
#[test]
fn each_kind_of_non_plain_changed_path_is_refused() {
    let parse_changed_files =
        |text: &str| forgejo_gates::model::changed_files::parse(text.as_bytes());
    for bad in [
        "/etc/passwd",
        "modules/web-app/\u{7}bell",
        "modules//web-app",
        "modules/./web-app",
        "modules/../secrets",
        "modules/web-app/",
    ] {
        let err = parse_changed_files(&format!("README.md\n{bad}\n")).unwrap_err();
        assert_eq!(err.code.id, "input.changed_files_invalid", "{bad:?}");
    }
    // Empty lines are skipped; a line of blanks is a path (git prints a file named `  ` as is).
    assert_eq!(
        parse_changed_files("modules/web-app/module.yaml\r\n\n  \nREADME.md\n").unwrap(),
        vec!["modules/web-app/module.yaml", "  ", "README.md"]
    );
}

/// `model/changed_files.rs` `MAX_CHANGED_FILES_BYTES` is 8 MiB: a 2 MiB list (a big but real
/// diff) is read, not refused as too large.
#[test]
fn a_two_mib_changed_files_list_is_within_the_limit() {
    let p = Platform::new();
    let list = "modules/web-app/compose.yaml\n".repeat(2 * 1024 * 1024 / 29 + 1);
    assert!(list.len() > 2 * 1024 * 1024);
    let files = p.file("changed.txt", list.as_bytes());
    // Pull-request mode runs at the repository root with a repository-relative --modules-dir.
    let out = common::run_in(
        &common::platform::fixtures(),
        common::gate("auto_apply_scope")
            .arg("--changed-files")
            .arg(&files)
            .arg("--policy")
            .arg(&p.policy)
            .args(["--format", "json"]),
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(
        forgejo_gates::model::changed_files::MAX_CHANGED_FILES_BYTES,
        8 * 1024 * 1024
    );
}

/// `gates/pr_scope.rs`: a pull request that touches a module gets no `pr.no_module` note.
#[test]
fn a_pull_request_touching_a_module_is_not_reported_as_touching_none() {
    let p = Platform::new();
    // Paths are matched against --modules-dir as given, relative to the repository root.
    let pr = |files: &std::path::Path| {
        common::run(
            common::gate("auto_apply_scope")
                .current_dir(common::platform::fixtures())
                .args(["--modules-dir", "modules", "--format", "json"])
                .arg("--policy")
                .arg(&p.policy)
                .arg("--changed-files")
                .arg(files),
        )
    };
    let out = pr(&common::platform::fixtures().join("changed-files/pr-web-app.txt"));
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("pr.module.auto"), "{}", out.stdout);
    assert!(!out.stdout.contains("pr.no_module"), "{}", out.stdout);
    let out = pr(&p.file("docs-only.txt", b"docs/readme.md\n"));
    assert!(out.stdout.contains("pr.no_module"), "{}", out.all());
}

/// `gates/scope.rs`: the `one_shot` fact (a step output the workflow branches on) is true only
/// for a *stateful* one-shot; a stateless module that exits once is not one.
#[test]
fn the_one_shot_fact_needs_a_stateful_module() {
    let p = Platform::new();
    let modules = p.tmp.path().join("modules");
    std::fs::create_dir_all(modules.join("job")).unwrap();
    std::fs::write(
        modules.join("job/module.yaml"),
        "metadata:\n  name: job\nspec:\n  runtime:\n    statefulness: stateless\n    expected_state: exited-success\n    restart: \"no\"\n",
    )
    .unwrap();
    let out = common::run(
        common::gate("auto_apply_scope")
            .arg("--modules-dir")
            .arg(&modules)
            .arg("--policy")
            .arg(&p.policy)
            .args(["--module", "job", "--format", "json"]),
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["facts"]["one_shot"], "false", "{}", out.stdout);
    assert_eq!(doc["facts"]["stateful"], "false", "{}", out.stdout);
}

/// `gates/scope.rs` `scope_of`: an exception lifts a manual class only for its own module, for
/// the classes it names, and until (and including) its expiry date. The `scope` fact is what
/// the pull-request report and the step outputs show.
#[test]
fn an_exception_lifts_a_manual_class_only_for_its_module_class_and_dates() {
    let scope_with = |exception: &str, now: &str| {
        let p = Platform::with_policy_extra(&format!("exceptions:\n{exception}"));
        let out = common::run(
            common::gate("auto_apply_scope")
                .arg("--modules-dir")
                .arg(&p.modules)
                .arg("--policy")
                .arg(&p.policy)
                .args(["--now", now, "--module", "traefik", "--format", "json"]),
        );
        let doc: serde_json::Value =
            serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.all()));
        (
            out.code,
            doc["facts"]["scope"].as_str().unwrap_or("").to_string(),
        )
    };
    let ex = |module: &str, class: &str, expires: &str| {
        format!(
            "  - module: {module}\n    allow_classes: [{class}]\n    reason: reviewed elsewhere\n    expires: {expires}\n"
        )
    };
    let day = "2026-05-17T01:30:00Z";
    assert_eq!(
        scope_with(&ex("traefik", "public-edge", "2026-12-31"), day),
        (0, "auto".into())
    );
    // On its expiry date it still holds; the day after it does not.
    assert_eq!(
        scope_with(&ex("traefik", "public-edge", "2026-05-17"), day),
        (0, "auto".into())
    );
    assert_eq!(
        scope_with(&ex("traefik", "public-edge", "2026-05-16"), day),
        (1, "manual".into())
    );
    // Another module's exception, or another class, does not lift it.
    assert_eq!(
        scope_with(&ex("web-app", "public-edge", "2026-12-31"), day),
        (1, "manual".into())
    );
    assert_eq!(
        scope_with(&ex("traefik", "auth", "2026-12-31"), day),
        (1, "manual".into())
    );
}

/// `backup/reference.rs` messages: how old or how far ahead a backup is, in days, hours and
/// minutes, and hostile input shown cut short (`model::truncate`). An operator acts on these.
#[test]
fn backup_age_and_hostile_input_are_reported_readably() {
    let p = Platform::new();
    let msg = |name: &str| {
        let path = p.backup(name, &common::backup::minio_tar_gz(), 0o600);
        let out = p.scope(&refs(&Platform::dispatch_args(&path)));
        assert_eq!(out.code, 1, "{}", out.all());
        out.stdout
    };
    // NOW is 2026-05-17T01:30:00Z.
    let days = msg("minio-20260514T223000Z.tar.gz");
    assert!(days.contains("backup is 2d3h old"), "{days}");
    let hours = msg("minio-20260516T181500Z.tar.gz");
    assert!(hours.contains("backup is 7h15m old"), "{hours}");
    let ahead = msg("minio-20260517T014500Z.tar.gz");
    assert!(ahead.contains("is 15m0s ahead"), "{ahead}");

    let long = format!("/opt/x/{}\n", "a".repeat(200));
    let out = p.scope(&refs(&Platform::dispatch_args(&long)));
    assert_eq!(out.code, 1, "{}", out.all());
    let shown = format!("{}…", &long[..80].escape_debug());
    assert!(out.stdout.contains(&shown), "{}", out.stdout);
    assert!(!out.stdout.contains(&"a".repeat(100)), "{}", out.stdout);
    // Short hostile input is shown whole, without the ellipsis.
    let out = p.scope(&refs(&Platform::dispatch_args("/opt/x y")));
    assert!(
        out.stdout.contains("\"/opt/x y\"") && !out.stdout.contains("y…"),
        "{}",
        out.stdout
    );
}

/// `model/plan.rs`: an unknown schema is named in the message (the operator must see which
/// platformctl version produced it).
#[test]
fn an_unknown_plan_schema_is_named() {
    let err = forgejo_gates::model::plan::parse(
        br#"{"schema":"platformctl.plan/v9","module":"m","noop":true,"drift":[]}"#,
    )
    .unwrap_err();
    assert_eq!(err.code.id, "plan.schema_unknown");
    assert!(
        err.message.contains("platformctl.plan/v9"),
        "{}",
        err.message
    );
}

/// `model/plan.rs` `read_item`: an empty `kind` or `service` is a broken plan (exit 2), not a
/// drift item that a later check happens to deny.
#[test]
fn a_drift_item_with_an_empty_kind_or_service_is_an_invalid_plan() {
    for item in [
        r#"{"kind":"","service":"minio-init"}"#,
        r#"{"kind":"container.state.exited_success","service":""}"#,
    ] {
        let plan = format!(
            r#"{{"schema":"platformctl.plan/v1","module":"minio-init","noop":false,"drift":[{item}]}}"#
        );
        let err = forgejo_gates::model::plan::parse(plan.as_bytes()).unwrap_err();
        assert_eq!(err.code.id, "plan.invalid", "{item}");
    }
}

/// `gates/checks/*`: every dispatch check has the id docs/dispatch.md documents it under, and
/// a one-line summary that is a sentence.
#[test]
fn every_dispatch_check_is_documented_under_its_id() {
    use forgejo_gates::gates::{one_shot, scope};
    let docs = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/dispatch.md"),
    )
    .unwrap();
    for check in scope::CHECKS.iter().chain(one_shot::CHECKS.iter()) {
        let id = check.id();
        assert!(
            !id.is_empty() && docs.contains(&format!("`{id}`")),
            "check id {id:?} is not in docs/dispatch.md"
        );
        let summary = check.summary();
        assert!(
            summary.len() >= 20 && summary.split_whitespace().count() >= 4,
            "{id}: summary {summary:?} is not a sentence"
        );
    }
}

/// `gates/checks/confirm_phrase.rs` `hint`: a near miss says why it missed, without showing
/// the right phrase; a plain wrong phrase gets no hint.
#[test]
fn a_near_miss_confirm_phrase_says_why() {
    let p = Platform::new();
    let backup = p.real_backup();
    let with = |confirm: &str| {
        let mut args = Platform::dispatch_args(&backup);
        let last = args.len() - 1;
        args[last] = confirm.to_string();
        let out = p.scope(&refs(&args));
        assert_eq!(out.code, 1, "{}", out.all());
        assert!(out.stdout.contains("confirm"), "{}", out.stdout);
        out.stdout
    };
    assert!(with("backup_done_f3").contains("(the case differs)"));
    assert!(
        with("BACKUP_DONE_F3 ").contains("(it has leading or trailing whitespace or a newline)")
    );
    assert!(with("BACKUP_DОNE_F3").contains("(it has non-ASCII characters: a look-alike letter?)"));
    let plain = with("nope");
    assert!(
        !plain.contains("(the case differs)") && !plain.contains("(it has"),
        "{plain}"
    );
}

/// `gates/checks/restore_path.rs` `check_exists`: a restore runbook must be a file *in the
/// module directory*. An absolute path, a `..`, an empty component or an empty file part is
/// refused even when it points at a file that exists.
#[test]
fn a_restore_path_outside_the_module_directory_is_not_found_even_if_it_exists() {
    let p = Platform::new();
    let modules = p.tmp.path().join("modules");
    for m in ["db", "other"] {
        std::fs::create_dir_all(modules.join(m)).unwrap();
        std::fs::write(modules.join(m).join("runbook.md"), "# restore\n").unwrap();
    }
    let restore_of = |restore: &str| {
        std::fs::write(
            modules.join("db/module.yaml"),
            format!(
                "metadata:\n  name: db\nspec:\n  runtime:\n    statefulness: stateful\n    restore: \"{restore}\"\n"
            ),
        )
        .unwrap();
        let out = common::run(
            common::gate("auto_apply_scope")
                .arg("--modules-dir")
                .arg(&modules)
                .arg("--policy")
                .arg(&p.policy)
                .args([
                    "--now",
                    common::platform::NOW,
                    "--module",
                    "db",
                    "--allow-stateful",
                ])
                .args(["--format", "json"]),
        );
        assert_eq!(out.code, 1, "{}", out.all());
        out.stdout
    };
    assert!(restore_of("runbook.md#restore").contains("scope.restore.ok"));
    let abs = modules.join("other/runbook.md");
    // Out of the directory (`db` is bound to no module, so no `../` is allowed).
    for bad in [
        abs.to_str().unwrap(),
        "../other/runbook.md",
        "sub/../runbook.md",
    ] {
        let out = restore_of(bad);
        assert!(out.contains("scope.restore.outside_module"), "{bad}: {out}");
        assert!(!out.contains("scope.restore.ok"), "{bad}: {out}");
    }
    // Not a file path at all.
    for bad in [".//runbook.md", "#restore"] {
        let out = restore_of(bad);
        assert!(out.contains("scope.restore.not_found"), "{bad}: {out}");
        assert!(!out.contains("scope.restore.ok"), "{bad}: {out}");
    }
}

/// `gates/checks/policy_exceptions.rs`: an exception is expired the day *after* its date, and
/// an exception for another module is judged against *that* module's classes.
#[test]
fn exceptions_expire_after_their_day_and_are_judged_against_their_own_module() {
    let run = |exception: &str, module: &str| {
        let p = Platform::with_policy_extra(&format!("exceptions:\n{exception}"));
        let out = common::run(
            common::gate("auto_apply_scope")
                .arg("--modules-dir")
                .arg(&p.modules)
                .arg("--policy")
                .arg(&p.policy)
                .args(["--now", common::platform::NOW, "--module", module]),
        );
        out.all()
    };
    let ex = |module: &str, expires: &str| {
        format!(
            "  - module: {module}\n    allow_classes: [public-edge]\n    reason: reviewed elsewhere\n    expires: {expires}\n"
        )
    };
    assert!(!run(&ex("traefik", "2026-05-17"), "traefik").contains("policy.exception.expired"));
    assert!(run(&ex("traefik", "2026-05-16"), "traefik").contains("policy.exception.expired"));
    // Dispatching traefik (public-edge) with an exception for web-app (no such class).
    let out = run(&ex("web-app", "2026-12-31"), "traefik");
    assert!(
        out.contains("policy.exception.unused")
            && out.contains("for `web-app`, which is not public-edge"),
        "{out}"
    );
}

/// `gates/checks/statefulness.rs`: backup inputs given for a stateless module are noted as
/// ignored, whichever of the two was given.
#[test]
fn backup_inputs_for_a_stateless_module_are_noted_as_ignored() {
    let p = Platform::new();
    for extra in [
        ["--stateful-confirm", "BACKUP_DONE_F3"],
        [
            "--backup-ref",
            "/opt/pdurlej-platform/backups/web-app-20260517T010847Z.tar.gz",
        ],
    ] {
        let out = p.scope(&[
            "--module", "web-app", "--format", "json", extra[0], extra[1],
        ]);
        assert_eq!(out.code, 0, "{}", out.all());
        let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(
            doc["facts"]["note"],
            "backup inputs ignored for a stateless module"
        );
    }
    let out = p.scope(&["--module", "web-app", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(doc["facts"].get("note").is_none(), "{}", out.stdout);
}
