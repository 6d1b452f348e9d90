//! `canary_required`, process level: the pack is read for what it says, not for its shape.
//! A section written only in placeholder words (in any letter case, spacing, width or
//! look-alike script) is empty; what Forgejo does not show (an unreferenced footnote, an
//! image's alt text, math) is not content; a label that only looks like one the gate knows is
//! refused, from the flag and from the event alike; the repo-only waiver covers documentation
//! only, never a file a module's runtime may read; a pack whose canary failed does not pass.

mod common;

use common::{gate, run};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(project().join("tests/fixtures/canary").join(name)).unwrap()
}

/// The full example pack with the text of "What changed" replaced by `content`.
fn body_with(content: &str) -> String {
    let full = fixture("full-pack.md");
    let start = full.find("### What changed\n").unwrap() + "### What changed\n".len();
    let end = full.find("### Why it changed").unwrap();
    format!("{}\n{content}\n\n{}", &full[..start], &full[end..])
}

struct Out {
    code: i32,
    doc: Value,
    all: String,
}

impl Out {
    fn subjects(&self, code: &str) -> Vec<String> {
        self.doc["reasons"]
            .as_array()
            .map(|a| a.as_slice())
            .unwrap_or_default()
            .iter()
            .filter(|r| r["code"] == code)
            .map(|r| r["subject"].as_str().unwrap_or("").to_string())
            .collect()
    }

    fn messages(&self, code: &str) -> Vec<String> {
        self.doc["reasons"]
            .as_array()
            .map(|a| a.as_slice())
            .unwrap_or_default()
            .iter()
            .filter(|r| r["code"] == code)
            .map(|r| r["message"].as_str().unwrap_or("").to_string())
            .collect()
    }
}

/// Run the gate in files mode on `body` with `changed` (one path a line) and `extra` flags.
fn check(body: &str, changed: &str, extra: &[&str]) -> Out {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("b.md"), body).unwrap();
    std::fs::write(dir.path().join("c.txt"), changed).unwrap();
    let out = run(gate("canary_required")
        .current_dir(dir.path())
        .args([
            "--body",
            "b.md",
            "--changed-files",
            "c.txt",
            "--format",
            "json",
        ])
        .args(extra));
    Out {
        code: out.code,
        doc: serde_json::from_str(&out.stdout).unwrap_or(Value::Null),
        all: out.all(),
    }
}

/// The subjects of `canary.section.empty` when "What changed" holds `content` (full tier, a
/// risky path outside any module).
fn empty_with(content: &str) -> Out {
    check(
        &body_with(content),
        "compose/core/compose.yaml\n",
        &["--labels", "tier/full"],
    )
}

#[test]
fn the_example_with_real_text_passes() {
    for content in [
        "The gate now reads the plan.",
        // Placeholder words inside a sentence are content.
        "TBD after review by ops: the backup job moved to 02:00.",
        "None of the services restart; only the config file changed.",
        "N/A for the web tier; the database restarts once.",
        "Later releases drop the old flag; this one keeps it.",
        // A footnote that is referenced shows, and the text around it is content.
        "The plan is read twice[^1].\n\n[^1]: once per host",
        // Math beside real words: the words are content.
        "The retry budget is $n = 3$ attempts per host.",
        // An image beside real words: the words are content.
        "![diagram](https://forgejo.example/d.png) The backup job moved to 02:00.",
    ] {
        let out = empty_with(content);
        assert_eq!(
            (out.code, out.subjects("canary.section.empty")),
            (0, vec![]),
            "{content:?}: {}",
            out.all
        );
    }
}

