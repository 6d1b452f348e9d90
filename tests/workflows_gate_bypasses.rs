//! Every way of deleting or softening a gate in a copy of the shipped
//! `.forgejo/workflows/platformctl-auto-apply.yml` is a `lint.gate_wiring` error, and the
//! shipped file itself is clean. Each case edits the real file (the edit must apply, so a
//! change to the workflow cannot silently turn a case into a no-op) and names the bypass.

use forgejo_gates::lint::{Finding, lint_text, lint_text_in};
use forgejo_gates::policy::Policy;

const SCOPE_CMD: &str = "auto_apply_scope --from-event --fail-on-blocked --record \"$DECISIONS/scope.jsonl\" 2>&1 | tee \"$DECISIONS/scope.txt\"";
const ONESHOT_CMD: &str = "allow_one_shot_stateful_apply --from-event --plan \"$DECISIONS/plan.json\" --record \"$DECISIONS/one-shot.jsonl\" 2>&1 | tee \"$DECISIONS/one-shot.txt\"";
const APPLY: &str = "        run: platformctl apply \"$MODULE\"\n";

fn shipped() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/.forgejo/workflows/platformctl-auto-apply.yml"
    ))
    .expect("the shipped workflow")
}

fn wiring(findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f.code.id == "lint.gate_wiring")
        .map(|f| format!("{}:{} {}", f.line, f.col, f.message))
        .collect()
}

fn lint(text: &str) -> Vec<String> {
    wiring(&lint_text("auto-apply.yml", text, &Policy::default().lint))
}

/// Replace `from` (which must occur) by `to`.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(
        text.contains(from),
        "the workflow no longer contains {from:?}"
    );
    text.replacen(from, to, 1)
}

/// The step whose `- name:` line starts with `name`, removed whole.
fn without_step(text: &str, name: &str) -> String {
    let start = text
        .find(&format!("      - name: {name}"))
        .unwrap_or_else(|| panic!("no step {name}"));
    let end = text[start + 1..]
        .find("\n      - name:")
        .map_or(text.len(), |k| start + 1 + k + 1);
    format!("{}{}", &text[..start], &text[end..])
}

/// The step whose `- name:` line starts with `name`, with its `run: |` block replaced.
fn with_script(text: &str, name: &str, script: &str) -> String {
    let step = text
        .find(&format!("      - name: {name}"))
        .unwrap_or_else(|| panic!("no step {name}"));
    let run = step + text[step..].find("        run: |\n").expect("a run block");
    let end = run
        + text[run..]
            .find("\n\n")
            .expect("a blank line after the step")
        + 1;
    let indented: String = script.lines().map(|l| format!("          {l}\n")).collect();
    format!("{}        run: |\n{indented}{}", &text[..run], &text[end..])
}

#[test]
fn the_shipped_auto_apply_workflow_is_clean() {
    assert_eq!(lint(&shipped()), Vec::<String>::new());
}

