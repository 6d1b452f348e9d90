//! `lint.ignore` in the policy: rules not reported in the files a glob matches, each entry
//! with its reason (actionlint's `paths:` ignores, cargo-deny's `ignore = [{ id, reason }]`).
//!
//! ```yaml
//! lint:
//!   ignore:
//!     - path: .forgejo/workflows/vendored/*.yml
//!       rules: [lint.unpinned_action]
//!       reason: mirrored from upstream, pinned by the mirror job
//! ```
//!
//! Globs are matched against the workflow's path relative to the repository root, with `/`
//! separators; `*` never crosses a `/` (only `**` does), as everywhere in the policy.
use super::UNSUPPRESSIBLE;
use crate::paths::compile_glob;
use crate::report::Code;
use crate::report::renamed::{self, Accepted};
use crate::yaml::{Fields, Node, Pos, Problems};
use globset::GlobMatcher;

/// One `lint.ignore` entry.
#[derive(Debug, Clone)]
pub struct PathIgnore {
    pub glob: String,
    matcher: GlobMatcher,
    /// Rule ids, each with where it is written (unused ones are reported there).
    pub rules: Vec<(String, Pos)>,
    pub reason: String,
    /// Where the entry starts in the policy file.
    pub pos: Pos,
}

impl PartialEq for PathIgnore {
    fn eq(&self, other: &Self) -> bool {
        (&self.glob, &self.rules, &self.reason, self.pos)
            == (&other.glob, &other.rules, &other.reason, other.pos)
    }
}

impl PathIgnore {
    /// Whether the entry applies to the workflow at `path` (relative to the repository root).
    pub fn matches(&self, path: &str) -> bool {
        self.matcher.is_match(path)
    }
}

const KEYS: &[&str] = &["path", "rules", "reason"];

/// Read `lint.ignore`. Every problem is reported at its line: an unknown or unsuppressible
/// rule id, a missing or empty reason, an invalid glob, an entry with no rule. `known` is
/// every code the linter emits. A rule id written in an old spelling is read as the current id
/// (and can do no more than it) and added to `renamed`, for the linter to report.
pub fn read(
    node: &Node,
    known: &[&Code],
    problems: &mut Problems,
    renamed: &mut Vec<Accepted>,
) -> Vec<PathIgnore> {
    let mut out = Vec::new();
    if !problems.untagged(node, "lint.ignore") {
        return out;
    }
    let Some(items) = node.as_seq() else {
        problems.push(
            node.span.start,
            format!(
                "lint.ignore: expected a list of {{path, rules, reason}}, found a {}",
                node.kind_name()
            ),
        );
        return out;
    };
    let ids: Vec<&str> = known.iter().map(|c| c.id).collect();
    for (i, item) in items.iter().enumerate() {
        let what = format!("lint.ignore[{i}]");
        let Some(mut f) = Fields::new(item, &what, problems) else {
            continue;
        };
        let glob = f
            .require("path", problems)
            .and_then(|n| problems.string(n, &format!("{what}.path")).map(|s| (s, n)));
        let matcher = glob.as_ref().and_then(|(g, n)| match compile_glob(g) {
            Ok(glob) if !g.trim().is_empty() => Some(glob.compile_matcher()),
            Ok(_) => {
                problems.push(n.span.start, format!("{what}.path: must not be empty"));
                None
            }
            Err(e) => {
                problems.push(n.span.start, format!("{what}.path: {e}"));
                None
            }
        });
        let rules = f
            .require("rules", problems)
            .and_then(|n| read_rules(n, &what, &ids, problems, renamed));
        let reason = f.require("reason", problems).and_then(|n| {
            let s = problems.string(n, &format!("{what}.reason"))?;
            if super::comments::is_reason(&s) {
                Some(s.trim().to_string())
            } else {
                problems.push(
                    n.span.start,
                    format!("{what}.reason: say why the rules do not apply to these files"),
                );
                None
            }
        });
        f.finish(problems, KEYS);
        if let (Some((glob, _)), Some(matcher), Some(rules), Some(reason)) =
            (glob, matcher, rules, reason)
        {
            out.push(PathIgnore {
                glob,
                matcher,
                rules,
                reason,
                pos: item.span.start,
            });
        }
    }
    out
}

fn read_rules(
    node: &Node,
    what: &str,
    ids: &[&str],
    problems: &mut Problems,
    renamed: &mut Vec<Accepted>,
) -> Option<Vec<(String, Pos)>> {
    let Some(items) = node.as_seq() else {
        problems.push(
            node.span.start,
            format!("{what}.rules: expected a list of rule ids"),
        );
        return None;
    };
    if items.is_empty() {
        problems.push(
            node.span.start,
            format!("{what}.rules: name at least one rule id"),
        );
        return None;
    }
    let mut out: Vec<(String, Pos)> = Vec::new();
    let mut ok = true;
    for item in items {
        let Some(written) = problems.string(item, &format!("{what}.rules")) else {
            ok = false;
            continue;
        };
        // An old spelling is read as the current id before any other check.
        let id = match renamed::current_of(&written) {
            Some(current) if ids.contains(&current) => {
                renamed.push(Accepted {
                    old: written.clone(),
                    current,
                    line: item.span.start.line,
                    col: item.span.start.col,
                });
                current.to_string()
            }
            _ => written,
        };
        let refusal = if !ids.contains(&id.as_str()) {
            Some(format!(
                "{what}.rules: unknown rule id `{}`",
                id.escape_debug()
            ))
        } else if UNSUPPRESSIBLE.contains(&id.as_str()) {
            Some(format!(
                "{what}.rules: `{id}` cannot be ignored ({})",
                super::why_unsuppressible(&id)
            ))
        } else if out.iter().any(|(seen, _)| *seen == id) {
            Some(format!("{what}.rules: `{id}` is listed twice"))
        } else {
            None
        };
        match refusal {
            Some(message) => {
                problems.push(item.span.start, message);
                ok = false;
            }
            None => out.push((id, item.span.start)),
        }
    }
    ok.then_some(out)
}
