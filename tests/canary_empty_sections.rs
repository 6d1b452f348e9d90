//! `canary_required`, process level: a section that looks empty on Forgejo is empty. What
//! Forgejo's renderer does not show (HTML comments, `<style>`/`<script>` and the other elements
//! its sanitizer drops with their content, entities and characters that render as nothing) is
//! not content, and placeholders count whatever punctuation or brackets surround them.

mod common;

use common::{gate, run};
use serde_json::Value;
use std::path::Path;

/// The full example pack with the text of "What changed" replaced by `content`.
fn body_with(content: &str) -> String {
    let full = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/canary/full-pack.md"),
    )
    .unwrap();
    let start = full.find("### What changed\n").unwrap() + "### What changed\n".len();
    let end = full.find("### Why it changed").unwrap();
    format!("{}\n{content}\n\n{}", &full[..start], &full[end..])
}

/// Run the gate on `body` for a risky, non-module path (full tier) and return the exit code
/// and the subjects of `canary.section.empty`.
fn empty_sections(body: &str) -> (i32, Vec<String>, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("b.md"), body).unwrap();
    std::fs::write(dir.path().join("c.txt"), "compose/core/compose.yaml\n").unwrap();
    let out = run(gate("canary_required").current_dir(dir.path()).args([
        "--body",
        "b.md",
        "--changed-files",
        "c.txt",
        "--labels",
        "tier/full",
        "--format",
        "json",
    ]));
    let doc: Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.all()));
    let empty = doc["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["code"] == "canary.section.empty")
        .map(|r| r["subject"].as_str().unwrap_or("").to_string())
        .collect();
    (out.code, empty, out.all())
}

#[test]
fn the_unchanged_example_passes() {
    let (code, empty, all) = empty_sections(&body_with(
        "- The auto-apply workflow calls the one-shot gate.",
    ));
    assert_eq!((code, empty), (0, vec![]), "{all}");
}

#[test]
fn what_forgejo_does_not_show_is_not_content() {
    for content in [
        // Elements the sanitizer drops together with their text.
        "<style>the gate now reads the plan</style>",
        "<script>the gate now reads the plan</script>",
        "<title>the gate now reads the plan</title>",
        "<noscript>the gate now reads the plan</noscript>",
        "<div><object>the gate now reads the plan</object></div>",
        "<iframe>the gate now reads the plan</iframe>",
        "<STYLE>the gate now reads the plan</STYLE>",
        "<!-- the gate now reads the plan -->",
        // Inline, inside a paragraph or a list item.
        "- <style>the gate now reads the plan</style>",
        "<!-- x -->: <script>alert('the gate now reads the plan')</script>",
        // Characters that render as nothing.
        "\u{3164}",
        "\u{3164}\u{3164} \u{115F}\u{1160} \u{FFA0}",
        "\u{200B}\u{200C}\u{200D}\u{2060}\u{FEFF}",
        "\u{2800}\u{2800}\u{2800}",
        "\u{00A0}\u{2003}\u{3000}",
        "\u{FE0F}\u{E0100}\u{034F}\u{180E}\u{00AD}",
        "\u{E0054}\u{E0042}\u{E0044}",
        "- \u{3164}",
        "`\u{3164}`",
        // The same as entities, in Markdown and in HTML.
        "&#x3164;&#12644;",
        "&ZeroWidthSpace;&nbsp;&zwnj;",
        "<p>&#x200B;&#8203;&nbsp;&hellip;</p>",
        "<span>&ZeroWidthSpace;</span>",
        // Placeholders, whatever surrounds them.
        "TODO?",
        "[TODO]",
        "(TBD)",
        "**TODO**",
        "TODO - fill in later",
        "TODO — fill in later",
        "TBD: after the review",
        "[TBD] after the review",
        "(TODO) write this",
        "TODO, then TBD",
        "todo todo",
        "T\u{200B}O\u{200B}D\u{200B}O",
        "TO\u{3164}DO",
        "- [ ] TODO",
        "<fill in>",
        "[fill in]",
        "<p>[TODO]</p>",
        "> TODO",
    ] {
        let (code, empty, all) = empty_sections(&body_with(content));
        assert_eq!(
            (code, empty),
            (1, vec!["What changed".to_string()]),
            "{content:?} must count as empty\n{all}"
        );
    }
}

#[test]
fn visible_text_next_to_hidden_markup_is_content() {
    for content in [
        "<style>p {}</style> the gate now reads the plan",
        "the gate now reads the plan <!-- TODO -->",
        "TBD after review by ops",
        "TODO list cleanup: the gate now reads the plan",
        "\u{3164} the gate now reads the plan",
        "<p>load &lt; 0.5 on the canary host</p>",
        "<details><summary>Evidence</summary>the gate now reads the plan</details>",
        "`x`",
        "Ünïcode änd 日本語",
    ] {
        let (code, empty, all) = empty_sections(&body_with(content));
        assert_eq!(
            (code, empty),
            (0, vec![]),
            "{content:?} must count as content\n{all}"
        );
    }
}
