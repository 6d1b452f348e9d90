//! The manifests of the modules a pull request touches, read where the evidence rule needs
//! them: at the base commit (the rules the platform runs under today), and at the head when
//! the pull request changes a manifest (a class it adds counts too). The stricter wins: the
//! classes of both are joined.
//!
//! A commit is read with one `git cat-file --batch-command` for everything (3,000 modules cost
//! one process, not 3,000): it names the commit, walks the folders down to each touched module's
//! manifest, and reads the manifests. Without a commit (files mode, local use) the working
//! tree is read.

use super::codes::GIT_FAILED;
use super::evidence::ModuleClasses;
use crate::model::changed_files::touched_modules;
use crate::model::manifest::{self, MAX_MANIFEST_BYTES, Manifest};
use crate::model::{MANIFEST_INVALID, MANIFEST_MISSING, ModuleId};
use crate::policy::canary::{EVIDENCE_CLASSES, EvidencePolicy};
use crate::report::{GateError, InputDigest, general};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

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
            read_at_commit(repo, rev, modules_dir, ids, &mut |commit, i, bytes| {
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
            })
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

fn git(repo: &Path) -> Command {
    super::files::git_command(repo)
}

/// The largest commit or tree object read on the way to the manifests (a tree of 3,000
/// modules is about 100 KiB).
const MAX_OBJECT_BYTES: u64 = 32 * 1024 * 1024;

/// What is done with each manifest found at a commit: `(the commit's full id, index in ids,
/// bytes)`.
type EachBlob<'a> = dyn FnMut(&str, usize, &[u8]) -> Result<(), GateError> + 'a;