#[test]
fn a_section_of_placeholder_words_is_empty() {
    for content in [
        "n/a",
        "N/A",
        "NA",
        "n.a.",
        "TBD later",
        "TBA",
        "tbc",
        "none",
        "None.",
        "pending",
        "WIP",
        "FIXME",
        "placeholder",
        "xxx",
        "XXXX",
        "later",
        "TODO TODO TODO later",
        "T O D O",
        "t.o.d.o",
        "T-B-D",
        // Compatibility forms: fullwidth, mathematical letters, circled letters.
        "\u{FF34}\u{FF2F}\u{FF24}\u{FF2F}",
        "\u{1D413}\u{1D40E}\u{1D403}\u{1D40E}",
        "\u{24C9}\u{24C4}\u{24B9}\u{24C4}",
        // Look-alike letters from other scripts: Cyrillic Т and О, Greek Τ and Ο.
        "\u{0422}\u{041E}D\u{041E}",
        "\u{03A4}\u{039F}D\u{039F}",
        // Latin small capitals.
        "\u{1D1B}\u{1D0F}\u{1D05}\u{1D0F}",
        // Accents over the letters.
        "T\u{0301}O\u{0308}DO",
        "- n/a\n- TBD\n- none",
        // The policy's own placeholder, spaced out.
        "fill   in",
        "<fill-in>",
    ] {
        let out = empty_with(content);
        assert_eq!(
            (out.code, out.subjects("canary.section.empty")),
            (1, vec!["What changed".to_string()]),
            "{content:?}: {}",
            out.all
        );
    }
}

#[test]
fn the_policys_own_placeholders_still_count() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("gates.yml");
    std::fs::write(
        &policy,
        "version: 1\ncanary:\n  placeholders: [\"TODO\", \"TBD\", \"-\", \"...\", \"<fill in>\", \"describe here\"]\n",
    )
    .unwrap();
    let policy = policy.to_str().unwrap();
    for content in [
        "describe here",
        "Describe  HERE",
        "describe here TODO",
        "TODO: later",
    ] {
        let out = check(
            &body_with(content),
            "compose/core/compose.yaml\n",
            &["--labels", "tier/full", "--policy", policy],
        );
        assert_eq!(
            (out.code, out.subjects("canary.section.empty")),
            (1, vec!["What changed".to_string()]),
            "{content:?}: {}",
            out.all
        );
    }
}

#[test]
fn what_forgejo_does_not_show_is_not_content() {
    for content in [
        // Forgejo drops a footnote definition nobody references; a referenced one is shown
        // at the end of the description, not in the section.
        "[^e]: backup taken nightly",
        "[^e]: backup taken nightly\n    with pg_dumpall, kept 30 days",
        // Alt text is not shown once the image loads.
        "![backup taken nightly with pg_dumpall](https://forgejo.example/attachments/1x1.png)",
        "- ![backup taken nightly](https://forgejo.example/a.png)",
        // Math: what it draws is the renderer's, and \phantom draws nothing.
        "$\\phantom{backup taken nightly}$",
        "$$\n\\phantom{backup taken nightly}\n$$",
        "```math\n\\phantom{backup taken nightly}\n```",
    ] {
        let out = empty_with(content);
        assert_eq!(
            (out.code, out.subjects("canary.section.empty")),
            (1, vec!["What changed".to_string()]),
            "{content:?}: {}",
            out.all
        );
    }
}

/// A lite pack on a risky path outside any module with `labels`.
fn lite_with_labels(labels: &str) -> Out {
    check(
        &fixture("lite-pack.md"),
        "compose/core/compose.yaml\n",
        &["--labels", labels],
    )
}

#[test]
fn the_exact_labels_still_decide() {
    let out = lite_with_labels("tier/lite");
    assert_eq!(out.code, 0, "{}", out.all);
    assert_eq!(out.doc["facts"]["tier"], "lite");
    let out = lite_with_labels("tier/lite,class/security-sensitive");
    assert_eq!(out.code, 1, "{}", out.all);
    assert_eq!(out.doc["facts"]["tier"], "full");
    // Labels the gate does not know are left alone, whatever they look like.
    let out = lite_with_labels("tier/lite,Bug,needs review,area/DB");
    assert_eq!(out.code, 0, "{}", out.all);
}

