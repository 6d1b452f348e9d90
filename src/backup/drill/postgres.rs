//! The PostgreSQL drill: a throw-away cluster from `initdb` on a private Unix socket (no TCP),
//! the `pg_dumpall` SQL streamed into `psql -f -` with `ON_ERROR_STOP`, then every ordinary
//! table of every user schema counted exactly, database by database.

use super::Failure;
use super::scratch::{Runner, ScratchDir, Server, describe, tail};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
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
/// The database the list of databases is asked from (with its own tables' counts).
const LIST_FROM: &str = "postgres";
/// The template every cluster has; like [`LIST_FROM`], listed only when it holds user tables.
const TEMPLATE: &str = "template1";

/// How often the pid file is read while the server starts.
const READY_POLL: Duration = Duration::from_millis(5);
/// How long the pid file may say nothing before psql is asked instead: the server writes
/// the file, status line included, first thing when it starts; where it says nothing after
/// this long (an exec prefix that keeps the data directory elsewhere, a server older than
/// PostgreSQL 10), psql is asked at [`PROBE_PACE`].
const PID_FILE_GRACE: Duration = Duration::from_secs(1);
/// How often psql is asked when the pid file says nothing.
const PROBE_PACE: Duration = Duration::from_millis(50);
/// The largest pid file read (PostgreSQL's has 8 short lines).
const MAX_PID_FILE: u64 = 4096;

/// Whether `postmaster.pid` says that the server accepts connections: its eighth line is
/// the server's status, `ready` once it does (PostgreSQL 10 and later; what `pg_ctl start`
/// waits for, and all it waits for). `Some(false)` for any other status (`starting`,
/// `stopping`); `None` when the file cannot be read or has no status line (yet, or ever: an
/// older server), so that the caller asks psql instead once the file had time to appear.
fn pid_file_says_ready(pid_file: &Path) -> Option<bool> {
    let mut text = String::new();
    // The data directory is the unprivileged user's: never through a link, never waiting
    // on a FIFO put in the file's place.
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(pid_file)
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
        // costs nothing), and trusted as `pg_ctl` trusts it (a psql start costs a tenth of a
        // second, on the critical path). Where the file says nothing for a while, psql is
        // asked at the old pace; never before, since a psql start while the server starts
        // only slows both.
        let started = Instant::now();
        let mut last_probe: Option<Instant> = None;
        server.wait_ready_every(READY_TIMEOUT, READY_POLL, || {
            match pid_file_says_ready(&pid_file) {
                Some(ready) => return ready,
                None if started.elapsed() < PID_FILE_GRACE => return false,
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

    /// Start `psql -f -` connected to the `postgres` database, reading `input` (a file
    /// holding the whole SQL text), or else a pipe: the SQL is then written to
    /// [`Restoring::stdin`]. [`Restoring::finish`] says how the restore went. A failed
    /// statement stops psql (`ON_ERROR_STOP`).
    pub fn start_restore(&self, input: Option<std::fs::File>) -> Result<Restoring, Failure> {
        let stdin = match input {
            Some(file) => Stdio::from(file),
            None => Stdio::piped(),
        };
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
            .stdin(stdin)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Failure::CouldNotRun(self.runner.cannot_start("psql", &e)))?;
        let stdin = child.stdin.take();
        let stderr = child.stderr.take();
        // stderr is read on its own thread so that a chatty psql never blocks on a full pipe.
        let errors = std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(stderr) = stderr {
                let _ = stderr.take(4 << 20).read_to_end(&mut buf);
            }
            buf
        });
        Ok(Restoring {
            child,
            stdin,
            errors,
        })
    }

    /// Every database that allows connections but `template0` (templates too), with its
    /// tables' exact row counts; `postgres` and `template1` only when they hold user tables.
    /// `likely`: the databases the manifest names, counted at the same time as the list is
    /// asked for (one round of psql starts instead of two); the list alone says what is
    /// there: a database it does not name is not counted, whatever `likely` says, and one it
    /// names is counted in a second round if `likely` missed it.
    pub fn inventory(&self, likely: &[&str]) -> Result<Tables, Failure> {
        // `template1` is always there: counted in the first round, not a second.
        let mut jobs: Vec<&str> = vec![LIST_FROM, TEMPLATE];
        for db in likely {
            if !jobs.contains(db) {
                jobs.push(db);
            }
        }
        let mut counted = self.count_all(&jobs);
        let listed = match counted.get_mut(LIST_FROM) {
            Some(Ok(c)) => c.listed.take(),
            Some(Err(why)) => return Err(Failure::Restore(why.clone())),
            None => None,
        }
        .ok_or_else(|| Failure::Restore("unexpected psql output (databases)".into()))?;
        let missed: Vec<&str> = listed
            .iter()
            .map(String::as_str)
            .filter(|db| !jobs.contains(db))
            .collect();
        counted.extend(self.count_all(&missed));
        let mut tables = Tables::new();
        for db in &listed {
            let in_db = match counted.remove(db.as_str()) {
                Some(Ok(c)) => c.tables,
                Some(Err(why)) => return Err(Failure::Restore(why)),
                None => {
                    return Err(Failure::Restore(format!(
                        "the tables of database {db} were not counted"
                    )));
                }
            };
            if (db == LIST_FROM || db == TEMPLATE) && in_db.is_empty() {
                continue;
            }
            tables.insert(db.clone(), in_db);
        }
        Ok(tables)
    }

    /// [`Cluster::count_tables`] for each of `dbs`, a few at once (each is a psql start and
    /// a wait on the server); the list of databases is asked for with [`LIST_FROM`]'s.
    fn count_all(&self, dbs: &[&str]) -> BTreeMap<String, Result<Counted, String>> {
        let mut out = BTreeMap::new();
        for group in dbs.chunks(PARALLEL_COUNTS) {
            std::thread::scope(|scope| {
                let threads: Vec<_> = group
                    .iter()
                    .map(|db| (db, scope.spawn(|| self.count_tables(db, *db == LIST_FROM))))
                    .collect();
                for (db, t) in threads {
                    let counted = t
                        .join()
                        .unwrap_or_else(|_| Err("the thread counting rows stopped".into()));
                    out.insert(db.to_string(), counted);
                }
            });
        }
        out
    }

    /// Every ordinary table of a user schema of `db`, counted exactly on the server; with
    /// `list`, in the same psql, the databases that allow connections, but `template0`.
    fn count_tables(&self, db: &str, list: bool) -> Result<Counted, String> {
        // One query per database: query_to_xml runs the count for each row.
        let count = "SELECT encode(convert_to(n.nspname::text, 'UTF8'), 'hex'), \
            encode(convert_to(c.relname::text, 'UTF8'), 'hex'), \
            encode(convert_to((xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text, 'UTF8'), 'hex') \
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
            WHERE c.relkind = 'r' AND n.nspname <> 'information_schema' \
            AND n.nspname NOT LIKE 'pg\\_%' \
            ORDER BY 1, 2";
        // Templates too: pg_dumpall restores what they hold like any other data.
        let databases = "SELECT encode(convert_to(datname::text, 'UTF8'), 'hex') FROM pg_database \
            WHERE datallowconn AND datname <> 'template0' ORDER BY datname";
        let queries: &[&str] = if list { &[databases, count] } else { &[count] };
        let out = self.query(db, queries)?;
        let mut counted = Counted {
            listed: list.then(Vec::new),
            tables: BTreeMap::new(),
        };
        // Hex fields never hold `|`: a row of one field names a database, of three a table.
        for row in rows(&out) {
            match (row.as_slice(), counted.listed.as_mut()) {
                ([name], Some(listed)) => listed.push(name.clone()),
                ([schema, table, n], _) => {
                    let n: u64 = n.parse().map_err(|_| {
                        format!("row count of {db}.{schema}.{table} is not a number")
                    })?;
                    counted.tables.insert((schema.clone(), table.clone()), n);
                }
                _ => return Err(format!("unexpected psql output (tables of {db})")),
            }
        }
        Ok(counted)
    }

    /// `queries`, one `-c` each, in one psql connected to `db`.
    fn query(&self, db: &str, queries: &[&str]) -> Result<Vec<u8>, String> {
        let mut args: Vec<OsString> = vec![
            "-v".into(),
            "ON_ERROR_STOP=1".into(),
            "-A".into(),
            "-t".into(),
        ];
        // The restored database's own settings must neither cancel these queries nor choose
        // their names.
        args.extend(["-c".into(), crate::backup::PG_COUNT_SESSION.into()]);
        for sql in queries {
            args.extend(["-c".into(), (*sql).into()]);
        }
        self.runner
            .output("psql", &psql_args(&self.socket_dir, db, &args))
    }
}

