//! `backup_before_apply`: take a module's backup by its class's procedure, so that the gates'
//! yes rests on a backup made by a known procedure, complete, and described by a manifest.
//!
//! The steps, each of which fails the whole run (exit 2, nothing under the final name):
//! plan (manifest, class, ref module, procedure), dump (the procedure's programs, every exit
//! status checked, output streamed into a 0600 file created with `O_EXCL` in a private
//! directory inside the backup root; the gates' deep check reads it back behind the writer,
//! and the rows are counted meanwhile), verify (the gates' own artifact check under the final
//! name, its content verdict the read-back's, tied to the file by its inode and a second hash
//! of every byte), inventory, manifest, publish (fsync, hard link into place so that an
//! existing file is never replaced, fsync the directory).

pub mod archive;
mod follow;
pub mod gzip;
pub mod postgres;
pub mod redis;
pub mod run;

use super::deep;
use super::evidence::{self, BackupManifest, Inventory, Procedure};
use super::reference::BackupRef;
use crate::model::backup_format::{Format, format_of};
use crate::model::{Manifest, ModuleId, manifest};
use crate::policy::{BackupPolicy, Verify};
use crate::report::code::code;
use crate::report::{Code, GateError, Reason};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

code!(
    TAKE_FAILED,
    "backup.take.failed",
    Error,
    "A step of taking the backup failed; nothing was left under the backup's name.",
    "Read the step and its stderr in the message, fix the cause (the container, the credentials, the disk), and run backup_before_apply again."
);
code!(
    TAKE_REFUSED,
    "backup.take.refused",
    Error,
    "The module cannot be backed up by this tool as it is declared and configured.",
    "Follow the message: declare a backup_class, list the module's mounts under backup.mounts, run as the policy's owner, or back a separate-root module up by hand."
);
code!(
    TAKE_OK,
    "backup.take.ok",
    Info,
    "The backup was taken, verified as the gates verify it, and described by its manifest.",
    "Dispatch with the backup reference printed on the last line."
);

pub static CODES: &[&Code] = &[&TAKE_FAILED, &TAKE_REFUSED, &TAKE_OK];

/// What to back up and with which settings.
pub struct Request<'a> {
    pub policy: &'a BackupPolicy,
    pub modules_dir: &'a Path,
    pub module: &'a ModuleId,
    pub now: OffsetDateTime,
}

/// A backup in place.
#[derive(Debug, Clone)]
pub struct Taken {
    /// The backup reference: the file's absolute path.
    pub path: String,
    pub manifest_path: String,
    pub manifest: BackupManifest,
    /// The gates' verdict on the file (`gzip → SQL text, ...`).
    pub detail: String,
    /// Sockets, FIFOs and devices left out of a mount archive.
    pub skipped: u64,
    /// Why the class's own procedure was not used (a fallback), when it was not.
    pub note: Option<String>,
}

impl Taken {
    /// The reason that says what was taken.
    pub fn reason(&self) -> Reason {
        let m = &self.manifest;
        let held = match &m.inventory {
            Inventory::Postgres { databases } => format!(
                "{} database(s), {} table(s), {} row(s)",
                databases.len(),
                databases.iter().map(|d| d.tables.len()).sum::<usize>(),
                databases
                    .iter()
                    .flat_map(|d| &d.tables)
                    .fold(0u64, |a, t| a.saturating_add(t.rows))
            ),
            Inventory::Redis { databases } => format!(
                "{} key(s) in {} db(s)",
                databases.iter().fold(0u64, |a, d| a.saturating_add(d.keys)),
                databases.len()
            ),
            Inventory::Archive { files, bytes, .. } => {
                let mut s = format!("{files} file(s), {bytes} byte(s)");
                if self.skipped > 0 {
                    s.push_str(&format!(
                        ", {} socket/FIFO/device entrie(s) left out",
                        self.skipped
                    ));
                }
                s
            }
        };
        Reason::new(
            &TAKE_OK,
            format!(
                "{} of `{}` (class {}, data of `{}`) by {}{}: {} bytes, sha256 {}; {}; holds {held}; manifest {}",
                m.artifact,
                m.module,
                m.class,
                m.ref_module,
                m.procedure.as_str(),
                self.note
                    .as_ref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default(),
                m.size,
                m.sha256,
                self.detail,
                self.manifest_path
            ),
        )
        .subject("backup")
    }
}

