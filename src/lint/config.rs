//! The `lint:` section of the policy: runner labels, rule levels, the gate-wiring names and
//! the per-path ignores. It lives beside the linter (as cargo-deny keeps each check's config
//! beside the check): the policy reader hands the section's node to [`read`], and the linter
//! never imports the policy.
use super::Level;
use super::suppress::path_ignore::{self, PathIgnore};
use crate::report::Code;
use crate::report::renamed::{self, Accepted};
use crate::yaml::{Fields, Node, Problems};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct LintPolicy {
    /// Runner labels the instance has. Empty: `runs-on` labels are not checked.
    pub runner_labels: Vec<String>,
    /// A workflow file larger than this is a finding, not read.
    pub max_file_bytes: u64,
    /// Level per rule id, overriding the rule's default.
    pub levels: BTreeMap<String, Level>,
    pub gates: GateNames,
    /// `lint.ignore`: rules not reported in the files a glob matches, each with its reason.
    pub ignores: Vec<PathIgnore>,
    /// Rule ids this section writes in an old spelling (`lint.rules` keys, `lint.ignore`
    /// rules), read as the current ids; `lint_workflows` reports each as `lint.deprecated_id`.
    pub renamed: Vec<Accepted>,
}

/// What the gate-wiring rule looks for in `run:` scripts.
#[derive(Debug, Clone, PartialEq)]
pub struct GateNames {
    pub apply_command: String,
    pub scope_gate: String,
    pub one_shot_gate: String,
}

impl Default for GateNames {
    fn default() -> Self {
        GateNames {
            apply_command: "platformctl apply".into(),
            scope_gate: "auto_apply_scope".into(),
            one_shot_gate: "allow_one_shot_stateful_apply".into(),
        }
    }
}

impl Default for LintPolicy {
    fn default() -> Self {
        LintPolicy {
            runner_labels: Vec::new(),
            max_file_bytes: 1024 * 1024,
            levels: BTreeMap::new(),
            gates: GateNames::default(),
            ignores: Vec::new(),
            renamed: Vec::new(),
        }
    }
}

const KEYS: &[&str] = &[
    "runner_labels",
    "max_file_bytes",
    "rules",
    "gates",
    "ignore",
];
const GATE_KEYS: &[&str] = &["apply_command", "scope_gate", "one_shot_gate"];
const LEVELS: &[&str] = &["error", "warning", "info", "off"];

/// Rules whose level the policy cannot change: a file that could not be read is never a
/// pass, and the deploy gate's wiring is the property the gates exist for (see
/// `docs/rules/gate_wiring.md`: no policy, comment or baseline can make it pass).
pub const ALWAYS_ERROR: &[&str] = &["lint.invalid_file", "lint.gate_wiring"];

/// Read the policy's `lint:` section into `out`; every problem goes to `problems` with its
/// position (the policy reader turns them into `file:line:col` messages). `known` is every
/// code the linter emits ([`super::codes`]), against which rule ids are checked; the caller
/// passes it, so that this reader (which the rules' context names) does not name the rules.
pub fn read(node: &Node, known: &[&'static Code], out: &mut LintPolicy, problems: &mut Problems) {
    let Some(mut f) = Fields::new(node, "lint", problems) else {
        return;
    };
    if let Some(v) = f.take("runner_labels")
        && let Some(list) = problems.strings(v, "lint.runner_labels")
    {
        if list.is_empty() || list.iter().any(|l| l.trim().is_empty()) {
            problems.push(
                v.span.start,
                "lint.runner_labels: list the instance's labels (non-empty), or leave the key out to skip the check",
            );
        } else {
            out.runner_labels = list;
        }
    }
    if let Some(v) = f.take("max_file_bytes")
        && let Some(n) = problems.unsigned(v, "lint.max_file_bytes")
    {
        if n == 0 || n > 64 * 1024 * 1024 {
            problems.push(v.span.start, "lint.max_file_bytes: between 1 and 67108864");
        } else {
            out.max_file_bytes = n;
        }
    }
    if let Some(v) = f.take("rules")
        && let Some(mut rules) = Fields::new(v, "lint.rules", problems)
    {
        let mut written: Vec<&str> = Vec::new();
        for code in known {
            if let Some(node) = rules.take(code.id) {
                written.push(code.id);
                set_level(node, code.id, out, problems);
            }
        }
        // An old spelling is read as the current id, with the same checks; both spellings of
        // one rule at once is ambiguous, so refused.
        for &(old, current) in renamed::RENAMED {
            if !known.iter().any(|c| c.id == current) {
                continue;
            }
            let Some(node) = rules.take(old) else {
                continue;
            };
            out.renamed.push(Accepted {
                old: old.to_string(),
                current,
                line: node.span.start.line,
                col: node.span.start.col,
            });
            if written.contains(&current) {
                problems.push(
                    node.span.start,
                    format!(
                        "lint.rules: `{old}` is the old spelling of `{current}`, which is set too; keep only `{current}`"
                    ),
                );
                continue;
            }
            written.push(current);
            set_level(node, current, out, problems);
        }
        let ids: Vec<&str> = known.iter().map(|c| c.id).collect();
        rules.finish(problems, &ids);
    }
    if let Some(v) = f.take("gates")
        && let Some(mut g) = Fields::new(v, "lint.gates", problems)
    {
        for (key, slot) in [
            ("apply_command", &mut out.gates.apply_command),
            ("scope_gate", &mut out.gates.scope_gate),
            ("one_shot_gate", &mut out.gates.one_shot_gate),
        ] {
            if let Some(n) = g.take(key)
                && let Some(s) = problems.string(n, key)
            {
                if s.trim().is_empty() {
                    problems.push(n.span.start, format!("lint.gates.{key}: must not be empty"));
                } else {
                    *slot = s.trim().to_string();
                }
            }
        }
        g.finish(problems, GATE_KEYS);
    }
    if let Some(v) = f.take("ignore") {
        out.ignores = path_ignore::read(v, known, problems, &mut out.renamed);
    }
    f.finish(problems, KEYS);
}

/// Set rule `id`'s level from `node`, unless the rule's level cannot change.
fn set_level(node: &Node, id: &str, out: &mut LintPolicy, problems: &mut Problems) {
    let Some(level) = read_level(node, id, problems) else {
        return;
    };
    if ALWAYS_ERROR.contains(&id) && level != Level::Error {
        problems.push(
            node.span.start,
            format!("lint.rules: `{id}` is always an error; its level cannot be changed"),
        );
    } else {
        out.levels.insert(id.to_string(), level);
    }
}

/// A rule's level. A plain `off` (or `no`, `false`) is the boolean false to YAML 1.1 readers,
/// and a rule set to false is off: that is how the level is read, not as the text. Any other
/// value but the four names is a problem at its line.
fn read_level(node: &Node, what: &str, problems: &mut Problems) -> Option<Level> {
    if let crate::yaml::Value::Scalar {
        text,
        style: crate::yaml::Style::Plain,
    } = &node.value
        && node.tag.is_none()
        && crate::yaml::yaml11::resolve_plain(text) == crate::yaml::yaml11::Plain::Bool(false)
    {
        return Some(Level::Off);
    }
    let name = problems.one_of(node, what, LEVELS)?;
    let level = Level::from_name(&name);
    if level.is_none() {
        // `LEVELS` and `Level::from_name` disagree: a bug, reported rather than ignored.
        problems.push(node.span.start, format!("{what}: unknown level `{name}`"));
    }
    level
}
