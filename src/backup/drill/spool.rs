//! Where the one pass over a `.sql.gz` writes the SQL text while the scratch cluster is not
//! ready yet: `initdb` takes about a second of one core, and the inflate and deep check need
//! nothing from it. The text is held in a file without a name (created in the scratch
//! directory with `O_TMPFILE`: no other process can open it, and it is gone when this process
//! closes it, whatever happens), up to a limit. As soon as the destination can be opened (the
//! cluster accepts connections and `psql` started), everything held is copied into it, in
//! order, and the rest of the text goes straight through. The destination receives exactly
//! the bytes written, in the order written: holding only changes when.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// How [`Spool`] asks for its destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Only if it is ready now: `Ok(None)` when it is not.
    No,
    /// Wait until it is (`Ok(None)` is then an error).
    Yes,
}

/// A writer that holds what is written until its destination can be opened.
pub struct Spool<'d, W: Write> {
    open: &'d mut dyn FnMut(Wait) -> io::Result<Option<W>>,
    dir: &'d Path,
    /// The file holding the text, created at the first write that is held.
    held: Option<File>,
    held_bytes: u64,
    limit: u64,
    dest: Option<W>,
}

impl<'d, W: Write> Spool<'d, W> {
    /// Hold at most `limit` bytes in a file in `dir`; `open` opens the destination.
    pub fn new(
        dir: &'d Path,
        limit: u64,
        open: &'d mut dyn FnMut(Wait) -> io::Result<Option<W>>,
    ) -> Spool<'d, W> {
        Spool {
            open,
            dir,
            held: None,
            held_bytes: 0,
            limit,
            dest: None,
        }
    }

    /// How many bytes were held before the destination was opened (so far).
    pub fn held_bytes(&self) -> u64 {
        self.held_bytes
    }

    /// Whether the destination has been opened.
    pub fn is_open(&self) -> bool {
        self.dest.is_some()
    }

    /// The destination with everything written so far in it: opened (waiting for it) if it
    /// was not yet.
    pub fn finish(mut self) -> io::Result<W> {
        self.open_destination(Wait::Yes)?;
        let mut dest = self
            .dest
            .take()
            .ok_or_else(|| io::Error::other("the destination did not open"))?;
        dest.flush()?;
        Ok(dest)
    }

    /// The file holding everything written, at its start, when the destination was never
    /// opened (`None` when nothing was held); the spool takes nothing more.
    pub fn take_held(&mut self) -> io::Result<Option<File>> {
        if self.dest.is_some() {
            return Ok(None);
        }
        let Some(mut file) = self.held.take() else {
            return Ok(None);
        };
        // A write that failed part-way may have left bytes past what counts as held.
        file.set_len(self.held_bytes)?;
        file.seek(SeekFrom::Start(0))?;
        self.limit = 0;
        Ok(Some(file))
    }

    /// Hold `data` in the file; `false` when it does not fit or the file cannot take it (the
    /// caller then opens the destination: holding is only ever a head start).
    fn hold(&mut self, data: &[u8]) -> bool {
        let Some(total) = self
            .held_bytes
            .checked_add(data.len() as u64)
            .filter(|n| *n <= self.limit)
        else {
            return false;
        };
        if self.held.is_none() {
            match tempfile::tempfile_in(self.dir) {
                Ok(f) => self.held = Some(f),
                Err(_) => return false,
            }
        }
        let Some(file) = self.held.as_mut() else {
            return false;
        };
        // A failed write may leave part of `data` in the file: only the first `held_bytes`
        // are ever copied on.
        if file.write_all(data).is_err() {
            return false;
        }
        self.held_bytes = total;
        true
    }

    fn open_destination(&mut self, wait: Wait) -> io::Result<bool> {
        if self.dest.is_some() {
            return Ok(true);
        }
        let Some(mut dest) = (self.open)(wait)? else {
            return match wait {
                Wait::No => Ok(false),
                Wait::Yes => Err(io::Error::other("the destination did not open")),
            };
        };
        if let Some(mut file) = self.held.take() {
            file.seek(SeekFrom::Start(0))?;
            let copied = copy_in_chunks(&mut file.take(self.held_bytes), &mut dest)?;
            if copied != self.held_bytes {
                return Err(io::Error::other(format!(
                    "the held text came back short ({copied} of {} bytes)",
                    self.held_bytes
                )));
            }
        }
        self.dest = Some(dest);
        Ok(true)
    }
}

/// Copy with a buffer of [`COPY_CHUNK`] (`io::copy` goes 8 KiB at a time into a pipe: a
/// system call pair for every 8 KiB of the held text).
fn copy_in_chunks(from: &mut dyn Read, to: &mut dyn Write) -> io::Result<u64> {
    let mut buf = vec![0u8; COPY_CHUNK];
    let mut copied = 0u64;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(copied),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        to.write_all(&buf[..n])?;
        copied += n as u64;
    }
}