fn refused(message: impl Into<String>) -> GateError {
    GateError::new(&TAKE_REFUSED, message)
}

fn failed(step: &str, message: impl std::fmt::Display) -> GateError {
    GateError::new(&TAKE_FAILED, format!("step `{step}` failed: {message}"))
}

fn step_failed(step: &str, f: run::Failure) -> GateError {
    let mut e = failed(step, &f.what);
    if !f.stderr.is_empty() {
        e = e.with_details(vec![format!("stderr: {}", f.stderr)]);
    }
    e
}

/// The container a procedure enters: `<compose project>-<module>-1`, as compose names the
/// first container of a service; the project is the manifest's `spec.compose.project` when it
/// names one.
pub fn container_name(manifest_text: &str, module: &str, policy: &BackupPolicy) -> String {
    let project = crate::yaml::parse(manifest_text)
        .ok()
        .and_then(|d| d.root)
        .and_then(|root| {
            root.get("spec")?
                .get("compose")?
                .get("project")?
                .as_str()
                .map(str::to_string)
        })
        .filter(|p| ModuleId::parse(p).is_ok())
        .unwrap_or_else(|| policy.compose_project.clone());
    format!("{project}-{module}-1")
}

/// What a module's backup will be: which module's data, which class, which procedure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub ref_module: String,
    pub class: String,
    pub procedure: Procedure,
    pub extension: &'static str,
    pub container: String,
}

pub fn plan(
    policy: &BackupPolicy,
    modules_dir: &Path,
    module: &ModuleId,
) -> Result<Plan, GateError> {
    let dispatched = manifest::load(modules_dir, module)?;
    let (ref_manifest, ref_text) = match dispatched.backup_ref_modules.as_slice() {
        [] => {
            let text = manifest::read(modules_dir, module)?;
            (dispatched.clone(), text)
        }
        [one] => {
            let id = ModuleId::parse(one)?;
            let text = manifest::read(modules_dir, &id)?;
            (manifest::from_text(&text, modules_dir, &id)?, text)
        }
        many => {
            return Err(refused(format!(
                "`{module}` is covered by several modules' backups ({}); back each of them up by its own id",
                many.join(", ")
            )));
        }
    };
    let class = class_of(&dispatched, &ref_manifest)?;
    if class == "separate-root" {
        return Err(refused(format!(
            "`{}` lives outside the canonical compose root (class separate-root): its backup is taken by hand, never by this tool",
            ref_manifest.id
        )));
    }
    let (procedure, extension) = match class.as_str() {
        "postgres" => (Procedure::PgDumpall, "sql.gz"),
        "redis" => (Procedure::RedisBgsave, "rdb"),
        _ => (Procedure::MountArchive, "tar.gz"),
    };
    if procedure == Procedure::MountArchive && !policy.mounts.contains_key(ref_manifest.id.as_str())
    {
        return Err(refused(format!(
            "class {class} is backed up by archiving the module's mounts, and the policy lists none for `{}`: add backup.mounts.{} with its host directories",
            ref_manifest.id, ref_manifest.id
        )));
    }
    if !policy
        .extensions_for(Some(&class))
        .iter()
        .any(|e| e == extension)
        || !policy
            .extensions_for(dispatched.backup_class.as_deref())
            .iter()
            .any(|e| e == extension)
    {
        return Err(refused(format!(
            "the policy does not allow .{extension} backups for class {class}, so the gates would refuse this backup; see backup.extensions"
        )));
    }
    Ok(Plan {
        ref_module: ref_manifest.id.to_string(),
        container: container_name(&ref_text, ref_manifest.id.as_str(), policy),
        class,
        procedure,
        extension,
    })
}

