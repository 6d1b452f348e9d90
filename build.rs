//! Records which commit a binary was built from, for `--version` and decision documents.
use std::process::Command;

fn main() {
    let commit = std::env::var("GATES_BUILD_COMMIT").ok().or_else(|| {
        Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    });
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| !o.stdout.is_empty())
        .unwrap_or(false);
    let commit = match commit {
        Some(c) if !c.is_empty() => format!("{c}{}", if dirty { "-dirty" } else { "" }),
        _ => "unknown".to_string(),
    };
    println!("cargo:rustc-env=GATES_BUILD_COMMIT={commit}");
    println!("cargo:rerun-if-env-changed=GATES_BUILD_COMMIT");
    for path in [".git/HEAD", ".git/index"] {
        if std::path::Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}
