//! The Redis drill: a throw-away `redis-server` on a private Unix socket (no TCP port), whose
//! `dir`/`dbfilename` point at a copy of the RDB, loaded with payload sanitization on; then the
//! keys of every database are read from `INFO keyspace`.

use super::Failure;
use super::scratch::{Runner, ScratchDir, Server};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::time::Duration;

const READY_TIMEOUT: Duration = Duration::from_secs(120);
const RDB_NAME: &str = "restore.rdb";

/// A running scratch server with the backup loaded.
pub struct Instance<'a> {
    runner: &'a Runner,
    socket: PathBuf,
    _server: Server,
}

/// Copy the backup (as read from `rdb`) into the scratch directory, mode 0600, owned by the
/// run-as user. Returns the directory holding it.
pub fn stage(
    runner: &Runner,
    scratch: &ScratchDir,
    rdb: &mut dyn Read,
) -> Result<PathBuf, Failure> {
    let dir = scratch
        .subdir("redis", runner.run_as)
        .map_err(Failure::CouldNotRun)?;
    let path = dir.join(RDB_NAME);
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| Failure::CouldNotRun(format!("cannot create {}: {e}", path.display())))?;
    std::io::copy(rdb, &mut out)
        .map_err(|e| Failure::CouldNotRun(format!("cannot copy the RDB to the scratch: {e}")))?;
    out.flush()
        .map_err(|e| Failure::CouldNotRun(format!("cannot write the scratch RDB: {e}")))?;
    if runner.run_as.dropped {
        // Through the descriptor: the directory is that user's, who may have put a link in
        // the copy's place meanwhile; a chown by name would give away the link's target.
        std::os::unix::fs::fchown(&out, Some(runner.run_as.uid), Some(runner.run_as.gid))
            .map_err(|e| Failure::CouldNotRun(format!("cannot chown {}: {e}", path.display())))?;
    }
    Ok(dir)
}

impl<'a> Instance<'a> {
    /// Start the server on the staged copy. A server that exits while loading means the RDB
    /// did not restore.
    pub fn start(
        runner: &'a Runner,
        scratch: &ScratchDir,
        dir: PathBuf,
    ) -> Result<Instance<'a>, Failure> {
        let socket = dir.join("redis.sock");
        let args: Vec<OsString> = vec![
            "--port".into(),
            "0".into(),
            "--unixsocket".into(),
            socket.clone().into(),
            "--unixsocketperm".into(),
            "700".into(),
            "--dir".into(),
            dir.clone().into(),
            "--dbfilename".into(),
            RDB_NAME.into(),
            "--save".into(),
            "".into(),
            "--appendonly".into(),
            "no".into(),
            "--daemonize".into(),
            "no".into(),
            "--sanitize-dump-payload".into(),
            "yes".into(),
            "--logfile".into(),
            "".into(),
        ];
        let cmd = runner.command("redis-server", &args);
        let mut server = Server::start(
            "redis-server",
            cmd,
            scratch.path().join("redis-server.log"),
            libc::SIGTERM,
        )
        .map_err(Failure::CouldNotRun)?;
        let probe = |runner: &Runner| {
            runner
                .output(
                    "redis-cli",
                    &[
                        "-s".into(),
                        socket.clone().into(),
                        "INFO".into(),
                        "persistence".into(),
                    ],
                )
                .map(|out| {
                    String::from_utf8_lossy(&out)
                        .lines()
                        .any(|l| l.trim() == "loading:0")
                })
                .unwrap_or(false)
        };
        server
            .wait_ready(READY_TIMEOUT, || probe(runner))
            .map_err(|e| Failure::Restore(format!("redis-server did not load the RDB: {e}")))?;
        Ok(Instance {
            runner,
            socket,
            _server: server,
        })
    }

    /// Keys per non-empty database, from `INFO keyspace` (`db0:keys=3,expires=0,...`).
    pub fn keyspace(&self) -> Result<BTreeMap<u64, u64>, Failure> {
        let out = self
            .runner
            .output(
                "redis-cli",
                &[
                    "-s".into(),
                    self.socket.clone().into(),
                    "INFO".into(),
                    "keyspace".into(),
                ],
            )
            .map_err(Failure::Restore)?;
        parse_keyspace(&String::from_utf8_lossy(&out)).map_err(Failure::Restore)
    }
}

