//! Backup files made at test time: real tar, gzip and zstd bytes, never committed.

use std::io::Write;

/// One ustar header for a regular file.
fn tar_header(name: &str, size: usize) -> [u8; 512] {
    let mut size_field = [0u8; 12];
    size_field.copy_from_slice(format!("{size:011o}\0").as_bytes());
    tar_header_raw(name, b'0', size_field)
}

/// One ustar header with any type flag and size field (e.g. a GNU base-256 size), with a
/// correct checksum: what a careless or hostile archiver could write.
pub fn tar_header_raw(name: &str, typeflag: u8, size_field: [u8; 12]) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(&size_field);
    h[136..148].copy_from_slice(b"15000000000\0");
    h[148..156].copy_from_slice(b"        ");
    h[156] = typeflag;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    let sum: u32 = h.iter().map(|b| *b as u32).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

/// A tar archive of the given entries, with its end-of-archive marker.
pub fn tar(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in entries {
        out.extend_from_slice(&tar_header(name, data.len()));
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// zstd as the `zstd` command writes it: one frame with its content checksum (`--check`).
pub fn zstd(bytes: &[u8]) -> Vec<u8> {
    let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 1).unwrap();
    enc.include_checksum(true).unwrap();
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// A plausible minio data archive.
pub fn minio_tar_gz() -> Vec<u8> {
    gzip(&tar(&[
        ("data/.minio.sys/format.json", br#"{"version":"1"}"#),
        ("data/bucket/object.bin", &[7u8; 3000]),
    ]))
}

/// A file written by a real tool, from `tests/fixtures/backups/`.
pub fn real(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/backups")
            .join(name),
    )
    .unwrap()
}

/// What `pg_dumpall` 15 wrote, to its completion line.
pub fn pg_dumpall_sql() -> Vec<u8> {
    real("pg_dumpall-15.sql")
}

/// `pg_dumpall | gzip`, complete.
pub fn pg_dumpall_sql_gz() -> Vec<u8> {
    gzip(&pg_dumpall_sql())
}

/// `pg_dumpall | gzip` where pg_dumpall stopped half-way and gzip closed the stream cleanly
/// (a pipeline without `pipefail`).
pub fn pg_dumpall_cut_sql_gz() -> Vec<u8> {
    let sql = pg_dumpall_sql();
    gzip(&sql[..sql.len() / 2])
}

/// A Vault raft snapshot as Vault writes it: gzip around a tar of `meta.json`, `state.bin` and
/// `SHA256SUMS` (`<hex>  <name>` lines) naming the first two.
pub fn vault_snap() -> Vec<u8> {
    vault_snap_with(
        br#"{"Version":1,"ID":"3-42-1","Index":42,"Term":3}"#,
        &[1u8; 700],
        None,
    )
}

/// A Vault snapshot whose `SHA256SUMS` is `sums` when given, else the true sums.
pub fn vault_snap_with(meta: &[u8], state: &[u8], sums: Option<&[u8]>) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let hex = |b: &[u8]| {
        Sha256::digest(b)
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect::<String>()
    };
    let true_sums = format!("{}  meta.json\n{}  state.bin\n", hex(meta), hex(state));
    let sums = sums.unwrap_or(true_sums.as_bytes());
    gzip(&tar(&[
        ("meta.json", meta),
        ("state.bin", state),
        ("SHA256SUMS", sums),
    ]))
}

/// What `redis-server` 7.0 wrote with `SAVE` (CRC-64 over the file in its last 8 bytes).
pub fn redis_rdb() -> Vec<u8> {
    real("redis-7.0.rdb")
}

/// The 8 bytes at offset 257 of a POSIX ustar header (magic `ustar\0`, version `00`).
pub const USTAR_POSIX: &[u8; 8] = b"ustar\x0000";
/// ... of a GNU header (magic `ustar `, version ` \0`).
pub const USTAR_GNU: &[u8; 8] = b"ustar  \0";

/// One member, its data padded: any type flag, link target, magic and version (`magic`, the
/// 8 bytes at 257) and ustar prefix (at 345), with a correct checksum.
pub fn tar_member(
    name: &[u8],
    typeflag: u8,
    link: &[u8],
    magic: &[u8; 8],
    prefix: &[u8],
    data: &[u8],
) -> Vec<u8> {
    let mut size = [0u8; 12];
    size.copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
    let mut h = tar_header_raw("", typeflag, size);
    h[..name.len()].copy_from_slice(name);
    h[157..157 + link.len()].copy_from_slice(link);
    h[257..265].copy_from_slice(magic);
    h[345..345 + prefix.len()].copy_from_slice(prefix);
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| *b as u32).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut out = h.to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

/// A pax extended header (`x`) holding `records` (`<length> <key>=<value>\n` each).
pub fn tar_pax(records: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (key, value) in records {
        let rest = [b" ", key.as_bytes(), b"=", value, b"\n"].concat();
        let mut len = rest.len() + 1;
        while len.to_string().len() + rest.len() != len {
            len = len.to_string().len() + rest.len();
        }
        body.extend_from_slice(len.to_string().as_bytes());
        body.extend_from_slice(&rest);
    }
    tar_member(b"././@PaxHeader", b'x', b"", USTAR_POSIX, b"", &body)
}

/// A GNU long name (`L`) or long link target (`K`) for the next member.
pub fn tar_gnu_long(typeflag: u8, name: &[u8]) -> Vec<u8> {
    let data = [name, b"\0"].concat();
    tar_member(b"././@LongLink", typeflag, b"", USTAR_GNU, b"", &data)
}

/// `parts` one after the other, then the end-of-archive marker.
pub fn tar_of_parts(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut out = parts.concat();
    out.extend_from_slice(&[0u8; 1024]);
    out
}

/// A Vault snapshot's tar members, true sums, in order, as `tar_member`s with POSIX headers.
pub fn vault_snap_members(meta: &[u8], state: &[u8]) -> [Vec<u8>; 3] {
    use sha2::{Digest, Sha256};
    let hex = |b: &[u8]| {
        Sha256::digest(b)
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect::<String>()
    };
    let sums = format!("{}  meta.json\n{}  state.bin\n", hex(meta), hex(state));
    let file = |name: &[u8], data: &[u8]| tar_member(name, b'0', b"", USTAR_POSIX, b"", data);
    [
        file(b"meta.json", meta),
        file(b"state.bin", state),
        file(b"SHA256SUMS", sums.as_bytes()),
    ]
}
