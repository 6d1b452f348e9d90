//! The scratch place a drill restores into, and how its commands run: a private temporary
//! directory that is removed afterwards, commands run through the policy's `exec` prefix (or
//! straight from PATH), as an unprivileged user when the drill itself runs as root (PostgreSQL
//! refuses to run as root), and servers that are stopped when their guard is dropped, also
//! when the drill fails half-way.

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The user commands run as when the drill runs as root.
pub const UNPRIVILEGED_USER: &str = "nobody";
/// How much of a failing command's stderr is kept for the message.
const STDERR_TAIL: usize = 2000;

/// The local user database. Read directly rather than through the C library's `getpwnam`,
/// which needs no unsafe code and, in a statically linked binary, no NSS modules loaded at
/// run time; `nobody` is a local account on every distribution that has it.
const PASSWD: &str = "/etc/passwd";
/// A user database larger than this is refused.
const MAX_PASSWD_BYTES: u64 = 16 * 1024 * 1024;

/// The uid and gid of `user` in `passwd` (the format of passwd(5): `name:password:uid:gid:
/// gecos:home:shell`), from its first entry as the C library's `files` source takes it; `None`
/// when no entry has that name. NIS compat lines (`+`/`-`) and comments are no local
/// entries; an entry for `user` that is not seven fields with numeric ids is refused, never
/// guessed at.
fn passwd_ids(passwd: &str, user: &str) -> Result<Option<(u32, u32)>, String> {
    for (n, line) in passwd.lines().enumerate() {
        if line.starts_with(['#', '+', '-']) {
            continue;
        }
        let fields: Vec<&str> = line.split(':').collect();
        if fields.first() != Some(&user) {
            continue;
        }
        let id = |s: &str| s.parse::<u32>().ok();
        return match fields[..] {
            [_, _, uid, gid, _, _, _] if id(uid).is_some() && id(gid).is_some() => {
                Ok(id(uid).zip(id(gid)))
            }
            _ => Err(format!(
                "{PASSWD} line {}: the `{user}` entry is not `name:password:uid:gid:gecos:home:shell` with numeric ids",
                n + 1
            )),
        };
    }
    Ok(None)
}

/// Who the scratch commands run as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunAs {
    pub uid: u32,
    pub gid: u32,
    /// True when the drill dropped from root to this user.
    pub dropped: bool,
}

impl RunAs {
    /// This process's own user, or `nobody` when that is root.
    pub fn pick() -> Result<RunAs, String> {
        let uid = rustix::process::geteuid().as_raw();
        let gid = rustix::process::getegid().as_raw();
        if uid != 0 {
            return Ok(RunAs {
                uid,
                gid,
                dropped: false,
            });
        }
        let passwd =
            crate::input::read_limited(Path::new(PASSWD), MAX_PASSWD_BYTES, "user database")
                .map_err(|e| e.message)?;
        let Some((uid, gid)) = passwd_ids(&String::from_utf8_lossy(&passwd), UNPRIVILEGED_USER)?
        else {
            return Err(format!(
                "running as root and there is no `{UNPRIVILEGED_USER}` user in {PASSWD} to run the scratch servers as (PostgreSQL refuses root); add it, or run the drill as an unprivileged user"
            ));
        };
        if uid == 0 {
            return Err(format!("the `{UNPRIVILEGED_USER}` user has uid 0"));
        }
        Ok(RunAs {
            uid,
            gid,
            dropped: true,
        })
    }
}

/// A private temporary directory, removed on drop: mode 0700, or, when the drill dropped
/// from root, 0711 and still root's (the run-as user owns only its subdirectories).
pub struct ScratchDir {
    dir: tempfile::TempDir,
}

impl ScratchDir {
    /// In the temporary directory (`TMPDIR`, else `/tmp`).
    pub fn create(run_as: RunAs) -> Result<ScratchDir, String> {
        ScratchDir::create_in(&std::env::temp_dir(), run_as)
    }

