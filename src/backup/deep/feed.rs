//! A large file read once, on the other core: a feeding thread reads the file in order from
//! its first byte, hashes each buffer and hands that same buffer over a bounded channel to the
//! thread that decompresses and checks it. The checking thread makes no system call for its
//! input, the bytes hashed are the bytes checked (one read, not two), and memory is bounded
//! by a fixed number of buffers that go back and forth.
//!
//! When the checking side stops reading (it refused, or its format reads the file by itself),
//! the feeding thread hashes the rest on its own, so the hash always covers the whole file.
//!
//! A file still being written (`backup_before_apply` reads its backup back while the dump
//! runs) is followed through a [`Growth`] its writer updates: where the file ends for now, the
//! feeding thread waits for the writer instead of taking the end for the file's, and the file
//! ends only where a read finds nothing more after the writer said it had finished.

use super::Refusal;
use super::segments::{SegmentHasher, Segments};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, BufRead, Read};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::sync::{Condvar, Mutex, MutexGuard};

/// How far the writer of a file has got, shared with the thread that reads the file back
/// behind it.
#[derive(Debug, Default)]
pub struct Growth {
    state: Mutex<Written>,
    changed: Condvar,
}

/// What the writer said last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// This many bytes from the file's start are written (each `write` returned).
    Upto(u64),
    /// Nothing more will be written.
    Finished,
    /// The writer stopped before the end (its write failed, the dump failed): the file is
    /// not a backup, and reading it back is pointless.
    Abandoned,
}

impl Default for Written {
    fn default() -> Written {
        Written::Upto(0)
    }
}

impl Growth {
    pub fn new() -> Growth {
        Growth::default()
    }

    fn state(&self) -> MutexGuard<'_, Written> {
        // A panic while holding this lock cannot leave the state half-changed: it is one value.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, to: Written) {
        let mut state = self.state();
        // Finished and abandoned are final.
        if let Written::Upto(_) = *state {
            *state = to;
        }
        drop(state);
        self.changed.notify_all();
    }

    /// The first `bytes` bytes of the file are written.
    pub fn written(&self, bytes: u64) {
        self.set(Written::Upto(bytes));
    }

    /// The writer wrote its last byte.
    pub fn finished(&self) {
        self.set(Written::Finished);
    }

    /// The writer stopped part-way.
    pub fn abandoned(&self) {
        self.set(Written::Abandoned);
    }

    /// What the writer said last.
    pub fn now(&self) -> Written {
        *self.state()
    }

    /// Wait until at least `bytes` bytes are written, or the writer finished or stopped.
    pub fn wait_for(&self, bytes: u64) -> Written {
        let mut state = self.state();
        while matches!(*state, Written::Upto(n) if n < bytes) {
            state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        *state
    }

    /// Wait until the writer finished or stopped.
    pub fn wait_end(&self) -> Written {
        self.wait_for(u64::MAX)
    }
}

/// What the feeding thread hands over, in file order.
enum Piece {
    /// The file's next bytes (never empty).
    Bytes(Vec<u8>),
    /// Reading failed: the file cannot be checked.
    Failed(Refusal),
    /// The file's last byte was handed over.
    End,
}

/// The feeding side: reads and hashes (run it on its own thread).
pub(super) struct Feeder<'a> {
    file: &'a File,
    /// The writer to follow, for a file still being written.
    growth: Option<&'a Growth>,
    chunk: usize,
    buffers: usize,
    full: SyncSender<Piece>,
    free: Receiver<Vec<u8>>,
}

/// The checking side: the file's bytes as a [`BufRead`], in the buffers the feeder hashed.
pub(super) struct Fed {
    full: Receiver<Piece>,
    free: Sender<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
    ended: bool,
    failed: Option<Refusal>,
}

/// A feeder and its reader over `file`, with `buffers` buffers of `chunk` bytes in all.
pub(super) fn pair(file: &File, chunk: usize, buffers: usize) -> (Feeder<'_>, Fed) {
    following(file, None, chunk, buffers)
}

