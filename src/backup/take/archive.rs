//! The mount archive: every class's fallback. The module's host directories are written as one
//! gzip'd tar, in-process, in constant memory: directories and regular files with their
//! metadata, symbolic links as links (never followed), in byte order of their names so two runs
//! over the same tree give the same member order. Members are named by their host path without
//! the leading `/` (as GNU tar does), so a restore knows where each one came from.

use super::super::evidence::{Inventory, listing_sha256};
use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use std::ffi::{CStr, CString, OsStr};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// What went into the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archived {
    pub inventory: Inventory,
    /// Sockets, FIFOs and devices found and left out (they hold no data to restore).
    pub skipped: u64,
}

/// Archive `mounts` (absolute host directories) as tar into `sink` (the caller compresses).
///
/// The walk never goes through a path twice: each directory is opened once (without
/// following a link) and what is in it is looked at, opened and read from that directory's
/// own descriptor. A module can write its mounts while they are archived; a directory it
/// swaps for a link to elsewhere is then never entered, where a walk by path name would
/// have read the link's target into the archive (and its listing, so a drill would pass).
pub fn write_tar(mounts: &[String], sink: &mut dyn Write) -> Result<Archived, String> {
    let mut builder = tar::Builder::new(sink);
    builder.follow_symlinks(false);
    let mut walk = Walk {
        listing: Vec::new(),
        total: 0,
        skipped: 0,
        stack: Vec::new(),
    };
    for mount in mounts {
        let root = Path::new(mount);
        let meta = fs::symlink_metadata(root)
            .map_err(|e| format!("the mount {mount} cannot be read: {e}"))?;
        if !meta.is_dir() {
            return Err(format!(
                "the mount {mount} is not a directory (links are never followed)"
            ));
        }
        let dir = rustix::fs::open(root, DIRECTORY, rustix::fs::Mode::empty())
            .map(File::from)
            .map_err(|e| {
                format!("the mount {mount} cannot be opened as a directory (links are never followed): {e}")
            })?;
        walk.directory(&mut builder, dir, root.to_path_buf())?;
        while let Some((parent, name, path)) = walk.stack.pop() {
            walk.member(&mut builder, &parent, &name, path)?;
        }
    }
    builder
        .into_inner()
        .map_err(|e| format!("cannot finish the archive: {e}"))?
        .flush()
        .map_err(|e| format!("cannot finish the archive: {e}"))?;
    let files = walk.listing.len() as u64;
    Ok(Archived {
        inventory: Inventory::Archive {
            files,
            bytes: walk.total,
            listing_sha256: listing_sha256(&mut walk.listing),
        },
        skipped: walk.skipped,
    })
}

/// A directory opened for reading, never through a link.
const DIRECTORY: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

type Builder<'a> = tar::Builder<&'a mut dyn Write>;

/// What the walk has found so far, and what is left: each entry with the open directory it
/// is in (a directory stays open while entries of it wait) and its host path (its name in
/// the archive and in messages).
struct Walk {
    listing: Vec<(Vec<u8>, u64)>,
    total: u64,
    skipped: u64,
    stack: Vec<(Rc<File>, CString, PathBuf)>,
}

impl Walk {
    /// Archive the open directory `dir` (its header) and queue what is in it, in reverse
    /// byte order on the stack, so that members come out in byte order.
    fn directory(&mut self, builder: &mut Builder, dir: File, path: PathBuf) -> Result<(), String> {
        let meta = dir
            .metadata()
            .map_err(|e| format!("cannot stat {}: {e}", path.display()))?;
        if !meta.is_dir() {
            return Err(format!("{} changed type while archived", path.display()));
        }
        let mut header = header_without_data(&meta, tar::EntryType::Directory);
        builder
            .append_data(&mut header, member_name(&path), io::empty())
            .map_err(|e| format!("cannot archive {}: {e}", path.display()))?;
        let listed = |e: rustix::io::Errno| format!("cannot list {}: {e}", path.display());
        let mut names = Vec::new();
        for entry in rustix::fs::Dir::read_from(&dir).map_err(listed)? {
            let name = entry.map_err(listed)?.file_name().to_owned();
            if name.as_bytes() != b"." && name.as_bytes() != b".." {
                names.push(name);
            }
        }
        names.sort_by(|a, b| b.as_bytes().cmp(a.as_bytes()));
        let dir = Rc::new(dir);
        for name in names {
            let child = path.join(OsStr::from_bytes(name.as_bytes()));
            self.stack.push((Rc::clone(&dir), name, child));
        }
        Ok(())
    }

