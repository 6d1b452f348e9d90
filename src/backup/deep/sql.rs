//! `pg_dumpall | gzip` (`.sql.gz`). Shallow: the decompressed text starts like SQL. Deep: the
//! whole stream decompresses, the text starts with the header `pg_dumpall` writes first and
//! ends with the line it writes last, `-- PostgreSQL database cluster dump complete`
//! (followed by `--` and blank lines only), and, when it opened with `\restrict` (pg_dumpall
//! 15.14 and later), with `\unrestrict <key>` as the last line before it that is not a
//! comment. `pg_dumpall` writes that line only after every database was dumped, so a dump
//! cut off by a failing `pg_dumpall` inside a pipeline that still closed gzip cleanly (no
//! `set -o pipefail`) is refused, also where the cut fell after table rows, a string, a name
//! or a function's body that spell the completion line: the whole script is read as psql
//! reads it (`sql_scan`), and must end between statements, its last psql command closing the
//! last `\restrict`'s section by the same key.

use super::sql_scan::Scanner;
use super::{Refusal, bytes, decode_error, read_up_to};
use std::io::Read;

/// The first lines of a `pg_dumpall` dump (PostgreSQL 9.x to 17).
const HEADER: &[u8] = b"--\n-- PostgreSQL database cluster dump\n--\n";
/// The last lines, before trailing newlines.
const COMPLETE: &[u8] = b"\n--\n-- PostgreSQL database cluster dump complete\n--";
/// How much of the end is kept while streaming.
const TAIL: usize = 256;
/// pg_dumpall 15.14, 16.10, 17.6 and later open the dump, and every section, with a
/// `\restrict <key>` line and close each with `\unrestrict <key>`: the last line before the
/// completion line that is not a comment. A line that starts with one backslash is never
/// COPY data (COPY doubles backslashes), so a cut inside a table's rows that happen to spell
/// the completion line still lacks it.
const RESTRICT: &[u8] = b"\\restrict ";
const UNRESTRICT: &[u8] = b"\\unrestrict ";
/// The same command as the scanner gives it (without its backslash).
const UNRESTRICT_COMMAND: &[u8] = b"unrestrict ";

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
    let restricted = start
        .split(|b| *b == b'\n')
        .any(|line| line.starts_with(RESTRICT));
    // The script read as psql reads it, to know what its last lines are.
    let mut scanner = Scanner::new();
    scanner.feed(start)?;
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
        scanner.feed(chunk)?;
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
    let ended = scanner.finish()?;
    if restricted && !closes_restriction(&tail[..end - COMPLETE.len()]) {
        return Err(Refusal::incomplete(
            "the dump opens with pg_dumpall's `\\restrict` line, but the last line before its completion line that is not a comment is not `\\unrestrict <key>`, which pg_dumpall writes there: it stopped part-way (inside a table's data whose rows spell the completion line)",
        ));
    }
    // The last psql command must close the last section pg_dumpall opened, by its key: a
    // line inside a string or a function's body is no command, and cannot know the key.
    if restricted {
        let closed = match (&ended.restrict_key, &ended.last_command) {
            (Some(key), Some(last)) => {
                last.strip_prefix(UNRESTRICT_COMMAND) == Some(key.as_slice())
            }
            _ => false,
        };
        if !closed {
            return Err(Refusal::incomplete(
                "the dump's last psql command is not the `\\unrestrict <key>` that closes the section its last `\\restrict <key>` opened: it stopped part-way (a line that spells it inside a string, a function's body or a table's rows is not a command)",
            ));
        }
    }
    Ok(format!(
        "gzip → pg_dumpall SQL, {} uncompressed, every member verified, completion line found",
        bytes(total)
    ))
}

/// Whether the last line of `text` that is neither blank nor a `--` comment is a whole
/// `\unrestrict <key>` line (the key: letters and digits, as pg_dumpall makes it). Comments
/// may follow it: with every database left out, pg_dumpall writes its `-- Databases`
/// heading after the last `\unrestrict`.
fn closes_restriction(text: &[u8]) -> bool {
    let mut lines = text.split(|b| *b == b'\n').rev();
    for line in lines.by_ref() {
        if line.is_empty() || line.starts_with(b"--") {
            continue;
        }
        // The line must start inside what was kept: one cut off at the front proves nothing.
        return lines.next().is_some()
            && line
                .strip_prefix(UNRESTRICT)
                .is_some_and(|key| !key.is_empty() && key.iter().all(u8::is_ascii_alphanumeric));
    }
    false
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_whole_unrestrict_line_closes_the_restriction() {
        assert!(closes_restriction(b"\\.\n\n\\unrestrict abC123\n"));
        assert!(closes_restriction(b"x\n\\unrestrict k\n\n\n"));
        // COPY data: the backslash doubled, or no backslash line at all.
        assert!(!closes_restriction(
            b"COPY t (a) FROM stdin;\n\\\\unrestrict k\n"
        ));
        assert!(!closes_restriction(b"COPY t (a) FROM stdin;\n1\n\n"));
        // Not at a line start, cut off before the line starts, an empty or odd key.
        assert!(!closes_restriction(b"x\nSELECT 1; \\unrestrict k\n"));
        assert!(!closes_restriction(b"\\unrestrict k\n"));
        assert!(!closes_restriction(b"x\n\\unrestrict \n"));
        assert!(!closes_restriction(b"x\n\\unrestrict k'; DROP\n"));
        // pg_dumpall with every database left out: its heading follows the last one.
        assert!(closes_restriction(
            b"\n\\unrestrict Q2xr\n\n--\n-- Databases\n--\n\n"
        ));
        // Rows that look like comments all the way back are no `\unrestrict` line.
        assert!(!closes_restriction(b"--\n-- a\n--\n\n--\n"));
        assert!(!closes_restriction(b"1\n--\n-- Databases\n--\n"));
    }
}
