//! Running a procedure's programs: always as an argv (never through a shell), standard input
//! closed, standard output streamed to a sink, standard error kept (bounded) for the message,
//! and the exit status checked. A program that exits non-zero, is killed by a signal, or
//! whose output cannot be written is a failed step.

use std::io::{self, Read, Write};
use std::process::{Child, ChildStdout, Command, Stdio};

/// Standard error kept for a message: the last this many bytes.
const STDERR_KEPT: usize = 4096;
const CHUNK: usize = 64 * 1024;
/// The pipe from a program's standard output is made this large when the system allows it
/// (Linux's default limit for an unprivileged user is 1 MiB), and read in reads of this size.
const PIPE: usize = 1024 * 1024;
/// How long reading waits after a read that found the pipe less than half full (the program
/// writes slower than it is read), so that the next read takes many of its writes at once.
/// `pg_dump` writes 4 KiB at a time: read as they come, each write wakes this thread, and
/// the switches cost about 0.2 CPU s (client side) per 256 MiB of dump (docs/backup.md,
/// "Speed"); a writer at 1 GB/s fills less than the pipe meanwhile, so it never waits for it.
const BATCH: std::time::Duration = std::time::Duration::from_millis(1);

/// Why a program failed, ready for an error message (stderr scrubbed and bounded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub what: String,
    pub stderr: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.what)?;
        if !self.stderr.is_empty() {
            write!(f, "; its stderr: {}", self.stderr)?;
        }
        Ok(())
    }
}

/// `exec` followed by `command`, `{container}` replaced in `exec` only.
pub fn argv(exec: &[String], container: &str, command: &[String]) -> Vec<String> {
    exec.iter()
        .map(|a| a.replace(crate::policy::CONTAINER_PLACEHOLDER, container))
        .chain(command.iter().cloned())
        .collect()
}

/// Where a program's standard output goes, one read of its pipe at a time.
pub trait Take {
    /// Read once from `from` (about `most` bytes at most): the bytes read (0 at its end) and
    /// how many the read was offered.
    fn take(&mut self, from: &mut ChildStdout, most: usize) -> io::Result<(usize, usize)>;
    /// After the last read.
    fn flush(&mut self) -> io::Result<()>;
}

/// A `Write` sink, given what is read through a buffer.
struct Copying<'a> {
    sink: &'a mut dyn Write,
    buf: Vec<u8>,
}

impl Take for Copying<'_> {
    fn take(&mut self, from: &mut ChildStdout, most: usize) -> io::Result<(usize, usize)> {
        if self.buf.len() < most {
            self.buf.resize(most, 0);
        }
        let n = from.read(&mut self.buf)?;
        self.sink.write_all(&self.buf[..n])?;
        Ok((n, self.buf.len()))
    }
    fn flush(&mut self) -> io::Result<()> {
        self.sink.flush()
    }
}

/// Run `argv`, streaming its standard output into `sink`. Returns the bytes streamed.
pub fn stream(argv: &[String], sink: &mut dyn Write) -> Result<u64, Failure> {
    stream_into(
        argv,
        &mut Copying {
            sink,
            buf: Vec::new(),
        },
    )
}

/// [`stream`] into a sink that reads the pipe into buffers of its own, so that the output is
/// not copied once more on its way in.
pub fn stream_into(argv: &[String], sink: &mut dyn Take) -> Result<u64, Failure> {
    let (program, args) = argv.split_first().ok_or_else(|| Failure {
        what: "the procedure's command is empty".into(),
        stderr: String::new(),
    })?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Failure {
            what: format!("cannot start `{}`: {e}", shown(program)),
            stderr: String::new(),
        })?;
    let stderr = child.stderr.take();
    let collector = std::thread::spawn(move || keep_tail(stderr));
    let mut stdout = child.stdout.take();
    // Without the large pipe, a writer faster than 64 KiB a millisecond would wait for us.
    let batched = stdout.as_ref().is_some_and(|out| {
        rustix::pipe::fcntl_setpipe_size(out, PIPE).is_ok_and(|size| size >= PIPE)
    });
    let copied = match stdout.as_mut() {
        Some(out) => copy(out, sink, batched),
        None => Err(io::Error::other("no standard output")),
    };
    drop(stdout);
    if copied.is_err() {
        // Our side failed (disk full, compression error): stop the producer.
        let _ = child.kill();
    }
    let status = wait(&mut child);
    let stderr = collector.join().unwrap_or_default();
    let name = shown(program);
    match (copied, status) {
        (Err(e), _) => Err(Failure {
            what: format!("writing the output of `{name}` failed: {e}"),
            stderr,
        }),
        (Ok(_), Err(e)) => Err(Failure {
            what: format!("cannot wait for `{name}`: {e}"),
            stderr,
        }),
        (Ok(n), Ok(status)) if status.success() => Ok(n),
        (Ok(_), Ok(status)) => Err(Failure {
            what: format!("`{name}` {}", describe(status)),
            stderr,
        }),
    }
}

/// Run `argv` and return its standard output (at most `limit` bytes; more is a failure).
pub fn output(argv: &[String], limit: usize) -> Result<Vec<u8>, Failure> {
    let mut buf = Bounded {
        buf: Vec::new(),
        limit,
    };
    stream(argv, &mut buf)?;
    Ok(buf.buf)
}

struct Bounded {
    buf: Vec<u8>,
    limit: usize,
}