#[test]
fn a_label_that_only_looks_like_a_known_one_is_refused() {
    for (labels, named) in [
        (
            "tier/lite,Class/Security-Sensitive",
            "Class/Security-Sensitive",
        ),
        (
            "tier/lite,class/security\u{2010}sensitive",
            "class/security\u{2010}sensitive",
        ),
        (
            "tier/lite,class/security-sensitive ",
            "class/security-sensitive ",
        ),
        (
            "tier/lite, class/security-sensitive",
            " class/security-sensitive",
        ),
        (
            "tier/lite,class/security-sensitive\u{00A0}",
            "class/security-sensitive\\u{a0}",
        ),
        ("tier/lite,Tier/Full", "Tier/Full"),
        ("Tier/Lite", "Tier/Lite"),
        ("tier/lite,TIER/LITE", "TIER/LITE"),
        ("tier/lite,\u{0442}ier/full", "\u{0442}ier/full"),
        ("tier/lite,tier/ful\u{200B}l", "tier/ful\\u{200b}l"),
        ("tier/lite,Evidence/Repo-Only", "Evidence/Repo-Only"),
        ("tier/lite,tier lite", "tier lite"),
    ] {
        let out = lite_with_labels(labels);
        assert_eq!(out.code, 2, "{labels:?}: {}", out.all);
        let said = out.messages("canary.label.near_miss");
        assert_eq!(said.len(), 1, "{labels:?}: {}", out.all);
        assert!(
            said[0].contains(named),
            "{labels:?} must name {named:?}: {}",
            out.all
        );
    }
}

#[test]
fn an_empty_label_is_refused() {
    for labels in ["tier/lite,", ",tier/lite", "tier/lite,,class/x"] {
        let out = lite_with_labels(labels);
        assert_eq!(out.code, 2, "{labels:?}: {}", out.all);
        assert!(out.all.contains("canary.label.near_miss"), "{}", out.all);
    }
}

#[test]
fn a_hostile_label_is_shown_escaped_and_cut() {
    // Folded, this is `tierfull`: a near miss, shown escaped and cut short.
    let labels = format!("tier/lite,Tier/\u{1b}Full{}", "\u{200B}".repeat(5000));
    let out = lite_with_labels(&labels);
    assert_eq!(out.code, 2, "{}", out.all);
    assert!(!out.all.contains('\u{1b}'), "{}", out.all);
    assert!(out.all.len() < 3000, "{}", out.all.len());
}

/// The event payload of a pull request carrying `labels` and the lite pack, run in a checkout
/// holding the event's base commit (a plain changed-files list is cross-checked against the
/// base's modules, so the canary job runs in a checkout).
fn event_with_labels(labels: &[&str]) -> Out {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q"]);
    std::fs::write(dir.path().join("README.md"), "platform\n").unwrap();
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "base"]);
    let base = git(dir.path(), &["rev-parse", "HEAD"]).trim().to_string();
    let event = json!({
        "action": "opened",
        "pull_request": {
            "number": 7,
            "body": fixture("lite-pack.md"),
            "labels": labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>(),
            "head": {"sha": base},
            "base": {"sha": base}
        }
    });
    std::fs::write(dir.path().join("event.json"), event.to_string()).unwrap();
    std::fs::write(dir.path().join("c.txt"), "compose/core/compose.yaml\n").unwrap();
    std::fs::write(dir.path().join("gates.yml"), "version: 1\n").unwrap();
    let out = run(gate("canary_required").current_dir(dir.path()).args([
        "--from-event",
        "event.json",
        "--policy",
        "gates.yml",
        "--changed-files",
        "c.txt",
        "--format",
        "json",
    ]));
    Out {
        code: out.code,
        doc: serde_json::from_str(&out.stdout).unwrap_or(Value::Null),
        all: out.all(),
    }
}

