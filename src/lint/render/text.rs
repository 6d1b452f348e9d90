//! Human text: the folder chosen, each finding as a rustc-style code frame as its file is
//! done, then the verdict.
use super::Summary;
use crate::lint::{FileResult, Finding};
use crate::render::text::clean;
use std::fmt::Write;

/// The first lines, before any file: which workflow folder was chosen (when one was).
pub fn head(folder: Option<&str>) -> String {
    match folder {
        Some(folder) => format!(
            "lint_workflows: linting {} (the first of {} that exists, as Forgejo chooses)\n\n",
            clean(folder),
            crate::lint::discover::FOLDERS.join(", ")
        ),
        None => String::new(),
    }
}

/// One file's findings, each a code frame followed by a blank line.
pub fn file(file: &FileResult) -> String {
    let mut out = String::new();
    if file.findings.is_empty() {
        return out;
    }
    // Split once per file: looking each finding's line up from the start would make a file
    // with many findings quadratic.
    let lines: Option<Vec<&str>> = file.text.as_deref().map(|t| t.lines().collect());
    for f in &file.findings {
        frame(&mut out, f, lines.as_deref());
        out.push('\n');
    }
    out
}

/// The verdict, last: it is known only once every file is linted.
pub fn tail(s: &Summary<'_>) -> String {
    let mut out = format!(
        "lint_workflows: {} — {} file(s), {} error(s), {} warning(s)",
        s.outcome.to_uppercase(),
        s.files,
        s.errors,
        s.warnings
    );
    if s.suppressed > 0 {
        out.push_str(&format!(", {} suppressed", s.suppressed));
    }
    out.push('\n');
    out
}

fn frame(out: &mut String, f: &Finding, lines: Option<&[&str]>) {
    let _ = writeln!(
        out,
        "{}[{}]: {}",
        f.level.as_str(),
        f.code.id,
        clean(&f.message)
    );
    let gutter = f.line.to_string().len();
    let pad = " ".repeat(gutter);
    let _ = writeln!(out, "{pad}--> {}:{}:{}", clean(&f.file), f.line, f.col);
    if let Some(line) = lines.and_then(|l| l.get(f.line.wrapping_sub(1)).copied()) {
        // Tabs would shift the caret; show them as one space each.
        let shown: String = line
            .chars()
            .take(200)
            .map(|c| if c == '\t' { ' ' } else { c })
            .collect();
        let _ = writeln!(out, "{pad} |");
        let _ = writeln!(out, "{} | {}", f.line, clean(&shown));
        let width = shown.chars().count();
        let start = (f.col - 1).min(width);
        let len = f.len.min(width.saturating_sub(start)).max(1);
        let _ = writeln!(out, "{pad} | {}{}", " ".repeat(start), "^".repeat(len));
    }
    if let Some(note) = &f.note {
        let _ = writeln!(out, "{pad} = note: {}", clean(note));
    }
    let _ = writeln!(out, "{pad} = help: {}", f.code.help);
}
