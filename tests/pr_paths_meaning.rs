//! The pull-request side read the way git reads it: `canary_required` and
//! `auto_apply_scope --changed-files` see every change git knows about, whatever the
//! repository's configuration or the pull request's own `.gitmodules` says, and the gates'
//! own files always need a full canary pack.

mod common;

use common::{gate, run_in};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn write(dir: &Path, name: &str, text: &str) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn git(dir: &Path, args: &[&str]) -> String {
    common::git(dir, args, "")
}

fn fixture_manifest(id: &str) -> String {
    std::fs::read_to_string(project().join(format!("fixtures/modules/{id}/module.yaml"))).unwrap()
}

/// Two submodule commits the gitlink `modules/vault` points at (they need not exist here).
const VAULT_OLD: &str = "1111111111111111111111111111111111111111";
const VAULT_NEW: &str = "2222222222222222222222222222222222222222";

/// A platform repository in `<tmp>/repo`: on `main` (tagged `base`) the stateful module
/// `postgres` (a folder), the stateless `web-app`, `shared/pg/compose.yml`, and `vault`, a
/// module that is a submodule (a gitlink with its `.gitmodules` entry); then `change` on
/// `feature` (the head, left checked out), which stages what it changes itself.
fn repo(change: impl FnOnce(&Path)) -> (tempfile::TempDir, PathBuf) {
    repo_with(|_| {}, change)
}

/// [`repo`], with `base` run on the base's files before they are committed.
fn repo_with(base: impl FnOnce(&Path), change: impl FnOnce(&Path)) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let d = repo.as_path();
    std::fs::create_dir(d).unwrap();
    git(d, &["init", "-q"]);
    write(
        d,
        "modules/postgres/module.yaml",
        &fixture_manifest("postgres"),
    );
    write(d, "modules/postgres/compose.yml", "services: {db: {}}\n");
    write(
        d,
        "modules/web-app/module.yaml",
        &fixture_manifest("web-app"),
    );
    write(d, "modules/web-app/compose.yaml", "services: {web: {}}\n");
    write(d, "shared/pg/compose.yml", "services: {}\n");
    write(d, "README.md", "platform\n");
    write(
        d,
        ".gitmodules",
        "[submodule \"vault\"]\n\tpath = modules/vault\n\turl = ./vault.git\n",
    );
    std::fs::create_dir_all(d.join("modules/vault")).unwrap();
    base(d);
    git(d, &["add", "-A"]);
    git(
        d,
        &[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("160000,{VAULT_OLD},modules/vault"),
        ],
    );
    git(d, &["commit", "-q", "-m", "base"]);
    git(d, &["tag", "base"]);
    git(d, &["checkout", "-q", "-b", "feature"]);
    change(d);
    git(d, &["commit", "-q", "--allow-empty", "-m", "head"]);
    (dir, repo)
}

fn bump_vault(d: &Path) {
    git(
        d,
        &[
            "update-index",
            "--cacheinfo",
            &format!("160000,{VAULT_NEW},modules/vault"),
        ],
    );
}

fn pack() -> String {
    std::fs::read_to_string(project().join("tests/fixtures/canary/full-pack.md")).unwrap()
}

/// `canary_required` in the repository on `base...feature` (`--git-diff`) or on a list;
/// returns the exit code, the JSON document and everything printed.
fn canary(repo: &Path, body: &str, args: &[&str]) -> (i32, Value, String) {
    std::fs::write(repo.join("../body.md"), body).unwrap();
    let out = run_in(
        repo,
        gate("canary_required")
            .args(["--body", "../body.md", "--format", "json"])
            .args(args),
    );
    let doc: Value = serde_json::from_str(&out.stdout).unwrap_or(Value::Null);
    (out.code, doc, out.all())
}

fn codes(doc: &Value) -> Vec<String> {
    doc["reasons"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|r| r["code"].as_str().unwrap_or("").to_string())
        .collect()
}

fn fact(doc: &Value, name: &str) -> String {
    doc["facts"][name].as_str().unwrap_or("").to_string()
}

