//! `pg_dump -Fc` (PostgreSQL custom format, `.dump`), walked the way `pg_restore` reads it:
//! the header (`PGDMP`, archive version 1.12 to 1.16, integer and offset sizes, compression),
//! every entry of the table of contents (each string as C reads it, to its first NUL; the
//! fields pg_dump always writes required, OIDs and dependencies as the numbers it prints),
//! then every data block to the end of the file. The dump is complete when each entry that
//! has data has exactly one block, each block's chunks end with their zero-length terminator
//! (and, for zlib-compressed data, inflate to the end of their stream), a block written where
//! the table of contents says it starts is there, and not one byte follows the last block.
//! A dump cut anywhere (inside the table of contents, inside a block, between blocks) is
//! refused as incomplete.

use super::{Refusal, bytes};
use std::collections::BTreeMap;
use std::io::{self, Read};

/// Archive versions this walk knows: PostgreSQL 11 (1.13 from 11.x, 1.12 before) to 17 (1.16).
const MIN_VERSION: (u8, u8) = (1, 12);
const MAX_VERSION: (u8, u8) = (1, 16);
/// `archCustom` in pg_backup.h.
const FORMAT_CUSTOM: u8 = 1;
/// Offset flags (pg_backup_custom.c).
const OFFSET_NOT_SET: u8 = 1;
const OFFSET_SET: u8 = 2;
const OFFSET_NO_DATA: u8 = 3;
/// Block types.
const BLOCK_DATA: u8 = 1;
const BLOCK_BLOBS: u8 = 3;
/// Strings pg_restore reads into memory are bounded here (a definition can be large; this
/// is far above any real one, and reading skips rather than keeps them).
const MAX_STRING: u64 = 1 << 30;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Compression {
    None,
    Zlib,
    /// lz4 or zstd (archive 1.15+): chunks are walked, not decompressed.
    Other,
}

/// A counting reader with pg_dump's primitive decoders.
struct Archive<R> {
    r: R,
    pos: u64,
    int_size: usize,
    off_size: usize,
}

fn cut(what: &str) -> Refusal {
    Refusal::incomplete(format!("the dump ends inside {what}: it was cut off"))
}

