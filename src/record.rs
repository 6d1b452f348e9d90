//! `--record FILE`: a hash-chained decision log. Each line is one JSON object carrying the
//! sha256 of the line before it (the first line carries 64 zeros), appended under an exclusive
//! lock so concurrent runs cannot interleave. Editing, dropping or reordering a line breaks
//! the chain at that line.

use crate::digest::sha256_hex;
use crate::render::json::DecisionV1;
use crate::report::{GateError, general};
use serde::{Deserialize, Serialize};
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
pub const FORMAT: &str = "forgejo-gates.record/v1";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RecordLine {
    pub format: String,
    pub seq: u64,
    /// sha256 of the previous line's bytes (without its newline), or `GENESIS`.
    pub prev_sha256: String,
    pub decision: DecisionV1,
}

/// Append `decision` to the log at `path`, creating it if needed.
pub fn append(path: &Path, decision: &DecisionV1) -> Result<(), GateError> {
    let fail = |what: &str, e: std::io::Error| {
        GateError::new(
            &general::RECORD_FAILED,
            format!("{what} {}: {e}", path.display()),
        )
    };
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| fail("cannot open the record log", e))?;
    file.lock()
        .map_err(|e| fail("cannot lock the record log", e))?;
    let (seq, prev) = match last_line(&mut file)
        .map_err(|e| fail("cannot read the record log", e))?
    {
        None => (0, GENESIS.to_string()),
        Some(line) => {
            let parsed: RecordLine = serde_json::from_slice(&line).map_err(|e| {
                GateError::new(
                    &general::RECORD_FAILED,
                    format!(
                        "the last line of {} is not a record ({e}); refusing to extend a damaged chain",
                        path.display()
                    ),
                )
            })?;
            (parsed.seq + 1, sha256_hex(&line))
        }
    };
    let record = RecordLine {
        format: FORMAT.into(),
        seq,
        prev_sha256: prev,
        decision: decision.clone(),
    };
    let mut text = serde_json::to_string(&record)
        .map_err(|e| GateError::new(&general::RECORD_FAILED, e.to_string()))?;
    text.push('\n');
    file.write_all(text.as_bytes())
        .and_then(|_| file.sync_data())
        .map_err(|e| fail("cannot write the record log", e))?;
    // The lock is released when `file` is dropped.
    Ok(())
}

/// The last non-empty line of the file, read backwards in chunks (the log may be large).
fn last_line(file: &mut std::fs::File) -> std::io::Result<Option<Vec<u8>>> {
    let len = file.seek(SeekFrom::End(0))?;
    if len == 0 {
        return Ok(None);
    }
    let mut tail: Vec<u8> = Vec::new();
    let mut pos = len;
    const CHUNK: u64 = 64 * 1024;
    loop {
        let start = pos.saturating_sub(CHUNK);
        let mut buf = vec![0u8; (pos - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut buf)?;
        buf.extend_from_slice(&tail);
        tail = buf;
        pos = start;
        let trimmed = tail.strip_suffix(b"\n").unwrap_or(&tail);
        if let Some(i) = trimmed.iter().rposition(|b| *b == b'\n') {
            return Ok(Some(trimmed[i + 1..].to_vec()));
        }
        if pos == 0 {
            return Ok(Some(trimmed.to_vec()));
        }
    }
}

/// The result of checking a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// Every line chains to the one before.
    Intact { lines: u64 },
    /// The first line (1-based) where the chain breaks, and why.
    Broken { line: u64, why: String },
}

/// Check every line of a log.
pub fn verify(text: &str) -> Verification {
    let mut prev = GENESIS.to_string();
    let mut count = 0u64;
    for (i, line) in text.split_terminator('\n').enumerate() {
        let n = i as u64 + 1;
        let record: RecordLine = match serde_json::from_str(line) {
            Ok(r) => r,
            Err(e) => {
                return Verification::Broken {
                    line: n,
                    why: format!("not a record line: {e}"),
                };
            }
        };
        if record.seq != i as u64 {
            return Verification::Broken {
                line: n,
                why: format!(
                    "sequence number {} where {} was expected (a line was dropped or moved)",
                    record.seq, i
                ),
            };
        }
        if record.prev_sha256 != prev {
            return Verification::Broken {
                line: n,
                why: "its prev_sha256 does not match the line before (that line was edited, dropped or moved)".into(),
            };
        }
        prev = sha256_hex(line.as_bytes());
        count = n;
    }
    if count == 0 {
        return Verification::Broken {
            line: 0,
            why: "the log is empty".into(),
        };
    }
    Verification::Intact { lines: count }
}