fn class_of(dispatched: &Manifest, data: &Manifest) -> Result<String, GateError> {
    match (&dispatched.backup_class, &data.backup_class) {
        (_, None) => Err(refused(format!(
            "`{}` declares no spec.runtime.backup_class, so there is no procedure to run",
            data.id
        ))),
        (Some(a), Some(b)) if a != b => Err(refused(format!(
            "`{}` is of backup class {a} but its data module `{}` is {b}; the gates would not accept one backup for both",
            dispatched.id, data.id
        ))),
        (_, Some(b)) => Ok(b.clone()),
    }
}

/// A private directory in the backup root, removed with everything in it when dropped.
struct Scratch {
    dir: PathBuf,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Take the backup. The library never prints; the caller shows `Taken` or the error.
pub fn take(req: &Request) -> Result<Taken, GateError> {
    let policy = req.policy;
    let mut plan = plan(policy, req.modules_dir, req.module)?;
    let procedure = policy.procedure(&plan.class);
    let mut note = None;
    if plan.procedure == Procedure::RedisBgsave
        && let Err(why) = redis::probe(&procedure.exec, &plan.container, &procedure.cli)
    {
        // Password-protected (or unreachable): no credentials are tried; the mounts instead.
        if !policy.mounts.contains_key(&plan.ref_module) {
            return Err(refused(format!(
                "redis `{}` cannot be dumped without credentials ({why}); list its data directory under backup.mounts.{} to archive it instead",
                plan.ref_module, plan.ref_module
            )));
        }
        plan.procedure = Procedure::MountArchive;
        plan.extension = "tar.gz";
        note = Some(format!(
            "RDB dump skipped ({why}): the mounts were archived"
        ));
    }
    let root = Path::new(&policy.root);
    match fs::symlink_metadata(root) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(refused(format!(
                "the backup root {} is not a directory",
                policy.root
            )));
        }
        Err(e) => {
            return Err(refused(format!(
                "the backup root {} cannot be used: {e}",
                policy.root
            )));
        }
    }
    let started = req.now;
    let clock = std::time::Instant::now();
    let stamp = started
        .to_offset(time::UtcOffset::UTC)
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .map_err(|e| failed("plan", e))?;
    let name = format!("{}-{stamp}.{}", plan.ref_module, plan.extension);
    let final_path = root.join(&name);
    let manifest_final = evidence::manifest_path(&final_path);
    for p in [&final_path, &manifest_final] {
        if fs::symlink_metadata(p).is_ok() {
            return Err(refused(format!(
                "{} exists already; a backup is never overwritten (wait a second and run again)",
                p.display()
            )));
        }
    }
    let scratch = Scratch {
        dir: root.join(format!(
            ".backup_before_apply-{}-{stamp}",
            std::process::id()
        )),
    };
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&scratch.dir)
        .map_err(|e| {
            failed(
                "prepare",
                format!("cannot create {}: {e}", scratch.dir.display()),
            )
        })?;
    // Files are owned by whoever creates them: the new directory says who that is.
    let owner = fs::symlink_metadata(&scratch.dir)
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .map_err(|e| {
            failed(
                "prepare",
                format!("cannot stat {}: {e}", scratch.dir.display()),
            )
        })?;
    if owner != policy.owner_uid {
        return Err(refused(format!(
            "running as uid {owner}, but the gates require backups owned by uid {} (backup.owner_uid); run as that user",
            policy.owner_uid
        )));
    }
    let tmp_path = scratch.dir.join(&name);

    // dump
    let file = create_with_mode(&tmp_path, policy.mode).map_err(|e| {
        failed(
            "prepare",
            format!("cannot create {}: {e}", tmp_path.display()),
        )
    })?;
    // The read-back's own descriptor of the same open file: the name is not looked up again.
    let reader = file.try_clone().map_err(|e| {
        failed(
            "prepare",
            format!("cannot open {} to read it back: {e}", tmp_path.display()),
        )
    })?;
    let procedure = policy.procedure(&plan.class);
    let strict = strict_policy(policy, &scratch.dir);
    let options = deep::Options::from_policy(&strict);
    let format = format_of(plan.extension)
        .ok_or_else(|| failed("plan", format!(".{} has no reader", plan.extension)))?;
    let growth = deep::Growth::new();
    let dumped = std::thread::scope(|scope| {
        // Until the dump is whole, the read-back is told that it will not be.
        let abandon = follow::AbandonUnlessFinished(&growth);
        // The tools' versions are asked for while the dump runs: each `--version` is a
        // process start (through the exec prefix), which costs time and reads nothing of the
        // data. So are the rows counted: each count is a process start and a wait on the
        // server, which would otherwise come after the dump's last byte.
        let versions = (plan.procedure != Procedure::MountArchive)
            .then(|| scope.spawn(|| tool_versions(&plan, &procedure)));
        let described = (plan.procedure != Procedure::MountArchive)
            .then(|| scope.spawn(|| describe(&plan, &procedure)));
        // A gzip'd backup is read back behind its writer, with the gates' deep check: when
        // the dump ends, only its last bytes are left to check.
        let followed = (plan.procedure != Procedure::RedisBgsave).then(|| {
            scope.spawn(|| {
                yield_to_the_dump();
                deep::inspect_growing(&reader, format, &options, &growth)
            })
        });
        let flushed = scope.spawn(|| follow::flush_behind(&reader, &growth));
        let (file, written, archived, skipped) = dump(&plan, &procedure, policy, file, &growth)?;
        growth.finished();
        drop(abandon);

        // fsync, verify and inventory at the same time: the disk flushes while the rest of
        // the file is checked and the database's rows are counted. Each must succeed.
        let synced = scope.spawn(move || {
            let behind = flushed
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("the flushing thread stopped")));
            behind.and(file.sync_all())
        });
        // Every byte is read once more now that the file is whole, beside the read-back's
        // last bytes and on every core: what was checked must still be what the file holds.
        let again = followed
            .is_some()
            .then(|| scope.spawn(|| deep::Segments::of_file(&reader, hashing_threads())));
        let followed = followed.map(|t| {
            t.join().unwrap_or_else(|_| {
                Err(deep::Refusal::format(
                    "the thread reading the file back stopped",
                ))
            })
        });
        let again = again.map(|t| {
            t.join()
                .unwrap_or_else(|_| Err(std::io::Error::other("the hashing thread stopped")))
        });
        // The segments of the bytes the read-back checked, to compare with what was written.
        let read_segments = followed
            .as_ref()
            .and_then(|verdict| verdict.as_ref().ok())
            .and_then(|(_, segments)| segments.clone());
        let read_back = followed.zip(again).map(|(verdict, again)| Followed {
            verdict,
            again,
            file: &reader,
            format,
            options,
        });
        let verified = verify(&tmp_path, &name, &strict, started, read_back);
        let synced = synced
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the fsync thread stopped")));
        let described = described.map(|t| {
            t.join()
                .unwrap_or_else(|_| Err(failed("inventory", "the inventory thread stopped")))
        });
        synced.map_err(|e| failed("dump", format!("cannot fsync the backup: {e}")))?;
        let (facts, detail) = verified?;
        // What the gates read back is exactly what was written, byte for byte.
        same_as_written(&facts, &written, read_segments.as_ref())
            .map_err(|e| failed("verify", format!("the file read back {e}")))?;
        let (inventory, tool_versions) = match (archived, described) {
            (Some(inventory), _) => (inventory, BTreeMap::new()),
            (None, Some(described)) => {
                let (inventory, mut said) = described?;
                let mut versions = versions.and_then(|t| t.join().ok()).unwrap_or_default();
                versions.append(&mut said);
                (inventory, versions)
            }
            (None, None) => return Err(failed("inventory", "no inventory was taken")),
        };
        Ok((facts, detail, inventory, tool_versions, skipped))
    });
    let (facts, detail, inventory, tool_versions, skipped) = dumped?;
    let finished = started + clock.elapsed();
    let manifest = BackupManifest {
        schema: evidence::MANIFEST_SCHEMA.into(),
        module: req.module.to_string(),
        ref_module: plan.ref_module.clone(),
        class: plan.class.clone(),
        procedure: plan.procedure,
        artifact: name.clone(),
        format: plan.extension.into(),
        tool_versions,
        started_at: whole_seconds(started),
        finished_at: whole_seconds(finished).max(whole_seconds(started)),
        size: facts.0,
        sha256: facts.1,
        inventory,
    };
    evidence::validate_manifest(&manifest)
        .map_err(|e| failed("manifest", format!("the manifest would be invalid: {e}")))?;
    let tmp_manifest = evidence::manifest_path(&tmp_path);
    evidence::write_json(&tmp_manifest, &manifest, false).map_err(|e| {
        failed(
            "manifest",
            format!("cannot write {}: {e}", tmp_manifest.display()),
        )
    })?;

    // publish: never replace an existing file; the backup first, then its manifest.
    fs::hard_link(&tmp_path, &final_path).map_err(|e| {
        failed(
            "publish",
            format!("cannot place {}: {e}", final_path.display()),
        )
    })?;
    if let Err(e) = fs::hard_link(&tmp_manifest, &manifest_final) {
        let _ = fs::remove_file(&final_path);
        return Err(failed(
            "publish",
            format!("cannot place {}: {e}", manifest_final.display()),
        ));
    }
    drop(scratch);
    if let Err(e) = evidence::sync_dir(root) {
        let _ = fs::remove_file(&manifest_final);
        let _ = fs::remove_file(&final_path);
        return Err(failed(
            "publish",
            format!("cannot fsync {}: {e}", root.display()),
        ));
    }
    Ok(Taken {
        path: final_path.display().to_string(),
        manifest_path: manifest_final.display().to_string(),
        manifest,
        detail,
        skipped,
        note,
    })
}

