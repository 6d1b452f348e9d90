//! The pull request's labels, read as a person reads them. A label the gate knows (the tier
//! labels, `canary.full_labels`, the repo-only label) counts only when it is spelled exactly;
//! a label that is one of them only after folding letter case, spaces, punctuation, invisible
//! characters, compatibility forms or look-alike letters ([`crate::folded::key`]) is refused:
//! a reviewer reads `Class/Security-Sensitive` as the forcing label, and ignoring it would
//! silently drop the full pack. Labels from `--labels`, the event payload and the API come
//! here alike, as they were written.

use crate::folded;
use crate::policy::canary::CanaryPolicy;
use crate::report::GateError;

use super::codes::LABEL_NEAR_MISS;

/// At most this many characters of a label are shown in a message.
const SHOWN_CHARS: usize = 80;

/// `label` for a message: cut to [`SHOWN_CHARS`], control, invisible and other non-printing
/// characters escaped (`\u{a0}`), inside double quotes so that surrounding spaces show.
fn shown(label: &str) -> String {
    let mut out: String = label
        .chars()
        .take(SHOWN_CHARS)
        .flat_map(char::escape_debug)
        .collect();
    if label.chars().nth(SHOWN_CHARS).is_some() {
        out.push_str("...");
    }
    format!("\"{out}\"")
}

/// The labels this policy gives a meaning, each with the key it names.
fn known(policy: &CanaryPolicy) -> Vec<(&str, &'static str)> {
    let mut out = vec![
        (policy.lite_label.as_str(), "canary.tier_labels.lite"),
        (policy.full_label.as_str(), "canary.tier_labels.full"),
    ];
    out.extend(
        policy
            .full_labels
            .iter()
            .map(|l| (l.as_str(), "canary.full_labels")),
    );
    out.push((
        policy.evidence.repo_only_label.as_str(),
        "canary.evidence.repo_only_label",
    ));
    out
}

/// Refuse (exit 2) an empty label and a label that is a known one only after folding.
pub fn check(policy: &CanaryPolicy, labels: &[String]) -> Result<(), GateError> {
    let known = known(policy);
    for label in labels {
        if known.iter().any(|(k, _)| *k == label) {
            continue;
        }
        if label
            .chars()
            .all(|c| c.is_whitespace() || crate::visible::is_invisible(c))
        {
            return Err(GateError::new(
                &LABEL_NEAR_MISS,
                format!(
                    "the pull request carries an empty label ({}); a label list must name each label exactly, comma-separated without spaces (`--labels tier/lite,class/security-sensitive`)",
                    shown(label)
                ),
            ));
        }
        let key = folded::key(label);
        if let Some((name, from)) = known.iter().find(|(k, _)| folded::key(k) == key) {
            return Err(GateError::new(
                &LABEL_NEAR_MISS,
                format!(
                    "label {} reads as `{name}` ({from}) but is not spelled exactly so (letter case, spaces, punctuation, invisible or look-alike characters differ): the gate will not guess whether it applies. Rename or replace the label on the pull request with exactly `{name}`, or remove it",
                    shown(label)
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_labels_are_escaped_quoted_and_cut() {
        assert_eq!(shown("a b\u{a0}"), "\"a b\\u{a0}\"");
        assert_eq!(shown("x\u{1b}[31m"), "\"x\\u{1b}[31m\"");
        let long = "x".repeat(200);
        assert_eq!(shown(&long), format!("\"{}...\"", "x".repeat(80)));
    }

    #[test]
    fn exact_labels_pass_and_near_misses_do_not() {
        let policy = CanaryPolicy::default();
        let ok: Vec<String> = [
            "tier/lite",
            "tier/full",
            "class/security-sensitive",
            "bug",
            "🚀",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert!(check(&policy, &ok).is_ok());
        for bad in [
            "Tier/Lite",
            "tier/full ",
            "",
            " ",
            "class/security\u{2010}sensitive",
        ] {
            assert!(check(&policy, &[bad.to_string()]).is_err(), "{bad:?}");
        }
    }
}
