//! Reading a backup file as its format, in constant memory. Shallow: magic bytes and the first
//! archive header. Deep (the default): the file is read to its last byte the way the tool
//! that restores it reads it, and must prove it is complete: every compressed stream ends
//! cleanly with its checksum and nothing after it, every archive header is walked with checked
//! arithmetic, a dump ends with the completion mark its writer puts last, and a checksum the
//! format carries (RDB's CRC-64, a Vault snapshot's `SHA256SUMS`, zstd's frame checksum) is
//! recomputed. The sha256 is computed over the very bytes checked: a small file is read once
//! and both checked and hashed from that copy; a large one is read once on the other core,
//! which hashes each buffer and hands it to the checking thread (`feed`).
//!
//! The library entry point is [`inspect`] (strict options) or [`inspect_with`]; callers open
//! the file themselves (without following links) and pass the descriptor. [`inspect_growing`]
//! runs the same check on a file while its writer is still writing it, reading behind the
//! writer, and ends where the finished file ends.

mod deflate_header;
mod feed;
mod gzip;
#[allow(unsafe_code)]
mod isal;
mod isal_gzip;
mod pg_custom;
mod rdb;
mod segments;
mod sql;
mod sql_scan;
pub mod stream;
pub mod tar;
mod vault;
mod zstd;

use super::format::{GZIP_MAGIC, ZSTD_MAGIC};
use crate::model::backup_format::Format;
use crate::policy::{BackupPolicy, Verify};
use crate::report::Code;
use crate::report::code::code;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::fs::FileExt;

pub use feed::{Growth, Written};
pub use segments::{SegmentHasher, Segments};

code!(
    INCOMPLETE,
    "backup.artifact.incomplete",
    Error,
    "The backup stops before its end: the dump has no completion mark, or an archive or table of contents is cut off.",
    "The backup job failed part-way (often a pipeline without `set -o pipefail`); take the backup again and check its log."
);
code!(
    CHECKSUM,
    "backup.artifact.checksum",
    Error,
    "A checksum the backup carries does not match its content (RDB CRC-64, Vault SHA256SUMS, zstd frame checksum).",
    "The file was damaged or altered after it was written; take the backup again."
);
code!(
    UNVERIFIABLE,
    "backup.artifact.unverifiable",
    Error,
    "Deep verification cannot prove this backup complete: it carries no checksum (an RDB saved with `rdbchecksum no`, a zstd frame without a content checksum).",
    "Write backups with their checksums on (Redis `rdbchecksum yes`, zstd's default `--check`), or allow unchecksummed RDB files in the policy (`backup.allow_rdb_without_checksum`)."
);
code!(
    NO_DATA,
    "backup.artifact.no_data",
    Error,
    "The archive holds no regular file with data (only directories, links or empty files).",
    "The backup archived nothing (a wrong source path, an unmounted volume); fix the backup job and take it again."
);

/// Codes [`inspect`] may refuse with, besides `backup.artifact.format`.
pub static CODES: &[&Code] = &[&INCOMPLETE, &CHECKSUM, &UNVERIFIABLE, &NO_DATA];

/// Buffer size for files below [`LARGE_FILE`]: 64 KiB stays under the allocator's mmap
/// threshold, so a buffer costs no system call of its own.
const CHUNK: usize = 64 * 1024;
/// The decoders' output buffer for a file read whole (up to [`READ_WHOLE_UP_TO`]): its input
/// is already in memory, so a larger buffer saves few calls, and each 4 KiB page of it is a
/// page fault and zeroing that a decision pays at start-up (docs/dispatch.md, "Speed").
const IN_MEMORY_CHUNK: usize = 16 * 1024;
/// Buffer size from [`LARGE_FILE`] on: a quarter as many calls into the decoder, the kernel
/// and the hash per byte (measured in `scripts/bench_dispatch.sh`); a few such buffers keep the
/// peak well under 32 MiB.
const LARGE_CHUNK: usize = 256 * 1024;
/// How many [`LARGE_CHUNK`] buffers the feeding thread and the checking thread pass between
/// them: enough that neither waits for the other on a buffer's hand-over.
const LARGE_BUFFERS: usize = 4;
/// Up to this size the file is read in one call and checked and hashed from that one copy.
const READ_WHOLE_UP_TO: u64 = 1024 * 1024;
/// From this size on the file is read and hashed on another thread, which hands the same
/// buffers to this one to check (below, a second thread costs more than it saves).
const LARGE_FILE: u64 = 8 * 1024 * 1024;

