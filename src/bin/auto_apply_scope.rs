//! `auto_apply_scope`: see `--help`. Argument parsing, one call into the library, printing, exit code.
#![forbid(unsafe_code)]
use clap::Parser;
use forgejo_gates::cli::scope::{Args, run};
use forgejo_gates::env::ProcessEnv;

fn main() {
    let args = Args::parse();
    let out = run(&args, &ProcessEnv);
    print!("{}", out.stdout);
    eprint!("{}", out.stderr);
    // Ends the process without freeing what the decision allocated: musl's allocator hands
    // each freed group of pages back to the kernel in a system call of its own, and the exit
    // frees them all at once (docs/dispatch.md, "A decision's start-up"). `exit` flushes
    // stdout first.
    std::process::exit(i32::from(out.exit))
}
