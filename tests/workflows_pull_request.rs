//! The pull-request workflows, run with act in host mode on a throwaway platform repository
//! with a real base and head commit: `platformctl-plan.yml` (the auto-apply scope of every
//! touched module) and `canary-required.yml` (collect-diff, then canary with the rules from the
//! base commit). The changed files come from git (base.sha...head.sha from the payload), the
//! body and labels from the payload; no API is called except the local mock in the one test
//! that proves the status is posted. act missing is a failure (tests/fixtures/workflows/act.rs).

#[path = "fixtures/workflows/act.rs"]
mod act;
#[path = "canary_mock.rs"]
mod mock;

use act::{ActRepo, ActRun};
use serde_json::{Value, json};

const PLAN: &str = "platformctl-plan.yml";
const CANARY: &str = "canary-required.yml";
const TOKEN: &str = "tok_act_run_5f4e3d2c1b0a";

fn body(name: &str) -> String {
    std::fs::read_to_string(act::project().join("tests/fixtures/canary").join(name)).unwrap()
}

/// A platform repository whose `main` is the base, and a `feature` branch made by `change`.
struct Pr {
    r: ActRepo,
    base: String,
    head: String,
}

fn pr(change: impl FnOnce(&ActRepo)) -> Pr {
    let r = ActRepo::with_platform(&[PLAN, CANARY]);
    let base = r.git(&["rev-parse", "HEAD"]);
    r.git(&["checkout", "-q", "-b", "feature"]);
    change(&r);
    let head = r.commit_all("the pull request");
    Pr { r, base, head }
}

/// The touches of the platform's mixed pull request (fixtures/changed-files/pr-mixed.txt).
fn mixed_change(r: &ActRepo) {
    let manifest = std::fs::read_to_string(r.repo.join("modules/minio-init/module.yaml")).unwrap();
    r.write(
        "modules/minio-init/module.yaml",
        &format!("{manifest}# retry the bucket bootstrap\n"),
    );
    r.write("modules/web-app/compose.yaml", "services: {web-app: {}}\n");
    r.write("compose/networks.yml", "networks: {}\n");
    r.write("docs/README.md", "docs\n");
}

impl Pr {
    fn payload(&self, body: &str, labels: &[&str]) -> Value {
        let labels: Vec<Value> = labels
            .iter()
            .enumerate()
            .map(|(i, l)| json!({"id": i + 1, "name": l, "color": "00aabb"}))
            .collect();
        json!({
            "action": "opened",
            "number": 7,
            "pull_request": {
                "number": 7,
                "title": "::error::a title from the agent",
                "body": body,
                "labels": labels,
                "head": {"ref": "feature", "sha": self.head},
                "base": {"ref": "main", "sha": self.base}
            },
            "repository": {"full_name": "o/r", "default_branch": "main"},
            "sender": {"login": "agent"}
        })
    }

    fn run(&self, workflow: &str, payload: &Value) -> ActRun {
        self.r.act("pull_request", workflow, payload, &[])
    }
}

// ---- platformctl-plan.yml -------------------------------------------------------------------

#[test]
fn plan_reports_the_scope_of_every_touched_module() {
    let p = pr(mixed_change);
    let run = p.run(PLAN, &p.payload("x", &[]));
    assert_eq!(
        run.code, 0,
        "report only: a blocked PR is reported\n{}",
        run.log
    );
    assert!(run.log.contains("auto_apply_scope: BLOCKED"), "{}", run.log);
    assert!(run.log.contains("error[pr.platform_path]"), "{}", run.log);
    assert!(run.log.contains("compose/networks.yml"), "{}", run.log);
    let scopes = run
        .log
        .lines()
        .find(|l| l.contains("|   scopes: "))
        .unwrap_or_else(|| panic!("no scopes line:\n{}", run.log));
    assert!(
        scopes.contains("minio-init:one-shot") && scopes.contains("web-app:auto"),
        "{scopes}"
    );
    assert!(run.log.contains("(--report-only: exit 0"), "{}", run.log);
    assert!(
        run.log
            .contains("::group::auto_apply_scope decision document")
    );
    assert_eq!(p.r.calls(), Vec::<String>::new(), "no platformctl on a PR");
}

