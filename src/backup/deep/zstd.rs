//! zstd as `zstd -t` reads it, with the reference library (libzstd): every frame to its end,
//! skippable frames skipped, and nothing after the last frame. Deep verification also needs
//! each frame's content checksum (the `zstd` command writes one by default; libzstd verifies
//! it): a frame written without one proves nothing and is refused. Memory stays bounded by
//! libzstd's default window limit (128 MiB) and one input buffer.

use super::Refusal;
use std::io::{self, Read};
use zstd::zstd_safe::{DCtx, InBuffer, OutBuffer, get_error_name};

const FRAME_MAGIC: u32 = 0xFD2F_B528;
const SKIPPABLE_MAGIC: u32 = 0x184D_2A50;
/// Frame header descriptor bit: a content checksum follows the last block.
const CHECKSUM_FLAG: u8 = 0x04;

/// The decompressed content of every frame of `source`, in order.
pub(super) struct Frames<R> {
    source: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    dctx: DCtx<'static>,
    in_frame: bool,
    data_frames: u64,
}

impl<R: Read> Frames<R> {
    /// Frames read from `source` through a `chunk`-byte input buffer.
    pub fn new(source: R, chunk: usize) -> Frames<R> {
        Frames {
            source,
            buf: vec![0u8; chunk],
            start: 0,
            end: 0,
            eof: false,
            dctx: DCtx::create(),
            in_frame: false,
            data_frames: 0,
        }
    }

    /// Make at least `want` bytes available (fewer only at the end of the input).
    fn fill(&mut self, want: usize) -> io::Result<usize> {
        if self.end - self.start >= want || self.eof {
            return Ok(self.end - self.start);
        }
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        while self.end < want.min(self.buf.len()) && !self.eof {
            match self.source.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end - self.start)
    }

    /// At a frame boundary: is there another frame, and may it be read?
    fn next_frame(&mut self) -> io::Result<bool> {
        let available = self.fill(5)?;
        if available == 0 {
            if self.data_frames == 0 {
                return Err(Refusal::format("the zstd stream holds no frame").into());
            }
            return Ok(false);
        }
        let head = &self.buf[self.start..self.end];
        let magic =
            (available >= 4).then(|| u32::from_le_bytes([head[0], head[1], head[2], head[3]]));
        match magic {
            Some(FRAME_MAGIC) => {
                if available < 5 {
                    return Err(
                        Refusal::incomplete("the zstd stream ends inside a frame header").into(),
                    );
                }
                if head[4] & CHECKSUM_FLAG == 0 {
                    return Err(Refusal::unverifiable(
                        "a zstd frame carries no content checksum (written with --no-check): its content cannot be verified",
                    )
                    .into());
                }
                self.data_frames += 1;
            }
            Some(m) if m & 0xFFFF_FFF0 == SKIPPABLE_MAGIC => {}
            _ => {
                return Err(Refusal::format(format!(
                    "{} bytes after the last zstd frame are not a zstd frame",
                    available
                ))
                .into());
            }
        }
        self.in_frame = true;
        Ok(true)
    }
}

impl<R: Read> Read for Frames<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            if !self.in_frame && !self.next_frame()? {
                return Ok(0);
            }
            // With no input left, libzstd may still hold output of the frame to flush.
            let available = self.fill(1)?;
            let mut input = InBuffer::around(&self.buf[self.start..self.end]);
            let mut output = OutBuffer::around(&mut *out);
            let hint = self
                .dctx
                .decompress_stream(&mut output, &mut input)
                .map_err(|code| {
                    let name = get_error_name(code);
                    if name.contains("checksum") {
                        Refusal::checksum(format!("zstd: {name}"))
                    } else {
                        Refusal::format(format!("zstd: {name}"))
                    }
                })?;
            let consumed = input.pos();
            let produced = output.pos();
            self.start += consumed;
            if hint == 0 {
                self.in_frame = false;
            }
            if produced > 0 {
                return Ok(produced);
            }
            if hint != 0 && consumed == 0 {
                // No progress: libzstd needs more input than is buffered, or the input ended.
                if available >= self.buf.len() {
                    return Err(Refusal::format("zstd: the decoder made no progress").into());
                }
                if available == 0 || self.fill(available + 1)? <= available {
                    return Err(Refusal::incomplete(
                        "the zstd stream ends inside a frame (truncated?)",
                    )
                    .into());
                }
            }
        }
    }
}
