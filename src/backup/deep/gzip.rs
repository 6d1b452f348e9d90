//! gzip as `gzip -t` reads it: every member to its end, each member's CRC-32 and length checked
//! (and its header CRC when it has one), and nothing after the last member: bytes that do not
//! start a new member are a corrupt stream, not ignored.

use super::members::{Members, Sizes};
use std::io::{self, BufRead, Read};

/// A decoder over every member of `raw`. Its errors are the stream's (see `decode_error`).
pub(super) fn members<R: BufRead>(raw: R) -> flate2::bufread::MultiGzDecoder<R> {
    flate2::bufread::MultiGzDecoder::new(raw)
}

/// The same stream, inflated on this thread alone, or (`two_cores`) with a helper thread
/// taking members ahead when the file is made of small members (`members`): the same bytes
/// and the same errors either way.
pub(super) fn reader<R: BufRead>(raw: R, two_cores: Option<Sizes>) -> Gunzip<R> {
    match two_cores {
        Some(sizes) => Gunzip::TwoCores(Members::new(raw, sizes)),
        None => Gunzip::OneCore(members(raw)),
    }
}

pub(super) enum Gunzip<R: BufRead> {
    OneCore(flate2::bufread::MultiGzDecoder<R>),
    TwoCores(Members<R>),
}

impl<R: BufRead> Read for Gunzip<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Gunzip::OneCore(d) => d.read(buf),
            Gunzip::TwoCores(d) => d.read(buf),
        }
    }
}
