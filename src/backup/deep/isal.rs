//! A safe wrapper over ISA-L's streaming raw inflate (`isal_inflate`), the one place in the
//! library with `unsafe` code (docs/architecture.md, "Unsafe code"): ISA-L inflates about a
//! third faster than zlib-rs on this machine, which deep verification of a large gzip backup
//! needs to stay within 1.2x of `igzip -t` (docs/dispatch.md, "Speed").
//!
//! Only the raw deflate body goes through ISA-L; the gzip framing around it (header, CRC-32,
//! length, what follows a member) is read in safe Rust (`gzip`). ISA-L keeps no pointer into
//! the caller's buffers between calls: each call sets the input and output pointers from two
//! slices, and clears them before it returns. The state (about 90 KiB, with ISA-L's history
//! buffer) is boxed.
//!
//! ISA-L accepts some streams zlib refuses (Huffman codes that are incomplete), so every block
//! header is checked as zlib checks it before ISA-L decodes the block (`deflate_header`).

use super::deflate_header::{self, Header};
use isal::isal_sys::igzip_lib as ffi;

/// ISA-L's history: how far back a deflate distance reaches.
const WINDOW: usize = ffi::ISAL_DEF_HIST_SIZE as usize;

/// The input a call needs at a block boundary: the longest dynamic block header (ISA-L's
/// bound is 328 bytes), with room to spare. A caller gives at least this much input, or all
/// there is.
pub(super) const HEADER_INPUT: usize = 1024;

/// ISA-L's inflate state for one raw deflate stream, computing the CRC-32 of what it writes,
/// with each block's header checked as zlib checks it (`deflate_header`).
///
/// To see every header, ISA-L is made to stop at the end of each block: each header's BFINAL
/// bit is set in ISA-L's bit buffer before ISA-L reads it (the real bit is kept here), so
/// that ISA-L ends the "stream" there. To go on, the state is set back to "before a block
/// header", with the last 32 KiB of output kept as its history in its own buffer, as ISA-L
/// keeps it after every call that does not end the stream (it skips that at a stream's end).
pub(super) struct RawInflate {
    state: Box<ffi::inflate_state>,
    /// The next call starts at a block header.
    at_header: bool,
    /// The block being decoded is the stream's last (its real BFINAL bit).
    last: bool,
    /// The stream's last block ended and all of it was written out.
    ended: bool,
    /// Block headers checked since the reset (the tests look at them).
    #[cfg(test)]
    blocks: u64,
}

/// What one call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Step {
    /// Input bytes taken (some may still sit in ISA-L's bit buffer: see [`RawInflate::unread`]).
    pub consumed: usize,
    /// Output bytes written at the start of the output slice.
    pub produced: usize,
    /// The final block ended and every byte of it was written out.
    pub ended: bool,
}

/// Why the stream was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum InflateError {
    /// ISA-L's status.
    Isal(i32),
    /// A block header zlib refuses (zlib's words).
    Header(&'static str),
}

impl std::fmt::Display for InflateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            InflateError::Isal(status) => {
                let what = match status {
                    ffi::ISAL_INVALID_BLOCK => "invalid deflate block",
                    ffi::ISAL_INVALID_SYMBOL => "invalid deflate symbol",
                    ffi::ISAL_INVALID_LOOKBACK => "deflate distance too far back",
                    _ => "deflate stream refused",
                };
                write!(f, "{what} (ISA-L inflate status {status})")
            }
            InflateError::Header(what) => f.write_str(what),
        }
    }
}

impl std::error::Error for InflateError {}

