//! Which files to lint: the arguments, or the repository's workflow folder found as Forgejo
//! finds it.
//!
//! Forgejo (`modules/actions/workflows.go`, `ListWorkflows`) takes the first of
//! `.forgejo/workflows`, `.gitea/workflows`, `.github/workflows` that exists as a folder in the
//! commit's tree and uses only that one, "no matter whether it contains workflows or not". It
//! lists that folder recursively (`ListEntriesRecursiveFast`) and keeps every entry whose name
//! ends in `.yml` or `.yaml` (case-sensitive). A checkout differs from a git tree in three
//! ways this module accounts for: git keeps no empty folder (so a folder without any file
//! below it does not exist for Forgejo), git does not descend into submodules or nested
//! repositories, and a symbolic link is stored as its target's text (see
//! [`crate::lint::lint_path`]).
use crate::report::{GateError, general};
use std::path::{Path, PathBuf};

/// Forgejo's precedence.
pub const FOLDERS: &[&str] = &[
    ".forgejo/workflows",
    ".gitea/workflows",
    ".github/workflows",
];

/// Listing stops (exit 2) beyond this depth or entry count: a workflow folder is small, and
/// a bound keeps a hostile checkout (a symlink loop, a huge tree) from stalling the gate.
const MAX_DEPTH: usize = 32;
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, PartialEq)]
pub struct Discovery {
    pub files: Vec<PathBuf>,
    /// The workflow folder chosen when no path was given.
    pub folder: Option<String>,
}

/// True for a name Forgejo treats as a workflow: it ends in `.yml` or `.yaml`, exactly.
pub fn is_workflow_name(name: &std::ffi::OsStr) -> bool {
    let b = name.as_encoded_bytes();
    b.ends_with(b".yml") || b.ends_with(b".yaml")
}

fn io_error(path: &Path, e: &std::io::Error) -> GateError {
    GateError::new(&general::IO, format!("cannot list {}: {e}", path.display()))
}

/// True for a folder that holds a nested repository or a submodule (git records only the
/// commit it points to; Forgejo never lists inside it).
fn is_nested_repository(dir: &Path) -> bool {
    std::fs::symlink_metadata(dir.join(".git")).is_ok()
}

/// Every `*.yml` and `*.yaml` below `dir`, at any depth, as Forgejo lists its workflow
/// folder: sorted, symbolic links listed (not followed), folders named `*.yml` descended
/// into but not listed, nested repositories skipped.
pub fn workflows_in(dir: &Path) -> Result<Vec<PathBuf>, GateError> {
    let mut files = Vec::new();
    let mut todo = vec![(dir.to_path_buf(), 0usize)];
    let mut seen = 0usize;
    while let Some((folder, depth)) = todo.pop() {
        let entries = std::fs::read_dir(&folder).map_err(|e| io_error(&folder, &e))?;
        for entry in entries {
            let entry = entry.map_err(|e| io_error(&folder, &e))?;
            seen += 1;
            if seen > MAX_ENTRIES {
                return Err(GateError::new(
                    &general::TOO_LARGE,
                    format!(
                        "{} holds more than {MAX_ENTRIES} entries; that is not a workflow folder",
                        dir.display()
                    ),
                ));
            }
            let path = entry.path();
            let kind = entry.file_type().map_err(|e| io_error(&path, &e))?;
            if kind.is_dir() {
                if is_nested_repository(&path) {
                    continue;
                }
                if depth + 1 > MAX_DEPTH {
                    return Err(GateError::new(
                        &general::TOO_LARGE,
                        format!(
                            "{} is nested more than {MAX_DEPTH} folders deep below {}",
                            path.display(),
                            dir.display()
                        ),
                    ));
                }
                todo.push((path, depth + 1));
            } else if is_workflow_name(&entry.file_name()) {
                // Regular files, and symbolic links (git stores them as blobs too).
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// True when git would record `dir`: it holds at least one non-folder entry at some depth.
fn holds_a_file(dir: &Path) -> Result<bool, GateError> {
    let mut todo = vec![(dir.to_path_buf(), 0usize)];
    while let Some((folder, depth)) = todo.pop() {
        let entries = std::fs::read_dir(&folder).map_err(|e| io_error(&folder, &e))?;
        for entry in entries {
            let entry = entry.map_err(|e| io_error(&folder, &e))?;
            let kind = entry.file_type().map_err(|e| io_error(&entry.path(), &e))?;
            if !kind.is_dir() {
                return Ok(true);
            }
            if depth < MAX_DEPTH {
                todo.push((entry.path(), depth + 1));
            }
        }
    }
    Ok(false)
}

/// The workflow folder Forgejo would use under `root`, or `None`.
///
/// A candidate whose path runs through a symbolic link or a file is refused: git stores
/// such a path as a blob, and what Forgejo then does is not something to guess at.
pub fn workflow_folder(root: &Path) -> Result<Option<&'static str>, GateError> {
    for folder in FOLDERS {
        let mut path = root.to_path_buf();
        let mut present = true;
        for part in folder.split('/') {
            path.push(part);
            match std::fs::symlink_metadata(&path) {
                Ok(m) if m.is_dir() => {}
                Ok(m) => {
                    let what = if m.file_type().is_symlink() {
                        "a symbolic link"
                    } else {
                        "not a folder"
                    };
                    return Err(GateError::new(
                        &general::IO,
                        format!(
                            "{} is {what}: git stores it as a file, so Forgejo does not list workflows through it; make {folder} a real folder or remove it",
                            path.display()
                        ),
                    ));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    present = false;
                    break;
                }
                Err(e) => {
                    return Err(GateError::new(
                        &general::IO,
                        format!("cannot read {}: {e}", path.display()),
                    ));
                }
            }
        }
        if present && holds_a_file(&path)? {
            return Ok(Some(folder));
        }
    }
    Ok(None)
}

/// The files to lint. Zero files is an error, never a pass. Folders given as arguments are
/// listed like Forgejo lists its workflow folder (recursively).
pub fn discover(args: &[PathBuf], root: &Path) -> Result<Discovery, GateError> {
    let mut files = Vec::new();
    let mut folder = None;
    if args.is_empty() {
        let Some(found) = workflow_folder(root)? else {
            return Err(GateError::new(
                &general::IO,
                format!(
                    "no workflow folder found under {} (looked for {}; a folder without any file counts as absent, as git does not record it); pass files or folders to lint",
                    root.display(),
                    FOLDERS.join(", ")
                ),
            ));
        };
        let dir = if root == Path::new(".") {
            PathBuf::from(found)
        } else {
            root.join(found)
        };
        files = workflows_in(&dir)?;
        folder = Some(dir.display().to_string());
    } else {
        for arg in args {
            let meta = std::fs::metadata(arg).map_err(|e| {
                GateError::new(&general::IO, format!("cannot read {}: {e}", arg.display()))
            })?;
            if meta.is_dir() {
                files.extend(workflows_in(arg)?);
            } else {
                files.push(arg.clone());
            }
        }
    }
    if files.is_empty() {
        return Err(GateError::new(
            &crate::report::NOTHING_EVALUATED,
            match &folder {
                Some(f) => format!(
                    "{f} holds no .yml or .yaml file at any depth: nothing was linted (Forgejo uses this folder and runs nothing from the others)"
                ),
                None => "the given folders hold no .yml or .yaml file: nothing was linted".into(),
            },
        ));
    }
    Ok(Discovery { files, folder })
}