impl<R: Read> Archive<R> {
    fn io(e: io::Error, what: &str) -> Refusal {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            cut(what)
        } else {
            Refusal::format(format!("cannot read {what}: {e}"))
        }
    }

    fn exact(&mut self, buf: &mut [u8], what: &str) -> Result<(), Refusal> {
        self.r.read_exact(buf).map_err(|e| Self::io(e, what))?;
        self.pos += buf.len() as u64;
        Ok(())
    }

    fn byte(&mut self, what: &str) -> Result<u8, Refusal> {
        let mut b = [0u8; 1];
        self.exact(&mut b, what)?;
        Ok(b[0])
    }

    /// `ReadInt`: a sign byte, then `int_size` bytes, least significant first.
    fn int(&mut self, what: &str) -> Result<i64, Refusal> {
        let sign = self.byte(what)?;
        let mut v: u64 = 0;
        for i in 0..self.int_size {
            v |= (self.byte(what)? as u64) << (8 * i);
        }
        if sign > 1 || v > i32::MAX as u64 {
            return Err(Refusal::format(format!("{what} is not a valid integer")));
        }
        let v = v as i64;
        Ok(if sign == 1 { -v } else { v })
    }

    /// `ReadStr`: a length (negative for NULL), then that many bytes, skipped.
    fn skip_str(&mut self, what: &str) -> Result<bool, Refusal> {
        let len = self.int(what)?;
        if len < 0 {
            return Ok(false);
        }
        self.skip(len as u64, what)?;
        Ok(true)
    }

    /// `ReadStr` kept (for short strings the walk needs), as pg_restore then reads it: a C
    /// string, which ends at its first NUL (`ENCODING\0x` is `ENCODING` to its `strcmp`).
    fn str(&mut self, what: &str, max: u64) -> Result<Option<String>, Refusal> {
        let len = self.int(what)?;
        if len < 0 {
            return Ok(None);
        }
        if len as u64 > max {
            return Err(Refusal::format(format!("{what} is {len} bytes long")));
        }
        let mut buf = vec![0u8; len as usize];
        self.exact(&mut buf, what)?;
        let c_string = buf.split(|&b| b == 0).next().unwrap_or_default();
        Ok(Some(String::from_utf8_lossy(c_string).into_owned()))
    }

    fn skip(&mut self, n: u64, what: &str) -> Result<(), Refusal> {
        if n > MAX_STRING {
            return Err(Refusal::format(format!("{what} declares {n} bytes")));
        }
        let copied =
            io::copy(&mut (&mut self.r).take(n), &mut io::sink()).map_err(|e| Self::io(e, what))?;
        self.pos += copied;
        if copied < n {
            return Err(cut(what));
        }
        Ok(())
    }

    /// `ReadOffset`: a flag byte, then `off_size` bytes, least significant first.
    fn offset(&mut self, what: &str) -> Result<(u8, u64), Refusal> {
        let flag = self.byte(what)?;
        let mut v: u64 = 0;
        for i in 0..self.off_size {
            let b = self.byte(what)? as u64;
            if i < 8 {
                v |= b << (8 * i);
            } else if b != 0 {
                return Err(Refusal::format(format!("{what} is too large")));
            }
        }
        if !matches!(flag, OFFSET_NOT_SET | OFFSET_SET | OFFSET_NO_DATA) {
            return Err(Refusal::format(format!(
                "{what} has an unknown flag {flag}"
            )));
        }
        Ok((flag, v))
    }

    /// At the end of the file? (Reads one byte ahead, returned when not at the end.)
    fn next_or_end(&mut self) -> Result<Option<u8>, Refusal> {
        let mut b = [0u8; 1];
        loop {
            match self.r.read(&mut b) {
                Ok(0) => return Ok(None),
                Ok(_) => {
                    self.pos += 1;
                    return Ok(Some(b[0]));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Refusal::format(format!("cannot read the dump: {e}"))),
            }
        }
    }
}

/// One table-of-contents entry that has data: where its block should be.
struct Expected {
    offset: Option<u64>,
    seen: bool,
}

