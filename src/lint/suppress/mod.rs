//! Suppressions where the user stands: a comment on the finding's line or on its step
//! ([`comments`]), per-path ignores in the policy ([`path_ignore`]), and a baseline file
//! ([`baseline`]).
//!
//! [`filter`] is applied to one file at a time, after the rules and the policy's levels:
//! (the file, its findings, its text, the configuration) → (kept, suppressed, unused). It
//! needs nothing from other files, so it fits a runner that streams findings per file. Only
//! the policy's ignores and the baseline's entries are judged at the end of the run (an
//! entry is unused when no file used it): [`Tally`] gathers what each file used.
//!
//! Every suppression needs a reason; one without is a finding and suppresses nothing. Some
//! rules cannot be suppressed at all ([`UNSUPPRESSIBLE`]): above all `lint.gate_wiring`, so that
//! no comment, policy entry or baseline can make an ungated apply pass the linter.
pub mod baseline;
pub mod comments;
pub mod path_ignore;

use super::{Finding, Level};
use crate::report::code::code;
use crate::report::{Severity, renamed};
use baseline::{Baseline, Key};
use path_ignore::PathIgnore;
use std::collections::{BTreeMap, BTreeSet};

code!(
    INVALID,
    "lint.invalid_suppression",
    Error,
    "A suppression comment is malformed, has no reason, names an unknown rule or one that cannot be suppressed; it suppresses nothing.",
    "Write `# lint_workflows: ignore[lint.rule_id] reason`, with the full rule id and a reason that says why the finding does not apply."
);

code!(
    UNUSED,
    "lint.unused_suppression",
    Warning,
    "A suppression (comment, policy `lint.ignore` entry or baseline entry) matched no finding.",
    "Remove it: the finding it was for is gone or has moved. Rewrite a baseline with `--write-baseline`."
);

code!(
    DEPRECATED_ID,
    "lint.deprecated_id",
    Warning,
    "A rule id is written in its old spelling (`lint.gate-wiring` for `lint.gate_wiring`) in a suppression comment, the policy's `lint` section or a baseline; it is read as the new id for now.",
    "Write the new id the message names (docs/reasons/renamed.md lists every renamed id and until when the old spelling is read); after that date the old spelling is an unknown id, an error."
);

/// Rules no suppression applies to. A comment, `lint.ignore` entry or baseline entry naming one
/// is refused.
pub const UNSUPPRESSIBLE: &[&str] = &[
    "lint.invalid_file",
    "lint.gate_wiring",
    INVALID.id,
    UNUSED.id,
    DEPRECATED_ID.id,
];

/// Why `id` is in [`UNSUPPRESSIBLE`], for messages.
pub fn why_unsuppressible(id: &str) -> &'static str {
    match id {
        "lint.gate_wiring" => {
            "a deploy workflow whose apply can run without the gates must never pass; fix the wiring"
        }
        "lint.invalid_file" => "a file that cannot be read as a workflow is never a pass",
        _ => {
            "a finding about suppressions cannot be suppressed; fix it, or set its level in the policy's `lint.rules`"
        }
    }
}

/// What suppressed a finding.
#[derive(Debug, Clone, PartialEq)]
pub enum By {
    /// A comment on this line of the same file.
    Comment { line: usize },
    /// The policy's `lint.ignore` entry at this index.
    Policy { entry: usize },
    /// The baseline's entry at this index.
    Baseline { entry: usize },
    /// The baseline being written (`--write-baseline`).
    NewBaseline,
}

/// A finding not reported, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Suppressed {
    pub finding: Finding,
    pub by: By,
    pub reason: String,
}

/// What the filter needs besides the file.
pub struct Config<'a> {
    /// The policy's `lint.ignore`.
    pub ignores: &'a [PathIgnore],
    /// The policy's levels, applied to the findings about suppressions.
    pub levels: &'a BTreeMap<String, Level>,
    pub baseline: Option<&'a Baseline>,
    /// `--write-baseline`: every finding a baseline may hold goes into the new one (and is
    /// suppressed by it).
    pub writing: bool,
    /// Rule ids the policy's lint section writes in an old spelling
    /// ([`crate::lint::config::LintPolicy::renamed`]), reported with the policy's findings.
    pub renamed: &'a [renamed::Accepted],
}