/// (what the bypass is, the edited workflow)
fn bypasses() -> Vec<(&'static str, String)> {
    let w = shipped();
    let scope_step = "      - name: Scope gate (auto_apply_scope)\n        id: scope\n";
    let oneshot_step =
        "      - name: One-shot gate (allow_one_shot_stateful_apply)\n        id: oneshot\n";
    let apply_step = "      - name: Apply (platformctl apply)\n        if: steps.oneshot.outputs.apply == 'true'\n";
    let mut v = vec![
        // Deleted.
        ("scope gate step deleted", without_step(&w, "Scope gate")),
        (
            "one-shot gate step deleted",
            without_step(&w, "One-shot gate"),
        ),
        ("scope gate command deleted", edit(&w, SCOPE_CMD, "true")),
        (
            "one-shot gate command deleted",
            edit(&w, ONESHOT_CMD, "true"),
        ),
        // Softened in the script.
        (
            "scope gate negated",
            with_script(
                &w,
                "Scope gate",
                "! auto_apply_scope --from-event --fail-on-blocked",
            ),
        ),
        (
            "one-shot gate negated",
            edit(
                &w,
                ONESHOT_CMD,
                &format!(
                    "! allow_one_shot_stateful_apply --from-event\n          rc=$?\n          {ONESHOT_CMD}"
                ),
            ),
        ),
        (
            "scope gate under set +e with only echo after it",
            with_script(
                &w,
                "Scope gate",
                "set +e\nauto_apply_scope --from-event --fail-on-blocked\necho \"scope: $?\"",
            ),
        ),
        (
            "scope gate || true",
            edit(&w, SCOPE_CMD, &format!("{SCOPE_CMD} || true")),
        ),
        (
            "scope gate || echo",
            edit(&w, SCOPE_CMD, &format!("{SCOPE_CMD} || echo blocked")),
        ),
        (
            "one-shot gate || :",
            edit(&w, ONESHOT_CMD, &format!("{ONESHOT_CMD} || :")),
        ),
        (
            "scope gate as an if condition",
            edit(&w, SCOPE_CMD, &format!("if {SCOPE_CMD}; then echo ok; fi")),
        ),
        (
            "one-shot gate as a while condition",
            edit(
                &w,
                ONESHOT_CMD,
                &format!("while ! {ONESHOT_CMD}; do break; done"),
            ),
        ),
        (
            "scope gate backgrounded",
            edit(&w, SCOPE_CMD, &format!("{SCOPE_CMD} &")),
        ),
        (
            "one-shot gate backgrounded",
            edit(&w, ONESHOT_CMD, &format!("{ONESHOT_CMD} &")),
        ),
        (
            "scope gate status not passed on under set +e",
            edit(
                &w,
                "          exit \"$rc\"\n\n      - name: Plan",
                "          exit 0\n\n      - name: Plan",
            ),
        ),
        (
            "scope gate status read from tee ($? of the pipeline without pipefail)",
            edit(
                &edit(
                    &w,
                    "          set +e\n          auto_apply_scope",
                    "          set +e +o pipefail\n          auto_apply_scope",
                ),
                "rc=${PIPESTATUS[0]}\n          set -e\n          echo \"::group::auto_apply_scope",
                "rc=$?\n          set -e\n          echo \"::group::auto_apply_scope",
            ),
        ),
        (
            "one-shot failure falls through the case",
            edit(&w, "            *) exit \"$rc\" ;;", "            *) ;;"),
        ),
        (
            "one-shot exit 3 turns the apply on",
            edit(
                &w,
                "              echo \"apply=false\" >> \"$GITHUB_OUTPUT\"",
                "              echo \"apply=true\" >> \"$GITHUB_OUTPUT\"",
            ),
        ),
        (
            "apply step no longer reads the one-shot output",
            edit(&w, apply_step, "      - name: Apply (platformctl apply)\n"),
        ),
        (
            "scope gate --version",
            edit(&w, SCOPE_CMD, "auto_apply_scope --version"),
        ),
        (
            "scope gate --help",
            edit(&w, SCOPE_CMD, "auto_apply_scope --help"),
        ),
        (
            "one-shot gate --help",
            edit(&w, ONESHOT_CMD, "allow_one_shot_stateful_apply --help"),
        ),
        (
            "scope gate wrapped in a function that swallows it",
            edit(
                &w,
                SCOPE_CMD,
                &format!("gate() {{ {SCOPE_CMD} || return 0; }}\n          gate"),
            ),
        ),
        (
            "scope gate in a subshell that swallows it",
            edit(&w, SCOPE_CMD, &format!("( {SCOPE_CMD}; true )")),
        ),
        (
            "scope gate in sh -c whose status is dropped",
            edit(
                &w,
                SCOPE_CMD,
                "sh -c 'auto_apply_scope --from-event --fail-on-blocked; true'",
            ),
        ),
        (
            "one-shot gate only on an unrelated condition",
            edit(
                &w,
                ONESHOT_CMD,
                &format!("if [ -n \"$RUNNER_DEBUG\" ]; then {ONESHOT_CMD}; fi"),
            ),
        ),
        // Softened in the YAML.
        (
            "continue-on-error on the scope gate step",
            edit(
                &w,
                scope_step,
                &format!("{scope_step}        continue-on-error: true\n"),
            ),
        ),
        (
            "continue-on-error as an expression on the one-shot gate step",
            edit(
                &w,
                oneshot_step,
                &format!("{oneshot_step}        continue-on-error: ${{{{ true }}}}\n"),
            ),
        ),
        (
            "continue-on-error quoted on the scope gate step",
            edit(
                &w,
                scope_step,
                &format!("{scope_step}        continue-on-error: \"yes\"\n"),
            ),
        ),
        (
            "scope gate step skippable by its if:",
            edit(
                &w,
                scope_step,
                &format!("{scope_step}        if: github.event_name == 'push'\n"),
            ),
        ),
        (
            "one-shot gate step skippable by its if:",
            edit(
                &w,
                oneshot_step,
                &format!("{oneshot_step}        if: ${{{{ inputs.allow_stateful }}}}\n"),
            ),
        ),
    ];
    // The apply step's condition lets it run after a failed gate.
    for cond in [
        "always()",
        "${{ always() }}",
        "failure()",
        "${{ !cancelled() }}",
        "success() || inputs.module != ''",
        "cancelled() || steps.oneshot.outputs.apply == 'true'",
        "always() && steps.oneshot.outputs.apply == 'true' || true",
    ] {
        v.push((
            "apply step runs after a failure",
            edit(
                &w,
                apply_step,
                &format!("      - name: Apply (platformctl apply)\n        if: {cond}\n"),
            ),
        ));
    }
    // More applies that no gate stands before: however the command is spelled.
    for spelled in [
        "platformctl apply \"$MODULE\"",
        "sudo -u deploy platformctl apply \"$MODULE\"",
        "env FOO=1 platformctl --verbose apply",
        "command platformctl apply",
        "nice -n 5 timeout 60 /usr/local/bin/platformctl apply",
        "echo \"$MODULE\" | xargs platformctl apply",
        "bash -c 'platformctl apply web'",
        "pl'atform'ctl \"ap\"ply",
        "platformctl \\\n            apply",
        "exec platformctl apply",
        "v=$(platformctl apply)",
        "cat <<EOF\n          $(platformctl apply)\n          EOF",
        "platformctl $VERB",
    ] {
        v.push((
            "an apply before the gates",
            edit(
                &w,
                "          rm -rf -- \"$DECISIONS\"\n",
                &format!("          {spelled}\n          rm -rf -- \"$DECISIONS\"\n"),
            ),
        ));
    }
    // What cannot be analysed in a deploy job.
    for dynamic in [
        "eval \"$CMD\"",
        "$TOOL apply",
        "echo cGxhdGZvcm1jdGwgYXBwbHkK | base64 -d | sh",
        "bash ./deploy.sh",
        "source ./deploy.sh",
        "sh -c \"$SCRIPT\"",
        "find . -name x -exec platformctl apply {} \\;",
    ] {
        v.push((
            "a script built at run time",
            edit(
                &w,
                "          rm -rf -- \"$DECISIONS\"\n",
                &format!("          {dynamic}\n          rm -rf -- \"$DECISIONS\"\n"),
            ),
        ));
    }
    v.push((
        "a python step that names the apply",
        edit(
            &w,
            "      - name: Health check\n",
            "      - name: Python\n        shell: python\n        run: |\n          import subprocess\n          subprocess.run([\"platformctl\", \"apply\", \"web\"])\n      - name: Health check\n",
        ),
    ));
    v.push((
        "a custom shell template that names the apply",
        edit(
            &w,
            APPLY,
            "        shell: bash -c {0}\n        run: platformctl apply \"$MODULE\"\n",
        ),
    ));
    v.push((
        "a local action not in the repository",
        edit(
            &w,
            "      - name: Health check\n",
            "      - name: Deploy action\n        uses: ./.forgejo/actions/deploy\n      - name: Health check\n",
        ),
    ));
    v
}

