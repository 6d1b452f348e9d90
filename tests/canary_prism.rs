#![cfg(feature = "forgejo-api")]
//! The Forgejo client against Forgejo's own API description: Stoplight Prism serves a mock
//! built from `../shared/forgejo-api/swagger.v1.json` and validates every request against it
//! (path, method, path and query parameters, the token header, the JSON body). The gate talks
//! to a recording proxy (tests/canary_mock.rs) that forwards each request to Prism, keeps
//! Prism's verdict, and fills in the few answer fields the gate cross-checks (the pull
//! request's number, commit ids, the file count) where Prism's generated values are
//! placeholders. Any request Prism rejects (422 validation, 404 unknown route, 401 no token)
//! fails the test.
//!
//! Prism is pinned in `tests/prism/package-lock.json`; `.ci/run` installs it into
//! `target/prism`, and this test does the same (`npm ci`) when it is not there yet. Faults
//! the spec cannot express (hangs, short pages, echoed tokens) stay in tests/canary_api.rs.
//!
//! The swagger is not in this repository: both tests are ignored by a plain `cargo test`,
//! saying why, and run by `.ci/run` (`-- --ignored`), which fails when they did not run.

mod common;
#[path = "canary_mock.rs"]
mod mock;

use common::{gate, run};
use forgejo_gates::forgejo::Endpoint;
use mock::{Mock, Request, Response};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOKEN: &str = "tok_prism_0123456789abcdef";

fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn spec_path() -> PathBuf {
    project().join("../shared/forgejo-api/swagger.v1.json")
}

fn spec() -> Value {
    let text = std::fs::read_to_string(spec_path()).expect("../shared/forgejo-api/swagger.v1.json");
    serde_json::from_str(&text).expect("the swagger is JSON")
}

/// The pinned Prism in `target/prism`, installed with `npm ci` from the lock file if absent.
fn prism_bin() -> PathBuf {
    let dir = project().join("target/prism");
    let bin = dir.join("node_modules/.bin/prism");
    if bin.exists() {
        return bin;
    }
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["package.json", "package-lock.json"] {
        std::fs::copy(project().join("tests/prism").join(f), dir.join(f)).unwrap();
    }
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts"])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .output()
        .expect("npm runs (node and npm are needed for this test)");
    assert!(
        out.status.success(),
        "npm ci of the pinned Prism failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(bin.exists(), "npm ci did not install {}", bin.display());
    bin
}

/// Prism, running; killed when dropped (also when the test fails).
struct Prism {
    child: Child,
    port: u16,
}

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prism {
    fn start() -> Prism {
        let bin = prism_bin();
        // A free port now; if another process takes it first, Prism fails and we try again.
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut child = Command::new(&bin)
                .args([
                    "mock",
                    "--errors",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &port.to_string(),
                ])
                .arg(spec_path())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start prism");
            let stdout = child.stdout.take().unwrap();
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let mut seen = String::new();
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if line.contains("Prism is listening") {
                        let _ = tx.send(Ok(()));
                    }
                    if line.contains("error") || line.contains("fatal") {
                        seen.push_str(&line);
                        seen.push('\n');
                    }
                }
                let _ = tx.send(Err(seen));
            });
            let prism = Prism { child, port };
            match rx.recv_timeout(Duration::from_secs(120)) {
                Ok(Ok(())) => return prism,
                Ok(Err(log)) => eprintln!("prism exited before listening on {port}: {log}"),
                Err(_) => panic!("prism did not start within 120 s"),
            }
        }
        panic!("prism could not be started (see the lines above)");
    }
}

/// One answer from Prism, read whole (HTTP/1.0, so no chunked encoding).
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn forward(port: u16, req: &Request, target: &str) -> Answer {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to prism");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut head = format!(
        "{} {target} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n",
        req.method
    );
    for (k, v) in &req.headers {
        if !["host", "connection", "content-length"].contains(&k.to_ascii_lowercase().as_str()) {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        req.body.len()
    ));
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(req.body.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete HTTP answer");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

/// Which of the client's endpoints a request is, by method and path template.
fn endpoint_of(method: &str, path: &str) -> Option<Endpoint> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    Endpoint::ALL.into_iter().find(|e| {
        let t: Vec<&str> = e.template().trim_matches('/').split('/').collect();
        e.method() == method
            && t.len() == segs.len()
            && t.iter()
                .zip(&segs)
                .all(|(t, s)| (t.starts_with('{') && !s.is_empty()) || t == s)
    })
}

