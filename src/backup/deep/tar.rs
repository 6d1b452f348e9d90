//! Walking a tar stream as GNU tar and Go's `archive/tar` read it: every header's checksum,
//! pax extended headers (`size`, `path` and `linkpath` override the next header's), GNU long
//! names and long link targets, each entry's data skipped by its size, to the end-of-archive
//! marker, with only zero bytes after it. Every size and offset is checked arithmetic: a size
//! that is negative, larger than a file can be, or given to an entry that holds no data (a
//! directory, a link) is refused. Shallow stops after the first entry's header.
//!
//! Where tar readers disagree on what a header means, the walk refuses rather than pick one
//! reading: a pax header that sets a key twice (Go and GNU tar take the last, the `tar` crate
//! the first) or holds a value with a newline (the crate splits records on it) or an empty
//! `path` or `linkpath` (POSIX: the header's field applies; Go: an empty name), a GNU long
//! name or link together with a pax `path` or `linkpath` (each reader prefers a different
//! one), two extended headers of one kind for one entry, a magic and version that is neither
//! POSIX (`ustar\0` `00`) nor GNU (`ustar ` ` \0`) nor an old header with none (whether its
//! prefix field is part of the name differs), a GNU or old header with bytes in that field
//! (Python's tarfile joins them to the name), a name or link with a NUL, and a regular file
//! whose name ends with `/` (GNU tar makes a directory of it). The drill unpacks archives with
//! this walk, so what the gates verified is what the drill restores.

use super::{Refusal, bytes, decode_error, read_up_to};
use std::io::Read;

const BLOCK: usize = 512;
/// Extended headers (pax, GNU long names) larger than this are refused: real ones are a few
/// hundred bytes, and they are held in memory.
const MAX_META: u64 = 1024 * 1024;
/// The largest size a tar reader accepts (`off_t`).
const MAX_SIZE: u64 = i64::MAX as u64;

/// What an entry is, by its type flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Type `0`, NUL or `7`.
    Regular,
    HardLink,
    Symlink,
    CharDevice,
    BlockDevice,
    Directory,
    Fifo,
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::Regular => "regular file",
            Kind::HardLink => "hard link",
            Kind::Symlink => "symbolic link",
            Kind::CharDevice => "character device",
            Kind::BlockDevice => "block device",
            Kind::Directory => "directory",
            Kind::Fifo => "FIFO",
        }
    }
}

/// One entry, as a tar reader sees it after extended headers are applied.
pub struct Entry {
    /// The name's bytes as stored (a restore creates exactly these).
    pub path: Vec<u8>,
    pub kind: Kind,
    /// A regular file (type `0`, NUL or `7`).
    pub regular: bool,
    pub size: u64,
    /// A link's target (empty for other kinds).
    pub link: Vec<u8>,
}

impl Entry {
    /// The name for messages and for comparing with known names.
    pub fn name(&self) -> String {
        String::from_utf8_lossy(&self.path).into_owned()
    }
}

