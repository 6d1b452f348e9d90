//! The PostgreSQL drill: a throw-away cluster from `initdb` on a private Unix socket (no TCP),
//! the `pg_dumpall` SQL streamed into `psql -f -` with `ON_ERROR_STOP`, then every ordinary
//! table of every user schema counted exactly, database by database.

use super::Failure;
use super::scratch::{Runner, ScratchDir, Server, describe, tail};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The scratch cluster's bootstrap superuser: a name a real dump is unlikely to create, so
/// that the dump's own `CREATE ROLE` statements (e.g. for `postgres`) succeed.
pub const SUPERUSER: &str = "forgejo_gates_drill";
/// The port number only names the socket file; the cluster listens on no TCP address.
const PORT: &str = "5432";
/// `pg_dumpall` writes this as its last line; a dump without it was cut short.
pub const COMPLETION_MARKER: &[u8] = b"-- PostgreSQL database cluster dump complete";
const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// The scratch server's settings: what makes a restore fast on a server that is thrown away,
/// none of which changes what is restored or what the counts see. No durability (`fsync`,
/// `synchronous_commit`, `full_page_writes`: a crash loses the cluster, which the drill
/// deletes anyway); the least WAL (`wal_level=minimal`, which needs `max_wal_senders=0`),
/// WAL files used without zero-filling them first, and checkpoints by WAL volume only, less
/// often than the default (`max_wal_size` still bounds the WAL kept in the scratch
/// directory: a checkpoint lets it be recycled); nothing else reads the tables while the
/// drill counts them (no autovacuum). `scripts/bench_backup.sh` reads this
/// list (between the markers) and gives its reference restores the same server.
// settings-start
pub const SERVER_SETTINGS: &[&str] = &[
    "fsync=off",
    "synchronous_commit=off",
    "full_page_writes=off",
    "wal_level=minimal",
    "max_wal_senders=0",
    "wal_init_zero=off",
    "max_wal_size=2GB",
    "checkpoint_timeout=1h",
    "autovacuum=off",
];
// settings-end
/// How many databases are counted at once after the restore.
const PARALLEL_COUNTS: usize = 4;

/// How often the pid file is read while the server starts.
const READY_POLL: Duration = Duration::from_millis(5);
/// How often psql is asked when the pid file says nothing.
const PROBE_PACE: Duration = Duration::from_millis(50);
/// The largest pid file read (PostgreSQL's has 8 short lines).
const MAX_PID_FILE: u64 = 4096;

/// Whether `postmaster.pid` says that the server accepts connections: its eighth line is
/// the server's status, `ready` once it does (PostgreSQL 10 and later; what `pg_ctl start`
/// waits for). `Some(false)` for any other status (`starting`, `stopping`); `None` when the
/// file cannot be read or has no status line (yet, or ever: an older server), so that the
/// caller asks psql instead.
fn pid_file_says_ready(pid_file: &Path) -> Option<bool> {
    let mut text = String::new();
    std::fs::File::open(pid_file)
        .ok()?
        .take(MAX_PID_FILE)
        .read_to_string(&mut text)
        .ok()?;
    let status = text.lines().nth(7)?.trim_end();
    Some(status == "ready")
}

/// Rows per table, per database: `db → (schema, table) → rows`.
pub type Tables = BTreeMap<String, BTreeMap<(String, String), u64>>;

/// The cluster, running until dropped (its scratch directory must outlive it).
pub struct Cluster {
    runner: Runner,
    socket_dir: String,
    _server: Server,
}

impl Cluster {
    /// `initdb`, then `postgres` on a socket in the scratch directory.
    pub fn start(runner: Runner, scratch: &ScratchDir) -> Result<Cluster, String> {
        let data = scratch.subdir("pgdata", runner.run_as)?;
        let socket = scratch.subdir("socket", runner.run_as)?;
        runner
            .output(
                "initdb",
                &[
                    "-D".into(),
                    data.clone().into(),
                    "-U".into(),
                    SUPERUSER.into(),
                    "--auth=trust".into(),
                    "-E".into(),
                    "UTF8".into(),
                    "--locale=C".into(),
                    "--no-sync".into(),
                ],
            )
            .map_err(|e| format!("initdb failed: {e}"))?;
        let pid_file = data.join("postmaster.pid");
        let mut cmd = runner.command(
            "postgres",
            &[
                "-D".into(),
                data.into(),
                "-k".into(),
                socket.clone().into(),
                "-p".into(),
                PORT.into(),
                "-c".into(),
                "listen_addresses=".into(),
            ],
        );
        for setting in SERVER_SETTINGS {
            cmd.args(["-c", setting]);
        }
        // SIGQUIT: PostgreSQL's immediate shutdown. The cluster is thrown away with its
        // directory, so the checkpoint of a fast shutdown would write data nobody reads.
        let mut server = Server::start(
            "postgres",
            cmd,
            scratch.path().join("postgres.log"),
            libc::SIGQUIT,
        )?;
        let socket_dir = socket.to_string_lossy().into_owned();
        let probe = |runner: &Runner| {
            runner
                .output(
                    "psql",
                    &psql_args(&socket_dir, "postgres", &["-c".into(), "SELECT 1".into()]),
                )
                .is_ok()
        };
        // The server says in its pid file when it accepts connections: read often (a read
        // costs nothing), and only then ask psql, whose answer is what counts. Where the file
        // says nothing (an exec prefix that keeps the data directory elsewhere, a server that
        // writes no status line), psql is asked at the old pace.
        let mut last_probe: Option<Instant> = None;
        server.wait_ready_every(READY_TIMEOUT, READY_POLL, || {
            match pid_file_says_ready(&pid_file) {
                Some(false) => return false,
                Some(true) => {}
                None if last_probe.is_some_and(|t| t.elapsed() < PROBE_PACE) => return false,
                None => {}
            }
            last_probe = Some(Instant::now());
            probe(&runner)
        })?;
        Ok(Cluster {
            runner,
            socket_dir,
            _server: server,
        })
    }