    /// In `base`, which no other user may be able to take the scratch directory out of: in a
    /// directory others may write without the sticky bit (or below one), anyone could move
    /// it away and put a link in its place, which the drill would then write through.
    pub fn create_in(base: &Path, run_as: RunAs) -> Result<ScratchDir, String> {
        let base = std::fs::canonicalize(base).map_err(|e| {
            format!(
                "the temporary directory {} cannot be used: {e}",
                base.display()
            )
        })?;
        let me = rustix::process::geteuid().as_raw();
        let mut above = Some(base.as_path());
        while let Some(p) = above {
            let meta = std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
            let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions());
            let owner = std::os::unix::fs::MetadataExt::uid(&meta);
            if let Some(who) = replaceable_by_others(mode, owner, me) {
                return Err(format!(
                    "{} {who}, so another user could replace the drill's scratch directory; set TMPDIR to a directory only root or this user can rename entries in (e.g. /tmp, mode 1777, root's)",
                    p.display()
                ));
            }
            above = p.parent();
        }
        let dir = tempfile::Builder::new()
            .prefix("forgejo-gates-drill-")
            .tempdir_in(&base)
            .map_err(|e| format!("cannot create a scratch directory: {e}"))?;
        // Dropped from root: the directory stays the drill's, and the unprivileged user may
        // only pass through it to the subdirectories it is given. Were the directory its
        // own, it could rename any entry and put a link there, which the drill (root) then
        // writes, chowns or reads through: a planted log, a swapped subdirectory, an
        // archive's restore directory.
        set_mode(dir.path(), if run_as.dropped { 0o711 } else { 0o700 })?;
        if run_as.dropped {
            // The unprivileged user must be able to reach its directory.
            let mut parent = dir.path().parent();
            while let Some(p) = parent {
                let meta = std::fs::metadata(p).map_err(|e| e.to_string())?;
                if std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o001 == 0 {
                    return Err(format!(
                        "{} is not searchable by `{UNPRIVILEGED_USER}`; set TMPDIR to a directory it can reach (e.g. /tmp)",
                        p.display()
                    ));
                }
                parent = p.parent();
            }
        }
        Ok(ScratchDir { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A subdirectory (0700, owned by the run-as user).
    pub fn subdir(&self, name: &str, run_as: RunAs) -> Result<PathBuf, String> {
        let p = self.path().join(name);
        std::fs::create_dir(&p).map_err(|e| format!("cannot create {}: {e}", p.display()))?;
        set_mode(&p, 0o700)?;
        if run_as.dropped {
            chown(&p, run_as)?;
        }
        Ok(p)
    }
}

/// Why users other than root and `me` could rename entries of a directory of `mode` owned by
/// `owner` (and so swap one for a link), or `None`: its owner always can; its group and any
/// user can where they may write it and it has no sticky bit.
fn replaceable_by_others(mode: u32, owner: u32, me: u32) -> Option<String> {
    if owner != 0 && owner != me {
        return Some(format!("is owned by another user (uid {owner})"));
    }
    if mode & 0o022 != 0 && mode & 0o1000 == 0 {
        return Some("may be written by its group or any user and has no sticky bit".into());
    }
    None
}

pub fn set_mode(path: &Path, mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("cannot chmod {}: {e}", path.display()))
}

pub fn chown(path: &Path, run_as: RunAs) -> Result<(), String> {
    std::os::unix::fs::chown(path, Some(run_as.uid), Some(run_as.gid))
        .map_err(|e| format!("cannot chown {}: {e}", path.display()))
}

/// How to start the scratch tools: the policy's argv prefix (empty: this host's PATH) and
/// the user to run them as.
#[derive(Debug, Clone)]
pub struct Runner {
    pub exec: Vec<String>,
    pub run_as: RunAs,
    pub scratch: PathBuf,
}

impl Runner {
    /// A command for `program args...`, through the prefix, with a clean environment (no PG*
    /// or REDIS* variables from the caller steer it elsewhere).
    pub fn command(&self, program: &str, args: &[OsString]) -> Command {
        let scratch = self.scratch.to_string_lossy();
        let mut argv: Vec<OsString> = self
            .exec
            .iter()
            .map(|a| OsString::from(a.replace("{scratch}", &scratch)))
            .collect();
        argv.push(program.into());
        argv.extend(args.iter().cloned());
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]);
        cmd.env_clear();
        for keep in ["PATH", "LANG", "LC_ALL", "TZ"] {
            if let Some(v) = std::env::var_os(keep) {
                cmd.env(keep, v);
            }
        }
        cmd.env("HOME", &self.scratch);
        cmd.current_dir(&self.scratch);
        if self.exec.is_empty() && self.run_as.dropped {
            // std drops the supplementary groups too when it changes uid from root.
            cmd.uid(self.run_as.uid).gid(self.run_as.gid);
        }
        cmd.stdin(Stdio::null());
        cmd
    }

    /// Run to completion; `Ok(stdout)` on exit 0, else a message with the stderr's tail.
    pub fn output(&self, program: &str, args: &[OsString]) -> Result<Vec<u8>, String> {
        let out = self
            .command(program, args)
            .output()
            .map_err(|e| self.cannot_start(program, &e))?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(format!(
                "`{program}` {}: {}",
                describe(out.status),
                tail(&out.stderr)
            ))
        }
    }

    /// Why `program` did not start: itself missing, or the policy's exec prefix.
    pub fn cannot_start(&self, program: &str, e: &std::io::Error) -> String {
        match self.exec.first() {
            Some(prefix) => format!(
                "the drill's exec prefix `{prefix}` (backup.drill.<class>.exec) cannot start `{program}`: {e}"
            ),
            None => cannot_start(program, e),
        }
    }

    /// The first line of `program --version`.
    pub fn version(&self, program: &str) -> Result<String, String> {
        let out = self.output(program, &["--version".into()])?;
        let text = String::from_utf8_lossy(&out);
        Ok(text.lines().next().unwrap_or("").trim().to_string())
    }
}

