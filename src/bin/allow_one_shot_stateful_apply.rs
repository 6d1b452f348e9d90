//! `allow_one_shot_stateful_apply`: see `--help`. Argument parsing, one call into the library, printing, exit code.
#![forbid(unsafe_code)]
use clap::Parser;
use forgejo_gates::cli::one_shot::{Args, run};
use forgejo_gates::env::ProcessEnv;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = Args::parse();
    let out = run(&args, &ProcessEnv);
    print!("{}", out.stdout);
    eprint!("{}", out.stderr);
    ExitCode::from(out.exit)
}
