//! The drill's two files: the backup's manifest it reads (`<backup>.manifest.json`) and the
//! drill record it writes (`<backup>.drill.json`), both in the formats of `docs/backup.md`.

use super::compare::{Compared, Expected};
use super::postgres::Tables;
use crate::backup::evidence::{self, BackupManifest, DrillOutcome, DrillRecord, Inventory};
use crate::report::{GateError, InputDigest};
use std::collections::BTreeMap;
use std::path::Path;
use time::OffsetDateTime;

/// What the drill needs from the manifest.
#[derive(Debug, Clone)]
pub struct ManifestFacts {
    pub digest: InputDigest,
    pub manifest: BackupManifest,
    pub expected: Expected,
}

/// Read the manifest beside `backup` with the gates' strict reader (no link followed,
/// bounded, every field validated).
pub fn read_manifest(backup: &Path) -> Result<ManifestFacts, GateError> {
    let path = evidence::manifest_path(backup);
    let shown = path.display().to_string();
    let invalid = |why: String| GateError::new(&super::MANIFEST_INVALID, format!("{shown}: {why}"));
    let bytes = evidence::read_beside(&path)
        .map_err(|e| GateError::new(&super::MANIFEST_INVALID, e))?
        .ok_or_else(|| {
            GateError::new(&super::MANIFEST_MISSING, format!("no manifest at {shown}"))
        })?;
    let digest = InputDigest::of("backup_manifest", shown.clone(), &bytes);
    let manifest = evidence::parse_manifest(&bytes).map_err(invalid)?;
    let expected = match &manifest.inventory {
        Inventory::Postgres { databases } => {
            let mut t = Tables::new();
            for db in databases {
                let tables = t.entry(db.name.clone()).or_default();
                for table in &db.tables {
                    tables.insert((table.schema.clone(), table.name.clone()), table.rows);
                }
            }
            Expected::Postgres(t)
        }
        Inventory::Redis { databases } => {
            Expected::Redis(databases.iter().map(|d| (d.db, d.keys)).collect())
        }
        Inventory::Archive {
            files,
            bytes,
            listing_sha256,
        } => Expected::Archive {
            files: *files,
            bytes: *bytes,
            listing_sha256: listing_sha256.clone(),
        },
    };
    Ok(ManifestFacts {
        digest,
        manifest,
        expected,
    })
}

/// What the drill record says, before it is written.
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

impl DrillRecordInput {
    pub fn to_record(&self) -> DrillRecord {
        DrillRecord {
            schema: evidence::DRILL_SCHEMA.into(),
            artifact: self.artifact.clone(),
            backup_sha256: self.backup_sha256.clone(),
            module: self.module.clone(),
            class: self.class.clone(),
            outcome: if self.passed {
                DrillOutcome::Pass
            } else {
                DrillOutcome::Fail
            },
            started_at: self.started_at,
            finished_at: self.finished_at,
            scratch: self.scratch.clone(),
            tool_versions: self.tool_versions.clone(),
            comparison: self
                .comparison
                .iter()
                .map(|c| evidence::Compared {
                    item: c.item.clone(),
                    expected: c.expected.clone(),
                    restored: c.restored.clone(),
                    ok: c.ok,
                })
                .collect(),
        }
    }
}

/// Write the record beside the backup (0600, atomically, replacing an earlier drill's),
/// after checking it with the same rules the gates read it with.
pub fn write(backup: &Path, record: &DrillRecord) -> Result<(), String> {
    evidence::validate_drill(record)?;
    evidence::write_json(&evidence::drill_path(backup), record, true).map_err(|e| e.to_string())
}
