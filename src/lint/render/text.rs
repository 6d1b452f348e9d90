//! Human text: the verdict first, then each finding as a rustc-style code frame.
use super::Summary;
use crate::lint::{Finding, Level};
use crate::render::text::clean;
use std::fmt::Write;

pub fn render(s: &Summary<'_>) -> String {
    let mut out = String::new();
    let count = |l: Level| {
        s.files
            .iter()
            .flat_map(|f| &f.findings)
            .filter(|x| x.level == l)
            .count()
    };
    let (errors, warnings) = (count(Level::Error), count(Level::Warning));
    let _ = write!(
        out,
        "lint_workflows: {} — {} file(s), {errors} error(s), {warnings} warning(s)",
        s.outcome.to_uppercase(),
        s.linted
    );
    if s.suppressed > 0 {
        let _ = write!(out, ", {} suppressed", s.suppressed);
    }
    out.push('\n');
    if let Some(folder) = s.folder {
        let _ = writeln!(
            out,
            "  linting {} (the first of {} that exists, as Forgejo chooses)",
            clean(folder),
            crate::lint::discover::FOLDERS.join(", ")
        );
    }
    for file in s.files {
        // Split once per file: looking each finding's line up from the start would make a
        // file with many findings quadratic.
        let lines: Option<Vec<&str>> = file.text.as_deref().map(|t| t.lines().collect());
        for f in &file.findings {
            out.push('\n');
            frame(&mut out, f, lines.as_deref());
        }
    }
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