#[test]
fn every_deleted_or_softened_gate_is_an_error() {
    let mut missed = Vec::new();
    let cases = bypasses();
    for (what, text) in &cases {
        let found = lint(text);
        if found.is_empty() {
            missed.push(*what);
        }
    }
    assert!(missed.is_empty(), "bypasses the rule passed: {missed:#?}");
    assert!(cases.len() >= 60, "{} cases", cases.len());
}

/// The gates split into a job of their own: the apply job's `needs:` plus `if:` decides.
#[test]
fn a_needed_gate_job_counts_only_when_its_failure_stops_the_apply_job() {
    let split = |apply_if: &str| {
        format!(
            "on:\n  workflow_dispatch:\n    inputs:\n      module:\n        type: string\njobs:\n  gate:\n    runs-on: platform-host\n    steps:\n      - run: auto_apply_scope --from-event --fail-on-blocked\n  apply:\n    needs: gate\n{apply_if}    runs-on: platform-host\n    steps:\n      - run: platformctl apply web\n"
        )
    };
    assert_eq!(lint(&split("")), Vec::<String>::new());
    assert_eq!(lint(&split("    if: success()\n")), Vec::<String>::new());
    assert_eq!(
        lint(&split("    if: needs.gate.result == 'success'\n")),
        Vec::<String>::new(),
        "no status function: read as success() && ..."
    );
    for cond in [
        "always()",
        "failure()",
        "${{ !cancelled() }}",
        "success() || github.ref == 'x'",
    ] {
        let found = lint(&split(&format!("    if: {cond}\n")));
        assert!(
            found
                .iter()
                .any(|m| m.starts_with("13:") && m.contains("can run after a job it needs failed")),
            "{cond}: {found:#?}"
        );
        assert!(
            found.iter().any(|m| m.starts_with("16:")
                && m.contains("can run after `auto_apply_scope` (line 10) failed")),
            "{cond}: {found:#?}"
        );
    }
    // A middle job that runs after a failure passes the failure on.
    let chain = "on: workflow_dispatch\njobs:\n  gate:\n    runs-on: x\n    steps:\n      - run: auto_apply_scope --from-event\n  report:\n    needs: gate\n    if: always()\n    runs-on: x\n    steps:\n      - run: echo done\n  apply:\n    needs: report\n    runs-on: x\n    steps:\n      - run: platformctl apply web\n";
    let found = lint(chain);
    assert!(
        found
            .iter()
            .any(|m| m.starts_with("17:") && m.contains("failed")),
        "{found:#?}"
    );
    // A job with continue-on-error hands its failure on as a success.
    let coe = "on: workflow_dispatch\njobs:\n  gate:\n    runs-on: x\n    continue-on-error: true\n    steps:\n      - run: auto_apply_scope --from-event\n  apply:\n    needs: gate\n    runs-on: x\n    steps:\n      - run: platformctl apply web\n";
    let found = lint(coe);
    assert!(found.iter().any(|m| m.starts_with("5:")), "{found:#?}");
    assert!(
        found
            .iter()
            .any(|m| m.starts_with("12:") && m.contains("failed")),
        "{found:#?}"
    );
}

fn repo_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    dir
}

