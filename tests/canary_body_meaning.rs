//! `canary_required`, process level: the pack is read for what it says, not for its shape.
//! A section written only in placeholder words (in any letter case, spacing, width or
//! look-alike script) is empty; what Forgejo does not show (an unreferenced footnote, an
//! image's alt text, math) is not content; a label that only looks like one the gate knows is
//! refused, from the flag and from the event alike; the repo-only waiver covers documentation
//! only, never a file a module's runtime may read; a pack whose canary failed does not pass.

mod common;

use common::{gate, run};
use serde_json::Value;
use std::path::PathBuf;

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
