//! Reading a backup file as its format, in constant memory: magic bytes and the first archive
//! header (shallow), or the whole stream decompressed and every tar header walked (deep). The
//! sha256 of the file is computed on the other core at the same time, from the same open file
//! descriptor, so the bytes hashed are the bytes checked.

use super::format::{Format, GZIP_MAGIC, ZSTD_MAGIC};
use crate::policy::Verify;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::os::unix::fs::FileExt;

// 64 KiB stays under the allocator's mmap threshold: no syscalls or fresh page faults per
// buffer, which is most of a small decision's cost. Large archives are bound by inflate.
const CHUNK: usize = 64 * 1024;
/// Below this size the file is hashed on this thread: a second thread costs more than it saves.
const HASH_IN_PARALLEL_FROM: u64 = 8 * 1024 * 1024;
const BLOCK: usize = 512;

/// What reading the file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    pub sha256: String,
    /// A short human description, e.g. `gzip → tar, 12 entries, 3.1 MB`.
    pub detail: String,
}

/// Inspect `file` (already opened without following links) as `format`.
/// `Err` says what is wrong with the bytes.
pub fn inspect(file: &File, format: Format, verify: Verify) -> Result<Inspection, String> {
    let size = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
    if size < HASH_IN_PARALLEL_FROM {
        let checked = check_content(file, format, verify);
        let sha = hash_file(file).map_err(|e| format!("cannot read the file to hash it: {e}"))?;
        return checked.map(|detail| Inspection {
            sha256: sha,
            detail,
        });
    }
    std::thread::scope(|scope| {
        let hasher = scope.spawn(|| hash_file(file));
        let checked = check_content(file, format, verify);
        let sha = hasher
            .join()
            .map_err(|_| "the hashing thread failed".to_string())?
            .map_err(|e| format!("cannot read the file to hash it: {e}"))?;
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

fn check_content(file: &File, format: Format, verify: Verify) -> Result<String, String> {
    let deep = verify == Verify::Deep;
    let mut raw = BufReader::with_capacity(CHUNK, At { file, offset: 0 });
    let mut head = [0u8; 16];
    let got = read_up_to(&mut raw, &mut head).map_err(|e| e.to_string())?;
    let head = &head[..got];
    // Re-read from the start, now that the magic is known.
    let raw = BufReader::with_capacity(CHUNK, At { file, offset: 0 });
    match format {
        Format::SqlGz => {
            expect_magic(head, GZIP_MAGIC, "gzip")?;
            let mut dec = flate2::read::MultiGzDecoder::new(raw);
            let mut first = [0u8; 4096];
            let n = read_up_to(&mut dec, &mut first).map_err(|e| format!("gzip: {e}"))?;
            let text = &first[..n];
            if n == 0 || text.contains(&0) || !looks_like_sql(text) {
                return Err("gzip holds no SQL text (expected a pg_dumpall dump)".into());
            }
            let total = if deep {
                n as u64 + drain(&mut dec).map_err(|e| format!("gzip stream is corrupt: {e}"))?
            } else {
                n as u64
            };
            Ok(if deep {
                format!(
                    "gzip → SQL text, {} uncompressed, stream verified",
                    bytes(total)
                )
            } else {
                "gzip → SQL text".to_string()
            })
        }
        Format::PgDump => {
            expect_magic(head, b"PGDMP", "PostgreSQL custom dump")?;
            Ok("PostgreSQL custom-format dump (PGDMP)".into())
        }
        Format::RedisRdb => {
            if head.len() < 9
                || &head[..5] != b"REDIS"
                || !head[5..9].iter().all(u8::is_ascii_digit)
            {
                return Err("not a Redis RDB file (expected `REDIS` and a 4-digit version)".into());
            }
            let len = file.metadata().map_err(|e| e.to_string())?.len();
            let mut eof = [0u8; 1];
            if len < 18 || file.read_exact_at(&mut eof, len - 9).is_err() || eof[0] != 0xff {
                return Err(
                    "Redis RDB file is truncated (no EOF marker before the checksum)".into(),
                );
            }
            Ok(format!(
                "Redis RDB version {}",
                String::from_utf8_lossy(&head[5..9])
            ))
        }
        Format::TarGz | Format::VaultSnapshot => {
            expect_magic(head, GZIP_MAGIC, "gzip")?;
            let mut dec = flate2::read::MultiGzDecoder::new(raw);
            let summary = walk_tar(&mut dec, deep).map_err(|e| format!("gzip → tar: {e}"))?;
            if format == Format::VaultSnapshot && deep {
                for needed in ["meta.json", "state.bin"] {
                    if !summary.names.iter().any(|n| n == needed) {
                        return Err(format!("Vault snapshot has no `{needed}` entry"));
                    }
                }
            }
            Ok(format!("gzip → tar, {}", summary.describe(deep)))
        }
        Format::TarZst => {
            expect_magic(head, ZSTD_MAGIC, "zstd")?;
            let mut dec =
                ruzstd::decoding::StreamingDecoder::new(raw).map_err(|e| format!("zstd: {e}"))?;
            let summary = walk_tar(&mut dec, deep).map_err(|e| format!("zstd → tar: {e}"))?;
            Ok(format!("zstd → tar, {}", summary.describe(deep)))
        }
    }
}

fn expect_magic(head: &[u8], magic: &[u8], name: &str) -> Result<(), String> {
    if head.starts_with(magic) {
        Ok(())
    } else {
        Err(format!(
            "the file does not start with the {name} magic bytes"
        ))
    }
}

fn looks_like_sql(text: &[u8]) -> bool {
    let s = String::from_utf8_lossy(text);
    let s = s.trim_start();
    [
        "--",
        "SET ",
        "CREATE ",
        "\\connect",
        "/*",
        "BEGIN",
        "SELECT ",
    ]
    .iter()
    .any(|p| s.starts_with(p))
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

fn drain(r: &mut impl Read) -> io::Result<u64> {
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    loop {
        match r.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => total += n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

fn skip(r: &mut impl Read, mut n: u64, buf: &mut [u8]) -> io::Result<()> {
    while n > 0 {
        let want = n.min(buf.len() as u64) as usize;
        let got = r.read(&mut buf[..want])?;
        if got == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "archive ends inside an entry",
            ));
        }
        n -= got as u64;
    }
    Ok(())
}

struct TarSummary {
    entries: u64,
    content_bytes: u64,
    /// Names of regular entries at the top of the archive (kept only for Vault checks, bounded).
    names: Vec<String>,
}

impl TarSummary {
    fn describe(&self, deep: bool) -> String {
        if deep {
            format!(
                "{} entries, {} of content, end-of-archive found, stream verified",
                self.entries,
                bytes(self.content_bytes)
            )
        } else {
            "first header valid".to_string()
        }
    }
}

/// Walk tar headers: checksum of each, sizes, to the end-of-archive marker (deep), or only the
/// first header (shallow). Then drain the decoder, so the compressed stream's own checks run.
fn walk_tar(r: &mut impl Read, deep: bool) -> Result<TarSummary, String> {
    let mut header = [0u8; BLOCK];
    let mut buf = vec![0u8; CHUNK];
    let mut summary = TarSummary {
        entries: 0,
        content_bytes: 0,
        names: Vec::new(),
    };
    loop {
        let n = read_up_to(r, &mut header).map_err(|e| e.to_string())?;
        if n == 0 && summary.entries > 0 && !deep {
            break;
        }
        if n < BLOCK {
            return Err(if summary.entries == 0 {
                "no tar header (the archive is empty or not a tar)".into()
            } else {
                "archive ends without its end-of-archive marker (truncated?)".into()
            });
        }
        if header.iter().all(|b| *b == 0) {
            if summary.entries == 0 {
                return Err("the archive has no entries".into());
            }
            // Two zero blocks end an archive; accept one if the stream ends right after.
            let m = read_up_to(r, &mut header).map_err(|e| e.to_string())?;
            if m != 0 && (m < BLOCK || header.iter().any(|b| *b != 0)) {
                return Err("data after a zero block: the archive is damaged".into());
            }
            break;
        }
        let size = parse_header(&header)?;
        summary.entries += 1;
        let typeflag = header[156];
        if matches!(typeflag, b'0' | 0 | b'7') && summary.names.len() < 64 {
            let name_end = header[..100].iter().position(|b| *b == 0).unwrap_or(100);
            let name = String::from_utf8_lossy(&header[..name_end]);
            summary
                .names
                .push(name.trim_start_matches("./").to_string());
        }
        if matches!(typeflag, b'0' | 0 | b'7') {
            summary.content_bytes += size;
        }
        if !deep {
            return Ok(summary);
        }
        let padded = size.div_ceil(BLOCK as u64) * BLOCK as u64;
        skip(r, padded, &mut buf).map_err(|e| e.to_string())?;
    }
    drain(r).map_err(|e| format!("compressed stream is corrupt: {e}"))?;
    Ok(summary)
}

/// Check a tar header's checksum and return the entry's size.
fn parse_header(h: &[u8; BLOCK]) -> Result<u64, String> {
    let stored = parse_octal(&h[148..156]).ok_or("tar header checksum field is not a number")?;
    let computed: u64 = h
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                b' ' as u64
            } else {
                *b as u64
            }
        })
        .sum();
    if stored != computed {
        return Err("tar header checksum does not match (not a tar, or damaged)".into());
    }
    let size_field = &h[124..136];
    if size_field[0] & 0x80 != 0 {
        // GNU base-256 for sizes over 8 GiB.
        let mut v: u64 = (size_field[0] & 0x7f) as u64;
        for b in &size_field[1..] {
            v = v.checked_mul(256).ok_or("tar entry size overflows")? + *b as u64;
        }
        Ok(v)
    } else {
        parse_octal(size_field).ok_or_else(|| "tar header size field is not a number".to_string())
    }
}

fn parse_octal(field: &[u8]) -> Option<u64> {
    let text: Vec<u8> = field
        .iter()
        .copied()
        .skip_while(|b| *b == b' ')
        .take_while(|b| *b != 0 && *b != b' ')
        .collect();
    if text.is_empty() {
        return Some(0);
    }
    let mut v: u64 = 0;
    for b in text {
        if !(b'0'..=b'7').contains(&b) {
            return None;
        }
        v = v.checked_mul(8)?.checked_add((b - b'0') as u64)?;
    }
    Some(v)
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
