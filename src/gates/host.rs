//! What the dispatch gates look at on the runner host: module manifests, restore runbooks and
//! the backup artifact. The gates ask a [`Host`]; the live host reads the filesystem and keeps
//! a copy of everything it saw ([`Observed`]), which `--record` embeds in the log line, and
//! the recorded host answers from such a copy, so `decision_log replay` can run today's checks
//! on what an old decision was made from.

use crate::backup::artifact::{self, Observation};
use crate::backup::reference::BackupRef;
use crate::model::{Manifest, ModuleId, manifest};
use crate::policy::BackupPolicy;
use crate::report::{GateError, general};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

pub trait Host {
    /// The manifest of module `id` under `modules_dir`, read and checked.
    fn manifest(&self, modules_dir: &Path, id: &ModuleId) -> Result<Manifest, GateError>;
    /// Whether `base/relative` is a regular file reached without a link: no component of
    /// `relative` may be a symlink (a linked directory could lead out of the repository), and
    /// every one must be a plain name (no `..`, no root).
    fn is_file(&self, base: &Path, relative: &Path) -> bool;
    /// What the backup artifact behind `reference` looks like.
    fn backup(&self, reference: &BackupRef, policy: &BackupPolicy) -> Observation;
    /// A record beside a backup (`<backup>.manifest.json`, `<backup>.drill.json`, or an
    /// older backup's manifest), read without following links.
    fn beside(&self, path: &Path) -> Beside;
    /// The file names directly in the backup root (for the previous backup's manifest).
    fn list_root(&self, root: &Path) -> Result<Vec<String>, String>;
}

/// A record beside a backup, as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Beside {
    Absent,
    Present {
        text: String,
    },
    /// A link, not a regular file, too large, not UTF-8, or not readable.
    Unreadable {
        why: String,
    },
}

/// A manifest read, as recorded: its text, or why it could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestRead {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The error's code and message when the file could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<(String, String)>,
}

/// Everything the gates saw on the host, keyed by path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Observed {
    #[serde(default)]
    pub manifests: BTreeMap<String, ManifestRead>,
    #[serde(default)]
    pub files: BTreeMap<String, bool>,
    #[serde(default)]
    pub backups: BTreeMap<String, Observation>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub beside: BTreeMap<String, Beside>,
    /// Backup root → its file names, or why it could not be listed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub listings: BTreeMap<String, Result<Vec<String>, String>>,
}

/// The real filesystem, remembering what it read.
#[derive(Debug, Default)]
pub struct LiveHost {
    seen: Mutex<Observed>,
    /// Manifests already read and parsed, by path: several checks ask for the same module's
    /// (a sidecar's parent for its restore path and for its backup binding), and a decision
    /// reads each file once, so every check sees the same text.
    parsed: Mutex<BTreeMap<String, Result<Manifest, GateError>>>,
}

impl LiveHost {
    pub fn new() -> LiveHost {
        LiveHost::default()
    }

    /// What was seen so far.
    pub fn observed(&self) -> Observed {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Read and parse a manifest, noting what was read.
    fn read_manifest(
        &self,
        modules_dir: &Path,
        id: &ModuleId,
        key: &str,
    ) -> Result<Manifest, GateError> {
        let key = key.to_string();
        match manifest::read(modules_dir, id) {
            Ok(text) => {
                let parsed = manifest::from_text(&text, modules_dir, id);
                self.note(|s| {
                    s.manifests.insert(
                        key,
                        ManifestRead {
                            text: Some(text),
                            error: None,
                        },
                    );
                });
                parsed
            }
            Err(e) => {
                self.note(|s| {
                    s.manifests.insert(
                        key,
                        ManifestRead {
                            text: None,
                            error: Some((e.code.id.to_string(), e.message.clone())),
                        },
                    );
                });
                Err(e)
            }
        }
    }

    fn note(&self, f: impl FnOnce(&mut Observed)) {
        if let Ok(mut seen) = self.seen.lock() {
            f(&mut seen);
        }
    }
}

impl Host for LiveHost {
    fn manifest(&self, modules_dir: &Path, id: &ModuleId) -> Result<Manifest, GateError> {
        let key = manifest::path_for(modules_dir, id).display().to_string();
        if let Some(done) = self.parsed.lock().ok().and_then(|p| p.get(&key).cloned()) {
            return done;
        }
        let result = self.read_manifest(modules_dir, id, &key);
        if let Ok(mut parsed) = self.parsed.lock() {
            parsed.insert(key, result.clone());
        }
        result
    }

