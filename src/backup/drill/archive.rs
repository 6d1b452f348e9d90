//! The archive drill (filesystem, engine and the mount-archive fallback of every class, and
//! Vault snapshots): unpack into a scratch directory, safely, then count the restored files
//! and bytes and hash their listing.
//!
//! The members are read by the gates' own tar walk (`deep::tar`), so the drill restores the
//! very member list the deep verification accepted: a second reader (the `tar` crate, used
//! before) read some archives differently and safety-checked another list than a real restore
//! produces.
//!
//! Safely means: every member's path stays inside the scratch directory (no absolute path, no
//! `..`), symbolic links are checked but never created (so nothing written later can go
//! through one), a hard link is made only to an earlier regular file, a link that would point
//! outside is refused, device files and FIFOs are refused, and files are written 0600
//! whatever mode the archive says. And every reader must restore the same
//! tree: a path that occurs twice (whatever the types: readers differ on which one wins), a
//! member whose path goes through a link member or that a link member's path is a prefix of,
//! a hard link whose target is not an earlier regular file, and a symbolic link whose target
//! goes through another link member are refused. Only the restored tree is measured: the
//! manifest's numbers came from the archive, so a member that did not come back differs.

use super::Failure;
use crate::backup::deep::Refusal;
use crate::backup::deep::tar::{self, Entry, Kind, Visitor};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

/// What came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    pub files: u64,
    pub bytes: u64,
    pub listing_sha256: String,
    /// Symbolic and hard links seen in the archive (symbolic ones checked, not created; hard
    /// ones made, so their files count as a restore has them).
    pub links: u64,
}

/// Link members are held in memory to check later members against them: at most this many.
pub const MAX_LINKS: usize = 100_000;
/// ... and at most this many bytes of their paths and targets.
pub const MAX_LINK_BYTES: usize = 64 * 1024 * 1024;
/// The data buffer of the walk.
const CHUNK: usize = 64 * 1024;

/// Unpack the tar stream `tar` under `into` (an empty directory); the number of link members.
pub fn unpack(tar: &mut dyn Read, into: &Path) -> Result<u64, Failure> {
    let mut unpack = Unpack {
        into,
        links: HashMap::new(),
        link_bytes: 0,
        out: None,
        failure: None,
    };
    let walked = tar::walk(&mut { tar }, true, CHUNK, &mut unpack);
    // The visitor's own failure first: the walk only stopped for it.
    if let Some(f) = unpack.failure.take() {
        return Err(f);
    }
    // The gates' deep check read the same walk before: a refusal now means other bytes.
    walked.map_err(|r| Failure::Unreadable(format!("the archive cannot be read: {r}")))?;
    unpack.check_symlinks()?;
    Ok(unpack.links.len() as u64)
}

struct Unpack<'a> {
    into: &'a Path,
    /// Every link member's normalized path, with a symbolic link's target (a hard link's is
    /// an earlier file, already checked).
    links: HashMap<Vec<u8>, Option<Vec<u8>>>,
    link_bytes: usize,
    /// The regular file being written, and its name for messages.
    out: Option<(std::fs::File, String)>,
    failure: Option<Failure>,
}

impl Visitor for Unpack<'_> {
    fn entry(&mut self, entry: &Entry) -> Result<(), Refusal> {
        let done = self.member(entry);
        self.stop(done)
    }

    fn data(&mut self, chunk: &[u8]) -> Result<(), Refusal> {
        let done = match &mut self.out {
            Some((out, shown)) => out
                .write_all(chunk)
                .map_err(|e| Failure::Restore(format!("cannot restore {shown:?}: {e}"))),
            None => Ok(()),
        };
        self.stop(done)
    }

    fn end_entry(&mut self) -> Result<(), Refusal> {
        let done = match self.out.take() {
            Some((mut out, shown)) => out
                .flush()
                .map_err(|e| Failure::Restore(format!("cannot restore {shown:?}: {e}"))),
            None => Ok(()),
        };
        self.stop(done)
    }
}

