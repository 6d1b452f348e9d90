//! gzip for backups, compressed on other threads while the dump streams in: the input is cut
//! into blocks, each block becomes one complete gzip member on a worker thread, and the
//! members are written in order (a multi-member gzip file, which `gzip -d`, `gzip -t` and the
//! gates' deep verification read member by member; `pigz --independent` writes one member).
//! The bytes written are hashed in the same pass (BLAKE3 segments, the form the read-back
//! takes of what it checks), so that the file verified afterwards can be tied to exactly what
//! was written. Memory is bounded: at most
//! `2 × workers + 1` blocks are in flight, whatever the size of the dump.

use super::super::deep::{SegmentHasher, Segments};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// The compression level (ISA-L's scale: 0, 1 or 3). At 1, ISA-L's files of dump text are
/// as small as zlib's at its default 6 (and libdeflate's at 1) for about a quarter of
/// libdeflate's CPU (docs/backup.md, "Speed"): compression is most of a backup's own work.
pub const LEVEL: u32 = 1;
/// Uncompressed bytes per member: large enough that a member's own header, trailer and
/// fresh dictionary cost little (< 0.1 % here), small enough to keep memory low.
const BLOCK: usize = 1024 * 1024;
/// More threads than this gain nothing for one dump stream.
const MAX_WORKERS: usize = 4;

/// One member to compress: its position in the file, its uncompressed bytes, and a buffer
/// for the member (one written before, reused: a fresh one would be zeroed first).
struct Job {
    seq: u64,
    input: Vec<u8>,
    output: Vec<u8>,
}

/// A compressed member, with the input buffer handed back for reuse.
struct Done {
    seq: u64,
    member: io::Result<Member>,
    input: Vec<u8>,
}

/// A member: the first `len` bytes of `buf` (what is after them is the buffer's old content).
struct Member {
    buf: Vec<u8>,
    len: usize,
}

impl Member {
    fn bytes(&self) -> io::Result<&[u8]> {
        self.buf
            .get(..self.len)
            .ok_or_else(|| io::Error::other("a gzip member is longer than its buffer"))
    }
}

/// What was written: its size, and the digest the file checked afterwards is compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub bytes: u64,
    pub digest: WrittenDigest,
}

/// The digest of the bytes written, in the form the check of the file gives of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WrittenDigest {
    /// The whole file's sha256 (a file checked once it is whole, by the gates' artifact check).
    Sha256(String),
    /// The file's segments (a file read back behind its writer: `deep::inspect_growing`).
    Segments(Segments),
}

/// A `Write` that gzips what it is given on worker threads and writes the members, in order,
/// to `inner`. Call [`ParallelGzip::finish`]: dropping it without finishing loses the tail
/// (the workers then end on their own: their job channel is closed).
pub struct ParallelGzip<W: Write> {
    inner: W,
    filling: Vec<u8>,
    free: Vec<Vec<u8>>,
    jobs: Option<SyncSender<Job>>,
    done: Receiver<Done>,
    workers: Vec<JoinHandle<()>>,
    next_seq: u64,
    next_write: u64,
    ready: BTreeMap<u64, Member>,
    /// Buffers of members written, for the next jobs.
    written_out: Vec<Vec<u8>>,
    max_in_flight: usize,
    hasher: SegmentHasher,
    written: u64,
    /// The first error: once a member is lost, every later call fails with it.
    broken: Option<String>,
}

