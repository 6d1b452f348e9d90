//! Tests for mutants of the gate-wiring rule of `lint_workflows` (docs/mutation-testing.md):
//! each names what a surviving mutant would get away with. The annotated fixtures in
//! tests/fixtures/lint/gate_wiring/ check which lines get a finding; these check what the
//! finding says.

use forgejo_gates::lint::lint_text;
use forgejo_gates::policy::Policy;

/// A gate job and an apply job that needs it, with the apply job's `if:` given.
fn with_apply_job_if(condition: &str) -> String {
    format!(
        "on: workflow_dispatch\njobs:\n  gate:\n    runs-on: platform-host\n    steps:\n      - run: auto_apply_scope --from-event --fail-on-blocked\n  apply:\n    needs: gate\n    if: {condition}\n    runs-on: platform-host\n    steps:\n      - run: platformctl apply web\n"
    )
}

fn gate_wiring_messages(text: &str) -> Vec<String> {
    lint_text("deploy.yml", text, &Policy::default().lint)
        .into_iter()
        .filter(|f| f.code.id == "lint.gate_wiring")
        .map(|f| format!("{}: {}", f.line, f.message))
        .collect()
}

/// The condition is evaluated: whatever status function makes it true after a failure, the
/// finding is on the job's `if:` (line 9) and on the apply (line 12), naming the gate's line.
#[test]
fn an_apply_job_that_runs_after_a_failed_gate_is_named_with_the_gate_line() {
    for condition in [
        "always()",
        "${{ failure() }}",
        "cancelled() || success()",
        "ALWAYS()",
        "${{ !cancelled() }}",
        "success() || github.ref_name == 'main'",
        "(failure() && true) || false",
    ] {
        let messages = gate_wiring_messages(&with_apply_job_if(condition));
        assert!(
            messages.contains(
                &"9: job `apply` can run after a job it needs failed (its `if:`), so a failed gate does not stop it".to_string()
            ),
            "{condition}: {messages:#?}"
        );
        assert!(
            messages.iter().any(|m| m.starts_with(
                "12: `platformctl apply` can run after `auto_apply_scope` (line 6) failed"
            )),
            "{condition}: {messages:#?}"
        );
    }
}

/// A condition that only narrows when the apply runs is not a finding, nor is one false
/// after any failure.
#[test]
fn a_condition_that_cannot_be_true_after_a_failure_is_not_a_finding() {
    for condition in [
        "success() && inputs.module != ''",
        "inputs.module != ''",
        "${{ success() }}",
        "always() && success()",
        "failure() && false",
        "!failure() && !cancelled()",
    ] {
        assert_eq!(
            gate_wiring_messages(&with_apply_job_if(condition)),
            Vec::<String>::new(),
            "{condition}"
        );
    }
}

/// The gate counts only on the path where it passed: an apply after it in the same script
/// is fine under `set -e`, and its `|| true` is named by the gate's line.
#[test]
fn a_softened_gate_is_named_by_its_line() {
    let wf = |script: &str| {
        format!(
            "on: workflow_dispatch\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: |\n{script}"
        )
    };
    assert_eq!(
        gate_wiring_messages(&wf(
            "          auto_apply_scope --from-event\n          platformctl apply web\n"
        )),
        Vec::<String>::new()
    );
    assert_eq!(
        gate_wiring_messages(&wf(
            "          auto_apply_scope --from-event || true\n          platformctl apply web\n"
        )),
        vec!["8: `platformctl apply` can run after `auto_apply_scope` (line 7) failed".to_string()]
    );
    assert_eq!(
        gate_wiring_messages(&wf(
            "          set +e\n          auto_apply_scope --from-event\n          platformctl apply web\n"
        )),
        vec!["9: `platformctl apply` can run after `auto_apply_scope` (line 8) failed".to_string()]
    );
}
