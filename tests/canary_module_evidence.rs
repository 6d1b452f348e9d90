//! `canary_required`, process level: upgrade evidence per module class (the platform's W8.3
//! stateful/sidecar upgrade gate). A pull request touching a module that carries a class must
//! carry the sections the policy requires for it; the class comes from the manifest at the
//! base commit, and from the head too when the pull request changes it (the stricter wins).

mod common;

use common::{gate, run};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn write(dir: &Path, name: &str, text: &str) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// Rewrites a file of the checkout through `change`; the change must alter it.
fn edit(dir: &Path, name: &str, change: impl FnOnce(&str) -> String) {
    let before = std::fs::read_to_string(dir.join(name)).unwrap();
    let after = change(&before);
    assert_ne!(after, before, "the edit of {name} changed nothing");
    write(dir, name, &after);
}

fn git(dir: &Path, args: &[&str]) -> String {
    common::git(dir, args, "")
}

/// A platform repository in `<tmp>/repo`: the example modules on `main` (the base), then
/// `change` committed on `feature` (the head). Returns the temp dir (which also holds the
/// body and other inputs, outside the repository), the repository, base and head commits.
fn nested(change: impl FnOnce(&Path)) -> (tempfile::TempDir, PathBuf, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let d = repo.as_path();
    std::fs::create_dir(d).unwrap();
    git(d, &["init", "-q"]);
    for entry in std::fs::read_dir(project().join("fixtures/modules")).unwrap() {
        let entry = entry.unwrap();
        for file in std::fs::read_dir(entry.path()).unwrap() {
            let file = file.unwrap();
            let name = format!(
                "modules/{}/{}",
                entry.file_name().to_str().unwrap(),
                file.file_name().to_str().unwrap()
            );
            write(d, &name, &std::fs::read_to_string(file.path()).unwrap());
        }
    }
    write(d, "compose/core.yml", "services: {}\n");
    git(d, &["add", "-A"]);
    git(d, &["commit", "-q", "-m", "base"]);
    let base = git(d, &["rev-parse", "HEAD"]);
    git(d, &["checkout", "-q", "-b", "feature"]);
    change(d);
    git(d, &["add", "-A"]);
    git(d, &["commit", "-q", "-m", "head"]);
    let head = git(d, &["rev-parse", "HEAD"]);
    (dir, repo, base, head)
}

fn pack() -> String {
    std::fs::read_to_string(project().join("tests/fixtures/canary/full-pack.md")).unwrap()
}

/// The full pack plus evidence sections, each with real text.
fn pack_with(sections: &[&str]) -> String {
    let mut body = pack();
    for s in sections {
        body.push_str(&format!(
            "\n### {s}\n\nWhat we do for this module, in our own words.\n"
        ));
    }
    body
}

const STATEFUL: &[&str] = &[
    "Backup plan",
    "Restore path",
    "Smoke shape",
    "Stop conditions",
];

/// Run the gate in files mode over `base...head`; returns the exit code and the JSON document.
fn check(dir: &Path, base: &str, head: &str, body: &str, labels: &str) -> (i32, Value, String) {
    std::fs::write(dir.join("../body.md"), body).unwrap();
    let out = run(gate("canary_required").current_dir(dir).args([
        "--body",
        "../body.md",
        "--git-diff",
        &format!("{base}...{head}"),
        "--labels",
        labels,
        "--format",
        "json",
    ]));
    let doc: Value = serde_json::from_str(&out.stdout).unwrap_or(Value::Null);
    (out.code, doc, out.all())
}

