//! The backup file on the runner host: opened without following links, then checked for
//! type, size, links, modification time, mode, owner and content. Nothing here is ever
//! skipped: a runner that cannot see the backup directory gets its own reason.
//!
//! The path is opened the way a careful restore would: every directory from `/` down with
//! `openat(O_NOFOLLOW|O_DIRECTORY)` relative to the one above, then the file with
//! `openat(O_NOFOLLOW)` relative to the backup directory's descriptor. No name is resolved
//! twice, so no directory can be swapped for a link between a check and the open.

use super::deep::{self, Inspection, Options};
use super::reference::BackupRef;
use super::*;
use crate::model::backup_format::{Format, format_of};
use crate::policy::{BackupPolicy, Verify};
use crate::report::Code;
use crate::report::Reason;
use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags};
use rustix::io::Errno;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use time::OffsetDateTime;

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
        /// The number of hard links (absent in records of older builds: then refused).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        links: Option<u64>,
        /// The modification time, seconds since the epoch (absent in older records: refused).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mtime: Option<i64>,
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
    NoReader { extension: String },
    /// Read as its format (`verify`: `shallow` or `deep`).
    Readable {
        verify: String,
        sha256: String,
        detail: String,
    },
    Unreadable {
        extension: String,
        why: String,
        /// The reason code (`backup.artifact.format` when absent, as older records are).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
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
    observe_with(reference, policy, deep::inspect_with)
}

/// [`observe`], with the content read by `inspect` from the file opened here (the deep check,
/// or for `backup_before_apply` the verdict of the same check already run on this file while
/// it was written, which `inspect` must tie to this descriptor).
pub fn observe_with(
    reference: &BackupRef,
    policy: &BackupPolicy,
    inspect: impl FnOnce(&File, Format, &Options) -> Result<Inspection, deep::Refusal>,
) -> Observation {
    let root = Path::new(&policy.root);
    if reference.path != format!("{}/{}", policy.root, reference.file_name) {
        return refused(
            &ROOT_UNREADABLE,
            format!(
                "{} is not the file {} directly inside {}",
                reference.path, reference.file_name, policy.root
            ),
        );
    }
    let dir = match open_root(root, policy.owner_uid) {
        Ok(dir) => dir,
        Err((code, message)) => return refused(code, message),
    };
    let file = match open_file(&dir, reference) {
        Ok(f) => f,
        Err((code, message)) => return refused(code, message),
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
            Some(format) => match inspect(&file, format, &Options::from_policy(policy)) {
                Ok(Inspection { sha256, detail }) => Content::Readable {
                    verify: verify_name(policy.verify).into(),
                    sha256,
                    detail,
                },
                Err(refusal) => Content::Unreadable {
                    extension: reference.extension.clone(),
                    why: refusal.message,
                    code: Some(refusal.code.id.to_string()),
                },
            },
        }
    };
    Observation::File {
        path: reference.path.clone(),
        size: meta.len(),
        mode: meta.mode() & 0o7777,
        uid: meta.uid(),
        links: Some(meta.nlink()),
        mtime: Some(meta.mtime()),
        content,
    }
}

fn verify_name(verify: Verify) -> &'static str {
    match verify {
        Verify::Shallow => "shallow",
        Verify::Deep => "deep",
    }
}

