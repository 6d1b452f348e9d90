//! The `canary` section of the policy: which paths are risky, how the tier is chosen, which
//! sections each tier needs, the `Canary status:` line, what counts as placeholder text, and
//! the upgrade evidence each module class needs (`canary.evidence`). Defaults are the
//! contract's values.
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
    /// The upgrade evidence a touched module's classes require.
    pub evidence: EvidencePolicy,
}

/// The classes a module can carry for the evidence rule: `stateful` (the manifest's
/// statefulness, absent meaning stateful), `sidecar-bound` (it names `backup_ref_modules`),
/// and the risk classes of `spec.classes`.
pub const EVIDENCE_CLASSES: &[&str] = &[
    "stateful",
    "sidecar-bound",
    "secret-bearing",
    "public-edge",
    "security-sensitive",
    "auth",
];

/// `canary.evidence`: the platform's W8.3 upgrade gate, per module class.
#[derive(Debug, Clone, PartialEq)]
pub struct EvidencePolicy {
    /// The repository-relative folder whose sub-folders are modules (`<dir>/<id>/...`).
    pub modules_dir: String,
    /// Per class (every one of [`EVIDENCE_CLASSES`], in that order), the sections it requires.
    /// Each requirement lists names, any one of which will do (`Restore path` or `Rollback
    /// path`); the first is the one reports use.
    pub classes: Vec<(String, Vec<Vec<String>>)>,
    /// The label that marks a documents-only change of a module as needing no evidence.
    pub repo_only_label: String,
    /// What counts as a document, matched against the path inside the module's folder.
    pub document_paths: Vec<String>,
}

impl EvidencePolicy {
    /// The sections `class` requires (none for a class the policy does not know).
    pub fn required(&self, class: &str) -> &[Vec<String>] {
        self.classes
            .iter()
            .find(|(c, _)| c == class)
            .map(|(_, r)| r.as_slice())
            .unwrap_or_default()
    }

    /// Every section name any class may require, alternatives included.
    pub fn all_sections(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for name in self.classes.iter().flat_map(|(_, r)| r.iter().flatten()) {
            if !out.contains(name) {
                out.push(name.clone());
            }
        }
        out
    }
}

impl Default for EvidencePolicy {
    fn default() -> Self {
        // W8.3: backup-before and a restore or rollback path, plus how the change is smoked
        // and when it is stopped, for stateful and sidecar-bound modules.
        let stateful = || -> Vec<Vec<String>> {
            vec![
                strings(&["Backup plan"]),
                strings(&["Restore path", "Rollback path"]),
                strings(&["Smoke shape"]),
                strings(&["Stop conditions"]),
            ]
        };
        let per_class = |class: &str| -> Vec<Vec<String>> {
            match class {
                "stateful" | "sidecar-bound" => stateful(),
                "secret-bearing" => vec![strings(&["Secret handling"])],
                "public-edge" => vec![strings(&["Exposure review"])],
                _ => Vec::new(),
            }
        };
        EvidencePolicy {
            modules_dir: "modules".into(),
            classes: EVIDENCE_CLASSES
                .iter()
                .map(|c| (c.to_string(), per_class(c)))
                .collect(),
            repo_only_label: "evidence/repo-only".into(),
            // Only what no runtime reads: the Markdown at the top of the module's folder
            // (README, runbook, changelog) and under its `runbooks/`. Not `*.txt` at any depth
            // (`requirements.txt`, `static/robots.txt`), nor Markdown under a folder a
            // service may mount or serve (`static/index.md`).
            document_paths: strings(&[
                "*.md",
                "*.markdown",
                "runbooks/**/*.md",
                "runbooks/**/*.markdown",
            ]),
        }
    }
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
            evidence: EvidencePolicy::default(),
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
    "evidence",
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
    if let Some(v) = f.take("evidence") {
        read_evidence(v, &mut out.evidence, problems);
    }
    f.finish(problems, KEYS);
}

const EVIDENCE_KEYS: &[&str] = &[
    "modules_dir",
    "classes",
    "repo_only_label",
    "document_paths",
];

