//! `restore_drill`: prove that a backup restores. The file is read once more (deep), restored
//! into a scratch instance the drill starts and removes itself (a throw-away PostgreSQL
//! cluster, a throw-away Redis server, or a scratch directory), and what came back is compared
//! with the inventory that `backup_before_apply` wrote in the backup's manifest.
//!
//! The bytes restored are hashed while they are read, so the drill record names the sha256 of
//! exactly what was restored, not of a file that may have changed since it was verified.

pub mod archive;
pub mod compare;
pub mod postgres;
pub mod record;
pub mod redis;
pub mod scratch;

use crate::backup::deep;
use crate::model::backup_format::Format;
use crate::report::code::code;
use compare::{Compared, Expected};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;

code!(
    PASSED,
    "drill.restored",
    Info,
    "The backup was restored into a scratch instance and everything the manifest lists came back.",
    "Nothing to do; the drill record beside the backup lets the gates require it (backup.require_drill)."
);
code!(
    CONTENT_DIFFERS,
    "drill.content_differs",
    Error,
    "The restored data differs from the backup's manifest (a table's rows, a database's keys, the archive's files).",
    "Do not rely on this backup: take a new one with backup_before_apply and drill it; if it differs again, the dump procedure loses data."
);
code!(
    RESTORE_FAILED,
    "drill.restore_failed",
    Error,
    "The backup could not be restored into the scratch instance (psql stopped on an error, the server refused the RDB, the archive is damaged).",
    "Read the tool's message in the reason; take a new backup with backup_before_apply and drill it again."
);
code!(
    ARCHIVE_UNSAFE,
    "drill.archive_unsafe",
    Error,
    "The archive has a member that a restore would write outside its directory (an absolute path, `..`, a link pointing out) or a device file or FIFO.",
    "Do not unpack it on a host; take the backup again with backup_before_apply, which archives the mounts without such members."
);
code!(
    BACKUP_UNREADABLE,
    "drill.backup_unreadable",
    Error,
    "The backup file is not readable as its format when read to its last byte (deep verification failed).",
    "Take the backup again; a file that cannot be read cannot be restored."
);
code!(
    MANIFEST_MISMATCH,
    "drill.manifest_mismatch",
    Error,
    "The manifest beside the backup does not describe this file or this module (its sha256, artifact name, module or class differ).",
    "Drill the backup with the manifest backup_before_apply wrote for it, and the module it was taken for; a changed file needs a new backup."
);
code!(
    MANIFEST_MISSING,
    "drill.manifest_missing",
    Error,
    "There is no manifest (`<backup>.manifest.json`) beside the backup, so there is nothing to compare the restore with.",
    "Take the backup with backup_before_apply, which writes the manifest beside it."
);
code!(
    MANIFEST_INVALID,
    "drill.manifest_invalid",
    Error,
    "The manifest beside the backup cannot be read (not a regular private file, not the manifest format, or too large).",
    "Take the backup again with backup_before_apply; never edit a manifest by hand."
);
code!(
    UNSUPPORTED,
    "drill.unsupported",
    Error,
    "There is no drill for this backup: its format does not fit its inventory, or the module has no backup class (a `.dump` has no drill yet).",
    "Back the module up with its class's procedure (postgres: sql.gz; redis: rdb; the others: a tar archive) and drill that."
);
code!(
    COULD_NOT_RUN,
    "drill.could_not_run",
    Error,
    "The scratch instance could not be started (a tool is missing from PATH, initdb failed, no unprivileged user, no temporary directory).",
    "Install the class's tools (PostgreSQL: initdb, postgres, psql; Redis: redis-server, redis-cli) or set backup.drill.<class>.exec; run as root only where the `nobody` user exists."
);
code!(
    RECORD_WRITE_FAILED,
    "drill.record_write_failed",
    Error,
    "The drill record (`<backup>.drill.json`) could not be written beside the backup.",
    "Run the drill as the user that owns the backup directory; a drill without its record proves nothing to the gates."
);

pub static CODES: &[&crate::report::Code] = &[
    &PASSED,
    &CONTENT_DIFFERS,
    &RESTORE_FAILED,
    &ARCHIVE_UNSAFE,
    &BACKUP_UNREADABLE,
    &MANIFEST_MISMATCH,
    &MANIFEST_MISSING,
    &MANIFEST_INVALID,
    &UNSUPPORTED,
    &COULD_NOT_RUN,
    &RECORD_WRITE_FAILED,
];

/// Why a drill did not pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The drill could not run (exit 2): nothing is known about the backup.
    CouldNotRun(String),
    /// The restore itself failed (exit 1).
    Restore(String),
    /// The archive would write outside its directory, or holds devices (exit 1).
    Unsafe(String),
    /// The file is not a complete backup of its format, found by the deep verification that
    /// ran in the same pass as the restore (exit 1): whatever the restore made of it does not
    /// count, however it ended.
    Unreadable(String),
}

