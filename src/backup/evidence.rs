//! What the backup tools leave beside a backup: the manifest `backup_before_apply` writes
//! (`<backup>.manifest.json`: what was taken, how, and what it holds) and the record
//! `restore_drill` writes (`<backup>.drill.json`: the backup was restored once and matched).
//!
//! Both are read strictly, because a gate's yes rests on them: a repeated key, an unknown
//! field, a wrong type, a number that does not fit, a malformed hash or stamp, an unsorted
//! inventory or a record that contradicts itself is an error, never a default. Both are
//! written atomically with mode 0600 (they name tables and files of a backup that may hold
//! secrets).

use super::reference::{parse_stamp, split_name};
use crate::model::ModuleId;
use crate::model::backup_format::{BACKUP_CLASSES, EXTENSIONS};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

pub const MANIFEST_SCHEMA: &str = "forgejo-gates.backup-manifest/v1";
pub const DRILL_SCHEMA: &str = "forgejo-gates.restore-drill/v1";
/// A manifest or drill record larger than this is refused before it is parsed (a postgres
/// inventory of tens of thousands of tables fits well below it).
pub const MAX_EVIDENCE_BYTES: u64 = 16 * 1024 * 1024;
pub const MANIFEST_SUFFIX: &str = ".manifest.json";
pub const DRILL_SUFFIX: &str = ".drill.json";

/// `<backup>.manifest.json`.
pub fn manifest_path(backup: &Path) -> PathBuf {
    with_suffix(backup, MANIFEST_SUFFIX)
}

/// `<backup>.drill.json`.
pub fn drill_path(backup: &Path) -> PathBuf {
    with_suffix(backup, DRILL_SUFFIX)
}

fn with_suffix(backup: &Path, suffix: &str) -> PathBuf {
    let mut s = backup.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// How a backup was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Procedure {
    #[serde(rename = "pg_dumpall")]
    PgDumpall,
    #[serde(rename = "redis-bgsave")]
    RedisBgsave,
    #[serde(rename = "vault-raft-snapshot")]
    VaultRaftSnapshot,
    #[serde(rename = "mc-mirror")]
    McMirror,
    #[serde(rename = "mount-archive")]
    MountArchive,
}

impl Procedure {
    pub fn as_str(self) -> &'static str {
        match self {
            Procedure::PgDumpall => "pg_dumpall",
            Procedure::RedisBgsave => "redis-bgsave",
            Procedure::VaultRaftSnapshot => "vault-raft-snapshot",
            Procedure::McMirror => "mc-mirror",
            Procedure::MountArchive => "mount-archive",
        }
    }

    /// The inventory kind this procedure's manifest must carry.
    fn inventory_kind(self) -> &'static str {
        match self {
            Procedure::PgDumpall => "postgres",
            Procedure::RedisBgsave => "redis",
            // A raft snapshot is a gzip'd tar; mc mirror output is archived: both list files.
            Procedure::VaultRaftSnapshot | Procedure::McMirror | Procedure::MountArchive => {
                "archive"
            }
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ`, UTC, whole seconds: the only stamp form the records use.
pub mod stamp {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::{OffsetDateTime, PrimitiveDateTime, format_description::BorrowedFormatItem};

    const FORMAT: &[BorrowedFormatItem<'static>] =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

    pub fn format(t: OffsetDateTime) -> String {
        let t = t.to_offset(time::UtcOffset::UTC);
        t.format(FORMAT)
            .unwrap_or_else(|_| t.unix_timestamp().to_string())
    }

    pub fn parse(s: &str) -> Option<OffsetDateTime> {
        if s.len() != 20 {
            return None;
        }
        PrimitiveDateTime::parse(s, FORMAT)
            .ok()
            .map(|t| t.assume_utc())
    }

    pub fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let s = String::deserialize(d)?;
        parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{}` is not a UTC stamp like 2026-12-01T21:00:00Z",
                crate::model::truncate(&s)
            ))
        })
    }
}

