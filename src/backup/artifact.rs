//! The backup file on the runner host: opened without following links, then checked for
//! type, size, mode, owner and content. Nothing here is ever skipped: a runner that cannot
//! see the backup directory gets its own reason.

use super::deep::{self, Inspection};
use super::format::format_of;
use super::reference::BackupRef;
use super::*;
use crate::policy::BackupPolicy;
use crate::report::Reason;
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

/// Check the artifact behind an already grammar-checked reference. Returns the facts when
/// every check passed; otherwise pushes the reasons.
pub fn check(
    reference: &BackupRef,
    policy: &BackupPolicy,
    out: &mut Vec<Reason>,
) -> Option<ArtifactFacts> {
    let root = Path::new(&policy.root);
    if let Err(reason) = check_root(root) {
        out.push(reason);
        return None;
    }
    let path = Path::new(&reference.path);
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            out.push(
                Reason::new(&ARTIFACT_MISSING, format!("no file at {}", reference.path))
                    .subject(SUBJECT),
            );
            return None;
        }
        Err(e) => {
            out.push(
                Reason::new(
                    &ROOT_UNREADABLE,
                    format!("cannot inspect {}: {e}", reference.path),
                )
                .subject(SUBJECT),
            );
            return None;
        }
        Ok(meta) if meta.file_type().is_symlink() => {
            out.push(
                Reason::new(&SYMLINK, format!("{} is a symbolic link", reference.path))
                    .subject(SUBJECT),
            );
            return None;
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
            out.push(
                Reason::new(code, format!("cannot open {}: {e}", reference.path)).subject(SUBJECT),
            );
            return None;
        }
    };
    // From here on, only the open descriptor is used: the file cannot be swapped under us.
    let meta = match file.metadata() {
        Ok(m) => m,
        Err(e) => {
            out.push(
                Reason::new(
                    &ROOT_UNREADABLE,
                    format!("cannot stat {}: {e}", reference.path),
                )
                .subject(SUBJECT),
            );
            return None;
        }
    };
    if !meta.is_file() {
        out.push(
            Reason::new(
                &NOT_REGULAR,
                format!("{} is not a regular file", reference.path),
            )
            .subject(SUBJECT),
        );
        return None;
    }
    let before = out.len();
    let mode = meta.mode() & 0o7777;
    if meta.len() == 0 {
        out.push(
            Reason::new(&EMPTY, format!("{} is empty (0 bytes)", reference.path)).subject(SUBJECT),
        );
    }
    if mode != policy.mode {
        out.push(
            Reason::new(
                &MODE,
                format!(
                    "{} has mode {mode:04o}; the policy requires exactly {:04o}",
                    reference.path, policy.mode
                ),
            )
            .subject(SUBJECT),
        );
    }
    if meta.uid() != policy.owner_uid {
        out.push(
            Reason::new(
                &OWNER,
                format!(
                    "{} is owned by uid {}; the policy requires uid {}",
                    reference.path,
                    meta.uid(),
                    policy.owner_uid
                ),
            )
            .subject(SUBJECT),
        );
    }
    if meta.len() == 0 {
        return None;
    }
    let Some(format) = format_of(&reference.extension) else {
        out.push(
            Reason::new(&FORMAT, format!("no reader for .{}", reference.extension))
                .subject(SUBJECT),
        );
        return None;
    };
    match deep::inspect(&file, format, policy.verify) {
        Ok(Inspection { sha256, detail }) => {
            if out.len() > before {
                return None;
            }
            Some(ArtifactFacts {
                sha256,
                size: meta.len(),
                mode,
                uid: meta.uid(),
                detail,
            })
        }
        Err(why) => {
            out.push(
                Reason::new(
                    &FORMAT,
                    format!(
                        "{} is not a readable .{} file: {why}",
                        reference.path, reference.extension
                    ),
                )
                .subject(SUBJECT),
            );
            None
        }
    }
}

/// Every directory from `/` down to the root must be a real, readable directory.
fn check_root(root: &Path) -> Result<(), Reason> {
    let mut current = std::path::PathBuf::from("/");
    for part in root.components().skip(1) {
        current.push(part);
        match std::fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(Reason::new(
                    &SYMLINK,
                    format!(
                        "{} on the backup path is a symbolic link",
                        current.display()
                    ),
                )
                .subject(SUBJECT));
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(Reason::new(
                    &ROOT_UNREADABLE,
                    format!(
                        "{} on the backup path is not a directory",
                        current.display()
                    ),
                )
                .subject(SUBJECT));
            }
            Err(e) => {
                return Err(Reason::new(
                    &ROOT_UNREADABLE,
                    format!(
                        "the runner cannot see the backup directory {} ({}: {e})",
                        root.display(),
                        current.display()
                    ),
                )
                .subject(SUBJECT));
            }
        }
    }
    std::fs::read_dir(root).map(|_| ()).map_err(|e| {
        Reason::new(
            &ROOT_UNREADABLE,
            format!(
                "the runner cannot read the backup directory {}: {e}",
                root.display()
            ),
        )
        .subject(SUBJECT)
    })
}

fn open_no_follow(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        // O_NONBLOCK: a FIFO planted at the path must not hang the gate.
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
}
