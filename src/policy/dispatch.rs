//! The `dispatch:` section of the policy: which risk classes stay manual, the stateful
//! confirmation phrase, and the platform-wide paths flagged on pull requests.

use crate::model::manifest::RISK_CLASSES;
use crate::yaml::{Fields, Node, Problems};

/// Which modules may be auto-applied, and how a stateful dispatch is confirmed.
#[derive(Debug, Clone, PartialEq)]
pub struct DispatchPolicy {
    /// Modules carrying any of these classes stay manual (unless an exception says otherwise).
    pub manual_classes: Vec<String>,
    /// The phrase `stateful_confirm` must equal, byte for byte.
    pub confirm_phrase: String,
    /// Paths outside `modules/` that affect the whole platform, flagged on pull requests.
    pub platform_paths: Vec<String>,
}

impl Default for DispatchPolicy {
    fn default() -> Self {
        DispatchPolicy {
            manual_classes: vec![
                "security-sensitive".into(),
                "public-edge".into(),
                "auth".into(),
            ],
            confirm_phrase: "BACKUP_DONE_F3".into(),
            platform_paths: vec![
                "compose/**".into(),
                "control-plane/**".into(),
                "scripts/cutover/**".into(),
                "schema/**".into(),
                ".forgejo/workflows/**".into(),
            ],
        }
    }
}

const KEYS: &[&str] = &["manual_classes", "confirm_phrase", "platform_paths"];

/// Classes that stay manual whatever the policy lists (the mission: security-sensitive,
/// public-edge and auth modules stay manual unless an exception says otherwise).
pub const ALWAYS_MANUAL: &[&str] = &["security-sensitive", "public-edge", "auth"];

pub(super) fn read(node: &Node, out: &mut DispatchPolicy, problems: &mut Problems) {
    let Some(mut f) = Fields::new(node, "dispatch", problems) else {
        return;
    };
    if let Some(v) = f.take("manual_classes")
        && problems.untagged(v, "dispatch.manual_classes")
        && let Some(list) = v.as_seq()
    {
        let mut classes = Vec::new();
        for item in list {
            if let Some(c) = problems.one_of(item, "dispatch.manual_classes", RISK_CLASSES) {
                classes.push(c);
            }
        }
        // The policy may keep more classes manual, never fewer: a module of these classes
        // leaves manual only through a dated, explained exception.
        let dropped: Vec<&str> = ALWAYS_MANUAL
            .iter()
            .copied()
            .filter(|c| !classes.iter().any(|k| k == c))
            .collect();
        if !dropped.is_empty() {
            problems.push(
                v.span.start,
                format!(
                    "dispatch.manual_classes: must keep {} manual; a module of these classes is auto-applied only through a dated, explained entry under `exceptions:`",
                    dropped.join(", ")
                ),
            );
        }
        out.manual_classes = classes;
    } else if let Some(v) = node.get("manual_classes").filter(|v| v.tag.is_none()) {
        problems.strings(v, "dispatch.manual_classes");
    }
    if let Some(v) = f.take("confirm_phrase")
        && let Some(s) = problems.string(v, "dispatch.confirm_phrase")
    {
        if s.len() < 8 || !s.is_ascii() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            problems.push(
                v.span.start,
                "dispatch.confirm_phrase: must be at least 8 printable ASCII characters without spaces, so it cannot be typed by accident",
            );
        } else {
            out.confirm_phrase = s;
        }
    }
    if let Some(v) = f.take("platform_paths")
        && let Some(list) = problems.strings(v, "dispatch.platform_paths")
    {
        for (item, glob) in v.as_seq().unwrap_or_default().iter().zip(&list) {
            if let Err(e) = crate::paths::compile_glob(glob) {
                problems.push(item.span.start, format!("dispatch.platform_paths: {e}"));
            }
        }
        out.platform_paths = list;
    }
    f.finish(problems, KEYS);
}
