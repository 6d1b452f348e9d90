//! `--record FILE`: a hash-chained decision log. Each line is one JSON object carrying the
//! sha256 of the line before it (the first line carries 64 zeros), appended under an exclusive
//! lock so concurrent runs cannot interleave. Editing, dropping, inserting or reordering a line
//! breaks the chain at that line or the one after it.
//!
//! What the chain cannot show on its own: an edit to the *last* line (nothing after it carries
//! its hash) or the removal of lines from the end. For that an operator pins the head: the
//! sha256 of the last line, printed by `decision_log verify` and `decision_log head`, kept
//! somewhere the log's writer cannot change; `decision_log verify --head SHA` then checks that
//! the pinned line is still in the chain, unchanged.

pub mod replay;

use crate::digest::sha256_hex;
use crate::render::json::DecisionV1;
use crate::report::{GateError, general};
use serde::{Deserialize, Serialize};
use std::fs::OpenOptions;
use std::io::{BufRead, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// The format of lines written by this build.
pub const FORMAT: &str = "forgejo-gates.record/v2";
/// Formats `verify` and `append` accept (v1 lines have no `replay` section).
pub const FORMATS: &[&str] = &["forgejo-gates.record/v1", FORMAT];
/// A record line longer than this is not a record (bounds `verify` and `append`).
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RecordLine {
    pub format: String,
    pub seq: u64,
    /// sha256 of the previous line's bytes (without its newline), or `GENESIS`.
    pub prev_sha256: String,
    pub decision: DecisionV1,
    /// What the decision was made from, so `decision_log replay` can re-evaluate it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<crate::gates::replay::ReplayV1>,
}

/// Where an appended line landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub seq: u64,
    /// sha256 of the line just written: the new head of the chain.
    pub sha256: String,
}

/// Append `decision` to the log at `path`, creating it if needed.
pub fn append(path: &Path, decision: &DecisionV1) -> Result<Appended, GateError> {
    append_with(path, decision, None)
}

/// Append `decision` with the material to replay it.
pub fn append_with(
    path: &Path,
    decision: &DecisionV1,
    replay: Option<&crate::gates::replay::ReplayV1>,
) -> Result<Appended, GateError> {
    let fail = |what: &str, e: std::io::Error| {
        GateError::new(
            &general::RECORD_FAILED,
            format!("{what} {}: {e}", path.display()),
        )
    };
    // Never through a link: a link planted at the log's path made a gate running as root
    // create or extend the file it points to.
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| fail("cannot open the record log (a link is not followed)", e))?;
    let is_file = file
        .metadata()
        .map_err(|e| fail("cannot stat the record log", e))?
        .is_file();
    if !is_file {
        return Err(GateError::new(
            &general::RECORD_FAILED,
            format!("{} is not a regular file", path.display()),
        ));
    }
    file.lock()
        .map_err(|e| fail("cannot lock the record log", e))?;
    // A log whose last line has no newline was cut or edited: appending would glue the new
    // line onto it, and the gate would act on a decision the log no longer holds readably.
    if !ends_with_newline(&mut file).map_err(|e| fail("cannot read the record log", e))? {
        return Err(GateError::new(
            &general::RECORD_FAILED,
            format!(
                "the last line of {} has no newline (a write was cut short, or the line was edited); refusing to extend a damaged chain",
                path.display()
            ),
        ));
    }
    let (seq, prev) = match last_line(&mut file)
        .map_err(|e| fail("cannot read the record log", e))?
    {
        None => (0, GENESIS.to_string()),
        Some(line) => {
            let parsed = parse_line(&line).map_err(|e| {
                GateError::new(
                    &general::RECORD_FAILED,
                    format!(
                        "the last line of {} is not a record ({e}); refusing to extend a damaged chain",
                        path.display()
                    ),
                )
            })?;
            let seq = parsed.seq.checked_add(1).ok_or_else(|| {
                GateError::new(
                    &general::RECORD_FAILED,
                    format!(
                        "the last line of {} has the largest sequence number; refusing to extend the chain",
                        path.display()
                    ),
                )
            })?;
            (seq, sha256_hex(&line))
        }
    };
    let record = RecordLine {
        format: FORMAT.into(),
        seq,
        prev_sha256: prev,
        decision: decision.clone(),
        replay: replay.cloned(),
    };
    let mut text = serde_json::to_string(&record)
        .map_err(|e| GateError::new(&general::RECORD_FAILED, e.to_string()))?;
    let sha256 = sha256_hex(text.as_bytes());
    text.push('\n');
    // One write of the whole line, under the lock: concurrent writers cannot interleave.
    file.write_all(text.as_bytes())
        .and_then(|_| file.sync_data())
        .map_err(|e| fail("cannot write the record log", e))?;
    // The lock is released when `file` is dropped.
    Ok(Appended { seq, sha256 })
}