pub(super) fn check(r: impl Read) -> Result<String, Refusal> {
    let mut a = Archive {
        r,
        pos: 0,
        int_size: 4,
        off_size: 8,
    };
    let mut magic = [0u8; 5];
    a.exact(&mut magic, "the header")?;
    if &magic != b"PGDMP" {
        return Err(Refusal::format("not a PostgreSQL custom-format dump"));
    }
    let major = a.byte("the header")?;
    let minor = a.byte("the header")?;
    let _revision = a.byte("the header")?;
    let version = (major, minor);
    if !(MIN_VERSION..=MAX_VERSION).contains(&version) {
        return Err(Refusal::format(format!(
            "archive version {major}.{minor} is outside what this gate walks ({}.{} to {}.{}); refused under deep verification",
            MIN_VERSION.0, MIN_VERSION.1, MAX_VERSION.0, MAX_VERSION.1
        )));
    }
    a.int_size = a.byte("the header")? as usize;
    a.off_size = a.byte("the header")? as usize;
    // pg_restore refuses integers wider than its C `int` (4 bytes).
    if !(1..=4).contains(&a.int_size) || !(1..=16).contains(&a.off_size) {
        return Err(Refusal::format(
            "the header's integer or offset size is impossible",
        ));
    }
    let format = a.byte("the header")?;
    if format != FORMAT_CUSTOM {
        return Err(Refusal::format(format!(
            "archive format {format} is not the custom format (pg_dump -Fc)"
        )));
    }
    let compression = if version >= (1, 15) {
        match a.byte("the header")? {
            0 => Compression::None,
            1 => Compression::Zlib,
            2 | 3 => Compression::Other,
            other => {
                return Err(Refusal::format(format!(
                    "unknown compression algorithm {other}"
                )));
            }
        }
    } else {
        match a.int("the header")? {
            0 => Compression::None,
            -1..=9 => Compression::Zlib,
            _ => return Err(Refusal::format("the compression level is impossible")),
        }
    };
    for _ in 0..7 {
        a.int("the header's timestamp")?;
    }
    a.skip_str("the database name")?;
    a.skip_str("the server version")?;
    a.skip_str("the pg_dump version")?;

    let count = a.int("the table of contents")?;
    if count < 0 {
        return Err(Refusal::format(
            "the table of contents has a negative length",
        ));
    }
    let mut with_data: BTreeMap<i64, Expected> = BTreeMap::new();
    let mut max_dump_id = 0i64;
    // Each TABLE DATA entry's first dependency, its table (pg_restore's `tableDataId`).
    let mut table_of_data: Vec<(i64, i64)> = Vec::new();
    for i in 0..count {
        let what = format!("table-of-contents entry {}", i + 1);
        let what = what.as_str();
        let dump_id = a.int(what)?;
        if dump_id <= 0 {
            return Err(Refusal::format(format!("{what} has an invalid dump id")));
        }
        max_dump_id = max_dump_id.max(dump_id);
        a.int(what)?; // hadDumper
        // pg_dump writes both OIDs as `%u`; pg_restore `sscanf`s them (a NULL crashes it).
        decimal(a.str(what, 16)?, what, "table OID")?;
        decimal(a.str(what, 16)?, what, "OID")?;
        if !a.skip_str(what)? {
            return Err(Refusal::format(format!("{what} has no tag")));
        }
        let Some(desc) = a.str(what, 256)? else {
            return Err(Refusal::format(format!("{what} has no description")));
        };
        a.int(what)?; // section
        match desc.as_str() {
            // pg_restore reads these while it reads the table of contents, and stops on a
            // value it does not know: so does this walk.
            "ENCODING" => encoding_entry(a.str(what, 4096)?.as_deref())?,
            "STDSTRINGS" => std_strings_entry(a.str(what, 4096)?.as_deref())?,
            // `pg_strdup` of a NULL definition stops pg_restore.
            "SEARCHPATH" => {
                if !a.skip_str(what)? {
                    return Err(Refusal::format(format!(
                        "{what} is a SEARCHPATH entry without a definition"
                    )));
                }
            }
            _ => {
                a.skip_str(what)?; // defn
            }
        }
        a.skip_str(what)?; // dropStmt
        a.skip_str(what)?; // copyStmt
        a.skip_str(what)?; // namespace
        a.skip_str(what)?; // tablespace
        if version >= (1, 14) {
            a.skip_str(what)?; // tableam
        }
        if version >= (1, 16) {
            a.int(what)?; // relkind
        }
        a.skip_str(what)?; // owner
        match a.str(what, 16)?.as_deref() {
            Some("false") => {}
            Some("true") => {
                return Err(Refusal::format(format!(
                    "{what} is a table WITH OIDS, which pg_restore no longer restores"
                )));
            }
            _ => {
                return Err(Refusal::format(format!(
                    "{what} says neither `true` nor `false` for WITH OIDS"
                )));
            }
        }
        // Dependencies: dump ids pg_dump writes as `%d`, until a NULL.
        let mut deps = 0u32;
        while let Some(dep) = a.str(what, 16)? {
            let id = decimal(Some(dep), what, "dependency")?;
            if id == 0 || id > i32::MAX as u64 {
                return Err(Refusal::format(format!(
                    "{what} depends on dump id {id}, which no entry can have"
                )));
            }
            if deps == 0 && desc == "TABLE DATA" {
                table_of_data.push((i + 1, id as i64));
            }
            deps = deps
                .checked_add(1)
                .ok_or_else(|| Refusal::format("too many dependencies"))?;
        }
        let (flag, offset) = a.offset(what)?;
        if flag != OFFSET_NO_DATA {
            let expected = Expected {
                offset: (flag == OFFSET_SET).then_some(offset),
                seen: false,
            };
            if with_data.insert(dump_id, expected).is_some() {
                return Err(Refusal::format(format!("dump id {dump_id} appears twice")));
            }
        }
    }
    let toc_end = a.pos;
    // `buildTocEntryArrays`: the table a TABLE DATA entry belongs to must be a dump id the
    // archive can hold (its own table may be absent, from a data-only dump).
    if let Some((entry, table)) = table_of_data.iter().find(|(_, t)| *t > max_dump_id) {
        return Err(Refusal::format(format!(
            "table-of-contents entry {entry} is TABLE DATA of dump id {table}, beyond the archive's last ({max_dump_id})"
        )));
    }

    // The data blocks, to the end of the file.
    let mut blocks = 0u64;
    let mut data_bytes = 0u64;
    while let Some(kind) = a.next_or_end()? {
        let start = a.pos - 1;
        let id = a.int("a data block header")?;
        let Some(expected) = with_data.get_mut(&id) else {
            return Err(Refusal::format(format!(
                "a data block at byte {start} is for dump id {id}, which the table of contents does not list with data"
            )));
        };
        if std::mem::replace(&mut expected.seen, true) {
            return Err(Refusal::format(format!("dump id {id} has two data blocks")));
        }
        if let Some(offset) = expected.offset
            && offset != start
        {
            return Err(Refusal::format(format!(
                "the block of dump id {id} is at byte {start}; the table of contents says {offset}"
            )));
        }
        match kind {
            BLOCK_DATA => data_bytes = data_bytes.saturating_add(chunks(&mut a, compression)?),
            BLOCK_BLOBS => loop {
                let oid = a.int("a large object")?;
                if oid == 0 {
                    break;
                }
                data_bytes = data_bytes.saturating_add(chunks(&mut a, compression)?);
            },
            other => {
                return Err(Refusal::format(format!(
                    "unknown data block type {other} at byte {start}: not a complete custom-format dump"
                )));
            }
        }
        blocks += 1;
    }
    if let Some((id, _)) = with_data.iter().find(|(_, e)| !e.seen) {
        return Err(Refusal::incomplete(format!(
            "the data of dump id {id} is missing ({} of {} blocks present): the dump was cut off",
            blocks,
            with_data.len()
        )));
    }
    Ok(format!(
        "PostgreSQL custom-format dump {major}.{minor}, {count} table-of-contents entries ({}), {blocks} data blocks ({} stored) walked to the end of the file",
        bytes(toc_end),
        bytes(data_bytes)
    ))
}

