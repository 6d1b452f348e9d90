//! The backup file on the runner host: opened without following links, then checked for
//! type, size, mode, owner and content. Nothing here is ever skipped: a runner that cannot
//! see the backup directory gets its own reason.

use super::deep::{self, Inspection};
use super::format::format_of;
use super::reference::BackupRef;
use super::*;
use crate::policy::{BackupPolicy, Verify};
use crate::report::Code;
use crate::report::Reason;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

/// What was observed about the artifact, recorded in the decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactFacts {
    pub sha256: String,
    pub size: u64,
    pub mode: u32,
    pub uid: u32,
    pub detail: String,
}

const SUBJECT: &str = "backup_ref";

/// What was seen on the host when the artifact was examined: the facts a decision rests on,
/// kept apart from the judgement so that a recorded observation can be judged again
/// (`decision_log replay`) by the current rules and policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Observation {
    /// The file could not be examined: `code` is the artifact code that says why (the root
    /// is not visible, no file, a link, not a regular file).
    Refused { code: String, message: String },
    /// A regular file was opened (without following links) and examined.
    File {
        path: String,
        size: u64,
        mode: u32,
        uid: u32,
        content: Content,
    },
}

/// The format verdict on an opened file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case", deny_unknown_fields)]
pub enum Content {
    /// Not read: the file is empty.
    NotRead,
    /// The extension has no reader.
    NoReader {
        extension: String,
    },
    /// Read as its format (`verify`: `shallow` or `deep`).
    Readable {
        verify: String,
        sha256: String,
        detail: String,
    },
    Unreadable {
        extension: String,
        why: String,
    },
}

fn refused(code: &'static Code, message: String) -> Observation {
    Observation::Refused {
        code: code.id.into(),
        message,
    }
}

/// Look at the artifact on this host. Nothing is judged here except what stops the look.
pub fn observe(reference: &BackupRef, policy: &BackupPolicy) -> Observation {
    let root = Path::new(&policy.root);
    if let Err((code, message)) = check_root(root) {
        return refused(code, message);
    }
    let path = Path::new(&reference.path);
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return refused(&ARTIFACT_MISSING, format!("no file at {}", reference.path));
        }
        Err(e) => {
            return refused(
                &ROOT_UNREADABLE,
                format!("cannot inspect {}: {e}", reference.path),
            );
        }
        Ok(meta) if meta.file_type().is_symlink() => {
            return refused(&SYMLINK, format!("{} is a symbolic link", reference.path));
        }
        Ok(_) => {}
    }
    let file = match open_no_follow(path) {
        Ok(f) => f,
        Err(e) => {
            let code = if e.raw_os_error() == Some(libc::ELOOP) {
                &SYMLINK
            } else {
                &ROOT_UNREADABLE
            };
            return refused(code, format!("cannot open {}: {e}", reference.path));
        }
    };
    // From here on, only the open descriptor is used: the file cannot be swapped under us.
    let meta = match file.metadata() {
        Ok(m) => m,
        Err(e) => {
            return refused(
                &ROOT_UNREADABLE,
                format!("cannot stat {}: {e}", reference.path),
            );
        }
    };
    if !meta.is_file() {
        return refused(
            &NOT_REGULAR,
            format!("{} is not a regular file", reference.path),
        );
    }
    let content = if meta.len() == 0 {
        Content::NotRead
    } else {
        match format_of(&reference.extension) {
            None => Content::NoReader {
                extension: reference.extension.clone(),
            },
            Some(format) => match deep::inspect(&file, format, policy.verify) {
                Ok(Inspection { sha256, detail }) => Content::Readable {
                    verify: match policy.verify {
                        Verify::Shallow => "shallow",
                        Verify::Deep => "deep",
                    }
                    .into(),
                    sha256,
                    detail,
                },
                Err(why) => Content::Unreadable {
                    extension: reference.extension.clone(),
                    why,
                },
            },
        }
    };
    Observation::File {
        path: reference.path.clone(),
        size: meta.len(),
        mode: meta.mode() & 0o7777,
        uid: meta.uid(),
        content,
    }
}

/// Judge an observation against the policy. Returns the facts when every check passed;
/// otherwise pushes the reasons (every one that applies).
pub fn judge(
    observation: &Observation,
    policy: &BackupPolicy,
    out: &mut Vec<Reason>,
) -> Option<ArtifactFacts> {
    let (path, size, mode, uid, content) = match observation {
        Observation::Refused { code, message } => {
            // An unknown code (a record from another build) still refuses.
            let code = [&ROOT_UNREADABLE, &ARTIFACT_MISSING, &SYMLINK, &NOT_REGULAR]
                .into_iter()
                .find(|c| c.id == code)
                .unwrap_or(&ROOT_UNREADABLE);
            out.push(Reason::new(code, message.clone()).subject(SUBJECT));
            return None;
        }
        Observation::File {
            path,
            size,
            mode,
            uid,
            content,
        } => (path, *size, *mode, *uid, content),
    };
    let before = out.len();
    if size == 0 {
        out.push(Reason::new(&EMPTY, format!("{path} is empty (0 bytes)")).subject(SUBJECT));
    }
    if mode != policy.mode {
        out.push(
            Reason::new(
                &MODE,
                format!(
                    "{path} has mode {mode:04o}; the policy requires exactly {:04o}",
                    policy.mode
                ),
            )
            .subject(SUBJECT),
        );
    }
    if uid != policy.owner_uid {
        out.push(
            Reason::new(
                &OWNER,
                format!(
                    "{path} is owned by uid {uid}; the policy requires uid {}",
                    policy.owner_uid
                ),
            )
            .subject(SUBJECT),
        );
    }
    if size == 0 {
        return None;
    }
    match content {
        Content::Readable { sha256, detail, .. } => {
            if out.len() > before {
                return None;
            }
            Some(ArtifactFacts {
                sha256: sha256.clone(),
                size,
                mode,
                uid,
                detail: detail.clone(),
            })
        }
        Content::NoReader { extension } => {
            out.push(Reason::new(&FORMAT, format!("no reader for .{extension}")).subject(SUBJECT));
            None
        }
        Content::Unreadable { extension, why } => {
            out.push(
                Reason::new(
                    &FORMAT,
                    format!("{path} is not a readable .{extension} file: {why}"),
                )
                .subject(SUBJECT),
            );
            None
        }
        Content::NotRead => {
            out.push(
                Reason::new(&FORMAT, format!("{path} was not read as its format")).subject(SUBJECT),
            );
            None
        }
    }
}

/// Every directory from `/` down to the root must be a real, readable directory.
fn check_root(root: &Path) -> Result<(), (&'static Code, String)> {
    let mut current = std::path::PathBuf::from("/");
    for part in root.components().skip(1) {
        current.push(part);
        match std::fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err((
                    &SYMLINK,
                    format!(
                        "{} on the backup path is a symbolic link",
                        current.display()
                    ),
                ));
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err((
                    &ROOT_UNREADABLE,
                    format!(
                        "{} on the backup path is not a directory",
                        current.display()
                    ),
                ));
            }
            Err(e) => {
                return Err((
                    &ROOT_UNREADABLE,
                    format!(
                        "the runner cannot see the backup directory {} ({}: {e})",
                        root.display(),
                        current.display()
                    ),
                ));
            }
        }
    }
    std::fs::read_dir(root).map(|_| ()).map_err(|e| {
        (
            &ROOT_UNREADABLE,
            format!(
                "the runner cannot read the backup directory {}: {e}",
                root.display()
            ),
        )
    })
}

fn open_no_follow(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        // O_NONBLOCK: a FIFO planted at the path must not hang the gate.
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
}
