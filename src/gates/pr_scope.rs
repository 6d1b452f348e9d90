//! `auto_apply_scope` on a pull request: which modules the change touches, in which scope,
//! and which platform-wide paths it changes.

use super::scope::{Scope, scope_of};
use crate::model::changed_files::{FILES_INVALID, module_of};
use crate::model::git::{links_at, links_in, module_names_at, module_names_in, read_at_commit};
use crate::model::{MANIFEST_INVALID, MANIFEST_MISSING, ModuleId, manifest};
use crate::paths::Globs;
use crate::policy::LoadedPolicy;
use crate::report::code::code;
use crate::report::{Code, Decision, Gate, GateError, InputDigest, Outcome, Reason, general};
use std::collections::BTreeSet;
use std::path::Path;
use time::OffsetDateTime;

code!(
    AUTO,
    "pr.module.auto",
    Info,
    "A touched module may be auto-applied after merge.",
    "Nothing to do."
);
code!(
    STATEFUL,
    "pr.module.stateful",
    Error,
    "A touched module is stateful: applying it needs a backup and the confirm phrase, and only a no-op plan may run.",
    "After merge, take a backup and dispatch with allow_stateful, backup_ref and stateful_confirm; apply real changes by hand."
);
code!(
    ONE_SHOT,
    "pr.module.one_shot",
    Error,
    "A touched module is a stateful one-shot: it needs a backup and the confirm phrase to re-run.",
    "After merge, take a backup of its backup_ref_modules and dispatch with allow_stateful, backup_ref and stateful_confirm."
);
code!(
    MANUAL,
    "pr.module.manual",
    Error,
    "A touched module carries a risk class the policy keeps manual.",
    "Apply it by hand after review, or add a dated policy exception."
);
code!(
    PLATFORM,
    "pr.platform_path",
    Error,
    "The change touches a platform-wide path (policy dispatch.platform_paths).",
    "Platform-wide changes are not auto-applied; roll them out by hand."
);
code!(
    GATES_PATH,
    "pr.gates_path",
    Error,
    "The change touches the gates' own files (the policy .forgejo/gates.yml, anything under .forgejo/, .gitea/ or .github/, an action.yml, .gitmodules), whatever the policy's path lists say: after merge they decide how every later change is gated.",
    "Nothing of it is auto-applied: have it reviewed (with a full canary pack) and merged by hand."
);
code!(
    GIT_FAILED,
    "pr.git_failed",
    Error,
    "A git command the gate needed (reading the touched modules' manifests at --base-ref) failed.",
    "Check out with full history (fetch-depth: 0) so that the base commit is present, and check the ref passed to --base-ref."
);
code!(
    NO_MODULE,
    "pr.no_module",
    Info,
    "The change touches no module and no platform-wide path.",
    "Nothing to apply."
);

pub static CODES: &[&Code] = &[
    &AUTO,
    &STATEFUL,
    &ONE_SHOT,
    &MANUAL,
    &PLATFORM,
    &GATES_PATH,
    &NO_MODULE,
    &FILES_INVALID,
    &GIT_FAILED,
];

/// `--modules-dir` as the prefix of repository-relative changed paths: a plain relative
/// directory (`modules`, `platform/modules`; one trailing `/` allowed), because changed paths
/// are relative to the repository root and the gate runs there. An absolute path, or one with
/// an empty, `.` or `..` component, could never match a changed path: refused, so that a
/// change to a module is never reported as touching none.
pub fn module_prefix(modules_dir: &Path) -> Result<String, GateError> {
    let raw = modules_dir
        .to_str()
        .ok_or_else(|| GateError::new(&general::USAGE, "--modules-dir is not UTF-8"))?;
    let dir = raw.strip_suffix('/').unwrap_or(raw);
    crate::paths::check_path(dir).map_err(|_| {
        GateError::new(
            &general::USAGE,
            format!(
                "--modules-dir {:?}: in pull-request mode it must be a plain directory relative to the repository root (e.g. `modules`), with no leading `/`, `./`, `..` or empty component, because changed paths are repository-relative; run the gate from the repository root",
                crate::model::truncate(raw)
            ),
        )
    })?;
    Ok(format!("{dir}/"))
}