impl Write for Bounded {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len().saturating_add(data.len()) > self.limit {
            return Err(io::Error::other(format!(
                "more output than the {} bytes expected",
                self.limit
            )));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Copy `from` to `to` until its end. `batched`: `from` is a pipe of [`PIPE`] bytes, and
/// reading waits [`BATCH`] after each read that emptied it while it was less than half full.
fn copy(from: &mut ChildStdout, to: &mut dyn Take, batched: bool) -> io::Result<u64> {
    let most = if batched { PIPE } else { CHUNK };
    let mut total = 0u64;
    loop {
        let (n, offered) = match to.take(from, most) {
            Ok((0, _)) => break,
            Ok(read) => read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        total = total.saturating_add(n as u64);
        if batched && n < offered && n < PIPE / 2 {
            std::thread::sleep(BATCH);
        }
    }
    to.flush()?;
    Ok(total)
}

fn wait(child: &mut Child) -> io::Result<std::process::ExitStatus> {
    child.wait()
}

fn describe(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(sig)) => format!("was killed by signal {sig}"),
        _ => "ended abnormally".into(),
    }
}

/// The last `STDERR_KEPT` bytes of standard error, scrubbed.
fn keep_tail(stderr: Option<std::process::ChildStderr>) -> String {
    let Some(mut stderr) = stderr else {
        return String::new();
    };
    let mut tail: Vec<u8> = Vec::new();
    let mut buf = [0u8; 4096];
    let mut cut = false;
    loop {
        match stderr.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                tail.extend_from_slice(&buf[..n]);
                if tail.len() > STDERR_KEPT {
                    let drop = tail.len() - STDERR_KEPT;
                    tail.drain(..drop);
                    cut = true;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    let text = scrub(&String::from_utf8_lossy(&tail));
    if cut { format!("…{text}") } else { text }
}

/// Make program output safe for a log line: control characters become spaces, and words that
/// look like credentials (`password=...`, `PGPASSWORD=...`, `token ...`, URLs with a user and
/// password) are masked. Never a backup's content: only stderr goes through here.
pub fn scrub(text: &str) -> String {
    let mut out = Vec::new();
    let mut mask_next = false;
    for word in text.split_whitespace() {
        if mask_next {
            out.push("***".to_string());
            mask_next = false;
            continue;
        }
        let lower = word.to_ascii_lowercase();
        let secretish = ["password", "passwd", "secret", "token", "auth", "key"]
            .iter()
            .any(|s| lower.contains(s));
        if secretish && let Some((k, _)) = word.split_once(['=', ':']) {
            out.push(format!("{k}=***"));
        } else if secretish {
            out.push(word.to_string());
            mask_next = true;
        } else if let Some(at) = word.find('@')
            && let Some(scheme) = word.find("://")
            && scheme < at
        {
            out.push(format!("{}://***{}", &word[..scheme], &word[at..]));
        } else {
            out.push(
                word.chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .collect(),
            );
        }
    }
    out.join(" ")
}

fn shown(program: &str) -> String {
    crate::model::truncate(program)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(list: &[&str]) -> Vec<String> {
        list.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn a_non_zero_exit_is_a_failure_with_its_stderr() {
        let mut sink = Vec::new();
        let err = stream(
            &s(&["sh", "-c", "echo half; echo broken >&2; exit 3"]),
            &mut sink,
        )
        .unwrap_err();
        assert!(err.what.contains("exited with status 3"), "{err}");
        assert_eq!(err.stderr, "broken");
        assert_eq!(sink, b"half\n");
    }

    #[test]
    fn output_is_streamed_and_counted() {
        let mut sink = Vec::new();
        let n = stream(&s(&["printf", "abc"]), &mut sink).unwrap();
        assert_eq!((n, sink.as_slice()), (3, &b"abc"[..]));
        assert!(stream(&s(&["/nonexistent/prog"]), &mut sink).is_err());
        assert!(output(&s(&["printf", "abcdef"]), 3).is_err());
    }

    /// The dump's way in: the pipe read straight into the compressor's blocks, in reads of
    /// every size (a block's end cuts them), gives the bytes the program wrote, in order.
    #[test]
    fn a_program_s_output_read_into_gzip_blocks_is_its_output() {
        let program = s(&["seq", "1", "700000"]);
        let expected = std::process::Command::new("seq")
            .args(["1", "700000"])
            .output()
            .unwrap()
            .stdout;
        assert!(expected.len() > 4 * 1024 * 1024, "{}", expected.len());
        let mut gz = super::super::gzip::ParallelGzip::with_workers(Vec::new(), 1, 2);
        let n = stream_into(&program, &mut gz).unwrap();
        let (out, _) = gz.finish().unwrap();
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&out[..]), &mut text)
            .unwrap();
        assert_eq!(n, expected.len() as u64);
        assert!(text == expected, "the output read back differs");
        let failing = stream_into(&s(&["sh", "-c", "seq 1 1000; exit 4"]), &mut gz_sink());
        assert!(failing.unwrap_err().what.contains("status 4"));
    }

    fn gz_sink() -> super::super::gzip::ParallelGzip<Vec<u8>> {
        super::super::gzip::ParallelGzip::with_workers(Vec::new(), 1, 1)
    }

    #[test]
    fn the_container_goes_into_exec_only() {
        let exec = s(&["docker", "exec", "-i", "{container}"]);
        assert_eq!(
            argv(
                &exec,
                "home-platform-postgres-1",
                &s(&["pg_dumpall", "{container}"])
            ),
            s(&[
                "docker",
                "exec",
                "-i",
                "home-platform-postgres-1",
                "pg_dumpall",
                "{container}"
            ])
        );
    }

    #[test]
    fn credentials_in_stderr_are_masked() {
        let t = scrub(
            "FATAL: password authentication failed PGPASSWORD=hunter2 url postgres://u:pw@h/db token abc\u{1b}[31m",
        );
        assert!(
            !t.contains("hunter2") && !t.contains("u:pw") && !t.contains("abc"),
            "{t}"
        );
        assert!(!t.contains('\u{1b}'), "{t}");
    }
}