/// What one drill is asked to do.
pub struct Request<'a> {
    /// The backup, opened without following links; read from offset 0 with positional reads.
    pub file: &'a File,
    pub format: Format,
    pub expected: &'a Expected,
}

/// What a drill that ran found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drilled {
    /// sha256 of the bytes the restore read (the whole file).
    pub sha256: String,
    /// What the scratch instance was.
    pub scratch: String,
    pub tool_versions: BTreeMap<String, String>,
    pub comparison: Vec<Compared>,
    /// The restore failed (`Restore`, `Unsafe` or `Unreadable`); the comparison is then
    /// empty.
    pub failure: Option<Failure>,
}

impl Drilled {
    pub fn passed(&self) -> bool {
        self.failure.is_none()
            && !self.comparison.is_empty()
            && self.comparison.iter().all(|c| c.ok)
    }
}

/// The scratch place, and for PostgreSQL the scratch cluster already running: made ready
/// while the backup is still being verified (a cluster takes seconds to `initdb` and start,
/// and nothing of the backup is read for that). Dropping it stops the server, then removes
/// the directory.
pub struct Prepared {
    // Fields drop in order: the server stops before its directory is removed.
    cluster: Option<postgres::Cluster>,
    versions: BTreeMap<String, String>,
    runner: scratch::Runner,
    dir: scratch::ScratchDir,
}

/// Make the scratch place ready for a `format` backup with an `expected` inventory, its
/// commands run through `exec` (the policy's `backup.drill.<class>.exec`: empty runs the
/// tools from this host's PATH). `Err` when it could not (the drill could not run).
pub fn prepare(format: Format, expected: &Expected, exec: &[String]) -> Result<Prepared, String> {
    let run_as = scratch::RunAs::pick()?;
    let dir = scratch::ScratchDir::create(run_as)?;
    let runner = scratch::Runner {
        exec: exec.to_vec(),
        run_as,
        scratch: dir.path().to_path_buf(),
    };
    let (cluster, versions) = match (expected, format) {
        (Expected::Postgres(_), Format::SqlGz) => {
            // The versions are asked for while initdb runs: two process starts that would
            // otherwise wait for it, or it for them.
            let (versions, cluster) = std::thread::scope(|scope| {
                let versions = scope.spawn(|| postgres::versions(&runner));
                let cluster = postgres::Cluster::start(runner.clone(), &dir);
                let versions = versions
                    .join()
                    .unwrap_or_else(|_| Err("the thread asking for versions stopped".into()));
                (versions, cluster)
            });
            // A missing tool is named as before: by the version probe.
            let versions = versions?;
            (Some(cluster?), versions)
        }
        _ => (None, BTreeMap::new()),
    };
    Ok(Prepared {
        cluster,
        versions,
        runner,
        dir,
    })
}

/// [`prepare`] on its own thread, so that the caller can verify the backup meanwhile.
/// Dropping it waits for the thread, so a server it started is always stopped and its
/// directory removed, also when the caller returns early.
pub struct Preparing {
    thread: Option<std::thread::JoinHandle<Result<Prepared, String>>>,
}

impl Preparing {
    pub fn start(format: Format, expected: Expected, exec: Vec<String>) -> Preparing {
        Preparing {
            thread: Some(std::thread::spawn(move || {
                prepare(format, &expected, &exec)
            })),
        }
    }

    /// The prepared place, or why it could not be made ready.
    pub fn wait(mut self) -> Result<Prepared, String> {
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(prepared)) => prepared,
            _ => Err("the thread preparing the scratch instance stopped".into()),
        }
    }
}