/// How to read: the depth, and what the policy lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub verify: Verify,
    /// An RDB file whose checksum is zero (`rdbchecksum no`) passes deep verification.
    pub allow_rdb_without_checksum: bool,
}

impl Options {
    /// Deep unless said otherwise, nothing unchecksummed allowed.
    pub fn strict(verify: Verify) -> Options {
        Options {
            verify,
            allow_rdb_without_checksum: false,
        }
    }

    pub fn from_policy(policy: &BackupPolicy) -> Options {
        Options {
            verify: policy.verify,
            allow_rdb_without_checksum: policy.allow_rdb_without_checksum,
        }
    }
}

/// What reading the file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    pub sha256: String,
    /// A short human description, e.g. `gzip → tar, 12 entries, 3.1 MB`.
    pub detail: String,
}

/// Why the bytes are not a (complete) backup of their format: the reason code and what was
/// found. The message never quotes the backup's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static Code,
    pub message: String,
}

impl Refusal {
    /// The bytes are not of the format, or are damaged (`backup.artifact.format`).
    pub fn format(message: impl Into<String>) -> Refusal {
        Refusal {
            code: &super::FORMAT,
            message: message.into(),
        }
    }

    pub fn incomplete(message: impl Into<String>) -> Refusal {
        Refusal {
            code: &INCOMPLETE,
            message: message.into(),
        }
    }

    pub fn checksum(message: impl Into<String>) -> Refusal {
        Refusal {
            code: &CHECKSUM,
            message: message.into(),
        }
    }

    pub fn unverifiable(message: impl Into<String>) -> Refusal {
        Refusal {
            code: &UNVERIFIABLE,
            message: message.into(),
        }
    }

    pub fn no_data(message: impl Into<String>) -> Refusal {
        Refusal {
            code: &NO_DATA,
            message: message.into(),
        }
    }

    /// The same refusal with `context` before its message.
    fn within(self, context: &str) -> Refusal {
        Refusal {
            code: self.code,
            message: format!("{context}: {}", self.message),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code.id)
    }
}

/// Inspect `file` (already opened without following links) as `format`, with nothing
/// unchecksummed allowed. `Err` says what is wrong with the bytes.
pub fn inspect(file: &File, format: Format, verify: Verify) -> Result<Inspection, Refusal> {
    inspect_with(file, format, &Options::strict(verify))
}

/// Inspect `file` as `format` with the policy's options.
pub fn inspect_with(file: &File, format: Format, options: &Options) -> Result<Inspection, Refusal> {
    inspect_by(file, format, options, &Paths::SIZED)
}

/// The file sizes at which the way of reading changes (a parameter so that tests can send a
/// small file down every path).
struct Paths {
    read_whole_up_to: u64,
    large_file: u64,
}

impl Paths {
    const SIZED: Paths = Paths {
        read_whole_up_to: READ_WHOLE_UP_TO,
        large_file: LARGE_FILE,
    };
}

fn inspect_by(
    file: &File,
    format: Format,
    options: &Options,
    paths: &Paths,
) -> Result<Inspection, Refusal> {
    let size = file
        .metadata()
        .map_err(|e| Refusal::format(format!("cannot stat the file: {e}")))?
        .len();
    if size <= paths.read_whole_up_to
        && let Some(bytes) = read_whole(file, size)
            .map_err(|e| Refusal::format(format!("cannot read the file: {e}")))?
    {
        let head = &bytes[..bytes.len().min(HEAD)];
        let detail = check_content(
            file,
            size,
            head,
            &mut &bytes[..],
            IN_MEMORY_CHUNK,
            format,
            options,
        )?;
        return Ok(Inspection {
            sha256: crate::digest::hex(&Sha256::digest(&bytes)),
            detail,
        });
    }
    let mut head = [0u8; HEAD];
    let got = read_up_to(&mut At { file, offset: 0 }, &mut head)
        .map_err(|e| Refusal::format(e.to_string()))?;
    let head = &head[..got];
    let hashed = |sha: io::Result<String>| {
        sha.map_err(|e| Refusal::format(format!("cannot read the file to hash it: {e}")))
    };
    if size < paths.large_file {
        let mut raw = BufReader::with_capacity(CHUNK, At { file, offset: 0 });
        let checked = check_content(file, size, head, &mut raw, CHUNK, format, options);
        let sha = hashed(hash_with(file, CHUNK))?;
        return checked.map(|detail| Inspection {
            sha256: sha,
            detail,
        });
    }
    std::thread::scope(|scope| {
        let (feeder, mut raw) = feed::pair(file, LARGE_CHUNK, LARGE_BUFFERS);
        let hasher = scope.spawn(|| feeder.run());
        let checked = check_content(file, size, head, &mut raw, LARGE_CHUNK, format, options);
        // The feeder hashes the rest of the file alone once the checker stops taking buffers.
        drop(raw);
        let sha = hashed(
            hasher
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the hashing thread failed"))),
        )?;
        checked.map(|detail| Inspection {
            sha256: sha,
            detail,
        })
    })
}