impl<W: Write> ParallelGzip<W> {
    /// Workers: one per available core (at most `MAX_WORKERS`).
    pub fn new(inner: W, level: u32) -> ParallelGzip<W> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        ParallelGzip::with_workers(inner, level, cores.clamp(1, MAX_WORKERS))
    }

    pub fn with_workers(inner: W, level: u32, workers: usize) -> ParallelGzip<W> {
        let workers = workers.max(1);
        let (job_tx, job_rx) = mpsc::sync_channel::<Job>(workers);
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (done_tx, done_rx) = mpsc::channel::<Done>();
        let handles = (0..workers)
            .map(|_| {
                let jobs = Arc::clone(&job_rx);
                let done = done_tx.clone();
                std::thread::spawn(move || {
                    let mut compressor = Compressor::new(level);
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = match jobs.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = job else { return };
                        // A panic would leave a member missing and the writer waiting
                        // for it: it becomes this member's error instead.
                        let member = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            compressor.member(&job.input, job.output)
                        }))
                        .unwrap_or_else(|_| Err(stopped()));
                        if done
                            .send(Done {
                                seq: job.seq,
                                member,
                                input: job.input,
                            })
                            .is_err()
                        {
                            return;
                        }
                    }
                })
            })
            .collect();
        ParallelGzip {
            inner,
            filling: Vec::with_capacity(BLOCK),
            free: Vec::new(),
            jobs: Some(job_tx),
            done: done_rx,
            workers: handles,
            next_seq: 0,
            next_write: 0,
            ready: BTreeMap::new(),
            written_out: Vec::new(),
            max_in_flight: 2 * workers + 1,
            hasher: SegmentHasher::new(),
            written: 0,
            broken: None,
        }
    }

    fn check(&self) -> io::Result<()> {
        match &self.broken {
            Some(why) => Err(io::Error::other(why.clone())),
            None => Ok(()),
        }
    }

    fn in_flight(&self) -> usize {
        usize::try_from(self.next_seq - self.next_write).unwrap_or(usize::MAX)
    }

    /// Hand the filled block to the workers, waiting for earlier members while too many are
    /// in flight.
    fn dispatch(&mut self) -> io::Result<()> {
        while self.in_flight() >= self.max_in_flight {
            self.collect(true)?;
        }
        let fresh = self.free.pop().unwrap_or_else(|| Vec::with_capacity(BLOCK));
        let input = std::mem::replace(&mut self.filling, fresh);
        let jobs = self
            .jobs
            .as_ref()
            .ok_or_else(|| io::Error::other("the gzip stream is finished"))?;
        if jobs
            .send(Job {
                seq: self.next_seq,
                input,
                output: self.written_out.pop().unwrap_or_default(),
            })
            .is_err()
        {
            self.broken = Some(stopped().to_string());
            return Err(stopped());
        }
        self.next_seq += 1;
        // Write whatever is done already, without waiting.
        self.collect(false)
    }

    /// Take finished members (waiting for one when `wait`) and write those next in order.
    fn collect(&mut self, wait: bool) -> io::Result<()> {
        self.check()?;
        let result = self.collect_inner(wait);
        if let Err(e) = &result {
            self.broken = Some(e.to_string());
        }
        result
    }

    fn collect_inner(&mut self, wait: bool) -> io::Result<()> {
        let mut first = wait;
        loop {
            let done = if first {
                first = false;
                self.done.recv().map_err(|_| stopped())?
            } else {
                match self.done.try_recv() {
                    Ok(d) => d,
                    Err(mpsc::TryRecvError::Empty) => break,
                    Err(mpsc::TryRecvError::Disconnected) => return Err(stopped()),
                }
            };
            let mut input = done.input;
            input.clear();
            self.free.push(input);
            self.ready.insert(done.seq, done.member?);
        }
        while let Some(member) = self.ready.remove(&self.next_write) {
            let bytes = member.bytes()?;
            self.inner.write_all(bytes)?;
            self.hasher.update(bytes);
            self.written = self.written.saturating_add(bytes.len() as u64);
            self.next_write += 1;
            self.written_out.push(member.buf);
        }
        Ok(())
    }

    /// Compress what is left, write every member, and return the inner writer with what was
    /// written. An empty input still becomes one (empty) member: a valid gzip file.
    pub fn finish(mut self) -> io::Result<(W, Written)> {
        self.check()?;
        if !self.filling.is_empty() || self.next_seq == 0 {
            self.dispatch()?;
        }
        while self.in_flight() > 0 {
            self.collect(true)?;
        }
        self.inner.flush()?;
        self.jobs = None;
        for w in self.workers.drain(..) {
            w.join().map_err(|_| stopped())?;
        }
        let written = Written {
            bytes: self.written,
            digest: WrittenDigest::Segments(std::mem::take(&mut self.hasher).finish()),
        };
        Ok((self.inner, written))
    }
}

