//! The writer's side of reading a backup back while it is written: a `Write` that tells the
//! reading thread how far the file is written (`deep::Growth`), and a guard that tells it the
//! writer stopped, on every way out of the dump that did not finish it. The reading thread
//! runs the gates' deep check on the file's own bytes (`deep::inspect_growing`), so that when
//! the dump ends only its last bytes are left to check.

use super::super::deep::{self, Growth};
use std::io::{self, Write};

/// Passes writes on to `inner` and reports the bytes written so far to `growth` after each.
pub struct Tracked<'g, W: Write> {
    inner: W,
    growth: &'g Growth,
    written: u64,
}

impl<'g, W: Write> Tracked<'g, W> {
    pub fn new(inner: W, growth: &'g Growth) -> Tracked<'g, W> {
        Tracked {
            inner,
            growth,
            written: 0,
        }
    }

    /// The inner writer, flushed; the file's length is final from here on (the caller says so
    /// with [`Growth::finished`] once it has checked everything else about the dump).
    pub fn into_inner(mut self) -> io::Result<W> {
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for Tracked<'_, W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(data)?;
        self.written = self.written.saturating_add(n as u64);
        self.growth.written(self.written);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// How much more is written before the disk is asked again to write back what was written.
pub const FLUSH_STEP: u64 = 8 * 1024 * 1024;

/// While the dump runs, have the disk write back what is written, each [`FLUSH_STEP`] bytes
/// (`fdatasync`), so that the fsync after the dump's last byte has only the tail left to
/// wait for (it is done all the same). Returns when the writer has finished or stopped; an
/// error is the backup's (an fsync error is reported once only: it must not be lost here).
pub fn flush_behind(file: &std::fs::File, growth: &Growth) -> io::Result<()> {
    let mut flushed = 0u64;
    while let deep::Written::Upto(n) = growth.wait_for(flushed.saturating_add(FLUSH_STEP)) {
        file.sync_data()?;
        flushed = n;
    }
    Ok(())
}

/// Says "abandoned" when dropped, unless the writer said "finished" before (a final state
/// stays): the reading thread then stops instead of waiting for bytes that will not come.
pub struct AbandonUnlessFinished<'g>(pub &'g Growth);

impl Drop for AbandonUnlessFinished<'_> {
    fn drop(&mut self) {
        self.0.abandoned();
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::deep::{Options, Written};
    use super::super::gzip::{LEVEL, ParallelGzip};
    use super::*;
    use crate::model::backup_format::Format;
    use crate::policy::Verify;
    use std::fs::File;

    /// A file that takes `left` more bytes, then fails as a full disk does.
    struct FillsUp {
        file: File,
        left: usize,
    }

    impl Write for FillsUp {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            if self.left == 0 {
                return Err(io::Error::from_raw_os_error(28));
            }
            let n = data.len().min(self.left);
            let n = self.file.write(&data[..n])?;
            self.left -= n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            self.file.flush()
        }
    }

    fn dump_text(rows: usize, complete: bool) -> Vec<u8> {
        let mut sql = b"--\n-- PostgreSQL database cluster dump\n--\n\nSET x = 1;\n".to_vec();
        sql.extend_from_slice(b"COPY public.t (a, b, c) FROM stdin;\n");
        for i in 0..rows {
            sql.extend_from_slice(format!("{i}\t{:x}\tpayload\n", i * 2_654_435_761).as_bytes());
        }
        if complete {
            sql.extend_from_slice(
                b"\\.\n\n--\n-- PostgreSQL database cluster dump complete\n--\n\n",
            );
        }
        sql
    }

    /// Write `text` gzipped into a fresh file through `sink_of`, in 64 KiB writes as a dump
    /// arrives, while another thread reads it back; what the read-back said, and whether the
    /// writing succeeded.
    fn write_and_follow(
        text: &[u8],
        sink_of: impl FnOnce(File) -> Box<dyn Write + Send>,
    ) -> (
        Result<deep::Inspection, deep::Refusal>,
        io::Result<()>,
        Vec<u8>,
    ) {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        let writer = tmp.reopen().unwrap();
        let reader = File::open(tmp.path()).unwrap();
        let growth = Growth::new();
        let options = Options::strict(Verify::Deep);
        let (followed, wrote) = std::thread::scope(|scope| {
            let follower =
                scope.spawn(|| deep::inspect_growing(&reader, Format::SqlGz, &options, &growth));
            let wrote = (|| {
                let _abandon = AbandonUnlessFinished(&growth);
                let mut gz =
                    ParallelGzip::with_workers(Tracked::new(sink_of(writer), &growth), LEVEL, 2);
                for piece in text.chunks(64 * 1024) {
                    gz.write_all(piece)?;
                }
                let (tracked, _) = gz.finish()?;
                tracked.into_inner()?;
                growth.finished();
                Ok(())
            })();
            let followed = follower.join().unwrap().map(|(inspection, segments)| {
                // What was read back is, segment by segment, the finished file.
                let read = segments.expect("a gzip'd dump is read back in segments");
                let now = deep::Segments::of_file(&reader, 2).unwrap();
                assert_eq!(read.difference(&now), None);
                inspection
            });
            (followed, wrote)
        });
        (followed, wrote, std::fs::read(tmp.path()).unwrap())
    }

    fn sha(bytes: &[u8]) -> String {
        use sha2::Digest;
        crate::digest::hex(&sha2::Sha256::digest(bytes))
    }

    #[test]
    fn the_read_back_behind_the_writer_is_the_gates_verdict_on_the_finished_file() {
        for (rows, complete) in [(600_000, true), (600_000, false), (10, true)] {
            let text = dump_text(rows, complete);
            let (followed, wrote, file) = write_and_follow(&text, |f| Box::new(f));
            wrote.unwrap();
            let tmp = tempfile::NamedTempFile::new().unwrap();
            std::fs::write(tmp.path(), &file).unwrap();
            let after = deep::inspect(
                &File::open(tmp.path()).unwrap(),
                Format::SqlGz,
                Verify::Deep,
            );
            assert_eq!(followed, after, "{rows} rows, complete: {complete}");
            if complete {
                assert_eq!(followed.unwrap().sha256, sha(&file));
            }
        }
    }

    #[test]
    fn a_disk_that_fills_up_fails_the_writing_and_stops_the_read_back() {
        let text = dump_text(600_000, true);
        let (followed, wrote, _) = write_and_follow(&text, |file| {
            Box::new(FillsUp {
                file,
                left: 3 * 1024 * 1024 + 17,
            })
        });
        assert_eq!(wrote.unwrap_err().raw_os_error(), Some(28));
        let refused = followed.expect_err("a file whose writer stopped passed");
        assert!(refused.message.contains("stopped"), "{refused}");
    }

    #[test]
    fn flushing_behind_the_writer_ends_with_the_writer_whichever_way_it_ends() {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        let file = tmp.reopen().unwrap();
        for end in [Growth::finished, Growth::abandoned] {
            let growth = Growth::new();
            std::thread::scope(|scope| {
                let flusher = scope.spawn(|| flush_behind(&file, &growth));
                for step in 1..4 {
                    growth.written(step * FLUSH_STEP + 1);
                }
                end(&growth);
                flusher.join().unwrap().unwrap();
            });
        }
    }

    #[test]
    fn a_file_cut_while_it_is_written_is_refused() {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        let reader = File::open(tmp.path()).unwrap();
        let growth = Growth::new();
        let options = Options::strict(Verify::Deep);
        let text = dump_text(300_000, true);
        let mut gz = ParallelGzip::with_workers(Vec::new(), LEVEL, 2);
        gz.write_all(&text).unwrap();
        let (bytes, _) = gz.finish().unwrap();
        std::thread::scope(|scope| {
            let follower =
                scope.spawn(|| deep::inspect_growing(&reader, Format::SqlGz, &options, &growth));
            // Half written, then cut to a quarter by someone else, then the rest.
            let half = bytes.len() / 2;
            std::fs::write(tmp.path(), &bytes[..half]).unwrap();
            growth.written(half as u64);
            let cut = File::options().write(true).open(tmp.path()).unwrap();
            cut.set_len(half as u64 / 2).unwrap();
            growth.written(half as u64 + 1);
            let refused = follower.join().unwrap().expect_err("a cut file passed");
            assert!(refused.message.contains("cut"), "{refused}");
            growth.finished();
            assert_eq!(growth.now(), Written::Finished);
        });
    }
}