/// What a file used of the run-wide suppressions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    /// The file's path as the policy globs and the baseline see it.
    pub path: String,
    /// `lint.ignore` entries whose glob matched the path.
    pub ignores_matched: Vec<usize>,
    /// `(entry, rule index)` of the `lint.ignore` rules that suppressed something.
    pub ignores_used: Vec<(usize, usize)>,
    /// `(baseline entry, findings it suppressed)`.
    pub baseline_used: Vec<(usize, usize)>,
    /// For `--write-baseline`: each key with its count and a message.
    pub written: Vec<(Key, String)>,
}

/// The filter's answer for one file.
#[derive(Debug, Clone, Default)]
pub struct Filtered {
    /// Findings still reported, with the findings about malformed suppressions.
    pub kept: Vec<Finding>,
    pub suppressed: Vec<Suppressed>,
    /// Findings about comments that suppressed nothing.
    pub unused: Vec<Finding>,
    pub usage: Usage,
}

impl Filtered {
    /// Everything to report for the file, in line order.
    pub fn into_findings(mut self) -> Vec<Finding> {
        self.take_findings()
    }

    /// Everything to report for the file, in line order, taken out: what is left (the
    /// suppressed findings and the usage) is what the run's tally reads.
    pub fn take_findings(&mut self) -> Vec<Finding> {
        let mut all = std::mem::take(&mut self.kept);
        let unused = std::mem::take(&mut self.unused);
        if unused.is_empty() && all.is_sorted_by_key(order) {
            return all;
        }
        all.extend(unused);
        all.sort_by_key(order);
        all
    }
}

fn order(f: &Finding) -> (usize, usize, &'static str) {
    (f.line, f.col, f.code.id)
}

/// The path of a linted file as globs and baselines see it: relative to `root` when it is
/// below it, `/`-separated, without `./`.
pub fn repo_path(file: &std::path::Path, root: &std::path::Path) -> String {
    use std::path::Component;
    let rel = file.strip_prefix(root).unwrap_or(file);
    let mut out = String::new();
    for c in rel.components() {
        let part = match c {
            Component::CurDir => continue,
            Component::RootDir => {
                out.push('/');
                continue;
            }
            Component::ParentDir => "..".into(),
            Component::Prefix(p) => p.as_os_str().to_string_lossy(),
            Component::Normal(n) => n.to_string_lossy(),
        };
        if !out.is_empty() && !out.ends_with('/') {
            out.push('/');
        }
        out.push_str(&part);
    }
    out
}

fn at(
    code: &'static crate::report::Code,
    file: &str,
    line: usize,
    col: usize,
    len: usize,
    message: String,
    levels: &BTreeMap<String, Level>,
) -> Option<Finding> {
    let level = levels.get(code.id).copied().unwrap_or(Level::of(code));
    level.severity().map(|level| Finding {
        code,
        level,
        file: file.to_string(),
        line: line.max(1),
        col: col.max(1),
        len: len.max(1),
        message,
        note: None,
    })
}

/// "line 4" or "lines 4-9".
fn lines_named((first, last): (usize, usize)) -> String {
    if first == last {
        format!("line {first}")
    } else {
        format!("lines {first}-{last}")
    }
}

