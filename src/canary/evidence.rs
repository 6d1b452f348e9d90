//! Upgrade evidence per module class (the platform's W8.3 stateful/sidecar upgrade gate): a
//! pull request touching a module that carries a class must carry the sections the policy
//! (`canary.evidence.classes`) requires for that class.
//!
//! The modules and their classes come in already read ([`super::manifests`]); this file only
//! decides. A documents-only change of a module may be marked repo-only by the policy's label;
//! the label on any other change is a finding, and the evidence stays required.

use super::body::ParsedBody;
use crate::paths::Globs;
use crate::policy::canary::EvidencePolicy;
use crate::report::code::code;
use crate::report::{Code, Decision, GateError, Location, Reason, general};

code!(
    CLASS,
    "canary.evidence.class",
    Info,
    "The classes a touched module carries (from its manifest at the base commit, and at the head when the pull request changes it) and the evidence rules they bring.",
    "Nothing to do; the sections listed are required in the description."
);
code!(
    MISSING,
    "canary.evidence.missing",
    Error,
    "A touched module's class requires an evidence section (canary.evidence.classes) that the description does not have.",
    "Add the section (a heading of any level or a bold line) and fill it in for the modules named: for stateful and sidecar-bound ones the backup taken before the change, how it is restored or rolled back, how the change is smoked and when it is stopped (docs/canary.md)."
);
code!(
    EMPTY,
    "canary.evidence.empty",
    Error,
    "An evidence section a touched module's class requires is present but empty or placeholder text.",
    "Write the real evidence under the heading; a placeholder such as TODO or [TBD] counts as nothing."
);
code!(
    DUPLICATE,
    "canary.evidence.duplicate",
    Error,
    "An evidence section appears more than once; which one counts is ambiguous.",
    "Merge the copies into one section (cover every module in it)."
);
code!(
    COMPLETE,
    "canary.evidence.complete",
    Info,
    "Every evidence section the touched modules' classes require is present and filled in.",
    "Nothing to do."
);
code!(
    REPO_ONLY,
    "canary.evidence.repo_only",
    Info,
    "The repo-only label is set and the module's changed files are all documents: its evidence rules do not apply.",
    "Nothing to do; remove the label when the change reaches the module's runtime."
);
code!(
    REPO_ONLY_INVALID,
    "canary.evidence.repo_only_invalid",
    Error,
    "The repo-only label is set, but a touched module has changed files that are not documents (canary.evidence.document_paths).",
    "Remove the label and add the evidence sections, or move the non-document changes to another pull request."
);

/// Every reason code of the evidence rule (registered through `canary::codes`).
pub static CODES: &[&Code] = &[
    &CLASS,
    &MISSING,
    &EMPTY,
    &DUPLICATE,
    &COMPLETE,
    &REPO_ONLY,
    &REPO_ONLY_INVALID,
];

/// A module the pull request touches, with the classes it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleClasses {
    pub id: String,
    /// The changed paths inside its folder.
    pub files: Vec<String>,
    /// Its classes from the base and the head together, in `EVIDENCE_CLASSES` order.
    pub classes: Vec<String>,
    /// Where the classes were read, for the report (`base 1a2b3c4`, `head 5d6e7f8`, ...).
    pub read_from: Vec<String>,
}

/// One required section and who requires it.
struct Need {
    names: Vec<String>,
    /// `(module, class)` pairs that require it.
    by: Vec<(String, String)>,
}

/// `required by `a` (stateful, sidecar-bound), `b` (stateful)`.
fn who(by: &[(String, String)]) -> String {
    let mut modules: Vec<(&str, Vec<&str>)> = Vec::new();
    for (m, c) in by {
        match modules.iter_mut().find(|(id, _)| id == m) {
            Some((_, classes)) => classes.push(c),
            None => modules.push((m, vec![c])),
        }
    }
    let items: Vec<String> = modules
        .iter()
        .map(|(m, classes)| format!("`{m}` ({})", classes.join(", ")))
        .collect();
    format!("required by {} (canary.evidence.classes)", items.join(", "))
}

fn display(names: &[String]) -> String {
    match names {
        [one] => format!("\"{one}\""),
        [first, rest @ ..] => {
            let others: Vec<String> = rest.iter().map(|n| format!("\"{n}\"")).collect();
            format!("\"{first}\" (or {})", others.join(", or "))
        }
        [] => String::new(),
    }
}

