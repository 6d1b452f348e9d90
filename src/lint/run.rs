//! The lint run over many files: each file is linted and rendered on a worker thread, and the
//! results are handed to the caller in the input order as soon as every earlier file is done.
//!
//! Memory does not grow with the number of files: a worker may start file `i` only while
//! `i` is less than `window` files ahead of the next file to hand out, and a file's text is
//! dropped once it is rendered. So at most `window` files (text, findings, rendered output)
//! are held at any time, whatever the number of files; the output streams as files finish.
//!
//! The seam: [`lint_file`] lints one file (one path in, that file's findings out); the
//! caller's per-file step (`finish`, on the same worker) may change the findings (the
//! suppressions filter does) and renders them; the ordering below never looks at findings.

use super::config::LintPolicy;
use super::{FileResult, lint_path_hashed};
use crate::report::{GateError, general};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

/// Lint one file of the repository at `repo`: the per-file step of the run. The file's
/// digest is computed only when `digest` is set.
pub fn lint_file(
    path: &Path,
    policy: &LintPolicy,
    repo: Option<&Path>,
    digest: bool,
) -> Result<FileResult, GateError> {
    lint_path_hashed(path, policy, repo, digest)
}

/// How many files may be in flight (linted or waiting for an earlier file) per thread. Small:
/// it bounds memory; large enough that one slow file does not idle the other threads.
const WINDOW_PER_THREAD: usize = 8;

/// What the workers and the caller share.
struct Shared<R> {
    /// The next file index a worker may claim.
    next_claim: usize,
    /// The next file index the caller hands out; claims stay below `next_out + window`.
    next_out: usize,
    /// Finished files waiting for an earlier one.
    done: BTreeMap<usize, Result<(FileResult, R), GateError>>,
    /// Set when the caller stops (an error): workers claim nothing more.
    stop: bool,
}