/// One block's chunks (`<int length><bytes>` until a zero length); zlib data must inflate to
/// the end of its stream. Returns the stored bytes.
fn chunks<R: Read>(a: &mut Archive<R>, compression: Compression) -> Result<u64, Refusal> {
    let mut inflate = (compression == Compression::Zlib).then(|| flate2::Decompress::new(true));
    let mut ended = false;
    let mut total = 0u64;
    // The chunk's length comes from the file: it is read in fixed pieces, never allocated.
    let mut input = vec![0u8; 64 * 1024];
    let mut sink = vec![0u8; 64 * 1024];
    loop {
        let len = a.int("a data chunk")?;
        if len == 0 {
            break;
        }
        if len < 0 {
            return Err(Refusal::format("a data chunk has a negative length"));
        }
        let mut remaining = len as u64;
        total = total
            .checked_add(remaining)
            .ok_or_else(|| Refusal::format("the data chunks' sizes overflow"))?;
        while remaining > 0 {
            let n = remaining.min(input.len() as u64) as usize;
            a.exact(&mut input[..n], "a data chunk")?;
            remaining -= n as u64;
            let Some(z) = &mut inflate else { continue };
            let mut rest: &[u8] = &input[..n];
            while !rest.is_empty() {
                if ended {
                    return Err(Refusal::format(
                        "compressed data continues after its stream ended",
                    ));
                }
                let before = z.total_in();
                let status = z
                    .decompress(rest, &mut sink, flate2::FlushDecompress::None)
                    .map_err(|e| Refusal::format(format!("a data block does not inflate: {e}")))?;
                let used = (z.total_in() - before) as usize;
                rest = &rest[used..];
                if status == flate2::Status::StreamEnd {
                    ended = true;
                } else if used == 0 && status == flate2::Status::BufError {
                    return Err(Refusal::format("a data block does not inflate"));
                }
            }
        }
    }
    if let Some(z) = &mut inflate {
        // Flush what the inflater holds: the stream must end here.
        while !ended {
            let before = z.total_out();
            let status = z
                .decompress(&[], &mut sink, flate2::FlushDecompress::Finish)
                .map_err(|e| Refusal::format(format!("a data block does not inflate: {e}")))?;
            if status == flate2::Status::StreamEnd {
                ended = true;
            } else if z.total_out() == before {
                return Err(Refusal::incomplete(
                    "a data block's compressed stream does not end: the dump was cut off",
                ));
            }
        }
    }
    Ok(total)
}

