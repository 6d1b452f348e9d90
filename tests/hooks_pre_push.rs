//! `hooks/pre-push`, installed with the documented one-liner into a throwaway platform
//! repository, run by a real `git push` to a bare remote. What reaches the remote is the proof:
//! a refused push leaves the branch absent there.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use tempfile::TempDir;

fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Repo {
    tmp: TempDir,
    work: PathBuf,
    bin: PathBuf,
}

struct Out {
    ok: bool,
    text: String,
}

impl Repo {
    /// A platform repository with `main` pushed to a bare `origin`, the hook installed, and
    /// a bin directory with this build's gates.
    fn new() -> Repo {
        let tmp = tempfile::Builder::new().prefix("hook").tempdir().unwrap();
        let work = tmp.path().join("work");
        let bin = tmp.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(tmp.path().join("home")).unwrap();
        for (name, exe) in [
            ("canary_required", env!("CARGO_BIN_EXE_canary_required")),
            ("lint_workflows", env!("CARGO_BIN_EXE_lint_workflows")),
        ] {
            std::os::unix::fs::symlink(exe, bin.join(name)).unwrap();
        }
        let r = Repo { tmp, work, bin };
        r.git_in(
            r.tmp.path(),
            &["init", "-q", "--bare", "-b", "main", "origin.git"],
        );
        r.git_in(r.tmp.path(), &["clone", "-q", "origin.git", "work"]);
        copy_dir(&project().join("fixtures/modules"), &r.work.join("modules"));
        copy_dir(
            &project().join(".forgejo/workflows"),
            &r.work.join(".forgejo/workflows"),
        );
        r.git(&["checkout", "-q", "-b", "main"]);
        r.git(&["add", "--all"]);
        r.git(&["commit", "-q", "-m", "the platform"]);
        r.git(&["push", "-q", "origin", "main"]);
        r.git(&["remote", "set-head", "origin", "main"]);
        // The documented install, verbatim (docs/workflows.md).
        let hook = project().join("hooks/pre-push");
        let hooks_dir = r.git(&["rev-parse", "--git-path", "hooks"]);
        let hooks_dir = r.work.join(hooks_dir);
        std::fs::create_dir_all(&hooks_dir).unwrap();
        std::os::unix::fs::symlink(&hook, hooks_dir.join("pre-push")).unwrap();
        assert!(
            std::fs::metadata(&hook).unwrap().permissions().mode() & 0o111 != 0,
            "hooks/pre-push must be executable"
        );
        r
    }

    fn cmd(&self, dir: &Path, args: &[&str]) -> Command {
        let mut c = Command::new("git");
        c.args(args)
            .current_dir(dir)
            .env_clear()
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    self.bin.display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .env("HOME", self.tmp.path().join("home"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "agent")
            .env("GIT_AUTHOR_EMAIL", "agent@example.invalid")
            .env("GIT_COMMITTER_NAME", "agent")
            .env("GIT_COMMITTER_EMAIL", "agent@example.invalid")
            .stdin(Stdio::null());
        c
    }

    fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.cmd(dir, args).output().unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn git(&self, args: &[&str]) -> String {
        self.git_in(&self.work, args)
    }

    fn write(&self, rel: &str, content: &str) {
        let p = self.work.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    /// A `feature` branch with `files` committed.
    fn branch(&self, files: &[(&str, &str)]) {
        self.git(&["checkout", "-q", "-b", "feature", "main"]);
        for (p, c) in files {
            self.write(p, c);
        }
        self.git(&["add", "--all"]);
        self.git(&["commit", "-q", "-m", "the change"]);
    }

    fn body(&self, text: &str) {
        let git_dir = self.git(&["rev-parse", "--git-dir"]);
        std::fs::write(self.work.join(git_dir).join("PR_BODY.md"), text).unwrap();
    }

    fn push(&self, env: &[(&str, &str)]) -> Out {
        let mut c = self.cmd(&self.work, &["push", "origin", "feature"]);
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        Out {
            ok: out.status.success(),
            text: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }

    fn remote_has_feature(&self) -> bool {
        !self
            .git(&["ls-remote", "origin", "refs/heads/feature"])
            .is_empty()
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), t).unwrap();
        }
    }
}

