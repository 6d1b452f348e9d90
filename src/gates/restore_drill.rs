//! The `restore_drill` gate: restore a backup into a scratch instance and compare it with its
//! manifest, then write the drill record beside the backup. Pass (the restore matches),
//! fail (the restore failed or the content differs), or could not run (an error).

use super::ModuleRequest;
use crate::backup::drill::{self, Failure};
use crate::backup::{self, deep, reference};
use crate::model::backup_format::format_of;
use crate::model::{ModuleId, manifest};
use crate::policy::Verify;
use crate::report::{Decision, Gate, GateError, InputDigest, Outcome, Reason};
use std::fs::File;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What the drill is asked to restore, and for which module.
pub struct Request<'a> {
    /// The backup reference as given (checked as the gates check it).
    pub backup_ref: &'a str,
    pub module: ModuleRequest<'a>,
}

/// Drill the backup and write its drill record beside it; a record that cannot be written
/// is an error (nothing may rely on a drill nobody can see).
pub fn run(request: &Request<'_>) -> Result<Decision, GateError> {
    let (decision, record) = evaluate(request)?;
    drill::record::write(&record.backup, &record.record).map_err(|e| {
        could_not(
            &drill::RECORD_WRITE_FAILED,
            format!(
                "cannot write the drill record beside {}: {e}",
                record.backup.display()
            ),
        )
    })?;
    Ok(decision)
}

/// The drill record to write beside the backup.
struct RecordFile {
    backup: PathBuf,
    record: crate::backup::evidence::DrillRecord,
}

fn could_not(code: &'static crate::report::Code, message: impl Into<String>) -> GateError {
    GateError::new(code, message)
}