/// What Prism said to one request.
#[derive(Debug, Clone)]
struct Verdict {
    method: String,
    target: String,
    endpoint: Option<Endpoint>,
    status: u16,
    answer: String,
}

/// How the proxy shapes the answers of one run.
#[derive(Clone)]
struct Scenario {
    body: String,
    /// The comments list holds one comment by the token's own account with the marker.
    own_comment: bool,
}

fn proxy(prism: u16, verdicts: Arc<Mutex<Vec<Verdict>>>, sc: Arc<Mutex<Scenario>>) -> Mock {
    let user_id: Arc<Mutex<Option<i64>>> = Arc::default();
    Mock::start(move |req: &Request| {
        let target = req
            .target
            .strip_prefix("/api/v1")
            .unwrap_or(&req.target)
            .to_string();
        let a = forward(prism, req, &target);
        let path = target.split('?').next().unwrap_or("").to_string();
        let endpoint = endpoint_of(&req.method, &path);
        verdicts.lock().unwrap().push(Verdict {
            method: req.method.clone(),
            target: target.clone(),
            endpoint,
            status: a.status,
            answer: String::from_utf8_lossy(&a.body).chars().take(600).collect(),
        });
        let mut headers: Vec<(String, String)> = a
            .headers
            .iter()
            .filter(|(k, _)| {
                ![
                    "content-length",
                    "connection",
                    "keep-alive",
                    "transfer-encoding",
                ]
                .contains(&k.to_ascii_lowercase().as_str())
            })
            .cloned()
            .collect();
        if !(200..300).contains(&a.status) {
            return Response {
                status: a.status,
                headers,
                body: a.body,
                hang: None,
            };
        }
        let sc = sc.lock().unwrap().clone();
        let mut v: Value = serde_json::from_slice(&a.body).unwrap_or(Value::Null);
        match endpoint {
            Some(Endpoint::GetUser) => {
                *user_id.lock().unwrap() = v["id"].as_i64();
            }
            Some(Endpoint::GetPull) => {
                v["number"] = json!(7);
                v["body"] = json!(sc.body);
                v["labels"] = json!([{"id": 1, "name": "tier/full", "color": "ee0701"}]);
                v["head"]["sha"] = json!("a".repeat(40));
                v["base"]["sha"] = json!("b".repeat(40));
            }
            Some(Endpoint::ListPullFiles) => {
                let n = v.as_array().map_or(0, Vec::len);
                headers.retain(|(k, _)| !k.eq_ignore_ascii_case("x-total-count"));
                headers.push(("X-Total-Count".into(), n.to_string()));
                for item in v.as_array_mut().into_iter().flatten() {
                    item["filename"] = json!("compose/core/compose.yaml");
                    item["previous_filename"] = json!("");
                }
            }
            Some(Endpoint::ListComments) => {
                for item in v.as_array_mut().into_iter().flatten() {
                    if sc.own_comment {
                        item["body"] = json!("<!-- forgejo-gates:canary_required -->\nold");
                        item["user"]["id"] = json!(*user_id.lock().unwrap());
                    } else {
                        item["body"] = json!("a comment by someone");
                    }
                    item["id"] = json!(55);
                }
            }
            _ => {}
        }
        Response {
            status: a.status,
            headers,
            body: v.to_string().into_bytes(),
            hang: None,
        }
    })
}

fn canary(m: &Mock, dir: &Path, extra: &[&str]) -> common::Run {
    let policy = dir.join("policy.yml");
    std::fs::write(&policy, "version: 1\n").unwrap();
    run(gate("canary_required")
        .current_dir(dir)
        .env("GITHUB_API_URL", m.api())
        .env("GITHUB_REPOSITORY", "o/r")
        .env("GITHUB_TOKEN", TOKEN)
        .args([
            "--forgejo",
            "--pr",
            "7",
            "--api-retries",
            "0",
            "--api-timeout",
            "30",
        ])
        .arg("--policy")
        .arg(&policy)
        .args(extra))
}