/// [`pair`] over a file that may still be written, following `growth` when given.
pub(super) fn following<'a>(
    file: &'a File,
    growth: Option<&'a Growth>,
    chunk: usize,
    buffers: usize,
) -> (Feeder<'a>, Fed) {
    // One buffer is with the reader, one being filled, the rest wait in the channel.
    let (full_tx, full_rx) = sync_channel(buffers.saturating_sub(2).max(1));
    let (free_tx, free_rx) = channel();
    (
        Feeder {
            file,
            growth,
            chunk: chunk.max(1),
            buffers: buffers.max(2),
            full: full_tx,
            free: free_rx,
        },
        Fed {
            full: full_rx,
            free: free_tx,
            current: Vec::new(),
            pos: 0,
            ended: false,
            failed: None,
        },
    )
}

impl Feeder<'_> {
    /// Read the whole file from offset 0 with positional reads, hash every byte, and hand each
    /// buffer to the reader while it takes them. The sha256, hex.
    pub fn run(self) -> io::Result<String> {
        self.hash(None).map(|(sha, _)| sha)
    }

    /// [`Feeder::run`], and the [`Segments`] of the same bytes (for a pass that reads them
    /// again on several cores).
    pub fn run_with_segments(self) -> io::Result<(String, Segments)> {
        let (sha, segments) = self.hash(Some(SegmentHasher::new()))?;
        let segments = segments.ok_or_else(|| io::Error::other("no segments were hashed"))?;
        Ok((sha, segments))
    }

    fn hash(self, mut segments: Option<SegmentHasher>) -> io::Result<(String, Option<Segments>)> {
        let mut hasher = Sha256::new();
        let mut offset = 0u64;
        let mut allocated = 0;
        // False once the reader is gone: from then on one buffer is reused.
        let mut handing = true;
        let mut spare: Option<Vec<u8>> = None;
        loop {
            let mut buf = match spare.take() {
                Some(buf) => buf,
                None if allocated < self.buffers => {
                    allocated += 1;
                    Vec::with_capacity(self.chunk)
                }
                None => match self.free.recv() {
                    Ok(buf) => buf,
                    Err(_) => {
                        handing = false;
                        Vec::with_capacity(self.chunk)
                    }
                },
            };
            buf.clear();
            let read = loop {
                // What the writer said before this read: only a read that finds nothing after
                // the writer finished is the file's end.
                let before = self.growth.map_or(Written::Finished, Growth::now);
                let read = match rustix::io::pread(
                    self.file,
                    rustix::buffer::spare_capacity(&mut buf),
                    offset,
                ) {
                    Err(rustix::io::Errno::INTR) => continue,
                    Ok(0) => at_end(self.growth, before, offset),
                    Ok(n) => Ok(Some(n)),
                    Err(e) => Err(io::Error::from(e)),
                };
                match read {
                    // The end for now: wait for the writer, then read again.
                    Ok(None) => {}
                    Ok(Some(n)) => break Ok(n),
                    Err(e) => break Err(e),
                }
            };
            match read {
                Ok(0) => {
                    if handing {
                        let _ = self.full.send(Piece::End);
                    }
                    break;
                }
                Ok(n) => offset += n as u64,
                Err(e) => {
                    if handing {
                        let refusal = Refusal::format(format!("cannot read the file: {e}"));
                        let _ = self.full.send(Piece::Failed(refusal));
                    }
                    return Err(e);
                }
            }
            hasher.update(&buf);
            if let Some(segments) = segments.as_mut() {
                segments.update(&buf);
            }
            if handing {
                if let Err(returned) = self.full.send(Piece::Bytes(buf)) {
                    handing = false;
                    if let Piece::Bytes(buf) = returned.0 {
                        spare = Some(buf);
                    }
                }
            } else {
                spare = Some(buf);
            }
        }
        Ok((
            crate::digest::hex(&hasher.finalize()),
            segments.map(SegmentHasher::finish),
        ))
    }
}

/// A read at `offset` found nothing. `Ok(Some(0))`: the file ends there. `Ok(None)`: the writer
/// has not got further yet (after waiting for it to; read again). `Err`: the file is not what
/// its writer is writing.
fn at_end(growth: Option<&Growth>, before: Written, offset: u64) -> io::Result<Option<usize>> {
    let Some(growth) = growth else {
        return Ok(Some(0));
    };
    match before {
        Written::Finished => Ok(Some(0)),
        Written::Abandoned => Err(abandoned()),
        Written::Upto(n) if n > offset => Err(io::Error::other(format!(
            "the file ends at byte {offset}, but {n} bytes were written to it: it was cut while it was written"
        ))),
        Written::Upto(_) => match growth.wait_for(offset.saturating_add(1)) {
            Written::Abandoned => Err(abandoned()),
            _ => Ok(None),
        },
    }
}