/// Whether the file the gates checked (`facts`: its size and sha256, and the segments of
/// what the read-back checked, when it was read back) is exactly what was written; if not,
/// how it differs.
fn same_as_written(
    facts: &(u64, String),
    written: &gzip::Written,
    read: Option<&deep::Segments>,
) -> Result<(), String> {
    if facts.0 != written.bytes {
        return Err(format!(
            "({} bytes) is not what was written ({} bytes)",
            facts.0, written.bytes
        ));
    }
    match (&written.digest, read) {
        (gzip::WrittenDigest::Sha256(sha), _) if *sha == facts.1 => Ok(()),
        (gzip::WrittenDigest::Sha256(sha), _) => Err(format!(
            "(sha256 {}) is not what was written (sha256 {sha})",
            facts.1
        )),
        (gzip::WrittenDigest::Segments(written), Some(read)) => match written.difference(read) {
            None => Ok(()),
            Some(d) => Err(format!(
                "is not what was written (then: as written, now: as read back): {d}"
            )),
        },
        (gzip::WrittenDigest::Segments(_), None) => {
            Err("was not read back behind its writer: nothing tied it to what was written".into())
        }
    }
}

/// The versions of the procedure's tools (a note in the manifest: a tool that does not say
/// is left out).
fn tool_versions(
    plan: &Plan,
    procedure: &crate::policy::ProcedurePolicy,
) -> BTreeMap<String, String> {
    // psql says its own version in the inventory's first psql (see `describe`).
    let tools = if plan.procedure == Procedure::RedisBgsave {
        vec![&procedure.cli]
    } else {
        vec![&procedure.command]
    };
    let mut versions = BTreeMap::new();
    for tool in tools {
        if let Some(v) = version(&procedure.exec, &plan.container, &tool[0]) {
            versions.insert(program_name(&tool[0]), v);
        }
    }
    versions
}