/// `# Keyspace` lines: `dbN:keys=K,expires=E,avg_ttl=T`.
pub fn parse_keyspace(text: &str) -> Result<BTreeMap<u64, u64>, String> {
    let mut dbs = BTreeMap::new();
    for line in text.lines().map(str::trim) {
        let Some(rest) = line.strip_prefix("db") else {
            continue;
        };
        let (db, fields) = rest
            .split_once(':')
            .ok_or_else(|| format!("unexpected INFO keyspace line {line:?}"))?;
        let db: u64 = db
            .parse()
            .map_err(|_| format!("unexpected database number in {line:?}"))?;
        let keys = fields
            .split(',')
            .find_map(|f| f.strip_prefix("keys="))
            .and_then(|k| k.parse::<u64>().ok())
            .ok_or_else(|| format!("no key count in {line:?}"))?;
        if keys > 0 && dbs.insert(db, keys).is_some() {
            return Err(format!("database {db} is listed twice"));
        }
    }
    Ok(dbs)
}

pub fn versions(runner: &Runner) -> Result<BTreeMap<String, String>, String> {
    let mut v = BTreeMap::new();
    for tool in ["redis-server", "redis-cli"] {
        v.insert(tool.to_string(), runner.version(tool)?);
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Swaps the staged copy for a link to `target` half-way through the copy, as a process
    /// running as the unprivileged user (who owns the directory the copy is in) can.
    struct SwapsHalfWay {
        copy: PathBuf,
        target: PathBuf,
        sent: bool,
    }

    impl Read for SwapsHalfWay {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.sent {
                std::fs::rename(&self.copy, self.copy.with_extension("moved"))?;
                std::os::unix::fs::symlink(&self.target, &self.copy)?;
                return Ok(0);
            }
            self.sent = true;
            buf[0] = b'R';
            Ok(1)
        }
    }

    /// The copy is given to the unprivileged user through its open descriptor: a link put
    /// in its place meanwhile is never followed. As root, a chown by name would give the
    /// link's target (any file) to that user; here the link points nowhere, so a chown by
    /// name fails whoever runs the test, and one through the descriptor gives the copy.
    #[test]
    fn the_staged_copy_is_chowned_through_its_descriptor_never_through_a_link() {
        use std::os::unix::fs::MetadataExt;
        let run_as = super::super::scratch::dropped_for_tests();
        let scratch = ScratchDir::create(run_as).unwrap();
        let nowhere = scratch.path().join("absent");
        let runner = Runner {
            exec: Vec::new(),
            run_as,
            scratch: scratch.path().to_path_buf(),
        };
        let copy = scratch.path().join("redis").join(RDB_NAME);
        let mut rdb = SwapsHalfWay {
            copy: copy.clone(),
            target: nowhere.clone(),
            sent: false,
        };
        let staged = stage(&runner, &scratch, &mut rdb);
        assert!(staged.is_ok(), "{:?}", staged.err());
        // The swap happened, and nothing was made at the link's target.
        assert!(std::fs::symlink_metadata(&copy).unwrap().is_symlink());
        assert!(std::fs::symlink_metadata(&nowhere).is_err());
        let moved = std::fs::metadata(copy.with_extension("moved")).unwrap();
        assert_eq!((moved.uid(), moved.gid()), (run_as.uid, run_as.gid));
    }

    #[test]
    fn keyspace_lines_are_read_per_database() {
        let text =
            "# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=0\r\ndb5:keys=12,expires=0,avg_ttl=0\r\n";
        let dbs = parse_keyspace(text).unwrap();
        assert_eq!(dbs, BTreeMap::from([(0, 3), (5, 12)]));
    }

    #[test]
    fn a_line_without_a_key_count_is_an_error_not_zero() {
        assert!(parse_keyspace("db0:expires=1\n").is_err());
        assert!(parse_keyspace("dbx:keys=1\n").is_err());
    }
}
