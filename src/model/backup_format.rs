//! Backup classes and the file formats and extensions they produce: facts of the model that
//! the manifest, the policy and the backup checks all read. What the bytes of each format
//! must look like is the backup checks' business (`backup::format`).

pub const BACKUP_CLASSES: &[&str] = &[
    "postgres",
    "redis",
    "vault",
    "minio",
    "filesystem",
    "engine",
    "separate-root",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `pg_dumpall | gzip`: gzip around SQL text.
    SqlGz,
    /// `pg_dump -Fc`: PostgreSQL custom format (`PGDMP`).
    PgDump,
    /// Redis RDB (`REDIS0011`).
    RedisRdb,
    /// Vault raft snapshot: a gzip'd tar holding `meta.json` and `state.bin`.
    VaultSnapshot,
    TarGz,
    TarZst,
}

/// Every extension a backup may carry, with its format. Longest first, for matching.
pub const EXTENSIONS: &[(&str, Format)] = &[
    ("tar.zst", Format::TarZst),
    ("tar.gz", Format::TarGz),
    ("sql.gz", Format::SqlGz),
    ("dump", Format::PgDump),
    ("snap", Format::VaultSnapshot),
    ("rdb", Format::RedisRdb),
];

pub fn format_of(extension: &str) -> Option<Format> {
    EXTENSIONS
        .iter()
        .find(|(e, _)| *e == extension)
        .map(|(_, f)| *f)
}