/// The inventory of the database the procedure dumped, and the versions of the tools that
/// said theirs while counting (psql: the same line as its `--version`).
fn describe(
    plan: &Plan,
    procedure: &crate::policy::ProcedurePolicy,
) -> Result<(Inventory, BTreeMap<String, String>), GateError> {
    if plan.procedure == Procedure::RedisBgsave {
        let databases = redis::inventory(&procedure.exec, &plan.container, &procedure.cli)
            .map_err(|f| step_failed("inventory", f))?;
        return Ok((Inventory::Redis { databases }, BTreeMap::new()));
    }
    let counted = postgres::inventory(&procedure.exec, &plan.container, &procedure.psql)
        .map_err(|f| step_failed("inventory", f))?;
    let mut versions = BTreeMap::new();
    if let (Some(version), Some(psql)) = (counted.psql_version, procedure.psql.first()) {
        versions.insert(program_name(psql), version);
    }
    Ok((
        Inventory::Postgres {
            databases: counted.databases,
        },
        versions,
    ))
}

/// Run the procedure into `file`: what was written (the file, its size and sha256), the
/// archive's inventory for a mount archive, and the entries it left out.
fn dump(
    plan: &Plan,
    procedure: &crate::policy::ProcedurePolicy,
    policy: &BackupPolicy,
    file: fs::File,
    growth: &deep::Growth,
) -> Result<(fs::File, gzip::Written, Option<Inventory>, u64), GateError> {
    match plan.procedure {
        Procedure::PgDumpall => {
            let dump = run::argv(&procedure.exec, &plan.container, &procedure.command);
            let mut gz = gzip::ParallelGzip::new(follow::Tracked::new(file, growth), gzip::LEVEL);
            run::stream_into(&dump, &mut gz).map_err(|f| step_failed("dump", f))?;
            let (file, written) = finish_gzip(gz)?;
            Ok((file, written, None, 0))
        }
        Procedure::RedisBgsave => {
            let dump = run::argv(
                &procedure.exec,
                &plan.container,
                &redis::dump_argv(&procedure.cli),
            );
            let mut out = redis::EofMarkStripper::new(gzip::Hashed::new(
                std::io::BufWriter::with_capacity(64 * 1024, file),
            ));
            run::stream(&dump, &mut out).map_err(|f| step_failed("dump", f))?;
            let (buffered, written) = out
                .finish()
                .and_then(gzip::Hashed::finish)
                .map_err(|e| failed("dump", format!("cannot write the backup: {e}")))?;
            let file = buffered
                .into_inner()
                .map_err(|e| failed("dump", format!("cannot write the backup: {}", e.error())))?;
            Ok((file, written, None, 0))
        }
        _ => {
            let mounts = &policy.mounts[&plan.ref_module];
            let mut gz = gzip::ParallelGzip::new(follow::Tracked::new(file, growth), gzip::LEVEL);
            let archived = archive::write_tar(mounts, &mut gz).map_err(|e| failed("dump", e))?;
            let (file, written) = finish_gzip(gz)?;
            Ok((file, written, Some(archived.inventory), archived.skipped))
        }
    }
}

