//! The drill's two files: the backup's manifest it reads (`<backup>.manifest.json`) and the
//! drill record it writes (`<backup>.drill.json`), both in the formats of `docs/backup.md`.

use super::compare::{Compared, Expected};
use super::postgres::Tables;
use crate::report::{GateError, InputDigest};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use time::OffsetDateTime;

/// A manifest larger than this is refused (a cluster with a million tables is not expected).
pub const MAX_MANIFEST_BYTES: u64 = 64 * 1024 * 1024;

/// What the drill needs from the manifest.
#[derive(Debug, Clone)]
pub struct ManifestFacts {
    pub digest: InputDigest,
    pub module: String,
    pub class: String,
    pub artifact: String,
    pub sha256: String,
    pub size: u64,
    pub expected: Expected,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestV1 {
    schema: String,
    module: String,
    #[allow(dead_code)]
    ref_module: String,
    class: String,
    #[allow(dead_code)]
    procedure: String,
    artifact: String,
    #[allow(dead_code)]
    format: String,
    #[allow(dead_code)]
    tool_versions: BTreeMap<String, String>,
    #[allow(dead_code)]
    started_at: String,
    #[allow(dead_code)]
    finished_at: String,
    size: u64,
    sha256: String,
    inventory: InventoryV1,
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum InventoryV1 {
    Postgres {
        databases: Vec<PgDatabase>,
    },
    Redis {
        databases: Vec<RedisDb>,
    },
    Archive {
        files: u64,
        bytes: u64,
        listing_sha256: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PgDatabase {
    name: String,
    tables: Vec<PgTable>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PgTable {
    schema: String,
    name: String,
    rows: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RedisDb {
    db: u32,
    keys: u64,
}

/// Read the manifest beside `backup` (without following links, bounded).
pub fn read_manifest(backup: &Path) -> Result<ManifestFacts, GateError> {
    let path = format!("{}.manifest.json", backup.display());
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                GateError::new(&super::MANIFEST_MISSING, format!("no manifest at {path}"))
            } else {
                GateError::new(
                    &super::MANIFEST_INVALID,
                    format!("cannot open the manifest {path}: {e}"),
                )
            }
        })?;
    let invalid = |why: String| GateError::new(&super::MANIFEST_INVALID, format!("{path}: {why}"));
    let meta = file.metadata().map_err(|e| invalid(e.to_string()))?;
    if !meta.is_file() {
        return Err(invalid("not a regular file".into()));
    }
    let mut bytes = Vec::new();
    file.take(MAX_MANIFEST_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| invalid(e.to_string()))?;
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(invalid(format!("larger than {MAX_MANIFEST_BYTES} bytes")));
    }
    let digest = InputDigest::of("backup_manifest", path.clone(), &bytes);
    let m: ManifestV1 = serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
    if m.schema != "forgejo-gates.backup-manifest/v1" {
        return Err(invalid(format!("schema {:?} is not known", m.schema)));
    }
    let expected = match m.inventory {
        InventoryV1::Postgres { databases } => {
            let mut t = Tables::new();
            for db in databases {
                let tables = t.entry(db.name.clone()).or_default();
                for table in db.tables {
                    if tables
                        .insert((table.schema.clone(), table.name.clone()), table.rows)
                        .is_some()
                    {
                        return Err(invalid(format!(
                            "table {}.{}.{} is listed twice",
                            db.name, table.schema, table.name
                        )));
                    }
                }
            }
            Expected::Postgres(t)
        }
        InventoryV1::Redis { databases } => {
            let mut dbs = BTreeMap::new();
            for db in databases {
                if dbs.insert(db.db, db.keys).is_some() {
                    return Err(invalid(format!("db{} is listed twice", db.db)));
                }
            }
            Expected::Redis(dbs)
        }
        InventoryV1::Archive {
            files,
            bytes,
            listing_sha256,
        } => Expected::Archive {
            files,
            bytes,
            listing_sha256,
        },
    };
    Ok(ManifestFacts {
        digest,
        module: m.module,
        class: m.class,
        artifact: m.artifact,
        sha256: m.sha256,
        size: m.size,
        expected,
    })
}

/// The argv prefix the policy gives for starting the class's scratch tools.
pub fn drill_exec(_policy: &crate::policy::Policy, _class: &str) -> Vec<String> {
    Vec::new()
}

/// The drill record, as written.
#[derive(Debug, Clone)]
pub struct DrillRecordInput {
    pub artifact: String,
    pub backup_sha256: String,
    pub module: String,
    pub class: String,
    pub passed: bool,
    pub started_at: OffsetDateTime,
    pub finished_at: OffsetDateTime,
    pub scratch: String,
    pub tool_versions: BTreeMap<String, String>,
    pub comparison: Vec<Compared>,
}

#[derive(Serialize)]
struct DrillRecordV1<'a> {
    schema: &'a str,
    artifact: &'a str,
    backup_sha256: &'a str,
    module: &'a str,
    class: &'a str,
    outcome: &'a str,
    started_at: String,
    finished_at: String,
    scratch: &'a str,
    tool_versions: &'a BTreeMap<String, String>,
    comparison: Vec<ComparedV1<'a>>,
}

#[derive(Serialize)]
struct ComparedV1<'a> {
    item: &'a str,
    expected: &'a str,
    restored: &'a str,
    ok: bool,
}

pub fn render_drill(r: &DrillRecordInput) -> String {
    let doc = DrillRecordV1 {
        schema: "forgejo-gates.restore-drill/v1",
        artifact: &r.artifact,
        backup_sha256: &r.backup_sha256,
        module: &r.module,
        class: &r.class,
        outcome: if r.passed { "pass" } else { "fail" },
        started_at: crate::clock::format(r.started_at),
        finished_at: crate::clock::format(r.finished_at),
        scratch: &r.scratch,
        tool_versions: &r.tool_versions,
        comparison: r
            .comparison
            .iter()
            .map(|c| ComparedV1 {
                item: &c.item,
                expected: &c.expected,
                restored: &c.restored,
                ok: c.ok,
            })
            .collect(),
    };
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}