#[test]
fn event_labels_are_read_like_the_flags() {
    let out = event_with_labels(&["tier/lite"]);
    assert_eq!(out.code, 0, "{}", out.all);
    let out = event_with_labels(&["tier/lite", "class/security-sensitive"]);
    assert_eq!(
        (out.code, out.doc["facts"]["tier"].clone()),
        (1, json!("full")),
        "{}",
        out.all
    );
    for label in [
        "class/security-sensitive ",
        "Class/Security-Sensitive",
        "class/security-sensitive\u{00A0}",
        " class/security-sensitive",
        "Tier/Full",
        "",
    ] {
        let out = event_with_labels(&["tier/lite", label]);
        assert_eq!(out.code, 2, "{label:?}: {}", out.all);
        assert!(
            out.all.contains("canary.label.near_miss"),
            "{label:?}: {}",
            out.all
        );
    }
}

#[test]
fn a_pack_whose_canary_failed_does_not_pass() {
    let body = fixture("full-pack.md").replace(
        "Canary status: pending",
        "Canary status: failed — canary crashed, merging anyway",
    );
    let out = check(
        &body,
        "compose/core/compose.yaml\n",
        &["--labels", "tier/full"],
    );
    assert_eq!(out.code, 1, "{}", out.all);
    assert_eq!(
        out.subjects("canary.status.failed"),
        vec!["Canary status"],
        "{}",
        out.all
    );
    let body =
        fixture("full-pack.md").replace("Canary status: pending", "**Canary status:** FAILED");
    let out = check(
        &body,
        "compose/core/compose.yaml\n",
        &["--labels", "tier/full"],
    );
    assert_eq!(out.code, 1, "{}", out.all);
}

// The repo-only waiver.

fn git(dir: &Path, args: &[&str]) -> String {
    common::git(dir, args, "")
}

/// A platform repository with the example modules on its base commit and `files` added on
/// its head; returns the temp dir, the repository and `base...head`.
fn repo_with(files: &[&str]) -> (tempfile::TempDir, PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    git(&repo, &["init", "-q"]);
    for module in ["postgres", "traefik"] {
        let from = project()
            .join("fixtures/modules")
            .join(module)
            .join("module.yaml");
        let to = repo.join("modules").join(module).join("module.yaml");
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, to).unwrap();
    }
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "base"]);
    let base = git(&repo, &["rev-parse", "HEAD"]);
    for f in files {
        let p = repo.join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "new\n").unwrap();
    }
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "head"]);
    let head = git(&repo, &["rev-parse", "HEAD"]);
    (dir, repo, format!("{base}...{head}"))
}

fn repo_only(files: &[&str]) -> Out {
    let (dir, repo, range) = repo_with(files);
    std::fs::write(dir.path().join("body.md"), fixture("full-pack.md")).unwrap();
    let out = run(gate("canary_required").current_dir(&repo).args([
        "--body",
        "../body.md",
        "--git-diff",
        &range,
        "--labels",
        "tier/full,evidence/repo-only",
        "--format",
        "json",
    ]));
    Out {
        code: out.code,
        doc: serde_json::from_str(&out.stdout).unwrap_or(Value::Null),
        all: out.all(),
    }
}

#[test]
fn the_repo_only_waiver_covers_documentation_only() {
    for files in [
        &["modules/postgres/README.md"][..],
        &[
            "modules/postgres/runbook.md",
            "modules/postgres/runbooks/restore.md",
        ],
    ] {
        let out = repo_only(files);
        assert_eq!(out.code, 0, "{files:?}: {}", out.all);
        assert_eq!(
            out.subjects("canary.evidence.repo_only"),
            vec!["postgres"],
            "{}",
            out.all
        );
    }
    // Files a module's runtime may read are not documents, whatever their extension.
    for files in [
        &["modules/postgres/requirements.txt"][..],
        &["modules/traefik/static/robots.txt"],
        &["modules/traefik/static/index.md"],
        &["modules/postgres/initdb/notes.rst"],
        &["modules/postgres/config/README.adoc"],
    ] {
        let out = repo_only(files);
        assert_eq!(out.code, 1, "{files:?}: {}", out.all);
        assert_eq!(
            out.subjects("canary.evidence.repo_only_invalid").len(),
            1,
            "{files:?}: {}",
            out.all
        );
    }
}