/// Check the evidence sections for `modules` in `parsed`; push the reasons, set the facts
/// `module_classes` and `missing_evidence`, and return the names of the missing sections.
pub fn check(
    d: &mut Decision,
    policy: &EvidencePolicy,
    parsed: &ParsedBody,
    labels: &[String],
    modules: &[ModuleClasses],
    at: &dyn Fn(usize, usize) -> Location,
) -> Result<Vec<String>, GateError> {
    let documents = Globs::new(&policy.document_paths).map_err(|e| {
        GateError::new(
            &general::POLICY_INVALID,
            format!("canary.evidence.document_paths: {e}"),
        )
    })?;
    let labelled = labels.contains(&policy.repo_only_label);
    let prefix = format!("{}/", policy.modules_dir);
    let mut needs: Vec<Need> = Vec::new();
    let mut facts: Vec<String> = Vec::new();
    for m in modules {
        d.checks_run += 1;
        facts.push(format!(
            "{}:{}",
            m.id,
            if m.classes.is_empty() {
                "none".to_string()
            } else {
                m.classes.join("+")
            }
        ));
        let rules: Vec<&str> = m
            .classes
            .iter()
            .filter(|c| !policy.required(c).is_empty())
            .map(String::as_str)
            .collect();
        if rules.is_empty() {
            continue;
        }
        if labelled {
            let inside = format!("{prefix}{}/", m.id);
            let not_documents: Vec<&String> = m
                .files
                .iter()
                .filter(|f| {
                    let local = f.strip_prefix(&inside).unwrap_or(f);
                    documents.first_match(local).is_none()
                })
                .collect();
            if not_documents.is_empty() {
                d.push(
                    Reason::new(
                        &REPO_ONLY,
                        format!(
                            "`{}`: label `{}` and only documents changed ({}): the {} evidence rules do not apply",
                            m.id,
                            policy.repo_only_label,
                            m.files.join(", "),
                            rules.join(", ")
                        ),
                    )
                    .subject(m.id.clone()),
                );
                continue;
            }
            let shown: Vec<&str> = not_documents.iter().take(5).map(|s| s.as_str()).collect();
            d.push(
                Reason::new(
                    &REPO_ONLY_INVALID,
                    format!(
                        "label `{}` says the change is repo-only, but module `{}` has changed files that are not documents: {}{}",
                        policy.repo_only_label,
                        m.id,
                        shown.join(", "),
                        if not_documents.len() > 5 { ", ..." } else { "" }
                    ),
                )
                .subject(m.id.clone()),
            );
        }
        let mut sections: Vec<String> = Vec::new();
        for class in &rules {
            for names in policy.required(class) {
                if !sections.contains(&names[0]) {
                    sections.push(names[0].clone());
                }
                match needs.iter_mut().find(|n| n.names == *names) {
                    Some(n) => n.by.push((m.id.clone(), class.to_string())),
                    None => needs.push(Need {
                        names: names.clone(),
                        by: vec![(m.id.clone(), class.to_string())],
                    }),
                }
            }
        }
        d.push(
            Reason::new(
                &CLASS,
                format!(
                    "`{}` is {} (manifest read at {}): requires {}",
                    m.id,
                    rules.join(", "),
                    m.read_from.join(" and "),
                    sections.join(", ")
                ),
            )
            .subject(m.id.clone()),
        );
    }
    d.fact("module_classes", facts.join(","));

    let mut missing: Vec<String> = Vec::new();
    for need in &needs {
        d.checks_run += 1;
        // Alternatives: any one filled in will do; one name written twice is ambiguous.
        let per_name: Vec<Vec<&super::body::Section>> =
            need.names.iter().map(|n| parsed.find(n)).collect();
        let found: Vec<&super::body::Section> = per_name.iter().flatten().copied().collect();
        let subject = need.names[0].clone();
        if found.is_empty() {
            missing.push(subject.clone());
            d.push(
                Reason::new(
                    &MISSING,
                    format!(
                        "section {} is missing: {}",
                        display(&need.names),
                        who(&need.by)
                    ),
                )
                .subject(subject),
            );
        } else if let Some(twice) = per_name.iter().find(|p| p.len() > 1) {
            missing.push(subject.clone());
            let lines: Vec<String> = twice.iter().map(|s| s.line.to_string()).collect();
            d.push(
                Reason::new(
                    &DUPLICATE,
                    format!(
                        "section \"{}\" appears {} times (lines {}); keep one",
                        twice[0].heading,
                        twice.len(),
                        lines.join(", ")
                    ),
                )
                .subject(subject)
                .at(at(twice[1].line, twice[1].col)),
            );
        } else if found.iter().all(|s| !s.filled) {
            missing.push(subject.clone());
            d.push(
                Reason::new(
                    &EMPTY,
                    format!(
                        "section {} is empty or holds only placeholder text: {}",
                        display(&need.names),
                        who(&need.by)
                    ),
                )
                .subject(subject)
                .at(at(found[0].line, found[0].col)),
            );
        }
    }
    if !needs.is_empty() && missing.is_empty() {
        d.push(Reason::new(
            &COMPLETE,
            format!(
                "all {} evidence section(s) the touched modules' classes require are present and filled in",
                needs.len()
            ),
        ));
    }
    d.fact("missing_evidence", missing.join(", "));
    Ok(missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternatives_are_shown_with_the_first_name_leading() {
        assert_eq!(
            display(&["Restore path".to_string(), "Rollback path".to_string()]),
            "\"Restore path\" (or \"Rollback path\")"
        );
    }
}
