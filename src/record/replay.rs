//! `decision_log` over a whole log: check a log file's chain, read the records of an intact
//! log, and replay one recorded line with this build (`gates::replay`), saying whether this
//! build reaches the same outcome.

use super::{Checked, RecordLine, Verification};
use crate::gates::replay;
use crate::render::json::DecisionV1;
use crate::report::{Decision, GateError, Severity, exit, renamed};
use std::io::BufReader;
use std::path::Path;

/// Check a log file's chain; with `head` (a lowercase sha256), the pinned line must still be
/// in it.
pub fn check(file: &Path, head: Option<&str>) -> Result<Checked, String> {
    if let Some(h) = head
        && (h.len() != 64
            || !h
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
    {
        return Err("--head must be a lowercase sha256 (64 hex digits)".to_owned());
    }
    let f =
        std::fs::File::open(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    super::verify_reader(BufReader::new(f), head)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))
}

/// Read the records of an intact log (a broken chain is refused: a tampered log is not
/// replayed). The file is read once, and the bytes checked are the bytes parsed: opening it
/// again after the check let another file take its place in between.
pub fn records(file: &Path) -> Result<Vec<RecordLine>, String> {
    let text = read_once(file)?;
    let checked = super::verify_reader(text.as_slice(), None)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    if let Verification::Broken { line, why } = checked.verification {
        return Err(format!(
            "{}: the chain is broken at line {line} ({why}); a tampered log is not replayed",
            file.display()
        ));
    }
    text.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(super::parse_line)
        .collect()
}

/// The whole log, from one open, without following a link, refusing what is not a regular
/// file (a FIFO could answer a second read differently).
fn read_once(file: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(file)
        .map_err(|e| {
            format!(
                "cannot read {} (a link is not followed): {e}",
                file.display()
            )
        })?;
    let meta = f
        .metadata()
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    if !meta.is_file() {
        return Err(format!("{} is not a regular file", file.display()));
    }
    let mut text = Vec::new();
    f.read_to_end(&mut text)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    Ok(text)
}

/// The log has `lines` lines and no line `line`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoSuchLine {
    pub line: u64,
    pub lines: usize,
}

/// The lines to replay, 1-based: every line with `all`, else line `line` (the last by
/// default).
pub fn pick(
    records: &[RecordLine],
    line: Option<u64>,
    all: bool,
) -> Result<Vec<(u64, &RecordLine)>, NoSuchLine> {
    if all {
        return Ok(records
            .iter()
            .enumerate()
            .map(|(i, r)| (i as u64 + 1, r))
            .collect());
    }
    let n = line.unwrap_or(records.len() as u64);
    match n.checked_sub(1).and_then(|i| records.get(i as usize)) {
        Some(r) => Ok(vec![(n, r)]),
        None => Err(NoSuchLine {
            line: n,
            lines: records.len(),
        }),
    }
}

/// The result of replaying one line, with a one-line summary.
pub enum Replayed {
    Same(String),
    Different(String),
    NotReplayable(String),
}

/// The blocking codes of a decision, in the current spelling: a record written before codes
/// were renamed keeps its old text (its hash chain covers it), and is compared through the
/// one table of old spellings.
fn blocking(d: &DecisionV1) -> Vec<String> {
    d.reasons
        .iter()
        .filter(|r| r.severity == "error")
        .map(|r| renamed::canonical(&r.code).to_string())
        .collect()
}

/// Replay one recorded line, under `policy` instead of the recorded one when given.
pub fn replay_one(rec: &RecordLine, policy: Option<&crate::policy::LoadedPolicy>) -> Replayed {
    let recorded = &rec.decision;
    let Some(section) = &rec.replay else {
        return Replayed::NotReplayable(format!(
            "{} ({}) embeds nothing to replay (only dispatch decisions recorded by a build with replay do)",
            recorded.gate, recorded.outcome
        ));
    };
    let now_doc = match replay::replay(section, policy) {
        Ok(d) => from_decision(&d),
        Err(e) => from_error(&recorded.gate, &e),
    };
    let (was, is) = (blocking(recorded), blocking(&now_doc));
    let codes = if was == is {
        String::new()
    } else {
        format!(
            "; blocking codes were [{}], now [{}]",
            was.join(", "),
            is.join(", ")
        )
    };
    let summary = format!(
        "{} `{}`: recorded {}, this build says {}{codes}",
        recorded.gate, recorded.subject, recorded.outcome, now_doc.outcome
    );
    // An error is the same only when it is the same error.
    if recorded.outcome == now_doc.outcome && (recorded.outcome != "error" || was == is) {
        Replayed::Same(summary)
    } else {
        Replayed::Different(summary)
    }
}

fn from_decision(d: &Decision) -> DecisionV1 {
    DecisionV1::from_decision(d, exit::code_for(d.outcome))
}

fn from_error(gate: &str, e: &GateError) -> DecisionV1 {
    let mut doc = DecisionV1::from_error(gate, e, time::OffsetDateTime::UNIX_EPOCH);
    for r in &mut doc.reasons {
        r.severity = Severity::Error.as_str().into();
    }
    doc
}

/// The lines of a log replayed, and the exit code that says it all.
pub struct Replays {
    /// Each picked line (1-based) and what replaying it gave.
    pub lines: Vec<(u64, Replayed)>,
    /// 2 when a line could not be replayed, else 1 when a line came out different, else 0.
    pub exit: u8,
}

/// Replay the lines [`pick`] chooses from an intact log, under the policy file `policy`
/// instead of the recorded one when given.
pub fn replay_log(
    file: &Path,
    line: Option<u64>,
    all: bool,
    policy: Option<&Path>,
) -> Result<Replays, String> {
    let override_policy = match policy {
        None => None,
        Some(p) => Some(
            crate::policy::load(Some(p), Path::new("."))
                .map_err(|e| format!("{}: {}", e.code.id, e.message))?,
        ),
    };
    let recs = records(file)?;
    let picked = pick(&recs, line, all).map_err(|e| {
        format!(
            "{} has {} line(s); there is no line {}",
            file.display(),
            e.lines,
            e.line
        )
    })?;
    let lines: Vec<(u64, Replayed)> = picked
        .into_iter()
        .map(|(n, rec)| (n, replay_one(rec, override_policy.as_ref())))
        .collect();
    let exit = if lines
        .iter()
        .any(|(_, r)| matches!(r, Replayed::NotReplayable(_)))
    {
        exit::COULD_NOT_EVALUATE
    } else if lines
        .iter()
        .any(|(_, r)| matches!(r, Replayed::Different(_)))
    {
        exit::NO
    } else {
        exit::PASS
    };
    Ok(Replays { lines, exit })
}