fn full_body() -> String {
    std::fs::read_to_string(project().join("tests/fixtures/canary/full-pack.md")).unwrap()
}

#[test]
fn a_risky_change_without_a_pack_is_not_pushed() {
    let r = Repo::new();
    r.branch(&[("modules/web-app/compose.yaml", "services: {}\n")]);
    let out = r.push(&[]);
    assert!(!out.ok, "{}", out.text);
    assert!(out.text.contains("no pull-request body at"), "{}", out.text);
    assert!(out.text.contains("canary_required: FAIL"), "{}", out.text);
    assert!(
        out.text.contains("error[canary.body.empty]"),
        "{}",
        out.text
    );
    assert!(out.text.contains("push refused"), "{}", out.text);
    assert!(!r.remote_has_feature());
}

#[test]
fn a_risky_change_with_a_full_pack_is_pushed() {
    let r = Repo::new();
    r.branch(&[("modules/web-app/compose.yaml", "services: {}\n")]);
    r.body(&full_body());
    let out = r.push(&[("GATES_PR_LABELS", "tier/full")]);
    assert!(out.ok, "{}", out.text);
    assert!(out.text.contains("canary_required: PASS"), "{}", out.text);
    assert!(r.remote_has_feature());
}

#[test]
fn an_unsafe_workflow_is_not_pushed_even_with_a_full_pack() {
    let r = Repo::new();
    r.branch(&[(
        ".forgejo/workflows/greet.yml",
        "on: pull_request\njobs:\n  a:\n    runs-on: gates\n    steps:\n      - run: echo \"${{ github.event.pull_request.title }}\"\n",
    )]);
    r.body(&full_body());
    let out = r.push(&[("GATES_PR_LABELS", "tier/full")]);
    assert!(!out.ok, "{}", out.text);
    assert!(out.text.contains("lint_workflows: FAIL"), "{}", out.text);
    assert!(out.text.contains("lint.template_injection"), "{}", out.text);
    assert!(
        out.text.contains(".forgejo/workflows/greet.yml"),
        "{}",
        out.text
    );
    assert!(!r.remote_has_feature());
}

#[test]
fn the_rules_come_from_the_base_not_the_branch() {
    let r = Repo::new();
    // The branch declares that only schema/** is risky; the base has no policy (built-in).
    r.branch(&[
        (
            ".forgejo/gates.yml",
            "canary:\n  risky_paths: [\"schema/**\"]\n",
        ),
        ("modules/web-app/compose.yaml", "services: {}\n"),
    ]);
    let out = r.push(&[]);
    assert!(!out.ok, "{}", out.text);
    assert!(out.text.contains("canary_required: FAIL"), "{}", out.text);
    assert!(!r.remote_has_feature());
}

#[test]
fn a_safe_change_outside_risky_paths_is_pushed_without_a_body() {
    let r = Repo::new();
    r.branch(&[("docs/notes.md", "notes\n")]);
    let out = r.push(&[]);
    assert!(out.ok, "{}", out.text);
    assert!(out.text.contains("canary_required: PASS"), "{}", out.text);
    assert!(r.remote_has_feature());
}

#[test]
fn a_missing_gate_fails_the_push() {
    let r = Repo::new();
    r.branch(&[("docs/notes.md", "notes\n")]);
    std::fs::remove_file(r.bin.join("lint_workflows")).unwrap();
    // PATH keeps the system directories only, where no gate is installed.
    let out = r.push(&[(
        "PATH",
        &format!("{}:/usr/local/bin:/usr/bin:/bin", r.bin.display()),
    )]);
    assert!(!out.ok, "{}", out.text);
    assert!(
        out.text.contains("lint_workflows is not on PATH"),
        "{}",
        out.text
    );
    assert!(!r.remote_has_feature());
}