/// Parse one line (without its newline) as a record of a known format.
pub fn parse_line(line: &[u8]) -> Result<RecordLine, String> {
    if line.len() > MAX_LINE_BYTES {
        return Err(format!("longer than {MAX_LINE_BYTES} bytes"));
    }
    // A line is a JSON object (serde also takes an array for a struct, which no other reader
    // reads as the same record). serde's message can quote a string of the line, which may be
    // anything a link pointed at: only its position is said.
    if line.first() != Some(&b'{') {
        return Err("not a JSON object".into());
    }
    let record: RecordLine = serde_json::from_slice(line).map_err(|e| {
        format!(
            "not a record of this format (line {}, column {})",
            e.line(),
            e.column()
        )
    })?;
    if !FORMATS.contains(&record.format.as_str()) {
        return Err(format!("unknown record format {:?}", record.format));
    }
    Ok(record)
}

/// Whether the file is empty or its last byte is a newline.
fn ends_with_newline(file: &mut std::fs::File) -> std::io::Result<bool> {
    let len = file.seek(SeekFrom::End(0))?;
    if len == 0 {
        return Ok(true);
    }
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
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
        if pos == 0 || tail.len() > MAX_LINE_BYTES + 1 {
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

/// A verification and the chain's head: the sha256 of the last line that chained (the last
/// line of the log when it is intact), to be pinned by an operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub verification: Verification,
    pub head: Option<String>,
}

/// Check every line of a log held in memory.
pub fn verify(text: &str) -> Verification {
    match verify_reader(text.as_bytes(), None) {
        Ok(c) => c.verification,
        Err(e) => Verification::Broken {
            line: 0,
            why: e.to_string(),
        },
    }
}

/// Check every line of a log, streaming. With `pinned`, the line whose sha256 was pinned
/// (the head when it was taken) must still be in the chain. `Err` only for I/O errors.
pub fn verify_reader(reader: impl BufRead, pinned: Option<&str>) -> std::io::Result<Checked> {
    let mut head = None;
    let verification = walk(reader, pinned, &mut head)?;
    Ok(Checked { verification, head })
}

fn walk(
    reader: impl BufRead,
    pinned: Option<&str>,
    head: &mut Option<String>,
) -> std::io::Result<Verification> {
    let mut prev = GENESIS.to_string();
    let mut count = 0u64;
    let mut pin_found = false;
    // Read each line with a bound, so that a log with no newlines cannot exhaust memory.
    let mut reader = reader.take(u64::MAX);
    let mut line = Vec::new();
    loop {
        line.clear();
        reader.set_limit(MAX_LINE_BYTES as u64 + 2);
        let read = reader.read_until(b'\n', &mut line)?;
        if read == 0 {
            break;
        }
        let n = count + 1;
        let Some(body) = line.strip_suffix(b"\n") else {
            let why = if line.len() > MAX_LINE_BYTES {
                format!("longer than {MAX_LINE_BYTES} bytes: not a record line")
            } else {
                "the last line has no newline: a write was cut short, or the line was edited"
                    .to_string()
            };
            return Ok(Verification::Broken { line: n, why });
        };
        let record = match parse_line(body) {
            Ok(r) => r,
            Err(e) => {
                return Ok(Verification::Broken {
                    line: n,
                    why: format!("not a record line: {e}"),
                });
            }
        };
        if record.seq != count {
            return Ok(Verification::Broken {
                line: n,
                why: format!(
                    "sequence number {} where {} was expected (a line was dropped, inserted or moved here)",
                    record.seq, count
                ),
            });
        }
        if record.prev_sha256 != prev {
            return Ok(Verification::Broken {
                line: n,
                why: if n == 1 {
                    "the first line does not start the chain (its prev_sha256 is not the genesis value)".into()
                } else {
                    format!(
                        "its prev_sha256 does not match line {}: line {} was edited (or this line's prev_sha256 was)",
                        n - 1,
                        n - 1
                    )
                },
            });
        }
        prev = sha256_hex(body);
        *head = Some(prev.clone());
        if pinned == Some(prev.as_str()) {
            pin_found = true;
        }
        count = n;
    }
    if count == 0 {
        return Ok(Verification::Broken {
            line: 0,
            why: "the log is empty".into(),
        });
    }
    if let Some(pin) = pinned
        && !pin_found
    {
        return Ok(Verification::Broken {
            line: count,
            why: format!(
                "no line has the pinned sha256 {pin}: the line that was the head when it was pinned was edited or removed (the chain alone cannot show an edit to its last line)"
            ),
        });
    }
    Ok(Verification::Intact { lines: count })
}
