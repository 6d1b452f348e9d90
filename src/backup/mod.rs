//! The backup a stateful change needs: its reference (a path with a grammar) and the artifact
//! on the runner host (a real, fresh, private, readable archive).

pub mod artifact;
pub mod deep;
pub mod drill;
pub mod evidence;
pub mod format;
pub mod reference;
pub mod take;

use crate::report::code::code;

/// Run first in every psql that counts rows (the backup's inventory, the drill's comparison).
/// A database or role may set its own settings (pg_dumpall carries `ALTER DATABASE ... SET`):
/// - `statement_timeout` and `lock_timeout` are cleared, as `pg_dump` clears them for its own
///   session: a count the dump's own timeout would not have cancelled must not fail the backup
///   or the drill. First, so that the timer of this very query string is stopped.
/// - `search_path` puts pg_catalog first: a database's own `count`, operators or tables named
///   like the catalog's must not answer for PostgreSQL's; pg_temp last, so no temporary object
///   is found first either.
///
/// With `psql -q` it prints nothing.
pub const PG_COUNT_SESSION: &str = "SET statement_timeout = 0; SET lock_timeout = 0; \
SET search_path = pg_catalog, pg_temp";

code!(
    MISSING,
    "backup.ref.missing",
    Error,
    "A stateful module was dispatched without a backup reference.",
    "Take a backup first, then dispatch with backup_ref set to the backup file's absolute path."
);
code!(
    INVALID_CHARS,
    "backup.ref.invalid_chars",
    Error,
    "The backup reference has whitespace, control or non-ASCII characters.",
    "Paste the exact path printed by the backup script; no spaces, newlines or look-alike letters."
);
code!(
    NOT_ABSOLUTE,
    "backup.ref.not_absolute",
    Error,
    "The backup reference is not an absolute path.",
    "Use the full path, starting at /, directly inside the policy's backup root."
);
code!(
    PARENT_DIR,
    "backup.ref.parent_dir",
    Error,
    "The backup reference contains a `..` component.",
    "Use the direct path inside the backup root; `..` is never accepted."
);
code!(
    NOT_NORMALIZED,
    "backup.ref.not_normalized",
    Error,
    "The backup reference has an empty (`//`), `.` or trailing-slash component.",
    "Write the path in its plain form: /root/dir/file."
);
code!(
    OUTSIDE_ROOT,
    "backup.ref.outside_root",
    Error,
    "The backup file is not directly inside the policy's backup root.",
    "Backups live directly in backup.root (default /opt/pdurlej-platform/backups); move or re-take it there."
);
code!(
    NAME_INVALID,
    "backup.ref.name_invalid",
    Error,
    "The file name is not <ref-module>-<YYYYMMDDTHHMMSSZ>.<ext>.",
    "Use the file the backup script wrote, e.g. minio-20260517T010847Z.tar.gz."
);
code!(
    WRONG_MODULE,
    "backup.ref.wrong_module",
    Error,
    "The backup belongs to a module that does not cover this one.",
    "Use a backup of the module itself or of one of its `backup_ref_modules` (a sidecar is covered by its parent's backup)."
);
code!(
    TIMESTAMP_INVALID,
    "backup.ref.timestamp_invalid",
    Error,
    "The timestamp in the file name is not a real UTC instant.",
    "Check the date (e.g. 20260230 does not exist); use the file the backup script wrote."
);
code!(
    FUTURE,
    "backup.ref.future",
    Error,
    "The backup's timestamp is in the future (beyond the allowed clock skew).",
    "Check the host clocks and the file name; a backup cannot be from the future."
);
code!(
    STALE,
    "backup.ref.stale",
    Error,
    "The backup is older than the freshness window.",
    "Take a fresh backup right before the change (backup.max_age_hours in the policy)."
);
code!(
    EXTENSION,
    "backup.ref.extension",
    Error,
    "The file extension does not fit the module's backup class.",
    "Use the format the class produces (postgres: sql.gz, vault: snap, ...); tar.gz is every class's fallback."
);
code!(
    REF_OK,
    "backup.ref.ok",
    Info,
    "The backup reference is well-formed, fresh and for the right module.",
    "Nothing to do."
);
code!(
    ROOT_UNREADABLE,
    "backup.artifact.root_unreadable",
    Error,
    "The runner cannot see or read the backup directory.",
    "Run the job on the host runner that holds the backups, with read access to backup.root; the check is never skipped."
);
code!(
    ROOT_UNSAFE,
    "backup.artifact.root_unsafe",
    Error,
    "A directory on the path to the backup is owned by another user, or writable by its group or everyone without the sticky bit: they could swap the backup after the check.",
    "Make every directory from / down to backup.root owned by root (or backup.owner_uid) and not group- or world-writable (sticky directories such as /tmp excepted)."
);
code!(
    SHALLOW,
    "backup.artifact.shallow",
    Warning,
    "The backup passed a shallow read only (`backup.verify: shallow`): its first header was checked, not that it is complete.",
    "Set `backup.verify: deep` (the default), so a backup that stops half-way is refused."
);
code!(
    ARTIFACT_MISSING,
    "backup.artifact.missing",
    Error,
    "No file exists at the backup reference.",
    "Check the path, or take the backup on this host."
);
code!(
    SYMLINK,
    "backup.artifact.symlink",
    Error,
    "The backup path, or a directory on it, is a symbolic link.",
    "Store backups as regular files in a real directory; links are never followed."
);
code!(
    NOT_REGULAR,
    "backup.artifact.not_regular",
    Error,
    "The backup is not a regular file (a directory, FIFO, device, ...).",
    "Point backup_ref at the archive file itself."
);
code!(
    EMPTY,
    "backup.artifact.empty",
    Error,
    "The backup file is empty.",
    "The backup failed; take it again and check the backup script's log."
);
code!(
    MODE,
    "backup.artifact.mode",
    Error,
    "The backup file's permissions are not exactly the policy's mode (default 0600).",
    "chmod 0600 the file; backups hold secrets and must be readable by their owner only."
);
code!(
    OWNER,
    "backup.artifact.owner",
    Error,
    "The backup file is not owned by the expected user (default root).",
    "The backup script runs as root; a file owned by someone else was not made by it."
);
code!(
    HARD_LINK,
    "backup.artifact.hard_link",
    Error,
    "The backup file has more than one hard link: another name can change it.",
    "Backups are written once under one name; copy the file (`cp`, not `ln`) or take the backup again."
);
code!(
    OLDER_THAN_NAME,
    "backup.artifact.older_than_name",
    Error,
    "The file was last written before the instant in its name (beyond the clock skew): an older backup under a fresh name.",
    "Take a new backup; never rename an old one to look fresh."
);
code!(
    FORMAT,
    "backup.artifact.format",
    Error,
    "The file's bytes are not what its extension says (bad magic, corrupt stream or archive).",
    "Take the backup again; a backup that cannot be read cannot be restored."
);
code!(
    ARTIFACT_OK,
    "backup.artifact.ok",
    Info,
    "The backup file exists, is private, owned right, has one link, is not older than its name, and reads as its format (deep: proven complete).",
    "Nothing to do; its sha256 is recorded in the decision."
);

pub static CODES: &[&crate::report::Code] = &[
    &MISSING,
    &INVALID_CHARS,
    &NOT_ABSOLUTE,
    &PARENT_DIR,
    &NOT_NORMALIZED,
    &OUTSIDE_ROOT,
    &NAME_INVALID,
    &WRONG_MODULE,
    &TIMESTAMP_INVALID,
    &FUTURE,
    &STALE,
    &EXTENSION,
    &REF_OK,
    &ROOT_UNREADABLE,
    &ROOT_UNSAFE,
    &SHALLOW,
    &ARTIFACT_MISSING,
    &SYMLINK,
    &NOT_REGULAR,
    &EMPTY,
    &MODE,
    &OWNER,
    &HARD_LINK,
    &OLDER_THAN_NAME,
    &FORMAT,
    &deep::INCOMPLETE,
    &deep::CHECKSUM,
    &deep::UNVERIFIABLE,
    &deep::NO_DATA,
    &ARTIFACT_OK,
];
