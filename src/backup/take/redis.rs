//! The redis procedure: `redis-cli --rdb -` streams a fresh RDB file (the server forks a
//! BGSAVE to serve it) and `INFO keyspace` counts the keys per database. A server that does
//! not answer PING with PONG (password-protected: NOAUTH, or unreachable) is never
//! authenticated to by guessing: the caller falls back to archiving the module's mounts.

use super::super::evidence::RedisDb;
use super::run::{self, Failure};
use std::io::Write;

const MAX_INFO: usize = 1024 * 1024;

fn with(cli: &[String], args: &[&str]) -> Vec<String> {
    let mut argv = cli.to_vec();
    argv.extend(args.iter().map(|a| a.to_string()));
    argv
}

/// `Ok` when the server answers PING with PONG without credentials.
pub fn probe(exec: &[String], container: &str, cli: &[String]) -> Result<(), String> {
    match run::output(&run::argv(exec, container, &with(cli, &["PING"])), 4096) {
        Ok(out) if out.trim_ascii() == b"PONG" => Ok(()),
        Ok(out) => Err(format!(
            "the server answered PING with `{}`",
            run::scrub(&crate::model::truncate(&String::from_utf8_lossy(&out)))
        )),
        Err(f) => Err(f.to_string()),
    }
}

/// `redis-cli --rdb -` argv (after `exec`).
pub fn dump_argv(cli: &[String]) -> Vec<String> {
    with(cli, &["--rdb", "-"])
}

/// The delimiter of a diskless replication transfer: 40 random hex characters after the RDB.
const EOF_MARK: usize = 40;
/// The RDB's own end: the EOF opcode and an 8-byte CRC64.
const RDB_END: usize = 9;

/// Writes an `--rdb -` stream through, holding back its last bytes: `redis-cli` (7.0) writes
/// a diskless transfer's EOF mark to standard output after the RDB (it can only cut it from a
/// real file). [`EofMarkStripper::finish`] drops exactly that mark when the held bytes are the
/// RDB's EOF opcode, its checksum and 40 hex characters; the gates' deep check then reads the
/// result to its EOF opcode and checksum, so a wrong cut could not pass unnoticed.
pub struct EofMarkStripper<W: Write> {
    inner: W,
    held: Vec<u8>,
}

impl<W: Write> EofMarkStripper<W> {
    pub fn new(inner: W) -> Self {
        EofMarkStripper {
            inner,
            held: Vec::with_capacity(2 * (EOF_MARK + RDB_END)),
        }
    }

    /// Write what was held back (less the EOF mark, when it is one) and return the writer.
    pub fn finish(mut self) -> std::io::Result<W> {
        let n = self.held.len();
        let marked = n == EOF_MARK + RDB_END
            && self.held[0] == 0xff
            && self.held[RDB_END..]
                .iter()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b));
        let keep = if marked { RDB_END } else { n };
        self.inner.write_all(&self.held[..keep])?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for EofMarkStripper<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.held.extend_from_slice(data);
        let keep = EOF_MARK + RDB_END;
        if self.held.len() > keep {
            let out = self.held.len() - keep;
            self.inner.write_all(&self.held[..out])?;
            self.held.drain(..out);
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        // Held bytes stay held until `finish`: they may be the mark.
        self.inner.flush()
    }
}

/// Keys per non-empty database, sorted by db.
pub fn inventory(
    exec: &[String],
    container: &str,
    cli: &[String],
) -> Result<Vec<RedisDb>, Failure> {
    let out = run::output(
        &run::argv(exec, container, &with(cli, &["INFO", "keyspace"])),
        MAX_INFO,
    )?;
    parse_keyspace(&String::from_utf8_lossy(&out)).map_err(|what| Failure {
        what,
        stderr: String::new(),
    })
}

/// `# Keyspace` then `db0:keys=1,expires=0,avg_ttl=0` lines.
pub fn parse_keyspace(text: &str) -> Result<Vec<RedisDb>, String> {
    let mut dbs = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || {
            format!(
                "unexpected INFO keyspace line `{}`",
                crate::model::truncate(line)
            )
        };
        let (db, fields) = line.split_once(':').ok_or_else(bad)?;
        let db: u64 = db
            .strip_prefix("db")
            .and_then(|n| n.parse().ok())
            .ok_or_else(bad)?;
        let keys: u64 = fields
            .split(',')
            .find_map(|f| f.strip_prefix("keys="))
            .and_then(|n| n.parse().ok())
            .ok_or_else(bad)?;
        if keys > 0 {
            dbs.push(RedisDb { db, keys });
        }
    }
    dbs.sort_by_key(|d| d.db);
    if dbs.windows(2).any(|w| w[0].db == w[1].db) {
        return Err("INFO keyspace lists a database twice".into());
    }
    Ok(dbs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn through(chunks: &[&[u8]]) -> Vec<u8> {
        let mut w = EofMarkStripper::new(Vec::new());
        for c in chunks {
            w.write_all(c).unwrap();
        }
        w.finish().unwrap()
    }

    #[test]
    fn the_eof_mark_is_cut_and_nothing_else() {
        let rdb: Vec<u8> = [
            &b"REDIS0010"[..],
            &[0xfe, 0, 0xff],
            &[1, 2, 3, 4, 5, 6, 7, 8],
        ]
        .concat();
        let mark = b"6b662f1eb4e5f742fb3e5515c2266636ce2af06c";
        let marked = [rdb.as_slice(), mark].concat();
        assert_eq!(through(&[&marked]), rdb);
        assert_eq!(through(&[&marked[..5], &marked[5..30], &marked[30..]]), rdb);
        // No mark: every byte goes through.
        assert_eq!(through(&[&rdb]), rdb);
        let long: Vec<u8> = (0..500u32).map(|i| i as u8).collect();
        assert_eq!(through(&[&long[..100], &long[100..]]), long);
        // Hex characters not preceded by the RDB's end are data.
        let not_mark = [&b"REDIS0010xxxxxxxxx"[..], mark].concat();
        assert_eq!(through(&[&not_mark]), not_mark);
    }

    #[test]
    fn keyspace_lines_are_read_strictly() {
        let dbs = parse_keyspace(
            "# Keyspace\r\ndb2:keys=1,expires=0,avg_ttl=0\r\ndb0:keys=12,expires=1,avg_ttl=5\r\n",
        )
        .unwrap();
        assert_eq!(
            dbs,
            [RedisDb { db: 0, keys: 12 }, RedisDb { db: 2, keys: 1 }]
        );
        assert_eq!(parse_keyspace("# Keyspace\r\n").unwrap(), []);
        assert!(parse_keyspace("db0:keys=x").is_err());
        assert!(parse_keyspace("ERR unknown").is_err());
        assert!(parse_keyspace("db0:keys=1\ndb0:keys=2").is_err());
    }
}