/// The buffer of the copy from the held file to the destination.
const COPY_CHUNK: usize = 256 * 1024;

impl<W: Write> Write for Spool<'_, W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.dest.is_none() {
            if !self.open_destination(Wait::No)? && self.hold(data) {
                return Ok(data.len());
            }
            self.open_destination(Wait::Yes)?;
        }
        match self.dest.as_mut() {
            Some(dest) => dest.write(data),
            None => Err(io::Error::other("the destination did not open")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.dest.as_mut() {
            Some(dest) => dest.flush(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// Write `chunks`, the destination becoming ready before chunk `ready_at` (never when
    /// `None`); what the destination got, how much was held, and when it opened.
    fn run(chunks: &[&[u8]], ready_at: Option<usize>, limit: u64) -> (Vec<u8>, u64, usize) {
        let dir = tempfile::tempdir().unwrap();
        let written = Cell::new(0usize);
        let opened_at = Cell::new(usize::MAX);
        let mut open = |wait: Wait| -> io::Result<Option<Vec<u8>>> {
            let ready = ready_at.is_some_and(|at| written.get() >= at);
            if ready || wait == Wait::Yes {
                opened_at.set(written.get());
                Ok(Some(Vec::new()))
            } else {
                Ok(None)
            }
        };
        let mut spool = Spool::new(dir.path(), limit, &mut open);
        for chunk in chunks {
            spool.write_all(chunk).unwrap();
            written.set(written.get() + 1);
        }
        let held = spool.held_bytes();
        let got = spool.finish().unwrap();
        (got, held, opened_at.get())
    }

    #[test]
    fn the_destination_gets_every_byte_in_order_wherever_it_opens() {
        let chunks: [&[u8]; 4] = [
            b"CREATE TABLE t (x int);\n",
            b"COPY t FROM stdin;\n1\n",
            b"2\n\\.\n",
            b"-- end\n",
        ];
        let whole: Vec<u8> = chunks.concat();
        for ready_at in [Some(0), Some(1), Some(2), Some(3), None] {
            let (got, held, opened) = run(&chunks, ready_at, 1 << 20);
            assert_eq!(got, whole, "ready at {ready_at:?}");
            let expected_held: usize = chunks[..ready_at.unwrap_or(4)]
                .iter()
                .map(|c| c.len())
                .sum();
            assert_eq!(held, expected_held as u64, "ready at {ready_at:?}");
            assert_eq!(opened, ready_at.unwrap_or(4), "ready at {ready_at:?}");
        }
    }

    #[test]
    fn past_the_limit_it_waits_for_the_destination_instead_of_holding_more() {
        let chunks: [&[u8]; 3] = [b"aaaa", b"bbbb", b"cccc"];
        let (got, held, opened) = run(&chunks, None, 6);
        assert_eq!(got, b"aaaabbbbcccc");
        assert_eq!(held, 4, "the second chunk would pass the limit");
        assert_eq!(opened, 1, "opened (waiting) at the chunk that did not fit");
    }

    #[test]
    fn a_text_held_whole_is_handed_over_as_the_file_holding_exactly_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut open = |_: Wait| -> io::Result<Option<Vec<u8>>> { Ok(None) };
        let mut spool = Spool::new(dir.path(), 1 << 20, &mut open);
        spool.write_all(b"SELECT 1;\n").unwrap();
        spool.write_all(b"SELECT 2;\n").unwrap();
        let mut file = spool.take_held().unwrap().expect("held");
        let mut text = String::new();
        file.read_to_string(&mut text).unwrap();
        assert_eq!(text, "SELECT 1;\nSELECT 2;\n");
        // Nothing is held without a write.
        let mut open = |_: Wait| -> io::Result<Option<Vec<u8>>> { Ok(None) };
        let mut empty = Spool::new(dir.path(), 1 << 20, &mut open);
        assert!(empty.take_held().unwrap().is_none());
    }

    #[test]
    fn a_destination_that_fails_to_open_is_an_error_not_a_loss() {
        let dir = tempfile::tempdir().unwrap();
        let mut open =
            |_: Wait| -> io::Result<Option<Vec<u8>>> { Err(io::Error::other("no server")) };
        let mut spool = Spool::new(dir.path(), 1 << 20, &mut open);
        let err = spool.write_all(b"x").unwrap_err();
        assert_eq!(err.to_string(), "no server");
    }

    #[test]
    fn nothing_is_held_where_no_file_can_be_made() {
        // A scratch directory that is gone: the text goes straight to the destination.
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone");
        let mut open =
            |wait: Wait| -> io::Result<Option<Vec<u8>>> { Ok((wait == Wait::Yes).then(Vec::new)) };
        let mut spool = Spool::new(&gone, 1 << 20, &mut open);
        spool.write_all(b"abc").unwrap();
        assert!(spool.is_open());
        assert_eq!(spool.held_bytes(), 0);
        assert_eq!(spool.finish().unwrap(), b"abc");
    }
}