    /// Run `psql -f -` connected to the `postgres` database and let `feed` write the SQL to
    /// its standard input; `feed` returns why it could not write all of it. A failed
    /// statement stops psql (`ON_ERROR_STOP`); the SQL written must end with `pg_dumpall`'s
    /// completion marker. Constant memory: only a short tail of what was written is kept.
    pub fn restore(
        &self,
        feed: &mut dyn FnMut(&mut dyn Write) -> Result<(), String>,
    ) -> Result<(), Failure> {
        let mut child = self
            .runner
            .command(
                "psql",
                &psql_args(
                    &self.socket_dir,
                    "postgres",
                    &[
                        "-v".into(),
                        "ON_ERROR_STOP=1".into(),
                        "-f".into(),
                        "-".into(),
                    ],
                ),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Failure::CouldNotRun(self.runner.cannot_start("psql", &e)))?;
        let stdin = child.stdin.take().expect("stdin was piped");
        let stderr = child.stderr.take().expect("stderr was piped");
        // stderr is read on its own thread so that a chatty psql never blocks on a full pipe.
        let errors = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stderr.take(4 << 20).read_to_end(&mut buf);
            buf
        });
        let mut fed_to = TailKept {
            inner: stdin,
            last: Vec::with_capacity(2 * TAIL_KEPT),
        };
        let fed = feed(&mut fed_to);
        let TailKept { inner: stdin, last } = fed_to;
        drop(stdin);
        let status = child
            .wait()
            .map_err(|e| Failure::CouldNotRun(format!("cannot wait for psql: {e}")))?;
        let stderr = errors.join().unwrap_or_default();
        if !status.success() {
            return Err(Failure::Restore(format!(
                "psql {} restoring the dump: {}",
                describe(status),
                tail(&stderr)
            )));
        }
        fed.map_err(Failure::Restore)?;
        if !ends_with_marker(&last) {
            return Err(Failure::Restore(
                "the dump does not end with pg_dumpall's completion marker (`-- PostgreSQL database cluster dump complete`): it was cut short".into(),
            ));
        }
        Ok(())
    }

    /// Every database that allows connections and is not a template, with its tables' exact
    /// row counts; `postgres` only when it holds user tables.
    pub fn inventory(&self) -> Result<Tables, Failure> {
        let out = self
            .query(
                "postgres",
                "SELECT encode(convert_to(datname::text, 'UTF8'), 'hex') FROM pg_database \
                 WHERE NOT datistemplate AND datallowconn ORDER BY datname",
            )
            .map_err(Failure::Restore)?;
        let mut names = Vec::new();
        for row in rows(&out) {
            let [db] = row.as_slice() else {
                return Err(Failure::Restore(
                    "unexpected psql output (databases)".into(),
                ));
            };
            names.push(db.clone());
        }
        // A few databases are counted at once: each count is a psql start and a wait on the
        // server.
        let mut tables = Tables::new();
        for group in names.chunks(PARALLEL_COUNTS) {
            let counted: Vec<_> = std::thread::scope(|scope| {
                let threads: Vec<_> = group
                    .iter()
                    .map(|db| scope.spawn(|| self.count_tables(db)))
                    .collect();
                threads
                    .into_iter()
                    .map(|t| {
                        t.join()
                            .unwrap_or_else(|_| Err("the thread counting rows stopped".into()))
                    })
                    .collect()
            });
            for (db, counted) in group.iter().zip(counted) {
                let counted = counted.map_err(Failure::Restore)?;
                if db == "postgres" && counted.is_empty() {
                    continue;
                }
                tables.insert(db.clone(), counted);
            }
        }
        Ok(tables)
    }

    fn count_tables(&self, db: &str) -> Result<BTreeMap<(String, String), u64>, String> {
        // One query per database: every ordinary table of a user schema, counted exactly on
        // the server (query_to_xml runs the count for each row).
        let sql = "SELECT encode(convert_to(n.nspname::text, 'UTF8'), 'hex'), \
            encode(convert_to(c.relname::text, 'UTF8'), 'hex'), \
            encode(convert_to((xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text, 'UTF8'), 'hex') \
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
            WHERE c.relkind = 'r' AND n.nspname <> 'information_schema' \
            AND n.nspname NOT LIKE 'pg\\_%' \
            ORDER BY 1, 2";
        let out = self.query(db, sql)?;
        let mut counted = BTreeMap::new();
        for row in rows(&out) {
            let [schema, table, n] = row.as_slice() else {
                return Err(format!("unexpected psql output (tables of {db})"));
            };
            let n: u64 = n
                .parse()
                .map_err(|_| format!("row count of {db}.{schema}.{table} is not a number"))?;
            counted.insert((schema.clone(), table.clone()), n);
        }
        Ok(counted)
    }

    fn query(&self, db: &str, sql: &str) -> Result<Vec<u8>, String> {
        self.runner.output(
            "psql",
            &psql_args(
                &self.socket_dir,
                db,
                &[
                    "-v".into(),
                    "ON_ERROR_STOP=1".into(),
                    "-A".into(),
                    "-t".into(),
                    "-c".into(),
                    sql.into(),
                ],
            ),
        )
    }
}

