//! Backup files made at test time: real tar, gzip and zstd bytes, never committed.

use std::io::Write;

/// One ustar header for a regular file.
fn tar_header(name: &str, size: usize) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    h[136..148].copy_from_slice(b"15000000000\0");
    h[148..156].copy_from_slice(b"        ");
    h[156] = b'0';
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

pub fn zstd(bytes: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(bytes, ruzstd::encoding::CompressionLevel::Fastest)
}

/// A plausible minio data archive.
pub fn minio_tar_gz() -> Vec<u8> {
    gzip(&tar(&[
        ("data/.minio.sys/format.json", br#"{"version":"1"}"#),
        ("data/bucket/object.bin", &[7u8; 3000]),
    ]))
}

pub fn pg_dumpall_sql_gz() -> Vec<u8> {
    gzip(b"--\n-- PostgreSQL database cluster dump\n--\n\nSET default_transaction_read_only = off;\n")
}

pub fn vault_snap() -> Vec<u8> {
    gzip(&tar(&[
        ("meta.json", br#"{"index":42,"term":3}"#),
        ("state.bin", &[1u8; 700]),
        ("SHA256SUMS", b"abc  meta.json\n"),
    ]))
}

pub fn redis_rdb() -> Vec<u8> {
    let mut v = b"REDIS0011".to_vec();
    v.extend_from_slice(&[
        0xfa, 0x09, b'r', b'e', b'd', b'i', b's', b'-', b'v', b'e', b'r',
    ]);
    v.push(0xff);
    v.extend_from_slice(&[0u8; 8]);
    v
}
