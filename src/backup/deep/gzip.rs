//! gzip as `gzip -t` reads it: every member to its end, each member's CRC-32 and length checked
//! (and its header CRC when it has one), and nothing after the last member: bytes that do not
//! start a new member are a corrupt stream, not ignored.

use std::io::BufRead;

/// A decoder over every member of `raw`. Its errors are the stream's (see `decode_error`).
pub(super) fn members<R: BufRead>(raw: R) -> flate2::bufread::MultiGzDecoder<R> {
    flate2::bufread::MultiGzDecoder::new(raw)
}
