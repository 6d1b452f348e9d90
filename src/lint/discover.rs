//! Which files to lint: the arguments, or the repository's workflow folder found as Forgejo
//! finds it (the first existing of `.forgejo/workflows`, `.gitea/workflows`,
//! `.github/workflows`; only that one is used).
use crate::report::{GateError, general};
use std::path::{Path, PathBuf};

/// Forgejo's precedence.
pub const FOLDERS: &[&str] = &[
    ".forgejo/workflows",
    ".gitea/workflows",
    ".github/workflows",
];

#[derive(Debug, Clone, PartialEq)]
pub struct Discovery {
    pub files: Vec<PathBuf>,
    /// The workflow folder chosen when no path was given.
    pub folder: Option<String>,
}

/// `*.yml` and `*.yaml` directly in `dir`, sorted.
pub fn workflows_in(dir: &Path) -> Result<Vec<PathBuf>, GateError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| GateError::new(&general::IO, format!("cannot list {}: {e}", dir.display())))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| {
            GateError::new(&general::IO, format!("cannot list {}: {e}", dir.display()))
        })?;
        let path = entry.path();
        let is_yaml = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e == "yml" || e == "yaml");
        if is_yaml && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// The files to lint. Zero files is an error, never a pass.
pub fn discover(args: &[PathBuf], root: &Path) -> Result<Discovery, GateError> {
    let mut files = Vec::new();
    let mut folder = None;
    if args.is_empty() {
        let Some(found) = FOLDERS.iter().find(|f| root.join(f).is_dir()) else {
            return Err(GateError::new(
                &general::IO,
                format!(
                    "no workflow folder found under {} (looked for {}); pass files or folders to lint",
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
                Some(f) => format!("{f} holds no .yml or .yaml file: nothing was linted"),
                None => "the given folders hold no .yml or .yaml file: nothing was linted".into(),
            },
        ));
    }
    Ok(Discovery { files, folder })
}
