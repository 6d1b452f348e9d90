//! The manifests of the modules a pull request touches, read where the evidence rule needs
//! them: at the base commit (the rules the platform runs under today), and at the head when
//! the pull request changes a manifest (a class it adds counts too). The stricter wins: the
//! classes of both are joined.
//!
//! A commit is read with one `git cat-file --batch` for all modules (3,000 modules cost one
//! process, not 3,000); without a commit (files mode, local use) the working tree is read.

use super::codes::GIT_FAILED;
use super::evidence::{ModuleClasses, touched};
use crate::model::manifest::{self, MAX_MANIFEST_BYTES, Manifest};
use crate::model::{MANIFEST_INVALID, MANIFEST_MISSING, ModuleId};
use crate::policy::canary::{EVIDENCE_CLASSES, EvidencePolicy};
use crate::report::{GateError, InputDigest, general};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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
    let modules = touched(changed, &policy.modules_dir)?;
    if modules.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let manifest_path = |id: &str| format!("{}/{id}/module.yaml", policy.modules_dir);
    let owned_ids: Vec<String> = modules.iter().map(|(id, _)| id.clone()).collect();
    let ids: Vec<&str> = owned_ids.iter().map(String::as_str).collect();
    let (base_label, base_texts) = read_all(base, &ids, &manifest_path)?;
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
    // Where each changed manifest's head text is.
    let head_index: std::collections::HashMap<&str, usize> = changed_manifest
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i))
        .collect();
    let head = head.filter(|h| *h != base);
    let (head_label, head_texts) = match head {
        Some(h) if !changed_manifest.is_empty() => {
            let (label, texts) = read_all(h, &changed_manifest, &manifest_path)?;
            (Some(label), texts)
        }
        _ => (None, Vec::new()),
    };

    let mut out = Vec::new();
    let mut digests = Vec::new();
    for ((id, files), base_text) in modules.into_iter().zip(base_texts) {
        let module_id = ModuleId::parse(&id)?;
        let mut classes: Vec<String> = Vec::new();
        let mut read_from: Vec<String> = Vec::new();
        let mut add = |text: &str, side: &str, display: String| -> Result<(), GateError> {
            let digest = InputDigest::of(
                format!("manifest:{id}@{side}"),
                display.clone(),
                text.as_bytes(),
            );
            let m = manifest::parse(
                text,
                &display,
                &module_id,
                PathBuf::from(&policy.modules_dir).join(&id),
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
            for c in classes_of(&m) {
                if !classes.contains(&c) {
                    classes.push(c);
                }
            }
            digests.push(digest);
            Ok(())
        };
        if let Some(text) = &base_text {
            add(text, "base", format!("{base_label}:{}", manifest_path(&id)))?;
            read_from.push(format!("the base {base_label}"));
        }
        if let Some(&pos) = head_index.get(id.as_str())
            && let (Some(label), Some(Some(text))) = (&head_label, head_texts.get(pos))
        {
            add(text, "head", format!("{label}:{}", manifest_path(&id)))?;
            read_from.push(format!("the head {label}, which changes it"));
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

/// The manifest texts of `ids` in `tree` (`None`: no such file), and how to name the tree.
fn read_all(
    tree: &Tree,
    ids: &[&str],
    manifest_path: &dyn Fn(&str) -> String,
) -> Result<(String, Vec<Option<String>>), GateError> {
    match tree {
        Tree::WorkTree { repo } => {
            let mut out = Vec::new();
            for id in ids {
                out.push(read_file(&repo.join(manifest_path(id)))?);
            }
            Ok((tree.describe(""), out))
        }
        Tree::Commit { repo, rev } => {
            let commit = resolve(repo, rev)?;
            let paths: Vec<String> = ids.iter().map(|id| manifest_path(id)).collect();
            let blobs = read_at_commit(repo, &commit, &paths)?;
            let mut out = Vec::new();
            for (path, blob) in paths.iter().zip(blobs) {
                out.push(match blob {
                    None => None,
                    Some(bytes) => Some(String::from_utf8(bytes).map_err(|_| {
                        GateError::new(&MANIFEST_INVALID, format!("{commit}:{path} is not UTF-8"))
                    })?),
                });
            }
            Ok((tree.describe(&commit), out))
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

fn git(repo: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("-C")
        .arg(repo)
        .args(["-c", "core.quotepath=off", "--no-pager"])
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// The full commit id `rev` names in `repo`.
fn resolve(repo: &Path, rev: &str) -> Result<String, GateError> {
    if rev.is_empty()
        || rev.starts_with('-')
        || rev.len() > 256
        || rev.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(GateError::new(
            &general::USAGE,
            format!(
                "`{}` is not a git revision",
                rev.chars().take(80).collect::<String>().escape_debug()
            ),
        ));
    }
    let out = git(repo)
        .args(["rev-parse", "--verify", "--quiet"])
        .arg(format!("{rev}^{{commit}}"))
        .output()
        .map_err(|e| GateError::new(&GIT_FAILED, format!("cannot run git: {e}")))?;
    let commit = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || !crate::canary::valid_sha(&commit) {
        return Err(GateError::new(
            &GIT_FAILED,
            format!(
                "`{}` is not a commit in the checkout at {}, so the touched modules' classes cannot be read there; check out with fetch-depth: 0 (and pass --repo-dir)",
                rev.escape_debug(),
                repo.display()
            ),
        ));
    }
    Ok(commit)
}

/// Up to this many manifests are listed by their own paths (git reads only the folders on
/// the way to them); more are found in one listing of the whole modules folder, because git
/// matches every entry against every path given (quadratic), while the folder's listing costs
/// one pass.
const EXACT_PATHS_UP_TO: usize = 64;

/// The files `paths` at `commit`: `None` where there is none. One `git ls-tree` finds their
/// blob ids (a `<commit>:<path>` lookup per file would read the big modules tree again for
/// every module): of exactly those paths when they are few, so that only the touched modules'
/// folders are read, else of the folder above them. Then one `git cat-file --batch` reads
/// them. Anything but a regular file (a symlink, a submodule, a folder) is an error.
fn read_at_commit(
    repo: &Path,
    commit: &str,
    paths: &[String],
) -> Result<Vec<Option<Vec<u8>>>, GateError> {
    let failed = |m: String| GateError::new(&GIT_FAILED, m);
    let wanted: std::collections::HashSet<&str> = paths.iter().map(String::as_str).collect();
    let mut ls_tree = git(repo);
    // Paths, never patterns: a module id is plain, but the modules folder comes from the policy.
    ls_tree.args(["--literal-pathspecs", "ls-tree", "-z", "--full-tree"]);
    if paths.len() <= EXACT_PATHS_UP_TO {
        ls_tree.args([commit, "--"]).args(paths);
    } else {
        // The modules folder: each path is `<folder>/<id>/module.yaml`.
        let folder = paths
            .first()
            .and_then(|p| p.rsplitn(3, '/').nth(2))
            .map(|f| format!("{f}/"))
            .unwrap_or_default();
        ls_tree.args(["-r", commit, "--"]).arg(folder);
    }
    let listing = ls_tree
        .output()
        .map_err(|e| failed(format!("cannot run git: {e}")))?;
    if !listing.status.success() {
        return Err(failed(format!(
            "git ls-tree {commit} failed: {}",
            crate::render::text::clean(String::from_utf8_lossy(&listing.stderr).trim())
        )));
    }
    let mut found: std::collections::HashMap<&str, String> = Default::default();
    for record in listing.stdout.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        // `<mode> <type> <oid>\t<path>`
        let record = String::from_utf8_lossy(record);
        let Some((meta, path)) = record.split_once('\t') else {
            return Err(failed("git ls-tree printed a record without a path".into()));
        };
        let Some(&path) = wanted.get(path) else {
            continue;
        };
        let fields: Vec<&str> = meta.split(' ').collect();
        match fields.as_slice() {
            ["100644" | "100755", "blob", oid] if crate::canary::valid_sha(oid) => {
                found.insert(path, oid.to_string());
            }
            _ => {
                return Err(GateError::new(
                    &MANIFEST_INVALID,
                    format!("{commit}:{path} is not a regular file ({meta})"),
                ));
            }
        }
    }
    let oids: Vec<String> = paths
        .iter()
        .filter_map(|p| found.get(p.as_str()).cloned())
        .collect();
    let mut blobs = cat_file_batch(repo, &oids)?.into_iter();
    let mut out = Vec::with_capacity(paths.len());
    for p in paths {
        out.push(match found.get(p.as_str()) {
            Some(_) => Some(
                blobs
                    .next()
                    .flatten()
                    .ok_or_else(|| failed(format!("git cat-file did not return {commit}:{p}")))?,
            ),
            None => None,
        });
    }
    Ok(out)
}

/// `git cat-file --batch` for every object: the blob's bytes, or `None` when it is missing.
/// Anything but a blob is an error, and so is a blob over the manifest size limit.
fn cat_file_batch(repo: &Path, objects: &[String]) -> Result<Vec<Option<Vec<u8>>>, GateError> {
    if objects.is_empty() {
        return Ok(Vec::new());
    }
    let failed = |m: String| GateError::new(&GIT_FAILED, m);
    let mut child = git(repo)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| failed(format!("cannot run git: {e}")))?;
    let mut input = String::new();
    for o in objects {
        input.push_str(o);
        input.push('\n');
    }
    // Written from another thread: git answers while it reads, and both pipes are bounded.
    let stdin = child.stdin.take();
    let writer = std::thread::spawn(move || -> std::io::Result<()> {
        if let Some(mut stdin) = stdin {
            stdin.write_all(input.as_bytes())?;
        }
        Ok(())
    });
    let result = match child.stdout.take() {
        Some(stdout) => read_batch(BufReader::new(stdout), objects),
        None => Err(failed("git produced no output stream".into())),
    };
    if result.is_err() {
        let _ = child.kill();
    }
    let _ = writer.join();
    let mut err = String::new();
    if let Some(s) = child.stderr.take() {
        let _ = s.take(8192).read_to_string(&mut err);
    }
    let status = child
        .wait()
        .map_err(|e| failed(format!("git did not finish: {e}")))?;
    let blobs = result?;
    if !status.success() {
        return Err(failed(format!(
            "git cat-file --batch failed: {}",
            crate::render::text::clean(err.trim())
        )));
    }
    Ok(blobs)
}

fn read_batch(
    mut out: impl BufRead,
    objects: &[String],
) -> Result<Vec<Option<Vec<u8>>>, GateError> {
    let failed = |m: String| GateError::new(&GIT_FAILED, m);
    let mut blobs = Vec::with_capacity(objects.len());
    for object in objects {
        let mut header = Vec::new();
        (&mut out)
            .take(1024)
            .read_until(b'\n', &mut header)
            .map_err(|e| failed(format!("reading git cat-file: {e}")))?;
        let header = String::from_utf8_lossy(&header).trim_end().to_string();
        if header == format!("{object} missing") {
            blobs.push(None);
            continue;
        }
        let fields: Vec<&str> = header.split(' ').collect();
        let (kind, size) = match fields.as_slice() {
            [_, kind, size] => (*kind, size.parse::<u64>().ok()),
            _ => {
                return Err(failed(format!(
                    "git cat-file answered {:?} for {object}",
                    header.chars().take(120).collect::<String>()
                )));
            }
        };
        if kind != "blob" {
            return Err(GateError::new(
                &MANIFEST_INVALID,
                format!("{object} is a {kind}, not a file"),
            ));
        }
        let Some(size) = size.filter(|s| *s <= MAX_MANIFEST_BYTES) else {
            return Err(GateError::new(
                &general::TOO_LARGE,
                format!(
                    "{object} is larger than {MAX_MANIFEST_BYTES} bytes (or its size is unreadable)"
                ),
            ));
        };
        // The blob, then one newline.
        let mut blob = Vec::new();
        (&mut out)
            .take(size + 1)
            .read_to_end(&mut blob)
            .map_err(|e| failed(format!("reading git cat-file: {e}")))?;
        if blob.len() as u64 != size + 1 || blob.pop() != Some(b'\n') {
            return Err(failed(format!(
                "git cat-file ended in the middle of {object}"
            )));
        }
        blobs.push(Some(blob));
    }
    Ok(blobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_output_is_read_exactly() {
        let objects = vec!["b".repeat(40), "c".repeat(40)];
        let text = format!("{} blob 3\nx: \n{} missing\n", objects[0], objects[1]);
        let blobs = read_batch(text.as_bytes(), &objects).unwrap();
        assert_eq!(blobs, vec![Some(b"x: ".to_vec()), None]);
        // Cut short, a tree, an oversized blob: errors, never a partial answer.
        let one = &objects[..1];
        let short = format!("{} blob 30\nx\n", objects[0]);
        assert!(read_batch(short.as_bytes(), one).is_err());
        let tree = format!("{} tree 30\n", objects[0]);
        assert!(read_batch(tree.as_bytes(), one).is_err());
        let big = format!("{} blob 999999999\n", objects[0]);
        assert!(read_batch(big.as_bytes(), one).is_err());
    }
}
