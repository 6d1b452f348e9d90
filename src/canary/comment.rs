//! What the gate writes where Forgejo shows it: a commit-status description and one pull-request
//! comment, found again by a hidden marker and edited, never duplicated.

use crate::report::{Decision, GateError, Outcome, Severity};
use std::fmt::Write;

/// The hidden marker that identifies the gate's own comment.
pub const MARKER: &str = "<!-- forgejo-gates:canary_required -->";

/// Commit-status descriptions longer than this are cut (Forgejo shows one line).
pub const MAX_DESCRIPTION_CHARS: usize = 140;

/// `success` or `failure`, as the commit-status API spells them.
pub fn status_state(d: &Decision) -> &'static str {
    if d.outcome == Outcome::Pass {
        "success"
    } else {
        "failure"
    }
}

/// One line for the commit status: the verdict and what is missing.
pub fn status_description(d: &Decision) -> String {
    let errors: Vec<&str> = d
        .reasons
        .iter()
        .filter(|r| r.severity == Severity::Error)
        .map(|r| r.subject.as_deref().unwrap_or(r.code.id))
        .collect();
    let text = if d.outcome == Outcome::Pass {
        match d.facts.get("tier").map(String::as_str) {
            Some("none") | None => "pass: no risky path touched".to_string(),
            Some(t) => format!("pass: {t} canary context pack complete"),
        }
    } else {
        format!("fail: missing or empty: {}", errors.join(", "))
    };
    cut(&one_line(&text), MAX_DESCRIPTION_CHARS)
}

/// One line for the `error` status of a run that could not evaluate: the code and why.
pub fn error_description(e: &GateError) -> String {
    cut(
        &one_line(&format!(
            "error: could not evaluate ({}): {}",
            e.code.id, e.message
        )),
        MAX_DESCRIPTION_CHARS,
    )
}

/// The comment of a run that could not evaluate: it replaces whatever the comment said before
/// (a pass included), so the comment never says more than the run found.
pub fn error_body(e: &GateError, target_url: Option<&str>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{MARKER}");
    let _ = writeln!(out, "### ⚠️ canary_required: error, could not evaluate");
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "The check could not evaluate this pull request, so it neither passes nor fails it; an earlier result no longer stands. The commit status says `error`."
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "- `{}`: {}", e.code.id, md_escape(&e.message));
    let _ = writeln!(out, "  - how to fix: {}", md_escape(e.code.help));
    job_log(&mut out, target_url);
    out
}

fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Text from the body or the policy, made inert in Markdown: no HTML, no mentions, no links,
/// no formatting that could hide or forge parts of the comment.
pub fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in one_line(s).chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '#' | '|' | '!' | '~' | '>' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '&' => out.push_str("&amp;"),
            '@' => out.push_str("&#64;"),
            ':' => out.push_str("&#58;"),
            _ => out.push(c),
        }
    }
    out
}

/// The comment body: the marker, the verdict, every blocking reason with its code and help.
pub fn comment_body(d: &Decision, target_url: Option<&str>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{MARKER}");
    let tier = d.facts.get("tier").map(String::as_str).unwrap_or("none");
    if d.outcome == Outcome::Pass {
        let _ = writeln!(out, "### ✅ canary_required: pass");
        let _ = writeln!(out);
        if tier == "none" {
            let _ = writeln!(
                out,
                "This pull request touches no risky path; no canary context pack is needed."
            );
        } else {
            let _ = writeln!(out, "The {tier} canary context pack is complete.");
        }
    } else {
        let _ = writeln!(out, "### ❌ canary_required: fail ({tier} pack)");
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "This pull request touches risky paths, so its description needs a canary context pack. Fix the items below by editing the description; the check runs again on edit."
        );
        let _ = writeln!(out);
        for r in d.reasons.iter().filter(|r| r.severity == Severity::Error) {
            let _ = write!(out, "- `{}`: {}", r.code.id, md_escape(&r.message));
            if let Some(loc) = &r.location {
                let _ = write!(out, " (line {})", loc.line);
            }
            let _ = writeln!(out);
            let _ = writeln!(out, "  - how to fix: {}", md_escape(r.code.help));
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "Sections are headings of any level or bold lines, in any order; an empty section, a placeholder (TODO, TBD, -, ..., &lt;fill in&gt;) or only a sub-heading counts as missing."
        );
    }
    for r in d.reasons.iter().filter(|r| r.code.id == "canary.tier") {
        let _ = writeln!(out);
        let _ = writeln!(out, "_{}_", md_escape(&r.message));
    }
    job_log(&mut out, target_url);
    out
}

