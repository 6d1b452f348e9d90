//! The mount archive: every class's fallback. The module's host directories are written as one
//! gzip'd tar, in-process, in constant memory: directories and regular files with their
//! metadata, symbolic links as links (never followed), in byte order of their names so two runs
//! over the same tree give the same member order. Members are named by their host path without
//! the leading `/` (as GNU tar does), so a restore knows where each one came from.

use super::super::evidence::{Inventory, listing_sha256};
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// What went into the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archived {
    pub inventory: Inventory,
    /// Sockets, FIFOs and devices found and left out (they hold no data to restore).
    pub skipped: u64,
}

/// Archive `mounts` (absolute host directories) as tar into `sink` (the caller compresses).
pub fn write_tar(mounts: &[String], sink: &mut dyn Write) -> Result<Archived, String> {
    let mut builder = tar::Builder::new(sink);
    builder.follow_symlinks(false);
    let mut listing: Vec<(Vec<u8>, u64)> = Vec::new();
    let mut total: u64 = 0;
    let mut skipped = 0u64;
    for mount in mounts {
        let root = Path::new(mount);
        let meta = fs::symlink_metadata(root)
            .map_err(|e| format!("the mount {mount} cannot be read: {e}"))?;
        if !meta.is_dir() {
            return Err(format!(
                "the mount {mount} is not a directory (links are never followed)"
            ));
        }
        let mut stack: Vec<PathBuf> = vec![root.to_path_buf()];
        while let Some(path) = stack.pop() {
            let meta = fs::symlink_metadata(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let name = member_name(&path);
            let kind = meta.file_type();
            if kind.is_dir() {
                let mut header = tar::Header::new_gnu();
                header.set_metadata(&meta);
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                builder
                    .append_data(&mut header, &name, io::empty())
                    .map_err(|e| format!("cannot archive {}: {e}", path.display()))?;
                let mut children: Vec<OsString> = fs::read_dir(&path)
                    .map_err(|e| format!("cannot list {}: {e}", path.display()))?
                    .map(|e| e.map(|e| e.file_name()))
                    .collect::<Result<_, _>>()
                    .map_err(|e| format!("cannot list {}: {e}", path.display()))?;
                // Reverse byte order on the stack: members come out in byte order.
                children.sort_by(|a, b| b.as_bytes().cmp(a.as_bytes()));
                stack.extend(children.into_iter().map(|c| path.join(c)));
            } else if kind.is_symlink() {
                let target = fs::read_link(&path)
                    .map_err(|e| format!("cannot read the link {}: {e}", path.display()))?;
                let mut header = tar::Header::new_gnu();
                header.set_metadata(&meta);
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                builder
                    .append_link(&mut header, &name, &target)
                    .map_err(|e| format!("cannot archive the link {}: {e}", path.display()))?;
            } else if kind.is_file() {
                let size = append_file(&mut builder, &path, &name)?;
                total = total
                    .checked_add(size)
                    .ok_or("the mounts hold more bytes than fit in 64 bits")?;
                listing.push((name.as_os_str().as_bytes().to_vec(), size));
            } else {
                skipped += 1;
            }
        }
    }
    builder
        .into_inner()
        .map_err(|e| format!("cannot finish the archive: {e}"))?
        .flush()
        .map_err(|e| format!("cannot finish the archive: {e}"))?;
    let files = listing.len() as u64;
    Ok(Archived {
        inventory: Inventory::Archive {
            files,
            bytes: total,
            listing_sha256: listing_sha256(&mut listing),
        },
        skipped,
    })
}

/// One regular file, opened without following links; its size is the one seen when opened,
/// and a file that shrinks while it is read fails the archive (a short member would shift
/// every header after it).
fn append_file(
    builder: &mut tar::Builder<&mut dyn Write>,
    path: &Path,
    name: &Path,
) -> Result<u64, String> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot stat {}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{} changed type while archived", path.display()));
    }
    let size = meta.len();
    let mut header = tar::Header::new_gnu();
    header.set_metadata(&meta);
    header.set_size(size);
    let mut reader = Exact {
        file,
        left: size,
        short: false,
    };
    builder
        .append_data(&mut header, name, &mut reader)
        .map_err(|e| format!("cannot archive {}: {e}", path.display()))?;
    if reader.short || reader.left != 0 {
        return Err(format!(
            "{} shrank while it was archived; take the backup again with the module stopped or quiet",
            path.display()
        ));
    }
    Ok(size)
}

/// Reads exactly `left` bytes of the file (a file that grew is cut at its size when opened).
struct Exact {
    file: File,
    left: u64,
    short: bool,
}

impl Read for Exact {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.file.read(&mut buf[..want])?;
        if n == 0 {
            self.short = true;
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file shrank while it was archived",
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

fn member_name(path: &Path) -> PathBuf {
    path.strip_prefix("/").unwrap_or(path).to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listing_is_the_regular_files_sorted() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("data");
        fs::create_dir_all(root.join("b")).unwrap();
        fs::write(root.join("b/x"), b"abc").unwrap();
        fs::write(root.join("a"), b"0123456789").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", root.join("link")).unwrap();
        let mut tar_bytes = Vec::new();
        let mounts = vec![root.display().to_string()];
        let archived = write_tar(&mounts, &mut tar_bytes).unwrap();
        let prefix = member_name(&root).display().to_string();
        let mut expected = vec![
            (format!("{prefix}/a").into_bytes(), 10),
            (format!("{prefix}/b/x").into_bytes(), 3),
        ];
        assert_eq!(
            archived.inventory,
            Inventory::Archive {
                files: 2,
                bytes: 13,
                listing_sha256: listing_sha256(&mut expected)
            }
        );
        // The link is stored as a link, not as the file it points at.
        let mut ar = tar::Archive::new(tar_bytes.as_slice());
        let kinds: Vec<(String, tar::EntryType)> = ar
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.path().unwrap().display().to_string(),
                    e.header().entry_type(),
                )
            })
            .collect();
        assert!(kinds.contains(&(format!("{prefix}/link"), tar::EntryType::Symlink)));
        assert_eq!(
            kinds.iter().map(|k| k.0.as_str()).collect::<Vec<_>>(),
            [
                prefix.clone(),
                format!("{prefix}/a"),
                format!("{prefix}/b"),
                format!("{prefix}/b/x"),
                format!("{prefix}/link")
            ]
        );
    }

    #[test]
    fn a_mount_that_is_a_link_or_missing_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(dir.path(), dir.path().join("l")).unwrap();
        let mut sink = Vec::new();
        assert!(write_tar(&[dir.path().join("l").display().to_string()], &mut sink).is_err());
        assert!(write_tar(&[dir.path().join("none").display().to_string()], &mut sink).is_err());
    }
}
