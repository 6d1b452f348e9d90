//! One policy file for all gates. Built-in defaults equal the contract's values; a file is
//! read strictly: unknown keys, wrong types and unknown values are errors that point at the
//! line, and every problem is reported at once.

mod backup;
pub mod canary;
mod dispatch;
mod exceptions;
#[cfg(test)]
mod lint_section_tests;
mod plan;

pub use backup::{BackupPolicy, CONTAINER_PLACEHOLDER, DrillPolicy, ProcedurePolicy, Verify};
pub use dispatch::DispatchPolicy;
pub use exceptions::{Exception, MAX_DAYS_AHEAD as MAX_EXCEPTION_DAYS_AHEAD};
pub use plan::PlanPolicy;

use crate::digest::sha256_hex;
use crate::report::{GateError, InputDigest, general};
use crate::yaml::{self, Fields, Problems};
use std::path::{Path, PathBuf};

/// Where a repository keeps its policy when `--policy` is not given.
pub const DEFAULT_LOCATION: &str = ".forgejo/gates.yml";

/// Is `path` one of the gates' own files, which decide how every later change is gated: the
/// policy ([`DEFAULT_LOCATION`]) and everything else under `.forgejo/` (the workflows, local
/// actions), what Forgejo reads in `.gitea/` and `.github/` when `.forgejo/` has none, a
/// local action's `action.yml` or `action.yaml` anywhere, and `.gitmodules` (which says what
/// git shows of a submodule). These are guarded whatever the policy's path lists say (a pull
/// request could otherwise relax the rules for every later one); returns what the path is.
pub fn gates_file(path: &str) -> Option<&'static str> {
    let first = path.split('/').next().unwrap_or(path);
    let name = path.rsplit('/').next().unwrap_or(path);
    if path == DEFAULT_LOCATION {
        Some("the gates' policy")
    } else if path == ".gitmodules" {
        Some("the submodules' settings")
    } else if matches!(first, ".forgejo" | ".gitea" | ".github") {
        Some("a CI workflow or action file")
    } else if matches!(name, "action.yml" | "action.yaml") {
        Some("a CI action")
    } else {
        None
    }
}

/// A policy file larger than this is refused.
pub const MAX_POLICY_BYTES: u64 = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Policy {
    pub dispatch: DispatchPolicy,
    pub backup: BackupPolicy,
    pub plan: PlanPolicy,
    pub canary: canary::CanaryPolicy,
    pub lint: crate::lint::config::LintPolicy,
    pub exceptions: Vec<Exception>,
}

/// A policy and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedPolicy {
    pub policy: Policy,
    pub digest: InputDigest,
}

impl LoadedPolicy {
    pub fn builtin() -> LoadedPolicy {
        LoadedPolicy {
            policy: Policy::default(),
            digest: InputDigest {
                name: "policy".into(),
                source: "builtin".into(),
                sha256: sha256_hex(
                    concat!("builtin-policy:", env!("CARGO_PKG_VERSION")).as_bytes(),
                ),
                bytes: 0,
            },
        }
    }
}

/// `--policy FILE`, else `DEFAULT_LOCATION` under `repo_root` when it exists, else built-in.
pub fn load(explicit: Option<&Path>, repo_root: &Path) -> Result<LoadedPolicy, GateError> {
    let path: PathBuf = match explicit {
        Some(p) => p.to_path_buf(),
        None => {
            let candidate = repo_root.join(DEFAULT_LOCATION);
            match std::fs::symlink_metadata(&candidate) {
                Ok(_) => candidate,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Ok(LoadedPolicy::builtin());
                }
                Err(e) => {
                    return Err(GateError::new(
                        &general::IO,
                        format!("cannot inspect {}: {e}", candidate.display()),
                    ));
                }
            }
        }
    };
    let bytes = crate::input::read_limited(&path, MAX_POLICY_BYTES, "policy")?;
    let display = path.display().to_string();
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        GateError::new(
            &general::POLICY_INVALID,
            format!("{display}: the policy is not UTF-8 text"),
        )
    })?;
    let policy = parse(text, &display)?;
    Ok(LoadedPolicy {
        policy,
        digest: InputDigest::of("policy", display, &bytes),
    })
}

