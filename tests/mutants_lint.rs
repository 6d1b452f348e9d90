//! Tests added for mutants that survived in the gate-wiring rule of `lint_workflows`
//! (docs/mutation-testing.md): each names what the surviving mutant got away with. The
//! annotated fixtures in tests/fixtures/lint/gate-wiring/ check which lines get a finding;
//! these check what the finding says.

use forgejo_gates::lint::lint_text;
use forgejo_gates::policy::Policy;

/// The wiring the project ships (a pass fixture), with the apply job's `if:` replaced.
fn with_apply_job_if(condition: &str) -> String {
    let base = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/lint/gate-wiring/pass-platformctl-auto-apply.yml"
    ))
    .expect("fixture");
    let out = base.replace(
        "  apply:\n    runs-on: platform-host\n",
        &format!("  apply:\n    if: {condition}\n    runs-on: platform-host\n"),
    );
    assert_ne!(
        out, base,
        "the fixture still has the apply job this test edits"
    );
    out
}

fn gate_wiring_messages(text: &str) -> Vec<String> {
    lint_text("deploy.yml", text, &Policy::default().lint)
        .into_iter()
        .filter(|f| f.code.id == "lint.gate-wiring")
        .map(|f| f.message)
        .collect()
}

/// `runs_after_failure`: the finding names the very function that lets the apply run after a
/// failed gate, whichever of the three it is.
#[test]
fn an_apply_after_failure_is_named_by_its_function() {
    for (condition, named) in [
        ("always()", "always()"),
        ("${{ failure() }}", "failure()"),
        ("cancelled() || success()", "cancelled()"),
        ("ALWAYS()", "always()"),
    ] {
        let messages = gate_wiring_messages(&with_apply_job_if(condition));
        assert_eq!(messages.len(), 1, "{condition}: {messages:#?}");
        assert!(
            messages[0].contains(&format!("the apply job has `if: {named}`")),
            "{condition}: {messages:#?}"
        );
    }
    // A condition that only narrows when the apply runs is not a finding.
    assert_eq!(
        gate_wiring_messages(&with_apply_job_if("success() && inputs.module != ''")),
        Vec::<String>::new()
    );
}