impl Unpack<'_> {
    /// Keep the drill's failure, and stop the walk with it.
    fn stop(&mut self, done: Result<(), Failure>) -> Result<(), Refusal> {
        done.map_err(|f| {
            self.failure = Some(f);
            Refusal::format("the drill stopped the walk")
        })
    }

    fn member(&mut self, entry: &Entry) -> Result<(), Failure> {
        let shown = entry.name();
        let rel = inside(&entry.path).ok_or_else(|| {
            Failure::Unsafe(format!(
                "member {shown:?} has an absolute path or `..`: it would be written outside the restore directory"
            ))
        })?;
        if rel.is_empty() {
            if entry.kind == Kind::Directory {
                return Ok(());
            }
            return Err(Failure::Unsafe(format!(
                "member {shown:?} names the restore directory itself"
            )));
        }
        self.not_through_links(&rel, &shown)?;
        // The restored tree answers whether a file, directory or hard link came before under
        // this path; the link set, for symbolic links (never created).
        let dest = self.into.join(OsStr::from_bytes(&rel));
        let earlier = std::fs::symlink_metadata(&dest).ok();
        let again = || {
            Failure::Unsafe(format!(
                "member {shown:?} occurs twice in the archive (or under a path an earlier member made): tar readers disagree on which one a restore keeps"
            ))
        };
        if self.links.contains_key(&rel) {
            return Err(again());
        }
        match (&earlier, entry.kind) {
            // One directory whatever the readers: a directory member after the files in it.
            (Some(m), Kind::Directory) if m.is_dir() => return Ok(()),
            (Some(_), _) => return Err(again()),
            (None, _) => {}
        }
        match entry.kind {
            Kind::Directory => mkdirs(self.into, &rel),
            Kind::Regular => {
                if let Some(slash) = rel.iter().rposition(|b| *b == b'/') {
                    mkdirs(self.into, &rel[..slash])?;
                }
                // Never through a link (none is ever created), never over an earlier member,
                // never with the archive's mode bits.
                let out = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .custom_flags(libc::O_NOFOLLOW)
                    .open(&dest)
                    .map_err(|e| Failure::Restore(format!("cannot restore {shown:?}: {e}")))?;
                self.out = Some((out, shown));
                Ok(())
            }
            Kind::Symlink => {
                if entry.link.is_empty() {
                    return Err(Failure::Restore(format!("link {shown:?} has no target")));
                }
                // Resolved from its own directory; whether it goes through another link is
                // known only once every link was seen (`check_symlinks`).
                if resolve(&rel, &entry.link, |_| false).is_none() {
                    return Err(outside(&shown, &entry.link));
                }
                self.add_link(rel, Some(entry.link.clone()))
            }
            Kind::HardLink => {
                let target = inside(&entry.link).filter(|t| !t.is_empty()).ok_or_else(|| {
                    Failure::Unsafe(format!(
                        "hard link {shown:?} points at {:?}: an absolute path, `..` or the restore directory, not a member a restore can link to inside it",
                        String::from_utf8_lossy(&entry.link)
                    ))
                })?;
                // Only a regular file restored earlier is one: a later member, a missing one,
                // a directory or a link make GNU tar fail or link another thing.
                let source = self.into.join(OsStr::from_bytes(&target));
                let is_file = std::fs::symlink_metadata(&source).is_ok_and(|m| m.is_file());
                if !is_file || self.links.contains_key(&target) {
                    return Err(Failure::Unsafe(format!(
                        "hard link {shown:?} points at {:?}, which is not an earlier regular file of the archive: a restore would fail or link something else",
                        String::from_utf8_lossy(&entry.link)
                    )));
                }
                // Made, unlike a symbolic link: a restore has the file under both names, and
                // neither path goes through a link (none exists), so nothing leaves the tree.
                if let Some(slash) = rel.iter().rposition(|b| *b == b'/') {
                    mkdirs(self.into, &rel[..slash])?;
                }
                std::fs::hard_link(&source, &dest)
                    .map_err(|e| Failure::Restore(format!("cannot restore {shown:?}: {e}")))?;
                self.add_link(rel, None)
            }
            Kind::CharDevice | Kind::BlockDevice | Kind::Fifo => Err(Failure::Unsafe(format!(
                "member {shown:?} is a device file or FIFO; a data backup holds none"
            ))),
        }
    }

    /// No proper prefix of `rel` is a link member: a restore would write through the link.
    fn not_through_links(&self, rel: &[u8], shown: &str) -> Result<(), Failure> {
        for (i, b) in rel.iter().enumerate() {
            if *b == b'/' && self.links.contains_key(&rel[..i]) {
                return Err(Failure::Unsafe(format!(
                    "member {shown:?} goes through the link member {:?}: a restore would write where the link points",
                    String::from_utf8_lossy(&rel[..i])
                )));
            }
        }
        Ok(())
    }

    fn add_link(&mut self, rel: Vec<u8>, target: Option<Vec<u8>>) -> Result<(), Failure> {
        let size = rel.len() + target.as_ref().map_or(0, Vec::len);
        self.link_bytes = self.link_bytes.saturating_add(size);
        if self.links.len() >= MAX_LINKS || self.link_bytes > MAX_LINK_BYTES {
            return Err(Failure::Restore(format!(
                "the archive has more links than the drill checks (at most {MAX_LINKS}, {MAX_LINK_BYTES} bytes of their names): too large to prove safe"
            )));
        }
        self.links.insert(rel, target);
        Ok(())
    }

    /// Every symbolic link, resolved from its directory, stays inside and goes through no
    /// other link member (`x -> .` then `esc -> x/..` leaves the directory only through `x`).
    fn check_symlinks(&self) -> Result<(), Failure> {
        for (rel, target) in &self.links {
            let Some(target) = target else { continue };
            let mut through = None;
            let resolved = resolve(rel, target, |prefix| {
                let hit = self.links.contains_key(prefix);
                if hit && through.is_none() {
                    through = Some(String::from_utf8_lossy(prefix).into_owned());
                }
                hit
            });
            let shown = String::from_utf8_lossy(rel);
            if let Some(link) = through {
                return Err(Failure::Unsafe(format!(
                    "link {shown:?} points at {:?}, through the link member {link:?}: where it ends depends on the other link",
                    String::from_utf8_lossy(target)
                )));
            }
            if resolved.is_none() {
                return Err(outside(&shown, target));
            }
        }
        Ok(())
    }
}