/// psql's connection arguments: the private socket, the drill's superuser, no psqlrc.
fn psql_args(socket_dir: &str, db: &str, rest: &[OsString]) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![
        "-X".into(),
        "-q".into(),
        "-h".into(),
        socket_dir.into(),
        "-p".into(),
        PORT.into(),
        "-U".into(),
        SUPERUSER.into(),
        "-d".into(),
        // A connection string, so that a database named like `host=...` is only a name.
        format!("dbname='{}'", db.replace('\\', "\\\\").replace('\'', "\\'")).into(),
    ];
    args.extend(rest.iter().cloned());
    args
}

/// Rows of `psql -A -t` output whose every field is hex (`encode(...,'hex')`), so that no
/// name can forge a separator; decoded back to text.
fn rows(out: &[u8]) -> Vec<Vec<String>> {
    String::from_utf8_lossy(out)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split('|').map(unhex).collect())
        .collect()
}

fn unhex(field: &str) -> String {
    let bytes: Vec<u8> = field
        .as_bytes()
        .chunks(2)
        .filter_map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
        })
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// How much of the end of the SQL written is kept to find the completion marker.
const TAIL_KEPT: usize = 256;

/// psql's standard input, keeping the last [`TAIL_KEPT`] bytes written to it.
struct TailKept<W: Write> {
    inner: W,
    last: Vec<u8>,
}

impl<W: Write> Write for TailKept<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(data)?;
        keep_tail(&mut self.last, &data[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn keep_tail(last: &mut Vec<u8>, chunk: &[u8]) {
    if chunk.len() >= TAIL_KEPT {
        last.clear();
        last.extend_from_slice(&chunk[chunk.len() - TAIL_KEPT..]);
    } else {
        last.extend_from_slice(chunk);
        if last.len() > TAIL_KEPT {
            last.drain(..last.len() - TAIL_KEPT);
        }
    }
}

/// The last line that is not blank or a bare `--` is the completion marker (pg_dumpall ends
/// with `--`, the marker, `--` and a blank line).
fn ends_with_marker(tail: &[u8]) -> bool {
    tail.split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .rev()
        .find(|l| !l.iter().all(u8::is_ascii_whitespace) && *l != b"--")
        .is_some_and(|l| l == COMPLETION_MARKER)
}

/// The tool versions the record names.
pub fn versions(runner: &Runner) -> Result<BTreeMap<String, String>, String> {
    let mut v = BTreeMap::new();
    for tool in ["postgres", "psql"] {
        v.insert(tool.to_string(), runner.version(tool)?);
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_ready_status_line_says_ready_and_no_status_line_says_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("postmaster.pid");
        let head = "4242\n/tmp/d/pgdata\n1733100000\n5432\n/tmp/d/socket\n\n  5432001         0\n";
        assert_eq!(pid_file_says_ready(&pid_file), None, "no file yet");
        for (status, says) in [
            ("ready   ", Some(true)),
            ("starting", Some(false)),
            ("stopping", Some(false)),
            ("standby ", Some(false)),
        ] {
            std::fs::write(&pid_file, format!("{head}{status}\n")).unwrap();
            assert_eq!(pid_file_says_ready(&pid_file), says, "{status}");
        }
        // Written before its status line, or by a server that writes none: psql is asked.
        std::fs::write(&pid_file, head).unwrap();
        assert_eq!(pid_file_says_ready(&pid_file), None);
        // `ready` anywhere but the status line is not readiness.
        std::fs::write(&pid_file, "ready\nready\n").unwrap();
        assert_eq!(pid_file_says_ready(&pid_file), None);
    }

    #[test]
    fn the_marker_is_found_only_as_the_last_real_line() {
        assert!(ends_with_marker(
            b"SET x;\n--\n-- PostgreSQL database cluster dump complete\n--\n\n"
        ));
        assert!(!ends_with_marker(
            b"-- PostgreSQL database cluster dump complete\n--\nINSERT INTO t VALUES (1);\n"
        ));
        assert!(!ends_with_marker(b"COPY t FROM stdin;\n1\n"));
        assert!(!ends_with_marker(
            b"x -- PostgreSQL database cluster dump complete\n"
        ));
    }
}