/// Local composite actions and reusable workflows are followed as part of the job.
#[test]
fn local_actions_and_reusable_workflows_are_followed() {
    let wf = "on: workflow_dispatch\njobs:\n  deploy:\n    runs-on: x\n    steps:\n      - uses: ./.forgejo/actions/gate\n      - run: platformctl apply web\n";
    let action = |script: &str| {
        format!(
            "name: gate\nruns:\n  using: composite\n  steps:\n    - shell: bash\n      run: {script}\n"
        )
    };
    let policy = Policy::default().lint;
    let good = repo_with(&[(
        ".forgejo/actions/gate/action.yml",
        &action("auto_apply_scope --from-event"),
    )]);
    let found = wiring(&lint_text_in("wf.yml", wf, &policy, Some(good.path())));
    assert_eq!(found, Vec::<String>::new());
    let soft = repo_with(&[(
        ".forgejo/actions/gate/action.yml",
        &action("auto_apply_scope --from-event || true"),
    )]);
    let found = wiring(&lint_text_in("wf.yml", wf, &policy, Some(soft.path())));
    assert!(
        found.iter().any(|m| m.starts_with("7:")
            && m.contains("`.forgejo/actions/gate/action.yml` line 6) failed")),
        "{found:#?}"
    );
    // The apply hidden in an action of the repository is found there.
    let wf2 = "on: workflow_dispatch\njobs:\n  deploy:\n    runs-on: x\n    steps:\n      - uses: ./deploy\n";
    let hidden = repo_with(&[("deploy/action.yaml", &action("sudo platformctl apply web"))]);
    let found = wiring(&lint_text_in("wf.yml", wf2, &policy, Some(hidden.path())));
    assert!(
        found
            .iter()
            .any(|m| m.starts_with("6:") && m.contains("without `auto_apply_scope`")),
        "{found:#?}"
    );
    // A reusable workflow of the repository.
    let caller = "on: workflow_dispatch\njobs:\n  gate:\n    uses: ./.forgejo/workflows/gate.yml\n  apply:\n    needs: gate\n    runs-on: x\n    steps:\n      - run: platformctl apply web\n";
    let called = |script: &str| {
        format!(
            "on: workflow_call\njobs:\n  g:\n    runs-on: x\n    steps:\n      - run: {script}\n"
        )
    };
    let good = repo_with(&[(
        ".forgejo/workflows/gate.yml",
        &called("auto_apply_scope --from-event"),
    )]);
    assert_eq!(
        wiring(&lint_text_in("wf.yml", caller, &policy, Some(good.path()))),
        Vec::<String>::new()
    );
    let bad = repo_with(&[(
        ".forgejo/workflows/gate.yml",
        &called("auto_apply_scope --from-event &"),
    )]);
    let found = wiring(&lint_text_in("wf.yml", caller, &policy, Some(bad.path())));
    assert!(
        found
            .iter()
            .any(|m| m.starts_with("9:") && m.contains("background")),
        "{found:#?}"
    );
    let missing = repo_with(&[]);
    let found = wiring(&lint_text_in(
        "wf.yml",
        caller,
        &policy,
        Some(missing.path()),
    ));
    assert!(
        found
            .iter()
            .any(|m| m.starts_with("4:") && m.contains("not in the repository")),
        "{found:#?}"
    );
}

