//! `decision_log`: see `--help`. Argument parsing, one call into the library, printing, exit code.
#![forbid(unsafe_code)]
use clap::Parser;
use forgejo_gates::cli::decision_log::{Args, run};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = Args::parse();
    let out = run(&args);
    print!("{}", out.stdout);
    eprint!("{}", out.stderr);
    ExitCode::from(out.exit)
}
