//! git read as git stores it, for the gates that read a pull request's commits: one command
//! builder whose answers do not depend on the repository's configuration ([`command`]), and
//! the manifests of chosen modules at a commit, read with one `git cat-file` ([`read_at_commit`]).
//!
//! The reason code of a git failure is the caller's (each gate reports its own), passed in.

use crate::model::manifest::MAX_MANIFEST_BYTES;
use crate::model::{MANIFEST_INVALID, MANIFEST_MISSING};
use crate::report::{Code, GateError, general};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// A git command in `dir` whose answers do not depend on the repository's configuration, its
/// attributes or the runner's environment: what a diff lists and what an object holds is
/// what git stores. No pager, paths unquoted, replace refs ignored (`--no-replace-objects`:
/// `refs/replace/*` would show another commit or tree under a name), `diff.relative` and
/// `diff.ignoreSubmodules` off (the diff itself also says `--ignore-submodules=none`, which
/// overrides every `submodule.<name>.ignore`, the pull request's own `.gitmodules` included),
/// and the variables that would point git at another repository, index or diff program
/// removed.
pub fn command(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(dir).args([
        "--no-pager",
        "--no-replace-objects",
        "-c",
        "core.quotepath=off",
        "-c",
        "diff.relative=false",
        "-c",
        "diff.ignoreSubmodules=none",
    ]);
    for var in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_EXTERNAL_DIFF",
        "GIT_DIFF_OPTS",
        "GIT_NAMESPACE",
        "GIT_REPLACE_REF_BASE",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_NO_REPLACE_OBJECTS", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn git(repo: &Path) -> Command {
    command(repo)
}

/// The largest commit or tree object read on the way to the manifests (a tree of 3,000
/// modules is about 100 KiB).
const MAX_OBJECT_BYTES: u64 = 32 * 1024 * 1024;

/// Run git in `dir` ([`command`]) with `args`, reading at most `limit` bytes of its output;
/// returns whether it succeeded, its output and the start of what it said on its error
/// stream. A git that cannot be run or waited for is an error with `code`.
pub fn run(
    dir: &Path,
    args: &[&str],
    limit: u64,
    code: &'static Code,
) -> Result<(bool, Vec<u8>, String), GateError> {
    let mut child = command(dir)
        .args(args)
        .spawn()
        .map_err(|e| GateError::new(code, format!("cannot run git: {e}")))?;
    let stdout = match child.stdout.take() {
        Some(s) => crate::input::read_stream(s, limit, "git output", "git"),
        None => Err(GateError::new(code, "git produced no output stream")),
    };
    let mut err = String::new();
    if let Some(s) = child.stderr.take() {
        let _ = s.take(8192).read_to_string(&mut err);
    }
    let status = child
        .wait()
        .map_err(|e| GateError::new(code, format!("git did not finish: {e}")))?;
    let stdout = stdout?;
    Ok((status.success(), stdout, err.trim().to_string()))
}

/// The names of the entries of `<modules_dir>/` at the commit `rev` (`git ls-tree`, the
/// folder's own entries, whatever their kind); none when the commit has no such folder.
pub fn module_names_at(
    repo: &Path,
    rev: &str,
    modules_dir: &str,
    code: &'static Code,
) -> Result<BTreeSet<String>, GateError> {
    check_revision(rev)?;
    let commit = format!("{rev}^{{commit}}");
    let folder = format!("{modules_dir}/");
    let (ok, out, err) = run(
        repo,
        &["ls-tree", "-z", "--full-tree", &commit, "--", &folder],
        MAX_OBJECT_BYTES,
        code,
    )?;
    if !ok {
        return Err(GateError::new(
            code,
            format!(
                "git ls-tree {commit} failed{}: the modules of the base cannot be listed; check out with fetch-depth: 0",
                if err.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", crate::render::text::clean(&err))
                }
            ),
        ));
    }
    let mut names = BTreeSet::new();
    for record in out.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let path = record
            .iter()
            .position(|b| *b == b'\t')
            .map(|tab| &record[tab + 1..])
            .ok_or_else(|| GateError::new(code, "git ls-tree wrote a line without a path"))?;
        let path = std::str::from_utf8(path)
            .map_err(|_| GateError::new(code, "git ls-tree wrote a path that is not UTF-8"))?;
        if let Some(name) = path.strip_prefix(&folder) {
            names.insert(name.to_string());
        }
    }
    Ok(names)
}

