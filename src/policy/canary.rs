//! The `canary` section of the policy: which paths are risky, how the tier is chosen, which
//! sections each tier needs, the `Canary status:` line and what counts as placeholder text.
//! Defaults are the contract's values.
use crate::yaml::{Fields, Node, Problems};

/// The two pack sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    Lite,
    Full,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Lite => "lite",
            Tier::Full => "full",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CanaryPolicy {
    /// A PR touching any of these paths needs a canary context pack.
    pub risky_paths: Vec<String>,
    /// The label that asks for a lite pack.
    pub lite_label: String,
    /// The label that asks for a full pack.
    pub full_label: String,
    /// Paths whose change forces a full pack, whatever the labels say.
    pub full_paths: Vec<String>,
    /// Labels that force a full pack, whatever the tier label says.
    pub full_labels: Vec<String>,
    /// The tier when no label and no rule picks one.
    pub default_tier: Tier,
    /// Sections a lite pack needs.
    pub lite_sections: Vec<String>,
    /// Sections a full pack needs in addition to the lite ones.
    pub full_extra_sections: Vec<String>,
    /// The first word after `Canary status:` must be one of these (case-insensitive).
    pub status_values: Vec<String>,
    /// Text that counts as "not filled in" when it is all a section holds.
    pub placeholders: Vec<String>,
    /// A body larger than this (bytes) is refused.
    pub max_body_bytes: u64,
    /// The commit-status context `--post-status` writes.
    pub status_context: String,
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

impl Default for CanaryPolicy {
    fn default() -> Self {
        CanaryPolicy {
            risky_paths: strings(&[
                "compose/**",
                "modules/**",
                ".forgejo/workflows/**",
                "control-plane/**",
                "scripts/cutover/**",
                "schema/**",
            ]),
            lite_label: "tier/lite".into(),
            full_label: "tier/full".into(),
            full_paths: strings(&[".forgejo/workflows/**", "control-plane/**/ci/**"]),
            full_labels: strings(&["class/security-sensitive"]),
            default_tier: Tier::Full,
            lite_sections: strings(&[
                "Product story",
                "What changed",
                "Why it changed",
                "Runtime evidence",
                "Known constraints",
                "Explicit out-of-scope",
                "Requested decision",
                "Merge blockers",
            ]),
            full_extra_sections: strings(&["Files touched", "Relevant context"]),
            status_values: strings(&["passed", "pending", "missing", "failed", "not-required"]),
            placeholders: strings(&["TODO", "TBD", "-", "...", "<fill in>"]),
            max_body_bytes: 1024 * 1024,
            status_context: "canary-required / canary".into(),
        }
    }
}

impl CanaryPolicy {
    /// The sections a tier needs, in the policy's order.
    pub fn sections(&self, tier: Tier) -> Vec<String> {
        let mut out = self.lite_sections.clone();
        if tier == Tier::Full {
            out.extend(self.full_extra_sections.iter().cloned());
        }
        out
    }
}

const KEYS: &[&str] = &[
    "risky_paths",
    "tier_labels",
    "full_paths",
    "full_labels",
    "default_tier",
    "sections",
    "status_values",
    "placeholders",
    "max_body_bytes",
    "status_context",
];

fn globs(node: &Node, what: &str, problems: &mut Problems) -> Option<Vec<String>> {
    let list = problems.strings(node, what)?;
    let mut ok = true;
    for p in &list {
        if let Err(e) = crate::paths::compile_glob(p) {
            problems.push(node.span.start, format!("{what}: {e}"));
            ok = false;
        }
    }
    ok.then_some(list)
}

fn non_empty_list(node: &Node, what: &str, problems: &mut Problems) -> Option<Vec<String>> {
    let list = problems.strings(node, what)?;
    if list.is_empty() || list.iter().any(|s| s.trim().is_empty()) {
        problems.push(
            node.span.start,
            format!("{what}: must be a non-empty list of non-empty strings"),
        );
        return None;
    }
    Some(list)
}

pub(super) fn read(node: &Node, out: &mut CanaryPolicy, problems: &mut Problems) {
    let Some(mut f) = Fields::new(node, "canary", problems) else {
        return;
    };
    if let Some(v) = f.take("risky_paths")
        && let Some(list) = globs(v, "canary.risky_paths", problems)
    {
        if list.is_empty() {
            problems.push(
                v.span.start,
                "canary.risky_paths: must not be empty (an empty list would make every PR pass)",
            );
        } else {
            out.risky_paths = list;
        }
    }
    if let Some(v) = f.take("full_paths")
        && let Some(list) = globs(v, "canary.full_paths", problems)
    {
        out.full_paths = list;
    }
    if let Some(v) = f.take("full_labels")
        && let Some(list) = problems.strings(v, "canary.full_labels")
    {
        out.full_labels = list;
    }
    if let Some(v) = f.take("tier_labels")
        && let Some(mut labels) = Fields::new(v, "canary.tier_labels", problems)
    {
        for (key, slot) in [("lite", &mut out.lite_label), ("full", &mut out.full_label)] {
            if let Some(n) = labels.take(key)
                && let Some(s) = problems.string(n, &format!("canary.tier_labels.{key}"))
            {
                if s.trim().is_empty() {
                    problems.push(
                        n.span.start,
                        format!("canary.tier_labels.{key}: must not be empty"),
                    );
                } else {
                    *slot = s;
                }
            }
        }
        labels.finish(problems, &["lite", "full"]);
    }
    if let Some(v) = f.take("default_tier")
        && let Some(s) = problems.one_of(v, "canary.default_tier", &["lite", "full"])
    {
        out.default_tier = if s == "lite" { Tier::Lite } else { Tier::Full };
    }
    if let Some(v) = f.take("sections")
        && let Some(mut sections) = Fields::new(v, "canary.sections", problems)
    {
        if let Some(n) = sections.take("lite")
            && let Some(list) = non_empty_list(n, "canary.sections.lite", problems)
        {
            out.lite_sections = list;
        }
        if let Some(n) = sections.take("full_extra")
            && let Some(list) = problems.strings(n, "canary.sections.full_extra")
        {
            out.full_extra_sections = list;
        }
        sections.finish(problems, &["lite", "full_extra"]);
    }
    if let Some(v) = f.take("status_values")
        && let Some(list) = non_empty_list(v, "canary.status_values", problems)
    {
        out.status_values = list;
    }
    if let Some(v) = f.take("placeholders")
        && let Some(list) = problems.strings(v, "canary.placeholders")
    {
        out.placeholders = list;
    }
    if let Some(v) = f.take("max_body_bytes")
        && let Some(n) = problems.unsigned(v, "canary.max_body_bytes")
    {
        if n == 0 || n > 16 * 1024 * 1024 {
            problems.push(
                v.span.start,
                "canary.max_body_bytes: must be between 1 and 16777216",
            );
        } else {
            out.max_body_bytes = n;
        }
    }
    if let Some(v) = f.take("status_context")
        && let Some(s) = problems.string(v, "canary.status_context")
    {
        if s.trim().is_empty() || s.len() > 255 {
            problems.push(
                v.span.start,
                "canary.status_context: must be 1 to 255 characters",
            );
        } else {
            out.status_context = s;
        }
    }
    f.finish(problems, KEYS);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_contract() {
        let p = CanaryPolicy::default();
        assert_eq!(p.sections(Tier::Lite).len(), 8);
        assert_eq!(p.sections(Tier::Full).len(), 10);
        assert!(p.risky_paths.contains(&"schema/**".to_string()));
    }

    #[test]
    fn section_is_read_strictly() {
        let text = "canary:\n  risky_paths: [\"compose/**\"]\n  default_tier: lite\n  tier_labels: {lite: size/s}\n  sections: {full_extra: [Rollback]}\n";
        let p = crate::policy::parse(text, "p.yml").unwrap().canary;
        assert_eq!(p.risky_paths, vec!["compose/**"]);
        assert_eq!(p.default_tier, Tier::Lite);
        assert_eq!(p.lite_label, "size/s");
        assert_eq!(p.full_label, "tier/full");
        assert_eq!(p.full_extra_sections, vec!["Rollback"]);

        let bad = "canary:\n  risky_paths: []\n  default_tier: medium\n  sectons: {}\n  max_body_bytes: 0\n";
        let err = crate::policy::parse(bad, "p.yml").unwrap_err();
        assert_eq!(err.details.len(), 4, "{:?}", err.details);
        assert!(err.details.iter().any(|d| d.starts_with("p.yml:4:3:")));
    }
}