/// Lint `paths` on up to `threads` threads. `finish` runs on the worker that linted the file,
/// while its text is still there (it may filter the findings, and renders them); then the
/// text is dropped and `emit` receives the file (findings and digest) and what `finish`
/// made, in the input order, on the calling thread. Each file's digest is computed only when
/// `digests` is set (the caller writes them out).
/// The first file (in input order) that cannot be read, or the first error `emit` returns,
/// stops the run with that error; files after it are not handed out.
pub fn lint_each<R, F, E>(
    paths: &[PathBuf],
    policy: &LintPolicy,
    repo: Option<&Path>,
    digests: bool,
    threads: usize,
    finish: F,
    mut emit: E,
) -> Result<(), GateError>
where
    R: Send,
    F: Fn(&mut FileResult) -> R + Sync,
    E: FnMut(FileResult, R) -> Result<(), GateError>,
{
    let one = |path: &PathBuf| {
        lint_file(path, policy, repo, digests).map(|mut file| {
            let rendered = finish(&mut file);
            file.text = None;
            (file, rendered)
        })
    };
    let threads = threads.clamp(1, 8).min(paths.len().max(1));
    if threads == 1 {
        for path in paths {
            let (file, rendered) = one(path)?;
            emit(file, rendered)?;
        }
        return Ok(());
    }
    let window = threads * WINDOW_PER_THREAD;
    let shared = Mutex::new(Shared {
        next_claim: 0,
        next_out: 0,
        done: BTreeMap::new(),
        stop: false,
    });
    let changed = Condvar::new();
    let lock = || shared.lock().unwrap_or_else(|p| p.into_inner());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let index = {
                        let mut st = lock();
                        while !st.stop
                            && st.next_claim < paths.len()
                            && st.next_claim >= st.next_out + window
                        {
                            st = changed.wait(st).unwrap_or_else(|p| p.into_inner());
                        }
                        if st.stop || st.next_claim >= paths.len() {
                            return;
                        }
                        st.next_claim += 1;
                        st.next_claim - 1
                    };
                    // A panic in a rule must not hang the caller waiting for this file.
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        one(&paths[index])
                    }))
                    .unwrap_or_else(|_| {
                        Err(GateError::new(
                            &general::IO,
                            format!(
                                "the linter stopped unexpectedly on {}",
                                paths[index].display()
                            ),
                        ))
                    });
                    lock().done.insert(index, result);
                    changed.notify_all();
                }
            });
        }
        let outcome = (|| {
            for index in 0..paths.len() {
                let result = {
                    let mut st = lock();
                    loop {
                        if let Some(r) = st.done.remove(&index) {
                            st.next_out = index + 1;
                            break r;
                        }
                        st = changed.wait(st).unwrap_or_else(|p| p.into_inner());
                    }
                };
                changed.notify_all();
                let (file, rendered) = result?;
                emit(file, rendered)?;
            }
            Ok(())
        })();
        lock().stop = true;
        changed.notify_all();
        outcome
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus(n: usize) -> (tempfile::TempDir, Vec<PathBuf>) {
        let dir = tempfile::tempdir().unwrap();
        let paths = (0..n)
            .map(|i| {
                let p = dir.path().join(format!("w{i:04}.yml"));
                // Every third file has a finding, with its index in the message.
                let body = if i % 3 == 0 {
                    format!("on: push\njobs:\n  j{i}:\n    runs-on: x\n    steps:\n      - run: echo ${{{{ steps.s{i}.outputs.o }}}}\n")
                } else {
                    "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: make\n"
                        .to_string()
                };
                std::fs::write(&p, body).unwrap();
                p
            })
            .collect();
        (dir, paths)
    }

    fn collect(paths: &[PathBuf], threads: usize) -> Result<Vec<(String, usize, bool)>, GateError> {
        let policy = LintPolicy::default();
        let mut out = Vec::new();
        lint_each(
            paths,
            &policy,
            None,
            true,
            threads,
            |f: &mut FileResult| f.text.is_some(),
            |f, had_text| {
                assert!(f.text.is_none(), "the text is dropped after rendering");
                out.push((f.path, f.findings.len(), had_text));
                Ok(())
            },
        )?;
        Ok(out)
    }

    #[test]
    fn files_come_out_in_input_order_with_their_own_findings_on_any_thread_count() {
        let (_dir, paths) = corpus(200);
        let one = collect(&paths, 1).unwrap();
        assert_eq!(one.len(), 200);
        for (i, (path, n, had_text)) in one.iter().enumerate() {
            assert_eq!(path, &paths[i].display().to_string());
            assert_eq!(*n, usize::from(i % 3 == 0), "{path}");
            assert!(had_text, "render sees the text");
        }
        for threads in [2, 3, 8] {
            assert_eq!(collect(&paths, threads).unwrap(), one, "{threads} threads");
        }
    }

    #[test]
    fn files_are_hashed_only_when_the_run_keeps_digests() {
        let (_dir, paths) = corpus(20);
        for digests in [true, false] {
            let mut hashed = Vec::new();
            lint_each(
                &paths,
                &LintPolicy::default(),
                None,
                digests,
                2,
                |_: &mut FileResult| (),
                |f, ()| {
                    hashed.push(f.digest.map(|d| (d.sha256.len(), d.bytes)));
                    Ok(())
                },
            )
            .unwrap();
            assert_eq!(hashed.len(), 20);
            for (h, path) in hashed.iter().zip(&paths) {
                let size = std::fs::metadata(path).unwrap().len();
                assert_eq!(*h, digests.then_some((64, size)), "{}", path.display());
            }
        }
    }

    #[test]
    fn the_first_unreadable_file_in_input_order_stops_the_run() {
        let (dir, mut paths) = corpus(100);
        paths[40] = dir.path().join("missing-40.yml");
        paths[70] = dir.path().join("missing-70.yml");
        for threads in [1, 4] {
            let mut seen = 0;
            let err = lint_each(
                &paths,
                &LintPolicy::default(),
                None,
                false,
                threads,
                |_: &mut FileResult| (),
                |_, ()| {
                    seen += 1;
                    Ok(())
                },
            )
            .unwrap_err();
            assert!(err.message.contains("missing-40.yml"), "{}", err.message);
            assert_eq!(seen, 40, "the files before it were handed out, none after");
        }
    }

    #[test]
    fn an_error_from_emit_stops_the_workers() {
        let (_dir, paths) = corpus(300);
        let mut seen = 0;
        let err = lint_each(
            &paths,
            &LintPolicy::default(),
            None,
            false,
            4,
            |_: &mut FileResult| (),
            |_, ()| {
                seen += 1;
                if seen == 10 {
                    return Err(GateError::new(&general::IO, "output closed"));
                }
                Ok(())
            },
        )
        .unwrap_err();
        assert_eq!(err.message, "output closed");
        assert_eq!(seen, 10);
    }
}
