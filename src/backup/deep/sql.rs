//! `pg_dumpall | gzip` (`.sql.gz`). Shallow: the decompressed text starts like SQL. Deep: the
//! whole stream decompresses, the text starts with the header `pg_dumpall` writes first and
//! ends with the line it writes last, `-- PostgreSQL database cluster dump complete`
//! (followed by `--` and blank lines only). `pg_dumpall` writes that line only after every
//! database was dumped, so a dump cut off by a failing `pg_dumpall` inside a pipeline that
//! still closed gzip cleanly (no `set -o pipefail`) is refused.

use super::{Refusal, bytes, decode_error, read_up_to};
use std::io::Read;

/// The first lines of a `pg_dumpall` dump (PostgreSQL 9.x to 17).
const HEADER: &[u8] = b"--\n-- PostgreSQL database cluster dump\n--\n";
/// The last lines, before trailing newlines.
const COMPLETE: &[u8] = b"\n--\n-- PostgreSQL database cluster dump complete\n--";
/// How much of the end is kept while streaming.
const TAIL: usize = 256;

pub(super) fn check(mut text: impl Read, deep: bool, chunk: usize) -> Result<String, Refusal> {
    let mut first = [0u8; 4096];
    let n = read_up_to(&mut text, &mut first).map_err(|e| decode_error(e).within("gzip"))?;
    let start = &first[..n];
    if n == 0 || start.contains(&0) || !looks_like_sql(start) {
        return Err(Refusal::format(
            "gzip holds no SQL text (expected a pg_dumpall dump)",
        ));
    }
    if !deep {
        return Ok("gzip → SQL text".into());
    }
    if !start.starts_with(HEADER) {
        return Err(Refusal::format(
            "the SQL does not start with pg_dumpall's header (`-- PostgreSQL database cluster dump`); a .sql.gz backup is a pg_dumpall dump",
        ));
    }
    // Stream the rest, keeping only the last TAIL bytes.
    let mut tail: Vec<u8> = start[start.len().saturating_sub(TAIL)..].to_vec();
    let mut total = n as u64;
    let mut buf = vec![0u8; chunk];
    loop {
        let got = match text.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(decode_error(e).within("gzip")),
        };
        total = total.saturating_add(got as u64);
        let chunk = &buf[..got];
        if chunk.len() >= TAIL {
            tail.clear();
            tail.extend_from_slice(&chunk[chunk.len() - TAIL..]);
        } else {
            tail.extend_from_slice(chunk);
            let excess = tail.len().saturating_sub(TAIL);
            tail.drain(..excess);
        }
    }
    let end = tail.len() - tail.iter().rev().take_while(|b| **b == b'\n').count();
    if !tail[..end].ends_with(COMPLETE) {
        return Err(Refusal::incomplete(
            "the dump does not end with `-- PostgreSQL database cluster dump complete`, the line pg_dumpall writes last: it stopped part-way",
        ));
    }
    Ok(format!(
        "gzip → pg_dumpall SQL, {} uncompressed, every member verified, completion line found",
        bytes(total)
    ))
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