/// A worker thread ended without answering (it panicked).
fn stopped() -> io::Error {
    io::Error::other("a gzip compression thread stopped")
}

/// A worker's compressor: ISA-L's stateless deflate, one whole member per call.
struct Compressor {
    level: isal::CompressionLevel,
}

impl Compressor {
    /// `level` 0, 1 or 3 (ISA-L has no other); anything else compresses at 1.
    fn new(level: u32) -> Compressor {
        let level = isize::try_from(level)
            .ok()
            .and_then(|l| isal::CompressionLevel::try_from(l).ok())
            .unwrap_or(isal::CompressionLevel::One);
        Compressor { level }
    }

    /// One complete gzip member (header, deflate stream, CRC-32 and length) holding `input`,
    /// written into `out` (made large enough; zeroed only where it grows).
    fn member(&mut self, input: &[u8], mut out: Vec<u8>) -> io::Result<Member> {
        let bound = member_bound(input.len());
        if out.len() < bound {
            out.resize(bound, 0);
        }
        let room = out.get_mut(..bound).unwrap_or_default();
        let len = isal::compress_into(input, room, self.level, isal::Codec::Gzip)
            .map_err(|e| io::Error::other(format!("gzip compression failed: {e}")))?;
        Ok(Member { buf: out, len })
    }
}

/// Room for the member of `len` bytes that do not compress at all: deflate's stored blocks
/// (5 bytes per 64 KiB), gzip's header and trailer, and ISA-L's own margin, with plenty to
/// spare (a member that does not fit is an error, never a truncated file).
fn member_bound(len: usize) -> usize {
    len.saturating_add(len / 8).saturating_add(64 * 1024)
}

/// The dump's pipe is read straight into the block being filled: its bytes are not copied
/// through another buffer first (a copy of every byte of the dump, 0.04 CPU s per 256 MiB).
impl<W: Write> super::run::Take for ParallelGzip<W> {
    fn take(
        &mut self,
        from: &mut std::process::ChildStdout,
        _most: usize,
    ) -> io::Result<(usize, usize)> {
        self.check()?;
        self.filling
            .reserve(BLOCK.saturating_sub(self.filling.len()));
        let offered = self.filling.capacity() - self.filling.len();
        let n = rustix::io::read(&*from, rustix::buffer::spare_capacity(&mut self.filling))?;
        if self.filling.len() >= BLOCK {
            self.dispatch()?;
        }
        Ok((n, offered))
    }

    fn flush(&mut self) -> io::Result<()> {
        Write::flush(self)
    }
}

impl<W: Write> Write for ParallelGzip<W> {
    fn write(&mut self, mut data: &[u8]) -> io::Result<usize> {
        self.check()?;
        let total = data.len();
        while !data.is_empty() {
            let room = BLOCK - self.filling.len();
            let take = room.min(data.len());
            self.filling.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.filling.len() == BLOCK {
                self.dispatch()?;
            }
        }
        Ok(total)
    }

    /// Members are written as they complete; a partial block stays until it fills or
    /// `finish` (flushing it early would only add members).
    fn flush(&mut self) -> io::Result<()> {
        self.collect(false)?;
        self.inner.flush()
    }
}

/// A `Write` that hashes (sha256) and counts what it passes on: the uncompressed procedures'
/// counterpart of [`ParallelGzip`]'s own hashing.
pub struct Hashed<W: Write> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> Hashed<W> {
    pub fn new(inner: W) -> Hashed<W> {
        Hashed {
            inner,
            hasher: Sha256::new(),
            written: 0,
        }
    }

    pub fn finish(mut self) -> io::Result<(W, Written)> {
        self.inner.flush()?;
        let written = Written {
            bytes: self.written,
            digest: WrittenDigest::Sha256(crate::digest::hex(&self.hasher.finalize())),
        };
        Ok((self.inner, written))
    }
}