pub fn cannot_start(program: &str, e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound {
        format!("`{program}` is not on PATH (install it, or set backup.drill.<class>.exec)")
    } else {
        format!("cannot start `{program}`: {e}")
    }
}

pub fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exited {c}"),
        (None, Some(s)) => format!("was killed by signal {s}"),
        _ => "ended abnormally".into(),
    }
}

/// The last part of a command's stderr, as text on one line per line, bounded.
pub fn tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let text = text.trim();
    if text.is_empty() {
        return "(no output on stderr)".into();
    }
    let start = text
        .char_indices()
        .rev()
        .nth(STDERR_TAIL)
        .map(|(i, _)| i)
        .unwrap_or(0);
    let cut = if start > 0 { "…" } else { "" };
    format!("{cut}{}", &text[start..])
}

/// A running server, stopped (signal, then kill) and reaped when dropped.
pub struct Server {
    name: &'static str,
    child: Option<Child>,
    stop_signal: i32,
    log: PathBuf,
}

impl Server {
    /// Start `cmd` with its stdout and stderr in `log`.
    pub fn start(
        name: &'static str,
        mut cmd: Command,
        log: PathBuf,
        stop_signal: i32,
    ) -> Result<Server, String> {
        let file = std::fs::File::create(&log)
            .map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let err = file.try_clone().map_err(|e| e.to_string())?;
        cmd.stdout(file).stderr(err);
        let child = cmd.spawn().map_err(|e| cannot_start(name, &e))?;
        Ok(Server {
            name,
            child: Some(child),
            stop_signal,
            log,
        })
    }

