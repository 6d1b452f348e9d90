//! What `--version` prints and decisions record: the package version and the commit.

pub const COMMIT: &str = env!("GATES_BUILD_COMMIT");
pub const LONG: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("GATES_BUILD_COMMIT"),
    ")"
);

pub fn long() -> String {
    LONG.to_string()
}