/// Hand `each` the manifest `<modules_dir>/<id>/module.yaml` of every one of `ids` that the
/// commit `rev` names has, in the order of `ids`, each as soon as git has written it (so that
/// git reads the next ones meanwhile); returns that commit's full id.
///
/// One `git cat-file --batch-command` (`--batch` before git 2.36) reads everything, each
/// object once: the commit, the folders on
/// the way down to the modules folder, the touched modules' folders, their manifests. Git's
/// own lookups would cost more: `<commit>:<path>` reads the big modules folder again for every
/// module, and `ls-tree` then `cat-file` cost a process more and list every module, touched or
/// not. The folders are read as git stores them ([`tree_entries`]) and walked as git walks
/// them: a symlink or a submodule is never followed; a manifest that is anything but a
/// regular file is an error, and so is a folder that names an entry twice (git fsck's
/// `duplicateEntries`: which one a reader takes is ambiguous).
fn read_at_commit(
    repo: &Path,
    rev: &str,
    modules_dir: &str,
    ids: &[&str],
    each: &mut EachBlob,
) -> Result<String, GateError> {
    check_revision(rev)?;
    let not_a_commit = |why: &str| {
        GateError::new(
            &GIT_FAILED,
            format!(
                "`{}` is not a commit in the checkout at {}{why}, so the touched modules' classes cannot be read there; check out with fetch-depth: 0 (and pass --repo-dir)",
                rev.escape_debug(),
                repo.display()
            ),
        )
    };
    let mut git = CatFile::start(repo, Protocol::Commands)?;
    let commit_name = format!("{rev}^{{commit}}");
    let mut asked = git.ask(&commit_name, MAX_OBJECT_BYTES);
    if asked.is_err() && git.refused_the_options() {
        // A git older than 2.36 has no `--batch-command`: the same reading, one object at a
        // time.
        git = CatFile::start(repo, Protocol::Names)?;
        asked = git.ask(&commit_name, MAX_OBJECT_BYTES);
    }
    let commit = match asked {
        Ok(Some(object))
            if object.kind == "commit" && crate::model::pull_request::valid_sha(&object.oid) =>
        {
            object
        }
        Ok(_) => return Err(not_a_commit("")),
        Err(e) => {
            let why = git.failure();
            return Err(if why.is_empty() {
                e
            } else {
                not_a_commit(&format!(" ({why})"))
            });
        }
    };
    let id = commit.oid.clone();
    let failed = |m: String| GateError::new(&GIT_FAILED, m);
    // The commit's first line: `tree <id>`.
    let mut folder = commit
        .data
        .strip_prefix(b"tree ")
        .and_then(|rest| rest.get(..commit.oid.len()))
        .and_then(|hex| std::str::from_utf8(hex).ok())
        .filter(|hex| crate::model::pull_request::valid_sha(hex))
        .map(str::to_string)
        .ok_or_else(|| failed(format!("commit {id} does not start with its tree")))?;
    let oid_len = id.len() / 2;
    for name in modules_dir.split('/') {
        let tree = git.ask_tree(&folder)?;
        match find_entries(&tree.data, &folder, oid_len, &[name.as_bytes()])?.pop() {
            Some(Some(Entry {
                kind: EntryKind::Folder,
                oid,
            })) => folder = oid,
            // No modules folder at this commit: no manifests either.
            _ => return Ok(id),
        }
    }
    let modules = git.ask_tree(&folder)?;
    let wanted: Vec<&[u8]> = ids.iter().map(|id| id.as_bytes()).collect();
    let module_folders = find_entries(&modules.data, &folder, oid_len, &wanted)?;
    // Only a folder holds a manifest; git does not follow a symlink or enter a submodule, so
    // a module whose own entry is one of those (or a file) has no class to read here: that
    // is an error, never "no class".
    let mut folder_ids: Vec<(usize, String)> = Vec::with_capacity(module_folders.len());
    for (i, e) in module_folders.into_iter().enumerate() {
        match e {
            Some(Entry {
                kind: EntryKind::Folder,
                oid,
            }) => folder_ids.push((i, oid)),
            Some(Entry { kind, .. }) => {
                return Err(GateError::new(
                    &MANIFEST_MISSING,
                    format!(
                        "touched module `{}`: {id}:{modules_dir}/{} is {}, not a folder: git does not enter a submodule or follow a symbolic link, so the module's manifest (and its class) cannot be read from this repository; make the module a plain folder of this repository, or review and apply the change by hand",
                        ids[i],
                        ids[i],
                        kind.describe()
                    ),
                ));
            }
            None => {}
        }
    }
    let names: Vec<&str> = folder_ids.iter().map(|(_, oid)| oid.as_str()).collect();
    let mut blob_of: Vec<(usize, String)> = Vec::with_capacity(names.len());
    git.ask_each(&names, "tree", MAX_OBJECT_BYTES, &mut |n, tree| {
        let (i, oid) = &folder_ids[n];
        match find_entries(&tree.data, oid, oid_len, &[b"module.yaml"])?.pop() {
            Some(Some(Entry {
                kind: EntryKind::File,
                oid,
            })) => blob_of.push((*i, oid)),
            Some(Some(Entry { kind, .. })) => {
                return Err(GateError::new(
                    &MANIFEST_INVALID,
                    format!(
                        "{id}:{modules_dir}/{}/module.yaml is not a regular file ({})",
                        ids[*i],
                        kind.describe()
                    ),
                ));
            }
            _ => {}
        }
        Ok(())
    })?;
    let names: Vec<&str> = blob_of.iter().map(|(_, oid)| oid.as_str()).collect();
    git.ask_each(&names, "blob", MAX_MANIFEST_BYTES, &mut |n, blob| {
        each(&id, blob_of[n].0, &blob.data)
    })?;
    git.finish()?;
    Ok(id)
}

/// A revision as the caller may name it: never an option, a second line or an endless string.
fn check_revision(rev: &str) -> Result<(), GateError> {
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
    Ok(())
}

/// What a tree entry is, by its mode as git reads it (`canon_mode`: the file type bits
/// decide; any type git does not know is a submodule to it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntryKind {
    File,
    Folder,
    Symlink,
    Submodule,
}

