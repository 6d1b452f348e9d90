//! gzip as `gzip -t` reads it: every member to its end, each member's CRC-32 and length checked
//! (and its header CRC when it has one), and nothing after the last member: bytes that do not
//! start a new member are a corrupt stream, not ignored.
//!
//! The members are read by `isal_gzip` (the framing in Rust, the deflate body by ISA-L);
//! zlib-rs (flate2) stays as the oracle the tests and the `gzip_isal` fuzz target compare
//! with ([`zlib_members`]).

use super::isal_gzip::IsalMembers;
use std::io::{self, BufRead, Read};

/// Up to this file size, zlib-rs inflates: ISA-L picks its code for the CPU (`cpuid`, slow
/// in a VM) and sets up a 90 KiB state on its first call, which costs a decision on a small
/// backup more than ISA-L's speed saves (docs/dispatch.md, "Speed").
pub(super) const ZLIB_UP_TO: u64 = 1024 * 1024;

/// Every member of `raw`, inflated on this thread. A file of `size` up to [`ZLIB_UP_TO`] is
/// inflated by zlib-rs, the rest by ISA-L: both as strict as zlib, compared on every test
/// input.
pub(super) fn reader<R: BufRead>(raw: R, size: u64) -> Gunzip<R> {
    if size <= ZLIB_UP_TO {
        Gunzip::Small(zlib_members(raw))
    } else {
        Gunzip::Large(IsalMembers::new(raw))
    }
}

/// A decoder over every member of `raw`, on this thread. Its errors are the stream's (see
/// `decode_error`).
pub(super) fn members<R: BufRead>(raw: R) -> IsalMembers<R> {
    IsalMembers::new(raw)
}

/// Every member of `raw` inflated by zlib-rs: the reader this module is compared with.
pub(super) fn zlib_members<R: BufRead>(raw: R) -> flate2::bufread::MultiGzDecoder<R> {
    flate2::bufread::MultiGzDecoder::new(raw)
}

pub(super) enum Gunzip<R: BufRead> {
    Small(flate2::bufread::MultiGzDecoder<R>),
    Large(IsalMembers<R>),
}

impl<R: BufRead> Read for Gunzip<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Gunzip::Small(d) => d.read(buf),
            Gunzip::Large(d) => d.read(buf),
        }
    }
}
