//! The gzip reader of deep verification (ISA-L inflating, the gzip framing and every deflate
//! block header read in Rust) against zlib-rs (flate2), its oracle: both give the same bytes,
//! or both refuse. The first input byte picks how the rest is used: even, as a gzip file;
//! odd, as a raw deflate stream put in a gzip member twice, once with the trailer (CRC-32 and
//! length) of what ISA-L inflates from it and once with zlib's, so that a stream one reader
//! takes and the other refuses is not hidden behind a wrong checksum.
#![no_main]
use forgejo_gates::backup::deep::{GzipReader, gunzip_prefix};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        agree(rest);
        return;
    }
    for reader in [GzipReader::Isal, GzipReader::Zlib] {
        let (content, _) = gunzip_prefix(&member(rest, &[]), reader);
        agree(&member(rest, &content));
    }
});

/// A gzip member (no optional fields) around `deflate`, with the trailer of `content`.
fn member(deflate: &[u8], content: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    out.extend_from_slice(deflate);
    out.extend_from_slice(&crc32(content).to_le_bytes());
    out.extend_from_slice(&(content.len() as u32).to_le_bytes());
    out
}

/// CRC-32 (gzip's), bit by bit: independent of both readers.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn agree(file: &[u8]) {
    let (isal_bytes, isal) = gunzip_prefix(file, GzipReader::Isal);
    let (zlib_bytes, zlib) = gunzip_prefix(file, GzipReader::Zlib);
    match (&isal, &zlib) {
        (Ok(()), Ok(())) => assert!(
            isal_bytes == zlib_bytes,
            "both take the stream, with different bytes ({} and {})",
            isal_bytes.len(),
            zlib_bytes.len()
        ),
        (Err(_), Err(_)) => {}
        _ => panic!("ISA-L's reader: {isal:?}; zlib: {zlib:?}"),
    }
}