impl Drop for Preparing {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Restore into the prepared scratch place and compare. `Err` only when the drill could not
/// run.
pub fn run(req: &Request, prepared: Prepared) -> Result<Drilled, String> {
    let mut source = Hashing::new(req.file);
    let Prepared {
        cluster,
        versions,
        runner,
        dir,
    } = prepared;
    let (scratch_kind, tool_versions, restored) = match (req.expected, req.format, cluster) {
        (Expected::Postgres(_), Format::SqlGz, Some(cluster)) => {
            let restored = drill_postgres(&cluster, &mut source);
            (
                "initdb cluster on a private socket",
                versions,
                restored.map(compare::Restored::Postgres),
            )
        }
        (Expected::Redis(_), Format::RedisRdb, _) => {
            let versions = redis::versions(&runner)?;
            let restored = drill_redis(&runner, &dir, &mut source);
            (
                "redis-server on a private socket",
                versions,
                restored.map(compare::Restored::Redis),
            )
        }
        (Expected::Archive { .. }, Format::TarGz | Format::TarZst | Format::VaultSnapshot, _) => {
            let restored = drill_archive(&dir, req.format, &mut source);
            (
                "scratch directory",
                BTreeMap::new(),
                restored.map(compare::Restored::Archive),
            )
        }
        (expected, format, _) => {
            return Err(format!(
                "no drill restores a {format:?} file into a {} inventory",
                expected.kind()
            ));
        }
    };
    // Whatever the restore read, the record names the hash of the whole file.
    source
        .drain()
        .map_err(|e| format!("cannot read the backup to its end: {e}"))?;
    let sha256 = source.finish();
    let (comparison, failure) = match restored {
        Ok(r) => (compare::compare(req.expected, &r), None),
        Err(Failure::CouldNotRun(why)) => return Err(why),
        Err(f) => (Vec::new(), Some(f)),
    };
    Ok(Drilled {
        sha256,
        scratch: scratch_kind.to_string(),
        tool_versions,
        comparison,
        failure,
    })
}

/// Whether [`run`] reads the file deep itself, in the pass that restores it (then it reports
/// an incomplete file as [`Failure::Unreadable`]), so that the caller need not read it first.
pub fn verifies_while_restoring(format: Format, expected: &Expected) -> bool {
    matches!((expected, format), (Expected::Postgres(_), Format::SqlGz))
}

/// Buffer of the one pass over a `.sql.gz`: the read size of the file, and of the
/// decompressed text handed to the check and to psql.
const SQL_PASS_CHUNK: usize = 256 * 1024;

/// The file is decompressed once: the gates' deep check of `.sql.gz` reads the text, and
/// every byte it reads goes on to psql. A file the check refuses fails the drill
/// (`Unreadable`) whatever psql made of it, and no row is counted.
fn drill_postgres(
    cluster: &postgres::Cluster,
    source: &mut Hashing,
) -> Result<postgres::Tables, Failure> {
    let mut raw = io::BufReader::with_capacity(SQL_PASS_CHUNK, &mut *source);
    let mut verdict = None;
    let restored = cluster.restore(&mut |psql| {
        let fed = deep::stream::sql_gz_into(&mut raw, psql, SQL_PASS_CHUNK);
        let sink = fed
            .sink_error
            .map(|e| format!("psql stopped reading the dump ({e})"));
        verdict = Some(fed.verdict);
        sink.map_or(Ok(()), Err)
    });
    match verdict {
        Some(Ok(_)) => {}
        Some(Err(refusal)) => return Err(Failure::Unreadable(refusal.to_string())),
        None => {
            return Err(restored
                .err()
                .unwrap_or_else(|| Failure::CouldNotRun("the backup was not read".into())));
        }
    }
    restored?;
    cluster.inventory()
}

fn drill_redis(
    runner: &scratch::Runner,
    dir: &scratch::ScratchDir,
    source: &mut Hashing,
) -> Result<BTreeMap<u64, u64>, Failure> {
    let staged = redis::stage(runner, dir, source)?;
    let instance = redis::Instance::start(runner, dir, staged)?;
    instance.keyspace()
}

fn drill_archive(
    dir: &scratch::ScratchDir,
    format: Format,
    source: &mut Hashing,
) -> Result<archive::Restored, Failure> {
    let root = dir.path().join("restore");
    std::fs::create_dir(&root)
        .map_err(|e| Failure::CouldNotRun(format!("cannot create {}: {e}", root.display())))?;
    let raw = io::BufReader::with_capacity(64 * 1024, &mut *source);
    let links = match format {
        Format::TarZst => {
            let mut dec = zstd::stream::read::Decoder::with_buffer(raw)
                .map_err(|e| Failure::Restore(format!("zstd: {e}")))?;
            let links = archive::unpack(&mut dec, &root)?;
            io::copy(&mut dec, &mut io::sink())
                .map_err(|e| Failure::Restore(format!("zstd stream is corrupt: {e}")))?;
            links
        }
        _ => {
            let mut dec = flate2::read::MultiGzDecoder::new(raw);
            let links = archive::unpack(&mut dec, &root)?;
            io::copy(&mut dec, &mut io::sink())
                .map_err(|e| Failure::Restore(format!("gzip stream is corrupt: {e}")))?;
            links
        }
    };
    archive::measure(&root, links)
}

/// Reads the file from offset 0 with positional reads and hashes every byte it hands out.
pub struct Hashing<'a> {
    file: &'a File,
    offset: u64,
    hasher: Sha256,
}

impl<'a> Hashing<'a> {
    pub fn new(file: &'a File) -> Hashing<'a> {
        Hashing {
            file,
            offset: 0,
            hasher: Sha256::new(),
        }
    }

    /// Read (and hash) whatever the restore left unread.
    pub fn drain(&mut self) -> io::Result<u64> {
        io::copy(self, &mut io::sink())
    }

    pub fn finish(self) -> String {
        crate::digest::hex(&self.hasher.finalize())
    }
}

impl Read for Hashing<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.offset)?;
        self.hasher.update(&buf[..n]);
        self.offset = self
            .offset
            .checked_add(n as u64)
            .ok_or_else(|| io::Error::other("file offset overflows"))?;
        Ok(n)
    }
}
