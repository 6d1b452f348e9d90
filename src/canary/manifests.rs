//! The manifests of the modules a pull request touches, read where the evidence rule needs
//! them: at the base commit (the rules the platform runs under today), and at the head when
//! the pull request changes a manifest (a class it adds counts too). The stricter wins: the
//! classes of both are joined.
//!
//! A commit is read with one `git cat-file --batch-command` for everything (3,000 modules cost
//! one process, not 3,000): it names the commit, walks the folders down to each touched module's
//! manifest, and reads the manifests ([`crate::model::git::read_at_commit`], shared with
//! `auto_apply_scope --base-ref`). Without a commit (files mode, local use) the working tree
//! is read.

use super::codes::GIT_FAILED;
use super::evidence::ModuleClasses;
use crate::model::changed_files::touched_modules;
use crate::model::git::read_at_commit;
use crate::model::manifest::{self, MAX_MANIFEST_BYTES, Manifest};
use crate::model::{MANIFEST_INVALID, MANIFEST_MISSING, ModuleId};
use crate::policy::canary::{EVIDENCE_CLASSES, EvidencePolicy};
use crate::report::{GateError, InputDigest};
use std::path::{Path, PathBuf};

/// Where a side of the pull request is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tree {
    /// A commit in the git checkout at `repo`.
    Commit { repo: PathBuf, rev: String },
    /// The files under `repo` as they are.
    WorkTree { repo: PathBuf },
}

impl Tree {
    fn describe(&self, resolved: &str) -> String {
        match self {
            Tree::Commit { .. } => resolved.chars().take(12).collect(),
            Tree::WorkTree { .. } => "(the working tree)".to_string(),
        }
    }
}

/// The classes a manifest gives, in `EVIDENCE_CLASSES` order.
pub fn classes_of(m: &Manifest) -> Vec<String> {
    EVIDENCE_CLASSES
        .iter()
        .filter(|c| match **c {
            "stateful" => m.is_stateful(),
            "sidecar-bound" => !m.backup_ref_modules.is_empty(),
            other => m.classes.iter().any(|k| k == other),
        })
        .map(|c| c.to_string())
        .collect()
}

/// Classify every module `changed` touches. `base` is where the rules stand; `head` is read
/// only for modules whose manifest the pull request changes (`None`: not available, then the
/// base must have the manifest). Returns the modules and the digests of what was read.
pub fn classify(
    changed: &[String],
    policy: &EvidencePolicy,
    base: &Tree,
    head: Option<&Tree>,
) -> Result<(Vec<ModuleClasses>, Vec<InputDigest>), GateError> {
    let modules = touched_modules(changed, &policy.modules_dir)?;
    if modules.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let manifest_path = |id: &str| format!("{}/{id}/module.yaml", policy.modules_dir);
    let owned_ids: Vec<String> = modules.iter().map(|(id, _)| id.clone()).collect();
    let ids: Vec<&str> = owned_ids.iter().map(String::as_str).collect();
    let (base_label, base_sides) = read_side(base, "base", &policy.modules_dir, &ids)?;
    // Looked up among each module's own changed files: a scan of the whole list per module
    // would cost modules x files.
    let changed_manifest: Vec<&str> = modules
        .iter()
        .zip(&ids)
        .filter(|((id, files), _)| {
            let path = manifest_path(id);
            files.contains(&path)
        })
        .map(|(_, id)| *id)
        .collect();
    // Where each changed manifest's head reading is.
    let head_index: std::collections::HashMap<&str, usize> = changed_manifest
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i))
        .collect();
    let head = head.filter(|h| *h != base);
    let (head_label, head_sides) = match head {
        Some(h) if !changed_manifest.is_empty() => {
            let (label, sides) = read_side(h, "head", &policy.modules_dir, &changed_manifest)?;
            (Some(label), sides)
        }
        _ => (None, Vec::new()),
    };

    let mut head_sides: Vec<Option<Side>> = head_sides;
    let mut out = Vec::new();
    let mut digests = Vec::new();
    for ((id, files), base_side) in modules.into_iter().zip(base_sides) {
        let mut classes: Vec<String> = Vec::new();
        let mut read_from: Vec<String> = Vec::new();
        let head_side = head_index
            .get(id.as_str())
            .and_then(|&pos| head_sides.get_mut(pos))
            .and_then(Option::take);
        for (side, from) in [
            (base_side, format!("the base {base_label}")),
            (
                head_side,
                format!(
                    "the head {}, which changes it",
                    head_label.as_deref().unwrap_or_default()
                ),
            ),
        ] {
            let Some(side) = side else { continue };
            for c in side.classes {
                if !classes.contains(&c) {
                    classes.push(c);
                }
            }
            digests.push(side.digest);
            read_from.push(from);
        }
        if read_from.is_empty() {
            return Err(GateError::new(
                &MANIFEST_MISSING,
                format!(
                    "touched module `{id}` has no {} at the base {base_label}{}: its class cannot be read, so the evidence it needs is unknown{}",
                    manifest_path(&id),
                    match &head_label {
                        Some(h) if head_index.contains_key(id.as_str()) =>
                            format!(" nor at the head {h}"),
                        _ => String::new(),
                    },
                    match base {
                        Tree::WorkTree { .. } =>
                            " (to read the manifest as it was before the change, name the base commit: --git-diff BASE...HEAD or --policy-from-ref BASE)",
                        Tree::Commit { .. } => "",
                    }
                ),
            ));
        }
        // Keep EVIDENCE_CLASSES order whichever side a class came from.
        classes.sort_by_key(|c| EVIDENCE_CLASSES.iter().position(|k| k == c));
        out.push(ModuleClasses {
            id,
            files,
            classes,
            read_from,
        });
    }
    Ok((out, digests))
}