/// (what the bypass is, the edited workflow, a part of the message that must name it)
fn refused_bypasses() -> Vec<(&'static str, String, &'static str)> {
    let w = shipped();
    let scope_step = "      - name: Scope gate (auto_apply_scope)\n        id: scope\n";
    let noop_line = "              echo \"apply=false\" >> \"$GITHUB_OUTPUT\"\n";
    let scope = |script: &str| with_script(&w, "Scope gate", script);
    let scope_env = |env: &str| {
        edit(
            &w,
            scope_step,
            &format!("{scope_step}        env:\n          {env}\n"),
        )
    };
    let before_gates = |line: &str| {
        edit(
            &w,
            "          rm -rf -- \"$DECISIONS\"\n",
            &format!("          {line}\n          rm -rf -- \"$DECISIONS\"\n"),
        )
    };
    let noop_write = |line: &str| edit(&w, noop_line, &format!("              {line}\n"));
    let not_harmless = "cannot prove harmless";
    let gate_failed = "can run after `auto_apply_scope`";
    let mut v = vec![
        // The gate's exit status swallowed.
        (
            "trap 'exit 0' EXIT before the scope gate",
            scope("trap 'exit 0' EXIT\nauto_apply_scope --from-event --fail-on-blocked"),
            not_harmless,
        ),
        (
            "trap 'exit 0' ERR before the scope gate",
            scope("trap 'exit 0' ERR\nauto_apply_scope --from-event --fail-on-blocked"),
            not_harmless,
        ),
        (
            "trap on ERR with a harmless-looking action",
            scope("trap 'echo failed' ERR\nauto_apply_scope --from-event --fail-on-blocked"),
            not_harmless,
        ),
        (
            "trap calling a function on EXIT",
            scope(
                "ok() { exit 0; }\ntrap ok EXIT\nauto_apply_scope --from-event --fail-on-blocked",
            ),
            not_harmless,
        ),
        (
            "trap with a substitution on EXIT",
            scope("trap 'echo $(exit 0)' EXIT\nauto_apply_scope --from-event --fail-on-blocked"),
            not_harmless,
        ),
        (
            "command set +e",
            scope("command set +e\nauto_apply_scope --from-event --fail-on-blocked\necho done"),
            gate_failed,
        ),
        (
            "builtin set +e",
            scope("builtin set +e\nauto_apply_scope --from-event --fail-on-blocked\necho done"),
            gate_failed,
        ),
        (
            "shopt -u -o errexit",
            scope(
                "shopt -u -o errexit\nauto_apply_scope --from-event --fail-on-blocked\necho done",
            ),
            gate_failed,
        ),
        (
            "shopt -s extdebug",
            scope("shopt -s extdebug\nauto_apply_scope --from-event --fail-on-blocked"),
            "`shopt -s extdebug`",
        ),
        (
            "shopt -s xpg_echo",
            scope("shopt -s xpg_echo\nauto_apply_scope --from-event --fail-on-blocked"),
            "`shopt -s xpg_echo`",
        ),
        (
            "a function named set",
            scope(
                "set() { builtin set +e; }\nset -e\nauto_apply_scope --from-event --fail-on-blocked\necho ok",
            ),
            "a function named `set`",
        ),
        (
            "a function named exit",
            scope(
                "exit() { return 0; }\nset +e\nauto_apply_scope --from-event --fail-on-blocked\nrc=$?\nset -e\n[ \"$rc\" -eq 0 ] || exit \"$rc\"\necho ok",
            ),
            "a function named `exit`",
        ),
        (
            "a function named test",
            scope(
                "test() { return 0; }\nset +e\nauto_apply_scope --from-event --fail-on-blocked\nrc=$?\nset -e\ntest \"$rc\" -eq 0 || exit \"$rc\"\necho ok",
            ),
            "a function named `test`",
        ),
        (
            "command_not_found_handle",
            scope(
                "command_not_found_handle() { return 0; }\nauto_apply_scope --from-event --fail-on-blocked",
            ),
            "a function named `command_not_found_handle`",
        ),
        (
            "continue-on-error: ${{ 'false' }} (a non-empty string is true)",
            edit(
                &w,
                scope_step,
                &format!("{scope_step}        continue-on-error: ${{{{ 'false' }}}}\n"),
            ),
            "continue-on-error",
        ),
        (
            "continue-on-error: ${{ 'no' }}",
            edit(
                &w,
                scope_step,
                &format!("{scope_step}        continue-on-error: ${{{{ 'no' }}}}\n"),
            ),
            "continue-on-error",
        ),
        // The gate's name resolving to something else.
        (
            "hash -p binds the gate's name",
            scope(
                "hash -p /bin/true auto_apply_scope\nauto_apply_scope --from-event --fail-on-blocked",
            ),
            "`hash -p`",
        ),
        (
            "the gate by a relative path",
            scope("./auto_apply_scope --from-event --fail-on-blocked"),
            "names the gate by a path",
        ),
        (
            "the gate by an absolute path",
            scope("/tmp/bin/auto_apply_scope --from-event --fail-on-blocked"),
            "names the gate by a path",
        ),
        (
            "env: PATH on the gate step",
            scope_env("PATH: ./ci/bin:/usr/bin:/bin"),
            "sets `PATH`",
        ),
        (
            "env: PATH for the whole workflow",
            edit(
                &w,
                "  DECISIONS: gate-decisions\n",
                "  DECISIONS: gate-decisions\n  PATH: ./ci/bin:/usr/bin:/bin\n",
            ),
            "sets `PATH`",
        ),
        (
            "env: BASH_ENV",
            scope_env("BASH_ENV: ci/bash-env.sh"),
            "sets `BASH_ENV`",
        ),
        ("env: ENV", scope_env("ENV: ci/env.sh"), "sets `ENV`"),
        (
            "env: an exported function named like the gate",
            scope_env("BASH_FUNC_auto_apply_scope%%: '() { return 0; }'"),
            "sets `BASH_FUNC_auto_apply_scope%%`",
        ),
        (
            "env: SHELLOPTS",
            scope_env("SHELLOPTS: braceexpand"),
            "sets `SHELLOPTS`",
        ),
        ("env: IFS", scope_env("IFS: '-'"), "sets `IFS`"),
        (
            "env: LD_PRELOAD",
            scope_env("LD_PRELOAD: ci/shim.so"),
            "sets `LD_PRELOAD`",
        ),
        (
            "env: GITHUB_EVENT_PATH (the gates read the dispatch from it)",
            scope_env("GITHUB_EVENT_PATH: ci/event.json"),
            "sets `GITHUB_EVENT_PATH`",
        ),
        (
            "PATH as a prefix assignment of the gate",
            scope(
                "PATH=\"$RUNNER_TEMP/shim:$PATH\" auto_apply_scope --from-event --fail-on-blocked",
            ),
            "`PATH` is assigned",
        ),
        (
            "PATH assigned in the script",
            scope(
                "PATH=\"$RUNNER_TEMP/shim:$PATH\"\nauto_apply_scope --from-event --fail-on-blocked",
            ),
            "`PATH` is assigned",
        ),
        (
            "PATH exported in the script",
            scope(
                "export PATH=\"$RUNNER_TEMP/shim:$PATH\"\nauto_apply_scope --from-event --fail-on-blocked",
            ),
            "sets `PATH`",
        ),
        (
            "PATH read from input",
            scope("read -r PATH < ci/path\nauto_apply_scope --from-event --fail-on-blocked"),
            "sets `PATH`",
        ),
        (
            "a folder written to $GITHUB_PATH in an earlier step",
            before_gates("echo \"$RUNNER_TEMP/shim\" >> \"$GITHUB_PATH\""),
            "`$GITHUB_PATH` is written",
        ),
        (
            "PATH written to $GITHUB_ENV",
            before_gates("echo \"PATH=$RUNNER_TEMP/shim:/usr/bin\" >> \"$GITHUB_ENV\""),
            "`$GITHUB_ENV`",
        ),
        (
            "BASH_ENV written to $FORGEJO_ENV",
            before_gates("echo BASH_ENV=ci/env.sh >> \"$FORGEJO_ENV\""),
            "`$FORGEJO_ENV` is given `BASH_ENV`",
        ),
        (
            "a key known only at run time written to $GITHUB_ENV",
            before_gates("echo \"$KEY=1\" >> \"$GITHUB_ENV\""),
            "known only at run time",
        ),
        // Forged step outputs.
        (
            "echo -e writes two lines",
            noop_write("echo -e \"apply=false\\napply=true\" >> \"$GITHUB_OUTPUT\""),
            "`echo -e`",
        ),
        (
            "printf with a hex escape writes two lines",
            noop_write("printf 'apply=false\\x0aapply=true\\x0a' >> \"$GITHUB_OUTPUT\""),
            "escapes other than",
        ),
        (
            "dash's echo expands \\n under shell: sh",
            edit(
                &edit(
                    &w,
                    "      - name: One-shot gate (allow_one_shot_stateful_apply)\n        id: oneshot\n",
                    "      - name: One-shot gate (allow_one_shot_stateful_apply)\n        id: oneshot\n        shell: sh\n",
                ),
                noop_line,
                "              echo \"apply=false\\napply=true\" >> \"$GITHUB_OUTPUT\"\n",
            ),
            "backslash escapes",
        ),
        (
            "a brace group writes the output",
            noop_write("{ echo apply=false; echo apply=true; } >> \"$GITHUB_OUTPUT\""),
            "compound command",
        ),
        (
            "exec opens the output file on a descriptor",
            noop_write("exec 3>>\"$GITHUB_OUTPUT\"; echo apply=true >&3"),
            "`3>>` to `$GITHUB_OUTPUT`",
        ),
        (
            "the output file clobbered with >|",
            noop_write("echo apply=true >| \"$GITHUB_OUTPUT\""),
            "`>|`",
        ),
        (
            "the output file appended with &>>",
            noop_write("echo apply=true &>> \"$GITHUB_OUTPUT\""),
            "`&>>`",
        ),
        (
            "tee to the output file",
            noop_write("echo apply=true | tee -a \"$GITHUB_OUTPUT\""),
            "is handed to a command",
        ),
        (
            "cat of a heredoc into the output file",
            noop_write("cat <<EOF >> \"$GITHUB_OUTPUT\"\n          apply=true\n          EOF"),
            "`cat` writes bytes",
        ),
        (
            "a copy of the output file's path",
            noop_write("out=\"$GITHUB_OUTPUT\"; echo apply=true >> \"$out\""),
            "is copied into `out`",
        ),
        (
            "a program given the output file's path",
            noop_write("python3 ci/decide.py \"$GITHUB_OUTPUT\""),
            "is handed to a command",
        ),
        (
            "printf without a newline joins the next write",
            noop_write("printf 'apply=' >> \"$GITHUB_OUTPUT\"; echo true >> \"$GITHUB_OUTPUT\""),
            "does not end its line",
        ),
        (
            "stateful=false written after the scope gate",
            edit(
                &w,
                "          exit \"$rc\"\n\n      - name: Plan",
                "          echo stateful=false >> \"$GITHUB_OUTPUT\"\n          exit \"$rc\"\n\n      - name: Plan",
            ),
            "`stateful` output",
        ),
        (
            "a program after the scope gate in its step",
            edit(
                &w,
                "          exit \"$rc\"\n\n      - name: Plan",
                "          ci/summarize\n          exit \"$rc\"\n\n      - name: Plan",
            ),
            "`stateful` output",
        ),
        // The gates checking something other than what is applied.
        (
            "the scope gate given --module",
            edit(&w, SCOPE_CMD, "auto_apply_scope --module web-app"),
            "`auto_apply_scope --module`",
        ),
        (
            "the scope gate given another event file",
            edit(
                &w,
                SCOPE_CMD,
                "auto_apply_scope --from-event \"$RUNNER_TEMP/ev.json\"",
            ),
            "is given a file",
        ),
        (
            "the one-shot gate given another event file with =",
            edit(
                &w,
                ONESHOT_CMD,
                "allow_one_shot_stateful_apply --from-event=ev.json --plan plan.json",
            ),
            "is given a file",
        ),
        (
            "the scope gate in pull-request mode",
            edit(&w, SCOPE_CMD, "auto_apply_scope --changed-files /dev/null"),
            "`auto_apply_scope --changed-files`",
        ),
        (
            "the scope gate given another policy",
            edit(
                &w,
                SCOPE_CMD,
                "auto_apply_scope --from-event --policy \"$RUNNER_TEMP/p.yml\"",
            ),
            "`auto_apply_scope --policy`",
        ),
        (
            "the one-shot gate given another modules folder",
            edit(
                &w,
                ONESHOT_CMD,
                "allow_one_shot_stateful_apply --from-event --plan plan.json --modules-dir /tmp/m",
            ),
            "`allow_one_shot_stateful_apply --modules-dir`",
        ),
        (
            "the scope gate given another clock",
            edit(
                &w,
                SCOPE_CMD,
                "auto_apply_scope --from-event --now=2000-01-01T00:00:00Z",
            ),
            "`auto_apply_scope --now`",
        ),
        (
            "the scope gate given arguments known only at run time",
            edit(&w, SCOPE_CMD, "auto_apply_scope $GATE_ARGS --from-event"),
            "known only at run time",
        ),
        (
            "the scope gate in another working-directory",
            edit(
                &w,
                scope_step,
                &format!("{scope_step}        working-directory: ci/fake-root\n"),
            ),
            "outside the workspace root",
        ),
        (
            "the scope gate after cd",
            edit(
                &w,
                SCOPE_CMD,
                &format!("cd ci/fake-root\n          {SCOPE_CMD}"),
            ),
            "outside the workspace root",
        ),
        // The apply spelled so that the text does not show it.
        (
            "the apply by a pattern",
            before_gates("/usr/local/bin/platfor*ctl apply \"$MODULE\""),
            "is a pattern",
        ),
        (
            "hash -p gives the apply another name",
            before_gates("hash -p /usr/local/bin/platformctl deploy; deploy apply"),
            "`hash -p`",
        ),
        (
            "a python heredoc runs the apply",
            before_gates(
                "python3 - <<'PY'\n          import subprocess; subprocess.run(['platformctl', 'apply', 'web'])\n          PY",
            ),
            "`python3` is given `platformctl`",
        ),
        (
            "the apply's name handed through an assignment",
            before_gates(
                "TOOL=platformctl python3 -c 'import os,subprocess; subprocess.run([os.environ[\"TOOL\"], \"apply\"])'",
            ),
            "`python3` is given `platformctl`",
        ),
        (
            "a remote action given a script that runs the apply",
            edit(
                &w,
                "      - name: Health check\n",
                "      - name: Script\n        uses: actions/github-script@60a0d83039c74a4aee543508d2ffcb1c3799cdea\n        with:\n          script: require('child_process').execSync('platformctl apply web')\n      - name: Health check\n",
            ),
            "`actions/github-script@",
        ),
    ];
    v.extend([
        (
            "env sets PATH for the gate",
            scope("env PATH=/tmp/shim:/usr/bin auto_apply_scope --from-event --fail-on-blocked"),
            "`env` sets `PATH`",
        ),
        (
            "sudo sets BASH_ENV for the gate",
            scope("sudo -E BASH_ENV=ci/x.sh auto_apply_scope --from-event --fail-on-blocked"),
            "`sudo` sets `BASH_ENV`",
        ),
        (
            "env -C runs the gate in another folder",
            scope("env -C ci/fake-root auto_apply_scope --from-event --fail-on-blocked"),
            "outside the workspace root",
        ),
        (
            "an alias gives exit another meaning",
            scope("alias exit=true
set +e
auto_apply_scope --from-event --fail-on-blocked
exit \"$?\""),
            "`alias`",
        ),
        (
            "set -- replaces the arguments a function forwards",
            scope("gate() { set -- --module web; auto_apply_scope \"$@\" --from-event; }\ngate --fail-on-blocked"),
            "known only at run time",
        ),
        (
            "$@ unquoted splits an argument into flags",
            scope("gate() { auto_apply_scope $@; }\ngate --from-event '--module web'"),
            "known only at run time",
        ),
        (
            "printf -v sets PATH",
            scope("printf -v PATH '%s' \"$RUNNER_TEMP/shim\"\nauto_apply_scope --from-event --fail-on-blocked"),
            "sets `PATH`",
        ),
        (
            "the environment file named through a default expansion",
            before_gates("echo PATH=/tmp/shim >> \"${GITHUB_ENV:-/dev/null}\""),
            "named other than",
        ),
        (
            "the output file named through an indirect expansion",
            noop_write("n=OUT; echo apply=true >> \"${!n}\""),
            "indirect expansion",
        ),
    ]);
    let noop_on = "exited 3";
    v.extend([
        (
            "a background job writes the output",
            noop_write("echo apply=true >> \"$GITHUB_OUTPUT\" &"),
            "a background job writes it",
        ),
        (
            "a background program may write after the script's last write",
            noop_write("ci/writer &\n              echo apply=false >> \"$GITHUB_OUTPUT\""),
            noop_on,
        ),
        (
            "two spellings of one key (the runner finds either)",
            noop_write("echo Apply=true >> \"$GITHUB_OUTPUT\"\n              echo apply=false >> \"$GITHUB_OUTPUT\""),
            noop_on,
        ),
        (
            "a key with a space is another key",
            noop_write("echo apply=true >> \"$GITHUB_OUTPUT\"\n              echo ' apply=false' >> \"$GITHUB_OUTPUT\""),
            noop_on,
        ),
    ]);
    v.extend([
        (
            "set -k makes an argument the gate's environment",
            scope("set -k\nauto_apply_scope --from-event --fail-on-blocked GITHUB_EVENT_PATH=ci/event.json"),
            "`set -k`",
        ),
        (
            "set +o with an option known only at run time",
            scope("set +o \"$OPT\"\nauto_apply_scope --from-event --fail-on-blocked\necho done"),
            "`set -o` with an option known only at run time",
        ),
        (
            "a job container's env sets PATH",
            edit(&w, "    runs-on: platform-host\n", "    runs-on: platform-host\n    container:\n      image: debian\n      env:\n        PATH: /ci/bin:/usr/bin\n"),
            "sets `PATH`",
        ),
    ]);
    v.extend([
        (
            "::set-output printed to the log forges the output",
            noop_write("echo apply=false >> \"$GITHUB_OUTPUT\"\n              echo '::set-output name=apply::true'"),
            noop_on,
        ),
        (
            "::add-path printed to the log",
            before_gates("echo \"::add-path::$RUNNER_TEMP/shim\""),
            "`::set-env`/`::add-path`",
        ),
        (
            "::set-env printed to the log",
            before_gates("echo '::set-env name=BASH_ENV::ci/x.sh'"),
            "`::set-env`/`::add-path`",
        ),
        (
            "text known only at run time printed after the scope gate",
            edit(&w, "          exit \"$rc\"\n\n      - name: Plan", "          echo \"$SUMMARY\"\n          exit \"$rc\"\n\n      - name: Plan"),
            "`stateful` output",
        ),
    ]);
    v.push((
        "exec keeps a file named at run time open on a descriptor",
        noop_write("exec 3>>\"$f\"; echo apply=false >> \"$GITHUB_OUTPUT\"; echo apply=true >&3"),
        "`exec` keeps a file named at run time open",
    ));
    v.push((
        "a function forwards arguments known only at run time to the gate",
        scope("gate() { auto_apply_scope \"$@\"; }\ngate \"$EXTRA\" --from-event"),
        "known only at run time",
    ));
    v
}

