//! `pg_dumpall | gzip` (`.sql.gz`). Shallow: the decompressed text starts like SQL. Deep: the
//! whole stream decompresses, the text starts with the header `pg_dumpall` writes first and
//! ends with the line it writes last, `-- PostgreSQL database cluster dump complete`
//! (followed by `--` and blank lines only). `pg_dumpall` writes that line only after every
//! database was dumped, so a dump cut off by a failing `pg_dumpall` inside a pipeline that
//! still closed gzip cleanly (no `set -o pipefail`) is refused, also where the cut fell after
//! table rows, a string, a name or a function's body that spell the completion line: the
//! whole script is read as psql reads it (`sql_scan`) and must end between statements; when
//! it opened a section with `\restrict` (pg_dumpall 15.14 and later), its last psql command
//! is the `\unrestrict <key>` of its last section, with only comments after it.

use super::sql_scan::Scanner;
use super::{Refusal, bytes, decode_error, read_up_to};
use std::io::Read;

/// The first lines of a `pg_dumpall` dump (PostgreSQL 9.x to 17).
const HEADER: &[u8] = b"--\n-- PostgreSQL database cluster dump\n--\n";
/// The last lines, before trailing newlines.
const COMPLETE: &[u8] = b"\n--\n-- PostgreSQL database cluster dump complete\n--";
/// How much of the end is kept while streaming.
const TAIL: usize = 256;
/// pg_dumpall 15.14, 16.10, 17.6 and later open every section with the psql command
/// `\restrict <key>` and close it with `\unrestrict <key>`, a random key: the last command of
/// a whole dump closes its last section, and only comments follow it.
const UNRESTRICT: &[u8] = b"unrestrict ";

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
    // The commands as psql runs them: a line inside a string, a name, a function's body or a
    // table's rows is no command, and cannot know the key.
    if let Some(key) = &ended.restrict_key {
        let closed = ended
            .last_command
            .as_deref()
            .and_then(|last| last.strip_prefix(UNRESTRICT))
            == Some(key.as_slice());
        if !closed || ended.statement_after_last_command {
            return Err(Refusal::incomplete(
                "the dump's last psql command is not the `\\unrestrict <key>` that closes the section its last `\\restrict <key>` opened, with only comments after it, as pg_dumpall ends a dump: it stopped part-way (a line that spells it inside a string, a name, a function's body or a table's rows is not a command)",
            ));
        }
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

#[cfg(test)]
mod tests {
    use super::check;

    const HEAD: &str = "--\n-- PostgreSQL database cluster dump\n--\n\n\\restrict K1\nSET x = 1;\n";
    const END: &str = "\n--\n-- PostgreSQL database cluster dump complete\n--\n\n";

    fn verdict(middle: &str) -> Result<String, String> {
        let text = format!("{HEAD}{middle}{END}");
        check(text.as_bytes(), true, 7).map_err(|r| r.message)
    }

    #[test]
    fn the_last_command_closes_the_last_section_by_its_key_and_only_comments_follow() {
        assert!(verdict("\\unrestrict K1\n").is_ok());
        // pg_dumpall with every database left out: its heading follows the last command.
        assert!(verdict("\\unrestrict K1\n\n--\n-- Databases\n--\n").is_ok());
        // A later section's key, a statement after the command, no command at all.
        assert!(verdict("\\unrestrict K1\n\\restrict K2\nSET y = 2;\n\\unrestrict K1\n").is_err());
        assert!(verdict("\\unrestrict K1\nSET y = 2;\n").is_err());
        assert!(verdict("SET y = 2;\n").is_err());
        // COPY rows that spell the command: a row, not a command (its backslash is doubled).
        assert!(verdict("COPY t (a) FROM stdin;\n\\\\unrestrict K1\n\\.\n").is_err());
    }

    #[test]
    fn a_dump_without_restrict_needs_no_closing_command() {
        let text = format!("--\n-- PostgreSQL database cluster dump\n--\n\nSET x = 1;\n{END}");
        assert!(check(text.as_bytes(), true, 5).is_ok());
    }
}
