//! `canary_required --forgejo` against a real HTTP server on 127.0.0.1 (tests/canary_mock.rs),
//! with answers shaped per Forgejo's swagger: paging, faults, posting, and the token.

mod common;
#[path = "canary_mock.rs"]
mod mock;

use common::{gate, run};
use mock::{Mock, Request, Response, files_page, pull};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const TOKEN: &str = "tok_9f8e7d6c5b4a39281706SECRET";
const PR: &str = "/api/v1/repos/o/r/pulls/7";
/// `GET /user` for the token: the account the gate posts as.
const BOT: &str = r#"{"id": 5, "login": "bot", "full_name": "", "email": "bot@example.invalid"}"#;

fn full_body() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/canary/full-pack.md"),
    )
    .unwrap()
}

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("compose/svc-{i:05}.yaml")).collect()
}

/// Answer a files page from `all`, Forgejo-style (`limit` capped at 50).
fn page(all: &[String], req: &Request) -> Response {
    let p: usize = req.query("page").and_then(|v| v.parse().ok()).unwrap_or(1);
    let limit: usize = req
        .query("limit")
        .and_then(|v| v.parse().ok())
        .unwrap_or(30)
        .min(50);
    let start = (p - 1) * limit;
    let chunk: Vec<String> = all.iter().skip(start).take(limit).cloned().collect();
    Response::json(200, files_page(&chunk))
        .with_header("X-Total-Count", all.len().to_string())
        .with_header("X-PerPage", limit.to_string())
}

/// A healthy instance: PR 7 with `body`, `labels` and `n` changed files; statuses and
/// comments accepted.
fn healthy(
    body: String,
    labels: &'static [&'static str],
    n: usize,
) -> impl Fn(&Request) -> Response + Send + Sync + 'static {
    let all = names(n);
    move |req| match (req.method.as_str(), req.path()) {
        ("GET", "/api/v1/user") => Response::json(200, BOT),
        ("GET", PR) => Response::json(200, pull(7, &body, labels)),
        ("GET", p) if p == format!("{PR}/files") => page(&all, req),
        ("POST", p) if p.starts_with("/api/v1/repos/o/r/statuses/") => {
            Response::json(201, r#"{"id": 1, "status": "success"}"#)
        }
        ("GET", "/api/v1/repos/o/r/issues/7/comments") => Response::json(200, "[]"),
        ("POST", "/api/v1/repos/o/r/issues/7/comments") => {
            Response::json(201, r#"{"id": 55, "body": "x"}"#)
        }
        _ => Response::json(404, r#"{"message": "not found", "url": ""}"#),
    }
}

struct Setup {
    dir: tempfile::TempDir,
    policy: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yml");
    std::fs::write(&policy, "version: 1\n").unwrap();
    Setup { dir, policy }
}

fn forge(m: &Mock, s: &Setup) -> Command {
    let mut cmd = gate("canary_required");
    cmd.current_dir(s.dir.path())
        .env("GITHUB_API_URL", m.api())
        .env("GITHUB_REPOSITORY", "o/r")
        .env("GITHUB_TOKEN", TOKEN)
        .args(["--forgejo", "--pr", "7"])
        .arg("--policy")
        .arg(&s.policy);
    cmd
}

/// Exit 2 (could not evaluate), and stderr says why.
fn refused(out: &common::Run, says: &str) {
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains(says), "{}", out.stderr);
}

fn count(m: &Mock, method: &str, prefix: &str) -> usize {
    m.requests()
        .iter()
        .filter(|r| r.method == method && r.path().starts_with(prefix))
        .count()
}

#[test]
fn reads_the_pr_and_pages_its_files_by_number() {
    let m = Mock::start(healthy(full_body(), &["tier/full"], 120));
    let s = setup();
    let out = run(forge(&m, &s).args(["--format", "json"]));
    assert_eq!(out.code, 0, "{}", out.all());
    let reqs = m.requests();
    assert_eq!(reqs.len(), 4, "{reqs:#?}");
    assert_eq!(reqs[0].path(), PR);
    for (i, r) in reqs[1..].iter().enumerate() {
        assert_eq!(r.path(), format!("{PR}/files"));
        assert_eq!(r.query("page"), Some((i + 1).to_string().as_str()));
        assert_eq!(r.query("limit"), Some("50"));
    }
    for r in &reqs {
        assert_eq!(
            r.header("authorization"),
            Some(format!("token {TOKEN}").as_str())
        );
    }
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["facts"]["changed_files"], "120");
    assert_eq!(doc["facts"]["tier"], "full");
}

#[test]
fn more_than_fifty_files_means_two_pages_and_all_are_checked() {
    let body = "## What changed\nx\n".to_string();
    let m = Mock::start(healthy(body, &["tier/lite"], 51));
    let s = setup();
    let out = run(forge(&m, &s).args(["--format", "json"]));
    assert_eq!(out.code, 1, "{}", out.all());
    assert_eq!(count(&m, "GET", &format!("{PR}/files")), 2);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["facts"]["changed_files"], "51");
    assert!(doc["checks_run"].as_u64().unwrap() >= 51);
}