/// The last gzip member written and the file taken back from the tracking writer.
fn finish_gzip(
    gz: gzip::ParallelGzip<follow::Tracked<'_, fs::File>>,
) -> Result<(fs::File, gzip::Written), GateError> {
    let (tracked, written) = gz
        .finish()
        .map_err(|e| failed("dump", format!("cannot finish the gzip stream: {e}")))?;
    let file = tracked
        .into_inner()
        .map_err(|e| failed("dump", format!("cannot write the backup: {e}")))?;
    Ok((file, written))
}

/// The policy the file is verified with: the gates' own, rooted at the private directory and
/// forced to deep.
fn strict_policy(policy: &BackupPolicy, dir: &Path) -> BackupPolicy {
    let mut strict = policy.clone();
    strict.root = dir.display().to_string();
    strict.verify = Verify::Deep;
    strict
}

/// The deep check's verdict on the file, read back while it was written, and what it read.
struct Followed<'a> {
    /// The verdict, and the segments of the bytes it read.
    verdict: Result<(deep::Inspection, Option<deep::Segments>), deep::Refusal>,
    /// The segments of every byte of `file`, read again once the writer had finished.
    again: std::io::Result<deep::Segments>,
    file: &'a fs::File,
    format: Format,
    options: deep::Options,
}