/// (subject, message) of every reason with `code`.
fn reasons(doc: &Value, code: &str) -> Vec<(String, String)> {
    doc["reasons"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .filter(|r| r["code"] == code)
        .map(|r| {
            (
                r["subject"].as_str().unwrap_or("").to_string(),
                r["message"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn subjects(doc: &Value, code: &str) -> Vec<String> {
    reasons(doc, code).into_iter().map(|(s, _)| s).collect()
}

#[test]
fn a_stateful_secret_bearing_module_needs_every_section_its_classes_require() {
    let (_keep, repo, base, head) = nested(|d| write(d, "modules/postgres/compose.yaml", "x\n"));
    let (code, doc, all) = check(&repo, &base, &head, &pack(), "tier/full");
    assert_eq!(code, 1, "{all}");
    let missing = reasons(&doc, "canary.evidence.missing");
    let names: Vec<&str> = missing.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "Backup plan",
            "Restore path",
            "Smoke shape",
            "Stop conditions",
            "Secret handling"
        ],
        "{all}"
    );
    // Each names the module and the class that requires it.
    assert!(
        missing[0].1.contains("`postgres`") && missing[0].1.contains("stateful"),
        "{missing:?}"
    );
    assert!(
        missing[4].1.contains("`postgres`") && missing[4].1.contains("secret-bearing"),
        "{missing:?}"
    );
    // Which rules applied is said.
    let classes = reasons(&doc, "canary.evidence.class");
    assert_eq!(classes.len(), 1, "{all}");
    assert!(
        classes[0].1.contains("stateful") && classes[0].1.contains("secret-bearing"),
        "{classes:?}"
    );
    assert_eq!(
        doc["facts"]["module_classes"],
        "postgres:stateful+secret-bearing"
    );
}

#[test]
fn with_the_evidence_sections_filled_in_it_passes() {
    let (_keep, repo, base, head) = nested(|d| write(d, "modules/postgres/compose.yaml", "x\n"));
    let mut sections = STATEFUL.to_vec();
    sections.push("Secret handling");
    let (code, doc, all) = check(&repo, &base, &head, &pack_with(&sections), "tier/full");
    assert_eq!(code, 0, "{all}");
    assert_eq!(subjects(&doc, "canary.evidence.complete").len(), 1, "{all}");
}

#[test]
fn an_empty_or_placeholder_evidence_section_is_missing_evidence() {
    let (_keep, repo, base, head) = nested(|d| write(d, "modules/redis/compose.yaml", "x\n"));
    let mut body = pack_with(&["Backup plan", "Smoke shape", "Stop conditions"]);
    body.push_str("\n### Rollback path\n\n[TODO]\n");
    let (code, doc, all) = check(&repo, &base, &head, &body, "tier/full");
    assert_eq!(code, 1, "{all}");
    assert_eq!(
        subjects(&doc, "canary.evidence.empty"),
        vec!["Restore path"],
        "{all}"
    );
    // A filled rollback path stands for the restore path.
    let body = pack_with(&[
        "Backup plan",
        "Rollback path",
        "Smoke shape",
        "Stop conditions",
    ]);
    let (code, _, all) = check(&repo, &base, &head, &body, "tier/full");
    assert_eq!(code, 0, "{all}");
}

#[test]
fn a_sidecar_bound_module_needs_the_stateful_evidence() {
    let (_keep, repo, base, head) = nested(|d| write(d, "modules/minio-init/init.sh", "x\n"));
    let (code, doc, all) = check(&repo, &base, &head, &pack(), "tier/full");
    assert_eq!(code, 1, "{all}");
    let missing = reasons(&doc, "canary.evidence.missing");
    assert_eq!(missing.len(), 4, "{all}");
    assert!(missing[0].1.contains("sidecar-bound"), "{missing:?}");
    assert_eq!(
        doc["facts"]["module_classes"],
        "minio-init:stateful+sidecar-bound"
    );
}

#[test]
fn the_class_comes_from_the_base_even_when_the_head_drops_it() {
    // The PR declares postgres stateless and classless: the base still says stateful.
    let (_keep, repo, base, head) = nested(|d| {
        write(
            d,
            "modules/postgres/module.yaml",
            "metadata:\n  name: postgres\nspec:\n  classes: []\n  runtime:\n    statefulness: stateless\n",
        )
    });
    let (code, doc, all) = check(&repo, &base, &head, &pack(), "tier/full");
    assert_eq!(code, 1, "{all}");
    assert_eq!(
        subjects(&doc, "canary.evidence.missing"),
        vec![
            "Backup plan",
            "Restore path",
            "Smoke shape",
            "Stop conditions",
            "Secret handling"
        ],
        "{all}"
    );
}

#[test]
fn a_class_the_head_adds_counts_too() {
    // web-app is stateless and classless at the base; the PR makes it public-edge.
    let (_keep, repo, base, head) = nested(|d| {
        edit(d, "modules/web-app/module.yaml", |m| {
            m.replace("  classes: []", "  classes: [public-edge]")
        })
    });
    let (code, doc, all) = check(&repo, &base, &head, &pack(), "tier/full");
    assert_eq!(code, 1, "{all}");
    let missing = reasons(&doc, "canary.evidence.missing");
    assert_eq!(missing.len(), 1, "{all}");
    assert_eq!(missing[0].0, "Exposure review");
    assert!(missing[0].1.contains("public-edge"), "{missing:?}");
    let (code, _, all) = check(
        &repo,
        &base,
        &head,
        &pack_with(&["Exposure review"]),
        "tier/full",
    );
    assert_eq!(code, 0, "{all}");
}

#[test]
fn a_manifest_the_head_alone_makes_stateful_needs_the_stateful_evidence() {
    // Only web-app's manifest changes: stateless at the base, stateful at the head.
    let (_keep, repo, base, head) = nested(|d| {
        edit(d, "modules/web-app/module.yaml", |m| {
            m.replace("statefulness: stateless", "statefulness: stateful")
        })
    });
    let (code, doc, all) = check(&repo, &base, &head, &pack(), "tier/full");
    assert_eq!(code, 1, "{all}");
    assert_eq!(
        subjects(&doc, "canary.evidence.missing"),
        STATEFUL.to_vec(),
        "{all}"
    );
    assert_eq!(doc["facts"]["module_classes"], "web-app:stateful", "{all}");
    let (code, _, all) = check(&repo, &base, &head, &pack_with(STATEFUL), "tier/full");
    assert_eq!(code, 0, "{all}");
}

#[test]
fn a_renamed_module_is_classified_under_both_names() {
    // postgres moves to pg, its manifest renamed and made public-edge as well: the old name
    // keeps its classes from the base, the new one takes them from the head.
    let (_keep, repo, base, head) = nested(|d| {
        git(d, &["mv", "modules/postgres", "modules/pg"]);
        edit(d, "modules/pg/module.yaml", |m| {
            m.replace("name: postgres", "name: pg")
                .replace("[secret-bearing]", "[secret-bearing, public-edge]")
        })
    });
    let status = git(
        &repo,
        &["diff", "--name-status", &format!("{base}...{head}")],
    );
    assert!(status.starts_with('R'), "git sees a rename: {status}");
    let (code, doc, all) = check(&repo, &base, &head, &pack(), "tier/full");
    assert_eq!(code, 1, "{all}");
    assert_eq!(
        doc["facts"]["module_classes"],
        "pg:stateful+secret-bearing+public-edge,postgres:stateful+secret-bearing",
        "{all}"
    );
    assert_eq!(subjects(&doc, "canary.evidence.missing").len(), 6, "{all}");

    // Renamed and declared stateless and classless at the new name: the old name's classes
    // at the base still require the evidence.
    let (_keep, repo, base, head) = nested(|d| {
        git(d, &["mv", "modules/postgres", "modules/pg"]);
        write(
            d,
            "modules/pg/module.yaml",
            "metadata:\n  name: pg\nspec:\n  classes: []\n  runtime:\n    statefulness: stateless\n",
        )
    });
    let (code, doc, all) = check(&repo, &base, &head, &pack(), "tier/full");
    assert_eq!(code, 1, "{all}");
    assert_eq!(
        doc["facts"]["module_classes"], "pg:none,postgres:stateful+secret-bearing",
        "{all}"
    );
    assert_eq!(subjects(&doc, "canary.evidence.missing").len(), 5, "{all}");
}

#[test]
fn a_module_without_a_class_needs_no_evidence() {
    let (_keep, repo, base, head) = nested(|d| write(d, "modules/web-app/compose.yaml", "x\n"));
    let (code, doc, all) = check(&repo, &base, &head, &pack(), "tier/full");
    assert_eq!(code, 0, "{all}");
    assert_eq!(doc["facts"]["module_classes"], "web-app:none");
}

#[test]
fn the_repo_only_label_covers_documents_only() {
    let (_keep, repo, base, head) = nested(|d| write(d, "modules/postgres/runbook.md", "new\n"));
    let (code, doc, all) = check(&repo, &base, &head, &pack(), "tier/full,evidence/repo-only");
    assert_eq!(code, 0, "{all}");
    let waived = reasons(&doc, "canary.evidence.repo_only");
    assert_eq!(waived.len(), 1, "{all}");
    assert!(waived[0].1.contains("`postgres`"), "{waived:?}");
    // Without the label the evidence is required.
    let (code, _, all) = check(&repo, &base, &head, &pack(), "tier/full");
    assert_eq!(code, 1, "{all}");

    // A label on a change that is more than documents is a finding, and the evidence stays
    // required.
    let (_keep, repo, base, head) = nested(|d| {
        write(d, "modules/postgres/runbook.md", "new\n");
        write(d, "modules/postgres/compose.yaml", "x\n");
    });
    let (code, doc, all) = check(&repo, &base, &head, &pack(), "tier/full,evidence/repo-only");
    assert_eq!(code, 1, "{all}");
    let invalid = reasons(&doc, "canary.evidence.repo_only_invalid");
    assert_eq!(invalid.len(), 1, "{all}");
    assert!(
        invalid[0].1.contains("modules/postgres/compose.yaml"),
        "{invalid:?}"
    );
    assert_eq!(subjects(&doc, "canary.evidence.missing").len(), 5, "{all}");
}

#[test]
fn event_mode_reads_the_classes_at_the_base_commit_of_the_event() {
    let (_keep, repo, base, head) = nested(|d| {
        // The head pretends postgres is an ordinary stateless module.
        write(
            d,
            "modules/postgres/module.yaml",
            "metadata:\n  name: postgres\nspec:\n  runtime:\n    statefulness: stateless\n",
        );
    });
    let event = json!({
        "action": "synchronize",
        "number": 9,
        "pull_request": {
            "number": 9,
            "body": pack(),
            "labels": [{"name": "tier/full"}],
            "head": {"sha": head},
            "base": {"sha": base}
        }
    });
    let files = repo.join("../changed.txt");
    std::fs::write(&files, "modules/postgres/module.yaml\n").unwrap();
    let event_path = repo.join("../event.json");
    std::fs::write(&event_path, event.to_string()).unwrap();
    let out = run(gate("canary_required").current_dir(&repo).args([
        "--from-event",
        "../event.json",
        "--changed-files",
        "../changed.txt",
        "--format",
        "json",
    ]));
    assert_eq!(out.code, 1, "{}", out.all());
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        subjects(&doc, "canary.evidence.missing").len(),
        5,
        "{}",
        out.all()
    );

    // The base commit is not in the checkout: the classes cannot be read, so no verdict.
    let mut bad = event.clone();
    bad["pull_request"]["base"]["sha"] = json!("2".repeat(40));
    std::fs::write(&event_path, bad.to_string()).unwrap();
    let policy = repo.join("../policy.yml");
    std::fs::write(&policy, "version: 1\n").unwrap();
    let out = run(gate("canary_required").current_dir(&repo).args([
        "--from-event",
        "../event.json",
        "--changed-files",
        "../changed.txt",
        "--policy",
        "../policy.yml",
        "--format",
        "json",
    ]));
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stdout.contains("canary.git.failed"), "{}", out.all());
}

#[test]
fn a_module_whose_class_cannot_be_read_is_not_evaluated() {
    // A touched module folder with no manifest at the base or the head.
    let (_keep, repo, base, head) = nested(|d| write(d, "modules/newthing/compose.yaml", "x\n"));
    let (code, _, all) = check(&repo, &base, &head, &pack(), "tier/full");
    assert_eq!(code, 2, "{all}");
    assert!(all.contains("manifest.missing"), "{all}");
    assert!(all.contains("newthing"), "{all}");

    // An invalid manifest at the head, when the PR changes it.
    let (_keep, repo, base, head) = nested(|d| {
        write(
            d,
            "modules/redis/module.yaml",
            "metadata:\n  name: redis\nspec:\n  classes: [public-egde]\n",
        )
    });
    let (code, _, all) = check(&repo, &base, &head, &pack(), "tier/full");
    assert_eq!(code, 2, "{all}");
    assert!(all.contains("manifest.invalid"), "{all}");
}

#[test]
fn a_new_module_takes_its_class_from_the_head() {
    let (_keep, repo, base, head) = nested(|d| {
        write(
            d,
            "modules/mariadb/module.yaml",
            "metadata:\n  name: mariadb\nspec:\n  runtime:\n    statefulness: stateful\n",
        )
    });
    let (code, doc, all) = check(&repo, &base, &head, &pack(), "tier/full");
    assert_eq!(code, 1, "{all}");
    assert_eq!(subjects(&doc, "canary.evidence.missing").len(), 4, "{all}");
    assert_eq!(doc["facts"]["module_classes"], "mariadb:stateful");
}

#[test]
fn a_classed_module_needs_its_evidence_even_outside_the_risky_paths() {
    let (tmp, repo, base, head) = nested(|d| write(d, "modules/postgres/compose.yaml", "x\n"));
    // The base's rules (given as a file) say only schema/** is risky.
    std::fs::write(
        tmp.path().join("policy.yml"),
        "version: 1\ncanary:\n  risky_paths: [\"schema/**\"]\n",
    )
    .unwrap();
    std::fs::write(tmp.path().join("body.md"), pack()).unwrap();
    let out = run(gate("canary_required").current_dir(&repo).args([
        "--body",
        "../body.md",
        "--git-diff",
        &format!("{base}...{head}"),
        "--labels",
        "tier/full",
        "--policy",
        "../policy.yml",
        "--format",
        "json",
    ]));
    assert_eq!(out.code, 1, "{}", out.all());
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        subjects(&doc, "canary.evidence.missing").len(),
        5,
        "{}",
        out.all()
    );
    let required = reasons(&doc, "canary.required");
    assert!(
        required[0]
            .1
            .contains("module `postgres` is stateful, secret-bearing"),
        "{required:?}"
    );
}

/// The manifests are listed by their own paths when a pull request touches few modules, and
/// from one listing of the modules folder when it touches many (`src/canary/manifests.rs`):
/// either way a touched module without a readable manifest stops the gate, and a manifest that
/// is a symlink is refused, never taken as "no class".
#[test]
fn a_manifest_that_cannot_be_read_stops_the_gate_for_few_and_for_many_modules() {
    for modules in [3usize, 70] {
        for fault in ["missing", "symlink"] {
            let dir = tempfile::tempdir().unwrap();
            let repo = dir.path().join("repo");
            let d = repo.as_path();
            std::fs::create_dir(d).unwrap();
            git(d, &["init", "-q"]);
            for i in 0..modules {
                let id = format!("m{i:03}");
                write(
                    d,
                    &format!("modules/{id}/module.yaml"),
                    &format!(
                        "metadata:\n  name: {id}\nspec:\n  classes: []\n  runtime:\n    statefulness: stateless\n"
                    ),
                );
                write(d, &format!("modules/{id}/compose.yaml"), "services: {}\n");
            }
            // The faulty module, last in the listing.
            write(d, "modules/zz/compose.yaml", "services: {}\n");
            if fault == "symlink" {
                write(
                    d,
                    "elsewhere.yaml",
                    "metadata:\n  name: zz\nspec:\n  classes: []\n  runtime:\n    statefulness: stateless\n",
                );
                std::os::unix::fs::symlink(
                    "../../elsewhere.yaml",
                    d.join("modules/zz/module.yaml"),
                )
                .unwrap();
            }
            git(d, &["add", "-A"]);
            git(d, &["commit", "-q", "-m", "base"]);
            let base = git(d, &["rev-parse", "HEAD"]);
            for i in 0..modules {
                write(
                    d,
                    &format!("modules/m{i:03}/compose.yaml"),
                    "services: {x: {}}\n",
                );
            }
            write(d, "modules/zz/compose.yaml", "services: {x: {}}\n");
            git(d, &["commit", "-q", "-am", "head"]);
            let head = git(d, &["rev-parse", "HEAD"]);
            let (code, _, all) = check(&repo, &base, &head, &pack(), "tier/full");
            assert_eq!(code, 2, "{modules} modules, {fault}: {all}");
            let want = if fault == "missing" {
                "manifest.missing"
            } else {
                "manifest.invalid"
            };
            assert!(all.contains(want), "{modules} modules, {fault}: {all}");
            assert!(all.contains("zz"), "{modules} modules, {fault}: {all}");
        }
    }
}

/// A base and a head commit built from raw trees (`git mktree`), for folders `git add` cannot
/// write: module `m` with `entries` (`<mode> <type> <file's text or a commit id>\t<name>`
/// lines, `{}` standing for the object id) beside its compose file, which the head changes.
fn raw_trees(d: &Path, entries: &[(&str, &str, &str)]) -> (String, String) {
    git(d, &["init", "-q"]);
    let blob = |text: &str| git_in(d, &["hash-object", "-w", "--stdin"], text);
    let mut commits = Vec::new();
    for compose in ["services: {}\n", "services: {x: {}}\n"] {
        let mut listing = format!("100644 blob {}\tcompose.yaml\n", blob(compose));
        for (mode, kind, content) in entries {
            let id = if *kind == "blob" {
                blob(content)
            } else {
                content.to_string()
            };
            listing.push_str(&format!("{mode} {kind} {id}\tmodule.yaml\n"));
        }
        let module = git_in(d, &["mktree"], &listing);
        let modules = git_in(d, &["mktree"], &format!("040000 tree {module}\tm\n"));
        let root = git_in(d, &["mktree"], &format!("040000 tree {modules}\tmodules\n"));
        let mut args = vec!["commit-tree", "-m", "c"];
        let parent;
        if let Some(p) = commits.last() {
            parent = String::clone(p);
            args.extend(["-p", parent.as_str()]);
        }
        args.push(&root);
        let commit = git_in(d, &args, "");
        commits.push(commit);
    }
    (commits[0].clone(), commits[1].clone())
}

fn git_in(dir: &Path, args: &[&str], input: &str) -> String {
    common::git(dir, args, input)
}

const STATELESS_M: &str = "metadata:\n  name: m\nspec:\n  runtime:\n    statefulness: stateless\n";
const STATEFUL_M: &str = "metadata:\n  name: m\nspec:\n  runtime:\n    statefulness: stateful\n";

/// A folder that names `module.yaml` twice (git fsck's duplicateEntries; `git mktree` writes
/// it): which copy a reader takes is ambiguous, so the class is not read from either, whichever
/// comes first. Before, the last copy listed won and the stateful one was never seen.
#[test]
fn a_module_folder_naming_its_manifest_twice_stops_the_gate() {
    for order in [[STATEFUL_M, STATELESS_M], [STATELESS_M, STATEFUL_M]] {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        std::fs::create_dir(&repo).unwrap();
        let (base, head) = raw_trees(
            &repo,
            &[("100644", "blob", order[0]), ("100644", "blob", order[1])],
        );
        let (code, _, all) = check(&repo, &base, &head, &pack(), "tier/full");
        assert_eq!(code, 2, "{all}");
        assert!(all.contains("two entries named `module.yaml`"), "{all}");
    }
}

/// A manifest that is a submodule (a commit in the tree) or a symlink is not a file the
/// platform reads as the module's manifest: refused, never "no class".
#[test]
fn a_manifest_that_is_a_submodule_or_a_symlink_is_refused() {
    for (mode, kind, content, what) in [
        (
            "160000",
            "commit",
            "1111111111111111111111111111111111111111",
            "a submodule",
        ),
        ("120000", "blob", "../other/module.yaml", "a symbolic link"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        std::fs::create_dir(&repo).unwrap();
        let (base, head) = raw_trees(&repo, &[(mode, kind, content)]);
        let (code, _, all) = check(&repo, &base, &head, &pack(), "tier/full");
        assert_eq!(code, 2, "{all}");
        assert!(all.contains("manifest.invalid"), "{all}");
        assert!(
            all.contains(&format!("is not a regular file ({what})")),
            "{all}"
        );
    }
}

/// A group-writable manifest as old git wrote it (mode 100664) is a regular file to git: its
/// class is read.
#[test]
fn a_manifest_of_mode_100664_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    let (base, head) = raw_trees(&repo, &[("100664", "blob", STATEFUL_M)]);
    let (code, doc, all) = check(&repo, &base, &head, &pack(), "tier/full");
    assert_eq!(code, 1, "{all}");
    assert_eq!(doc["facts"]["module_classes"], "m:stateful", "{all}");
}

/// A `git` in `<tmp>/old-git/git` that behaves as a git before 2.36 does with
/// `cat-file --batch-command` (usage error, exit 129; each refusal noted in `refused`) and
/// runs the real git for everything else.
fn git_without_batch_command(tmp: &Path) -> (PathBuf, PathBuf) {
    let real = String::from_utf8(
        std::process::Command::new("sh")
            .args(["-c", "command -v git"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let bin = tmp.join("old-git");
    std::fs::create_dir_all(&bin).unwrap();
    let refused = tmp.join("refused");
    let script = format!(
        "#!/bin/sh\nfor a in \"$@\"; do\n  if [ \"$a\" = --batch-command ]; then\n    echo x >> '{}'\n    echo \"error: unknown option \\`batch-command'\" >&2\n    echo 'usage: git cat-file <type> <object>' >&2\n    exit 129\n  fi\ndone\nexec '{}' \"$@\"\n",
        refused.display(),
        real.trim()
    );
    let shim = bin.join("git");
    std::fs::write(&shim, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    (bin, refused)
}

#[test]
fn a_git_without_batch_command_reads_the_same_classes() {
    // The head makes web-app stateful: both sides are read.
    let (tmp, repo, base, head) = nested(|d| {
        edit(d, "modules/web-app/module.yaml", |m| {
            m.replace("statefulness: stateless", "statefulness: stateful")
        });
        write(d, "modules/postgres/compose.yaml", "x\n");
    });
    let (code, doc, all) = check(&repo, &base, &head, &pack(), "tier/full");
    assert_eq!(code, 1, "{all}");
    let (bin, refused) = git_without_batch_command(tmp.path());
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    std::fs::write(tmp.path().join("body.md"), pack()).unwrap();
    let old = run(gate("canary_required")
        .current_dir(&repo)
        .env("PATH", path)
        .args([
            "--body",
            "../body.md",
            "--git-diff",
            &format!("{base}...{head}"),
            "--labels",
            "tier/full",
            "--format",
            "json",
        ]));
    assert_eq!(
        std::fs::read_to_string(&refused)
            .unwrap_or_default()
            .lines()
            .count(),
        2,
        "the base and the head were each asked with --batch-command first: {}",
        old.all()
    );
    assert_eq!(old.code, code, "{}", old.all());
    let old_doc: Value = serde_json::from_str(&old.stdout).unwrap();
    assert_eq!(
        old_doc["facts"]["module_classes"],
        "postgres:stateful+secret-bearing,web-app:stateful",
        "{}",
        old.all()
    );
    assert_eq!(old_doc["facts"], doc["facts"]);
    assert_eq!(old_doc["reasons"], doc["reasons"]);
}