/// [`inspect_with`] on a file that is still being written, following its writer through
/// `growth`: the file is read from its first byte as the writer writes it, and to its last
/// byte once the writer has finished; the verdict and the sha256 are those of every byte
/// read, exactly as [`inspect_with`] would give them for the finished file (the same reader:
/// the large-file path), with the [`Segments`] of those bytes for a later pass to compare the
/// file with on every core. A writer that stops part-way fails it. An RDB file, which its
/// check reads by itself, is inspected once the writer has finished, without segments.
pub fn inspect_growing(
    file: &File,
    format: Format,
    options: &Options,
    growth: &Growth,
) -> Result<(Inspection, Option<Segments>), Refusal> {
    growing_by(file, format, options, growth, &Paths::SIZED)
}

fn growing_by(
    file: &File,
    format: Format,
    options: &Options,
    growth: &Growth,
    paths: &Paths,
) -> Result<(Inspection, Option<Segments>), Refusal> {
    let stopped = || Refusal::format("cannot read the file: its writer stopped before the end");
    // An RDB file is read by its check itself: from its end, once there is one.
    let enough = if format == Format::RedisRdb {
        growth.wait_end()
    } else {
        // The magic bytes are compared once there are enough of them (or all there will be).
        growth.wait_for(HEAD as u64)
    };
    if enough == Written::Abandoned {
        return Err(stopped());
    }
    if format == Format::RedisRdb {
        return inspect_by(file, format, options, paths).map(|inspection| (inspection, None));
    }
    let mut head = [0u8; HEAD];
    let got = read_up_to(&mut At { file, offset: 0 }, &mut head)
        .map_err(|e| Refusal::format(e.to_string()))?;
    let head = &head[..got];
    std::thread::scope(|scope| {
        let (feeder, mut raw) = feed::following(file, Some(growth), LARGE_CHUNK, LARGE_BUFFERS);
        let hasher = scope.spawn(|| feeder.run_with_segments());
        // Its size is not known yet: read it as the large file a backup being written is
        // (ISA-L inflates, not zlib-rs: about half the CPU on a backup's read-back).
        let checked = check_content(file, GROWING, head, &mut raw, LARGE_CHUNK, format, options);
        drop(raw);
        let (sha, segments) = hasher
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the hashing thread failed")))
            .map_err(|e| Refusal::format(format!("cannot read the file to hash it: {e}")))?;
        checked.map(|detail| {
            let inspection = Inspection {
                sha256: sha,
                detail,
            };
            (inspection, Some(segments))
        })
    })
}

/// A gzip reader: the one deep verification uses (ISA-L inflating, the framing read in
/// Rust), or zlib-rs (flate2), the oracle it is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GzipReader {
    Isal,
    Zlib,
}

/// What `reader` hands out from the gzip stream `bytes` (every member, on this thread)
/// before its verdict, and the verdict. The `gzip_isal` fuzz target compares the two readers
/// with it, and builds trailers that match what one of them inflated.
pub fn gunzip_prefix(bytes: &[u8], reader: GzipReader) -> (Vec<u8>, io::Result<()>) {
    let mut out = Vec::new();
    let verdict = match reader {
        GzipReader::Isal => gzip::members(bytes).read_to_end(&mut out),
        GzipReader::Zlib => gzip::zlib_members(bytes).read_to_end(&mut out),
    };
    (out, verdict.map(|_| ()))
}

/// The size [`check_content`] is given for a file that is still being written: larger than
/// any threshold, so that it is read as a large file. (An RDB file, the only check that reads
/// the size, is checked once its writer has finished, with its real size.)
const GROWING: u64 = u64::MAX;