/// `canary_required collect-diff` of `base...feature`: the list it writes.
fn collected(repo: &Path) -> Vec<String> {
    let out = run_in(
        repo,
        gate("canary_required").args([
            "collect-diff",
            "--git-diff",
            "base...feature",
            "--output",
            "../changed.z",
        ]),
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let list = std::fs::read(repo.join("../changed.z")).unwrap();
    String::from_utf8(list)
        .unwrap()
        .split_terminator('\0')
        .map(str::to_string)
        .collect()
}

/// The pull request's own `.gitmodules` (`ignore = all`) and the repository's
/// `diff.ignoreSubmodules` do not hide a submodule bump: git's configuration never decides
/// what the gates see.
#[test]
fn a_submodule_bump_is_seen_whatever_the_configuration_says() {
    let (_keep, repo) = repo(|d| {
        write(
            d,
            ".gitmodules",
            "[submodule \"vault\"]\n\tpath = modules/vault\n\turl = ./vault.git\n\tignore = all\n",
        );
        git(d, &["add", ".gitmodules"]);
        bump_vault(d);
    });
    assert_eq!(collected(&repo), vec![".gitmodules", "modules/vault"]);
    // The repository's own configuration, too.
    git(&repo, &["config", "diff.ignoreSubmodules", "all"]);
    git(&repo, &["config", "diff.relative", "true"]);
    assert_eq!(collected(&repo), vec![".gitmodules", "modules/vault"]);
    // The canary sees the bump too: a module it cannot classify, so it cannot evaluate
    // (not "only .gitmodules changed").
    let (code, _, all) = canary(&repo, &pack(), &["--git-diff", "base...feature"]);
    assert_eq!(code, 2, "{all}");
    assert!(all.contains("modules/vault is a submodule"), "{all}");
}

/// A module that is a submodule: its bump is the bare path `modules/vault` (a gitlink). It
/// touches the module for both gates; its class cannot be read at the base (git does not
/// enter a submodule), so the canary cannot evaluate it rather than asking for nothing.
#[test]
fn a_bare_gitlink_module_path_touches_the_module_for_both_gates() {
    let (_keep, repo) = repo(bump_vault);
    assert_eq!(collected(&repo), vec!["modules/vault"]);
    let (code, _, all) = canary(
        &repo,
        &pack(),
        &["--git-diff", "base...feature", "--base-ref", "base"],
    );
    assert_eq!(code, 2, "{all}");
    assert!(all.contains("manifest.missing"), "{all}");
    assert!(all.contains("`vault`"), "{all}");
    assert!(all.contains("submodule"), "{all}");
    // auto_apply_scope counts it the same way (and cannot read its manifest either).
    let out = run_in(
        &repo,
        gate("auto_apply_scope").args(["--changed-files", "../changed.z"]),
    );
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.all().contains("`vault`"), "{}", out.all());
}

/// A policy that calls nothing risky and forces nothing: the gates' own files still need a
/// full pack, and auto_apply_scope never reports them eligible.
const LAX_POLICY: &str = "version: 1\ncanary:\n  risky_paths: [\"nothing-here/**\"]\n  full_paths: []\n  default_tier: lite\ndispatch:\n  platform_paths: []\n";

#[test]
fn the_gates_own_files_always_need_a_full_pack() {
    for path in [
        ".forgejo/gates.yml",
        ".forgejo/workflows/ci.yml",
        ".forgejo/actions/deploy/action.yml",
        ".github/workflows/ci.yml",
        "tools/check/action.yaml",
        ".gitmodules",
    ] {
        let (_keep, repo) = repo(|d| {
            write(d, path, "# changed by the pull request\n");
            git(d, &["add", "-A", "--", path]);
        });
        // The base's policy is the lax one.
        let policy = repo.join("../base-policy.yml");
        std::fs::write(&policy, LAX_POLICY).unwrap();
        std::fs::write(repo.join("../list.z"), format!("{path}\0")).unwrap();
        let lite =
            std::fs::read_to_string(project().join("tests/fixtures/canary/lite-pack.md")).unwrap();
        let (code, doc, all) = canary(
            &repo,
            &lite,
            &[
                "--changed-files",
                "../list.z",
                "--policy",
                policy.to_str().unwrap(),
                "--labels",
                "tier/lite",
            ],
        );
        assert_eq!(code, 1, "{path}: {all}");
        assert_eq!(fact(&doc, "tier"), "full", "{path}: {all}");
        assert!(
            codes(&doc).contains(&"canary.gates_path".to_string()),
            "{path}: {all}"
        );
        let out = run_in(
            &repo,
            gate("auto_apply_scope").args([
                "--changed-files",
                "../list.z",
                "--policy",
                policy.to_str().unwrap(),
            ]),
        );
        assert_eq!(out.code, 1, "{path}: {}", out.all());
        assert!(out.stdout.contains("error[pr.gates_path]"), "{}", out.all());
    }
}