/// What one side of the pull request says about one module: the classes its manifest gives,
/// and the digest of what was read.
struct Side {
    classes: Vec<String>,
    digest: InputDigest,
}

/// The manifests of `ids` in `tree`, each parsed as it arrives (while git reads the next
/// ones): `None` where there is none. Also how to name the tree. The first manifest that
/// cannot be read stops the reading.
fn read_side(
    tree: &Tree,
    side: &str,
    modules_dir: &str,
    ids: &[&str],
) -> Result<(String, Vec<Option<Side>>), GateError> {
    let mut sides: Vec<Option<Side>> = Vec::with_capacity(ids.len());
    sides.resize_with(ids.len(), || None);
    let label = read_all(tree, modules_dir, ids, &mut |label, i, text| {
        let id = ids[i];
        let display = format!("{label}:{modules_dir}/{id}/module.yaml");
        let digest = InputDigest::of(
            format!("manifest:{id}@{side}"),
            display.clone(),
            text.as_bytes(),
        );
        let module_id = ModuleId::parse(id)?;
        let m = manifest::parse(
            text,
            &display,
            &module_id,
            PathBuf::from(modules_dir).join(id),
            digest.clone(),
        )
        .map_err(|e| {
            GateError::new(
                e.code,
                format!(
                    "touched module `{id}`: its class cannot be read at the {side}: {}",
                    e.message
                ),
            )
            .with_details(e.details.clone())
        })?;
        sides[i] = Some(Side {
            classes: classes_of(&m),
            digest,
        });
        Ok(())
    })?;
    Ok((label, sides))
}

/// What is done with each manifest text found: `(how the tree is named, index in ids, text)`.
type EachText<'a> = dyn FnMut(&str, usize, &str) -> Result<(), GateError> + 'a;

/// Hand `each` the manifest text of every one of `ids` that `tree` has, in order; returns how
/// to name the tree.
fn read_all(
    tree: &Tree,
    modules_dir: &str,
    ids: &[&str],
    each: &mut EachText,
) -> Result<String, GateError> {
    match tree {
        Tree::WorkTree { repo } => {
            let label = tree.describe("");
            for (i, id) in ids.iter().enumerate() {
                let path = repo.join(format!("{modules_dir}/{id}/module.yaml"));
                if let Some(text) = read_file(&path)? {
                    each(&label, i, &text)?;
                }
            }
            Ok(label)
        }
        Tree::Commit { repo, rev } => {
            let mut label = String::new();
            read_at_commit(
                repo,
                rev,
                modules_dir,
                ids,
                &GIT_FAILED,
                &mut |commit, i, bytes| {
                    if label.is_empty() {
                        label = tree.describe(commit);
                    }
                    let text = std::str::from_utf8(bytes).map_err(|_| {
                        GateError::new(
                            &MANIFEST_INVALID,
                            format!("{commit}:{modules_dir}/{}/module.yaml is not UTF-8", ids[i]),
                        )
                    })?;
                    each(&label, i, text)
                },
            )
            .map(|commit| tree.describe(&commit))
        }
    }
}

fn read_file(path: &Path) -> Result<Option<String>, GateError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_file() => {}
        Ok(_) => {
            return Err(GateError::new(
                &MANIFEST_INVALID,
                format!("{} is not a regular file", path.display()),
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(GateError::new(
                &MANIFEST_MISSING,
                format!("cannot read {}: {e}", path.display()),
            ));
        }
    }
    let bytes = crate::input::read_limited(path, MAX_MANIFEST_BYTES, "manifest")?;
    String::from_utf8(bytes).map(Some).map_err(|_| {
        GateError::new(
            &MANIFEST_INVALID,
            format!("{} is not UTF-8", path.display()),
        )
    })
}