fn evaluate(request: &Request<'_>) -> Result<(Decision, RecordFile), GateError> {
    let started = Instant::now();
    let (now, id, policy) = request.module.resolve()?;
    let module = manifest::load(request.module.modules_dir, &id)?;
    let Some(class) = module.backup_class.clone() else {
        return Err(could_not(
            &drill::UNSUPPORTED,
            format!("`{id}` declares no backup_class; there is nothing to drill"),
        ));
    };
    // The reference grammar, root and module as the gates check them; an old backup may
    // still be drilled (the gates judge freshness when the backup is used).
    let any_age = crate::policy::BackupPolicy {
        max_age_hours: 24 * 365 * 100,
        ..policy.policy.backup.clone()
    };
    let reference =
        reference::check(request.backup_ref, &module, &any_age, now).map_err(|reasons| {
            match reasons.split_first() {
                Some((first, rest)) => GateError::new(first.code, first.message.clone())
                    .with_details(rest.iter().map(|r| r.message.clone()).collect()),
                None => could_not(&backup::NAME_INVALID, "the backup reference was refused"),
            }
        })?;
    let path = PathBuf::from(&reference.path);
    let format = format_of(&reference.extension).ok_or_else(|| {
        could_not(
            &drill::UNSUPPORTED,
            format!("no reader for .{}", reference.extension),
        )
    })?;
    let file = open_backup(&path)?;
    let facts = drill::record::read_manifest(&path)?;
    let evidence = &facts.manifest;

    let mut d = Decision::new(Gate::RestoreDrill, id.to_string(), now);
    d.fact("backup_ref", reference.path.clone());
    d.inputs.push(policy.digest.clone());
    d.inputs.push(facts.digest.clone());
    let subject = "backup_ref";
    // The scratch instance is made ready while steps 1 and 2 read the file (it reads nothing
    // of it); it is used only when both passed.
    let exec = policy.policy.backup.drill_for(&class).exec;
    let preparing = drill::Preparing::start(format, facts.expected.clone(), exec);

    // 1. The file, read to its last byte as its format. A `.sql.gz` is read deep in the
    //    same pass that restores it (step 3: it is decompressed once); here it is only
    //    hashed, so that a manifest for other bytes still fails before anything is restored.
    d.checks_run += 1;
    let one_pass = drill::verifies_while_restoring(format, &facts.expected);
    let file_sha = if one_pass {
        deep::hash_file(&file).map_err(|e| {
            could_not(
                &crate::report::general::IO,
                format!("cannot read {}: {e}", reference.path),
            )
        })?
    } else {
        match deep::inspect(&file, format, Verify::Deep) {
            Ok(i) => i.sha256,
            Err(why) => {
                let sha = deep::hash_file(&file).map_err(|e| {
                    could_not(
                        &crate::report::general::IO,
                        format!("cannot read {}: {e}", reference.path),
                    )
                })?;
                d.push(unreadable(&reference, &why.to_string()));
                return conclude(d, &reference, &id, &class, &sha, now, started, None);
            }
        }
    };
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    d.inputs.push(InputDigest {
        name: "backup".into(),
        source: reference.path.clone(),
        sha256: file_sha.clone(),
        bytes: size,
    });

    // 2. The manifest describes this file and this module.
    d.checks_run += 1;
    let mut mismatches = Vec::new();
    if evidence.sha256 != file_sha {
        mismatches.push(format!(
            "the manifest's sha256 {} is not the file's {}: the file changed after the manifest was written",
            evidence.sha256, file_sha
        ));
    }
    if evidence.artifact != reference.file_name {
        mismatches.push(format!(
            "the manifest is for {:?}, not {:?}",
            evidence.artifact, reference.file_name
        ));
    }
    // As the gates read it (`checks::backup_beside::module_fits`): taken for the drilled
    // module, or for the module whose data the file is (`minio` for its sidecar `minio-init`).
    if evidence.module != id.as_str() && evidence.module != reference.ref_module {
        mismatches.push(format!(
            "the manifest is of module `{}` (data of `{}`), the drill is for `{id}`",
            evidence.module, evidence.ref_module
        ));
    }
    if evidence.class != class {
        mismatches.push(format!(
            "the manifest's class is `{}`, `{id}` declares backup_class `{class}`",
            evidence.class
        ));
    }
    if evidence.size != size {
        mismatches.push(format!(
            "the manifest's size is {} bytes, the file has {size}",
            evidence.size
        ));
    }
    if !mismatches.is_empty() {
        for m in mismatches {
            d.push(Reason::new(&drill::MANIFEST_MISMATCH, m).subject("manifest"));
        }
        return conclude(d, &reference, &id, &class, &file_sha, now, started, None);
    }

    // 3. Restore into a scratch instance and compare.
    let drilled = drill::run(
        &drill::Request {
            file: &file,
            format,
            expected: &facts.expected,
            spool_limit: drill::SPOOL_LIMIT,
        },
        preparing,
    )
    .map_err(|why| could_not(&drill::COULD_NOT_RUN, why))?;
    d.checks_run += 1;
    if drilled.sha256 != file_sha {
        d.push(
            Reason::new(
                &drill::RESTORE_FAILED,
                format!(
                    "the file changed while the drill read it (sha256 {} {}, {} restored)",
                    file_sha,
                    if one_pass { "hashed" } else { "verified" },
                    drilled.sha256
                ),
            )
            .subject(subject),
        );
    }
    match &drilled.failure {
        Some(Failure::Unreadable(why)) => d.push(unreadable(&reference, why)),
        Some(Failure::Unsafe(why)) => {
            d.push(Reason::new(&drill::ARCHIVE_UNSAFE, why.clone()).subject(subject));
        }
        Some(Failure::Restore(why)) | Some(Failure::CouldNotRun(why)) => {
            d.push(Reason::new(&drill::RESTORE_FAILED, why.clone()).subject(subject));
        }
        None => {}
    }
    for c in drilled.comparison.iter().filter(|c| !c.ok) {
        d.push(
            Reason::new(
                &drill::CONTENT_DIFFERS,
                format!(
                    "{}: the manifest says {}, the restore has {}",
                    c.item, c.expected, c.restored
                ),
            )
            .subject(c.item.clone()),
        );
    }
    if drilled.failure.is_none() && drilled.comparison.is_empty() {
        d.push(
            Reason::new(
                &drill::CONTENT_DIFFERS,
                "nothing was compared: the manifest's inventory is empty and so is the restore",
            )
            .subject(subject),
        );
    }
    let sha = drilled.sha256.clone();
    conclude(
        d,
        &reference,
        &id,
        &class,
        &sha,
        now,
        started,
        Some(&drilled),
    )
}

/// The file is not a complete backup of its format (deep verification refused it).
fn unreadable(reference: &reference::BackupRef, why: &str) -> Reason {
    Reason::new(
        &drill::BACKUP_UNREADABLE,
        format!(
            "{} is not a readable .{} file: {why}",
            reference.file_name, reference.extension
        ),
    )
    .subject("backup_ref")
}