impl<W: Write> Write for Hashed<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(data)?;
        self.hasher.update(&data[..n]);
        self.written = self.written.saturating_add(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn gunzip(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    fn sha(bytes: &[u8]) -> WrittenDigest {
        WrittenDigest::Sha256(crate::digest::hex(&Sha256::digest(bytes)))
    }

    /// The segments of `bytes` as the file's own reader takes them: written to a file and
    /// read back by `Segments::of_file` (on two threads).
    fn segments(bytes: &[u8]) -> WrittenDigest {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        tmp.write_all(bytes).unwrap();
        let file = std::fs::File::open(tmp.path()).unwrap();
        WrittenDigest::Segments(Segments::of_file(&file, 2).unwrap())
    }

    /// Input that does not compress to nothing: each block differs.
    fn text(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| b"0123456789abcdef\n"[(i * 7 + i / 1000) % 17])
            .collect()
    }

    #[test]
    fn members_come_out_in_order_whatever_the_workers_and_write_sizes() {
        let input = text(3 * BLOCK + 12_345);
        for workers in [1, 2, 3, 8] {
            for piece in [7usize, 4096, 65_536, BLOCK + 1] {
                let mut gz = ParallelGzip::with_workers(Vec::new(), LEVEL, workers);
                for chunk in input.chunks(piece.min(input.len())) {
                    gz.write_all(chunk).unwrap();
                }
                let (out, written) = gz.finish().unwrap();
                assert_eq!(gunzip(&out), input, "workers {workers}, writes of {piece}");
                assert_eq!(written.bytes, out.len() as u64);
                assert_eq!(written.digest, segments(&out));
            }
        }
    }

    #[test]
    fn each_block_is_its_own_member_and_the_file_is_plain_multi_member_gzip() {
        let input = text(2 * BLOCK + 1);
        let mut gz = ParallelGzip::with_workers(Vec::new(), LEVEL, 2);
        gz.write_all(&input).unwrap();
        let (out, _) = gz.finish().unwrap();
        // The first member alone decodes to exactly the first block.
        let mut first = Vec::new();
        flate2::read::GzDecoder::new(&out[..])
            .read_to_end(&mut first)
            .unwrap();
        assert_eq!(first, input[..BLOCK]);
        // gzip's members start with its magic: three of them.
        let starts = out.windows(3).filter(|w| w == &[0x1f, 0x8b, 8]).count();
        assert!(starts >= 3, "{starts} member starts");
    }

    #[test]
    fn input_that_does_not_compress_still_makes_whole_members() {
        // xorshift: bytes that deflate cannot shrink, as a mount's compressed files are.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let input: Vec<u8> = (0..2 * BLOCK + 777)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let mut gz = ParallelGzip::with_workers(Vec::new(), LEVEL, 2);
        gz.write_all(&input).unwrap();
        let (out, written) = gz.finish().unwrap();
        assert!(out.len() > input.len(), "random bytes do not shrink");
        assert_eq!(gunzip(&out), input);
        assert_eq!(written.digest, segments(&out));
    }

    #[test]
    fn empty_input_is_one_empty_member() {
        let (out, written) = ParallelGzip::new(Vec::new(), LEVEL).finish().unwrap();
        assert!(out.starts_with(&[0x1f, 0x8b]));
        assert_eq!(gunzip(&out), b"");
        assert_eq!(written.digest, segments(&out));
    }

    /// A sink that fails after `left` bytes, as a full disk does.
    struct Full {
        left: usize,
    }

    impl Write for Full {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            if data.len() > self.left {
                return Err(io::Error::other("no space left on device"));
            }
            self.left -= data.len();
            Ok(data.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failing_sink_fails_the_write_or_the_finish() {
        let input = text(6 * BLOCK);
        let mut gz = ParallelGzip::with_workers(Full { left: 1000 }, LEVEL, 2);
        let wrote = gz.write_all(&input);
        let finished = gz.finish();
        assert!(wrote.is_err() || finished.is_err());
    }

    #[test]
    fn hashed_counts_and_hashes_what_it_passes_on() {
        let mut h = Hashed::new(Vec::new());
        h.write_all(b"abc").unwrap();
        h.write_all(b"def").unwrap();
        let (out, written) = h.finish().unwrap();
        assert_eq!(out, b"abcdef");
        assert_eq!(written.bytes, 6);
        assert_eq!(written.digest, sha(b"abcdef"));
    }
}