/// `<backup>.manifest.json`: what `backup_before_apply` took, how, and what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupManifest {
    pub schema: String,
    /// The dispatched module.
    pub module: String,
    /// The module whose data it is (the file name's prefix).
    pub ref_module: String,
    pub class: String,
    pub procedure: Procedure,
    /// The backup's file name, without a directory.
    pub artifact: String,
    /// The file's extension as the gates know it (`sql.gz`, `tar.gz`, ...).
    pub format: String,
    /// Tool name → its `--version` line.
    pub tool_versions: BTreeMap<String, String>,
    #[serde(with = "stamp")]
    pub started_at: OffsetDateTime,
    #[serde(with = "stamp")]
    pub finished_at: OffsetDateTime,
    /// Bytes of the final backup file.
    pub size: u64,
    /// sha256 of the final backup file, lowercase hex.
    pub sha256: String,
    pub inventory: Inventory,
}

/// What a backup holds, as its producer counted it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Inventory {
    /// Sorted by database; tables by schema, then name.
    Postgres { databases: Vec<PgDatabase> },
    /// Sorted by db; only non-empty databases.
    Redis { databases: Vec<RedisDb> },
    /// Regular-file members: their count, total bytes, and the sha256 of the listing
    /// (`<path>\t<size>\n` per file, sorted by path; see [`listing_sha256`]).
    Archive {
        files: u64,
        bytes: u64,
        listing_sha256: String,
    },
}