impl RawInflate {
    pub fn new() -> RawInflate {
        let layout = std::alloc::Layout::new::<ffi::inflate_state>();
        // SAFETY: the layout is that of `inflate_state`, which is not zero-sized; the memory
        // is zeroed, and all-zero bytes are a valid `inflate_state` (plain C data: integers,
        // arrays, raw pointers and a union of integers). `Box::from_raw` takes the one
        // pointer to it, allocated by the global allocator with the box's layout.
        let mut state = unsafe {
            let raw = std::alloc::alloc_zeroed(layout).cast::<ffi::inflate_state>();
            if raw.is_null() {
                std::alloc::handle_alloc_error(layout);
            }
            Box::from_raw(raw)
        };
        // SAFETY: a valid state, exclusively borrowed for the call; `isal_inflate_init` sets
        // the fields it later reads.
        unsafe { ffi::isal_inflate_init(&mut *state) };
        state.crc_flag = ffi::ISAL_GZIP_NO_HDR;
        RawInflate {
            state,
            at_header: true,
            last: false,
            ended: false,
            #[cfg(test)]
            blocks: 0,
        }
    }

    /// Ready for a new stream (the CRC mode is kept).
    pub fn reset(&mut self) {
        // SAFETY: the state is initialised and exclusively borrowed for the call.
        unsafe { ffi::isal_inflate_reset(&mut *self.state) };
        self.at_header = true;
        self.last = false;
        self.ended = false;
        #[cfg(test)]
        {
            self.blocks = 0;
        }
    }

    /// Inflate from `input` into `output`, to the end of the current block at most. `input`
    /// holds at least [`HEADER_INPUT`] bytes or all the stream has left. Slices over 4 GiB
    /// are given in part (ISA-L counts in `u32`); `Step` says how much was used. A header cut
    /// by the end of `input` makes no progress.
    pub fn inflate(&mut self, input: &[u8], output: &mut [u8]) -> Result<Step, InflateError> {
        if self.ended {
            return Ok(Step {
                consumed: 0,
                produced: 0,
                ended: true,
            });
        }
        let mut taken = 0;
        if self.at_header {
            let held_len = u32::try_from(self.state.read_in_length).unwrap_or(0);
            let mut bits = deflate_header::Bits::new(self.state.read_in, held_len, input);
            match deflate_header::check(&mut bits) {
                Header::Refused(why) => return Err(InflateError::Header(why)),
                Header::Cut => {
                    return Ok(Step {
                        consumed: 0,
                        produced: 0,
                        ended: false,
                    });
                }
                Header::Valid { last } => self.last = last,
            }
            #[cfg(test)]
            {
                self.blocks += 1;
            }
            self.continue_at_header();
            let state = &mut *self.state;
            if state.read_in_length <= 0 {
                // The header starts at the next input byte (there is one: it was read above).
                state.read_in = u64::from(input.first().copied().unwrap_or(0));
                state.read_in_length = 8;
                taken = 1;
            }
            // BFINAL: ISA-L stops after this block.
            state.read_in |= 1;
            self.at_header = false;
        }
        let rest = input.get(taken..).unwrap_or_default();
        let step = self.call(rest, output)?;
        let block_done = step.ended;
        if block_done && !self.last {
            self.keep_history(output.get(..step.produced).unwrap_or_default());
            self.at_header = true;
        }
        self.ended = block_done && self.last;
        Ok(Step {
            consumed: step.consumed + taken,
            produced: step.produced,
            ended: self.ended,
        })
    }