/// A pull request that rewrites its own stateful module's manifest to stateless is judged by
/// the base's manifest as well (the stricter counts); a module new in the pull request by its
/// head manifest; and under a pull-request event the base must be named.
#[test]
fn auto_apply_scope_judges_a_module_by_the_stricter_of_base_and_head() {
    let (_keep, repo) = repo(|d| {
        let stateless = fixture_manifest("web-app");
        write(
            d,
            "modules/postgres/module.yaml",
            &stateless.replace("name: web-app", "name: postgres"),
        );
        write(
            d,
            "modules/cache/module.yaml",
            &stateless.replace("name: web-app", "name: cache"),
        );
        git(d, &["add", "-A", "--", "modules"]);
    });
    std::fs::write(
        repo.join("../list.z"),
        "modules/postgres/module.yaml\0modules/cache/module.yaml\0",
    )
    .unwrap();
    let scope = |extra: &[&str]| {
        run_in(
            &repo,
            gate("auto_apply_scope")
                .args(["--changed-files", "../list.z"])
                .args(extra),
        )
    };
    let out = scope(&["--base-ref", "base"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout.contains("scopes: cache:auto,postgres:stateful"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("error[pr.module.stateful]"),
        "{}",
        out.stdout
    );
    // A base that is not a commit here cannot be read: exit 2, never the head alone.
    let out = scope(&["--base-ref", "no-such-ref"]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.all().contains("pr.git_failed"), "{}", out.all());
    // Under a pull-request event the base must be named.
    std::fs::write(repo.join("../policy.yml"), "version: 1\n").unwrap();
    let out = run_in(
        &repo,
        gate("auto_apply_scope")
            .env("GITHUB_EVENT_NAME", "pull_request")
            .args(["--changed-files", "../list.z", "--policy", "../policy.yml"]),
    );
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.all().contains("--base-ref"), "{}", out.all());
}

/// A plain list written with rename detection names a moved module under its new folder only.
/// The old folder is gone at the head and the list names none of its paths: refused (exit 2),
/// for both gates, rather than read as "the stateful module is untouched". The same change
/// listed with `--no-renames` is evaluated.
#[test]
fn a_list_written_with_rename_detection_is_refused() {
    let (_keep, repo) = repo(|d| {
        git(d, &["mv", "modules/postgres", "modules/pg2"]);
        write(
            d,
            "modules/pg2/module.yaml",
            &fixture_manifest("web-app").replace("name: web-app", "name: pg2"),
        );
        git(d, &["add", "-A", "--", "modules"]);
    });
    std::fs::write(
        repo.join("../renamed.txt"),
        "modules/pg2/compose.yml\nmodules/pg2/module.yaml\n",
    )
    .unwrap();
    let (code, _, all) = canary(
        &repo,
        &pack(),
        &["--changed-files", "../renamed.txt", "--base-ref", "base"],
    );
    assert_eq!(code, 2, "{all}");
    assert!(all.contains("input.changed_files_invalid"), "{all}");
    assert!(all.contains("`modules/postgres`"), "{all}");
    let out = run_in(
        &repo,
        gate("auto_apply_scope").args(["--changed-files", "../renamed.txt", "--base-ref", "base"]),
    );
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.all().contains("input.changed_files_invalid")
            && out.all().contains("`modules/postgres`"),
        "{}",
        out.all()
    );
    // Written with --no-renames, the old module is named: its base class asks for evidence.
    let full = git(
        &repo,
        &["diff", "--no-renames", "--name-only", "base...feature"],
    );
    assert!(full.contains("modules/postgres/module.yaml"), "{full}");
    std::fs::write(repo.join("../full.txt"), format!("{full}\n")).unwrap();
    let (code, doc, all) = canary(
        &repo,
        &pack(),
        &["--changed-files", "../full.txt", "--base-ref", "base"],
    );
    assert_eq!(code, 1, "{all}");
    assert!(
        codes(&doc).contains(&"canary.evidence.missing".to_string()),
        "{all}"
    );
}

/// A module's symbolic link to a file (or a folder) outside it: a pull request that changes
/// only the link's target changes the module, for both gates.
#[test]
fn a_change_reaching_a_module_through_its_symbolic_link_touches_the_module() {
    let (_keep, repo) = repo_with(
        |d| {
            std::fs::remove_file(d.join("modules/postgres/compose.yml")).unwrap();
            std::os::unix::fs::symlink(
                "../../shared/pg/compose.yml",
                d.join("modules/postgres/compose.yml"),
            )
            .unwrap();
            write(d, "shared/web/nginx.conf", "server {}\n");
            std::os::unix::fs::symlink("../../shared/web", d.join("modules/web-app/conf")).unwrap();
        },
        |d| {
            write(
                d,
                "shared/pg/compose.yml",
                "services: {db: {image: pg17}}\n",
            );
            git(d, &["add", "-A", "--", "shared"]);
        },
    );
    let (code, doc, all) = canary(
        &repo,
        &pack(),
        &["--git-diff", "base...feature", "--base-ref", "base"],
    );
    assert_eq!(code, 1, "{all}");
    assert!(
        codes(&doc).contains(&"canary.evidence.missing".to_string()),
        "{all}"
    );
    assert_eq!(
        fact(&doc, "through_links"),
        "shared/pg/compose.yml -> modules/postgres/compose.yml",
        "{all}"
    );
    std::fs::write(repo.join("../list.z"), "shared/pg/compose.yml\0").unwrap();
    let out = run_in(
        &repo,
        gate("auto_apply_scope").args(["--changed-files", "../list.z", "--base-ref", "base"]),
    );
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout.contains("scopes: postgres:stateful"),
        "{}",
        out.stdout
    );
    // A folder that is a link: a file under its target touches the module.
    std::fs::write(repo.join("../list.z"), "shared/web/nginx.conf\0").unwrap();
    let out = run_in(
        &repo,
        gate("auto_apply_scope").args(["--changed-files", "../list.z", "--base-ref", "base"]),
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("scopes: web-app:auto"),
        "{}",
        out.stdout
    );
}
