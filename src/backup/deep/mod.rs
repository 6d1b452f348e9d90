//! Reading a backup file as its format, in constant memory. Shallow: magic bytes and the first
//! archive header. Deep (the default): the file is read to its last byte the way the tool
//! that restores it reads it, and must prove it is complete: every compressed stream ends
//! cleanly with its checksum and nothing after it, every archive header is walked with checked
//! arithmetic, a dump ends with the completion mark its writer puts last, and a checksum the
//! format carries (RDB's CRC-64, a Vault snapshot's `SHA256SUMS`, zstd's frame checksum) is
//! recomputed. The sha256 of the file is computed on the other core at the same time, from the
//! same open file descriptor, so the bytes hashed are the bytes checked.
//!
//! The library entry point is [`inspect`] (strict options) or [`inspect_with`]; callers open
//! the file themselves (without following links) and pass the descriptor.

mod gzip;
mod pg_custom;
mod rdb;
mod sql;
mod tar;
mod vault;
mod zstd;

use super::format::{Format, GZIP_MAGIC, ZSTD_MAGIC};
use crate::policy::{BackupPolicy, Verify};
use crate::report::Code;
use crate::report::code::code;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::os::unix::fs::FileExt;

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

// 64 KiB stays under the allocator's mmap threshold: no syscalls or fresh page faults per
// buffer, which is most of a small decision's cost. Large archives are bound by inflate.
const CHUNK: usize = 64 * 1024;
/// Below this size the file is hashed on this thread: a second thread costs more than it saves.
const HASH_IN_PARALLEL_FROM: u64 = 8 * 1024 * 1024;

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
    let size = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
    let hashed = |sha: io::Result<String>| {
        sha.map_err(|e| Refusal::format(format!("cannot read the file to hash it: {e}")))
    };
    if size < HASH_IN_PARALLEL_FROM {
        let checked = check_content(file, format, options);
        let sha = hashed(hash_file(file))?;
        return checked.map(|detail| Inspection {
            sha256: sha,
            detail,
        });
    }
    std::thread::scope(|scope| {
        let hasher = scope.spawn(|| hash_file(file));
        let checked = check_content(file, format, options);
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

/// sha256 over the whole file with positional reads, independent of the other reader's offset.
pub fn hash_file(file: &File) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut offset = 0u64;
    loop {
        let n = match file.read_at(&mut buf, offset) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        offset += n as u64;
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

fn check_content(file: &File, format: Format, options: &Options) -> Result<String, Refusal> {
    let deep = options.verify == Verify::Deep;
    let mut head = [0u8; 16];
    let got = read_up_to(
        &mut BufReader::with_capacity(CHUNK, At { file, offset: 0 }),
        &mut head,
    )
    .map_err(|e| Refusal::format(e.to_string()))?;
    let head = &head[..got];
    let raw = BufReader::with_capacity(CHUNK, At { file, offset: 0 });
    let size = file
        .metadata()
        .map_err(|e| Refusal::format(format!("cannot stat the file: {e}")))?
        .len();
    let described = match format {
        Format::SqlGz => {
            expect_magic(head, GZIP_MAGIC, "gzip")?;
            sql::check(gzip::members(raw), deep)
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
            tar::walk(&mut gzip::members(raw), deep, &mut tar::Nothing)
                .map(|s| format!("gzip → tar, {}", s.describe(deep)))
                .map_err(|r| r.within("gzip → tar"))
        }
        Format::VaultSnapshot => {
            expect_magic(head, GZIP_MAGIC, "gzip")?;
            vault::check(&mut gzip::members(raw), deep).map_err(|r| r.within("Vault snapshot"))
        }
        Format::TarZst => {
            expect_magic(head, ZSTD_MAGIC, "zstd")?;
            let mut frames = zstd::Frames::new(raw);
            tar::walk(&mut frames, deep, &mut tar::Nothing)
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
        return Refusal::incomplete(format!("the stream ends early: {e}"));
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