/// How many leading bytes are compared with a format's magic.
const HEAD: usize = 16;

/// The whole file in one read (a small file), or `None` when it is longer than `size` said
/// (it is growing: the caller streams it instead). The buffer is not zeroed first.
fn read_whole(file: &File, size: u64) -> io::Result<Option<Vec<u8>>> {
    // One byte more than the size, to see the end in the same call.
    let want = usize::try_from(size)
        .map_err(io::Error::other)?
        .saturating_add(1);
    let mut bytes = Vec::with_capacity(want);
    let mut offset = 0u64;
    while bytes.len() < want {
        match rustix::io::pread(file, rustix::buffer::spare_capacity(&mut bytes), offset) {
            Ok(0) => return Ok(Some(bytes)),
            Ok(n) => offset += n as u64,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(None)
}

/// sha256 over the whole file with positional reads, independent of the other reader's offset.
pub fn hash_file(file: &File) -> io::Result<String> {
    hash_with(file, CHUNK)
}

/// [`hash_file`] with a `chunk`-byte buffer, never zeroed: each read fills what it hashes.
fn hash_with(file: &File, chunk: usize) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = Vec::with_capacity(chunk);
    let mut offset = 0u64;
    loop {
        buf.clear();
        match rustix::io::pread(file, rustix::buffer::spare_capacity(&mut buf), offset) {
            Ok(0) => break,
            Ok(n) => offset += n as u64,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
        hasher.update(&buf);
    }
    Ok(crate::digest::hex(&hasher.finalize()))
}

/// A reader over the file from offset 0, using positional reads (no shared cursor).
struct At<'a> {
    file: &'a File,
    offset: u64,
}

impl Read for At<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.offset)?;
        self.offset += n as u64;
        Ok(n)
    }
}

/// Check the content read from `raw` (the file from its first byte), whose first bytes are
/// `head`, as `format`. `chunk` sizes the decoders' buffers.
fn check_content(
    file: &File,
    size: u64,
    head: &[u8],
    raw: &mut dyn BufRead,
    chunk: usize,
    format: Format,
    options: &Options,
) -> Result<String, Refusal> {
    let deep = options.verify == Verify::Deep;
    let described = match format {
        Format::SqlGz => {
            expect_magic(head, GZIP_MAGIC, "gzip")?;
            sql::check(gzip::reader(raw, size), deep, chunk)
        }
        Format::PgDump => {
            expect_magic(head, b"PGDMP", "PostgreSQL custom dump")?;
            if deep {
                pg_custom::check(raw)
            } else {
                Ok("PostgreSQL custom-format dump (PGDMP), magic only".into())
            }
        }
        Format::RedisRdb => rdb::check(file, size, deep, options.allow_rdb_without_checksum),
        Format::TarGz => {
            expect_magic(head, GZIP_MAGIC, "gzip")?;
            tar::walk(&mut gzip::reader(raw, size), deep, chunk, &mut tar::Nothing)
                .map(|s| format!("gzip → tar, {}", s.describe(deep)))
                .map_err(|r| r.within("gzip → tar"))
        }
        Format::VaultSnapshot => {
            expect_magic(head, GZIP_MAGIC, "gzip")?;
            vault::check(&mut gzip::reader(raw, size), deep, chunk)
                .map_err(|r| r.within("Vault snapshot"))
        }
        Format::TarZst => {
            expect_magic(head, ZSTD_MAGIC, "zstd")?;
            let mut frames = zstd::Frames::new(raw, chunk);
            tar::walk(&mut frames, deep, chunk, &mut tar::Nothing)
                .map(|s| format!("zstd → tar, {}", s.describe(deep)))
                .map_err(|r| r.within("zstd → tar"))
        }
    }?;
    Ok(if deep {
        format!("{described} (deep)")
    } else {
        format!("{described} (shallow: completeness not checked)")
    })
}

fn expect_magic(head: &[u8], magic: &[u8], name: &str) -> Result<(), Refusal> {
    if head.starts_with(magic) {
        Ok(())
    } else {
        Err(Refusal::format(format!(
            "the file does not start with the {name} magic bytes"
        )))
    }
}