pub struct Request<'a> {
    pub policy: &'a LoadedPolicy,
    pub modules_dir: &'a Path,
    pub changed_files: &'a [String],
    /// The base commit (`--base-ref`), read in the checkout at `.`: each touched module is
    /// judged by the stricter of its manifest there and in the working tree (the head).
    pub base_ref: Option<&'a str>,
    pub files_digest: InputDigest,
    pub now: OffsetDateTime,
}

pub fn evaluate(req: &Request) -> Result<Decision, GateError> {
    let policy = &req.policy.policy;
    let platform = Globs::new(&policy.dispatch.platform_paths)
        .map_err(|e| GateError::new(&general::POLICY_INVALID, e))?;
    let prefix = module_prefix(req.modules_dir)?;
    let mut d = Decision::new(
        Gate::AutoApplyScope,
        format!("pull request ({} changed files)", req.changed_files.len()),
        req.now,
    );
    d.inputs.push(req.policy.digest.clone());
    d.inputs.push(req.files_digest.clone());
    // A change that reaches a module through one of its symbolic links (in the working
    // tree, and at the base when it is named) changes the module, as the canary counts it.
    let dir = prefix.trim_end_matches('/');
    let mut links = links_in(Path::new("."), dir)?;
    if let Some(rev) = req.base_ref {
        links.extend(links_at(Path::new("."), rev, dir, &GIT_FAILED)?);
    }
    let reached = crate::model::changed_files::through_links(req.changed_files, &links);
    let mut changed: Vec<String> = req.changed_files.to_vec();
    changed.extend(reached.iter().map(|(link, _)| link.clone()));
    let mut modules = BTreeSet::new();
    for path in &changed {
        d.checks_run += 1;
        if let Some(what) = crate::policy::gates_file(path) {
            d.push(
                Reason::new(
                    &GATES_PATH,
                    format!("{path} is {what}, one of the gates' own files"),
                )
                .subject(path.clone()),
            );
        }
        // `<modules-dir>/<id>/...` touches module `<id>`, and so does the bare
        // `<modules-dir>/<id>` (a gitlink, or the folder's own entry replaced): counted as the
        // canary counts them.
        if let Some(dir) = module_of(path, prefix.trim_end_matches('/'))? {
            modules.insert(ModuleId::parse(dir)?);
            continue;
        }
        if let Some(glob) = platform.first_match(path) {
            d.push(
                Reason::new(
                    &PLATFORM,
                    format!("{path} is platform-wide (matches {glob})"),
                )
                .subject(path.clone()),
            );
        }
    }
    let base = match req.base_ref {
        Some(rev) => {
            let dir = prefix.trim_end_matches('/');
            // A list written with rename detection loses a moved module's old folder.
            crate::model::changed_files::check_no_module_vanished(
                req.changed_files,
                dir,
                &module_names_at(Path::new("."), rev, dir, &GIT_FAILED)?,
                &module_names_in(req.modules_dir)?,
            )?;
            base_manifests(rev, dir, &modules)?
        }
        None => Vec::new(),
    };
    let mut scopes = Vec::new();
    for (n, id) in modules.iter().enumerate() {
        let head = head_manifest(req.modules_dir, id)?;
        d.inputs.push(head.digest.clone());
        let mut scope = scope_of(&head, policy, req.now);
        let mut read_at = "in the working tree".to_string();
        if let Some(Some((label, base))) = base.get(n) {
            d.inputs.push(base.digest.clone());
            let at_base = scope_of(base, policy, req.now);
            if strictness(at_base) > strictness(scope) {
                scope = at_base;
            }
            read_at = format!("at the base {label} and in the working tree; the stricter counts");
        } else if req.base_ref.is_some() {
            read_at = "in the working tree: new in this pull request".to_string();
        }
        scopes.push(format!("{id}:{}", scope.as_str()));
        let (code, what): (&'static Code, &str) = match scope {
            Scope::Auto => (&AUTO, "auto: may be applied automatically"),
            Scope::Stateful => (
                &STATEFUL,
                "stateful: needs backup + confirm; only a no-op plan may run",
            ),
            Scope::OneShot => (&ONE_SHOT, "one-shot: may re-run with backup + confirm"),
            Scope::Manual => (&MANUAL, "manual: applied by hand"),
        };
        d.push(
            Reason::new(code, format!("`{id}` is {what} (manifest read {read_at})"))
                .subject(id.to_string()),
        );
    }
    if modules.is_empty() && !d.has_errors() {
        d.push(Reason::new(
            &NO_MODULE,
            format!(
                "{} changed file(s), none in a module or a platform-wide path",
                req.changed_files.len()
            ),
        ));
    }
    d.fact(
        "modules",
        modules
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join(","),
    );
    d.fact("scopes", scopes.join(","));
    if !reached.is_empty() {
        let shown: Vec<String> = reached
            .iter()
            .map(|(link, path)| format!("{path} -> {link}"))
            .collect();
        d.fact("through_links", shown.join(","));
    }
    d.settle(Outcome::Eligible, Outcome::Blocked)
}

