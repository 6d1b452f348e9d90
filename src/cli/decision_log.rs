//! `decision_log`: the operator's tool for the `--record` log. Not a gate: it checks a log's
//! hash chain (`verify`) and re-evaluates recorded dispatch decisions with this build
//! (`replay`). Exit 0 intact / same, 1 broken / different, 2 could not evaluate.

use crate::emit::Emitted;
use crate::record::Verification;
use crate::record::replay::{Replayed, check, replay_log};
use crate::report::exit;
use clap::{Parser, Subcommand};
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

fn verify(file: &Path, head: Option<&str>) -> Emitted {
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

fn replay_cmd(file: &Path, line: Option<u64>, all: bool, policy: Option<&Path>) -> Emitted {
    let replays = match replay_log(file, line, all, policy) {
        Ok(r) => r,
        Err(e) => return error(e),
    };
    let mut stdout = String::new();
    for (n, result) in &replays.lines {
        let (tag, text) = match result {
            Replayed::Same(t) => ("same", t),
            Replayed::Different(t) => ("different", t),
            Replayed::NotReplayable(t) => ("not replayable", t),
        };
        stdout.push_str(&format!("line {n}: {tag}: {text}\n"));
    }
    Emitted {
        stdout,
        stderr: String::new(),
        exit: replays.exit,
    }
}
