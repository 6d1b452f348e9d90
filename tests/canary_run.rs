#![cfg(feature = "forgejo-api")]
//! `canary_required`'s run as a library call (`canary::run`), without a process: the pull
//! request from an event payload and from the API through one mapping, the inputs gathered,
//! and the commit status posted for a decision and for a run that could not evaluate.

#[path = "canary_mock.rs"]
mod mock;

use forgejo_gates::canary::api_options::ApiOptions;
use forgejo_gates::canary::run::{CheckOptions, check, pr_from_event};
use forgejo_gates::report::Outcome;
use mock::{Mock, Request, Response, files_page, pull};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

const TOKEN: &str = "tok_run_0123456789abcdef";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/canary")
            .join(name),
    )
    .unwrap()
}

/// A Forgejo with pull request 7 (`body`, label `tier/full`, one risky changed file) that
/// accepts statuses.
fn forgejo(body: String) -> Mock {
    Mock::start(
        move |req: &Request| match (req.method.as_str(), req.path()) {
            ("GET", "/api/v1/repos/o/r/pulls/7") => {
                Response::json(200, pull(7, &body, &["tier/full"]))
            }
            ("GET", "/api/v1/repos/o/r/pulls/7/files") => {
                Response::json(200, files_page(&["compose/web.yaml".to_string()]))
                    .with_header("X-Total-Count", "1")
            }
            ("POST", p) if p.starts_with("/api/v1/repos/o/r/statuses/") => {
                Response::json(201, r#"{"id": 1}"#)
            }
            _ => Response::json(404, r#"{"message": "not found"}"#),
        },
    )
}

fn runner_env(m: &Mock) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("GITHUB_API_URL".to_string(), m.api()),
        ("GITHUB_REPOSITORY".to_string(), "o/r".to_string()),
        ("GITHUB_TOKEN".to_string(), TOKEN.to_string()),
    ])
}

fn api_options(policy: &Path) -> CheckOptions {
    CheckOptions {
        forgejo: true,
        pr: Some(7),
        policy: Some(policy.to_path_buf()),
        repo_dir: policy.parent().unwrap().to_path_buf(),
        now: Some("2026-05-17T00:00:00Z".into()),
        api: ApiOptions {
            timeout: Duration::from_secs(5),
            retries: 0,
            post_status: true,
            ..ApiOptions::default()
        },
        ..CheckOptions::default()
    }
}

/// The states of the statuses the mock received.
fn posted_states(m: &Mock) -> Vec<String> {
    m.requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path().starts_with("/api/v1/repos/o/r/statuses/"))
        .map(|r| {
            let doc: serde_json::Value = serde_json::from_str(&r.body).unwrap();
            doc["state"].as_str().unwrap().to_string()
        })
        .collect()
}