/// The names of the entries of the folder `dir` in the working tree (none when it does not
/// exist).
pub fn module_names_in(dir: &Path) -> Result<BTreeSet<String>, GateError> {
    let io = |e: std::io::Error| {
        GateError::new(&general::IO, format!("cannot list {}: {e}", dir.display()))
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
        Err(e) => return Err(io(e)),
    };
    let mut names = BTreeSet::new();
    for entry in entries {
        let entry = entry.map_err(io)?;
        if let Some(name) = entry.file_name().to_str() {
            names.insert(name.to_string());
        }
    }
    Ok(names)
}

/// Whether `rev` names a commit in the checkout at `repo` (false when it does not, or when
/// `repo` is no checkout or git cannot run).
pub fn has_commit(repo: &Path, rev: &str) -> bool {
    if check_revision(rev).is_err() {
        return false;
    }
    let commit = format!("{rev}^{{commit}}");
    matches!(
        run(repo, &["cat-file", "-e", &commit], 4096, &general::IO),
        Ok((true, _, _))
    )
}

/// The symbolic links under `<modules_dir>/` at the commit `rev`, each as `(its path, its
/// target)`: `git ls-tree -r` lists them (mode 120000; git never descends into a link or a
/// submodule), one `git cat-file` reads their targets. A target that is not UTF-8 is an error.
pub fn links_at(
    repo: &Path,
    rev: &str,
    modules_dir: &str,
    code: &'static Code,
) -> Result<Vec<(String, String)>, GateError> {
    check_revision(rev)?;
    let commit = format!("{rev}^{{commit}}");
    let folder = format!("{modules_dir}/");
    let (ok, out, err) = run(
        repo,
        &["ls-tree", "-r", "-z", "--full-tree", &commit, "--", &folder],
        MAX_OBJECT_BYTES,
        code,
    )?;
    if !ok {
        return Err(GateError::new(
            code,
            format!(
                "git ls-tree -r {commit} failed: {}",
                crate::render::text::clean(&err)
            ),
        ));
    }
    let mut paths: Vec<String> = Vec::new();
    let mut oids: Vec<String> = Vec::new();
    for record in out.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let text = std::str::from_utf8(record)
            .map_err(|_| GateError::new(code, "git ls-tree wrote a path that is not UTF-8"))?;
        let Some((meta, path)) = text.split_once('\t') else {
            return Err(GateError::new(
                code,
                "git ls-tree wrote a line without a path",
            ));
        };
        let mut fields = meta.split(' ');
        let (Some(mode), Some(_), Some(oid)) = (fields.next(), fields.next(), fields.next()) else {
            return Err(GateError::new(code, "git ls-tree wrote a malformed line"));
        };
        if mode == "120000" {
            paths.push(path.to_string());
            oids.push(oid.to_string());
        }
    }
    if oids.is_empty() {
        return Ok(Vec::new());
    }
    let mut targets: Vec<String> = vec![String::new(); oids.len()];
    let names: Vec<&str> = oids.iter().map(String::as_str).collect();
    let mut git = CatFile::start(repo, Protocol::Names, code)?;
    git.ask_each(&names, "blob", 4096, &mut |n, blob| {
        targets[n] = String::from_utf8(blob.data).map_err(|_| {
            GateError::new(
                code,
                format!(
                    "{commit}:{}: a symbolic link whose target is not UTF-8 cannot be resolved",
                    paths[n]
                ),
            )
        })?;
        Ok(())
    })?;
    git.finish()?;
    Ok(paths.into_iter().zip(targets).collect())
}

