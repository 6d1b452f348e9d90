//! Plain text for a Forgejo log: Forgejo renders no annotations and no step summary, so the
//! verdict comes first, then every reason with its code and what to do.

use crate::report::{Decision, GateError, Severity};
use std::fmt::Write;

pub fn decision(d: &Decision) -> String {
    let mut out = String::new();
    let errors = d
        .reasons
        .iter()
        .filter(|r| r.severity == Severity::Error)
        .count();
    let warnings = d
        .reasons
        .iter()
        .filter(|r| r.severity == Severity::Warning)
        .count();
    let _ = writeln!(
        out,
        "{}: {} — {} ({} checks, {} blocking, {} warnings)",
        d.gate.name(),
        d.outcome.as_str().to_uppercase(),
        clean(&d.subject),
        d.checks_run,
        errors,
        warnings
    );
    // Blocking reasons first, then warnings, then the notes that explain a yes.
    for severity in [Severity::Error, Severity::Warning, Severity::Info] {
        for r in d.reasons.iter().filter(|r| r.severity == severity) {
            let _ = write!(
                out,
                "  {}[{}]: {}",
                severity.as_str(),
                r.code.id,
                clean(&r.message)
            );
            if let Some(loc) = &r.location {
                let _ = write!(out, " ({}:{}:{})", clean(&loc.file), loc.line, loc.col);
            }
            out.push('\n');
            if severity != Severity::Info {
                let _ = writeln!(out, "    help: {}", r.code.help);
            }
        }
    }
    for (k, v) in &d.facts {
        let _ = writeln!(out, "  {k}: {}", clean(v));
    }
    for input in &d.inputs {
        let _ = writeln!(
            out,
            "  input {}: {} sha256:{}",
            input.name,
            clean(&input.source),
            input.sha256
        );
    }
    let _ = writeln!(out, "  now: {}", crate::clock::format(d.now));
    out
}

pub fn error(gate: &str, e: &GateError) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{gate}: ERROR — could not evaluate");
    let _ = writeln!(out, "  error[{}]: {}", e.code.id, clean(&e.message));
    for line in &e.details {
        let _ = writeln!(out, "    {}", clean(line));
    }
    let _ = writeln!(out, "    help: {}", e.code.help);
    out
}

/// Hostile text (PR titles, dispatch inputs) must not forge log lines or workflow commands:
/// control characters are escaped, and a line never starts with `::`.
pub fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 1);
    push_clean(&mut out, s);
    out
}

/// [`clean`], appended to `out` without a string of its own (the linter cleans every message,
/// path and source line it shows, tens of thousands per run).
pub fn push_clean(out: &mut String, s: &str) {
    // An escaped control character starts with `\`, never `:`, so the cleaned text starts
    // with `::` exactly when `s` does.
    if s.starts_with("::") {
        out.push(' ');
    }
    // Printable ASCII needs no escaping (the common case); other text is looked at per
    // character (C1 controls are two bytes in UTF-8).
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        if c.is_control() && c != '\t' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_escapes_controls_and_a_leading_workflow_command() {
        for (raw, shown) in [
            ("plain text: a, b", "plain text: a, b"),
            ("::error::x", " ::error::x"),
            ("::\n", " ::\\n"),
            ("\n::x", "\\n::x"),
            ("a\r\nb", "a\\r\\nb"),
            ("tab\tkept", "tab\tkept"),
            ("del\u{7f}", "del\\u{7f}"),
            ("c1\u{85}next", "c1\\u{85}next"),
            ("é ü ${{ x }}", "é ü ${{ x }}"),
            ("", ""),
        ] {
            assert_eq!(clean(raw), shown, "{raw:?}");
            let mut out = String::from("> ");
            push_clean(&mut out, raw);
            assert_eq!(out, format!("> {shown}"), "{raw:?}");
        }
    }
}