/// A number pg_dump wrote with `%u` or `%d`: ASCII digits of a 32-bit value (pg_restore's
/// `sscanf` would take a prefix, or leave the value unset; pg_dump never writes either).
fn decimal(field: Option<String>, what: &str, name: &str) -> Result<u64, Refusal> {
    field
        .filter(|f| !f.is_empty() && f.len() <= 10 && f.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|f| f.parse::<u32>().ok())
        .map(u64::from)
        .ok_or_else(|| Refusal::format(format!("{what} has a {name} that is not a number")))
}

/// The names `pg_char_to_encoding` knows (PostgreSQL's `pg_encname_tbl`), after its clean-up:
/// ASCII letters and digits only, lower case.
const ENCODING_NAMES: &[&str] = &[
    "abc",
    "alt",
    "big5",
    "euccn",
    "eucjis2004",
    "eucjp",
    "euckr",
    "euctw",
    "gb18030",
    "gbk",
    "iso88591",
    "iso885910",
    "iso885913",
    "iso885914",
    "iso885915",
    "iso885916",
    "iso88592",
    "iso88593",
    "iso88594",
    "iso88595",
    "iso88596",
    "iso88597",
    "iso88598",
    "iso88599",
    "johab",
    "koi8",
    "koi8r",
    "koi8u",
    "latin1",
    "latin10",
    "latin2",
    "latin3",
    "latin4",
    "latin5",
    "latin6",
    "latin7",
    "latin8",
    "latin9",
    "mskanji",
    "muleinternal",
    "shiftjis",
    "shiftjis2004",
    "sjis",
    "sqlascii",
    "tcvn",
    "tcvn5712",
    "uhc",
    "unicode",
    "utf8",
    "vscii",
    "win",
    "win1250",
    "win1251",
    "win1252",
    "win1253",
    "win1254",
    "win1255",
    "win1256",
    "win1257",
    "win1258",
    "win866",
    "win874",
    "win932",
    "win936",
    "win949",
    "win950",
    "windows1250",
    "windows1251",
    "windows1252",
    "windows1253",
    "windows1254",
    "windows1255",
    "windows1256",
    "windows1257",
    "windows1258",
    "windows866",
    "windows874",
    "windows932",
    "windows936",
    "windows949",
    "windows950",
];

/// `processEncodingEntry`: `SET client_encoding = 'name';` with a name PostgreSQL knows.
fn encoding_entry(defn: Option<&str>) -> Result<(), Refusal> {
    let invalid = || Refusal::format("the dump's ENCODING entry is not one pg_restore reads");
    let rest = defn.and_then(|d| d.split_once('\'')).ok_or_else(invalid)?.1;
    let (name, _) = rest.split_once('\'').ok_or_else(invalid)?;
    // pg_char_to_encoding: a name of NAMEDATALEN (64) bytes or more is unknown.
    let cleaned: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if name.len() >= 64 || !ENCODING_NAMES.contains(&cleaned.as_str()) {
        return Err(Refusal::format(
            "the dump's ENCODING entry names an encoding PostgreSQL does not know",
        ));
    }
    Ok(())
}