    /// ISA-L alone, without the header check (the tests show what the check is for).
    #[cfg(test)]
    pub(super) fn inflate_unchecked(
        &mut self,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<Step, InflateError> {
        self.at_header = false;
        self.last = true;
        self.call(input, output)
    }

    /// One `isal_inflate` call.
    fn call(&mut self, input: &[u8], output: &mut [u8]) -> Result<Step, InflateError> {
        let avail_in = u32::try_from(input.len()).unwrap_or(u32::MAX);
        let avail_out = u32::try_from(output.len()).unwrap_or(u32::MAX);
        let state = &mut *self.state;
        // ISA-L only reads through `next_in` (the field is not `const` in C).
        state.next_in = input.as_ptr().cast_mut();
        state.avail_in = avail_in;
        state.next_out = output.as_mut_ptr();
        state.avail_out = avail_out;
        // SAFETY: `next_in`/`avail_in` describe `input` (at most its length) and
        // `next_out`/`avail_out` describe `output`, both borrowed for the whole call, the
        // first shared and read only, the second exclusive (so they cannot alias), and
        // neither aliases the boxed state. ISA-L writes only within `avail_out` bytes of
        // `next_out` and its own state, and reads within `avail_in` bytes of `next_in`; it
        // keeps no pointer to either after returning (it copies its history into its state),
        // and the pointers are cleared below.
        let status = unsafe { ffi::isal_inflate(state) };
        let left_in = state.avail_in.min(avail_in);
        let left_out = state.avail_out.min(avail_out);
        state.next_in = std::ptr::null_mut();
        state.avail_in = 0;
        state.next_out = std::ptr::null_mut();
        state.avail_out = 0;
        if status < 0 {
            return Err(InflateError::Isal(status));
        }
        Ok(Step {
            consumed: (avail_in - left_in) as usize,
            produced: (avail_out - left_out) as usize,
            ended: state.block_state == ffi::isal_block_state_ISAL_BLOCK_FINISH,
        })
    }

    /// After the call that ended a block (`produced`: what it wrote): the history as ISA-L
    /// keeps it after a call that does not end the stream (`isal_inflate`, "Save decompression
    /// history in tmp_out buffer"), which it skips at the end of the "stream" this module
    /// makes of each block. ISA-L's buffer then holds the stream's last bytes (up to 32 KiB,
    /// fewer at its start) at its front: either the last 32 KiB of `produced`, or (what this
    /// call wrote came through the buffer, or was shorter than 32 KiB and followed bytes
    /// still there) the buffer's own bytes, moved to its front.
    fn keep_history(&mut self, produced: &[u8]) {
        let state = &mut *self.state;
        let valid = usize::try_from(state.tmp_out_valid).unwrap_or(0);
        let processed = usize::try_from(state.tmp_out_processed).unwrap_or(0);
        if valid == processed
            && let Some(last) = produced.get(produced.len().saturating_sub(WINDOW)..)
            && last.len() == WINDOW
        {
            state.tmp_out_buffer[..WINDOW].copy_from_slice(last);
            state.tmp_out_valid = WINDOW as i32;
            state.tmp_out_processed = WINDOW as i32;
        } else if processed >= WINDOW {
            let shift = valid.saturating_sub(WINDOW).min(processed);
            let valid = valid.min(state.tmp_out_buffer.len());
            state.tmp_out_buffer.copy_within(shift..valid, 0);
            state.tmp_out_valid = (valid - shift) as i32;
            state.tmp_out_processed = (processed - shift) as i32;
        }
    }

    /// After a block that ISA-L took for the last: back to "before a block header", with the
    /// history [`keep_history`](Self::keep_history) left. Nothing is pending in ISA-L's output
    /// buffer then (it reports the end only once all of it was written out).
    fn continue_at_header(&mut self) {
        let state = &mut *self.state;
        if state.block_state != ffi::isal_block_state_ISAL_BLOCK_FINISH {
            // The stream's first block: the state is as the reset left it.
            return;
        }
        state.write_overflow_lits = 0;
        state.write_overflow_len = 0;
        state.copy_overflow_length = 0;
        state.copy_overflow_distance = 0;
        state.block_state = ffi::isal_block_state_ISAL_BLOCK_NEW_HDR;
    }

    /// The CRC-32 (gzip's) of every byte written since the last reset.
    pub fn crc32(&self) -> u32 {
        self.state.crc
    }

    /// Once the stream ended: the bytes after its last bit that ISA-L already took into its bit
    /// buffer (at most 8; they belong to whatever follows, e.g. the gzip trailer), in order.
    pub fn unread(&self) -> ([u8; 8], usize) {
        let bits = u32::try_from(self.state.read_in_length)
            .unwrap_or(0)
            .min(64);
        // Bits below a byte boundary are the padding of the final block's last byte.
        let whole = (bits / 8) as usize;
        let value = self.state.read_in.checked_shr(bits % 8).unwrap_or(0);
        (value.to_le_bytes(), whole)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::io::Write;

    fn deflate_raw(bytes: &[u8], level: u32) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(level));
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn the_crc_is_gzips_crc32() {
        let stream = deflate_raw(b"123456789", 6);
        let mut inflate = RawInflate::new();
        let mut out = [0u8; 64];
        let step = inflate.inflate(&stream, &mut out).unwrap();
        assert!(step.ended);
        assert_eq!(&out[..step.produced], b"123456789");
        // The check value of CRC-32/ISO-HDLC (gzip's).
        assert_eq!(inflate.crc32(), 0xcbf4_3926);
    }

    #[test]
    fn bytes_after_the_stream_are_given_back() {
        let mut stream = deflate_raw(b"hello hello hello", 6);
        let end = stream.len();
        stream.extend_from_slice(b"ABCDEFGHIJ");
        let mut inflate = RawInflate::new();
        let mut out = [0u8; 64];
        let step = inflate.inflate(&stream, &mut out).unwrap();
        assert!(step.ended);
        let (bytes, n) = inflate.unread();
        assert_eq!(
            step.consumed - n,
            end,
            "the stream's end is found to the byte"
        );
        assert_eq!(&bytes[..n], &stream[end..end + n]);
    }

    /// Text of many blocks (zlib level 1 ends a block every 16 Ki symbols), with matches
    /// reaching back across block ends.
    fn text(len: usize) -> Vec<u8> {
        let words: [&[u8]; 8] = [
            b"alpha ",
            b"beta ",
            b"gamma\n",
            b"delta ",
            b"epsilon ",
            b"zeta\t",
            b"eta ",
            b"theta ",
        ];
        let mut x = 12_345u32;
        (0..len)
            .flat_map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                words[(x >> 16) as usize % words.len()].iter().copied()
            })
            .take(len)
            .collect()
    }

    /// Inflate `stream` whole, `input` and `output` bytes at most per call (the input at
    /// least `HEADER_INPUT` or the rest); the bytes, or the error.
    fn inflate_all(
        stream: &[u8],
        input: usize,
        output: usize,
    ) -> Result<(Vec<u8>, u64), InflateError> {
        let mut inflate = RawInflate::new();
        let mut got = Vec::new();
        let mut at = 0usize;
        let mut out = vec![0u8; output];
        loop {
            let end = at.saturating_add(input.max(HEADER_INPUT)).min(stream.len());
            let step = inflate.inflate(&stream[at..end], &mut out)?;
            at += step.consumed;
            got.extend_from_slice(&out[..step.produced]);
            if step.ended {
                return Ok((got, inflate.blocks));
            }
            assert!(step.consumed + step.produced > 0, "no progress at {at}");
        }
    }

    #[test]
    fn every_block_and_every_call_size_gives_the_same_bytes() {
        let content = text(400_000);
        for level in [0, 1, 6, 9] {
            let stream = deflate_raw(&content, level);
            for (input, output) in [(1, 1), (1000, 7), (usize::MAX, 1 << 20), (5000, 40_000)] {
                let (got, blocks) = inflate_all(&stream, input, output).unwrap();
                assert!(
                    got == content,
                    "level {level}, calls of {input} in / {output} out: {} bytes differ",
                    got.len()
                );
                assert!(blocks >= 2, "level {level}: {blocks} block(s) only");
            }
        }
    }

    #[test]
    fn isal_writes_nothing_past_the_output_it_is_given() {
        let content = text(100_000);
        let stream = deflate_raw(&content, 1);
        let mut inflate = RawInflate::new();
        let mut buf = vec![0xa5u8; 70_000];
        let mut got = Vec::new();
        let mut at = 0;
        for room in [1, 3, 100, 5000, 40_000, 65_000].into_iter().cycle() {
            buf[room..].fill(0xa5);
            let step = inflate.inflate(&stream[at..], &mut buf[..room]).unwrap();
            at += step.consumed;
            got.extend_from_slice(&buf[..step.produced]);
            assert!(
                buf[room..].iter().all(|&b| b == 0xa5),
                "written past {room}"
            );
            if step.ended {
                break;
            }
        }
        assert!(got == content);
    }

    #[test]
    fn a_distance_before_the_stream_start_is_refused() {
        // A fixed block: one literal, then a match of length 3 at distance 2.
        // Bits (LSB first): BFINAL 1, BTYPE 01; literal 'a' (0x61 -> 8-bit code 0x91);
        // length 3 (symbol 257, 7-bit code 0000001); distance 2 (code 1, 5 bits 00001); EOB.
        let mut w = Bits::default();
        w.put(1, 1);
        w.put(1, 2);
        w.put_code(0x30 + 0x61, 8);
        w.put_code(1, 7);
        w.put_code(1, 5);
        w.put_code(0, 7);
        let stream = w.finish();
        let mut inflate = RawInflate::new();
        let mut out = [0u8; 16];
        let refused = inflate.inflate(&stream, &mut out).unwrap_err();
        assert_eq!(refused, InflateError::Isal(ffi::ISAL_INVALID_LOOKBACK));
    }

    /// A stored block of `content`, not the last, then a last fixed block of one match of
    /// length 258 at `distance`: the match reaches back across the block end into the
    /// history this module keeps between blocks.
    fn match_after_a_block(content: &[u8], distance: u32) -> Vec<u8> {
        let mut w = Bits::default();
        w.put(0, 1);
        w.put(0, 2);
        w.put(0, (8 - w.bit) % 8);
        let len = content.len() as u32;
        w.put(len, 16);
        w.put(!len & 0xffff, 16);
        for &b in content {
            w.put(u32::from(b), 8);
        }
        w.put(1, 1);
        w.put(1, 2);
        // Length 258: symbol 285 (8-bit code 0xc5), no extra bits.
        w.put_code(0xc5, 8);
        // Distance code 29 (24577 to 32768), 13 extra bits.
        w.put_code(29, 5);
        w.put(distance - 24_577, 13);
        w.put_code(0, 7);
        w.finish()
    }

    #[test]
    fn a_match_reaches_32_kib_back_across_a_block_end() {
        let content = text(40_000);
        let stream = match_after_a_block(&content, 32_768);
        let mut expected = content.clone();
        let from = content.len() - 32_768;
        expected.extend_from_slice(&content[from..from + 258]);
        for output in [1, 7, 300, 32_768, 40_000, 1 << 20] {
            let (got, blocks) = inflate_all(&stream, usize::MAX, output).unwrap();
            assert!(got == expected, "output {output}: the bytes differ");
            assert_eq!(blocks, 2);
        }
        // The same match after a block of fewer bytes than its distance: before the start.
        let short = match_after_a_block(&content[..30_000], 32_768);
        for output in [7, 1 << 20] {
            assert_eq!(
                inflate_all(&short, usize::MAX, output).unwrap_err(),
                InflateError::Isal(ffi::ISAL_INVALID_LOOKBACK),
                "output {output}"
            );
        }
    }

    /// A deflate bit writer for crafted streams.
    #[derive(Default)]
    pub(crate) struct Bits {
        bytes: Vec<u8>,
        bit: u32,
    }

    impl Bits {
        /// `n` bits of `value`, least significant first (header fields, extra bits).
        pub fn put(&mut self, value: u32, n: u32) {
            for i in 0..n {
                if self.bit == 0 {
                    self.bytes.push(0);
                }
                let last = self.bytes.len() - 1;
                self.bytes[last] |= (((value >> i) & 1) as u8) << self.bit;
                self.bit = (self.bit + 1) % 8;
            }
        }

        /// A Huffman code of `n` bits, most significant first.
        pub fn put_code(&mut self, code: u32, n: u32) {
            for i in (0..n).rev() {
                self.put((code >> i) & 1, 1);
            }
        }

        /// A Huffman code as `(code, length)`, most significant bit first.
        pub fn code(&mut self, (code, n): (u32, u32)) {
            self.put_code(code, n);
        }

        pub fn finish(self) -> Vec<u8> {
            self.bytes
        }
    }
}