    /// `Some(message)` when the server has already exited.
    pub fn exited(&mut self) -> Option<String> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => Some(format!(
                "`{}` {}: {}",
                self.name,
                describe(status),
                self.log_tail()
            )),
            Ok(None) => None,
            Err(e) => Some(format!("cannot watch `{}`: {e}", self.name)),
        }
    }

    /// The end of the server's log (never the data it loaded: servers log no content).
    pub fn log_tail(&self) -> String {
        let mut buf = Vec::new();
        if let Ok(f) = std::fs::File::open(&self.log) {
            let _ = f.take(1 << 20).read_to_end(&mut buf);
        }
        tail(&buf)
    }

    /// Wait until `ready` says yes, the server exits, or `timeout` passes.
    pub fn wait_ready(
        &mut self,
        timeout: Duration,
        ready: impl FnMut() -> bool,
    ) -> Result<(), String> {
        self.wait_ready_every(timeout, Duration::from_millis(50), ready)
    }

    /// [`Server::wait_ready`], asking `ready` every `interval`.
    pub fn wait_ready_every(
        &mut self,
        timeout: Duration,
        interval: Duration,
        mut ready: impl FnMut() -> bool,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(why) = self.exited() {
                return Err(why);
            }
            if ready() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "`{}` was not ready after {} s: {}",
                    self.name,
                    timeout.as_secs(),
                    self.log_tail()
                ));
            }
            std::thread::sleep(interval);
        }
    }

    /// Stop: the polite signal, up to 30 s, then SIGKILL; always reaped.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        // Our own child, not reaped yet, so its pid is not reused. A signal rustix does not
        // name is never one of ours (SIGTERM, SIGQUIT); SIGKILL below still stops the server.
        if let Some(signal) = rustix::process::Signal::from_named_raw(self.stop_signal) {
            let _ = rustix::process::kill_process(rustix::process::Pid::from_child(&child), signal);
        }
        let asked = Instant::now();
        let deadline = asked + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            // An immediate shutdown takes milliseconds: looked at often at first, then less.
            let pause = if asked.elapsed() < Duration::from_millis(200) {
                2
            } else {
                20
            };
            std::thread::sleep(Duration::from_millis(pause));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The user a drill drops to, for tests: `nobody` (65534) when they run as root, as CI does;