#[test]
fn plan_reads_the_policy_of_the_base_commit_not_the_pr() {
    // The PR relaxes the policy (no manual classes) and touches the public-edge module.
    let p = pr(|r| {
        let policy = std::fs::read_to_string(r.repo.join(".forgejo/gates.yml")).unwrap();
        r.write(
            ".forgejo/gates.yml",
            &format!("{policy}dispatch:\n  manual_classes: []\n"),
        );
        r.write("modules/traefik/compose.yaml", "services: {traefik: {}}\n");
    });
    let run = p.run(PLAN, &p.payload("x", &[]));
    assert_eq!(run.code, 0, "{}", run.log);
    // Under the PR's own policy traefik would be `auto`.
    assert!(
        run.log.contains("error[pr.module.manual]") && run.log.contains("scopes: traefik:manual"),
        "traefik must stay manual under the base policy:\n{}",
        run.log
    );
    assert!(run.log.contains("auto_apply_scope: BLOCKED"), "{}", run.log);
}

#[test]
fn plan_fails_when_a_touched_module_cannot_be_evaluated() {
    let p = pr(|r| {
        r.write(
            "modules/redis/module.yaml",
            "metadata:\n  name: redis\nspec:\n  runtime:\n    statefulness: statefull\n",
        );
    });
    let run = p.run(PLAN, &p.payload("x", &[]));
    assert_ne!(
        run.code, 0,
        "exit 2 is never reported as a pass:\n{}",
        run.log
    );
    assert!(
        run.step("Failure", "Auto-apply scope of every touched module"),
        "{}",
        run.log
    );
}

// ---- canary-required.yml --------------------------------------------------------------------

#[test]
fn canary_passes_a_full_pack_and_posts_nothing_without_a_token() {
    let p = pr(mixed_change);
    // minio-init is stateful and sidecar-bound: the pack carries its upgrade evidence.
    let run = p.run(
        CANARY,
        &p.payload(&body("full-pack-with-evidence.md"), &["tier/full"]),
    );
    assert_eq!(run.code, 0, "{}", run.log);
    assert!(run.log.contains("canary_required: PASS"), "{}", run.log);
    assert!(
        run.log.contains("no token: evaluating the event payload"),
        "{}",
        run.log
    );
    assert!(
        run.log
            .contains("::group::canary_required decision document")
    );
}

#[test]
fn canary_fails_an_unfilled_template_naming_every_missing_section() {
    let p = pr(mixed_change);
    let run = p.run(
        CANARY,
        &p.payload(&body("template-unfilled.md"), &["tier/lite"]),
    );
    assert_ne!(run.code, 0, "{}", run.log);
    assert!(run.step("Success", "Changed files"), "{}", run.log);
    assert!(run.step("Failure", "Canary context pack"), "{}", run.log);
    assert!(run.log.contains("canary_required: FAIL"), "{}", run.log);
    for section in ["Product story", "Merge blockers", "Requested decision"] {
        assert!(
            run.log.contains(section),
            "{section} not named:\n{}",
            run.log
        );
    }
}

#[test]
fn canary_requires_the_upgrade_evidence_of_a_stateful_module_from_its_base_manifest() {
    // The PR declares minio-init stateless; at the base it is stateful and sidecar-bound.
    let p = pr(|r| {
        r.write(
            "modules/minio-init/module.yaml",
            "metadata:\n  name: minio-init\nspec:\n  runtime:\n    statefulness: stateless\n",
        );
    });
    let run = p.run(CANARY, &p.payload(&body("full-pack.md"), &["tier/full"]));
    assert_ne!(run.code, 0, "{}", run.log);
    assert!(run.log.contains("canary_required: FAIL"), "{}", run.log);
    for section in [
        "Backup plan",
        "Restore path",
        "Smoke shape",
        "Stop conditions",
    ] {
        assert!(
            run.log.contains(&format!(
                "error[canary.evidence.missing]: section \"{section}\""
            )),
            "{section} not named:\n{}",
            run.log
        );
    }
    assert!(
        run.log.contains("`minio-init` (stateful, sidecar-bound)"),
        "{}",
        run.log
    );
}

#[test]
fn canary_rules_come_from_the_base_commit_not_the_pr() {
    // The PR's head says only schema/** is risky: under its own rules it would pass.
    let p = pr(|r| {
        let policy = std::fs::read_to_string(r.repo.join(".forgejo/gates.yml")).unwrap();
        r.write(
            ".forgejo/gates.yml",
            &format!("{policy}canary:\n  risky_paths: [\"schema/**\"]\n"),
        );
        r.write("modules/web-app/compose.yaml", "services: {web-app: {}}\n");
    });
    let run = p.run(CANARY, &p.payload("no pack at all", &[]));
    assert_ne!(run.code, 0, "the base's rules apply:\n{}", run.log);
    assert!(run.log.contains("canary_required: FAIL"), "{}", run.log);
    assert!(
        run.log.contains("modules/web-app/compose.yaml"),
        "{}",
        run.log
    );
}