/// `processStdStringsEntry`: the first quoted value is exactly `'on'` or `'off'`.
fn std_strings_entry(defn: Option<&str>) -> Result<(), Refusal> {
    let quoted = defn.and_then(|d| d.find('\'').map(|i| &d[i..]));
    match quoted {
        Some(q) if q.starts_with("'on'") || q.starts_with("'off'") => Ok(()),
        _ => Err(Refusal::format(
            "the dump's STDSTRINGS entry is not one pg_restore reads",
        )),
    }
}

#[cfg(test)]
mod entry_tests {
    use super::{encoding_entry, std_strings_entry};

    #[test]
    fn encoding_names_are_read_as_pg_restore_reads_them() {
        assert!(encoding_entry(Some("SET client_encoding = 'UTF8';\n")).is_ok());
        assert!(encoding_entry(Some("SET client_encoding = 'iso-8859-1';\n")).is_ok());
        assert!(encoding_entry(Some("SET client_encoding = 'UTF5';\n")).is_err());
        assert!(encoding_entry(Some("SET client_encoding = UTF8;\n")).is_err());
        assert!(encoding_entry(None).is_err());
    }

    #[test]
    fn std_strings_is_on_or_off() {
        assert!(std_strings_entry(Some("SET standard_conforming_strings = 'on';\n")).is_ok());
        assert!(std_strings_entry(Some("SET standard_conforming_strings = 'off';\n")).is_ok());
        assert!(std_strings_entry(Some("SET standard_conforming_strings = 'no';\n")).is_err());
    }
}

/// Archives written here field by field, as pg_dump 15 writes them (archive 1.14, 4-byte
/// integers, 8-byte offsets, no compression), each with one entry changed.
#[cfg(test)]
mod toc_tests {
    use super::check;

    #[derive(Clone)]
    struct Entry {
        dump_id: i32,
        oids: [Option<&'static str>; 2],
        tag: Option<&'static str>,
        desc: Option<&'static str>,
        defn: Option<&'static str>,
        with_oids: Option<&'static str>,
        deps: Vec<&'static str>,
        /// Has a data block (of one empty chunk list), right after the table of contents.
        data: bool,
    }

    fn entry(dump_id: i32, desc: &'static str) -> Entry {
        Entry {
            dump_id,
            oids: [Some("1259"), Some("16384")],
            tag: Some("t"),
            desc: Some(desc),
            defn: Some(""),
            with_oids: Some("false"),
            deps: Vec::new(),
            data: false,
        }
    }

    fn int(out: &mut Vec<u8>, v: i32) {
        out.push(u8::from(v < 0));
        out.extend_from_slice(&v.unsigned_abs().to_le_bytes());
    }

    fn str(out: &mut Vec<u8>, s: Option<&str>) {
        match s {
            None => int(out, -1),
            Some(s) => {
                int(out, s.len() as i32);
                out.extend_from_slice(s.as_bytes());
            }
        }
    }

    /// A table, its data and the data's block: the shape of every real dump's tables.
    fn table_and_data() -> Vec<Entry> {
        let mut data = entry(3, "TABLE DATA");
        data.deps = vec!["2"];
        data.data = true;
        vec![entry(1, "ENCODING"), entry(2, "TABLE"), data]
    }