fn read_evidence(node: &Node, out: &mut EvidencePolicy, problems: &mut Problems) {
    let Some(mut f) = Fields::new(node, "canary.evidence", problems) else {
        return;
    };
    if let Some(v) = f.take("modules_dir")
        && let Some(s) = problems.string(v, "canary.evidence.modules_dir")
    {
        // Changed paths are repository-relative and plain; so must the folder be that they
        // are matched against, or a module would silently match nothing.
        let plain = !s.is_empty()
            && !s
                .chars()
                .any(|c| c.is_control() || c == '\\' || "*?[]{}".contains(c))
            && s.split('/').all(|c| !c.is_empty() && c != "." && c != "..");
        if plain {
            out.modules_dir = s;
        } else {
            problems.push(
                v.span.start,
                format!(
                    "canary.evidence.modules_dir: `{}` must be a plain repository-relative folder (no leading or trailing `/`, no `.` or `..`, no glob characters)",
                    s.escape_debug()
                ),
            );
        }
    }
    if let Some(v) = f.take("classes")
        && let Some(mut classes) = Fields::new(v, "canary.evidence.classes", problems)
    {
        for (class, slot) in out.classes.iter_mut() {
            let what = format!("canary.evidence.classes.{class}");
            if let Some(n) = classes.take(class)
                && let Some(list) = requirements(n, &what, problems)
            {
                *slot = list;
            }
        }
        classes.finish(problems, EVIDENCE_CLASSES);
    }
    if let Some(v) = f.take("repo_only_label")
        && let Some(s) = problems.string(v, "canary.evidence.repo_only_label")
    {
        if s.trim().is_empty() {
            problems.push(
                v.span.start,
                "canary.evidence.repo_only_label: must not be empty",
            );
        } else {
            out.repo_only_label = s;
        }
    }
    if let Some(v) = f.take("document_paths")
        && let Some(list) = globs(v, "canary.evidence.document_paths", problems)
    {
        out.document_paths = list;
    }
    f.finish(problems, EVIDENCE_KEYS);
}

/// A class's sections: a list whose items are a section name or a list of alternative names.
fn requirements(node: &Node, what: &str, problems: &mut Problems) -> Option<Vec<Vec<String>>> {
    let Some(items) = node.as_seq() else {
        problems.push(
            node.span.start,
            format!("{what}: expected a list of section names"),
        );
        return None;
    };
    let mut out = Vec::new();
    let mut ok = true;
    for item in items {
        let names = if item.as_seq().is_some() {
            non_empty_list(item, what, problems)
        } else {
            problems.string(item, what).map(|s| vec![s])
        };
        match names {
            Some(names)
                // A name's key (`canary::body::key`) keeps exactly its visible letters and
                // digits, so it is empty unless the name has one.
                if names
                    .iter()
                    .all(|n| n.chars().any(crate::visible::is_visible_alphanumeric)) =>
            {
                out.push(names)
            }
            Some(_) => {
                problems.push(
                    item.span.start,
                    format!("{what}: a section name needs letters or digits"),
                );
                ok = false;
            }
            None => ok = false,
        }
    }
    ok.then_some(out)
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
        assert_eq!(
            p.evidence.required("stateful")[1],
            vec!["Restore path", "Rollback path"]
        );
        assert_eq!(
            p.evidence.required("stateful"),
            p.evidence.required("sidecar-bound")
        );
        assert!(p.evidence.required("auth").is_empty());
    }

    #[test]
    fn evidence_is_read_strictly() {
        let text = "canary:\n  evidence:\n    modules_dir: platform/modules\n    classes:\n      public-edge: [Exposure review, [Threat model, Attack surface]]\n      stateful: []\n    repo_only_label: docs-only\n";
        let p = crate::policy::parse(text, "p.yml").unwrap().canary.evidence;
        assert_eq!(p.modules_dir, "platform/modules");
        assert_eq!(p.required("public-edge").len(), 2);
        assert_eq!(
            p.required("public-edge")[1],
            vec!["Threat model", "Attack surface"]
        );
        assert!(p.required("stateful").is_empty());
        // A class not listed keeps its default.
        assert_eq!(p.required("secret-bearing"), vec![vec!["Secret handling"]]);
        assert_eq!(p.repo_only_label, "docs-only");

        for bad in [
            "canary:\n  evidence:\n    modules_dir: /modules\n",
            "canary:\n  evidence:\n    modules_dir: ./modules\n",
            "canary:\n  evidence:\n    modules_dir: modules/\n",
            "canary:\n  evidence:\n    classes: {stateless: []}\n",
            "canary:\n  evidence:\n    classes: {stateful: [\"--\"]}\n",
            "canary:\n  evidence:\n    classes: {stateful: [[]]}\n",
            "canary:\n  evidence:\n    classes: {stateful: Backup plan}\n",
            "canary:\n  evidence:\n    repo_only_label: \"\"\n",
            "canary:\n  evidence:\n    document_paths: [\"[\"]\n",
            "canary:\n  evidence:\n    modules: x\n",
        ] {
            assert!(crate::policy::parse(bad, "p.yml").is_err(), "{bad}");
        }
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
