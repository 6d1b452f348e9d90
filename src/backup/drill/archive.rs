//! The archive drill (filesystem, engine and the mount-archive fallback of every class, and
//! Vault snapshots): unpack into a scratch directory, safely, then count the restored files
//! and bytes and hash their listing.
//!
//! Safely means: every member's path stays inside the scratch directory (no absolute path, no
//! `..`), links are checked but never created (so nothing written later can go through one),
//! a link that would point outside is refused, device files and FIFOs are refused, and files
//! are written 0600 whatever mode the archive says. Only the restored tree is measured: the
//! manifest's numbers came from the archive, so a member that did not come back differs.

use super::Failure;
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

/// What came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    pub files: u64,
    pub bytes: u64,
    pub listing_sha256: String,
    /// Symbolic and hard links seen in the archive (checked, not created).
    pub links: u64,
}

/// Unpack the tar stream `tar` under `into` (an empty directory).
pub fn unpack(tar: &mut dyn Read, into: &Path) -> Result<u64, Failure> {
    let mut archive = tar::Archive::new(tar);
    let entries = archive
        .entries()
        .map_err(|e| Failure::Restore(format!("the archive cannot be read: {e}")))?;
    let mut links = 0u64;
    for entry in entries {
        let mut entry =
            entry.map_err(|e| Failure::Restore(format!("the archive cannot be read: {e}")))?;
        let raw = entry
            .path()
            .map_err(|e| Failure::Restore(format!("a member's name cannot be read: {e}")))?
            .into_owned();
        let shown = raw.display().to_string();
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() {
            continue;
        }
        let rel = inside(&raw).ok_or_else(|| {
            Failure::Unsafe(format!(
                "member {shown:?} has an absolute path or `..`: it would be written outside the restore directory"
            ))
        })?;
        if kind.is_dir() {
            if !rel.as_os_str().is_empty() {
                mkdirs(into, &rel)?;
            }
            continue;
        }
        if rel.as_os_str().is_empty() {
            return Err(Failure::Unsafe(format!(
                "member {shown:?} names the restore directory itself"
            )));
        }
        if kind.is_symlink() || kind.is_hard_link() {
            let target = entry
                .link_name()
                .map_err(|e| Failure::Restore(format!("link {shown:?} cannot be read: {e}")))?
                .ok_or_else(|| Failure::Restore(format!("link {shown:?} has no target")))?
                .into_owned();
            // A symbolic link resolves from its own directory; a hard link names a member.
            let base = if kind.is_symlink() {
                rel.parent().map(Path::to_path_buf).unwrap_or_default()
            } else {
                PathBuf::new()
            };
            if target.is_absolute() || inside(&base.join(&target)).is_none() {
                return Err(Failure::Unsafe(format!(
                    "link {shown:?} points at {:?}, outside the restore directory",
                    target.display().to_string()
                )));
            }
            links += 1;
            continue;
        }
        if kind.is_character_special() || kind.is_block_special() || kind.is_fifo() {
            return Err(Failure::Unsafe(format!(
                "member {shown:?} is a device file or FIFO; a data backup holds none"
            )));
        }
        if !(kind.is_file() || kind.is_contiguous() || kind.is_gnu_sparse()) {
            return Err(Failure::Unsafe(format!(
                "member {shown:?} has an unsupported type ({:?})",
                kind.as_byte() as char
            )));
        }
        if let Some(parent) = rel.parent()
            && !parent.as_os_str().is_empty()
        {
            mkdirs(into, parent)?;
        }
        let dest = into.join(&rel);
        // Never through a link (there are none: none is ever created), never with the
        // archive's mode bits; a later member of the same name replaces it, as tar does.
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&dest)
            .map_err(|e| Failure::Restore(format!("cannot restore {shown:?}: {e}")))?;
        std::io::copy(&mut entry, &mut out)
            .map_err(|e| Failure::Restore(format!("cannot restore {shown:?}: {e}")))?;
        out.flush()
            .map_err(|e| Failure::Restore(format!("cannot restore {shown:?}: {e}")))?;
    }
    Ok(links)
}

/// The path relative to the restore directory, or `None` when it would leave it.
fn inside(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

fn mkdirs(into: &Path, rel: &Path) -> Result<(), Failure> {
    let mut current = into.to_path_buf();
    for part in rel.components() {
        current.push(part);
        match std::fs::symlink_metadata(&current) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(Failure::Restore(format!(
                    "{:?} is both a file and a directory in the archive",
                    rel.display().to_string()
                )));
            }
            Err(_) => std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&current)
                .map_err(|e| {
                    Failure::Restore(format!("cannot create {}: {e}", current.display()))
                })?,
        }
    }
    Ok(())
}

/// Files, bytes and the listing digest of the restored tree: `<path>\t<size>\n` for every
/// regular file, paths relative and `/`-separated, sorted by path (bytewise), hashed.
pub fn measure(root: &Path, links: u64) -> Result<Restored, Failure> {
    let mut lines: Vec<(Vec<u8>, u64)> = Vec::new();
    walk(root, Path::new(""), &mut lines)?;
    let mut bytes = 0u64;
    for (_, size) in &lines {
        bytes = bytes
            .checked_add(*size)
            .ok_or_else(|| Failure::Restore("the restored size overflows".into()))?;
    }
    let listing_sha256 = crate::backup::evidence::listing_sha256(&mut lines);
    Ok(Restored {
        files: lines.len() as u64,
        bytes,
        listing_sha256,
        links,
    })
}

fn walk(root: &Path, rel: &Path, out: &mut Vec<(Vec<u8>, u64)>) -> Result<(), Failure> {
    use std::os::unix::ffi::OsStrExt;
    let dir = root.join(rel);
    let entries = std::fs::read_dir(&dir)
        .map_err(|e| Failure::Restore(format!("cannot list {}: {e}", dir.display())))?;
    for entry in entries {
        let entry = entry.map_err(|e| Failure::Restore(e.to_string()))?;
        let meta = entry
            .metadata()
            .map_err(|e| Failure::Restore(e.to_string()))?;
        let path = rel.join(entry.file_name());
        if meta.is_dir() {
            walk(root, &path, out)?;
        } else if meta.is_file() {
            out.push((path.as_os_str().as_bytes().to_vec(), meta.len()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_leave_the_directory_are_refused() {
        for bad in ["/etc/passwd", "../x", "a/../../x", "./../x"] {
            assert_eq!(inside(Path::new(bad)), None, "{bad}");
        }
        assert_eq!(inside(Path::new("./a/b")), Some(PathBuf::from("a/b")));
        assert_eq!(inside(Path::new("a/../b")), Some(PathBuf::from("b")));
    }
}
