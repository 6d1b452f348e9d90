//! Vault raft snapshots (`vault operator raft snapshot save`, `.snap`): gzip around a tar of
//! `meta.json`, `state.bin`, `SHA256SUMS` and, when Vault seals it, `SHA256SUMS.sealed`.
//! Deep reads it the way Vault restores it (hashicorp/raft-snapshot's archive reader): no
//! other entry, `meta.json` is JSON under 8 KiB, and `SHA256SUMS` (`<hex>  <name>` lines, under
//! 8 KiB) names exactly `meta.json` and `state.bin` with the sha256 of their bytes as read
//! here. The sealed copy can only be opened by Vault's barrier; it is bounded, not opened.

use super::tar::{self, Entry, Visitor};
use super::{Refusal, bytes};
use sha2::{Digest, Sha256};
use std::io::Read;

/// Vault refuses `meta.json`, `SHA256SUMS` and the sealed sums of this size or more.
const SMALL_LIMIT: u64 = 8192;
const HASHED: [&str; 2] = ["meta.json", "state.bin"];

#[derive(Default)]
struct Snapshot {
    /// The entry being read: its name, and its hasher or buffer.
    current: Option<&'static str>,
    hasher: Option<Sha256>,
    small: Vec<u8>,
    meta_sha: Option<[u8; 32]>,
    state_sha: Option<[u8; 32]>,
    meta_json: Option<Vec<u8>>,
    sums: Option<Vec<u8>>,
    sealed: bool,
    state_bytes: u64,
}

impl Visitor for Snapshot {
    fn entry(&mut self, entry: &Entry) -> Result<(), Refusal> {
        let name = match entry.name().as_str() {
            "meta.json" => "meta.json",
            "state.bin" => "state.bin",
            "SHA256SUMS" => "SHA256SUMS",
            "SHA256SUMS.sealed" => "SHA256SUMS.sealed",
            other => {
                return Err(Refusal::format(format!(
                    "unexpected entry `{}` (Vault restores only meta.json, state.bin, SHA256SUMS and SHA256SUMS.sealed)",
                    other.escape_debug()
                )));
            }
        };
        if !entry.regular {
            return Err(Refusal::format(format!("`{name}` is not a regular file")));
        }
        let seen = match name {
            "meta.json" => self.meta_sha.is_some(),
            "state.bin" => self.state_sha.is_some(),
            "SHA256SUMS" => self.sums.is_some(),
            _ => self.sealed,
        };
        if seen {
            return Err(Refusal::format(format!("`{name}` appears twice")));
        }
        if name != "state.bin" && entry.size >= SMALL_LIMIT {
            return Err(Refusal::format(format!(
                "`{name}` is {} bytes; Vault refuses {SMALL_LIMIT} or more",
                entry.size
            )));
        }
        self.current = Some(name);
        self.hasher = HASHED.contains(&name).then(Sha256::new);
        self.small.clear();
        if name == "state.bin" {
            self.state_bytes = entry.size;
        }
        Ok(())
    }

    fn data(&mut self, chunk: &[u8]) -> Result<(), Refusal> {
        match &mut self.hasher {
            Some(h) => h.update(chunk),
            None => self.small.extend_from_slice(chunk),
        }
        if self.current == Some("meta.json") {
            self.small.extend_from_slice(chunk);
        }
        Ok(())
    }

    fn end_entry(&mut self) -> Result<(), Refusal> {
        let digest = self.hasher.take().map(|h| <[u8; 32]>::from(h.finalize()));
        match self.current.take() {
            Some("meta.json") => {
                self.meta_sha = digest;
                self.meta_json = Some(std::mem::take(&mut self.small));
            }
            Some("state.bin") => self.state_sha = digest,
            Some("SHA256SUMS") => self.sums = Some(std::mem::take(&mut self.small)),
            _ => self.sealed = true,
        }
        Ok(())
    }
}

pub(super) fn check(r: &mut impl Read, deep: bool, chunk: usize) -> Result<String, Refusal> {
    let mut snapshot = Snapshot::default();
    let summary = tar::walk(r, deep, chunk, &mut snapshot)?;
    if !deep {
        return Ok(format!("gzip → tar, {}", summary.describe(false)));
    }
    let (Some(meta_sha), Some(state_sha)) = (snapshot.meta_sha, snapshot.state_sha) else {
        return Err(Refusal::incomplete(
            "the snapshot lacks `meta.json` or `state.bin`",
        ));
    };
    let meta = snapshot.meta_json.unwrap_or_default();
    if !matches!(
        serde_json::from_slice::<serde_json::Value>(&meta),
        Ok(serde_json::Value::Object(_))
    ) {
        return Err(Refusal::format("`meta.json` is not a JSON object"));
    }
    let Some(sums) = snapshot.sums else {
        return Err(Refusal::incomplete(
            "the snapshot has no `SHA256SUMS`: its content cannot be verified",
        ));
    };
    verify_sums(&sums, &[("meta.json", meta_sha), ("state.bin", state_sha)])?;
    Ok(format!(
        "Vault raft snapshot (gzip → tar), state.bin {}, SHA256SUMS verified{}",
        bytes(snapshot.state_bytes),
        if snapshot.sealed {
            ", sealed sums present (not openable here)"
        } else {
            ""
        }
    ))
}

/// `<64 hex>  <name>\n` lines: every line names a hashed file with its true sum, and every
/// hashed file is named once.
fn verify_sums(text: &[u8], files: &[(&str, [u8; 32])]) -> Result<(), Refusal> {
    let text =
        std::str::from_utf8(text).map_err(|_| Refusal::format("`SHA256SUMS` is not text"))?;
    let mut named = vec![false; files.len()];
    for line in text.split_terminator('\n') {
        let malformed =
            || Refusal::format("`SHA256SUMS` has a line that is not `<sha256>  <name>`");
        let (hex, name) = line.split_once("  ").ok_or_else(malformed)?;
        let sum = parse_hex(hex).ok_or_else(malformed)?;
        let Some(i) = files.iter().position(|(n, _)| *n == name) else {
            return Err(Refusal::checksum(format!(
                "`SHA256SUMS` names `{}`, which the snapshot does not hold",
                name.escape_debug()
            )));
        };
        if named[i] {
            return Err(Refusal::format(format!(
                "`SHA256SUMS` names `{name}` twice"
            )));
        }
        named[i] = true;
        if sum != files[i].1 {
            return Err(Refusal::checksum(format!(
                "the sha256 of `{name}` does not match the one in `SHA256SUMS`"
            )));
        }
    }
    if let Some(i) = named.iter().position(|n| !n) {
        return Err(Refusal::checksum(format!(
            "`SHA256SUMS` has no sum for `{}`",
            files[i].0
        )));
    }
    Ok(())
}

fn parse_hex(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}
