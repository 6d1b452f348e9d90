//! Walking a tar stream as GNU tar and Go's `archive/tar` read it: every header's checksum,
//! pax extended headers (`size` and `path` override the next header's), GNU long names, each
//! entry's data skipped by its size, to the end-of-archive marker, with only zero bytes after
//! it. Every size and offset is checked arithmetic: a size that is negative, larger than a
//! file can be, or given to an entry that holds no data (a directory, a link) is refused.
//! Shallow stops after the first entry's header.

use super::{Refusal, bytes, decode_error, read_up_to};
use std::io::Read;

const BLOCK: usize = 512;
/// Extended headers (pax, GNU long names) larger than this are refused: real ones are a few
/// hundred bytes, and they are held in memory.
const MAX_META: u64 = 1024 * 1024;
/// The largest size a tar reader accepts (`off_t`).
const MAX_SIZE: u64 = i64::MAX as u64;

/// One entry, as a tar reader sees it after extended headers are applied.
pub(super) struct Entry {
    pub name: String,
    /// A regular file (type `0`, NUL or `7`).
    pub regular: bool,
    pub size: u64,
}

/// Told about each entry and its data, in order (deep walks only).
pub(super) trait Visitor {
    fn entry(&mut self, _entry: &Entry) -> Result<(), Refusal> {
        Ok(())
    }
    fn data(&mut self, _chunk: &[u8]) -> Result<(), Refusal> {
        Ok(())
    }
    fn end_entry(&mut self) -> Result<(), Refusal> {
        Ok(())
    }
}

/// A visitor that looks at nothing.
pub(super) struct Nothing;
impl Visitor for Nothing {}

#[derive(Debug, Default)]
pub(super) struct Summary {
    pub entries: u64,
    /// Regular files holding at least one byte.
    pub data_files: u64,
    pub content_bytes: u64,
}

impl Summary {
    pub fn describe(&self, deep: bool) -> String {
        if deep {
            format!(
                "{} entries ({} files with data, {}), end-of-archive found, stream verified to its end",
                self.entries,
                self.data_files,
                bytes(self.content_bytes)
            )
        } else {
            "first header valid".to_string()
        }
    }
}

/// Overrides from extended headers, for the next entry.
#[derive(Default)]
struct Pending {
    size: Option<u64>,
    path: Option<String>,
    long_name: Option<String>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.size.is_none() && self.path.is_none() && self.long_name.is_none()
    }
}

/// Walk the tar stream `r` (already decompressed), reading data `chunk` bytes at a time. Deep:
/// to its last byte; shallow: the first entry's header.
pub(super) fn walk(
    r: &mut impl Read,
    deep: bool,
    chunk: usize,
    visitor: &mut dyn Visitor,
) -> Result<Summary, Refusal> {
    let mut header = [0u8; BLOCK];
    // Shallow reads only headers; extended headers need no more than a block at a time.
    let mut buf = vec![0u8; if deep { chunk } else { BLOCK }];
    let mut summary = Summary::default();
    let mut pending = Pending::default();
    let mut offset: u64 = 0;
    loop {
        let n = read_up_to(r, &mut header).map_err(decode_error)?;
        if n < BLOCK {
            return Err(if summary.entries == 0 && pending.is_empty() {
                Refusal::format("no tar header (the archive is empty or not a tar)")
            } else {
                Refusal::incomplete(format!(
                    "the archive ends at byte {offset} without its end-of-archive marker (truncated?)"
                ))
            });
        }
        if header.iter().all(|b| *b == 0) {
            if summary.entries == 0 {
                return Err(Refusal::format("the archive has no entries"));
            }
            if !pending.is_empty() {
                return Err(Refusal::format(
                    "an extended header is not followed by the entry it describes",
                ));
            }
            end_of_archive(r, &mut buf, offset)?;
            break;
        }
        let h = Header::parse(&header)
            .map_err(|m| Refusal::format(format!("{m} (at byte {offset})")))?;
        offset = offset.checked_add(BLOCK as u64).ok_or_else(too_long)?;
        match h.typeflag {
            b'x' | b'g' | b'L' | b'K' => {
                let meta = read_meta(r, h.size, &mut buf)?;
                offset = advance(offset, h.size)?;
                match h.typeflag {
                    b'x' => apply_pax(&meta, &mut pending)?,
                    b'g' => {
                        let mut global = Pending::default();
                        apply_pax(&meta, &mut global)?;
                        if !global.is_empty() {
                            return Err(Refusal::format(
                                "a global pax header sets `size` or `path` for every entry; not supported",
                            ));
                        }
                    }
                    b'L' => {
                        let end = meta.iter().position(|b| *b == 0).unwrap_or(meta.len());
                        pending.long_name =
                            Some(String::from_utf8_lossy(&meta[..end]).into_owned());
                    }
                    _ => {} // 'K': a long link target; links hold no data.
                }
                continue;
            }
            _ => {}
        }
        let size = pending.size.take().unwrap_or(h.size);
        let regular = matches!(h.typeflag, b'0' | 0 | b'7');
        let kind = match h.typeflag {
            b'0' | 0 | b'7' => "regular file",
            b'1' => "hard link",
            b'2' => "symbolic link",
            b'3' => "character device",
            b'4' => "block device",
            b'5' => "directory",
            b'6' => "FIFO",
            other => {
                return Err(Refusal::format(format!(
                    "unsupported tar entry type `{}` (sparse, multi-volume or vendor entries are not backups this gate can verify)",
                    (other as char).escape_debug()
                )));
            }
        };
        if !regular && size != 0 {
            return Err(Refusal::format(format!(
                "impossible size: a {kind} entry declares {size} bytes of data"
            )));
        }
        let name = pending
            .path
            .take()
            .or(pending.long_name.take())
            .unwrap_or(h.name);
        summary.entries += 1;
        if regular && size > 0 {
            summary.data_files += 1;
            summary.content_bytes = summary.content_bytes.saturating_add(size);
        }
        if !deep {
            return Ok(summary);
        }
        visitor.entry(&Entry {
            name,
            regular,
            size,
        })?;
        stream_data(r, size, &mut buf, visitor)?;
        offset = advance(offset, size)?;
        visitor.end_entry()?;
    }
    if summary.data_files == 0 {
        return Err(Refusal::no_data(format!(
            "the archive's {} entries hold no regular file with data: nothing was backed up",
            summary.entries
        )));
    }
    Ok(summary)
}

