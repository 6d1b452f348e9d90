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