/// How strict a scope is: what the auto-apply workflow lets through shrinks from `auto` to
/// `one-shot` (a re-run with backup and confirm), `stateful` (only a no-op plan) and `manual`.
fn strictness(scope: Scope) -> u8 {
    match scope {
        Scope::Auto => 0,
        Scope::OneShot => 1,
        Scope::Stateful => 2,
        Scope::Manual => 3,
    }
}

/// A touched module's manifest in the working tree (the head). Its folder must be a folder:
/// one that is a symbolic link would be followed to files the pull request does not show.
fn head_manifest(modules_dir: &Path, id: &ModuleId) -> Result<manifest::Manifest, GateError> {
    let folder = modules_dir.join(id.as_str());
    if let Ok(meta) = std::fs::symlink_metadata(&folder)
        && !meta.is_dir()
    {
        return Err(GateError::new(
            &MANIFEST_MISSING,
            format!(
                "touched module `{id}` cannot be evaluated: {} is not a folder (a symbolic link, a file or an unpopulated entry), so its manifest cannot be read as the module's own",
                folder.display()
            ),
        ));
    }
    manifest::load(modules_dir, id).map_err(|e| {
        GateError::new(
            e.code,
            format!("touched module `{id}` cannot be evaluated: {}", e.message),
        )
        .with_details(e.details.clone())
    })
}

/// The touched modules' manifests at the base commit `rev` (in `modules`' order): `None` for
/// a module the base does not have (new in the pull request). Read as the canary reads them
/// ([`crate::model::git::read_at_commit`]): a module whose entry there is a submodule, a
/// symbolic link or a file, or a manifest that does not parse, cannot be evaluated.
fn base_manifests(
    rev: &str,
    modules_dir: &str,
    modules: &BTreeSet<ModuleId>,
) -> Result<Vec<Option<(String, manifest::Manifest)>>, GateError> {
    let ids: Vec<&str> = modules.iter().map(ModuleId::as_str).collect();
    let mut out: Vec<Option<(String, manifest::Manifest)>> = Vec::with_capacity(ids.len());
    out.resize_with(ids.len(), || None);
    read_at_commit(
        Path::new("."),
        rev,
        modules_dir,
        &ids,
        &GIT_FAILED,
        &mut |commit, i, bytes| {
            let id = ids[i];
            let label: String = commit.chars().take(12).collect();
            let display = format!("{label}:{modules_dir}/{id}/module.yaml");
            let text = std::str::from_utf8(bytes).map_err(|_| {
                GateError::new(&MANIFEST_INVALID, format!("{display} is not UTF-8"))
            })?;
            let digest = InputDigest::of(format!("manifest:{id}@base"), display.clone(), bytes);
            let module_id = ModuleId::parse(id)?;
            let m = manifest::parse(
                text,
                &display,
                &module_id,
                Path::new(modules_dir).join(id),
                digest,
            )
            .map_err(|e| {
                GateError::new(
                    e.code,
                    format!(
                        "touched module `{id}` cannot be evaluated at the base: {}",
                        e.message
                    ),
                )
                .with_details(e.details.clone())
            })?;
            out[i] = Some((label, m));
            Ok(())
        },
    )?;
    Ok(out)
}