/// A link to the job's log, for a plain http(s) URL only.
fn job_log(out: &mut String, target_url: Option<&str>) {
    if let Some(url) = target_url
        && (url.starts_with("https://") || url.starts_with("http://"))
        && !url
            .chars()
            .any(|c| c.is_whitespace() || c == ')' || c == '(')
    {
        let _ = writeln!(out);
        let _ = writeln!(out, "[Job log]({url})");
    }
}

#[cfg(test)]
mod tests {
    use super::{comment_body, md_escape};
    use crate::canary::{Request, evaluate};
    use crate::model::pull_request::PullRequest;
    use crate::policy::LoadedPolicy;
    use crate::report::Decision;

    fn decide(body: &str, files: &[&str], labels: &[&str]) -> Decision {
        let policy = LoadedPolicy::builtin();
        let pr = PullRequest {
            number: Some(7),
            body: Some(body.to_string()),
            body_source: "body".into(),
            labels: labels.iter().map(|l| l.to_string()).collect(),
            head_sha: None,
            base_sha: None,
        };
        let files: Vec<String> = files.iter().map(|f| f.to_string()).collect();
        evaluate(&Request {
            modules: &[],
            policy: &policy,
            pr: &pr,
            changed_files: &files,
            inputs: Vec::new(),
            now: time::macros::datetime!(2026-05-17 01:30 UTC),
        })
        .expect("evaluated")
    }

    fn full_pack() -> String {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/canary/full-pack.md"),
        )
        .expect("fixture")
    }

    #[test]
    fn a_pass_says_why_it_passed_and_shows_the_tier() {
        let none = comment_body(&decide("", &["docs/notes.md"], &[]), None);
        assert!(none.contains("touches no risky path"), "{none}");
        assert!(!none.contains("context pack is complete"), "{none}");

        let full = comment_body(
            &decide(&full_pack(), &["compose/core/compose.yaml"], &["tier/full"]),
            None,
        );
        assert!(
            full.contains("The full canary context pack is complete."),
            "{full}"
        );
        assert!(!full.contains("touches no risky path"), "{full}");
        // The tier and why, in italics.
        assert!(full.contains("\n_tier full&#58; label"), "{full}");
    }

    #[test]
    fn the_job_log_link_is_shown_only_for_a_plain_http_url() {
        let d = decide("", &["docs/notes.md"], &[]);
        for ok in [
            "https://forgejo.example/o/r/actions/runs/31",
            "http://forgejo.local/o/r/actions/runs/31",
        ] {
            assert!(
                comment_body(&d, Some(ok)).contains(&format!("[Job log]({ok})")),
                "{ok}"
            );
        }
        for bad in [
            "javascript:alert(1)",
            "ftp://forgejo.example/x",
            "https://x/a) [phish](https://evil",
            "https://x/a b",
            "https://x/(a",
        ] {
            assert!(!comment_body(&d, Some(bad)).contains("Job log"), "{bad}");
        }
    }

    #[test]
    fn hostile_text_is_inert_in_the_comment() {
        // Every Markdown control character is backslash-escaped.
        for c in [
            '\\', '`', '*', '_', '[', ']', '(', ')', '#', '|', '!', '~', '>',
        ] {
            assert_eq!(md_escape(&format!("a{c}b")), format!("a\\{c}b"), "{c:?}");
        }
        // HTML, entities, mentions and autolinks are neutralised as entities.
        assert_eq!(md_escape("<img src=x>"), "&lt;img src=x\\>");
        assert_eq!(md_escape("&amp;"), "&amp;amp;");
        assert_eq!(md_escape("@admin"), "&#64;admin");
        assert_eq!(md_escape("https://evil"), "https&#58;//evil");
        // Control characters (newlines included) cannot start a new block.
        assert_eq!(md_escape("a\nb\r\tc"), "a b  c");
        assert_eq!(md_escape("plain text 42"), "plain text 42");
    }
}