    fn is_file(&self, base: &Path, relative: &Path) -> bool {
        let path = base.join(relative);
        let is_file = file_without_links(base, relative);
        self.note(|s| {
            s.files.insert(path.display().to_string(), is_file);
        });
        is_file
    }

    fn backup(&self, reference: &BackupRef, policy: &BackupPolicy) -> Observation {
        let observation = artifact::observe(reference, policy);
        self.note(|s| {
            s.backups
                .insert(reference.path.clone(), observation.clone());
        });
        observation
    }

    fn beside(&self, path: &Path) -> Beside {
        let seen = match crate::backup::evidence::read_beside(path) {
            Ok(None) => Beside::Absent,
            Ok(Some(bytes)) => match String::from_utf8(bytes) {
                Ok(text) => Beside::Present { text },
                Err(_) => Beside::Unreadable {
                    why: format!("{} is not UTF-8", path.display()),
                },
            },
            Err(why) => Beside::Unreadable { why },
        };
        self.note(|s| {
            s.beside.insert(path.display().to_string(), seen.clone());
        });
        seen
    }

    fn list_root(&self, root: &Path) -> Result<Vec<String>, String> {
        let listed = std::fs::read_dir(root)
            .and_then(|entries| {
                entries
                    .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
                    .collect::<Result<Vec<_>, _>>()
            })
            .map(|mut names| {
                names.sort();
                names
            })
            .map_err(|e| format!("cannot list {}: {e}", root.display()));
        self.note(|s| {
            s.listings
                .insert(root.display().to_string(), listed.clone());
        });
        listed
    }
}

/// Answers from a recording. Anything the recording does not hold is refused, never guessed:
/// a manifest it lacks is an error, a file it lacks does not exist, a backup it lacks is
/// unreadable.
#[derive(Debug, Clone)]
pub struct RecordedHost {
    pub observed: Observed,
}

impl Host for RecordedHost {
    fn manifest(&self, modules_dir: &Path, id: &ModuleId) -> Result<Manifest, GateError> {
        let key = manifest::path_for(modules_dir, id).display().to_string();
        match self.observed.manifests.get(&key) {
            Some(ManifestRead {
                text: Some(text), ..
            }) => manifest::from_text(text, modules_dir, id),
            Some(ManifestRead {
                error: Some((code, message)),
                ..
            }) => {
                // A manifest read fails with a general code or a model code, nothing else.
                let code = crate::report::code::GENERAL
                    .iter()
                    .chain(crate::model::CODES)
                    .copied()
                    .find(|c| c.id == code)
                    .unwrap_or(&crate::model::MANIFEST_MISSING);
                Err(GateError::new(code, message.clone()))
            }
            _ => Err(GateError::new(
                &general::IO,
                format!("the record holds no copy of {key}, which this build reads"),
            )),
        }
    }

    fn is_file(&self, base: &Path, relative: &Path) -> bool {
        self.observed
            .files
            .get(&base.join(relative).display().to_string())
            .copied()
            .unwrap_or(false)
    }

    fn backup(&self, reference: &BackupRef, _policy: &BackupPolicy) -> Observation {
        match self.observed.backups.get(&reference.path) {
            Some(o) => o.clone(),
            None => Observation::Refused {
                code: crate::backup::ROOT_UNREADABLE.id.into(),
                message: format!(
                    "the record holds no observation of {}, which this build examines",
                    reference.path
                ),
            },
        }
    }

    fn beside(&self, path: &Path) -> Beside {
        self.observed
            .beside
            .get(&path.display().to_string())
            .cloned()
            .unwrap_or_else(|| Beside::Unreadable {
                why: format!(
                    "the record holds no copy of {}, which this build reads",
                    path.display()
                ),
            })
    }

    fn list_root(&self, root: &Path) -> Result<Vec<String>, String> {
        self.observed
            .listings
            .get(&root.display().to_string())
            .cloned()
            .unwrap_or_else(|| {
                Err(format!(
                    "the record holds no listing of {}, which this build reads",
                    root.display()
                ))
            })
    }
}

/// `lstat` every component of `relative` under `base`: directories on the way, a regular file
/// at the end, and no symlink anywhere.
fn file_without_links(base: &Path, relative: &Path) -> bool {
    use std::path::Component;
    let parts: Vec<_> = relative.components().collect();
    if parts.is_empty() || !parts.iter().all(|c| matches!(c, Component::Normal(_))) {
        return false;
    }
    let mut path = base.to_path_buf();
    for (i, part) in parts.iter().enumerate() {
        path.push(part);
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            return false;
        };
        let last = i + 1 == parts.len();
        if (last && !meta.is_file()) || (!last && !meta.is_dir()) {
            return false;
        }
    }
    true
}