fn abandoned() -> io::Error {
    io::Error::other("its writer stopped before the end")
}

impl Fed {
    fn refused(refusal: &Refusal) -> io::Error {
        refusal.clone().into()
    }
}

impl BufRead for Fed {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos == self.current.len() && !self.ended {
            if let Some(refusal) = &self.failed {
                return Err(Fed::refused(refusal));
            }
            if self.current.capacity() > 0 {
                // Back to the feeder; if it is gone, the buffer is simply dropped.
                let _ = self.free.send(std::mem::take(&mut self.current));
            }
            self.pos = 0;
            match self.full.recv() {
                Ok(Piece::Bytes(buf)) => self.current = buf,
                Ok(Piece::End) => self.ended = true,
                Ok(Piece::Failed(refusal)) => self.failed = Some(refusal),
                Err(_) => {
                    self.failed = Some(Refusal::format(
                        "cannot read the file: the reading thread stopped",
                    ))
                }
            }
        }
        Ok(&self.current[self.pos..])
    }

    fn consume(&mut self, amount: usize) {
        self.pos = self.pos.saturating_add(amount).min(self.current.len());
    }
}

impl Read for Fed {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_of(bytes: &[u8]) -> (tempfile::NamedTempFile, File) {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        tmp.write_all(bytes).unwrap();
        let file = File::open(tmp.path()).unwrap();
        (tmp, file)
    }

    fn sha(bytes: &[u8]) -> String {
        crate::digest::hex(&Sha256::digest(bytes))
    }

    /// The reader takes `take` bytes (all with `usize::MAX`) and drops; what it got, and the
    /// feeder's hash.
    fn feed(bytes: &[u8], chunk: usize, buffers: usize, take: usize) -> (Vec<u8>, String) {
        let (_tmp, file) = file_of(bytes);
        std::thread::scope(|scope| {
            let (feeder, mut fed) = pair(&file, chunk, buffers);
            let hasher = scope.spawn(|| feeder.run());
            let mut got = Vec::new();
            let mut buf = [0u8; 5];
            while got.len() < take {
                let n = fed.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            drop(fed);
            (got, hasher.join().unwrap().unwrap())
        })
    }

    #[test]
    fn the_reader_gets_every_byte_in_order_and_the_hash_covers_them() {
        let bytes: Vec<u8> = (0..10_007u32).map(|i| (i * 31 % 251) as u8).collect();
        for (chunk, buffers) in [(7, 2), (64, 3), (4096, 4), (1 << 20, 4)] {
            let (got, hash) = feed(&bytes, chunk, buffers, usize::MAX);
            assert!(got == bytes, "chunk {chunk}: the reader's bytes differ");
            assert_eq!(hash, sha(&bytes), "chunk {chunk}");
        }
        let (got, hash) = feed(b"", 64, 4, usize::MAX);
        assert!(got.is_empty());
        assert_eq!(hash, sha(b""));
    }

    #[test]
    fn a_reader_that_stops_early_or_never_reads_still_gets_the_whole_hash() {
        let bytes: Vec<u8> = (0..50_000u32).map(|i| (i % 253) as u8).collect();
        for take in [0, 1, 100, 20_000] {
            let (got, hash) = feed(&bytes, 64, 4, take);
            assert_eq!(got[..], bytes[..got.len()], "take {take}: not a prefix");
            assert!(got.len() >= take.min(bytes.len()));
            assert_eq!(
                hash,
                sha(&bytes),
                "take {take}: the hash is not the whole file's"
            );
        }
    }

    #[test]
    fn the_end_is_reported_again_after_it_is_reached() {
        let (_tmp, file) = file_of(b"abc");
        std::thread::scope(|scope| {
            let (feeder, mut fed) = pair(&file, 2, 2);
            let hasher = scope.spawn(|| feeder.run());
            let mut all = Vec::new();
            fed.read_to_end(&mut all).unwrap();
            assert_eq!(all, b"abc");
            assert_eq!(fed.read(&mut [0u8; 4]).unwrap(), 0);
            assert!(fed.fill_buf().unwrap().is_empty());
            drop(fed);
            assert_eq!(hasher.join().unwrap().unwrap(), sha(b"abc"));
        });
    }
}
