//! Human text: the folder chosen, each finding as a rustc-style code frame as its file is
//! done, then the verdict.
use super::Summary;
use crate::lint::source::Lines;
use crate::lint::{FileResult, Finding};
use crate::render::text::{clean, push_clean};
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
    let lines = file.text.as_deref().map(Lines::new);
    for f in &file.findings {
        frame(&mut out, f, lines.as_ref());
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

fn frame(out: &mut String, f: &Finding, lines: Option<&Lines<'_>>) {
    // Appended piece by piece: no string per finding but the output (a run over 10,700 files
    // renders some 57,000 frames).
    let _ = write!(out, "{}[{}]: ", f.level.as_str(), f.code.id);
    push_clean(out, &f.message);
    let gutter = decimal_width(f.line);
    out.push('\n');
    spaces(out, gutter);
    out.push_str("--> ");
    push_clean(out, &f.file);
    let _ = writeln!(out, ":{}:{}", f.line, f.col);
    if let Some(line) = lines.and_then(|l| l.get(f.line.wrapping_sub(1))) {
        spaces(out, gutter);
        out.push_str(" |\n");
        let _ = write!(out, "{} | ", f.line);
        // At most 200 characters; tabs would shift the caret: one space each.
        let end = line.char_indices().nth(200).map_or(line.len(), |(i, _)| i);
        let shown = &line[..end];
        if shown.contains('\t') {
            push_clean(out, &shown.replace('\t', " "));
        } else {
            push_clean(out, shown);
        }
        out.push('\n');
        let width = shown.chars().count();
        let start = (f.col - 1).min(width);
        let len = f.len.min(width.saturating_sub(start)).max(1);
        spaces(out, gutter);
        out.push_str(" | ");
        spaces(out, start);
        out.extend(std::iter::repeat_n('^', len));
        out.push('\n');
    }
    if let Some(note) = &f.note {
        spaces(out, gutter);
        out.push_str(" = note: ");
        push_clean(out, note);
        out.push('\n');
    }
    spaces(out, gutter);
    let _ = writeln!(out, " = help: {}", f.code.help);
}

/// How many decimal digits `n` is written with.
fn decimal_width(mut n: usize) -> usize {
    let mut width = 1;
    while n >= 10 {
        n /= 10;
        width += 1;
    }
    width
}

fn spaces(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}