fn too_long() -> Refusal {
    Refusal::format("the archive's offsets overflow")
}

/// The offset after an entry of `size` bytes and its padding to a whole block.
fn advance(offset: u64, size: u64) -> Result<u64, Refusal> {
    let padded = size
        .checked_next_multiple_of(BLOCK as u64)
        .ok_or_else(|| Refusal::format(format!("impossible size: {size} bytes")))?;
    offset.checked_add(padded).ok_or_else(too_long)
}

/// After the first zero block only zero bytes may follow (the second block, the record's
/// padding); the stream is read to its end so that the decoder's own checks run.
fn end_of_archive(r: &mut impl Read, buf: &mut [u8], offset: u64) -> Result<(), Refusal> {
    loop {
        let n = match r.read(buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(decode_error(e)),
        };
        if buf[..n].iter().any(|b| *b != 0) {
            return Err(Refusal::format(format!(
                "data after the end-of-archive marker (at byte {offset}): a second archive or damage"
            )));
        }
    }
}

/// Pass `size` bytes to the visitor, then skip the padding.
fn stream_data(
    r: &mut impl Read,
    size: u64,
    buf: &mut [u8],
    visitor: &mut dyn Visitor,
) -> Result<(), Refusal> {
    let padded = size
        .checked_next_multiple_of(BLOCK as u64)
        .ok_or_else(|| Refusal::format(format!("impossible size: {size} bytes")))?;
    let mut left = padded;
    let mut data_left = size;
    while left > 0 {
        let want = left.min(buf.len() as u64) as usize;
        let got = match r.read(&mut buf[..want]) {
            Ok(0) => {
                return Err(Refusal::incomplete(
                    "the archive ends inside an entry (truncated?)",
                ));
            }
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(decode_error(e)),
        };
        let data = (got as u64).min(data_left) as usize;
        if data > 0 {
            visitor.data(&buf[..data])?;
        }
        data_left -= data as u64;
        left -= got as u64;
    }
    Ok(())
}

/// An extended header's content (at most MAX_META bytes), its padding skipped.
fn read_meta(r: &mut impl Read, size: u64, buf: &mut [u8]) -> Result<Vec<u8>, Refusal> {
    if size > MAX_META {
        return Err(Refusal::format(format!(
            "an extended header of {size} bytes (more than {MAX_META}): not a real archive's"
        )));
    }
    struct Collect(Vec<u8>);
    impl Visitor for Collect {
        fn data(&mut self, chunk: &[u8]) -> Result<(), Refusal> {
            self.0.extend_from_slice(chunk);
            Ok(())
        }
    }
    let mut collect = Collect(Vec::with_capacity(size as usize));
    stream_data(r, size, buf, &mut collect)?;
    Ok(collect.0)
}

