//! `lint_workflows`: see `--help`. Argument parsing, one call into the library (which streams
//! the output to stdout as files finish), the rest printed, exit code.
#![forbid(unsafe_code)]
use clap::Parser;
use forgejo_gates::cli::lint::{Args, run_to};
use forgejo_gates::env::ProcessEnv;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = Args::parse();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let emitted = run_to(&args, &ProcessEnv, &mut out);
    drop(out);
    print!("{}", emitted.stdout);
    eprint!("{}", emitted.stderr);
    ExitCode::from(emitted.exit)
}
