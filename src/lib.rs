//! Fail-closed CI gates for a platform deployed through Forgejo Actions.
//!
//! One library, thin binaries: every binary parses its flags, calls into [`cli`], prints
//! what it gets back and exits with the code the [`report::exit`] table gives. The library
//! never prints.
#![warn(clippy::print_stdout, clippy::print_stderr)]
// Denied, not forbidden: ISA-L's inflate is called from one module, `backup::deep::isal`,
// which alone allows it (docs/architecture.md, "Unsafe code").
#![deny(unsafe_code)]

pub mod backup;
pub mod canary;
pub mod cli;
pub mod clock;
pub mod digest;
pub mod emit;
pub mod env;
pub mod folded;
pub mod forgejo;
pub mod gates;
pub mod input;
pub mod json;
pub mod lint;
pub mod model;
pub mod paths;
pub mod policy;
pub mod record;
pub mod registry;
pub mod render;
pub mod report;
pub mod version;
pub mod visible;
pub mod yaml;