/// Filter one file's findings. `shown` is how the file is named in findings (as the linter
/// named it), `path` its path as globs and baselines see it ([`repo_path`]); `text` its
/// content when it was read as text.
pub fn filter(
    shown: &str,
    path: &str,
    findings: Vec<Finding>,
    text: Option<&str>,
    cfg: &Config<'_>,
) -> Filtered {
    let mut out = Filtered {
        usage: Usage {
            path: path.to_string(),
            ..Usage::default()
        },
        ..Filtered::default()
    };
    let mut pending: Vec<Finding> = Vec::with_capacity(findings.len());
    // 1. Comments in the file.
    let ids: Vec<&str> = super::codes().iter().map(|c| c.id).collect();
    let comments = match text {
        Some(t) if t.contains(comments::MARKER) => match crate::yaml::parse(t) {
            Ok(doc) => comments::find(t, &doc, &ids),
            Err(_) => (Vec::new(), Vec::new()),
        },
        _ => (Vec::new(), Vec::new()),
    };
    let (comments, undecided) = comments;
    let file = shown;
    let mut used: BTreeSet<(usize, usize)> = BTreeSet::new();
    for f in findings {
        let by = if UNSUPPRESSIBLE.contains(&f.code.id) {
            None
        } else {
            comments.iter().enumerate().find_map(|(ci, c)| {
                let d = c.directive.as_ref().ok()?;
                if f.line < c.covers.0 || f.line > c.covers.1 {
                    return None;
                }
                let ii = d.ids.iter().position(|(id, _)| id == f.code.id)?;
                Some((ci, ii))
            })
        };
        match by {
            Some((ci, ii)) => {
                used.insert((ci, ii));
                let c = &comments[ci];
                let reason = c
                    .directive
                    .as_ref()
                    .map(|d| d.reason.clone())
                    .unwrap_or_default();
                out.suppressed.push(Suppressed {
                    finding: f,
                    by: By::Comment { line: c.line },
                    reason,
                });
            }
            None => pending.push(f),
        }
    }
    for (ci, c) in comments.iter().enumerate() {
        match &c.directive {
            Err(message) => out.kept.extend(at(
                &INVALID,
                file,
                c.line,
                c.col,
                c.len,
                message.clone(),
                cfg.levels,
            )),
            Ok(d) => {
                for (old, current, col) in &d.renamed {
                    out.kept.extend(at(
                        &DEPRECATED_ID,
                        file,
                        c.line,
                        *col,
                        old.chars().count(),
                        renamed::deprecation_message(old, current),
                        cfg.levels,
                    ));
                }
                for (ii, (id, col)) in d.ids.iter().enumerate() {
                    if !used.contains(&(ci, ii)) {
                        out.unused.extend(at(
                            &UNUSED,
                            file,
                            c.line,
                            *col,
                            id.chars().count(),
                            format!(
                                "this comment suppresses `{id}`, but no `{id}` finding is on {}; remove it",
                                lines_named(c.covers)
                            ),
                            cfg.levels,
                        ));
                    }
                }
            }
        }
    }
    for (line, why) in undecided {
        out.kept
            .extend(at(&INVALID, file, line, 1, 1, why, cfg.levels));
    }
    // 2. The policy's per-path ignores.
    let matched: Vec<usize> = cfg
        .ignores
        .iter()
        .enumerate()
        .filter(|(_, ig)| ig.matches(path))
        .map(|(i, _)| i)
        .collect();
    let mut rest = Vec::with_capacity(pending.len());
    for f in pending {
        let hit = if UNSUPPRESSIBLE.contains(&f.code.id) {
            None
        } else {
            matched.iter().find_map(|&i| {
                let r = cfg.ignores[i]
                    .rules
                    .iter()
                    .position(|(id, _)| id == f.code.id)?;
                Some((i, r))
            })
        };
        match hit {
            Some((i, r)) => {
                if !out.usage.ignores_used.contains(&(i, r)) {
                    out.usage.ignores_used.push((i, r));
                }
                out.suppressed.push(Suppressed {
                    reason: cfg.ignores[i].reason.clone(),
                    finding: f,
                    by: By::Policy { entry: i },
                });
            }
            None => rest.push(f),
        }
    }
    out.usage.ignores_matched = matched;
    // 3. The baseline (or the one being written).
    let baselining = cfg.writing || cfg.baseline.is_some();
    if baselining {
        let lines: Vec<&str> = text.map(|t| t.lines().collect()).unwrap_or_default();
        let mut budget: BTreeMap<usize, usize> = BTreeMap::new();
        for f in rest {
            let eligible = !UNSUPPRESSIBLE.contains(&f.code.id)
                && matches!(f.level, Severity::Error | Severity::Warning);
            if !eligible {
                out.kept.push(f);
                continue;
            }
            let key = baseline::key_of(&f, path, &lines);
            if cfg.writing {
                out.usage.written.push((key, f.message.clone()));
                out.suppressed.push(Suppressed {
                    finding: f,
                    by: By::NewBaseline,
                    reason: "recorded in the new baseline".into(),
                });
                continue;
            }
            let Some(b) = cfg.baseline else {
                out.kept.push(f);
                continue;
            };
            let line = lines.get(f.line.wrapping_sub(1)).copied().unwrap_or("");
            match b.find_finding(&key, &f, line) {
                Some(i) if budget.get(&i).copied().unwrap_or(0) < b.entries[i].count => {
                    *budget.entry(i).or_insert(0) += 1;
                    out.suppressed.push(Suppressed {
                        finding: f,
                        by: By::Baseline { entry: i },
                        reason: "recorded in the baseline".into(),
                    });
                }
                _ => out.kept.push(f),
            }
        }
        out.usage.baseline_used = budget.into_iter().collect();
    } else {
        out.kept.extend(rest);
    }
    out
}

