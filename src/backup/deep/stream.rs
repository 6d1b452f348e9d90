//! Deep verification that hands on what it decompresses: for a reader that needs the
//! decompressed stream anyway (the restore drill feeds it to `psql`), so that the file is
//! decompressed once, not once to check it and once more to restore it. The check is the very
//! one [`super::inspect`] runs (the same gzip reader and the same SQL reader), on the same
//! bytes, in the same order: every byte the checker reads is written to the sink before the
//! checker sees the next one.
//!
//! The caller must treat a refusal as final even when the sink took every byte and liked
//! them: what reached the sink before the refusal came from a file that is not a complete
//! backup.

use super::{GZIP_MAGIC, Refusal, gzip, sql};
use std::io::{self, BufRead, Read, Write};

/// What one pass found: the checker's verdict (the same detail as [`super::inspect`]'s) and
/// the first error of the sink, after which the sink was given nothing more (the check went
/// on to the end of the stream regardless).
pub struct Fed {
    pub verdict: Result<String, Refusal>,
    pub sink_error: Option<io::Error>,
}

/// Check `raw` (a `.sql.gz` file from its first byte) deep, as [`super::inspect`] does, and
/// write every decompressed byte to `sink` as it is checked.
pub fn sql_gz_into(raw: &mut dyn BufRead, sink: &mut dyn Write, chunk: usize) -> Fed {
    let head = match raw.fill_buf() {
        Ok(head) => head,
        Err(e) => {
            return Fed {
                verdict: Err(Refusal::format(format!("cannot read the file: {e}"))),
                sink_error: None,
            };
        }
    };
    if !head.starts_with(GZIP_MAGIC) {
        return Fed {
            verdict: Err(Refusal::format(
                "the file does not start with the gzip magic bytes",
            )),
            sink_error: None,
        };
    }
    let mut tee = Tee {
        inner: gzip::members(raw),
        sink,
        error: None,
    };
    let verdict = sql::check(&mut tee, true, chunk).map(|d| format!("{d} (deep)"));
    Fed {
        verdict,
        sink_error: tee.error,
    }
}

/// A reader that writes what it hands out to `sink` first; once the sink fails, it keeps
/// reading for the checker and writes nothing more.
struct Tee<'s, R: Read> {
    inner: R,
    sink: &'s mut dyn Write,
    error: Option<io::Error>,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0
            && self.error.is_none()
            && let Err(e) = self.sink.write_all(&buf[..n])
        {
            self.error = Some(e);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::backup_format::Format;
    use crate::policy::Verify;

    fn gzip_of(bytes: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    }

    fn dump(rows: usize, complete: bool) -> Vec<u8> {
        let mut sql = b"--\n-- PostgreSQL database cluster dump\n--\n\nSET x = 1;\n".to_vec();
        sql.extend(std::iter::repeat_n(b"INSERT INTO t VALUES (1);\n".as_slice(), rows).flatten());
        if complete {
            sql.extend_from_slice(b"\n--\n-- PostgreSQL database cluster dump complete\n--\n\n");
        }
        sql
    }

    /// The verdict of one pass, what the sink got, and the verdict of `inspect` on the same
    /// bytes.
    fn both(file: &[u8]) -> (Result<String, Refusal>, Vec<u8>, Result<String, Refusal>) {
        let mut sink = Vec::new();
        let fed = sql_gz_into(&mut io::BufReader::new(file), &mut sink, 4096);
        assert!(fed.sink_error.is_none());
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        tmp.write_all(file).unwrap();
        let opened = std::fs::File::open(tmp.path()).unwrap();
        let inspected = super::super::inspect(&opened, Format::SqlGz, Verify::Deep);
        (fed.verdict, sink, inspected.map(|i| i.detail))
    }

    #[test]
    fn a_complete_dump_passes_as_inspect_says_and_the_sink_gets_all_of_it() {
        let sql = dump(50_000, true);
        let (verdict, sink, inspected) = both(&gzip_of(&sql));
        assert_eq!(verdict, inspected);
        assert!(verdict.is_ok(), "{verdict:?}");
        assert_eq!(sink, sql);
    }

    #[test]
    fn what_inspect_refuses_is_refused_with_the_same_code() {
        let complete = gzip_of(&dump(50_000, true));
        let mut trailing = complete.clone();
        trailing.extend_from_slice(b"not a gzip member");
        let mut crc = complete.clone();
        let at = crc.len() - 8;
        crc[at] ^= 1;
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("no completion line", gzip_of(&dump(50_000, false))),
            (
                "cut inside a member",
                complete[..complete.len() - 9].to_vec(),
            ),
            ("bytes after the last member", trailing),
            ("a wrong CRC-32", crc),
            ("not gzip", dump(10, true)),
            ("gzip of something else", gzip_of(b"\0\0binary")),
        ];
        for (what, file) in cases {
            let (verdict, _, inspected) = both(&file);
            let (Err(refused), Err(expected)) = (&verdict, &inspected) else {
                panic!("{what}: one pass says {verdict:?}, inspect says {inspected:?}");
            };
            assert_eq!(refused.code.id, expected.code.id, "{what}");
        }
    }

    /// A sink that fails after `left` bytes, as a `psql` that stopped reading does.
    struct Stops {
        left: usize,
        got: usize,
    }

    impl Write for Stops {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            if self.got + data.len() > self.left {
                return Err(io::Error::from(io::ErrorKind::BrokenPipe));
            }
            self.got += data.len();
            Ok(data.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failing_sink_is_reported_and_the_check_still_reads_to_the_end() {
        let damaged = {
            let mut f = gzip_of(&dump(50_000, true));
            let at = f.len() - 8;
            f[at] ^= 1;
            f
        };
        let mut sink = Stops {
            left: 10_000,
            got: 0,
        };
        let fed = sql_gz_into(&mut io::BufReader::new(&damaged[..]), &mut sink, 4096);
        assert!(fed.sink_error.is_some());
        // The damage is at the very end: found although the sink had stopped long before.
        assert!(fed.verdict.is_err());
        assert!(sink.got <= 10_000);
    }
}