fn policy_file(dir: &Path, text: &str) -> std::path::PathBuf {
    let p = dir.join("policy.yml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn a_decision_is_posted_as_the_commit_status_of_its_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let policy = policy_file(dir.path(), "version: 1\n");
    for (body, outcome, state) in [
        (fixture("full-pack.md"), Outcome::Pass, "success"),
        (
            "Canary status: pending\n".to_string(),
            Outcome::Fail,
            "failure",
        ),
    ] {
        let m = forgejo(body);
        let d = check(&api_options(&policy), &runner_env(&m)).expect("evaluated");
        assert_eq!(d.outcome, outcome, "{:?}", d.reasons);
        assert_eq!(d.facts["status_posted"], state);
        assert_eq!(posted_states(&m), vec![state.to_string()]);
    }
}

#[test]
fn a_run_that_cannot_evaluate_leaves_the_status_error() {
    let dir = tempfile::tempdir().unwrap();
    // The body is over the policy's limit: the gate cannot read it.
    let policy = policy_file(dir.path(), "version: 1\ncanary:\n  max_body_bytes: 16\n");
    let m = forgejo(fixture("full-pack.md"));
    let e = check(&api_options(&policy), &runner_env(&m)).expect_err("cannot evaluate");
    assert_eq!(e.code.id, "canary.body.too_large");
    assert_eq!(posted_states(&m), vec!["error".to_string()]);
    assert!(
        e.details.iter().any(|d| d.contains("set to error")),
        "{:?}",
        e.details
    );
}

/// The event payload's `pull_request` and the API's answer are one document type, read by one
/// mapping: the same JSON gives the same pull request either way.
#[test]
fn an_event_payload_and_an_api_answer_give_the_same_pull_request() {
    let body = "Canary status: passed\n\n## What changed\nx\n";
    let doc: serde_json::Value = serde_json::from_str(&pull(7, body, &["tier/full"])).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(
        &event,
        serde_json::json!({"action": "opened", "pull_request": doc}).to_string(),
    )
    .unwrap();
    let (from_event, _) = pr_from_event(Some(&event), &BTreeMap::new()).unwrap();

    let m = forgejo(body.to_string());
    let env = runner_env(&m);
    let client = forgejo_gates::canary::publish::client(
        &ApiOptions {
            timeout: Duration::from_secs(5),
            ..ApiOptions::default()
        },
        &env,
    )
    .unwrap();
    let (from_api, _) = client.pull(7).unwrap();

    assert_eq!(from_event.number, Some(7));
    assert_eq!(from_event.labels, vec!["tier/full"]);
    assert_eq!(from_event.head_sha, Some("a".repeat(40)));
    assert_eq!(from_event.base_sha, Some("b".repeat(40)));
    assert_eq!(from_event.body.as_deref(), Some(body));
    assert_eq!(
        (
            &from_api.number,
            &from_api.body,
            &from_api.labels,
            &from_api.head_sha,
            &from_api.base_sha
        ),
        (
            &from_event.number,
            &from_event.body,
            &from_event.labels,
            &from_event.head_sha,
            &from_event.base_sha
        )
    );

    // The same malformed document is refused both ways, naming the same field.
    let bad = serde_json::json!({"number": 7, "labels": [{"name": 3}]});
    std::fs::write(&event, serde_json::json!({"pull_request": bad}).to_string()).unwrap();
    let event_error = pr_from_event(Some(&event), &BTreeMap::new()).unwrap_err();
    assert_eq!(event_error.code.id, "input.event_invalid");
    assert!(
        event_error.message.contains("`labels[0].name`"),
        "{}",
        event_error.message
    );
    let m = Mock::start(move |_: &Request| Response::json(200, bad.to_string()));
    let client = forgejo_gates::canary::publish::client(
        &ApiOptions {
            timeout: Duration::from_secs(5),
            ..ApiOptions::default()
        },
        &runner_env(&m),
    )
    .unwrap();
    let api_error = client.pull(7).unwrap_err();
    assert_eq!(api_error.code.id, "forgejo.bad_response");
    assert!(
        api_error.message.contains("`labels[0].name`"),
        "{}",
        api_error.message
    );
}

/// Files mode, as a library call: the body and the list given, the working tree's policy.
#[test]
fn files_mode_reads_the_body_and_the_list_given() {
    let dir = tempfile::tempdir().unwrap();
    let policy = policy_file(dir.path(), "version: 1\n");
    let body = dir.path().join("body.md");
    std::fs::write(&body, "Canary status: pending\n").unwrap();
    let list = dir.path().join("changed");
    std::fs::write(&list, "compose/web.yaml\0").unwrap();
    let d = check(
        &CheckOptions {
            body: Some(body),
            changed_files: Some(list),
            labels: Some(vec!["tier/lite".into()]),
            policy: Some(policy),
            repo_dir: dir.path().to_path_buf(),
            now: Some("2026-05-17T00:00:00Z".into()),
            ..CheckOptions::default()
        },
        &BTreeMap::new(),
    )
    .expect("evaluated");
    assert_eq!(d.outcome, Outcome::Fail);
    assert_eq!(d.facts["tier"], "lite");
    assert_eq!(d.facts["changed_files"], "1");
}

/// Without an API client (no API URL), nothing can be posted: with `--post-status` or
/// `--comment` (either one alone) the error says so, so that nobody waits for a status that
/// will not come; without either it says nothing about posting.
#[test]
fn a_run_without_a_client_says_nothing_was_posted_when_posting_was_asked() {
    let dir = tempfile::tempdir().unwrap();
    let policy = policy_file(dir.path(), "version: 1\n");
    let env = BTreeMap::from([("GITHUB_REPOSITORY".to_string(), "o/r".to_string())]);
    for (post_status, comment, said) in [
        (true, false, true),
        (false, true, true),
        (false, false, false),
    ] {
        let mut opts = api_options(&policy);
        opts.api.post_status = post_status;
        opts.api.comment = comment;
        let e = check(&opts, &env).expect_err("no API URL");
        assert_eq!(e.code.id, "forgejo.config", "{}", e.message);
        assert_eq!(
            e.details.iter().any(|d| d.contains("nothing was posted")),
            said,
            "post_status {post_status}, comment {comment}: {:?}",
            e.details
        );
    }
}

/// The pull-request number must be positive wherever the payload gives it: in
/// `pull_request.number`, or (when that is absent) the payload's top-level `number`. A zero
/// in either is refused, not taken as pull request #0.
#[test]
fn an_event_whose_pull_request_number_is_zero_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    for payload in [
        serde_json::json!({"number": 0, "pull_request": {"body": "x"}}),
        serde_json::json!({"number": 7, "pull_request": {"number": 0, "body": "x"}}),
    ] {
        std::fs::write(&event, payload.to_string()).unwrap();
        let e = pr_from_event(Some(&event), &BTreeMap::new()).expect_err("number 0");
        assert_eq!(e.code.id, "input.event_invalid", "{payload}: {}", e.message);
        assert!(e.message.contains("number"), "{payload}: {}", e.message);
    }
    // The top-level number stands in only for an absent one.
    std::fs::write(
        &event,
        serde_json::json!({"number": 7, "pull_request": {"body": "x"}}).to_string(),
    )
    .unwrap();
    let (pr, _) = pr_from_event(Some(&event), &BTreeMap::new()).unwrap();
    assert_eq!(pr.number, Some(7));
}

/// The head and base commits of an event payload go into status URLs and diff ranges: one
/// that is not a commit id is refused, naming the field (the check the API answer has too).
#[test]
fn an_event_whose_commit_is_not_a_commit_id_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    for (side, sha) in [
        ("head", "../../admin"),
        ("base", "abc123"),
        ("head", &*"g".repeat(40)),
    ] {
        let payload = serde_json::json!({"pull_request": {"number": 7, side: {"sha": sha}}});
        std::fs::write(&event, payload.to_string()).unwrap();
        let e = pr_from_event(Some(&event), &BTreeMap::new()).expect_err("not a commit id");
        assert_eq!(e.code.id, "input.event_invalid", "{payload}: {}", e.message);
        assert!(
            e.message
                .contains(&format!("`{side}.sha` is not a commit id")),
            "{payload}: {}",
            e.message
        );
    }
}