/// The symbolic links under `<root>/<modules_dir>/` in the working tree, as
/// [`links_at`] gives them (paths relative to `root`); a link is never followed.
pub fn links_in(root: &Path, modules_dir: &str) -> Result<Vec<(String, String)>, GateError> {
    let io = |p: &Path, e: std::io::Error| {
        GateError::new(&general::IO, format!("cannot read {}: {e}", p.display()))
    };
    let mut out = Vec::new();
    let mut pending: Vec<String> = vec![modules_dir.to_string()];
    while let Some(rel) = pending.pop() {
        let dir = root.join(&rel);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && rel == modules_dir => {
                return Ok(out);
            }
            Err(e) => return Err(io(&dir, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| io(&dir, e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                return Err(GateError::new(
                    &general::IO,
                    format!("{}: a name that is not UTF-8", dir.display()),
                ));
            };
            let path = format!("{rel}/{name}");
            let kind = entry.file_type().map_err(|e| io(&entry.path(), e))?;
            if kind.is_symlink() {
                let target = std::fs::read_link(entry.path()).map_err(|e| io(&entry.path(), e))?;
                let Some(target) = target.to_str() else {
                    return Err(GateError::new(
                        &general::IO,
                        format!(
                            "{path}: a symbolic link whose target is not UTF-8 cannot be resolved"
                        ),
                    ));
                };
                out.push((path, target.to_string()));
            } else if kind.is_dir() && name != ".git" {
                pending.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

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
pub fn read_at_commit(
    repo: &Path,
    rev: &str,
    modules_dir: &str,
    ids: &[&str],
    code: &'static Code,
    each: &mut EachBlob,
) -> Result<String, GateError> {
    check_revision(rev)?;
    let not_a_commit = |why: &str| {
        GateError::new(
            code,
            format!(
                "`{}` is not a commit in the checkout at {}{why}, so the touched modules' classes cannot be read there; check out with fetch-depth: 0 (and pass --repo-dir)",
                rev.escape_debug(),
                repo.display()
            ),
        )
    };
    let mut git = CatFile::start(repo, Protocol::Commands, code)?;
    let commit_name = format!("{rev}^{{commit}}");
    let mut asked = git.ask(&commit_name, MAX_OBJECT_BYTES);
    if asked.is_err() && git.refused_the_options() {
        // A git older than 2.36 has no `--batch-command`: the same reading, one object at a
        // time.
        git = CatFile::start(repo, Protocol::Names, code)?;
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
    let failed = |m: String| GateError::new(code, m);
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
        match find_entries(&tree.data, &folder, oid_len, &[name.as_bytes()], code)?.pop() {
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
    let module_folders = find_entries(&modules.data, &folder, oid_len, &wanted, code)?;
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
        match find_entries(&tree.data, oid, oid_len, &[b"module.yaml"], code)?.pop() {
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
/// `what` names where it came from in the message (`--git-diff`), or is empty.
pub fn check_revision_named(rev: &str, what: &str) -> Result<(), GateError> {
    if rev.is_empty()
        || rev.starts_with('-')
        || rev.len() > 256
        || rev.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        let shown = rev.chars().take(80).collect::<String>();
        let prefix = if what.is_empty() {
            String::new()
        } else {
            format!("{what} ")
        };
        return Err(GateError::new(
            &general::USAGE,
            format!("{prefix}`{}` is not a git revision", shown.escape_debug()),
        ));
    }
    Ok(())
}

fn check_revision(rev: &str) -> Result<(), GateError> {
    check_revision_named(rev, "")
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
    code: &'static Code,
) -> Result<Vec<Option<Entry>>, GateError> {
    let malformed = |why: &str| GateError::new(code, format!("git tree {tree}: {why}"));
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
    /// The reason code of a failure.
    code: &'static Code,
}

impl CatFile {
    fn start(repo: &Path, protocol: Protocol, code: &'static Code) -> Result<CatFile, GateError> {
        let failed = |m: String| GateError::new(code, m);
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
                code,
            }),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                Err(failed("git produced no output stream".into()))
            }
        }
    }

    fn stdin(&mut self) -> Result<&mut ChildStdin, GateError> {
        let code = self.code;
        self.stdin
            .as_mut()
            .ok_or_else(|| GateError::new(code, "git cat-file's input is closed"))
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
        let code = self.code;
        let line = self.request(&[name]);
        self.stdin()?
            .write_all(line.as_bytes())
            .map_err(|e| GateError::new(code, format!("writing to git cat-file: {e}")))?;
        read_object(&mut self.stdout, name, limit, code)
    }

    /// A tree that must exist.
    fn ask_tree(&mut self, oid: &str) -> Result<Object, GateError> {
        let code = self.code;
        match self.ask(oid, MAX_OBJECT_BYTES)? {
            Some(o) if o.kind == "tree" => Ok(o),
            Some(o) => Err(GateError::new(
                code,
                format!("{oid} is a {}, not a folder", o.kind),
            )),
            None => Err(missing(oid, code)),
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
        let code = self.code;
        let input = self.request(oids);
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| GateError::new(code, "git cat-file's input is closed"))?;
        let (stdout, child) = (&mut self.stdout, &mut self.child);
        std::thread::scope(|scope| {
            let writer = scope.spawn(move || stdin.write_all(input.as_bytes()));
            let mut result = Ok(());
            for (n, oid) in oids.iter().enumerate() {
                result = match read_object(stdout, oid, limit, code) {
                    Ok(Some(o)) if o.kind == kind => each(n, o),
                    Ok(Some(o)) => Err(GateError::new(
                        &MANIFEST_INVALID,
                        format!("{oid} is a {}, not a {kind}", o.kind),
                    )),
                    Ok(None) => Err(missing(oid, code)),
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
                _ => Err(GateError::new(code, "writing to git cat-file failed")),
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
        let code = self.code;
        self.stdin = None;
        let status = self
            .child
            .wait()
            .map_err(|e| GateError::new(code, format!("git did not finish: {e}")))?;
        if status.success() {
            Ok(())
        } else {
            Err(GateError::new(
                code,
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

fn missing(oid: &str, code: &'static Code) -> GateError {
    GateError::new(
        code,
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
    code: &'static Code,
) -> Result<Option<Object>, GateError> {
    let failed = |m: String| GateError::new(code, m);
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
            .map(|a| {
                read_object(&mut out, a, MAX_MANIFEST_BYTES, &general::IO)
                    .map(|o| o.map(|o| o.data))
            })
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
        let found = find_entries(&t, "t", 20, &names, &general::IO).unwrap();
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
        let found = find_entries(&t256, "t", 32, &[b"module.yaml"], &general::IO).unwrap();
        assert_eq!(found[0].as_ref().unwrap().oid, "ab".repeat(32));
    }

    #[test]
    fn a_malformed_tree_or_a_name_twice_is_an_error() {
        let twice = tree(&[("100644", "module.yaml", 1), ("100644", "module.yaml", 2)]);
        let e = find_entries(&twice, "t", 20, &[b"module.yaml"], &general::IO).unwrap_err();
        assert!(
            e.message.contains("two entries named `module.yaml`"),
            "{}",
            e.message
        );
        // Twice, but not a name asked for: nothing read from it is ambiguous.
        assert!(find_entries(&twice, "t", 20, &[b"other"], &general::IO).is_ok());
        let good = tree(&[("100644", "a", 1)]);
        for bad in [
            &good[..good.len() - 1],
            b"100644 a".as_slice(),
            b"10x644 a\0aaaaaaaaaaaaaaaaaaaa".as_slice(),
            b" a\0aaaaaaaaaaaaaaaaaaaa".as_slice(),
            b"100644 \0aaaaaaaaaaaaaaaaaaaa".as_slice(),
        ] {
            assert!(
                find_entries(bad, "t", 20, &[b"a"], &general::IO).is_err(),
                "{bad:?}"
            );
        }
    }
}
