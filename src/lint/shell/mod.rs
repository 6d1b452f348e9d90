//! Shell scripts read as the shell reads them.
//!
//! The gate-wiring rule must know what a `run:` script will execute, in which order, and
//! whether a command's failure stops the script. [`parse`] builds a syntax tree of the
//! grammar workflow scripts use (POSIX sh plus bash's common forms); [`exec`] walks it as an
//! abstract interpreter over every path the script can take.
//!
//! Why not a crate: the maintained bash parsers on crates.io are either GPL (`yash-syntax`),
//! unmaintained (`conch-parser`), a C grammar with error recovery instead of errors
//! (`tree-sitter-bash`), or bring a large dependency tree into a small gate binary
//! (`brush-parser` pulls in `insta`, `cached`, `bon` and `peg` as normal dependencies).

pub mod ast;
pub mod exec;
mod parser;

#[cfg(test)]
mod tests;

pub use ast::{AndOr, Command, CommandKind, List, Part, Pipeline, Redirect, Script, Span, Word};
pub use parser::{MAX_DEPTH, ShellError, parse};