#[test]
fn hostile_pr_text_and_file_names_reach_the_gate_as_data() {
    let canary_file = std::env::temp_dir().join(format!("pwned-{}", std::process::id()));
    let c = canary_file.to_str().unwrap().to_string();
    let p = pr(|r| {
        r.write(
            &format!("modules/web-app/$(touch {c})`touch {c}`;\"x'.yml"),
            "x: 1\n",
        );
    });
    let evil = format!(
        "Canary status: pending $(touch {c})\n\n## Product story\n`touch {c}` \"; touch {c} #\n"
    );
    let mut payload = p.payload(&evil, &[&format!("tier/lite'; touch {c} #")]);
    payload["pull_request"]["title"] = json!(format!("$(touch {c})\n::error::x"));
    let run = p.run(CANARY, &payload);
    let plan = p.run(PLAN, &payload);
    assert!(
        !canary_file.exists(),
        "PR text ran as shell code:\n{}\n{}",
        run.log,
        plan.log
    );
    assert_ne!(run.code, 0, "the pack is missing:\n{}", run.log);
    assert!(run.log.contains("canary_required: FAIL"), "{}", run.log);
    // The file name reached the gate whole, as data.
    assert!(
        run.log
            .contains(&format!("modules/web-app/$(touch {c})`touch {c}`;")),
        "{}",
        run.log
    );
    assert_eq!(plan.code, 0, "report only:\n{}", plan.log);
    assert!(plan.log.contains("scopes: web-app:auto"), "{}", plan.log);
}

#[test]
fn canary_posts_the_status_through_the_api_when_it_has_a_token() {
    let body_text = body("template-unfilled.md");
    let p = pr(mixed_change);
    let head = p.head.clone();
    let base = p.base.clone();
    let b = body_text.clone();
    let m = mock::Mock::start(move |req| {
        let pull = "/api/v1/repos/o/r/pulls/7";
        match (req.method.as_str(), req.path()) {
            ("GET", x) if x == pull => {
                let mut v: Value =
                    serde_json::from_str(&mock::pull(7, &b, &["tier/lite"])).unwrap();
                v["head"]["sha"] = json!(head);
                v["base"]["sha"] = json!(base);
                mock::Response::json(200, v.to_string())
            }
            ("POST", x) if x.starts_with("/api/v1/repos/o/r/statuses/") => {
                mock::Response::json(201, r#"{"id": 1, "status": "failure"}"#)
            }
            ("GET", "/api/v1/repos/o/r/issues/7/comments") => mock::Response::json(200, "[]"),
            ("POST", "/api/v1/repos/o/r/issues/7/comments") => {
                mock::Response::json(201, r#"{"id": 55, "body": "x"}"#)
            }
            _ => mock::Response::json(404, r#"{"message": "not found", "url": ""}"#),
        }
    });
    let api = m.api();
    // The token is a secret, as Forgejo gives it to the job.
    let run = p.r.act_with_secrets(
        "pull_request",
        CANARY,
        &p.payload(&body_text, &["tier/lite"]),
        &[("GITHUB_API_URL", &api), ("GITHUB_REPOSITORY", "o/r")],
        &[("GITHUB_TOKEN", TOKEN)],
    );
    assert!(!run.log.contains(TOKEN), "the token is never printed");
    let reqs = m.requests();
    assert!(
        reqs.iter()
            .all(|r| r.header("Authorization") == Some(&format!("token {TOKEN}"))),
        "{reqs:#?}"
    );
    let statuses: Vec<_> = reqs
        .iter()
        .filter(|r| r.method == "POST" && r.path().contains("/statuses/"))
        .collect();
    assert_eq!(statuses.len(), 1, "{reqs:#?}\n{}", run.log);
    assert_eq!(
        statuses[0].path(),
        format!("/api/v1/repos/o/r/statuses/{}", p.head)
    );
    let posted: Value = serde_json::from_str(&statuses[0].body).unwrap();
    assert_eq!(posted["state"], "failure", "{posted}");
    assert_eq!(posted["context"], "canary-required / canary", "{posted}");
    assert_ne!(run.code, 0, "{}", run.log);
}