const TOP_KEYS: &[&str] = &[
    "version",
    "dispatch",
    "backup",
    "plan",
    "canary",
    "lint",
    "exceptions",
];

/// Parse policy text. `file` is used in messages only.
pub fn parse(text: &str, file: &str) -> Result<Policy, GateError> {
    let invalid = |problems: &Problems| {
        GateError::new(
            &general::POLICY_INVALID,
            format!(
                "{file}: the policy has {} problem(s); nothing was evaluated",
                problems.items.len()
            ),
        )
        .with_details(problems.render(file).lines().map(String::from).collect())
    };
    let doc = yaml::parse(text).map_err(|e| {
        let code = match e.kind {
            yaml::YamlErrorKind::TooDeep | yaml::YamlErrorKind::TooManyNodes => {
                &general::TOO_COMPLEX
            }
            _ => &general::POLICY_INVALID,
        };
        GateError::new(
            code,
            format!("{file}:{}:{}: {}", e.pos.line, e.pos.col, e.message),
        )
    })?;
    let mut problems = Problems::of_duplicates(&doc);
    let Some(root) = &doc.root else {
        problems.push(
            Default::default(),
            "the policy file is empty; delete it to use the built-in defaults",
        );
        return Err(invalid(&problems));
    };
    let mut policy = Policy::default();
    if let Some(mut top) = Fields::new(root, "policy", &mut problems) {
        if let Some(v) = top.take("version")
            && let Some(n) = problems.unsigned(v, "version")
            && n != 1
        {
            problems.push(
                v.span.start,
                format!("version: unsupported policy version {n}; this build reads version 1"),
            );
        }
        if let Some(node) = top.take("dispatch") {
            dispatch::read(node, &mut policy.dispatch, &mut problems);
        }
        if let Some(node) = top.take("backup") {
            backup::read(node, &mut policy.backup, &mut problems);
        }
        if let Some(node) = top.take("plan") {
            plan::read(node, &mut policy.plan, &mut problems);
        }
        if let Some(node) = top.take("canary") {
            canary::read(node, &mut policy.canary, &mut problems);
        }
        if let Some(node) = top.take("lint") {
            crate::lint::config::read(node, &crate::lint::codes(), &mut policy.lint, &mut problems);
        }
        if let Some(node) = top.take("exceptions") {
            policy.exceptions = exceptions::read(node, &mut problems);
        }
        top.finish(&mut problems, TOP_KEYS);
    }
    // Read as a YAML 1.1 reader reads it, or refused: one document, no tag but `!!str`, no
    // merge key, nothing PyYAML would refuse or read differently. After the fields, so that a
    // tag or key they refused is said once, with the field's name.
    yaml::yaml11::document_problems(text, &doc, &mut problems);
    yaml::yaml11::plain_data_problems(&doc, &mut problems);
    if problems.is_empty() {
        Ok(policy)
    } else {
        Err(invalid(&problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_reported_with_its_line() {
        let text = "dispatch:\n  confirm_phrase: X\n  manul_classes: []\nbackup:\n  max_age_hours: soon\nplan: {}\nzzz: 1\n";
        let err = parse(text, "p.yml").unwrap_err();
        assert_eq!(err.code.id, "policy.invalid");
        let all = err.details.join("\n");
        assert!(all.contains("p.yml:3:3:"), "{all}");
        assert!(all.contains("manul_classes"), "{all}");
        assert!(all.contains("p.yml:5:"), "{all}");
        assert!(all.contains("p.yml:7:1:"), "{all}");
        assert!(all.contains("confirm_phrase"), "{all}");
        assert_eq!(err.details.len(), 4, "{all}");
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err = parse("dispatch: {}\ndispatch: {}\n", "p.yml").unwrap_err();
        assert!(err.details.join("\n").contains("duplicate key `dispatch`"));
    }

    #[test]
    fn empty_file_is_an_error_not_defaults() {
        assert!(parse("", "p.yml").is_err());
        assert!(parse("# nothing\n", "p.yml").is_err());
    }

    #[test]
    fn unknown_version_is_refused() {
        assert!(parse("version: 2\n", "p.yml").is_err());
        assert!(parse("version: 1\n", "p.yml").is_ok());
    }
}
