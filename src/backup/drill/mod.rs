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
pub mod spool;

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
    "The archive has a member that a restore would write outside its directory (an absolute path, `..`, a link pointing out), a device file or FIFO, or members tar readers could restore as different trees (a path twice, a member under a link member, a hard link to no earlier file, a link reaching through another link).",
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
    /// The archive would write outside its directory, holds devices, or could be restored
    /// as another tree than the one measured (exit 1).
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
    /// The most SQL text held while the scratch cluster is made ready ([`SPOOL_LIMIT`]).
    pub spool_limit: u64,
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

    /// Whether [`Preparing::wait`] would return at once.
    pub fn is_finished(&self) -> bool {
        self.thread
            .as_ref()
            .is_none_or(std::thread::JoinHandle::is_finished)
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

/// Restore into the scratch place `preparing` makes ready, and compare. `Err` only when the
/// drill could not run.
pub fn run(req: &Request, preparing: Preparing) -> Result<Drilled, String> {
    let mut source = Hashing::new(req.file);
    let (scratch_kind, tool_versions, restored) = match (req.expected, req.format) {
        (Expected::Postgres(expected), Format::SqlGz) => {
            let likely: Vec<&str> = expected.keys().map(String::as_str).collect();
            let (versions, restored) =
                drill_postgres(preparing, &likely, req.spool_limit, &mut source);
            (
                "initdb cluster on a private socket",
                versions,
                restored.map(compare::Restored::Postgres),
            )
        }
        (Expected::Redis(_), Format::RedisRdb) => {
            let Prepared { runner, dir, .. } = preparing.wait()?;
            let versions = redis::versions(&runner)?;
            let restored = drill_redis(&runner, &dir, &mut source);
            (
                "redis-server on a private socket",
                versions,
                restored.map(compare::Restored::Redis),
            )
        }
        (Expected::Archive { .. }, Format::TarGz | Format::TarZst | Format::VaultSnapshot) => {
            let Prepared { dir, .. } = preparing.wait()?;
            let restored = drill_archive(&dir, req.format, &mut source);
            (
                "scratch directory",
                BTreeMap::new(),
                restored.map(compare::Restored::Archive),
            )
        }
        (expected, format) => {
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
/// The most SQL text held while the scratch cluster is still being made ready (see
/// [`spool`]): what about a second of inflating makes, bounding the disk the drill needs
/// beyond the cluster's own by this much; past it, the pass waits for the cluster.
pub const SPOOL_LIMIT: u64 = 512 * 1024 * 1024;

/// The file is decompressed once: the gates' deep check of `.sql.gz` reads the text, and
/// every byte it reads goes on to psql, held in a spool until the cluster is ready (the pass
/// starts while `initdb` runs). A file the check refuses fails the drill (`Unreadable`)
/// whatever psql made of it, and no row is counted; when the refusal comes before the
/// cluster was ready, psql is never started. The tool versions come with the cluster.
fn drill_postgres(
    preparing: Preparing,
    likely: &[&str],
    spool_limit: u64,
    source: &mut Hashing,
) -> (BTreeMap<String, String>, Result<postgres::Tables, Failure>) {
    // The spool is a file without a name: the temporary directory, not the scratch one,
    // which the preparing thread is still making.
    let spool_dir = std::env::temp_dir();
    let mut preparing = Some(preparing);
    let mut prepared: Option<Prepared> = None;
    let mut restoring: Option<postgres::Restoring> = None;
    // Why the cluster or psql could not be started.
    let mut not_started: Option<Failure> = None;
    // The destination of the spool once the cluster is ready: psql, reading a pipe.
    let mut open = |wait: spool::Wait| -> io::Result<Option<std::process::ChildStdin>> {
        if let Some(p) = preparing.take_if(|p| wait == spool::Wait::Yes || p.is_finished()) {
            settle(p, &mut prepared, &mut not_started);
        }
        if preparing.is_some() {
            return Ok(None);
        }
        if let Some(f) = &not_started {
            return Err(io::Error::other(failure_text(f)));
        }
        match start_psql(prepared.as_ref(), None) {
            Ok(mut r) => {
                let stdin = r.stdin();
                restoring = Some(r);
                stdin
                    .map(Some)
                    .ok_or_else(|| io::Error::other("psql's standard input was not piped"))
            }
            Err(f) => {
                let why = io::Error::other(failure_text(&f));
                not_started = Some(f);
                Err(why)
            }
        }
    };
    let mut raw = io::BufReader::with_capacity(SQL_PASS_CHUNK, &mut *source);
    let mut sink = postgres::TailKept::new(spool::Spool::new(&spool_dir, spool_limit, &mut open));
    let fed = deep::stream::sql_gz_into(&mut raw, &mut sink, SQL_PASS_CHUNK);
    let postgres::TailKept {
        inner: mut spool,
        last,
    } = sink;
    let refused = fed.verdict.as_ref().err().map(ToString::to_string);
    let mut fed_result = match fed.sink_error {
        Some(e) => Err(format!("psql stopped reading the dump ({e})")),
        None => Ok(()),
    };
    // The whole text was held before the cluster was ready: psql reads the held file itself
    // (as `psql -f` would), with no pipe in between.
    let held = match (&refused, &fed_result, spool.is_open()) {
        (None, Ok(()), false) => spool.take_held(),
        _ => Ok(None),
    };
    // Streaming: psql's standard input closes here, and a refused file goes no further.
    drop(spool);
    if let Some(p) = preparing.take() {
        settle(p, &mut prepared, &mut not_started);
    }
    if refused.is_none() && fed_result.is_ok() && restoring.is_none() && not_started.is_none() {
        match held {
            Ok(held) => match start_psql(prepared.as_ref(), held) {
                Ok(r) => restoring = Some(r),
                Err(f) => not_started = Some(f),
            },
            Err(e) => fed_result = Err(format!("cannot read the held text back: {e}")),
        }
    }
    let restored = restoring.map(|r| r.finish(fed_result.clone(), &last));
    let versions = prepared
        .as_ref()
        .map(|p| p.versions.clone())
        .unwrap_or_default();
    // A refused file: whatever psql made of it (if it was started at all), and even when no
    // scratch cluster could be made.
    if let Some(refusal) = refused {
        return (versions, Err(Failure::Unreadable(refusal)));
    }
    let outcome = match (restored, not_started, fed_result) {
        (Some(Err(f)), _, _) | (_, Some(f), _) => Err(f),
        (None, None, Err(why)) => Err(Failure::Restore(why)),
        (None, None, Ok(())) => Err(Failure::CouldNotRun("psql was not started".into())),
        (Some(Ok(())), None, _) => match prepared.as_ref().and_then(|p| p.cluster.as_ref()) {
            Some(cluster) => cluster.inventory(likely),
            None => Err(Failure::CouldNotRun("no scratch cluster".into())),
        },
    };
    (versions, outcome)
}

/// The prepared place, or why there is none.
fn settle(p: Preparing, prepared: &mut Option<Prepared>, failure: &mut Option<Failure>) {
    match p.wait() {
        Ok(p) => *prepared = Some(p),
        Err(why) => *failure = Some(Failure::CouldNotRun(why)),
    }
}

/// psql restoring into the prepared cluster, reading `input` (else a pipe).
fn start_psql(
    prepared: Option<&Prepared>,
    input: Option<File>,
) -> Result<postgres::Restoring, Failure> {
    match prepared.and_then(|p| p.cluster.as_ref()) {
        Some(cluster) => cluster.start_restore(input),
        None => Err(Failure::CouldNotRun("no scratch cluster".into())),
    }
}

fn failure_text(f: &Failure) -> String {
    match f {
        Failure::CouldNotRun(s)
        | Failure::Restore(s)
        | Failure::Unsafe(s)
        | Failure::Unreadable(s) => s.clone(),
    }
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