impl EntryKind {
    fn of_mode(mode: u32) -> EntryKind {
        match mode & 0o170000 {
            0o100000 => EntryKind::File,
            0o040000 => EntryKind::Folder,
            0o120000 => EntryKind::Symlink,
            _ => EntryKind::Submodule,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            EntryKind::File => "a file",
            EntryKind::Folder => "a folder",
            EntryKind::Symlink => "a symbolic link",
            EntryKind::Submodule => "a submodule",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    kind: EntryKind,
    /// The object id, in hex.
    oid: String,
}

/// The entries named `names` in the raw tree object `data` (`<octal mode> <name>\0<binary
/// id>`, repeated), in the order of `names`: `None` where there is none. One pass over the
/// tree, whatever the number of names. A malformed tree, or a name found twice, is an error.
fn find_entries(
    data: &[u8],
    tree: &str,
    oid_len: usize,
    names: &[&[u8]],
) -> Result<Vec<Option<Entry>>, GateError> {
    let malformed = |why: &str| GateError::new(&GIT_FAILED, format!("git tree {tree}: {why}"));
    let index: std::collections::HashMap<&[u8], usize> =
        names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let mut found: Vec<Option<Entry>> = vec![None; names.len()];
    let mut rest = data;
    while !rest.is_empty() {
        let space = rest
            .iter()
            .position(|b| *b == b' ')
            .ok_or_else(|| malformed("an entry without a mode"))?;
        let (mode, after) = rest.split_at(space);
        if mode.is_empty() || mode.len() > 7 || !mode.iter().all(|b| (b'0'..=b'7').contains(b)) {
            return Err(malformed("an entry with a bad mode"));
        }
        let mode = mode.iter().fold(0u32, |m, b| m * 8 + u32::from(b - b'0'));
        let after = &after[1..];
        let nul = after
            .iter()
            .position(|b| *b == 0)
            .ok_or_else(|| malformed("an entry without an end"))?;
        let (name, after) = after.split_at(nul);
        let oid = after
            .get(1..1 + oid_len)
            .ok_or_else(|| malformed("an entry cut short"))?;
        if name.is_empty() {
            return Err(malformed("an entry without a name"));
        }
        rest = &after[1 + oid_len..];
        let Some(&i) = index.get(name) else {
            continue;
        };
        if found[i].is_some() {
            return Err(malformed(&format!(
                "two entries named `{}` (git fsck: duplicateEntries)",
                String::from_utf8_lossy(name).escape_debug()
            )));
        }
        found[i] = Some(Entry {
            kind: EntryKind::of_mode(mode),
            oid: hex(oid),
        });
    }
    Ok(found)
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// An object `git cat-file --batch` returned.
struct Object {
    /// Its full id, in hex.
    oid: String,
    kind: String,
    data: Vec<u8>,
}

/// How objects are asked of `git cat-file`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    /// `--batch-command --buffer` (git 2.36 and later): `contents <name>` lines, answered
    /// when `flush` comes, in one buffered write of many objects. Without `--buffer` git
    /// writes (and the gate reads) each object on its own, a pair of system calls and a
    /// context switch per object: the most of git's time for 6,000 small objects.
    Commands,
    /// `--batch`: one name per line, each answered at once (git before 2.36).
    Names,
}

/// A running `git cat-file`: object names go in; each object comes out in order (`<id> <type>
/// <size>`, the bytes, a newline; `<name> missing` when there is none). Killed and waited for
/// when dropped unfinished.
struct CatFile {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    protocol: Protocol,
}

impl CatFile {
    fn start(repo: &Path, protocol: Protocol) -> Result<CatFile, GateError> {
        let failed = |m: String| GateError::new(&GIT_FAILED, m);
        let options: &[&str] = match protocol {
            Protocol::Commands => &["cat-file", "--batch-command", "--buffer"],
            Protocol::Names => &["cat-file", "--batch"],
        };
        let mut child = git(repo)
            .args(options)
            .stdin(Stdio::piped())
            .spawn()
            .map_err(|e| failed(format!("cannot run git: {e}")))?;
        let stdin = child.stdin.take();
        match child.stdout.take() {
            Some(stdout) => Ok(CatFile {
                child,
                stdin,
                stdout: BufReader::with_capacity(64 * 1024, stdout),
                protocol,
            }),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                Err(failed("git produced no output stream".into()))
            }
        }
    }

    fn stdin(&mut self) -> Result<&mut ChildStdin, GateError> {
        self.stdin
            .as_mut()
            .ok_or_else(|| GateError::new(&GIT_FAILED, "git cat-file's input is closed"))
    }

    /// The request for `names`, in this process's protocol: with commands, a `flush` at the
    /// end makes git answer.
    fn request(&self, names: &[&str]) -> String {
        let (prefix, end) = match self.protocol {
            Protocol::Commands => ("contents ", "flush\n"),
            Protocol::Names => ("", ""),
        };
        let per_name = prefix.len() + names.first().map_or(0, |n| n.len()) + 1;
        let mut out = String::with_capacity(names.len() * per_name + end.len());
        for name in names {
            out.push_str(prefix);
            out.push_str(name);
            out.push('\n');
        }
        out.push_str(end);
        out
    }

    /// Whether git ended at once because it does not know the options it was started with
    /// (exit code 129, git's usage error: `--batch-command` is git 2.36 and later). Called
    /// after a failed answer: git is stopped first (a git still running, perhaps blocked
    /// writing an object too large to read, never ends by itself), which leaves the exit
    /// code of a git that had already ended.
    fn refused_the_options(&mut self) -> bool {
        self.stdin = None;
        let _ = self.child.kill();
        self.protocol == Protocol::Commands
            && matches!(self.child.wait(), Ok(status) if status.code() == Some(129))
    }

    /// One object, asked for and waited for.
    fn ask(&mut self, name: &str, limit: u64) -> Result<Option<Object>, GateError> {
        let line = self.request(&[name]);
        self.stdin()?
            .write_all(line.as_bytes())
            .map_err(|e| GateError::new(&GIT_FAILED, format!("writing to git cat-file: {e}")))?;
        read_object(&mut self.stdout, name, limit)
    }

    /// A tree that must exist.
    fn ask_tree(&mut self, oid: &str) -> Result<Object, GateError> {
        match self.ask(oid, MAX_OBJECT_BYTES)? {
            Some(o) if o.kind == "tree" => Ok(o),
            Some(o) => Err(GateError::new(
                &GIT_FAILED,
                format!("{oid} is a {}, not a folder", o.kind),
            )),
            None => Err(missing(oid)),
        }
    }

    /// Objects of `kind` that must exist, all asked for at once, each handed to `each` (with
    /// its index in `oids`) as it comes: written from another thread, because git answers
    /// while it reads and both pipes are bounded. An error from `each` stops git.
    fn ask_each(
        &mut self,
        oids: &[&str],
        kind: &str,
        limit: u64,
        each: &mut dyn FnMut(usize, Object) -> Result<(), GateError>,
    ) -> Result<(), GateError> {
        if oids.is_empty() {
            return Ok(());
        }
        let input = self.request(oids);
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| GateError::new(&GIT_FAILED, "git cat-file's input is closed"))?;
        let (stdout, child) = (&mut self.stdout, &mut self.child);
        std::thread::scope(|scope| {
            let writer = scope.spawn(move || stdin.write_all(input.as_bytes()));
            let mut result = Ok(());
            for (n, oid) in oids.iter().enumerate() {
                result = match read_object(stdout, oid, limit) {
                    Ok(Some(o)) if o.kind == kind => each(n, o),
                    Ok(Some(o)) => Err(GateError::new(
                        &MANIFEST_INVALID,
                        format!("{oid} is a {}, not a {kind}", o.kind),
                    )),
                    Ok(None) => Err(missing(oid)),
                    Err(e) => Err(e),
                };
                if result.is_err() {
                    // Unblocks the writer: git is gone, its input pipe broken.
                    let _ = child.kill();
                    break;
                }
            }
            let written = writer.join();
            result?;
            match written {
                Ok(Ok(())) => Ok(()),
                _ => Err(GateError::new(
                    &GIT_FAILED,
                    "writing to git cat-file failed",
                )),
            }
        })
    }

