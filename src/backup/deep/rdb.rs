//! Redis RDB files. Shallow: `REDIS` and a 4-digit version. Deep: the file ends with the EOF
//! opcode (0xFF) and an 8-byte little-endian CRC-64 (Redis's: Jones polynomial, reflected,
//! initial value 0) of every byte before it, recomputed here. A zero checksum means the file
//! was saved with `rdbchecksum no`: Redis then skips the check on load, and so can prove
//! nothing; it is refused unless the policy allows it. Versions before 5 carry no checksum.

use super::{CHUNK, Refusal};
use std::fs::File;
use std::os::unix::fs::FileExt;

/// The RDB versions this reader knows (Redis 2.6 wrote 6; Redis 8 writes 12).
const VERSIONS: std::ops::RangeInclusive<u32> = 5..=12;

pub(super) fn check(
    file: &File,
    size: u64,
    deep: bool,
    allow_without_checksum: bool,
) -> Result<String, Refusal> {
    let mut head = [0u8; 9];
    let got = file.read_at(&mut head, 0).unwrap_or(0);
    if got < 9 || &head[..5] != b"REDIS" || !head[5..9].iter().all(u8::is_ascii_digit) {
        return Err(Refusal::format(
            "not a Redis RDB file (expected `REDIS` and a 4-digit version)",
        ));
    }
    let version_text = String::from_utf8_lossy(&head[5..9]).into_owned();
    // The smallest file: header, EOF opcode, checksum.
    if size < 18 {
        return Err(Refusal::format(
            "the RDB file is too short to hold its EOF marker and checksum",
        ));
    }
    let body = size - 8;
    let mut tail = [0u8; 9];
    file.read_exact_at(&mut tail, body - 1)
        .map_err(|e| Refusal::format(format!("cannot read the RDB trailer: {e}")))?;
    if tail[0] != 0xff {
        return Err(Refusal::format(
            "the RDB file does not end with the EOF opcode and its checksum (truncated?)",
        ));
    }
    if !deep {
        return Ok(format!("Redis RDB version {version_text}"));
    }
    let version: u32 = version_text.parse().unwrap_or(0);
    if !VERSIONS.contains(&version) {
        return Err(Refusal::format(format!(
            "RDB version {version} is outside the versions this gate verifies ({}..={})",
            VERSIONS.start(),
            VERSIONS.end()
        )));
    }
    let stored = u64::from_le_bytes(tail[1..9].try_into().unwrap_or([0; 8]));
    if stored == 0 {
        if allow_without_checksum {
            return Ok(format!(
                "Redis RDB version {version_text}, checksum disabled (rdbchecksum no), allowed by the policy"
            ));
        }
        return Err(Refusal::unverifiable(
            "the RDB checksum is zero (saved with `rdbchecksum no`): nothing proves the file complete",
        ));
    }
    let computed =
        crc64(file, body).map_err(|e| Refusal::format(format!("cannot read the RDB file: {e}")))?;
    if computed != stored {
        return Err(Refusal::checksum(format!(
            "the RDB CRC-64 is {computed:016x}; the file says {stored:016x}"
        )));
    }
    Ok(format!("Redis RDB version {version_text}, CRC-64 verified"))
}

/// Redis's CRC-64 (`crc64_jones`): the reflected form of polynomial 0xad93d23594c935a9.
const POLY: u64 = 0x95ac_9329_ac4b_c9b5;

const fn table() -> [u64; 256] {
    let mut t = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY
            } else {
                crc >> 1
            };
            bit += 1;
        }
        t[i] = crc;
        i += 1;
    }
    t
}

static TABLE: [u64; 256] = table();

fn update(mut crc: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        crc = TABLE[((crc ^ *b as u64) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

/// The CRC-64 of the first `len` bytes of `file`.
fn crc64(file: &File, len: u64) -> std::io::Result<u64> {
    let mut buf = vec![0u8; CHUNK];
    let mut crc = 0u64;
    let mut offset = 0u64;
    while offset < len {
        let want = (len - offset).min(buf.len() as u64) as usize;
        let n = file.read_at(&mut buf[..want], offset)?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the file shrank while it was read",
            ));
        }
        crc = update(crc, &buf[..n]);
        offset += n as u64;
    }
    Ok(crc)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_check_value_of_crc64_jones() {
        // Redis's own self-test value (crc64.c): crc64(0, "123456789") = 0xe9c6d914c4b8d9ca.
        assert_eq!(super::update(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }
}