    fn archive(entries: &[Entry]) -> Vec<u8> {
        let mut out = b"PGDMP\x01\x0e\x00\x04\x08\x01".to_vec();
        int(&mut out, 0); // compression
        for _ in 0..7 {
            int(&mut out, 0);
        }
        for s in ["postgres", "15.18", "15.18"] {
            str(&mut out, Some(s));
        }
        int(&mut out, entries.len() as i32);
        for e in entries {
            int(&mut out, e.dump_id);
            int(&mut out, i32::from(e.data));
            str(&mut out, e.oids[0]);
            str(&mut out, e.oids[1]);
            str(&mut out, e.tag);
            str(&mut out, e.desc);
            int(&mut out, 1); // section
            let defn = match e.desc {
                Some("ENCODING") => Some("SET client_encoding = 'UTF8';\n"),
                _ => e.defn,
            };
            str(&mut out, defn);
            for _ in 0..6 {
                str(&mut out, Some("")); // dropStmt, copyStmt, namespace, tablespace, tableam, owner
            }
            str(&mut out, e.with_oids);
            for d in &e.deps {
                str(&mut out, Some(d));
            }
            str(&mut out, None);
            // No data: flag 3; data without a recorded offset: flag 1.
            out.push(if e.data { 1 } else { 3 });
            out.extend_from_slice(&[0u8; 8]);
        }
        for e in entries.iter().filter(|e| e.data) {
            out.push(1); // a data block
            int(&mut out, e.dump_id);
            int(&mut out, 0); // no chunks
        }
        out
    }

    fn verdict(entries: &[Entry]) -> Result<String, String> {
        check(&archive(entries)[..]).map_err(|r| r.message)
    }

    #[test]
    fn the_archive_as_pg_dump_writes_it_is_walked_to_its_end() {
        let detail = verdict(&table_and_data()).unwrap();
        assert!(detail.contains("3 table-of-contents entries"), "{detail}");
        assert!(detail.contains("1 data blocks"), "{detail}");
    }

    #[test]
    fn a_table_data_entry_s_table_must_be_a_dump_id_the_archive_holds() {
        let mut entries = table_and_data();
        // The table may be absent (a data-only dump) as long as its id is not past the last.
        entries.remove(1);
        entries[1].deps = vec!["2"];
        assert!(verdict(&entries).is_ok());
        entries[1].deps = vec!["4"];
        let err = verdict(&entries).unwrap_err();
        assert!(err.contains("TABLE DATA of dump id 4"), "{err}");
        // Only the first dependency names the table.
        let mut entries = table_and_data();
        entries[2].deps = vec!["2", "9"];
        assert!(verdict(&entries).is_ok());
    }

    #[test]
    fn dependencies_and_oids_are_the_numbers_pg_dump_prints() {
        for dep in ["'2", "2x", " 2", "-2", "0", "", "2147483648", "99999999999"] {
            let mut entries = table_and_data();
            entries[2].deps = vec![dep];
            assert!(verdict(&entries).is_err(), "dependency {dep:?}");
        }
        for oid in [None, Some(""), Some("16384a"), Some("4294967296")] {
            for field in 0..2 {
                let mut entries = table_and_data();
                entries[1].oids[field] = oid;
                assert!(verdict(&entries).is_err(), "oid {field} {oid:?}");
            }
        }
    }

    #[test]
    fn fields_pg_dump_always_writes_are_required() {
        let mut entries = table_and_data();
        entries[1].tag = None;
        assert!(verdict(&entries).unwrap_err().contains("no tag"));
        let mut entries = table_and_data();
        entries[1].desc = None;
        assert!(verdict(&entries).unwrap_err().contains("no description"));
        for with_oids in [None, Some("yes"), Some("")] {
            let mut entries = table_and_data();
            entries[1].with_oids = with_oids;
            let err = verdict(&entries).unwrap_err();
            assert!(
                err.contains("neither `true` nor `false`"),
                "{with_oids:?}: {err}"
            );
        }
        let mut entries = table_and_data();
        entries[1].with_oids = Some("true");
        assert!(verdict(&entries).unwrap_err().contains("WITH OIDS"));
        let mut entries = table_and_data();
        entries.push(entry(4, "SEARCHPATH"));
        assert!(verdict(&entries).is_ok());
        entries[3].defn = None;
        assert!(
            verdict(&entries)
                .unwrap_err()
                .contains("SEARCHPATH entry without")
        );
    }
}
