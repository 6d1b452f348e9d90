//! What backup files must look like: the magic bytes the verifiers look for. The classes,
//! formats and extensions are model facts ([`crate::model::backup_format`]).

pub const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b, 0x08];
pub const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
