//! A known token in every variable a runner may hold it in, and every binary driven through
//! its success and error paths: the token appears in no output, no step output, no record line
//! and no comment or status posted to the forge.

mod common;
#[path = "canary_mock.rs"]
mod mock;

use common::platform::{Platform, refs};
use mock::{Mock, Request, Response, files_page, pull};
use std::path::Path;
use std::process::Command;

const TOKEN: &str = "tok_SECRET_77aa0f3c9e1b4d5a8c2e6f0b1d3a5c7e";

/// The token in every place it could be read from, plus step outputs captured in `dir`.
fn with_token<'a>(cmd: &'a mut Command, dir: &Path) -> &'a mut Command {
    cmd.env("GITHUB_TOKEN", TOKEN)
        .env("FORGEJO_TOKEN", TOKEN)
        .env("GITEA_TOKEN", TOKEN)
        .env("ACTIONS_RUNTIME_TOKEN", TOKEN)
        .env("GITHUB_OUTPUT", dir.join("github_output"))
}

fn decision_log() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_decision_log"));
    cmd.env_clear();
    if let Ok(v) = std::env::var("PATH") {
        cmd.env("PATH", v);
    }
    cmd
}

fn full_body() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/canary/full-pack.md"),
    )
    .unwrap()
}

#[test]
fn no_binary_ever_shows_the_token() {
    let p = Platform::new();
    let dir = p.tmp.path().to_path_buf();
    let log = dir.join("decisions.log");
    let log_s = log.to_str().unwrap();
    let modules = p.modules.to_str().unwrap();
    let policy = p.policy.to_str().unwrap();
    let mut seen: Vec<(String, i32)> = Vec::new();
    let mut go = |what: &str, cmd: &mut Command| {
        let out = common::run(with_token(cmd, &dir));
        seen.push((format!("{what}\n{}", out.all()), out.code));
    };
    let base = |bin: &str| {
        let mut c = common::gate(bin);
        c.args([
            "--modules-dir",
            modules,
            "--policy",
            policy,
            "--now",
            common::platform::NOW,
        ])
        .current_dir(&dir);
        c
    };
    let backup = p.real_backup();
    let dispatch = Platform::dispatch_args(&backup);
    for format in ["text", "json"] {
        let f = ["--format", format, "--record", log_s];
        // auto_apply_scope: eligible, blocked, error; one-shot: allow, noop, deny, error.
        go(
            "scope eligible",
            base("auto_apply_scope")
                .args(["--module", "web-app"])
                .args(f),
        );
        go(
            "scope blocked",
            base("auto_apply_scope")
                .args(["--module", "traefik"])
                .args(f),
        );
        go(
            "scope error",
            base("auto_apply_scope")
                .args(["--module", "Not_An_Id"])
                .args(f),
        );
        go(
            "scope stateful",
            base("auto_apply_scope").args(refs(&dispatch)).args(f),
        );
        let changed = Platform::plan("../changed-files/pr-mixed.txt");
        // Pull-request mode: from the repository root, --modules-dir repository-relative.
        go(
            "scope pr",
            common::gate("auto_apply_scope")
                .args(["--policy", policy, "--now", common::platform::NOW])
                .current_dir(common::platform::fixtures())
                .arg("--changed-files")
                .arg(&changed)
                .args(f),
        );
        for plan in [
            "minio-init-exited.json",
            "minio-init-noop.json",
            "minio-init-foreign-service.json",
        ] {
            go(
                plan,
                base("allow_one_shot_stateful_apply")
                    .arg("--plan")
                    .arg(Platform::plan(plan))
                    .args(refs(&dispatch))
                    .args(f),
            );
        }
        go(
            "one-shot error",
            base("allow_one_shot_stateful_apply")
                .args(["--plan", "/nonexistent/plan.json"])
                .args(refs(&dispatch))
                .args(f),
        );
        // lint_workflows: pass, fail, error.
        let lint = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lint/schema");
        for file in [
            "pass-forgejo-constructs.yml",
            "fail-a-list.yml",
            "missing.yml",
        ] {
            go(
                file,
                common::gate("lint_workflows")
                    .arg(lint.join(file))
                    .args(["--format", format, "--record", log_s])
                    .current_dir(&dir),
            );
        }
        // canary_required from files: pass, fail, error.
        let body = p.file("body.md", full_body().as_bytes());
        let empty = p.file("empty.md", b"nothing here\n");
        let files = p.file("changed.txt", b"modules/minio-init/module.yaml\n");
        for (what, b) in [("canary pass", &body), ("canary fail", &empty)] {
            go(
                what,
                common::gate("canary_required")
                    .arg("--body")
                    .arg(b)
                    .arg("--changed-files")
                    .arg(&files)
                    .args([
                        "--labels",
                        "tier/full",
                        "--policy",
                        policy,
                        "--format",
                        format,
                        "--record",
                        log_s,
                    ])
                    .current_dir(&dir),
            );
        }
        go(
            "canary error",
            common::gate("canary_required")
                .args(["--body", "/nonexistent", "--changed-files", "/nonexistent"])
                .args(["--format", format, "--record", log_s])
                .current_dir(&dir),
        );
    }
    // canary_required against the API, posting a status and a comment; the server echoes
    // the Authorization header in its answers.
    let body = full_body();
    let m = Mock::start(move |req: &Request| {
        let auth = req.header("authorization").unwrap_or("").to_string();
        match (req.method.as_str(), req.path()) {
            ("GET", "/api/v1/repos/o/r/pulls/7") => {
                Response::json(200, pull(7, &body, &["tier/full"]))
            }
            ("GET", "/api/v1/repos/o/r/pulls/7/files") => Response::json(
                200,
                // Not a module: its manifest would be read at the base commit with git.
                files_page(&["compose/core/compose.yaml".to_string()]),
            )
            .with_header("X-Total-Count", "1"),
            ("GET", "/api/v1/repos/o/r/issues/7/comments") => Response::json(200, "[]"),
            ("POST", _) => {
                Response::json(201, serde_json::json!({"id": 5, "echo": auth}).to_string())
            }
            _ => Response::json(404, serde_json::json!({"message": auth}).to_string()),
        }
    });
    for format in ["text", "json"] {
        go(
            "canary api",
            common::gate("canary_required")
                .env("GITHUB_API_URL", m.api())
                .env("GITHUB_REPOSITORY", "o/r")
                .args([
                    "--forgejo",
                    "--pr",
                    "7",
                    "--post-status",
                    "--comment",
                    "--api-retries",
                    "0",
                ])
                .args(["--policy", policy, "--format", format, "--record", log_s])
                .current_dir(&dir),
        );
        go(
            "canary api error",
            common::gate("canary_required")
                .env("GITHUB_API_URL", m.api())
                .env("GITHUB_REPOSITORY", "o/r")
                .args(["--forgejo", "--pr", "8", "--api-retries", "0"])
                .args(["--policy", policy, "--format", format, "--record", log_s])
                .current_dir(&dir),
        );
    }
    // decision_log: verify and replay, intact and broken.
    go("verify", decision_log().args(["verify", log_s]));
    go("replay", decision_log().args(["replay", "--all", log_s]));
    let broken = p.file("broken.log", b"{}\n");
    go(
        "verify broken",
        decision_log().args(["verify", broken.to_str().unwrap()]),
    );
    go(
        "replay broken",
        decision_log().args(["replay", broken.to_str().unwrap()]),
    );

    // Every path was taken: each exit code of the table occurred.
    let codes: Vec<i32> = seen.iter().map(|(_, c)| *c).collect();
    for code in [0, 1, 2, 3] {
        assert!(codes.contains(&code), "no run exited {code}: {codes:?}");
    }
    // The forge saw the token in headers, and never in what was posted.
    let posted: Vec<String> = m
        .requests()
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| r.body.clone())
        .collect();
    assert!(!posted.is_empty(), "nothing was posted");
    assert!(
        m.requests()
            .iter()
            .any(|r| r.header("authorization") == Some(&format!("token {TOKEN}"))),
        "the token was not used at all, so this test proves nothing about it"
    );
    let mut texts: Vec<String> = seen.into_iter().map(|(t, _)| t).collect();
    texts.extend(posted);
    texts.push(std::fs::read_to_string(&log).unwrap());
    texts.push(std::fs::read_to_string(dir.join("github_output")).unwrap());
    for t in &texts {
        assert!(!t.contains(TOKEN), "token leaked:\n{t}");
        assert!(
            !t.contains("77aa0f3c9e1b4d5a"),
            "part of the token leaked:\n{t}"
        );
    }
}