/// otherwise the tests' own user, marked as dropped, so that the same code runs (a file can
/// then only be given to oneself, and root-only effects are seen in CI).
#[cfg(test)]
pub(crate) fn dropped_for_tests() -> RunAs {
    if rustix::process::geteuid().as_raw() == 0 {
        RunAs {
            uid: 65534,
            gid: 65534,
            dropped: true,
        }
    } else {
        RunAs {
            uid: rustix::process::geteuid().as_raw(),
            gid: rustix::process::getegid().as_raw(),
            dropped: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::passwd_ids;

    #[test]
    fn the_first_local_entry_of_the_user_gives_its_ids() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n\
                      # nobody:x:1:1:a comment:/:/bin/false\n\
                      +nobody::::::\n\
                      nobodyelse:x:7:7::/:/bin/false\n\
                      nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n\
                      nobody:x:99:99:second entry:/:/bin/false\n";
        assert_eq!(passwd_ids(passwd, "nobody"), Ok(Some((65534, 65534))));
        assert_eq!(passwd_ids(passwd, "root"), Ok(Some((0, 0))));
        assert_eq!(passwd_ids(passwd, "postgres"), Ok(None));
        assert_eq!(passwd_ids("", "nobody"), Ok(None));
    }

    #[test]
    fn a_malformed_entry_for_the_user_is_refused_not_guessed_at() {
        for line in [
            "nobody:x:65534:65534:nobody:/nonexistent",
            "nobody:x:65534:65534:nobody:/nonexistent:/bin/false:extra",
            "nobody:x:-2:65534:nobody:/:/bin/false",
            "nobody:x:65534::nobody:/:/bin/false",
            "nobody:x:4294967296:1:nobody:/:/bin/false",
            "nobody",
        ] {
            let err = passwd_ids(&format!("root:x:0:0::/root:/bin/sh\n{line}\n"), "nobody")
                .expect_err(line);
            assert!(err.contains("line 2"), "{err}");
        }
    }

    /// When the drill drops from root, the unprivileged user gets its subdirectories and
    /// nothing more: the scratch directory itself stays the drill's (0711), so that user
    /// (any process running as it, a scratch server running restored SQL among them) cannot
    /// rename an entry of it and put a link in its place, which the drill, still root, would
    /// write, chmod, chown or read through: a server log planted as a link to a system file,
    /// a subdirectory swapped for a link between its creation and its chown, an archive's
    /// restore directory swapped for a link to `/`.
    #[test]
    fn the_unprivileged_user_owns_its_subdirectories_but_not_the_scratch_directory() {
        use std::os::unix::fs::MetadataExt;
        let run_as = super::dropped_for_tests();
        let scratch = super::ScratchDir::create(run_as).unwrap();
        let top = std::fs::symlink_metadata(scratch.path()).unwrap();
        let drill = rustix::process::geteuid().as_raw();
        assert_eq!((top.uid(), top.mode() & 0o7777), (drill, 0o711));
        let sub = scratch.subdir("pgdata", run_as).unwrap();
        let sub = std::fs::symlink_metadata(sub).unwrap();
        assert_eq!(
            (sub.uid(), sub.gid(), sub.mode() & 0o7777),
            (run_as.uid, run_as.gid, 0o700)
        );
    }

    /// Who besides the drill (and root) could move the scratch directory away and put a link
    /// in its place: the owner of a directory above it, or its group or any user where the
    /// directory has no sticky bit.
    #[test]
    fn a_directory_above_the_scratch_that_others_can_rename_in_is_named() {
        let me = 1000;
        for (mode, owner) in [
            (0o755, 0),
            (0o700, me),
            (0o1777, 0),
            (0o1770, 0),
            (0o711, 0),
        ] {
            assert_eq!(
                super::replaceable_by_others(mode, owner, me),
                None,
                "{mode:o} {owner}"
            );
        }
        for (mode, owner) in [
            (0o777, 0),
            (0o770, 0),
            (0o775, me),
            (0o755, 1001),
            (0o1777, 1001),
        ] {
            assert!(
                super::replaceable_by_others(mode, owner, me).is_some(),
                "{mode:o} owned by {owner}"
            );
        }
    }

    #[test]
    fn a_temporary_directory_its_group_or_anyone_may_write_without_the_sticky_bit_is_refused() {
        let base = tempfile::tempdir().unwrap();
        let open = base.path().join("open");
        std::fs::create_dir(&open).unwrap();
        let me = super::RunAs {
            uid: rustix::process::geteuid().as_raw(),
            gid: rustix::process::getegid().as_raw(),
            dropped: false,
        };
        for mode in [0o770, 0o777] {
            super::set_mode(&open, mode).unwrap();
            let err = super::ScratchDir::create_in(&open, me)
                .err()
                .unwrap_or_else(|| panic!("a directory of mode {mode:o} is refused"));
            assert!(err.contains("sticky"), "{err}");
        }
        // Below it, too: a directory above can be moved away with everything in it.
        let below = open.join("below");
        std::fs::create_dir(&below).unwrap();
        assert!(super::ScratchDir::create_in(&below, me).is_err());
        super::set_mode(&open, 0o1777).unwrap();
        let scratch = super::ScratchDir::create_in(&below, me).unwrap();
        assert!(
            scratch
                .path()
                .starts_with(std::fs::canonicalize(&below).unwrap())
        );
    }

    #[test]
    fn root_drops_to_an_unprivileged_user_and_anyone_else_stays_itself() {
        let euid = rustix::process::geteuid().as_raw();
        match super::RunAs::pick() {
            Ok(run_as) if euid == 0 => assert!(run_as.dropped && run_as.uid != 0, "{run_as:?}"),
            Ok(run_as) => assert!(!run_as.dropped && run_as.uid == euid, "{run_as:?}"),
            // Only root can fail here, on a machine without a `nobody` entry.
            Err(e) => assert!(euid == 0 && e.contains("nobody"), "{e}"),
        }
    }
}