fn fault(resp: Response) -> (Mock, common::Run) {
    let m = Mock::start(move |req: &Request| {
        if req.path() == PR {
            resp.clone()
        } else {
            Response::json(500, "{}")
        }
    });
    let s = setup();
    let out = run(forge(&m, &s).args(["--api-timeout", "1", "--api-retries", "2"]));
    (m, out)
}

#[test]
fn unauthorized_is_exit_2_naming_the_token() {
    let (_, out) = fault(Response::json(
        401,
        r#"{"message":"token is required","url":""}"#,
    ));
    refused(&out, "error[forgejo.unauthorized]");
    assert!(
        out.stderr.contains("the token was refused"),
        "{}",
        out.stderr
    );
}

#[test]
fn forbidden_is_exit_2_naming_the_permission() {
    let (_, out) = fault(Response::json(403, r#"{"message":"forbidden","url":""}"#));
    refused(&out, "error[forgejo.forbidden]");
    assert!(
        out.stderr
            .contains("lacks read access to the repository's pull requests"),
        "{}",
        out.stderr
    );
}

#[test]
fn not_found_is_exit_2_naming_the_object() {
    let (_, out) = fault(Response::json(404, r#"{"message":"not found","url":""}"#));
    refused(&out, "error[forgejo.not_found]");
    assert!(
        out.stderr.contains("pull request #7 in o/r"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_server_error_is_retried_then_succeeds() {
    let calls = Arc::new(AtomicUsize::new(0));
    let inner = healthy(full_body(), &["tier/full"], 3);
    let c = calls.clone();
    let m = Mock::start(move |req: &Request| {
        if req.path() == PR && c.fetch_add(1, Ordering::SeqCst) == 0 {
            Response::json(500, r#"{"message":"db locked"}"#)
        } else {
            inner(req)
        }
    });
    let s = setup();
    let out = run(&mut forge(&m, &s));
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(
        count(&m, "GET", PR),
        3,
        "1 failed + 1 good PR read + 1 files page"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[test]
fn a_persistent_server_error_gives_up_after_bounded_retries() {
    let (m, out) = fault(Response::json(502, "bad gateway"));
    refused(&out, "error[forgejo.unavailable]");
    assert!(
        out.stderr.contains("gave up after 3 attempt(s)"),
        "{}",
        out.stderr
    );
    assert_eq!(m.requests().len(), 3);
}

#[test]
fn a_hang_times_out_with_exit_2() {
    let started = std::time::Instant::now();
    let (m, out) = fault(Response::hang(Duration::from_secs(10)));
    refused(&out, "error[forgejo.unavailable]");
    assert!(out.stderr.contains("timeout"), "{}", out.stderr);
    assert_eq!(m.requests().len(), 1, "a timeout is not retried");
    assert!(started.elapsed() < Duration::from_secs(8));
}

#[test]
fn a_non_json_answer_is_exit_2() {
    let (_, out) = fault(Response {
        status: 200,
        headers: vec![("Content-Type".into(), "text/html".into())],
        body: b"<html>Sign in</html>".to_vec(),
        hang: None,
    });
    refused(&out, "error[forgejo.bad_response]");
}

#[test]
fn a_page_list_shorter_than_the_total_count_is_exit_2() {
    let all = names(60);
    let m = Mock::start(move |req: &Request| match req.path() {
        PR => Response::json(200, pull(7, "x", &[])),
        _ => {
            // Claims 75 files but only ever has 60.
            let mut r = page(&all, req);
            r.headers.retain(|(k, _)| k != "X-Total-Count");
            r.with_header("X-Total-Count", "75")
        }
    });
    let s = setup();
    let out = run(&mut forge(&m, &s));
    refused(&out, "error[forgejo.incomplete]");
    assert!(
        out.stderr
            .contains("page 2 lists 10 file(s) where 25 were expected"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_missing_total_count_is_exit_2() {
    let m = Mock::start(move |req: &Request| match req.path() {
        PR => Response::json(200, pull(7, "x", &[])),
        _ => Response::json(200, files_page(&names(3))),
    });
    let s = setup();
    let out = run(&mut forge(&m, &s));
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("X-Total-Count"), "{}", out.stderr);
}

#[test]
fn a_body_over_the_size_limit_from_the_api_is_exit_2() {
    let big = format!("Canary status: passed\n\n{}", "word ".repeat(220_000));
    let m = Mock::start(healthy(big, &["tier/lite"], 2));
    let s = setup();
    let out = run(&mut forge(&m, &s));
    refused(&out, "error[canary.body.too_large]");
}

#[test]
fn a_fork_token_that_cannot_post_keeps_the_result_and_reports_the_failure() {
    let inner = healthy(full_body(), &["tier/full"], 2);
    let m = Mock::start(move |req: &Request| {
        if req.method == "POST" || req.method == "PATCH" {
            Response::json(403, r#"{"message":"token does not have write access"}"#)
        } else {
            inner(req)
        }
    });
    let s = setup();
    let out = run(forge(&m, &s).args(["--post-status", "--comment", "--format", "json"]));
    assert_eq!(
        out.code,
        0,
        "the check passed; posting failed: {}",
        out.all()
    );
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["outcome"], "pass");
    let codes: Vec<&str> = doc["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"canary.report.status_failed"), "{codes:?}");
    assert_eq!(doc["facts"]["status_posted"], "no");

    // A failing check with a fork token: still exit 1, and the failure is shown in text.
    let inner = healthy("## What changed\nx\n".into(), &["tier/lite"], 2);
    let m = Mock::start(move |req: &Request| {
        if req.method == "POST" {
            Response::json(403, r#"{"message":"forbidden"}"#)
        } else {
            inner(req)
        }
    });
    let out = run(forge(&m, &s).arg("--post-status"));
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout.contains("warning[canary.report.status_failed]"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("write access to commit statuses"),
        "{}",
        out.stdout
    );
}

#[test]
fn the_status_goes_on_the_head_commit_with_context_and_target_url() {
    let m = Mock::start(healthy("## What changed\nx\n".into(), &["tier/lite"], 2));
    let s = setup();
    let out = run(forge(&m, &s)
        .env("GITHUB_SERVER_URL", "https://forgejo.example")
        .env("GITHUB_RUN_NUMBER", "31")
        .arg("--post-status"));
    assert_eq!(out.code, 1, "{}", out.all());
    let post = m
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_eq!(
        post.path(),
        format!("/api/v1/repos/o/r/statuses/{}", "a".repeat(40))
    );
    let doc: serde_json::Value = serde_json::from_str(&post.body).unwrap();
    assert_eq!(doc["state"], "failure");
    assert_eq!(doc["context"], "canary-required / canary");
    assert_eq!(
        doc["target_url"],
        "https://forgejo.example/o/r/actions/runs/31"
    );
    let desc = doc["description"].as_str().unwrap();
    assert!(desc.chars().count() <= 140, "{desc}");
    assert!(desc.contains("Product story"), "{desc}");
}

#[test]
fn the_comment_is_created_once_then_edited_never_duplicated() {
    let comments: Arc<std::sync::Mutex<Vec<(u64, String)>>> = Arc::default();
    let inner = healthy("## What changed\nx\n".into(), &["tier/lite"], 2);
    let store = comments.clone();
    let m = Mock::start(move |req: &Request| {
        let mut c = store.lock().unwrap();
        match (req.method.as_str(), req.path()) {
            ("GET", "/api/v1/repos/o/r/issues/7/comments") => {
                let mut list = vec![
                    serde_json::json!({"id": 1, "body": "LGTM <!-- forgejo-gates:canary_required --> quoted", "user": {"id": 9, "login": "human"}}),
                ];
                for (id, body) in c.iter() {
                    list.push(
                        serde_json::json!({"id": id, "body": body, "user": {"id": 5, "login": "bot"}}),
                    );
                }
                Response::json(200, serde_json::Value::Array(list).to_string())
            }
            ("POST", "/api/v1/repos/o/r/issues/7/comments") => {
                let body: serde_json::Value = serde_json::from_str(&req.body).unwrap();
                let id = 100 + c.len() as u64;
                c.push((id, body["body"].as_str().unwrap().to_string()));
                Response::json(201, format!(r#"{{"id": {id}}}"#))
            }
            ("PATCH", p) if p.starts_with("/api/v1/repos/o/r/issues/comments/") => {
                let id: u64 = p.rsplit('/').next().unwrap().parse().unwrap();
                let body: serde_json::Value = serde_json::from_str(&req.body).unwrap();
                for (cid, b) in c.iter_mut() {
                    if *cid == id {
                        *b = body["body"].as_str().unwrap().to_string();
                    }
                }
                Response::json(200, format!(r#"{{"id": {id}}}"#))
            }
            _ => {
                drop(c);
                inner(req)
            }
        }
    });
    let s = setup();
    for _ in 0..3 {
        let out = run(forge(&m, &s).arg("--comment"));
        assert_eq!(out.code, 1, "{}", out.all());
    }
    let c = comments.lock().unwrap();
    assert_eq!(c.len(), 1, "one comment, edited twice");
    assert_eq!(count(&m, "POST", "/api/v1/repos/o/r/issues/7/comments"), 1);
    assert_eq!(
        count(&m, "PATCH", "/api/v1/repos/o/r/issues/comments/100"),
        2
    );
    let body = &c[0].1;
    assert!(body.starts_with("<!-- forgejo-gates:canary_required -->"));
    assert!(body.contains("`canary.section.missing`"), "{body}");
    assert!(body.contains("Product story"), "{body}");
    assert!(body.contains("how to fix"), "{body}");
}

#[test]
fn the_token_never_appears_in_any_output() {
    // The server echoes the Authorization header back in every error message.
    let echo = |status: u16| {
        move |req: &Request| {
            let auth = req.header("authorization").unwrap_or("").to_string();
            Response::json(
                status,
                serde_json::json!({"message": format!("bad credentials: {auth}"), "url": auth})
                    .to_string(),
            )
        }
    };
    let s = setup();
    let out_file = s.dir.path().join("github_output");
    let record = s.dir.path().join("record.jsonl");
    let mut outputs = Vec::new();
    for status in [401u16, 403, 404, 500, 200] {
        let m = Mock::start(echo(status));
        for format in ["text", "json"] {
            let out = run(forge(&m, &s)
                .env("GITHUB_OUTPUT", &out_file)
                .args(["--format", format, "--api-retries", "0", "--record"])
                .arg(&record));
            assert_eq!(out.code, 2, "{status}: {}", out.all());
            assert!(out.all().contains("forgejo."), "{status}: {}", out.all());
            outputs.push(out.all());
        }
    }
    // Posting failures that echo the token, on a passing check.
    let inner = healthy(full_body(), &["tier/full"], 2);
    let m = Mock::start(move |req: &Request| {
        if req.method == "POST" || req.method == "PATCH" {
            let auth = req.header("authorization").unwrap_or("").to_string();
            Response::json(403, serde_json::json!({"message": auth}).to_string())
        } else {
            inner(req)
        }
    });
    let out = run(forge(&m, &s)
        .env("GITHUB_OUTPUT", &out_file)
        .args(["--post-status", "--comment"]));
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("***"),
        "the echoed token is masked: {}",
        out.stdout
    );
    outputs.push(out.all());
    // Unreachable server: the transport error's text.
    let out = run(gate("canary_required")
        .env("GITHUB_API_URL", "http://127.0.0.1:9/api/v1")
        .env("GITHUB_REPOSITORY", "o/r")
        .env("FORGEJO_TOKEN", TOKEN)
        .args(["--forgejo", "--pr", "7", "--api-retries", "0"]));
    assert_eq!(out.code, 2);
    outputs.push(out.all());
    outputs.push(std::fs::read_to_string(&out_file).unwrap());
    outputs.push(std::fs::read_to_string(&record).unwrap());
    for o in &outputs {
        assert!(!o.contains(TOKEN), "token leaked: {o}");
        assert!(!o.contains("SECRET"), "token leaked: {o}");
    }
}

#[test]
fn api_mode_needs_a_token_url_and_repository() {
    let s = setup();
    let out = run(gate("canary_required")
        .current_dir(s.dir.path())
        .env("GITHUB_API_URL", "http://127.0.0.1:9/api/v1")
        .env("GITHUB_REPOSITORY", "o/r")
        .args(["--forgejo", "--pr", "7"]));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("FORGEJO_TOKEN or GITHUB_TOKEN"),
        "{}",
        out.stderr
    );
    let out = run(gate("canary_required")
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_REPOSITORY", "o/r")
        .args(["--forgejo", "--pr", "7"]));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("no API URL"), "{}", out.stderr);
    // There is no token flag.
    let out = run(gate("canary_required").args(["--token", TOKEN]));
    assert_eq!(out.code, 2);
}

/// The head and base commits from the API are used in a status URL and a diff range: only a
/// 40- or 64-digit hex id is taken.
#[test]
fn a_head_commit_that_is_not_a_commit_id_is_refused() {
    for bad in ["../../admin", "abc123", &"g".repeat(40), &"a".repeat(41)] {
        let body = pull(7, &full_body(), &["tier/full"]).replace(&"a".repeat(40), bad);
        let m = Mock::start(move |req: &Request| match req.path() {
            PR => Response::json(200, body.clone()),
            _ => Response::json(404, r#"{"message": "not found"}"#),
        });
        let s = setup();
        let out = run(forge(&m, &s).arg("--post-status"));
        assert_eq!(out.code, 2, "{bad}: {}", out.all());
        assert!(
            out.stderr.contains("`head.sha` is not a commit id"),
            "{bad}: {}",
            out.stderr
        );
        assert_eq!(count(&m, "POST", "/api/v1/repos/o/r/statuses"), 0);
    }
    // A sha256 repository's 64-digit id is a commit id.
    let sha256 = "c".repeat(64);
    let inner = healthy("## What changed\nx\n".into(), &["tier/lite"], 2);
    let head = sha256.clone();
    let m = Mock::start(move |req: &Request| {
        let answer = inner(req);
        if req.path() == PR {
            Response::json(
                200,
                pull(7, "## What changed\nx\n", &["tier/lite"]).replace(&"a".repeat(40), &head),
            )
        } else {
            answer
        }
    });
    let s = setup();
    let out = run(forge(&m, &s).arg("--post-status"));
    assert_eq!(out.code, 1, "{}", out.all());
    assert_eq!(
        count(&m, "POST", &format!("/api/v1/repos/o/r/statuses/{sha256}")),
        1,
        "{}",
        out.all()
    );
}

/// A failed call is named by its method and endpoint, so the log says which call lacked what.
#[test]
fn a_failed_call_names_its_method_and_endpoint() {
    let inner = healthy(full_body(), &["tier/full"], 2);
    let m = Mock::start(move |req: &Request| {
        if req.method == "POST" {
            Response::json(403, r#"{"message":"forbidden"}"#)
        } else {
            inner(req)
        }
    });
    let s = setup();
    let out = run(forge(&m, &s).arg("--post-status"));
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout
            .contains(&format!("POST o/r statuses/{}", "a".repeat(40))),
        "{}",
        out.stdout
    );
    let (_, out) = fault(Response::json(404, r#"{"message":"not found"}"#));
    assert!(out.stderr.contains("GET o/r pulls/7"), "{}", out.stderr);
}

/// A PR answer with files served from `items` (raw ChangedFile JSON objects) on one page.
fn files_from(items: serde_json::Value) -> Mock {
    let n = items.as_array().map_or(0, Vec::len).to_string();
    let body = items.to_string();
    Mock::start(move |req: &Request| match req.path() {
        PR => Response::json(200, pull(7, &full_body(), &["tier/full"])),
        p if p == format!("{PR}/files") => {
            Response::json(200, body.clone()).with_header("X-Total-Count", n.clone())
        }
        _ => Response::json(404, r#"{"message": "not found"}"#),
    })
}

/// Every entry must name its file: an entry without a usable `filename` is a list the gate
/// cannot trust, not an entry to skip. `previous_filename` is optional (empty when not renamed).
#[test]
fn each_changed_file_entry_must_name_its_file() {
    use serde_json::json;
    for broken in [
        json!([{"filename": "compose/a.yaml"}, {"status": "added"}]),
        json!([{"filename": "compose/a.yaml"}, {"filename": ""}]),
        json!([{"filename": "compose/a.yaml"}, {"filename": null}]),
        json!([{"filename": "compose/a.yaml"}, {"filename": 7}]),
    ] {
        let m = files_from(broken.clone());
        let s = setup();
        let out = run(forge(&m, &s).args(["--format", "json"]));
        assert_eq!(out.code, 2, "{broken}: {}", out.all());
        assert!(
            out.stdout
                .contains("has an entry without a string `filename`"),
            "{broken}: {}",
            out.all()
        );
    }
    // Not renamed: no `previous_filename`, null, or empty. Renamed: both paths count.
    let m = files_from(json!([
        {"filename": "docs/a.md"},
        {"filename": "docs/b.md", "previous_filename": null},
        {"filename": "docs/c.md", "previous_filename": ""},
        {"filename": "docs/d.md", "previous_filename": "compose/core/compose.yaml"},
    ]));
    let s = setup();
    let out = run(forge(&m, &s).args(["--format", "json"]));
    assert_eq!(out.code, 0, "{}", out.all());
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["facts"]["changed_files"], "5", "{doc:#}");
    assert_eq!(doc["facts"]["risky_files"], "1", "{doc:#}");
}

/// The answer must be the pull request asked for.
#[test]
fn an_answer_for_another_pull_request_is_refused() {
    let m = Mock::start(|req: &Request| match req.path() {
        PR => Response::json(200, pull(8, &full_body(), &["tier/full"])),
        _ => Response::json(404, r#"{"message": "not found"}"#),
    });
    let s = setup();
    let out = run(&mut forge(&m, &s));
    refused(
        &out,
        "the answer's `number` is missing or is not the one asked for",
    );
}

/// A pull request that changes while it is paged (X-Total-Count moves) cannot be checked.
#[test]
fn a_total_count_that_changes_while_paging_is_exit_2() {
    let all = names(120);
    let m = Mock::start(move |req: &Request| match req.path() {
        PR => Response::json(200, pull(7, &full_body(), &["tier/full"])),
        _ => {
            let mut r = page(&all, req);
            if req.query("page") == Some("2") {
                r.headers.retain(|(k, _)| k != "X-Total-Count");
                r = r.with_header("X-Total-Count", "121");
            }
            r
        }
    });
    let s = setup();
    let out = run(&mut forge(&m, &s));
    refused(&out, "X-Total-Count changed from 120 to 121 while paging");
}

/// Up to 20,000 files are read through the API; one more is refused before any page is
/// read (the gate says to use --git-diff).
#[test]
fn the_api_reads_up_to_twenty_thousand_files_and_refuses_more() {
    let all = names(20_000);
    let m = Mock::start(move |req: &Request| match req.path() {
        PR => Response::json(200, pull(7, &full_body(), &["tier/full"])),
        _ => page(&all, req),
    });
    let s = setup();
    let out = run(forge(&m, &s).args(["--format", "json"]));
    assert_eq!(out.code, 0, "{}", out.all());
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["facts"]["changed_files"], "20000");

    let m = Mock::start(|req: &Request| match req.path() {
        PR => Response::json(200, pull(7, &full_body(), &["tier/full"])),
        _ => Response::json(200, "[]").with_header("X-Total-Count", "20001"),
    });
    let out = run(&mut forge(&m, &s));
    refused(&out, "20001 files is more than this gate reads");
    assert!(out.stderr.contains("--git-diff"), "{}", out.stderr);
}

/// A server error with an empty message is reported without a dangling `: `.
#[test]
fn an_empty_server_message_adds_nothing_to_the_error() {
    let (_, out) = fault(Response::json(503, r#"{"message": ""}"#));
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("HTTP 503 (gave up after 3 attempt(s))"),
        "{}",
        out.stderr
    );
}

/// The labels come from the API answer and choose the tier; a label without a name is a
/// broken answer, not an unlabelled pull request.
#[test]
fn labels_from_the_api_choose_the_tier() {
    let lite = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/canary/lite-pack.md"),
    )
    .unwrap();
    let m = Mock::start(healthy(lite, &["tier/lite"], 2));
    let s = setup();
    let out = run(forge(&m, &s).args(["--format", "json"]));
    assert_eq!(out.code, 0, "{}", out.all());
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["facts"]["tier"], "lite", "{doc:#}");

    let m = Mock::start(|req: &Request| match req.path() {
        PR => {
            let mut pr: serde_json::Value =
                serde_json::from_str(&pull(7, &full_body(), &[])).unwrap();
            pr["labels"] = serde_json::json!([{"id": 3, "color": "ee0701"}]);
            Response::json(200, pr.to_string())
        }
        _ => Response::json(404, r#"{"message": "not found"}"#),
    });
    let out = run(&mut forge(&m, &s));
    // The typed reading names the field that does not fit.
    refused(&out, "`labels[0]`: missing field `name`");
}

/// `--comment` on a passing pull request with no earlier comment says nothing: there is
/// nothing to fix, and no comment to bring up to date.
#[test]
fn a_passing_check_with_no_earlier_comment_posts_none() {
    let m = Mock::start(healthy(full_body(), &["tier/full"], 2));
    let s = setup();
    let out = run(forge(&m, &s).arg("--comment"));
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(count(&m, "GET", "/api/v1/repos/o/r/issues/7/comments"), 1);
    assert_eq!(count(&m, "POST", "/api/v1/repos/o/r/issues/7/comments"), 0);
}

/// What a run left on the forge: every status posted (state, context, description) and the
/// comments, by id.
#[derive(Default)]
struct Forge {
    statuses: Vec<(String, String, String, String)>,
    comments: Vec<(u64, u64, String)>,
}

/// A PR 7 whose body, files and failures can change between runs; statuses and comments are
/// kept like Forgejo keeps them. `files_fail`: the files endpoint answers 502.
struct Switch {
    body: String,
    files_fail: bool,
    pull_fail: bool,
}

fn stateful(
    forge: Arc<std::sync::Mutex<Forge>>,
    switch: Arc<std::sync::Mutex<Switch>>,
) -> impl Fn(&Request) -> Response + Send + Sync + 'static {
    move |req| {
        let sw = switch.lock().unwrap();
        let mut f = forge.lock().unwrap();
        match (req.method.as_str(), req.path()) {
            ("GET", "/api/v1/user") => Response::json(200, BOT),
            ("GET", PR) if sw.pull_fail => Response::json(502, "bad gateway"),
            ("GET", PR) => Response::json(200, pull(7, &sw.body, &["tier/full"])),
            ("GET", p) if p == format!("{PR}/files") => {
                if sw.files_fail {
                    Response::json(502, "bad gateway")
                } else {
                    page(&names(2), req)
                }
            }
            ("POST", p) if p.starts_with("/api/v1/repos/o/r/statuses/") => {
                let doc: serde_json::Value = serde_json::from_str(&req.body).unwrap();
                let s = |k: &str| doc[k].as_str().unwrap_or("").to_string();
                f.statuses.push((
                    p.rsplit('/').next().unwrap().to_string(),
                    s("state"),
                    s("context"),
                    s("description"),
                ));
                Response::json(201, r#"{"id": 1}"#)
            }
            ("GET", "/api/v1/repos/o/r/issues/7/comments") => {
                let list: Vec<serde_json::Value> = f
                    .comments
                    .iter()
                    .map(|(id, user, body)| serde_json::json!({"id": id, "body": body, "user": {"id": user, "login": format!("u{user}")}}))
                    .collect();
                Response::json(200, serde_json::Value::Array(list).to_string())
            }
            ("POST", "/api/v1/repos/o/r/issues/7/comments") => {
                let doc: serde_json::Value = serde_json::from_str(&req.body).unwrap();
                let id = 100 + f.comments.len() as u64;
                f.comments
                    .push((id, 5, doc["body"].as_str().unwrap().to_string()));
                Response::json(201, format!(r#"{{"id": {id}}}"#))
            }
            ("PATCH", p) if p.starts_with("/api/v1/repos/o/r/issues/comments/") => {
                let id: u64 = p.rsplit('/').next().unwrap().parse().unwrap();
                let doc: serde_json::Value = serde_json::from_str(&req.body).unwrap();
                for c in f.comments.iter_mut().filter(|c| c.0 == id) {
                    c.2 = doc["body"].as_str().unwrap().to_string();
                }
                Response::json(200, format!(r#"{{"id": {id}}}"#))
            }
            _ => Response::json(404, r#"{"message": "not found"}"#),
        }
    }
}

/// No stale green: after a passing run set `success`, a run that cannot evaluate (an
/// oversized body, an API failure after the retries, a bad policy) sets `error` on the same
/// context, and the kept comment says the same.
#[test]
fn a_run_that_cannot_evaluate_replaces_an_earlier_success_with_error() {
    let forge: Arc<std::sync::Mutex<Forge>> = Arc::default();
    let switch = Arc::new(std::sync::Mutex::new(Switch {
        body: full_body(),
        files_fail: false,
        pull_fail: false,
    }));
    let m = Mock::start(stateful(forge.clone(), switch.clone()));
    let s = setup();
    let post = |extra: &[&str]| {
        run(forge_cmd(&m, &s)
            .args(["--post-status", "--comment", "--api-retries", "1"])
            .args(extra))
    };
    let last = |f: &Forge| f.statuses.last().cloned().unwrap();
    let a = "a".repeat(40);

    let out = post(&[]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(
        last(&forge.lock().unwrap()),
        (
            a.clone(),
            "success".into(),
            "canary-required / canary".into(),
            "pass: full canary context pack complete".into()
        )
    );

    // The author makes the body oversized.
    switch.lock().unwrap().body = format!("Canary status: passed\n\n{}", "word ".repeat(220_000));
    let out = post(&[]);
    refused(&out, "error[canary.body.too_large]");
    let (sha, state, context, desc) = last(&forge.lock().unwrap());
    assert_eq!(
        (sha.as_str(), state.as_str()),
        (a.as_str(), "error"),
        "{}",
        out.all()
    );
    assert_eq!(context, "canary-required / canary");
    assert!(desc.contains("canary.body.too_large"), "{desc}");
    assert!(out.stderr.contains("commit status"), "{}", out.stderr);
    {
        let f = forge.lock().unwrap();
        assert_eq!(f.comments.len(), 1, "one comment, created for the error");
        assert!(
            f.comments[0].2.contains("could not evaluate"),
            "{}",
            f.comments[0].2
        );
        assert!(
            f.comments[0].2.contains("canary.body.too_large"),
            "{}",
            f.comments[0].2
        );
    }

    // Back to a good body: success again, and the same comment now says so.
    switch.lock().unwrap().body = full_body();
    let out = post(&[]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(last(&forge.lock().unwrap()).1, "success");

    // The files endpoint fails after the retries.
    switch.lock().unwrap().files_fail = true;
    let out = post(&[]);
    refused(&out, "error[forgejo.unavailable]");
    let (_, state, _, desc) = last(&forge.lock().unwrap());
    assert_eq!(state, "error", "{}", out.all());
    assert!(desc.contains("forgejo.unavailable"), "{desc}");
    switch.lock().unwrap().files_fail = false;

    // A policy that cannot be read.
    let bad = s.dir.path().join("bad.yml");
    std::fs::write(&bad, "canary:\n  risky_paths: []\n").unwrap();
    let out = run(forge_cmd_policy(&m, &bad).args(["--post-status", "--comment"]));
    refused(&out, "error[policy.invalid]");
    let (_, state, context, _) = last(&forge.lock().unwrap());
    assert_eq!(
        (state.as_str(), context.as_str()),
        ("error", "canary-required / canary")
    );
    let f = forge.lock().unwrap();
    assert_eq!(f.comments.len(), 1, "still one comment: {:?}", f.comments);
    assert!(
        f.comments[0].2.contains("policy.invalid"),
        "{}",
        f.comments[0].2
    );
}

/// The pull request cannot be read at all: the head commit from the event still gets `error`.
#[test]
fn an_unreadable_pull_request_sets_error_on_the_event_head() {
    let forge: Arc<std::sync::Mutex<Forge>> = Arc::default();
    let switch = Arc::new(std::sync::Mutex::new(Switch {
        body: full_body(),
        files_fail: false,
        pull_fail: true,
    }));
    let m = Mock::start(stateful(forge.clone(), switch));
    let s = setup();
    let head = "1".repeat(40);
    let event = s.dir.path().join("event.json");
    std::fs::write(
        &event,
        serde_json::json!({"pull_request": {"number": 7, "body": "", "head": {"sha": head}, "base": {"sha": "2".repeat(40)}}})
            .to_string(),
    )
    .unwrap();
    let out = run(forge_cmd(&m, &s).arg("--from-event").arg(&event).args([
        "--post-status",
        "--api-retries",
        "0",
    ]));
    refused(&out, "error[forgejo.unavailable]");
    let f = forge.lock().unwrap();
    assert_eq!(f.statuses.len(), 1, "{}", out.all());
    assert_eq!(
        (f.statuses[0].0.as_str(), f.statuses[0].1.as_str()),
        (head.as_str(), "error")
    );
}

/// Only the token's own comment is edited: a look-alike with the marker, planted by another
/// account, is left alone and a new comment is posted.
#[test]
fn a_planted_look_alike_comment_is_never_edited() {
    let forge: Arc<std::sync::Mutex<Forge>> = Arc::default();
    let planted = format!(
        "{}\n### ✅ canary_required: pass\n",
        "<!-- forgejo-gates:canary_required -->"
    );
    forge.lock().unwrap().comments.push((1, 9, planted.clone()));
    let switch = Arc::new(std::sync::Mutex::new(Switch {
        body: "## What changed\nx\n".into(),
        files_fail: false,
        pull_fail: false,
    }));
    let m = Mock::start(stateful(forge.clone(), switch));
    let s = setup();
    for _ in 0..2 {
        let out = run(forge_cmd(&m, &s).arg("--comment"));
        assert_eq!(out.code, 1, "{}", out.all());
    }
    let f = forge.lock().unwrap();
    assert_eq!(f.comments.len(), 2, "{:?}", f.comments);
    assert_eq!(
        f.comments[0],
        (1, 9, planted),
        "the planted comment is untouched"
    );
    assert_eq!(f.comments[1].1, 5, "the new comment is the bot's");
    let patched: Vec<String> = m
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| r.path().to_string())
        .collect();
    assert_eq!(patched, vec!["/api/v1/repos/o/r/issues/comments/101"]);
    assert_eq!(count(&m, "GET", "/api/v1/user"), 2);
}

/// Token hygiene: a server that echoes the token in another case, or split into pieces,
/// gets none of it printed.
#[test]
fn the_token_is_not_printed_in_any_case_or_in_pieces() {
    let echo = |req: &Request| {
        let auth = req.header("authorization").unwrap_or("").to_string();
        let t = auth.trim_start_matches("token ");
        let (a, b) = t.split_at(t.len() / 2);
        let msg = format!(
            "bad credentials {} / {} and {} -- {}",
            t.to_uppercase(),
            t.to_lowercase(),
            a,
            b
        );
        Response::json(
            401,
            serde_json::json!({"message": msg, "url": ""}).to_string(),
        )
    };
    let m = Mock::start(echo);
    let s = setup();
    let out_file = s.dir.path().join("github_output");
    let mut outputs = Vec::new();
    for format in ["text", "json"] {
        let out = run(forge_cmd(&m, &s).env("GITHUB_OUTPUT", &out_file).args([
            "--format",
            format,
            "--api-retries",
            "0",
        ]));
        assert_eq!(out.code, 2, "{}", out.all());
        assert!(out.all().contains("forgejo.unauthorized"), "{}", out.all());
        outputs.push(out.all());
    }
    outputs.push(std::fs::read_to_string(&out_file).unwrap_or_default());
    let lower = TOKEN.to_lowercase();
    for o in &outputs {
        let o = o.to_lowercase();
        for len in [8usize] {
            for start in 0..=lower.len() - len {
                let piece = &lower[start..start + len];
                assert!(
                    !o.contains(piece),
                    "a piece of the token ({piece}) leaked: {o}"
                );
            }
        }
    }
}

/// The token is sent only over TLS, or to this machine.
#[test]
fn a_plain_http_api_url_is_refused_except_for_loopback() {
    for url in [
        "http://forgejo.example/api/v1",
        "http://10.0.0.8:3000/api/v1",
        "http://127.0.0.1.nip.example/api/v1",
        "HTTP://forgejo.example/api/v1",
    ] {
        let out = run(gate("canary_required")
            .env("GITHUB_API_URL", url)
            .env("GITHUB_REPOSITORY", "o/r")
            .env("GITHUB_TOKEN", TOKEN)
            .args([
                "--forgejo",
                "--pr",
                "7",
                "--api-retries",
                "0",
                "--api-timeout",
                "1",
            ]));
        refused(&out, "error[forgejo.config]");
        assert!(out.stderr.contains("https://"), "{url}: {}", out.stderr);
    }
    // Loopback: 127.0.0.0/8, [::1] and localhost may use plain http (tests, a local proxy).
    let m = Mock::start(healthy(full_body(), &["tier/full"], 2));
    let s = setup();
    let port = m.addr.rsplit(':').next().unwrap().to_string();
    for host in ["127.0.0.1", "localhost"] {
        let out =
            run(forge_cmd(&m, &s).env("GITHUB_API_URL", format!("http://{host}:{port}/api/v1")));
        assert_eq!(out.code, 0, "{host}: {}", out.all());
    }
}

fn forge_cmd(m: &Mock, s: &Setup) -> Command {
    forge(m, s)
}

fn forge_cmd_policy(m: &Mock, policy: &Path) -> Command {
    let mut cmd = gate("canary_required");
    cmd.env("GITHUB_API_URL", m.api())
        .env("GITHUB_REPOSITORY", "o/r")
        .env("GITHUB_TOKEN", TOKEN)
        .args(["--forgejo", "--pr", "7"])
        .arg("--policy")
        .arg(policy);
    cmd
}