#[test]
fn every_bypass_of_the_review_is_refused_for_its_reason() {
    let mut missed = Vec::new();
    let cases = refused_bypasses();
    assert_eq!(cases.len(), 87, "the count docs/rules/gate_wiring.md gives");
    for (what, text, reason) in cases {
        let found = lint(&text);
        if !found.iter().any(|m| m.contains(reason)) {
            missed.push(format!("{what}: no finding with {reason:?} in {found:#?}"));
        }
    }
    assert!(missed.is_empty(), "{}", missed.join("\n"));
}

/// What stays allowed: harmless traps, `trap -`, `hash -r`, the `shopt`s that only change
/// globbing, `cd` after the gates, a function forwarding literal arguments, options in other
/// orders, a plain `printf` of whole lines.
#[test]
fn the_forms_the_model_reads_exactly_stay_clean() {
    let w = shipped();
    let scope = |script: &str| with_script(&w, "Scope gate", script);
    for (what, text) in [
        (
            "harmless traps",
            scope(
                "trap 'rm -f \"$DECISIONS/tmp\"' EXIT\ntrap - INT TERM\ntrap 'echo interrupted' INT\nhash -r\nshopt -s nullglob\nauto_apply_scope --from-event --fail-on-blocked --record \"$DECISIONS/scope.jsonl\"\ncd \"$DECISIONS\"",
            ),
        ),
        (
            "a function forwarding literal arguments",
            scope(
                "printf 'PATH is %s\\n' \"$PATH\"\ngate() { all=\"$@\"; auto_apply_scope \"$@\"; }\ngate --fail-on-blocked --from-event --format json",
            ),
        ),
        (
            "printf of whole lines",
            edit(
                &w,
                "              echo \"apply=false\" >> \"$GITHUB_OUTPUT\"\n",
                "              printf 'apply=false\\n' >> \"$GITHUB_OUTPUT\"\n              printf '%s\\n' apply=false >> \"$GITHUB_OUTPUT\"\n",
            ),
        ),
        (
            "continue-on-error: false spelled as an expression",
            edit(
                &w,
                "      - name: Scope gate (auto_apply_scope)\n        id: scope\n",
                "      - name: Scope gate (auto_apply_scope)\n        id: scope\n        continue-on-error: ${{ false }}\n",
            ),
        ),
    ] {
        assert_eq!(lint(&text), Vec::<String>::new(), "{what}");
    }
}