/// Told about each entry and its data, in order (deep walks only).
pub trait Visitor {
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
pub struct Nothing;
impl Visitor for Nothing {}

#[derive(Debug, Default)]
pub struct Summary {
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
    path: Option<Vec<u8>>,
    linkpath: Option<Vec<u8>>,
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
    /// A pax extended header (`x`) was read for the next entry.
    pax: bool,
}

impl Pending {
    fn is_empty(&self) -> bool {
        !self.pax
            && self.size.is_none()
            && self.path.is_none()
            && self.linkpath.is_none()
            && self.long_name.is_none()
            && self.long_link.is_none()
    }
}

/// Walk the tar stream `r` (already decompressed), reading data `chunk` bytes at a time. Deep:
/// to its last byte; shallow: the first entry's header.
pub fn walk(
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
                let at = offset;
                offset = advance(offset, h.size)?;
                // A second one for the same entry: readers merge, keep the first or the last.
                let twice = |what: &str| {
                    Refusal::format(format!(
                        "two {what} headers for one entry (at byte {at}): tar readers disagree on which applies"
                    ))
                };
                match h.typeflag {
                    b'x' => {
                        if pending.pax {
                            return Err(twice("pax extended"));
                        }
                        pending.pax = true;
                        apply_pax(&meta, &mut pending)?;
                    }
                    b'g' => {
                        let mut global = Pending::default();
                        apply_pax(&meta, &mut global)?;
                        if global.size.is_some()
                            || global.path.is_some()
                            || global.linkpath.is_some()
                        {
                            return Err(Refusal::format(
                                "a global pax header sets `size`, `path` or `linkpath` for every entry; not supported",
                            ));
                        }
                    }
                    b'L' => {
                        if pending.long_name.is_some() {
                            return Err(twice("GNU long name"));
                        }
                        pending.long_name = Some(gnu_long(&meta)?);
                    }
                    _ => {
                        if pending.long_link.is_some() {
                            return Err(twice("GNU long link"));
                        }
                        pending.long_link = Some(gnu_long(&meta)?);
                    }
                }
                continue;
            }
            _ => {}
        }
        let taken = std::mem::take(&mut pending);
        let size = taken.size.unwrap_or(h.size);
        let kind = match h.typeflag {
            b'0' | 0 | b'7' => Kind::Regular,
            b'1' => Kind::HardLink,
            b'2' => Kind::Symlink,
            b'3' => Kind::CharDevice,
            b'4' => Kind::BlockDevice,
            b'5' => Kind::Directory,
            b'6' => Kind::Fifo,
            other => {
                return Err(Refusal::format(format!(
                    "unsupported tar entry type `{}` (sparse, multi-volume or vendor entries are not backups this gate can verify)",
                    (other as char).escape_debug()
                )));
            }
        };
        let regular = kind == Kind::Regular;
        if !regular && size != 0 {
            return Err(Refusal::format(format!(
                "impossible size: a {} entry declares {size} bytes of data",
                kind.describe()
            )));
        }
        let shown = |name: &[u8]| String::from_utf8_lossy(name).escape_debug().to_string();
        let path = match (taken.path, taken.long_name) {
            (Some(_), Some(long)) => {
                return Err(Refusal::format(format!(
                    "entry `{}` has both a GNU long name and a pax `path`: tar readers disagree on which is its name",
                    shown(&long)
                )));
            }
            (Some(p), None) | (None, Some(p)) => p,
            (None, None) => h.name,
        };
        let link = match (taken.linkpath, taken.long_link) {
            (Some(_), Some(_)) => {
                return Err(Refusal::format(format!(
                    "entry `{}` has both a GNU long link and a pax `linkpath`: tar readers disagree on which is its target",
                    shown(&path)
                )));
            }
            (Some(l), None) | (None, Some(l)) => l,
            (None, None) => h.link,
        };
        if path.contains(&0) || link.contains(&0) {
            return Err(Refusal::format(format!(
                "entry `{}` has a NUL in its name or link target: tar readers cut it at different places",
                shown(&path)
            )));
        }
        if regular && path.ends_with(b"/") {
            return Err(Refusal::format(format!(
                "regular file `{}` has a name ending with `/`: GNU tar restores it as a directory, other readers as a file",
                shown(&path)
            )));
        }
        summary.entries += 1;
        if regular && size > 0 {
            summary.data_files += 1;
            summary.content_bytes = summary.content_bytes.saturating_add(size);
        }
        if !deep {
            return Ok(summary);
        }
        let link = if matches!(kind, Kind::HardLink | Kind::Symlink) {
            link
        } else {
            Vec::new()
        };
        visitor.entry(&Entry {
            path,
            kind,
            regular,
            size,
            link,
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

/// A GNU long name or link: the bytes up to the first NUL.
fn gnu_long(meta: &[u8]) -> Result<Vec<u8>, Refusal> {
    let end = meta.iter().position(|b| *b == 0).unwrap_or(meta.len());
    if meta[end..].iter().any(|b| *b != 0) {
        return Err(Refusal::format(
            "a GNU long name or link has bytes after its NUL: tar readers disagree on where it ends",
        ));
    }
    Ok(meta[..end].to_vec())
}

/// pax records: `<length> <key>=<value>\n`, the length counting the whole record.
fn apply_pax(meta: &[u8], pending: &mut Pending) -> Result<(), Refusal> {
    let bad = || Refusal::format("a pax extended header is malformed");
    let mut keys: Vec<&[u8]> = Vec::new();
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
        let key_shown = String::from_utf8_lossy(key).escape_debug().to_string();
        if keys.contains(&key) {
            return Err(Refusal::format(format!(
                "a pax extended header sets `{key_shown}` twice: tar readers disagree on which value applies"
            )));
        }
        keys.push(key);
        // Legal by its length, but a reader that splits records on newlines reads another
        // record list (the `tar` crate did, and took the next header for data).
        if value.contains(&b'\n') {
            return Err(Refusal::format(format!(
                "a pax extended header's `{key_shown}` value holds a newline: tar readers disagree on where its records end"
            )));
        }
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
            // POSIX says an empty value deletes the keyword (the header's field applies,
            // as GNU tar reads it); Go takes an empty name.
            b"path" | b"linkpath" if value.is_empty() => {
                return Err(Refusal::format(format!(
                    "a pax extended header's `{key_shown}` is empty: tar readers disagree on whether the header's own field applies"
                )));
            }
            b"path" => pending.path = Some(value.to_vec()),
            b"linkpath" => pending.linkpath = Some(value.to_vec()),
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
    name: Vec<u8>,
    link: Vec<u8>,
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
        // Only the exact pairs: `ustar\0` with another version has a prefix field that GNU
        // tar, Go and Python join to the name and the `tar` crate ignores.
        let posix = &h[257..265] == b"ustar\x0000";
        let gnu = &h[257..265] == b"ustar  \0";
        let v7 = h[257..265].iter().all(|b| *b == 0);
        if !(posix || gnu || v7) {
            return Err(
                "tar header has a magic and version that are neither POSIX, GNU nor an old header's: tar readers disagree on its name"
                    .into(),
            );
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
            f[..end].to_vec()
        };
        let mut name = field(0..100);
        let prefix = field(345..500);
        if posix {
            if !prefix.is_empty() {
                name = [prefix, b"/".to_vec(), name].concat();
            }
        } else if !prefix.is_empty() {
            // GNU tar and Go read no name there (GNU keeps times in it); Python's tarfile
            // joins whatever is there to the name, whatever the magic.
            return Err(
                "a GNU or old tar header has bytes in the POSIX prefix field: Python's tarfile joins them to the name, GNU tar and Go do not"
                    .into(),
            );
        }
        Ok(Header {
            name,
            link: field(157..257),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A header with a correct checksum: `magic` is the 8 bytes at 257 (magic and version).
    fn header(name: &[u8], typeflag: u8, size: usize, link: &[u8], magic: &[u8; 8]) -> Vec<u8> {
        let mut h = [0u8; BLOCK];
        h[..name.len()].copy_from_slice(name);
        h[100..108].copy_from_slice(b"0000644\0");
        h[108..116].copy_from_slice(b"0000000\0");
        h[116..124].copy_from_slice(b"0000000\0");
        h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
        h[136..148].copy_from_slice(b"15000000000\0");
        h[156] = typeflag;
        h[157..157 + link.len()].copy_from_slice(link);
        h[257..265].copy_from_slice(magic);
        resum(&mut h);
        h.to_vec()
    }

    fn resum(h: &mut [u8; BLOCK]) {
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|b| *b as u32).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    }

    const POSIX: &[u8; 8] = b"ustar\x0000";
    const GNU: &[u8; 8] = b"ustar  \0";
    const OLD: &[u8; 8] = &[0; 8];

    fn padded(data: &[u8]) -> Vec<u8> {
        let mut v = data.to_vec();
        v.resize(data.len().div_ceil(BLOCK) * BLOCK, 0);
        v
    }

    fn file(name: &str, data: &[u8]) -> Vec<u8> {
        [
            header(name.as_bytes(), b'0', data.len(), b"", POSIX),
            padded(data),
        ]
        .concat()
    }

    /// A pax extended header (`x`) of `records`, each `<len> <key>=<value>\n`.
    fn pax(records: &[(&str, &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        for (key, value) in records {
            let rest = [b" ", key.as_bytes(), b"=", value, b"\n"].concat();
            let mut len = rest.len() + 1;
            while len.to_string().len() + rest.len() != len {
                len = len.to_string().len() + rest.len();
            }
            body.extend_from_slice(len.to_string().as_bytes());
            body.extend_from_slice(&rest);
        }
        [
            header(b"././@PaxHeader", b'x', body.len(), b"", POSIX),
            padded(&body),
        ]
        .concat()
    }

    /// A GNU long name (`L`) or long link (`K`).
    fn gnu_long(typeflag: u8, name: &[u8]) -> Vec<u8> {
        let data = [name, b"\0"].concat();
        [
            header(b"././@LongLink", typeflag, data.len(), b"", GNU),
            padded(&data),
        ]
        .concat()
    }

    fn archive(parts: &[Vec<u8>]) -> Vec<u8> {
        [parts.concat(), vec![0u8; 2 * BLOCK]].concat()
    }

    /// Every entry as (kind, path, size, link target), or the refusal's message.
    fn entries(tar: &[u8]) -> Result<Vec<(Kind, String, u64, String)>, String> {
        struct Seen(Vec<(Kind, String, u64, String)>);
        impl Visitor for Seen {
            fn entry(&mut self, e: &Entry) -> Result<(), Refusal> {
                let link = String::from_utf8_lossy(&e.link).into_owned();
                self.0.push((e.kind, e.name(), e.size, link));
                Ok(())
            }
        }
        let mut seen = Seen(Vec::new());
        walk(&mut &tar[..], true, 4096, &mut seen).map_err(|r| r.message)?;
        Ok(seen.0)
    }

    #[track_caller]
    fn refused(tar: &[u8], why: &str) {
        match entries(tar) {
            Err(m) => assert!(m.contains(why), "{m}"),
            Ok(e) => panic!("accepted: {e:?}"),
        }
    }

    #[test]
    fn a_pax_key_set_twice_in_one_header_is_refused() {
        // The `tar` crate took the first `size` and read the next header (an absolute path)
        // as data; GNU tar, Go and Python take the last and restore it.
        let tar = archive(&[
            pax(&[("size", b"1024"), ("size", b"0")]),
            file("a", b""),
            file("/tmp/escape", b"x"),
            vec![0u8; 1024],
        ]);
        refused(&tar, "sets `size` twice");
        refused(
            &archive(&[pax(&[("path", b"a"), ("path", b"b")]), file("x", b"x")]),
            "sets `path` twice",
        );
    }

    #[test]
    fn a_pax_value_holding_a_newline_is_refused() {
        // Legal by its length prefix; a reader splitting on newlines misses the `size` after.
        let tar = archive(&[
            pax(&[("comment", b"a\nb"), ("size", b"0")]),
            file("a", &[0u8; 700]),
        ]);
        refused(&tar, "holds a newline");
    }

    #[test]
    fn an_empty_pax_path_or_linkpath_is_refused() {
        refused(
            &archive(&[pax(&[("path", b"")]), file("x", b"x")]),
            "`path` is empty",
        );
        let link = [
            pax(&[("linkpath", b"")]),
            header(b"l", b'2', 0, b"t", POSIX),
        ]
        .concat();
        refused(&archive(&[file("a", b"x"), link]), "`linkpath` is empty");
    }

    #[test]
    fn a_gnu_long_name_or_link_beside_a_pax_path_or_linkpath_is_refused() {
        for order in [
            [gnu_long(b'L', b"long"), pax(&[("path", b"/etc/x")])],
            [pax(&[("path", b"/etc/x")]), gnu_long(b'L', b"long")],
        ] {
            refused(
                &archive(&[order.concat(), file("short", b"x")]),
                "both a GNU long name and a pax `path`",
            );
        }
        let link = [
            gnu_long(b'K', b"inside"),
            pax(&[("linkpath", b"/etc/passwd")]),
            header(b"l", b'2', 0, b"t", POSIX),
        ]
        .concat();
        refused(
            &archive(&[file("a", b"x"), link]),
            "both a GNU long link and a pax `linkpath`",
        );
    }

    #[test]
    fn two_extended_headers_of_one_kind_for_one_entry_are_refused() {
        refused(
            &archive(&[
                pax(&[("path", b"a")]),
                pax(&[("path", b"b")]),
                file("x", b"x"),
            ]),
            "two pax extended headers",
        );
        refused(
            &archive(&[gnu_long(b'L', b"a"), gnu_long(b'L', b"b"), file("x", b"x")]),
            "two GNU long name headers",
        );
    }

    #[test]
    fn a_posix_magic_with_another_version_is_refused_whatever_its_prefix() {
        // `ustar\0` with version "  " and a prefix: GNU tar, Go and Python join the prefix to
        // the name (here giving `/etc/x`), the `tar` crate did not.
        for version in [b"  ", b"\0\0", b" \0", b"01"] {
            let mut h: [u8; BLOCK] = header(b"x", b'0', 1, b"", POSIX).try_into().unwrap();
            h[263..265].copy_from_slice(version);
            h[345..349].copy_from_slice(b"/etc");
            resum(&mut h);
            refused(
                &archive(&[h.to_vec(), padded(b"x")]),
                "neither POSIX, GNU nor an old header's",
            );
        }
    }

    #[test]
    fn posix_gnu_and_old_headers_are_read_each_by_its_own_rules() {
        let mut posix: [u8; BLOCK] = header(b"f", b'0', 1, b"", POSIX).try_into().unwrap();
        posix[345..349].copy_from_slice(b"data");
        resum(&mut posix);
        let gnu = header(b"g", b'0', 1, b"", GNU);
        let old = header(b"o", b'0', 1, b"", OLD);
        let tar = archive(&[
            posix.to_vec(),
            padded(b"x"),
            gnu,
            padded(b"x"),
            old,
            padded(b"x"),
        ]);
        let names: Vec<String> = entries(&tar).unwrap().into_iter().map(|e| e.1).collect();
        assert_eq!(names, ["data/f", "g", "o"]);
        // A GNU header keeps times where POSIX has the prefix: GNU tar and Go read `g`,
        // Python's tarfile `1234/g`.
        for magic in [GNU, OLD] {
            let mut h: [u8; BLOCK] = header(b"g", b'0', 1, b"", magic).try_into().unwrap();
            h[345..349].copy_from_slice(b"1234");
            resum(&mut h);
            refused(
                &archive(&[h.to_vec(), padded(b"x")]),
                "bytes in the POSIX prefix field",
            );
        }
    }

    #[test]
    fn a_regular_file_whose_name_ends_with_a_slash_is_refused() {
        // GNU tar makes a directory of it; the drill wrote a file.
        for (typeflag, magic) in [(b'0', POSIX), (0, OLD), (b'0', GNU)] {
            let tar = archive(&[header(b"d/", typeflag, 3, b"", magic), padded(b"abc")]);
            refused(&tar, "name ending with `/`");
        }
        // A directory's name ends with one.
        let tar = archive(&[header(b"d/", b'5', 0, b"", POSIX), file("d/f", b"x")]);
        assert_eq!(entries(&tar).unwrap().len(), 2);
    }

    #[test]
    fn a_nul_in_a_pax_path_or_after_a_long_name_is_refused() {
        refused(
            &archive(&[pax(&[("path", b"a\0/etc/x")]), file("x", b"x")]),
            "a NUL in its name",
        );
        // "a\0b": readers disagree on where the name ends.
        let long = [
            header(b"././@LongLink", b'L', 4, b"", GNU),
            padded(b"a\0b\0"),
        ]
        .concat();
        refused(&archive(&[long, file("x", b"x")]), "bytes after its NUL");
    }

    #[test]
    fn link_targets_come_from_the_header_a_long_link_or_a_pax_linkpath() {
        let tar = archive(&[
            file("a", b"x"),
            header(b"h", b'1', 0, b"a", POSIX),
            [
                gnu_long(b'K', b"long/target"),
                header(b"s", b'2', 0, b"t", GNU),
            ]
            .concat(),
            [
                pax(&[("linkpath", b"pax/target")]),
                header(b"p", b'2', 0, b"t", POSIX),
            ]
            .concat(),
        ]);
        let seen = entries(&tar).unwrap();
        let links: Vec<(Kind, &str, &str)> = seen
            .iter()
            .map(|(k, p, _, l)| (*k, p.as_str(), l.as_str()))
            .collect();
        assert_eq!(
            links,
            [
                (Kind::Regular, "a", ""),
                (Kind::HardLink, "h", "a"),
                (Kind::Symlink, "s", "long/target"),
                (Kind::Symlink, "p", "pax/target"),
            ]
        );
    }

    #[test]
    fn what_the_tar_crate_writes_with_gnu_headers_is_read_back_the_same() {
        // backup_before_apply's writer: long names and long link targets as GNU `L`/`K`.
        let long_dir = "d".repeat(120);
        let long_name = format!("{long_dir}/file");
        let long_target = format!("{long_dir}/{}", "t".repeat(120));
        let mut builder = ::tar::Builder::new(Vec::new());
        let mut h = ::tar::Header::new_gnu();
        h.set_size(3);
        h.set_mode(0o600);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_entry_type(::tar::EntryType::Regular);
        builder
            .append_data(&mut h, &long_name, &b"abc"[..])
            .unwrap();
        let mut h = ::tar::Header::new_gnu();
        h.set_size(0);
        h.set_mode(0o777);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_entry_type(::tar::EntryType::Symlink);
        builder.append_link(&mut h, "link", &long_target).unwrap();
        let tar = builder.into_inner().unwrap();
        let seen = entries(&tar).unwrap();
        assert_eq!(
            seen,
            [
                (Kind::Regular, long_name, 3, String::new()),
                (Kind::Symlink, "link".into(), 0, long_target),
            ]
        );
    }
}