/// Fill as much of `buf` as the reader gives.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// A decoder's error as a refusal: a checksum the decoder verified is `checksum`, an early
/// end is `incomplete`, anything else `format`.
fn decode_error(e: io::Error) -> Refusal {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        // One wording whichever decoder found it (zlib-rs for small gzip files, ISA-L for
        // large ones, libzstd), so that every read path of a file gives the same refusal.
        return Refusal::incomplete("the compressed stream is cut off before its end");
    }
    if let Some(inner) = e.get_ref()
        && let Some(refusal) = inner.downcast_ref::<RefusalError>()
    {
        return refusal.0.clone();
    }
    Refusal::format(format!("the stream is corrupt: {e}"))
}

/// A refusal carried through `io::Error` by the decoders this module implements.
#[derive(Debug)]
struct RefusalError(Refusal);

impl std::fmt::Display for RefusalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl std::error::Error for RefusalError {}

impl From<Refusal> for io::Error {
    fn from(r: Refusal) -> io::Error {
        io::Error::other(RefusalError(r))
    }
}

pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Every way of reading: in one call, streamed on this thread, streamed beside the hash
    /// thread (as the gates read a large file).
    const EVERY_PATH: [Paths; 3] = [
        Paths {
            read_whole_up_to: u64::MAX,
            large_file: u64::MAX,
        },
        Paths {
            read_whole_up_to: 0,
            large_file: u64::MAX,
        },
        Paths {
            read_whole_up_to: 0,
            large_file: 0,
        },
    ];

    fn tar_of(content: &[u8]) -> Vec<u8> {
        let mut builder = ::tar::Builder::new(Vec::new());
        let mut header = ::tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o600);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_cksum();
        builder
            .append_data(&mut header, "data/object.bin", content)
            .unwrap();
        builder.into_inner().unwrap()
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    }

    fn zstd_checked(bytes: &[u8]) -> Vec<u8> {
        let mut z = ::zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        z.include_checksum(true).unwrap();
        z.write_all(bytes).unwrap();
        z.finish().unwrap()
    }

    /// The verdict (and hash) of every read path for `bytes` as `format`, which must agree.
    fn on_every_path(format: Format, bytes: &[u8]) -> Result<Inspection, Refusal> {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        tmp.write_all(bytes).unwrap();
        let file = File::open(tmp.path()).unwrap();
        let options = Options::strict(Verify::Deep);
        let mut verdicts: Vec<_> = EVERY_PATH
            .iter()
            .map(|paths| inspect_by(&file, format, &options, paths))
            .collect();
        // And read behind a writer that writes it in pieces, as backup_before_apply does.
        for piece in [64 * 1024 + 3, 777] {
            verdicts.push(growing(format, bytes, &EVERY_PATH[2], piece));
        }
        assert!(
            verdicts.windows(2).all(|w| w[0] == w[1]),
            "{format:?}: the read paths disagree: {verdicts:?}"
        );
        verdicts.into_iter().next().unwrap()
    }

    /// The verdict of the read-back that follows a writer writing `bytes` in `piece`-byte
    /// writes on another thread. A passing read-back's segments are those of `bytes`, which
    /// the finished file then matches.
    fn growing(
        format: Format,
        bytes: &[u8],
        paths: &Paths,
        piece: usize,
    ) -> Result<Inspection, Refusal> {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        let mut writer = tmp.reopen().unwrap();
        let reader = File::open(tmp.path()).unwrap();
        let growth = Growth::new();
        let options = Options::strict(Verify::Deep);
        std::thread::scope(|scope| {
            let follower = scope.spawn(|| growing_by(&reader, format, &options, &growth, paths));
            let mut written = 0u64;
            for chunk in bytes.chunks(piece) {
                writer.write_all(chunk).unwrap();
                written += chunk.len() as u64;
                growth.written(written);
            }
            growth.finished();
            let (inspection, segments) = follower.join().unwrap()?;
            if format == Format::RedisRdb {
                assert!(segments.is_none(), "an RDB file is not read in segments");
            } else {
                let segments = segments.expect("a streamed read-back takes segments");
                assert_eq!(segments.len(), bytes.len() as u64);
                let now = Segments::of_file(&reader, 2).unwrap();
                assert_eq!(segments.difference(&now), None);
                assert_eq!(segments, now);
            }
            Ok(inspection)
        })
    }

    /// With the sizes a real large file gets: a tar.gz of 1 MiB members (as backup_before_apply
    /// writes them) passes with the whole file's hash, and a wrong CRC-32 in a member in the
    /// middle is refused, as the gates read it (the feeding thread, one inflating thread) and
    /// as backup_before_apply reads it back behind its writer (in 1 MiB writes, as it writes).
    #[test]
    fn a_large_file_of_small_members_is_verified() {
        // Hardly compressible, so that the file is past LARGE_FILE.
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let content: Vec<u8> = (0..10 * 1024 * 1024)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 32) as u8
            })
            .collect();
        let tar = tar_of(&content);
        let parts: Vec<Vec<u8>> = tar.chunks(1024 * 1024).map(gzip).collect();
        let members = parts.concat();
        assert!(members.len() as u64 > LARGE_FILE, "not a large file");
        // The CRC-32 of the member that ends in the middle of the file.
        let middle: usize = parts[..=parts.len() / 2].iter().map(Vec::len).sum();
        let mut damaged = members.clone();
        damaged[middle - 8] ^= 1;
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        tmp.write_all(&members).unwrap();
        let file = File::open(tmp.path()).unwrap();
        let passed = inspect(&file, Format::TarGz, Verify::Deep).expect("a valid file passes");
        assert_eq!(passed.sha256, crate::digest::hex(&Sha256::digest(&members)));
        let followed = growing(Format::TarGz, &members, &Paths::SIZED, 1024 * 1024)
            .expect("a valid file passes behind its writer");
        assert_eq!(followed, passed);

        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        tmp.write_all(&damaged).unwrap();
        let file = File::open(tmp.path()).unwrap();
        let refused = inspect(&file, Format::TarGz, Verify::Deep).expect_err("damage passed");
        assert_eq!(refused.code.id, super::super::FORMAT.id, "{refused}");
        let followed = growing(Format::TarGz, &damaged, &Paths::SIZED, 1024 * 1024)
            .expect_err("damage passed behind its writer");
        assert_eq!(followed, refused);
    }

    #[test]
    fn every_read_path_gives_the_same_verdict_and_hash() {
        // Larger than one buffer of every path, compressible and not.
        let mut content: Vec<u8> = (0..300_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        content.extend((0..300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
        let tar = tar_of(&content);
        let tgz = gzip(&tar);
        let tzst = zstd_checked(&tar);

        let passed = on_every_path(Format::TarGz, &tgz).expect("a complete tar.gz passes");
        assert_eq!(passed.sha256, crate::digest::hex(&Sha256::digest(&tgz)));
        // As backup_before_apply writes it: one member per block of the tar.
        let members: Vec<u8> = tar.chunks(20_000).flat_map(gzip).collect();
        let passed = on_every_path(Format::TarGz, &members).expect("a multi-member tar.gz passes");
        assert_eq!(passed.sha256, crate::digest::hex(&Sha256::digest(&members)));
        let passed = on_every_path(Format::TarZst, &tzst).expect("a complete tar.zst passes");
        assert_eq!(passed.sha256, crate::digest::hex(&Sha256::digest(&tzst)));

        let refused = |format, bytes: &[u8], code: &Code| {
            let refusal = on_every_path(format, bytes).expect_err("damaged input passed");
            assert_eq!(refusal.code.id, code.id, "{format:?}: {refusal}");
        };
        refused(Format::TarGz, &tgz[..tgz.len() - 9], &INCOMPLETE);
        refused(Format::TarZst, &tzst[..tzst.len() - 9], &INCOMPLETE);
        let mut garbage = tgz.clone();
        garbage.extend_from_slice(b"not a gzip member");
        refused(Format::TarGz, &garbage, &super::super::FORMAT);
        let mut crc = tgz.clone();
        let at = crc.len() - 8;
        crc[at] ^= 1;
        refused(Format::TarGz, &crc, &super::super::FORMAT);
        refused(Format::TarGz, &members[..members.len() - 9], &INCOMPLETE);
        let mut crc = members.clone();
        crc[members.len() / 2] ^= 1;
        refused(Format::TarGz, &crc, &super::super::FORMAT);

        let mut sql = b"--\n-- PostgreSQL database cluster dump\n--\n\nSET x = 1;\n".to_vec();
        sql.extend(
            std::iter::repeat_n(b"INSERT INTO t VALUES (1);\n".as_slice(), 40_000).flatten(),
        );
        let cut = gzip(&sql);
        refused(Format::SqlGz, &cut, &INCOMPLETE);
        sql.extend_from_slice(b"\n--\n-- PostgreSQL database cluster dump complete\n--\n\n");
        on_every_path(Format::SqlGz, &gzip(&sql)).expect("a complete pg_dumpall dump passes");
    }
}