/// A workflow whose text never shows the apply program's name is still a deploy workflow
/// when a script spells it: with quotes, escapes or a pattern.
#[test]
fn an_apply_spelled_without_its_name_makes_a_deploy_workflow() {
    for run in [
        "/usr/local/bin/platfor*ctl apply web",
        "'/usr/local/bin/platfor[m]ctl' apply web",
        "/usr/local/bin/platfor[m]ctl apply web",
        "$'\\x70latformctl' apply web",
        "sudo pl''atformctl apply web",
    ] {
        let wf = format!(
            "on: workflow_dispatch\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: {run}\n"
        );
        let found = lint(&wf);
        if run.starts_with('\'') {
            // Quoted: the name is the literal text `platfor[m]ctl`, no such program.
            assert_eq!(found, Vec::<String>::new(), "{run}");
        } else {
            assert!(!found.is_empty(), "{run}: no finding");
        }
    }
    // Spelled by an expression whose value needs no context: in the script, or through
    // `env:` (then the interpreter reads the name and finds the apply).
    for (env, run) in [
        ("", "${{ format('{0}ctl apply web', 'platform') }}"),
        (
            "        env:\n          T: ${{ format('{0}{1}', 'platform', 'ctl') }}\n",
            "'\"$T\" apply web'",
        ),
    ] {
        let wf = format!(
            "on: workflow_dispatch\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: {run}\n{env}"
        );
        let found = lint(&wf);
        assert!(!found.is_empty(), "{run}: no finding");
    }
    // A pattern that is not a command name and too short to name anything stays data.
    let wf =
        "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: rm -rf -- * && ls a*\n";
    assert_eq!(lint(wf), Vec::<String>::new());
}
