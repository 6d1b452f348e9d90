//! Shared helpers for CLI tests: run a binary with a clean environment (no inherited
//! `GITHUB_*`/`FORGEJO_*`), capture its output and exit code.
#![allow(dead_code)]

pub mod backup;
pub mod platform;

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// A command for one of the package's binaries, with the runner environment cleared.
pub fn gate(bin: &str) -> Command {
    let path = match bin {
        "auto_apply_scope" => env!("CARGO_BIN_EXE_auto_apply_scope"),
        "allow_one_shot_stateful_apply" => env!("CARGO_BIN_EXE_allow_one_shot_stateful_apply"),
        "canary_required" => env!("CARGO_BIN_EXE_canary_required"),
        "lint_workflows" => env!("CARGO_BIN_EXE_lint_workflows"),
        "restore_drill" => env!("CARGO_BIN_EXE_restore_drill"),
        "backup_before_apply" => env!("CARGO_BIN_EXE_backup_before_apply"),
        other => panic!("unknown binary {other}"),
    };
    let mut cmd = Command::new(path);
    cmd.env_clear();
    for keep in ["PATH", "HOME", "TMPDIR", "LANG"] {
        if let Ok(v) = std::env::var(keep) {
            cmd.env(keep, v);
        }
    }
    cmd.stdin(Stdio::null());
    cmd
}

/// The result of a run, with text decoded.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

pub fn run(cmd: &mut Command) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("binary runs");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// Run with the working directory set.
pub fn run_in(dir: &Path, cmd: &mut Command) -> Run {
    cmd.current_dir(dir);
    run(cmd)
}

/// Run `git` in `dir` with a fixed identity and no signing, `input` on stdin; asserts success
/// and returns the trimmed stdout.
pub fn git(dir: &Path, args: &[&str], input: &str) -> String {
    use std::io::Write;
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("git runs");
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.as_bytes())
            .expect("write git's stdin");
    }
    let out = child.wait_with_output().expect("git finishes");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