    /// Archive the entry `name` of the open directory `parent`.
    fn member(
        &mut self,
        builder: &mut Builder,
        parent: &File,
        name: &CStr,
        path: PathBuf,
    ) -> Result<(), String> {
        let open = |flags: OFlags| {
            rustix::fs::openat(
                parent,
                name,
                flags | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map(File::from)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))
        };
        let stat = rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        match FileType::from_raw_mode(stat.st_mode) {
            FileType::Directory => {
                // A directory swapped for a link since: O_NOFOLLOW refuses it.
                let dir = open(OFlags::RDONLY | OFlags::DIRECTORY)?;
                self.directory(builder, dir, path)
            }
            FileType::Symlink => {
                let target = rustix::fs::readlinkat(parent, name, Vec::new())
                    .map_err(|e| format!("cannot read the link {}: {e}", path.display()))?;
                // The link itself (O_PATH), for its metadata.
                let meta = open(OFlags::PATH)?
                    .metadata()
                    .map_err(|e| format!("cannot stat {}: {e}", path.display()))?;
                if !meta.is_symlink() {
                    return Err(format!("{} changed type while archived", path.display()));
                }
                let mut header = header_without_data(&meta, tar::EntryType::Symlink);
                builder
                    .append_link(
                        &mut header,
                        member_name(&path),
                        Path::new(OsStr::from_bytes(target.as_bytes())),
                    )
                    .map_err(|e| format!("cannot archive the link {}: {e}", path.display()))
            }
            FileType::RegularFile => {
                // Non-blocking: a file swapped for a FIFO since must not hang the backup.
                let file = open(OFlags::RDONLY | OFlags::NONBLOCK)?;
                let member = member_name(&path);
                let size = append_file(builder, file, &path, &member)?;
                self.total = self
                    .total
                    .checked_add(size)
                    .ok_or("the mounts hold more bytes than fit in 64 bits")?;
                self.listing
                    .push((member.as_os_str().as_bytes().to_vec(), size));
                Ok(())
            }
            _ => {
                self.skipped += 1;
                Ok(())
            }
        }
    }
}

/// The header of a member that holds no data (a directory, a link), from its metadata.
fn header_without_data(meta: &fs::Metadata, kind: tar::EntryType) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_metadata(meta);
    header.set_entry_type(kind);
    header.set_size(0);
    header
}

/// One regular file, already opened without following links; its size is the one seen when
/// opened, and a file that shrinks while it is read fails the archive (a short member would
/// shift every header after it).
fn append_file(builder: &mut Builder, file: File, path: &Path, name: &Path) -> Result<u64, String> {
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
    // Written while it was read (same size or not): the member may mix old and new bytes, a
    // state the file never had. The change and status times say so, as GNU tar reads them.
    let after = reader
        .file
        .metadata()
        .map_err(|e| format!("cannot stat {}: {e}", path.display()))?;
    if changed(&meta, &after) {
        return Err(format!(
            "{} changed while it was archived (its size or modification time moved): the copy could mix old and new bytes; take the backup again with the module stopped or quiet",
            path.display()
        ));
    }
    Ok(size)
}

/// Whether a file's size, modification or status-change time differs between two looks.
fn changed(before: &fs::Metadata, after: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    (
        before.len(),
        before.mtime(),
        before.mtime_nsec(),
        before.ctime(),
        before.ctime_nsec(),
    ) != (
        after.len(),
        after.mtime(),
        after.mtime_nsec(),
        after.ctime(),
        after.ctime_nsec(),
    )
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

    /// A module can write its own mounts while the backup (run as the backup's owner, often
    /// root) walks them: a directory swapped for a link to elsewhere between the walk's look
    /// at it and its reads must never bring the link's target into the archive, where the
    /// listing would count it and a drill would pass it.
    #[test]
    fn a_directory_swapped_for_a_link_while_archived_never_brings_its_target_in() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("data");
        let inner = root.join("d");
        let aside = root.join("d.aside");
        let outside = dir.path().join("outside");
        fs::create_dir_all(&inner).unwrap();
        fs::create_dir(&outside).unwrap();
        fs::write(inner.join("f"), b"x").unwrap();
        fs::write(outside.join("secret"), b"secret").unwrap();
        let mounts = vec![root.display().to_string()];
        let stop = AtomicBool::new(false);
        let (runs, leaked) = std::thread::scope(|scope| {
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let _ = fs::rename(&inner, &aside);
                    let _ = std::os::unix::fs::symlink(&outside, &inner);
                    std::thread::yield_now();
                    let _ = fs::remove_file(&inner);
                    let _ = fs::rename(&aside, &inner);
                    std::thread::yield_now();
                }
            });
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
            let (mut runs, mut leaked) = (0, false);
            while !leaked && std::time::Instant::now() < deadline {
                let mut sink = Vec::new();
                if write_tar(&mounts, &mut sink).is_ok() {
                    runs += 1;
                    leaked = sink.windows(6).any(|w| w == b"secret");
                }
            }
            stop.store(true, Ordering::Relaxed);
            (runs, leaked)
        });
        assert!(
            !leaked,
            "the archive took in the link's target (run {runs})"
        );
        // The race was run: archives completed while the directory was being swapped.
        assert!(
            runs > 0,
            "no archive completed while the directory was swapped"
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

    #[test]
    fn a_file_written_while_it_is_archived_fails_the_archive() {
        // Rewritten in place at the same size, it was archived as a mix of old and new bytes
        // that the file never held, and the take, the gate and the drill all passed.
        use std::os::unix::fs::FileExt;
        use std::sync::atomic::{AtomicBool, Ordering};
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("data");
        fs::create_dir(&root).unwrap();
        let big = root.join("big");
        // Sparse: reading it takes a while, writing it takes nothing.
        fs::File::create(&big).unwrap().set_len(256 << 20).unwrap();
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let writer = {
            let (stop, big) = (stop.clone(), big.clone());
            std::thread::spawn(move || {
                let file = fs::OpenOptions::new().write(true).open(&big).unwrap();
                while !stop.load(Ordering::Relaxed) {
                    file.write_at(b"new", 0).unwrap();
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            })
        };
        let result = write_tar(&[root.display().to_string()], &mut io::sink());
        stop.store(true, Ordering::Relaxed);
        writer.join().unwrap();
        let err = result.expect_err("a file written while it was read must fail the archive");
        assert!(err.contains("changed while it was archived"), "{err}");
        // Left alone, the same file archives.
        write_tar(&[root.display().to_string()], &mut io::sink()).unwrap();
    }
}