fn outside(shown: &str, target: &[u8]) -> Failure {
    Failure::Unsafe(format!(
        "link {shown:?} points at {:?}, outside the restore directory",
        String::from_utf8_lossy(target)
    ))
}

/// The symbolic link `rel`'s `target` resolved lexically from the link's directory, or `None`
/// when it is absolute, climbs out, or `through` says a component it goes through (one that
/// more components follow) is a link.
fn resolve(rel: &[u8], target: &[u8], mut through: impl FnMut(&[u8]) -> bool) -> Option<Vec<u8>> {
    if target.starts_with(b"/") {
        return None;
    }
    let mut out: Vec<u8> = match rel.iter().rposition(|b| *b == b'/') {
        Some(slash) => rel[..slash].to_vec(),
        None => Vec::new(),
    };
    let parts: Vec<&[u8]> = target
        .split(|b| *b == b'/')
        .filter(|p| !p.is_empty() && *p != b".")
        .collect();
    for (i, part) in parts.iter().enumerate() {
        if *part == b".." {
            let cut = out.iter().rposition(|b| *b == b'/').unwrap_or(0);
            if out.is_empty() {
                return None;
            }
            out.truncate(cut);
            continue;
        }
        if !out.is_empty() {
            out.push(b'/');
        }
        out.extend_from_slice(part);
        if i + 1 < parts.len() && through(&out) {
            return None;
        }
    }
    Some(out)
}

/// A member's path relative to the restore directory, `/`-separated without `.` or empty
/// components, or `None` when it is absolute or has a `..` (GNU tar skips such members, others
/// write them: either way not the tree the drill would measure).
fn inside(path: &[u8]) -> Option<Vec<u8>> {
    if path.starts_with(b"/") {
        return None;
    }
    let mut out = Vec::with_capacity(path.len());
    for part in path.split(|b| *b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => return None,
            _ => {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(part);
            }
        }
    }
    Some(out)
}

fn mkdirs(into: &Path, rel: &[u8]) -> Result<(), Failure> {
    let mut current = into.to_path_buf();
    for part in rel.split(|b| *b == b'/') {
        current.push(OsStr::from_bytes(part));
        match std::fs::symlink_metadata(&current) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(Failure::Unsafe(format!(
                    "{:?} is both a file and a directory in the archive: tar readers disagree on which a restore keeps",
                    String::from_utf8_lossy(rel)
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
    fn paths_that_leave_the_directory_or_hold_dot_dot_are_refused() {
        for bad in ["/etc/passwd", "../x", "a/../../x", "./../x", "a/../b"] {
            assert_eq!(inside(bad.as_bytes()), None, "{bad}");
        }
        assert_eq!(inside(b"./a//b/."), Some(b"a/b".to_vec()));
        assert_eq!(inside(b"./"), Some(Vec::new()));
    }

    #[test]
    fn symbolic_links_resolve_from_their_directory_and_not_through_other_links() {
        let no_links = |_: &[u8]| false;
        assert_eq!(resolve(b"d/l", b"../f", no_links), Some(b"f".to_vec()));
        assert_eq!(resolve(b"d/l", b"../../f", no_links), None);
        assert_eq!(resolve(b"l", b"/etc", no_links), None);
        // `x` is a link: `x/..` is wherever x's parent is, not `.`.
        let x_is_a_link = |p: &[u8]| p == b"x";
        assert_eq!(resolve(b"esc", b"x/..", x_is_a_link), None);
        assert_eq!(resolve(b"esc", b"x/x/../../etc", x_is_a_link), None);
        // Pointing at a link is not going through it: that link's own target is checked.
        assert_eq!(resolve(b"l", b"x", x_is_a_link), Some(b"x".to_vec()));
    }
}