impl Followed<'_> {
    /// The verdict, for the file the gates' check opened by its name: it must be the file
    /// that was read back (the same inode as `file`), checked as the gates check it, and every
    /// byte of it must still be what was read (hashed again after the writer finished).
    fn for_file(
        self,
        opened: &fs::File,
        format: Format,
        options: &deep::Options,
    ) -> Result<deep::Inspection, deep::Refusal> {
        if format != self.format || *options != self.options {
            return Err(deep::Refusal::format(
                "the file was read back as another format or with other options than the gates'",
            ));
        }
        let identity = |f: &fs::File| {
            f.metadata().map(|m| {
                use std::os::unix::fs::MetadataExt;
                (m.dev(), m.ino())
            })
        };
        match (identity(opened), identity(self.file)) {
            (Ok(a), Ok(b)) if a == b => {}
            (Err(e), _) | (_, Err(e)) => {
                return Err(deep::Refusal::format(format!("cannot stat the file: {e}")));
            }
            _ => {
                return Err(deep::Refusal::format(
                    "the file under the backup's name is not the file that was written and read back",
                ));
            }
        }
        let (inspection, read) = self.verdict?;
        let read = read.ok_or_else(|| {
            deep::Refusal::format("the read-back took no segments to compare the file with")
        })?;
        let again = self.again.map_err(|e| {
            deep::Refusal::format(format!("cannot read the file to hash it again: {e}"))
        })?;
        if let Some(difference) = read.difference(&again) {
            return Err(deep::Refusal::format(format!(
                "the file changed after it was read back: {difference}"
            )));
        }
        Ok(inspection)
    }
}

/// The gates' artifact check, forced to deep, on the file `path` under its final name `name`
/// in the policy's root; its content verdict is the one `followed` read while the file was
/// written, when there is one.
fn verify(
    path: &Path,
    name: &str,
    strict: &BackupPolicy,
    taken_at: OffsetDateTime,
    followed: Option<Followed>,
) -> Result<((u64, String), String), GateError> {
    let (ref_module, _, extension) = super::reference::split_name(name)
        .ok_or_else(|| failed("verify", format!("{name} is not a backup name")))?;
    let reference = BackupRef {
        path: path.display().to_string(),
        file_name: name.to_string(),
        ref_module: ref_module.to_string(),
        taken_at,
        extension: extension.to_string(),
    };
    let observation = match followed {
        Some(followed) => {
            super::artifact::observe_with(&reference, strict, |file, format, options| {
                followed.for_file(file, format, options)
            })
        }
        None => super::artifact::observe(&reference, strict),
    };
    let mut reasons = Vec::new();
    match super::artifact::judge(&observation, &reference, strict, &mut reasons) {
        Some(facts) if reasons.is_empty() => Ok(((facts.size, facts.sha256), facts.detail)),
        _ => Err(failed(
            "verify",
            format!(
                "the gates would refuse this backup: {}",
                reasons
                    .iter()
                    .map(|r| format!("{}: {}", r.code.id, r.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        )),
    }
}

fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}

/// The first line of `<program> --version`, through the same exec prefix; `None` when the
/// program does not say (a version is a note in the manifest, not a precondition).
fn version(exec: &[String], container: &str, program: &str) -> Option<String> {
    let out = run::output(
        &run::argv(exec, container, &[program.to_string(), "--version".into()]),
        4096,
    )
    .ok()?;
    let line = String::from_utf8_lossy(&out)
        .lines()
        .next()?
        .trim()
        .to_string();
    (!line.is_empty()).then(|| run::scrub(&line))
}

/// Threads for the pass that reads the finished file once more: it is what is left after the
/// dump's last byte, so it takes every core (a few are enough for the page cache's speed).
fn hashing_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().clamp(1, 8))
}

fn program_name(program: &str) -> String {
    program.rsplit('/').next().unwrap_or(program).to_string()
}

fn create_with_mode(path: &Path, mode: u32) -> std::io::Result<fs::File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    // Read and write: the read-back uses a duplicate of this descriptor.
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)?;
    // The umask may have taken bits away from `mode`; never added any.
    file.set_permissions(fs::Permissions::from_mode(mode))?;
    Ok(file)
}

