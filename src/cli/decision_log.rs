//! `decision_log`: the operator's tool for the `--record` log. Not a gate: it checks a log's
//! hash chain (`verify`) and re-evaluates recorded dispatch decisions with this build
//! (`replay`). Exit 0 intact / same, 1 broken / different, 2 could not evaluate.

use super::Emitted;
use crate::gates::replay;
use crate::record::{self, Checked, RecordLine, Verification};
use crate::render::json::DecisionV1;
use crate::report::{Decision, GateError, Severity, exit};
use clap::{Parser, Subcommand};
use std::io::BufReader;
use std::path::{Path, PathBuf};

#[derive(Debug, Parser)]
#[command(
    name = "decision_log",
    version = crate::version::LONG,
    about = "Check a --record decision log's hash chain, and replay recorded decisions with this build.",
    after_help = "Exit codes:\n  0  verify: the chain is intact; replay: the same outcome\n  1  verify: the chain is broken (the first broken line is named); replay: a different outcome\n  2  could not evaluate: unreadable log, a line with nothing to replay, bad usage"
)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check every line's hash chain and print the head (the last line's sha256) to pin.
    Verify {
        /// The log written by --record.
        file: PathBuf,
        /// A head sha256 pinned earlier: the line it names must still be in the chain.
        /// (Only a pin shows an edit to the last line, or lines cut from the end.)
        #[arg(long, value_name = "SHA256")]
        head: Option<String>,
    },
    /// Re-evaluate a recorded dispatch decision from what its line embeds, and say whether
    /// this build reaches the same outcome.
    Replay {
        /// The log written by --record (its chain is verified first).
        file: PathBuf,
        /// The line to replay, 1-based [default: the last line].
        #[arg(long, value_name = "N", conflicts_with = "all")]
        line: Option<u64>,
        /// Replay every line that embeds its inputs.
        #[arg(long)]
        all: bool,
        /// Evaluate under this policy instead of the recorded one.
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
    },
}

pub fn run(args: &Args) -> Emitted {
    match &args.command {
        Command::Verify { file, head } => verify(file, head.as_deref()),
        Command::Replay {
            file,
            line,
            all,
            policy,
        } => replay_cmd(file, *line, *all, policy.as_deref()),
    }
}

fn error(message: impl std::fmt::Display) -> Emitted {
    Emitted {
        stdout: String::new(),
        stderr: format!("decision_log: could not evaluate: {message}\n"),
        exit: exit::COULD_NOT_EVALUATE,
    }
}

fn check(file: &Path, head: Option<&str>) -> Result<Checked, String> {
    let f =
        std::fs::File::open(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    record::verify_reader(BufReader::new(f), head)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))
}

fn verify(file: &Path, head: Option<&str>) -> Emitted {
    if let Some(h) = head
        && (h.len() != 64
            || !h
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
    {
        return error("--head must be a lowercase sha256 (64 hex digits)");
    }
    let checked = match check(file, head) {
        Ok(c) => c,
        Err(e) => return error(e),
    };
    let display = file.display();
    match checked.verification {
        Verification::Intact { lines } => Emitted {
            stdout: format!(
                "intact: {display}: {lines} line(s) chain from the first\nhead sha256: {}\n  (keep this value elsewhere and pass it to --head later: the chain alone cannot show an edit to its last line)\n",
                checked.head.unwrap_or_default()
            ),
            stderr: String::new(),
            exit: exit::PASS,
        },
        Verification::Broken { line: 0, why } => error(format!("{display}: {why}")),
        Verification::Broken { line, why } => Emitted {
            stdout: format!("broken: {display}: line {line}: {why}\n"),
            stderr: String::new(),
            exit: exit::NO,
        },
    }
}

/// Read the records of an intact log.
fn records(file: &Path) -> Result<Vec<RecordLine>, String> {
    let checked = check(file, None)?;
    if let Verification::Broken { line, why } = checked.verification {
        return Err(format!(
            "{}: the chain is broken at line {line} ({why}); a tampered log is not replayed",
            file.display()
        ));
    }
    let text = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    text.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(record::parse_line)
        .collect()
}

/// The result of replaying one line.
enum Replayed {
    Same(String),
    Different(String),
    NotReplayable(String),
}

fn replay_cmd(file: &Path, line: Option<u64>, all: bool, policy: Option<&Path>) -> Emitted {
    let override_policy = match policy {
        None => None,
        Some(p) => match crate::policy::load(Some(p), Path::new(".")) {
            Ok(p) => Some(p),
            Err(e) => return error(format!("{}: {}", e.code.id, e.message)),
        },
    };
    let recs = match records(file) {
        Ok(r) => r,
        Err(e) => return error(e),
    };
    let picked: Vec<(u64, &RecordLine)> = if all {
        recs.iter()
            .enumerate()
            .map(|(i, r)| (i as u64 + 1, r))
            .collect()
    } else {
        let n = line.unwrap_or(recs.len() as u64);
        match n.checked_sub(1).and_then(|i| recs.get(i as usize)) {
            Some(r) => vec![(n, r)],
            None => {
                return error(format!(
                    "{} has {} line(s); there is no line {n}",
                    file.display(),
                    recs.len()
                ));
            }
        }
    };
    let mut stdout = String::new();
    let (mut different, mut unreplayable) = (0, 0);
    for (n, rec) in picked {
        let result = replay_one(rec, override_policy.as_ref());
        let (tag, text) = match &result {
            Replayed::Same(t) => ("same", t),
            Replayed::Different(t) => {
                different += 1;
                ("different", t)
            }
            Replayed::NotReplayable(t) => {
                unreplayable += 1;
                ("not replayable", t)
            }
        };
        stdout.push_str(&format!("line {n}: {tag}: {text}\n"));
    }
    let code = if unreplayable > 0 {
        exit::COULD_NOT_EVALUATE
    } else if different > 0 {
        exit::NO
    } else {
        exit::PASS
    };
    Emitted {
        stdout,
        stderr: String::new(),
        exit: code,
    }
}

fn blocking(d: &DecisionV1) -> Vec<String> {
    d.reasons
        .iter()
        .filter(|r| r.severity == "error")
        .map(|r| r.code.clone())
        .collect()
}

fn replay_one(rec: &RecordLine, policy: Option<&crate::policy::LoadedPolicy>) -> Replayed {
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