impl Inventory {
    pub fn kind(&self) -> &'static str {
        match self {
            Inventory::Postgres { .. } => "postgres",
            Inventory::Redis { .. } => "redis",
            Inventory::Archive { .. } => "archive",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PgDatabase {
    pub name: String,
    pub tables: Vec<PgTable>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PgTable {
    pub schema: String,
    pub name: String,
    /// Exact `count(*)`.
    pub rows: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisDb {
    pub db: u64,
    pub keys: u64,
}

/// `<backup>.drill.json`: the backup was restored into a scratch instance and compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrillRecord {
    pub schema: String,
    /// The backup's file name, without a directory.
    pub artifact: String,
    /// sha256 of the backup file as the drill read it.
    pub backup_sha256: String,
    pub module: String,
    pub class: String,
    pub outcome: DrillOutcome,
    #[serde(with = "stamp")]
    pub started_at: OffsetDateTime,
    #[serde(with = "stamp")]
    pub finished_at: OffsetDateTime,
    /// What the scratch instance was, in words.
    pub scratch: String,
    pub tool_versions: BTreeMap<String, String>,
    pub comparison: Vec<Compared>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrillOutcome {
    /// Restored, and every comparison is ok.
    Pass,
    /// The restore failed or the content differs.
    Fail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Compared {
    pub item: String,
    pub expected: String,
    pub restored: String,
    pub ok: bool,
}

/// Parse and validate a manifest. `Err` says what is wrong, in one line.
pub fn parse_manifest(bytes: &[u8]) -> Result<BackupManifest, String> {
    let m: BackupManifest = parse_strict(bytes)?;
    validate_manifest(&m)?;
    Ok(m)
}

/// Parse and validate a drill record. `Err` says what is wrong, in one line.
pub fn parse_drill(bytes: &[u8]) -> Result<DrillRecord, String> {
    let d: DrillRecord = parse_strict(bytes)?;
    validate_drill(&d)?;
    Ok(d)
}

fn parse_strict<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    if bytes.len() as u64 > MAX_EVIDENCE_BYTES {
        return Err(format!(
            "larger than the limit of {MAX_EVIDENCE_BYTES} bytes"
        ));
    }
    // Duplicate keys are refused first (serde_json would keep the last one silently).
    let value = crate::json::parse_strict(bytes)?;
    serde_json::from_value(value).map_err(|e| e.to_string())
}

/// Every check a manifest must pass beyond its types. Public so that the writer can check
/// what it is about to write with the same rules the reader applies.
pub fn validate_manifest(m: &BackupManifest) -> Result<(), String> {
    if m.schema != MANIFEST_SCHEMA {
        return Err(format!(
            "schema `{}` is not `{MANIFEST_SCHEMA}`",
            crate::model::truncate(&m.schema)
        ));
    }
    module_id(&m.module, "module")?;
    module_id(&m.ref_module, "ref_module")?;
    class(&m.class)?;
    artifact_name(&m.artifact, Some(&m.ref_module), Some(&m.format))?;
    hex64(&m.sha256, "sha256")?;
    if m.size == 0 {
        return Err("size is 0: an empty file is not a backup".into());
    }
    tool_versions(&m.tool_versions)?;
    if m.finished_at < m.started_at {
        return Err("finished_at is before started_at".into());
    }
    let expected = m.procedure.inventory_kind();
    if m.inventory.kind() != expected {
        return Err(format!(
            "procedure {} must carry a `{expected}` inventory, not `{}`",
            m.procedure.as_str(),
            m.inventory.kind()
        ));
    }
    match &m.inventory {
        Inventory::Postgres { databases } => {
            for pair in databases.windows(2) {
                if pair[0].name >= pair[1].name {
                    return Err(format!(
                        "inventory.databases: not sorted or repeated at `{}`",
                        crate::model::truncate(&pair[1].name)
                    ));
                }
            }
            for db in databases {
                non_empty(&db.name, "inventory database name")?;
                for pair in db.tables.windows(2) {
                    let a = (&pair[0].schema, &pair[0].name);
                    let b = (&pair[1].schema, &pair[1].name);
                    if a >= b {
                        return Err(format!(
                            "inventory: tables of `{}` not sorted or repeated at {}.{}",
                            crate::model::truncate(&db.name),
                            crate::model::truncate(b.0),
                            crate::model::truncate(b.1)
                        ));
                    }
                }
                for t in &db.tables {
                    non_empty(&t.schema, "inventory table schema")?;
                    non_empty(&t.name, "inventory table name")?;
                }
            }
        }
        Inventory::Redis { databases } => {
            for pair in databases.windows(2) {
                if pair[0].db >= pair[1].db {
                    return Err(format!(
                        "inventory.databases: not sorted or repeated at db {}",
                        pair[1].db
                    ));
                }
            }
            if let Some(empty) = databases.iter().find(|d| d.keys == 0) {
                return Err(format!(
                    "inventory.databases: db {} has 0 keys; only non-empty dbs are listed",
                    empty.db
                ));
            }
        }
        Inventory::Archive {
            files,
            bytes,
            listing_sha256,
        } => {
            hex64(listing_sha256, "inventory.listing_sha256")?;
            if *files == 0 && *bytes != 0 {
                return Err("inventory: 0 files cannot hold bytes".into());
            }
        }
    }
    Ok(())
}

/// Every check a drill record must pass beyond its types.
pub fn validate_drill(d: &DrillRecord) -> Result<(), String> {
    if d.schema != DRILL_SCHEMA {
        return Err(format!(
            "schema `{}` is not `{DRILL_SCHEMA}`",
            crate::model::truncate(&d.schema)
        ));
    }
    artifact_name(&d.artifact, None, None)?;
    hex64(&d.backup_sha256, "backup_sha256")?;
    module_id(&d.module, "module")?;
    class(&d.class)?;
    if d.finished_at < d.started_at {
        return Err("finished_at is before started_at".into());
    }
    non_empty(&d.scratch, "scratch")?;
    tool_versions(&d.tool_versions)?;
    if d.outcome == DrillOutcome::Pass {
        if d.comparison.is_empty() {
            return Err(
                "outcome pass with no comparison: a drill that compared nothing proves nothing"
                    .into(),
            );
        }
        if let Some(bad) = d.comparison.iter().find(|c| !c.ok) {
            return Err(format!(
                "outcome pass, but `{}` is not ok",
                crate::model::truncate(&bad.item)
            ));
        }
    }
    for c in &d.comparison {
        non_empty(&c.item, "comparison item")?;
    }
    Ok(())
}

fn module_id(s: &str, what: &str) -> Result<(), String> {
    ModuleId::parse(s)
        .map(|_| ())
        .map_err(|_| format!("{what} `{}` is not a module id", crate::model::truncate(s)))
}

fn class(s: &str) -> Result<(), String> {
    if BACKUP_CLASSES.contains(&s) {
        Ok(())
    } else {
        Err(format!(
            "class `{}` is not one of {}",
            crate::model::truncate(s),
            BACKUP_CLASSES.join(", ")
        ))
    }
}

/// `<ref-module>-<YYYYMMDDTHHMMSSZ>.<ext>` with a real instant; prefix and extension checked
/// against the record's own fields when given.
fn artifact_name(name: &str, ref_module: Option<&str>, format: Option<&str>) -> Result<(), String> {
    let shown = crate::model::truncate(name);
    let Some((prefix, stamp, ext)) = split_name(name) else {
        return Err(format!(
            "artifact `{shown}` is not a file name <ref-module>-<YYYYMMDDTHHMMSSZ>.<ext>"
        ));
    };
    if parse_stamp(stamp).is_none() {
        return Err(format!("artifact `{shown}`: {stamp} is not a real instant"));
    }
    if let Some(r) = ref_module
        && r != prefix
    {
        return Err(format!("artifact `{shown}` is not of ref_module `{r}`"));
    }
    if let Some(f) = format {
        if !EXTENSIONS.iter().any(|(e, _)| *e == f) {
            return Err(format!(
                "format `{}` is not a known extension",
                crate::model::truncate(f)
            ));
        }
        if f != ext {
            return Err(format!(
                "artifact `{shown}` does not end in its format .{f}"
            ));
        }
    }
    Ok(())
}

fn hex64(s: &str, what: &str) -> Result<(), String> {
    if s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(())
    } else {
        Err(format!("{what} is not 64 lowercase hex digits"))
    }
}

fn non_empty(s: &str, what: &str) -> Result<(), String> {
    if s.is_empty() {
        Err(format!("{what} is empty"))
    } else {
        Ok(())
    }
}

fn tool_versions(map: &BTreeMap<String, String>) -> Result<(), String> {
    for (tool, version) in map {
        non_empty(tool, "tool_versions key")?;
        non_empty(version, "tool_versions value")?;
    }
    Ok(())
}

/// The archive inventory's digest: `<path>\t<size>\n` for every regular file, sorted by path
/// (byte order), sha256 over the concatenation. Both the backup and the drill use this, so
/// that the order a tool happens to walk files in never matters. In a path, a backslash, tab
/// or newline is written `\\`, `\t`, `\n`, so that no name can spell other entries (a file
/// named `a<TAB>5<LF>b` is not the files `a` and `b`); other names are written as they are.
pub fn listing_sha256(entries: &mut [(Vec<u8>, u64)]) -> String {
    use sha2::{Digest, Sha256};
    entries.sort();
    let mut h = Sha256::new();
    for (path, size) in entries.iter() {
        let mut from = 0;
        for (i, byte) in path.iter().enumerate() {
            let escaped: &[u8] = match byte {
                b'\\' => b"\\\\",
                b'\t' => b"\\t",
                b'\n' => b"\\n",
                _ => continue,
            };
            h.update(&path[from..i]);
            h.update(escaped);
            from = i + 1;
        }
        h.update(&path[from..]);
        h.update(b"\t");
        h.update(size.to_string().as_bytes());
        h.update(b"\n");
    }
    crate::digest::hex(&h.finalize())
}

/// Read a record beside a backup: `Ok(None)` when there is none; a link, a non-regular file,
/// an unreadable or oversized file is an error (a planted link must not vouch for a backup).
pub fn read_beside(path: &Path) -> Result<Option<Vec<u8>>, String> {
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(format!("{} is a symbolic link", path.display()));
        }
        Err(e) => return Err(format!("cannot open {}: {e}", path.display())),
    };
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot stat {}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{} is not a regular file", path.display()));
    }
    if meta.len() > MAX_EVIDENCE_BYTES {
        return Err(format!(
            "{} is larger than {MAX_EVIDENCE_BYTES} bytes",
            path.display()
        ));
    }
    let mut buf = Vec::new();
    file.take(MAX_EVIDENCE_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if buf.len() as u64 > MAX_EVIDENCE_BYTES {
        return Err(format!(
            "{} is larger than {MAX_EVIDENCE_BYTES} bytes",
            path.display()
        ));
    }
    Ok(Some(buf))
}

/// Write `value` as pretty JSON to `path` atomically: a temporary file in the same directory
/// created with mode 0600 and `O_EXCL`, fsynced, renamed over nothing (an existing record is
/// an error, not overwritten unless `replace`), then the directory fsynced.
pub fn write_json(path: &Path, value: &impl Serialize, replace: bool) -> io::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
    bytes.push(b'\n');
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other("the record's path has no directory"))?;
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other("the record's path has no file name"))?;
    if !replace && std::fs::symlink_metadata(path).is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists already", path.display()),
        ));
    }
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut file = create_private(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Create a new file with mode 0600 from the first instant (`O_EXCL`, no link followed).
pub fn create_private(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// fsync a directory, so that a rename in it survives a crash.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    fn manifest_json() -> serde_json::Value {
        serde_json::json!({
            "schema": MANIFEST_SCHEMA,
            "module": "postgres",
            "ref_module": "postgres",
            "class": "postgres",
            "procedure": "pg_dumpall",
            "artifact": "postgres-20261201T210000Z.sql.gz",
            "format": "sql.gz",
            "tool_versions": { "pg_dumpall": "pg_dumpall (PostgreSQL) 15.18" },
            "started_at": "2026-12-01T21:00:00Z",
            "finished_at": "2026-12-01T21:00:04Z",
            "size": 123456,
            "sha256": SHA,
            "inventory": { "kind": "postgres", "databases": [
                { "name": "app", "tables": [
                    { "schema": "public", "name": "items", "rows": 3 },
                    { "schema": "public", "name": "orders", "rows": 1200 } ] } ] }
        })
    }

    fn drill_json() -> serde_json::Value {
        serde_json::json!({
            "schema": DRILL_SCHEMA,
            "artifact": "postgres-20261201T210000Z.sql.gz",
            "backup_sha256": SHA,
            "module": "postgres",
            "class": "postgres",
            "outcome": "pass",
            "started_at": "2026-12-01T21:01:00Z",
            "finished_at": "2026-12-01T21:01:09Z",
            "scratch": "initdb cluster on a private socket",
            "tool_versions": { "postgres": "postgres (PostgreSQL) 15.18" },
            "comparison": [
                { "item": "app.public.orders rows", "expected": "1200", "restored": "1200", "ok": true }
            ]
        })
    }

    fn manifest_with(edit: impl FnOnce(&mut serde_json::Value)) -> Result<BackupManifest, String> {
        let mut v = manifest_json();
        edit(&mut v);
        parse_manifest(&serde_json::to_vec(&v).unwrap())
    }

    fn drill_with(edit: impl FnOnce(&mut serde_json::Value)) -> Result<DrillRecord, String> {
        let mut v = drill_json();
        edit(&mut v);
        parse_drill(&serde_json::to_vec(&v).unwrap())
    }

    #[test]
    fn the_spec_examples_read_and_round_trip() {
        let m = manifest_with(|_| {}).unwrap();
        assert_eq!(m.procedure, Procedure::PgDumpall);
        assert_eq!(stamp::format(m.started_at), "2026-12-01T21:00:00Z");
        let again = parse_manifest(&serde_json::to_vec(&m).unwrap()).unwrap();
        assert_eq!(again, m);
        let d = drill_with(|_| {}).unwrap();
        assert_eq!(d.outcome, DrillOutcome::Pass);
        assert_eq!(parse_drill(&serde_json::to_vec(&d).unwrap()).unwrap(), d);
    }

    #[test]
    fn a_repeated_key_is_an_error() {
        let text = String::from_utf8(serde_json::to_vec(&manifest_json()).unwrap()).unwrap();
        let doubled = text.replacen("\"size\":123456", "\"size\":123456,\"size\":1", 1);
        assert_ne!(doubled, text);
        let err = parse_manifest(doubled.as_bytes()).unwrap_err();
        assert!(err.contains("size"), "{err}");
        let tools = text.replacen(
            "\"tool_versions\":{",
            "\"tool_versions\":{\"pg_dumpall\":\"x\",",
            1,
        );
        assert!(parse_manifest(tools.as_bytes()).is_err());
    }

    #[test]
    fn unknown_fields_and_wrong_types_are_errors() {
        assert!(manifest_with(|v| v["extra"] = 1.into()).is_err());
        assert!(manifest_with(|v| v["inventory"]["extra"] = 1.into()).is_err());
        assert!(manifest_with(|v| v["size"] = "123456".into()).is_err());
        assert!(manifest_with(|v| v["size"] = (-1).into()).is_err());
        assert!(manifest_with(|v| v["size"] = 1.5.into()).is_err());
        assert!(
            manifest_with(|v| v["inventory"]["databases"][0]["tables"][0]["rows"] =
                serde_json::Value::Number(serde_json::Number::from_f64(1e30).unwrap()))
            .is_err()
        );
        assert!(drill_with(|v| v["comparison"][0]["ok"] = "true".into()).is_err());
        assert!(drill_with(|v| v["extra"] = 1.into()).is_err());
    }

    #[test]
    fn a_size_that_does_not_fit_is_an_error() {
        let text = String::from_utf8(serde_json::to_vec(&manifest_json()).unwrap()).unwrap();
        let huge = text.replacen("123456", "18446744073709551616", 1);
        assert!(parse_manifest(huge.as_bytes()).is_err());
    }

    #[test]
    fn bad_hashes_stamps_and_names_are_errors() {
        assert!(manifest_with(|v| v["sha256"] = SHA.to_uppercase().into()).is_err());
        assert!(manifest_with(|v| v["sha256"] = SHA[1..].into()).is_err());
        assert!(manifest_with(|v| v["started_at"] = "2026-12-01T21:00:00+00:00".into()).is_err());
        assert!(manifest_with(|v| v["started_at"] = "2026-02-30T21:00:00Z".into()).is_err());
        assert!(manifest_with(|v| v["finished_at"] = "2026-12-01T20:59:59Z".into()).is_err());
        assert!(
            manifest_with(|v| v["artifact"] = "/x/postgres-20261201T210000Z.sql.gz".into())
                .is_err()
        );
        assert!(manifest_with(|v| v["artifact"] = "redis-20261201T210000Z.sql.gz".into()).is_err());
        assert!(manifest_with(|v| v["format"] = "tar.gz".into()).is_err());
        assert!(manifest_with(|v| v["module"] = "Postgres".into()).is_err());
        assert!(manifest_with(|v| v["class"] = "mysql".into()).is_err());
        assert!(manifest_with(|v| v["procedure"] = "pg_dump".into()).is_err());
        assert!(
            manifest_with(|v| v["schema"] = "forgejo-gates.backup-manifest/v2".into()).is_err()
        );
        assert!(manifest_with(|v| v["size"] = 0.into()).is_err());
        assert!(drill_with(|v| v["backup_sha256"] = "".into()).is_err());
        assert!(drill_with(|v| v["outcome"] = "passed".into()).is_err());
    }

    #[test]
    fn inventories_must_be_sorted_and_fit_the_procedure() {
        assert!(
            manifest_with(|v| {
                let t = v["inventory"]["databases"][0]["tables"]
                    .as_array_mut()
                    .unwrap();
                t.reverse();
            })
            .is_err()
        );
        assert!(manifest_with(|v| {
            v["inventory"] = serde_json::json!({"kind": "archive", "files": 1, "bytes": 1, "listing_sha256": SHA});
        })
        .is_err());
        assert!(manifest_with(|v| {
            v["procedure"] = "redis-bgsave".into();
            v["inventory"] = serde_json::json!({"kind": "redis", "databases": [{"db": 1, "keys": 2}, {"db": 0, "keys": 1}]});
        })
        .is_err());
        assert!(
            manifest_with(|v| {
                v["procedure"] = "redis-bgsave".into();
                v["inventory"] =
                    serde_json::json!({"kind": "redis", "databases": [{"db": 0, "keys": 0}]});
            })
            .is_err()
        );
        assert!(manifest_with(|v| {
            v["procedure"] = "mount-archive".into();
            v["artifact"] = "postgres-20261201T210000Z.tar.gz".into();
            v["format"] = "tar.gz".into();
            v["inventory"] = serde_json::json!({"kind": "archive", "files": 2, "bytes": 10, "listing_sha256": SHA});
        })
        .is_ok());
    }

    #[test]
    fn a_pass_must_have_compared_something_and_all_ok() {
        assert!(drill_with(|v| v["comparison"] = serde_json::json!([])).is_err());
        assert!(drill_with(|v| v["comparison"][0]["ok"] = false.into()).is_err());
        assert!(
            drill_with(|v| {
                v["outcome"] = "fail".into();
                v["comparison"][0]["ok"] = false.into();
            })
            .is_ok()
        );
    }

    #[test]
    fn the_listing_digest_ignores_walk_order() {
        let mut a = vec![(b"b/x".to_vec(), 3), (b"a".to_vec(), 10)];
        let mut b = vec![(b"a".to_vec(), 10), (b"b/x".to_vec(), 3)];
        assert_eq!(listing_sha256(&mut a), listing_sha256(&mut b));
        // "a\t10\nb/x\t3\n"
        assert_eq!(
            listing_sha256(&mut a),
            crate::digest::sha256_hex(b"a\t10\nb/x\t3\n")
        );
    }

    #[test]
    fn no_name_can_spell_other_entries_of_the_listing() {
        // One file whose name holds a tab and a newline must not digest like two files.
        let mut one = vec![(b"a\t5\nb".to_vec(), 3)];
        let mut two = vec![(b"a".to_vec(), 5), (b"b".to_vec(), 3)];
        assert_ne!(listing_sha256(&mut one), listing_sha256(&mut two));
        // Nor may an escape be spelled by a name that holds a backslash.
        let mut escaped = vec![(b"a\\tb".to_vec(), 1)];
        let mut tab = vec![(b"a\tb".to_vec(), 1)];
        assert_ne!(listing_sha256(&mut escaped), listing_sha256(&mut tab));
    }

    #[test]
    fn records_are_written_private_and_never_over_an_existing_one() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir
            .path()
            .join("postgres-20261201T210000Z.sql.gz.manifest.json");
        let m = manifest_with(|_| {}).unwrap();
        write_json(&path, &m, false).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(write_json(&path, &m, false).is_err());
        let back = parse_manifest(&read_beside(&path).unwrap().unwrap()).unwrap();
        assert_eq!(back, m);
        assert_eq!(read_beside(&dir.path().join("none")).unwrap(), None);
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        assert!(read_beside(&link).is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