/// Lower the calling thread's priority (nice 10; on Linux a thread's own, and inherited by the
/// threads it starts): the read-back of the backup behind its writer. The dump (`pg_dump`
/// and its server backend, holding its snapshot open) is the critical path; the read-back
/// reads what is already in the page cache, so it can lag and catch up without memory. With
/// the same priority it took its fair share of two cores from the dump; yielding, the dump
/// keeps its pace and the read-back runs in the gaps (docs/backup.md, "Session 9").
/// Raising one's own nice value needs no privilege; where it still fails, only the speed
/// differs, so the error is ignored.
fn yield_to_the_dump() {
    let _ = rustix::process::setpriority_process(None, READ_BACK_NICE);
}

/// The read-back's nice value (see [`yield_to_the_dump`]): 10 and 19 measured alike.
const READ_BACK_NICE: i32 = 10;

#[cfg(test)]
mod tests {
    use super::*;

    /// The segments of `bytes`, as the writer and the read-back take them.
    fn segments_of(bytes: &[u8]) -> deep::Segments {
        let mut hasher = deep::SegmentHasher::new();
        hasher.update(bytes);
        hasher.finish()
    }

    #[test]
    fn a_file_is_the_one_written_only_when_size_and_digest_say_so() {
        let sha = |s: &str| gzip::Written {
            bytes: 3,
            digest: gzip::WrittenDigest::Sha256(s.into()),
        };
        let facts = (3, "aa".to_string());
        assert_eq!(same_as_written(&facts, &sha("aa"), None), Ok(()));
        let other = same_as_written(&facts, &sha("bb"), None).unwrap_err();
        assert!(
            other.contains("sha256 aa") && other.contains("sha256 bb"),
            "{other}"
        );
        let shorter = same_as_written(&(2, "aa".into()), &sha("aa"), None).unwrap_err();
        assert!(shorter.contains("(2 bytes)"), "{shorter}");

        let written = gzip::Written {
            bytes: 3,
            digest: gzip::WrittenDigest::Segments(segments_of(b"abc")),
        };
        let read = segments_of(b"abc");
        assert_eq!(same_as_written(&facts, &written, Some(&read)), Ok(()));
        let changed = same_as_written(&facts, &written, Some(&segments_of(b"abd"))).unwrap_err();
        assert!(changed.contains("from offset 0"), "{changed}");
        // Written in segments but never read back: nothing tied the file to the writing.
        let unread = same_as_written(&facts, &written, None).unwrap_err();
        assert!(unread.contains("not read back"), "{unread}");
    }

    #[test]
    fn containers_are_named_as_compose_names_them() {
        let policy = BackupPolicy::default();
        let with_project =
            "metadata:\n  name: web-app\nspec:\n  compose:\n    project: edge-stack\n";
        assert_eq!(
            container_name(with_project, "web-app", &policy),
            "edge-stack-web-app-1"
        );
        assert_eq!(
            container_name("metadata:\n  name: postgres\n", "postgres", &policy),
            "home-platform-postgres-1"
        );
        // A project that compose would not accept is not used to build a name.
        let odd = "spec:\n  compose:\n    project: \"a b;rm\"\n";
        assert_eq!(
            container_name(odd, "postgres", &policy),
            "home-platform-postgres-1"
        );
    }

    #[test]
    fn the_plan_follows_class_and_ref_module() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/modules");
        let mut policy = BackupPolicy::default();
        policy
            .mounts
            .insert("minio".into(), vec!["/srv/minio".into()]);
        let id = |s: &str| ModuleId::parse(s).unwrap();
        let p = plan(&policy, &fixtures, &id("postgres")).unwrap();
        assert_eq!(
            (p.procedure, p.extension, p.container.as_str()),
            (Procedure::PgDumpall, "sql.gz", "home-platform-postgres-1")
        );
        let p = plan(&policy, &fixtures, &id("minio-init")).unwrap();
        assert_eq!(
            (p.ref_module.as_str(), p.procedure, p.extension),
            ("minio", Procedure::MountArchive, "tar.gz")
        );
        assert_eq!(p.container, "home-platform-minio-1");
        assert_eq!(
            plan(&policy, &fixtures, &id("redis")).unwrap().procedure,
            Procedure::RedisBgsave
        );
    }
}