/// What one psql counted in one database.
struct Counted {
    /// The databases of the cluster, when asked for.
    listed: Option<Vec<String>>,
    tables: BTreeMap<(String, String), u64>,
}

/// A running `psql -f -` (see [`Cluster::start_restore`]).
pub struct Restoring {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    errors: std::thread::JoinHandle<Vec<u8>>,
}

impl Restoring {
    /// psql's standard input, once: closing it ends the restore.
    pub fn stdin(&mut self) -> Option<std::process::ChildStdin> {
        self.stdin.take()
    }

    /// Wait for psql (its standard input closed first). `fed`: why the SQL could not all be
    /// written; `tail`: the last bytes written, which must end with `pg_dumpall`'s completion
    /// marker. psql's own failure is named first: it says why it stopped reading.
    pub fn finish(mut self, fed: Result<(), String>, last: &[u8]) -> Result<(), Failure> {
        drop(self.stdin.take());
        let status = self
            .child
            .wait()
            .map_err(|e| Failure::CouldNotRun(format!("cannot wait for psql: {e}")))?;
        let stderr = self.errors.join().unwrap_or_default();
        if !status.success() {
            return Err(Failure::Restore(format!(
                "psql {} restoring the dump: {}",
                describe(status),
                tail(&stderr)
            )));
        }
        fed.map_err(Failure::Restore)?;
        if !ends_with_marker(last) {
            return Err(Failure::Restore(
                "the dump does not end with pg_dumpall's completion marker (`-- PostgreSQL database cluster dump complete`): it was cut short".into(),
            ));
        }
        Ok(())
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

/// A writer (psql's standard input, or what leads to it) keeping the last [`TAIL_KEPT`]
/// bytes written to it.
pub struct TailKept<W: Write> {
    pub inner: W,
    pub last: Vec<u8>,
}

impl<W: Write> TailKept<W> {
    pub fn new(inner: W) -> TailKept<W> {
        TailKept {
            inner,
            last: Vec::with_capacity(2 * TAIL_KEPT),
        }
    }
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