/// pax records: `<length> <key>=<value>\n`, the length counting the whole record.
fn apply_pax(meta: &[u8], pending: &mut Pending) -> Result<(), Refusal> {
    let bad = || Refusal::format("a pax extended header is malformed");
    let mut rest = meta;
    while !rest.is_empty() {
        let space = rest.iter().position(|b| *b == b' ').ok_or_else(bad)?;
        let len_text = std::str::from_utf8(&rest[..space]).map_err(|_| bad())?;
        if len_text.is_empty() || !len_text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let len: usize = len_text.parse().map_err(|_| bad())?;
        if len <= space + 1 || len > rest.len() || rest[len - 1] != b'\n' {
            return Err(bad());
        }
        let record = &rest[space + 1..len - 1];
        let eq = record.iter().position(|b| *b == b'=').ok_or_else(bad)?;
        let (key, value) = (&record[..eq], &record[eq + 1..]);
        match key {
            b"size" => {
                let text = std::str::from_utf8(value).map_err(|_| bad())?;
                if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(Refusal::format(
                        "impossible size: a pax `size` is not a decimal number",
                    ));
                }
                let size: u64 = text
                    .parse()
                    .ok()
                    .filter(|s| *s <= MAX_SIZE)
                    .ok_or_else(|| Refusal::format("impossible size: a pax `size` is too large"))?;
                pending.size = Some(size);
            }
            b"path" => pending.path = Some(String::from_utf8_lossy(value).into_owned()),
            k if k.starts_with(b"GNU.sparse.") => {
                return Err(Refusal::format(
                    "a sparse file (GNU.sparse pax keys): not supported",
                ));
            }
            _ => {}
        }
        rest = &rest[len..];
    }
    Ok(())
}

/// The fields of a ustar, GNU or v7 header this walk uses.
struct Header {
    name: String,
    typeflag: u8,
    size: u64,
}

impl Header {
    fn parse(h: &[u8; BLOCK]) -> Result<Header, String> {
        let stored =
            parse_octal(&h[148..156]).ok_or("tar header checksum field is not a number")?;
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
        let posix = &h[257..263] == b"ustar\0";
        let gnu = &h[257..265] == b"ustar  \0";
        let v7 = h[257..265].iter().all(|b| *b == 0);
        if !(posix || gnu || v7) {
            return Err("tar header has an unknown magic".into());
        }
        for (what, range) in [
            ("mode", 100..108),
            ("uid", 108..116),
            ("gid", 116..124),
            ("mtime", 136..148),
        ] {
            if !numeric(&h[range]) {
                return Err(format!("tar header {what} field is not a number"));
            }
        }
        let field = |range: std::ops::Range<usize>| {
            let f = &h[range];
            let end = f.iter().position(|b| *b == 0).unwrap_or(f.len());
            String::from_utf8_lossy(&f[..end]).into_owned()
        };
        let mut name = field(0..100);
        if posix {
            let prefix = field(345..500);
            if !prefix.is_empty() {
                name = format!("{prefix}/{name}");
            }
        }
        Ok(Header {
            name,
            typeflag: h[156],
            size: parse_size(&h[124..136])?,
        })
    }
}

/// An entry size: octal, or GNU base-256 (first byte 0x80) for sizes over 8 GiB. Negative
/// base-256 values and sizes beyond `off_t` are impossible.
fn parse_size(field: &[u8]) -> Result<u64, String> {
    let size = if field[0] & 0x80 != 0 {
        if field[0] != 0x80 {
            return Err("impossible size: a negative base-256 size".into());
        }
        let mut v: u64 = 0;
        for b in &field[1..] {
            v = v
                .checked_mul(256)
                .and_then(|v| v.checked_add(*b as u64))
                .ok_or("impossible size: a base-256 size beyond 2^64")?;
        }
        v
    } else {
        parse_octal(field).ok_or("tar header size field is not a number")?
    };
    if size > MAX_SIZE {
        return Err(format!(
            "impossible size: {size} bytes is beyond what a file can hold"
        ));
    }
    Ok(size)
}

/// An octal field as GNU tar reads one: optional leading spaces, at least one digit, then
/// only NUL or space terminators. Anything else is not a number (GNU tar refuses it too).
fn parse_octal(field: &[u8]) -> Option<u64> {
    let start = field.iter().position(|b| *b != b' ')?;
    let digits = field[start..]
        .iter()
        .take_while(|b| (b'0'..=b'7').contains(*b))
        .count();
    if digits == 0
        || !field[start + digits..]
            .iter()
            .all(|b| *b == 0 || *b == b' ')
    {
        return None;
    }
    let mut v: u64 = 0;
    for b in &field[start..start + digits] {
        v = v.checked_mul(8)?.checked_add((b - b'0') as u64)?;
    }
    Some(v)
}

/// A numeric field tar decodes for every entry (mode, uid, gid, mtime): octal, or GNU
/// base-256 (leading 0x80 or 0xff).
fn numeric(field: &[u8]) -> bool {
    matches!(field[0], 0x80 | 0xff) || parse_octal(field).is_some()
}