/// Every endpoint the client can call, and every request of the runs below, is valid for
/// Forgejo's API description as Prism reads it.
#[test]
#[ignore = "reads ../shared/forgejo-api/swagger.v1.json; run by .ci/run, or with -- --include-ignored"]
fn every_request_the_client_sends_is_valid_for_the_forgejo_spec() {
    let prism = Prism::start();
    let verdicts: Arc<Mutex<Vec<Verdict>>> = Arc::default();
    let sc = Arc::new(Mutex::new(Scenario {
        body: "## What changed\nx\n".into(),
        own_comment: false,
    }));
    let m = proxy(prism.port, verdicts.clone(), sc.clone());
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();

    // The check fails (a lite body where full is needed): status `failure`, a new comment.
    let out = canary(&m, dir.path(), &["--post-status", "--comment"]);
    assert_eq!(out.code, 1, "{}", out.all());
    // The gate's own comment exists: it is edited.
    sc.lock().unwrap().own_comment = true;
    let out = canary(&m, dir.path(), &["--post-status", "--comment"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stdout.contains("updated comment 55"), "{}", out.stdout);
    // The gate cannot evaluate (oversized body): status `error`, and the comment says so.
    sc.lock().unwrap().body = format!("Canary status: passed\n\n{}", "word ".repeat(220_000));
    let out = canary(&m, dir.path(), &["--post-status", "--comment"]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("canary.body.too_large"),
        "{}",
        out.stderr
    );

    let v = verdicts.lock().unwrap().clone();
    for r in &v {
        assert!(
            (200..300).contains(&r.status),
            "Prism rejected {} {} with {}: {}",
            r.method,
            r.target,
            r.status,
            r.answer
        );
        assert!(r.endpoint.is_some(), "not a known endpoint: {r:?}");
    }
    for e in Endpoint::ALL {
        assert!(
            v.iter().any(|r| r.endpoint == Some(e)),
            "{} {} was never exercised against Prism: {v:#?}",
            e.method(),
            e.template()
        );
    }
    let states: Vec<String> = v
        .iter()
        .filter(|r| r.endpoint == Some(Endpoint::CreateStatus))
        .map(|r| r.target.clone())
        .collect();
    assert_eq!(states.len(), 3, "{states:?}");
    eprintln!(
        "{} requests validated by Prism in {:.1} s",
        v.len(),
        started.elapsed().as_secs_f64()
    );

    // The harness can fail: Prism does reject what the spec does not allow.
    let bad = |method: &str, target: &str, body: &str| {
        let req = Request {
            method: method.into(),
            target: target.into(),
            headers: vec![
                ("Authorization".into(), format!("token {TOKEN}")),
                ("Content-Type".into(), "application/json".into()),
            ],
            body: body.into(),
        };
        forward(prism.port, &req, target).status
    };
    assert_eq!(
        bad("GET", "/repos/o/r/pulls/7/files?page=x&limit=50", ""),
        422
    );
    assert_eq!(bad("GET", "/repos/o/r/pulls/seven", ""), 422);
    assert_eq!(bad("POST", "/repos/o/r/issues/7/comments", "{}"), 422);
    assert_eq!(bad("GET", "/repos/o/r/pull/7", ""), 404);
    let anonymous = Request {
        method: "GET".into(),
        target: "/user".into(),
        headers: Vec::new(),
        body: String::new(),
    };
    assert_eq!(forward(prism.port, &anonymous, "/user").status, 401);
}

/// Without Prism: each endpoint's method and path template, and each query parameter the
/// client sends, are in the swagger (a quick check that names the endpoint when it fails).
#[test]
#[ignore = "reads ../shared/forgejo-api/swagger.v1.json; run by .ci/run, or with -- --include-ignored"]
fn every_endpoint_is_in_the_swagger() {
    let spec = spec();
    assert_eq!(spec["basePath"], "/api/v1");
    for e in Endpoint::ALL {
        let op = &spec["paths"][e.template()][e.method().to_ascii_lowercase()];
        assert!(
            op.is_object(),
            "{} {} is not in the spec",
            e.method(),
            e.template()
        );
        let params: Vec<&str> = op["parameters"]
            .as_array()
            .map(|a| a.iter().filter_map(|p| p["name"].as_str()).collect())
            .unwrap_or_default();
        for q in e.query() {
            assert!(
                params.contains(q),
                "{} {}: no parameter {q}",
                e.method(),
                e.template()
            );
        }
    }
}
