//! One bypass of the gates proven end to end: a copy of the shipped auto-apply workflow whose
//! one-shot gate line gets ` || rc=0` (a softening no text pattern of the earlier rule knew)
//! is run with act in host mode. The one-shot gate says DENY, and `platformctl apply` runs
//! anyway; `lint.gate_wiring` reports that very line. act missing is a failure, never a skip
//! (see tests/fixtures/workflows/act.rs).

#[path = "fixtures/workflows/act.rs"]
mod act;
mod common;

use act::{ActRepo, stamp};
use forgejo_gates::lint::lint_text;
use forgejo_gates::policy::Policy;
use serde_json::json;

const WF: &str = "platformctl-auto-apply.yml";
const ONESHOT: &str = "allow_one_shot_stateful_apply --from-event --plan \"$DECISIONS/plan.json\" --record \"$DECISIONS/one-shot.jsonl\" 2>&1 | tee \"$DECISIONS/one-shot.txt\"";

fn softened() -> String {
    let shipped =
        std::fs::read_to_string(act::project().join(".forgejo/workflows").join(WF)).unwrap();
    assert!(shipped.contains(ONESHOT), "the shipped workflow changed");
    shipped.replacen(ONESHOT, &format!("{ONESHOT} || rc=0"), 1)
}

#[test]
fn the_linter_names_the_softened_one_shot_gate() {
    let text = softened();
    let gate_line = text
        .lines()
        .position(|l| l.contains("|| rc=0"))
        .map(|i| i + 1)
        .unwrap();
    let messages: Vec<String> = lint_text(WF, &text, &Policy::default().lint)
        .into_iter()
        .filter(|f| f.code.id == "lint.gate_wiring")
        .map(|f| f.message)
        .collect();
    assert!(
        messages.iter().any(|m| m.contains(&format!(
            "can run after `allow_one_shot_stateful_apply` (line {gate_line}) failed"
        ))),
        "{messages:#?}"
    );
}

#[test]
fn the_softened_one_shot_gate_lets_a_denied_apply_run() {
    let r = ActRepo::with_platform(&[WF]);
    r.write(&format!(".forgejo/workflows/{WF}"), &softened());
    r.commit_all("soften the one-shot gate");
    let backup = r.backup(
        &format!("postgres-{}.sql.gz", stamp(-60)),
        &common::backup::pg_dumpall_sql_gz(),
        0o600,
    );
    let payload = json!({
        "inputs": {
            "module": "postgres",
            "allow_stateful": "true",
            "backup_ref": backup,
            "stateful_confirm": "BACKUP_DONE_F3"
        },
        "ref": "refs/heads/main",
        "repository": {"full_name": "pdurlej/platform", "default_branch": "main"},
        "sender": {"login": "operator"},
        "workflow": format!(".forgejo/workflows/{WF}")
    });
    let plan = act::project().join("fixtures/plans/postgres-drift.json");
    let run = r.act(
        "workflow_dispatch",
        WF,
        &payload,
        &[("PLATFORMCTL_PLAN", plan.to_str().unwrap())],
    );
    assert!(
        run.log.contains("allow_one_shot_stateful_apply: DENY"),
        "the one-shot gate must say no:\n{}",
        run.log
    );
    assert_eq!(
        r.calls(),
        ["plan --json postgres", "apply postgres", "health postgres"],
        "the apply runs although the gate said no:\n{}",
        run.log
    );
}