/// The suppressions used over a whole run, to report the policy entries and baseline
/// entries that suppressed nothing.
#[derive(Debug, Default)]
pub struct Tally {
    paths: BTreeSet<String>,
    ignores_matched: BTreeSet<usize>,
    ignores_used: BTreeSet<(usize, usize)>,
    baseline_used: BTreeMap<usize, usize>,
    written: BTreeMap<Key, (usize, String)>,
    suppressed: usize,
}

impl Tally {
    pub fn add(&mut self, f: &Filtered) {
        self.paths.insert(f.usage.path.clone());
        self.ignores_matched
            .extend(f.usage.ignores_matched.iter().copied());
        self.ignores_used
            .extend(f.usage.ignores_used.iter().copied());
        for &(entry, n) in &f.usage.baseline_used {
            *self.baseline_used.entry(entry).or_insert(0) += n;
        }
        for (key, message) in &f.usage.written {
            let slot = self
                .written
                .entry(key.clone())
                .or_insert((0, message.clone()));
            slot.0 += 1;
        }
        self.suppressed += f.suppressed.len();
    }

    /// How many findings were suppressed in the run.
    pub fn suppressed(&self) -> usize {
        self.suppressed
    }

    /// The baseline text for `--write-baseline`.
    pub fn baseline_text(&self) -> String {
        baseline::render(&self.written)
    }