/// Judge an observation against the policy. Returns the facts when every check passed;
/// otherwise pushes the reasons (every one that applies).
pub fn judge(
    observation: &Observation,
    reference: &BackupRef,
    policy: &BackupPolicy,
    out: &mut Vec<Reason>,
) -> Option<ArtifactFacts> {
    let (path, size, mode, uid, links, mtime, content) = match observation {
        Observation::Refused { code, message } => {
            // An unknown code (a record from another build) still refuses.
            let code = [
                &ROOT_UNREADABLE,
                &ROOT_UNSAFE,
                &ARTIFACT_MISSING,
                &SYMLINK,
                &NOT_REGULAR,
            ]
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
            links,
            mtime,
            content,
        } => (path, *size, *mode, *uid, *links, *mtime, content),
    };
    let before = out.len();
    match links {
        Some(1) => {}
        Some(n) => out.push(
            Reason::new(
                &HARD_LINK,
                format!(
                    "{path} has {n} hard links: another name can change it, so it is not the file the reference names"
                ),
            )
            .subject(SUBJECT),
        ),
        None => out.push(
            Reason::new(&HARD_LINK, format!("{path}: the record holds no link count"))
                .subject(SUBJECT),
        ),
    }
    check_mtime(path, mtime, reference, policy, out);
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
        Content::Readable {
            sha256,
            detail,
            verify,
        } => {
            if policy.verify == Verify::Deep && verify != "deep" {
                out.push(
                    Reason::new(
                        &FORMAT,
                        format!(
                            "{path} was read `{verify}`; the policy requires deep verification"
                        ),
                    )
                    .subject(SUBJECT),
                );
            }
            if out.len() > before {
                return None;
            }
            // Passing, but only the first header was read: say so on every decision, since
            // nothing then shows the backup complete (a dump cut half-way passes).
            if verify == "shallow" {
                out.push(
                    Reason::new(
                        &SHALLOW,
                        format!("{path} was read `shallow` (the policy's `backup.verify`): only its first header was checked, not that it is complete"),
                    )
                    .subject(SUBJECT),
                );
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
        Content::Unreadable {
            extension,
            why,
            code,
        } => {
            // An unknown code (a record from another build) is still a refusal.
            let code = deep::CODES
                .iter()
                .copied()
                .find(|c| Some(c.id) == code.as_deref())
                .unwrap_or(&FORMAT);
            out.push(
                Reason::new(
                    code,
                    format!("{path} is not a complete, readable .{extension} file: {why}"),
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

/// The modification time may not be older than the instant in the name (less the clock skew):
/// a backup cannot be written before it was taken, so an older file is an old backup renamed.
fn check_mtime(
    path: &str,
    mtime: Option<i64>,
    reference: &BackupRef,
    policy: &BackupPolicy,
    out: &mut Vec<Reason>,
) {
    let Some(mtime) = mtime else {
        out.push(
            Reason::new(
                &OLDER_THAN_NAME,
                format!("{path}: the record holds no modification time"),
            )
            .subject(SUBJECT),
        );
        return;
    };
    let named = reference.taken_at.unix_timestamp();
    let skew = i64::try_from(policy.max_future_skew_seconds).unwrap_or(i64::MAX);
    if mtime < named.saturating_sub(skew) {
        out.push(
            Reason::new(
                &OLDER_THAN_NAME,
                format!(
                    "{path} was last written at {}, before the instant in its name, {} (allowed skew {}s): an older backup under a fresh name",
                    rfc3339(mtime),
                    rfc3339(named),
                    policy.max_future_skew_seconds
                ),
            )
            .subject(SUBJECT),
        );
    }
}

fn rfc3339(seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{seconds} s since the epoch"))
}

type Refused = (&'static Code, String);

/// Open every directory from `/` down to the backup root, each relative to the one above,
/// never following a link; the root itself is opened for reading (it must be listable).
/// Each directory must be owned by root or the backup owner and writable by no one else
/// (unless sticky, as `/tmp` is): whoever can rename entries of a directory on the path can
/// swap the verified backup, or the directory holding it, right after the gate said yes.
fn open_root(root: &Path, owner_uid: u32) -> Result<OwnedFd, Refused> {
    let guarded = |dir: &OwnedFd, current: &Path| -> Result<(), Refused> {
        let st = rustix::fs::fstat(dir).map_err(|e| {
            (
                &ROOT_UNREADABLE,
                format!("cannot stat {}: {e}", current.display()),
            )
        })?;
        let mode = st.st_mode & 0o7777;
        if st.st_uid != 0 && st.st_uid != owner_uid {
            return Err((
                &ROOT_UNSAFE,
                format!(
                    "{} on the backup path is owned by uid {}, neither root nor the backup owner ({owner_uid})",
                    current.display(),
                    st.st_uid
                ),
            ));
        }
        if mode & 0o022 != 0 && mode & 0o1000 == 0 {
            return Err((
                &ROOT_UNSAFE,
                format!(
                    "{} on the backup path is writable by its group or by everyone (mode {mode:04o}) without the sticky bit",
                    current.display()
                ),
            ));
        }
        Ok(())
    };
    let unseen = |current: &Path, e: Errno| {
        (
            &ROOT_UNREADABLE,
            format!(
                "the runner cannot see the backup directory {} ({}: {e})",
                root.display(),
                current.display()
            ),
        )
    };
    let parts: Vec<_> = root.components().skip(1).collect();
    if parts.is_empty() {
        return Err((&ROOT_UNREADABLE, "the backup root is `/`".to_string()));
    }
    let mut dir = rustix::fs::openat(
        CWD,
        "/",
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| unseen(Path::new("/"), e))?;
    guarded(&dir, Path::new("/"))?;
    let mut current = std::path::PathBuf::from("/");
    for (i, part) in parts.iter().enumerate() {
        current.push(part);
        let access = if i + 1 == parts.len() {
            OFlags::RDONLY
        } else {
            OFlags::PATH
        };
        let flags = access | OFlags::NOFOLLOW | OFlags::DIRECTORY | OFlags::CLOEXEC;
        match rustix::fs::openat(&dir, part.as_os_str(), flags, Mode::empty()) {
            Ok(next) => {
                guarded(&next, &current)?;
                dir = next
            }
            Err(e) => {
                let what = rustix::fs::statat(&dir, part.as_os_str(), AtFlags::SYMLINK_NOFOLLOW)
                    .map(|st| FileType::from_raw_mode(st.st_mode));
                return Err(match what {
                    Ok(FileType::Symlink) => (
                        &SYMLINK,
                        format!(
                            "{} on the backup path is a symbolic link",
                            current.display()
                        ),
                    ),
                    Ok(t) if t != FileType::Directory => (
                        &ROOT_UNREADABLE,
                        format!(
                            "{} on the backup path is not a directory",
                            current.display()
                        ),
                    ),
                    _ if i + 1 == parts.len() && e != Errno::NOENT => (
                        &ROOT_UNREADABLE,
                        format!(
                            "the runner cannot read the backup directory {}: {e}",
                            root.display()
                        ),
                    ),
                    _ => unseen(&current, e),
                });
            }
        }
    }
    Ok(dir)
}

/// Open the backup file relative to the root's descriptor, never following a link.
/// O_NONBLOCK: a FIFO planted at the path must not hang the gate.
fn open_file(dir: &OwnedFd, reference: &BackupRef) -> Result<File, Refused> {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    match rustix::fs::openat(dir, reference.file_name.as_str(), flags, Mode::empty()) {
        Ok(fd) => Ok(File::from(fd)),
        Err(Errno::NOENT) => Err((&ARTIFACT_MISSING, format!("no file at {}", reference.path))),
        Err(e) => {
            let what =
                rustix::fs::statat(dir, reference.file_name.as_str(), AtFlags::SYMLINK_NOFOLLOW)
                    .map(|st| FileType::from_raw_mode(st.st_mode));
            Err(match what {
                Ok(FileType::Symlink) => {
                    (&SYMLINK, format!("{} is a symbolic link", reference.path))
                }
                Ok(t) if t != FileType::RegularFile => (
                    &NOT_REGULAR,
                    format!("{} is not a regular file", reference.path),
                ),
                _ => (
                    &ROOT_UNREADABLE,
                    format!("cannot open {}: {e}", reference.path),
                ),
            })
        }
    }
}