#[allow(clippy::too_many_arguments)]
fn conclude(
    mut d: Decision,
    reference: &reference::BackupRef,
    id: &ModuleId,
    class: &str,
    sha256: &str,
    now: time::OffsetDateTime,
    started: Instant,
    drilled: Option<&drill::Drilled>,
) -> Result<(Decision, RecordFile), GateError> {
    if !d.has_errors()
        && let Some(dr) = drilled
    {
        d.push(
            Reason::new(
                &drill::PASSED,
                format!(
                    "{} restored into a {}; {} items match the manifest",
                    reference.file_name,
                    dr.scratch,
                    dr.comparison.len()
                ),
            )
            .subject("backup_ref"),
        );
    }
    let d = d.settle(Outcome::Pass, Outcome::Fail)?;
    let elapsed = time::Duration::try_from(started.elapsed()).unwrap_or(time::Duration::ZERO);
    let record = drill::record::DrillRecordInput {
        artifact: reference.file_name.clone(),
        backup_sha256: sha256.to_string(),
        module: id.to_string(),
        class: class.to_string(),
        passed: d.outcome == Outcome::Pass,
        started_at: now,
        finished_at: now + elapsed,
        scratch: drilled
            .map(|x| x.scratch.clone())
            .unwrap_or_else(|| "none: not restored".into()),
        tool_versions: drilled.map(|x| x.tool_versions.clone()).unwrap_or_default(),
        comparison: drilled.map(|x| x.comparison.clone()).unwrap_or_default(),
    };
    let mut d = d;
    let backup = PathBuf::from(&reference.path);
    d.fact(
        "drill_record",
        crate::backup::evidence::drill_path(&backup)
            .display()
            .to_string(),
    );
    d.fact("backup_sha256", sha256.to_string());
    Ok((
        d,
        RecordFile {
            backup,
            record: record.to_record(),
        },
    ))
}

/// The backup, opened without following links; a regular, non-empty file.
fn open_backup(path: &Path) -> Result<File, GateError> {
    let shown = path.display();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| {
            let code = match e.kind() {
                std::io::ErrorKind::NotFound => &backup::ARTIFACT_MISSING,
                _ if e.raw_os_error() == Some(libc::ELOOP) => &backup::SYMLINK,
                _ => &backup::ROOT_UNREADABLE,
            };
            could_not(code, format!("cannot open {shown}: {e}"))
        })?;
    let meta = file.metadata().map_err(|e| {
        could_not(
            &backup::ROOT_UNREADABLE,
            format!("cannot stat {shown}: {e}"),
        )
    })?;
    if !meta.is_file() {
        return Err(could_not(
            &backup::NOT_REGULAR,
            format!("{shown} is not a regular file"),
        ));
    }
    if meta.size() == 0 {
        return Err(could_not(&backup::EMPTY, format!("{shown} is empty")));
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use std::sync::mpsc;
    use std::time::Duration;

    fn code_of(path: &Path) -> &'static str {
        match open_backup(path) {
            Ok(_) => "opened",
            Err(e) => e.code.id,
        }
    }

    #[test]
    fn a_regular_non_empty_file_is_opened_and_an_empty_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("minio-20260517T010847Z.tar.gz");
        std::fs::write(&file, b"x").unwrap();
        assert_eq!(code_of(&file), "opened");
        std::fs::write(&file, b"").unwrap();
        assert_eq!(code_of(&file), backup::EMPTY.id);
    }

    #[test]
    fn a_symbolic_link_at_the_backup_path_is_not_followed() {
        // The drill has no lstat of its own before this open: O_NOFOLLOW is the whole defence.
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere.tar.gz");
        std::fs::write(&target, b"a complete backup").unwrap();
        let link = dir.path().join("minio-20260517T010847Z.tar.gz");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert_eq!(code_of(&link), backup::SYMLINK.id);
    }

    #[test]
    fn a_fifo_at_the_backup_path_is_not_regular_and_does_not_hang() {
        // Without O_NONBLOCK, opening a FIFO nobody writes to blocks forever: the open runs in
        // a thread so that the test fails instead of hanging.
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("minio-20260517T010847Z.tar.gz");
        let made = Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(made.success());
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || tx.send(code_of(&fifo)));
        let code = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("opening a FIFO at the backup path hung");
        assert_eq!(code, backup::NOT_REGULAR.id);
    }

    #[test]
    fn a_directory_at_the_backup_path_is_not_regular() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("minio-20260517T010847Z.tar.gz");
        std::fs::create_dir(&sub).unwrap();
        assert_eq!(code_of(&sub), backup::NOT_REGULAR.id);
    }

    #[test]
    fn open_errors_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("minio-20260517T010847Z.tar.gz");
        assert_eq!(code_of(&missing), backup::ARTIFACT_MISSING.id);
        // A file where a directory should be: ENOTDIR, neither missing nor a link.
        let file = dir.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        assert_eq!(
            code_of(&file.join("minio-20260517T010847Z.tar.gz")),
            backup::ROOT_UNREADABLE.id
        );
    }
}