    /// What git said on its error stream when it failed (cleaned; empty when it did not).
    fn failure(&mut self) -> String {
        self.stdin = None;
        let _ = self.child.kill();
        let mut err = String::new();
        if let Some(s) = self.child.stderr.take() {
            let _ = s.take(8192).read_to_string(&mut err);
        }
        crate::render::text::clean(err.trim())
    }

    /// Close git's input and check that it ended well.
    fn finish(mut self) -> Result<(), GateError> {
        self.stdin = None;
        let status = self
            .child
            .wait()
            .map_err(|e| GateError::new(&GIT_FAILED, format!("git did not finish: {e}")))?;
        if status.success() {
            Ok(())
        } else {
            Err(GateError::new(
                &GIT_FAILED,
                format!("git cat-file failed: {}", self.failure()),
            ))
        }
    }
}

impl Drop for CatFile {
    fn drop(&mut self) {
        self.stdin = None;
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn missing(oid: &str) -> GateError {
    GateError::new(
        &GIT_FAILED,
        format!(
            "git object {oid} is missing from the checkout (a partial or shallow clone?); check out with fetch-depth: 0"
        ),
    )
}

/// One answer of `git cat-file --batch` to `asked`: the object, or `None` when git says it
/// is missing. Anything over `limit` bytes is an error, and so is an answer cut short.
fn read_object(
    out: &mut impl BufRead,
    asked: &str,
    limit: u64,
) -> Result<Option<Object>, GateError> {
    let failed = |m: String| GateError::new(&GIT_FAILED, m);
    let mut header = Vec::new();
    (&mut *out)
        .take(1024)
        .read_until(b'\n', &mut header)
        .map_err(|e| failed(format!("reading git cat-file: {e}")))?;
    if header.pop() != Some(b'\n') {
        return Err(failed(format!(
            "git cat-file ended before answering {asked}"
        )));
    }
    let header = String::from_utf8_lossy(&header);
    if header.strip_prefix(asked) == Some(" missing") {
        return Ok(None);
    }
    let fields: Vec<&str> = header.split(' ').collect();
    let [oid, kind, size] = fields.as_slice() else {
        return Err(failed(format!(
            "git cat-file answered {:?} for {asked}",
            header.chars().take(120).collect::<String>()
        )));
    };
    let Some(size) = size.parse::<u64>().ok().filter(|s| *s <= limit) else {
        return Err(GateError::new(
            &general::TOO_LARGE,
            format!(
                "git object {oid} ({kind}) is larger than {limit} bytes (or its size is unreadable)"
            ),
        ));
    };
    // The object, then one newline.
    let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or(0).saturating_add(1));
    (&mut *out)
        .take(size + 1)
        .read_to_end(&mut data)
        .map_err(|e| failed(format!("reading git cat-file: {e}")))?;
    if data.len() as u64 != size + 1 || data.pop() != Some(b'\n') {
        return Err(failed(format!(
            "git cat-file ended in the middle of {asked}"
        )));
    }
    Ok(Some(Object {
        oid: oid.to_string(),
        kind: kind.to_string(),
        data,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all_objects(text: &str, asked: &[String]) -> Result<Vec<Option<Vec<u8>>>, GateError> {
        let mut out = text.as_bytes();
        asked
            .iter()
            .map(|a| read_object(&mut out, a, MAX_MANIFEST_BYTES).map(|o| o.map(|o| o.data)))
            .collect()
    }

    #[test]
    fn batch_output_is_read_exactly() {
        let objects = vec!["b".repeat(40), "c".repeat(40)];
        let text = format!("{} blob 3\nx: \n{} missing\n", objects[0], objects[1]);
        let blobs = read_all_objects(&text, &objects).unwrap();
        assert_eq!(blobs, vec![Some(b"x: ".to_vec()), None]);
        // Cut short, an oversized object, an unknown answer: errors, never a partial answer.
        let one = &objects[..1];
        let short = format!("{} blob 30\nx\n", objects[0]);
        assert!(read_all_objects(&short, one).is_err());
        let big = format!("{} blob 999999999\n", objects[0]);
        assert!(read_all_objects(&big, one).is_err());
        let ambiguous = format!("{} ambiguous\n", objects[0]);
        assert!(read_all_objects(&ambiguous, one).is_err());
        assert!(read_all_objects("", one).is_err());
    }

    /// A raw tree object: `<mode> <name>\0<binary id>` per entry.
    fn tree(entries: &[(&str, &str, u8)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (mode, name, id) in entries {
            out.extend_from_slice(format!("{mode} {name}\0").as_bytes());
            out.extend_from_slice(&[*id; 20]);
        }
        out
    }

    #[test]
    fn tree_entries_are_read_by_mode_as_git_reads_them() {
        let t = tree(&[
            ("100644", "a", 1),
            ("100755", "b", 2),
            // Old git wrote group-writable files; git reads them as files.
            ("100664", "c", 3),
            ("40000", "d", 4),
            ("120000", "e", 5),
            ("160000", "f", 6),
        ]);
        let names: Vec<&[u8]> = vec![b"f", b"e", b"d", b"c", b"b", b"a", b"g"];
        let found = find_entries(&t, "t", 20, &names).unwrap();
        let kinds: Vec<Option<EntryKind>> =
            found.iter().map(|e| e.as_ref().map(|e| e.kind)).collect();
        use EntryKind::*;
        assert_eq!(
            kinds,
            vec![
                Some(Submodule),
                Some(Symlink),
                Some(Folder),
                Some(File),
                Some(File),
                Some(File),
                None
            ]
        );
        assert_eq!(found[5].as_ref().unwrap().oid, "01".repeat(20));
        // A SHA-256 repository's ids are 32 bytes.
        let mut t256 = b"100644 module.yaml\0".to_vec();
        t256.extend_from_slice(&[0xab; 32]);
        let found = find_entries(&t256, "t", 32, &[b"module.yaml"]).unwrap();
        assert_eq!(found[0].as_ref().unwrap().oid, "ab".repeat(32));
    }

    #[test]
    fn a_malformed_tree_or_a_name_twice_is_an_error() {
        let twice = tree(&[("100644", "module.yaml", 1), ("100644", "module.yaml", 2)]);
        let e = find_entries(&twice, "t", 20, &[b"module.yaml"]).unwrap_err();
        assert!(
            e.message.contains("two entries named `module.yaml`"),
            "{}",
            e.message
        );
        // Twice, but not a name asked for: nothing read from it is ambiguous.
        assert!(find_entries(&twice, "t", 20, &[b"other"]).is_ok());
        let good = tree(&[("100644", "a", 1)]);
        for bad in [
            &good[..good.len() - 1],
            b"100644 a".as_slice(),
            b"10x644 a\0aaaaaaaaaaaaaaaaaaaa".as_slice(),
            b" a\0aaaaaaaaaaaaaaaaaaaa".as_slice(),
            b"100644 \0aaaaaaaaaaaaaaaaaaaa".as_slice(),
        ] {
            assert!(find_entries(bad, "t", 20, &[b"a"]).is_err(), "{bad:?}");
        }
    }
}