    /// Findings for the policy entries (in `policy_file`) and baseline entries that
    /// suppressed nothing, and for the rule ids either writes in an old spelling
    /// (`lint.deprecated_id`, whatever files were linted). With `complete` false (only some
    /// files were linted), an entry is judged only when it names, or its glob matches, a file
    /// that was linted.
    pub fn unused(
        &self,
        cfg: &Config<'_>,
        policy_file: &str,
        complete: bool,
    ) -> (Vec<Finding>, Vec<Finding>) {
        let mut policy = Vec::new();
        for a in cfg.renamed {
            policy.extend(at(
                &DEPRECATED_ID,
                policy_file,
                a.line,
                a.col,
                a.old.chars().count(),
                renamed::deprecation_message(&a.old, a.current),
                cfg.levels,
            ));
        }
        for (i, ig) in cfg.ignores.iter().enumerate() {
            if !complete && !self.ignores_matched.contains(&i) {
                continue;
            }
            for (r, (id, pos)) in ig.rules.iter().enumerate() {
                if self.ignores_used.contains(&(i, r)) {
                    continue;
                }
                let why = if self.ignores_matched.contains(&i) {
                    format!(
                        "no `{id}` finding in the files `{}` matches",
                        ig.glob.escape_debug()
                    )
                } else {
                    format!("`{}` matches no linted workflow", ig.glob.escape_debug())
                };
                policy.extend(at(
                    &UNUSED,
                    policy_file,
                    pos.line,
                    pos.col,
                    id.chars().count(),
                    format!(
                        "the lint.ignore entry for `{id}` suppressed nothing: {why}; remove it"
                    ),
                    cfg.levels,
                ));
            }
        }
        let mut base = Vec::new();
        if let Some(b) = cfg.baseline {
            for e in &b.entries {
                if let Some(old) = &e.renamed_from {
                    base.extend(at(
                        &DEPRECATED_ID,
                        &b.file,
                        e.pos.line,
                        e.pos.col,
                        1,
                        renamed::deprecation_message(old, &e.key.rule),
                        cfg.levels,
                    ));
                }
            }
            for (i, e) in b.entries.iter().enumerate() {
                if !complete && !self.paths.contains(&e.key.path) {
                    continue;
                }
                let used = self.baseline_used.get(&i).copied().unwrap_or(0);
                if used >= e.count {
                    continue;
                }
                let message = if used == 0 {
                    format!(
                        "the baseline entry for `{}` in {} matches no finding any more; remove it or rewrite the baseline with --write-baseline",
                        e.key.rule,
                        e.key.path.escape_debug()
                    )
                } else {
                    format!(
                        "the baseline entry for `{}` in {} allows {} finding(s) but {used} remain; lower its count or rewrite the baseline with --write-baseline",
                        e.key.rule,
                        e.key.path.escape_debug(),
                        e.count
                    )
                };
                base.extend(at(
                    &UNUSED, &b.file, e.pos.line, e.pos.col, 1, message, cfg.levels,
                ));
            }
        }
        policy.sort_by_key(|f| (f.line, f.col));
        base.sort_by_key(|f| (f.line, f.col));
        (policy, base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::rules::gate_wiring;
    use std::path::Path;

    fn finding(code: &'static crate::report::Code, line: usize) -> Finding {
        Finding {
            code,
            level: code.severity,
            file: "w.yml".into(),
            line,
            col: 1,
            len: 1,
            message: "m".into(),
            note: None,
        }
    }

    fn ignores(yaml: &str) -> Vec<PathIgnore> {
        let doc = crate::yaml::parse(yaml).expect("parses");
        let mut problems = crate::yaml::Problems::default();
        let out = path_ignore::read(
            doc.root.as_ref().expect("root"),
            &crate::lint::codes(),
            &mut problems,
            &mut Vec::new(),
        );
        assert!(problems.is_empty(), "{problems:?}");
        out
    }

    #[test]
    fn paths_are_relative_to_the_root_with_slashes() {
        let p = |f: &str, r: &str| repo_path(Path::new(f), Path::new(r));
        assert_eq!(
            p("./.forgejo/workflows/a.yml", "."),
            ".forgejo/workflows/a.yml"
        );
        assert_eq!(
            p(".forgejo/workflows/a.yml", "."),
            ".forgejo/workflows/a.yml"
        );
        assert_eq!(
            p("/r/x/.forgejo/workflows/a.yml", "/r/x"),
            ".forgejo/workflows/a.yml"
        );
        assert_eq!(p("/elsewhere/a.yml", "/r/x"), "/elsewhere/a.yml");
        assert_eq!(p("a/./b.yml", "."), "a/b.yml");
    }

    #[test]
    fn writing_a_baseline_never_records_what_cannot_be_suppressed() {
        let levels = BTreeMap::new();
        let cfg = Config {
            ignores: &[],
            levels: &levels,
            baseline: None,
            writing: true,
            renamed: &[],
        };
        let text = "a: 1\nb: 2\nc: 3\n";
        let findings = vec![
            finding(&gate_wiring::CODE, 1),
            finding(&crate::lint::rules::invalid_file::CODE, 2),
            finding(&crate::lint::rules::unpinned_action::CODE, 3),
        ];
        let out = filter("w.yml", "w.yml", findings, Some(text), &cfg);
        let kept: Vec<&str> = out.kept.iter().map(|f| f.code.id).collect();
        assert_eq!(kept, vec!["lint.gate_wiring", "lint.invalid_file"]);
        assert_eq!(out.usage.written.len(), 1);
        assert_eq!(out.usage.written[0].0.rule, "lint.unpinned_action");
    }

    #[test]
    fn path_ignores_apply_to_matching_paths_and_never_to_gate_wiring() {
        let ig = ignores(
            "- path: .forgejo/workflows/*.yml\n  rules: [lint.unpinned_action]\n  reason: mirrored\n",
        );
        let levels = BTreeMap::new();
        let cfg = Config {
            ignores: &ig,
            levels: &levels,
            baseline: None,
            writing: false,
            renamed: &[],
        };
        let findings = vec![
            finding(&gate_wiring::CODE, 1),
            finding(&crate::lint::rules::unpinned_action::CODE, 2),
        ];
        let out = filter(
            "w.yml",
            ".forgejo/workflows/w.yml",
            findings.clone(),
            None,
            &cfg,
        );
        assert_eq!(out.kept.len(), 1);
        assert_eq!(out.kept[0].code.id, "lint.gate_wiring");
        assert_eq!(out.suppressed[0].reason, "mirrored");
        // `*` does not cross a folder.
        let out = filter(
            "w.yml",
            ".forgejo/workflows/sub/w.yml",
            findings,
            None,
            &cfg,
        );
        assert_eq!(out.kept.len(), 2);
    }

    #[test]
    fn path_ignores_refuse_unsuppressible_rules_and_missing_reasons() {
        for (yaml, says) in [
            (
                "- path: a.yml\n  rules: [lint.gate_wiring]\n  reason: r\n",
                "cannot be ignored",
            ),
            (
                "- path: a.yml\n  rules: [lint.invalid_file]\n  reason: r\n",
                "cannot be ignored",
            ),
            ("- path: a.yml\n  rules: [lint.unpinned_action]\n", "reason"),
            (
                "- path: a.yml\n  rules: [lint.unpinned_action]\n  reason: \" \"\n",
                "say why",
            ),
            ("- path: a.yml\n  rules: []\n  reason: r\n", "at least one"),
            (
                "- path: a.yml\n  rules: [lint.nope]\n  reason: r\n",
                "unknown rule id",
            ),
            (
                "- path: \"a[.yml\"\n  rules: [lint.unpinned_action]\n  reason: r\n",
                "invalid glob",
            ),
            (
                "- path: a.yml\n  rule: [lint.unpinned_action]\n  reason: r\n",
                "rule",
            ),
        ] {
            let doc = crate::yaml::parse(yaml).expect("parses");
            let mut problems = crate::yaml::Problems::default();
            let out = path_ignore::read(
                doc.root.as_ref().expect("root"),
                &crate::lint::codes(),
                &mut problems,
                &mut Vec::new(),
            );
            assert!(out.is_empty(), "{yaml}");
            let all = problems.render("p.yml");
            assert!(all.contains(says), "{yaml}: {all}");
            assert!(all.contains("p.yml:"), "{yaml}: {all}");
        }
    }

    #[test]
    fn findings_about_suppressions_follow_the_policy_levels() {
        let mut levels = BTreeMap::new();
        levels.insert(UNUSED.id.to_string(), Level::Off);
        let cfg = Config {
            ignores: &[],
            levels: &levels,
            baseline: None,
            writing: false,
            renamed: &[],
        };
        let text = "a: 1 # lint_workflows: ignore[lint.unpinned_action] nothing here\nb: 2 # lint_workflows: ignore[lint.unpinned_action]\n";
        let out = filter("w.yml", "w.yml", Vec::new(), Some(text), &cfg);
        assert!(out.unused.is_empty());
        assert_eq!(out.kept.len(), 1);
        assert_eq!(out.kept[0].code.id, INVALID.id);
        assert_eq!(out.kept[0].line, 2);
    }
}
