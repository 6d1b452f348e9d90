//! Real, throw-away database servers for the backup tests: a PostgreSQL cluster from
//! `initdb` and a Redis server, each on a Unix socket in its own temporary directory (no TCP
//! port), run as `nobody` when the tests run as root (PostgreSQL refuses root), and stopped
//! by a Drop guard, also when a test fails.
#![allow(dead_code)]

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The uid/gid the servers run as: ours, or `nobody`'s when we are root.
pub fn server_user() -> Option<(u32, u32)> {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let out = Command::new("id").args(["-u", "nobody"]).output().unwrap();
    let uid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let out = Command::new("id").args(["-g", "nobody"]).output().unwrap();
    let gid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    Some((uid, gid))
}

/// A temporary directory the server user owns.
pub fn server_dir(prefix: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix(prefix).tempdir().unwrap();
    if let Some((uid, gid)) = server_user() {
        std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
    }
    dir
}

/// A command run as the server user, with no PG*/REDIS* settings from the caller.
pub fn as_server_user(program: &str) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear();
    for keep in ["PATH", "LANG", "TZ"] {
        if let Ok(v) = std::env::var(keep) {
            cmd.env(keep, v);
        }
    }
    if let Some((uid, gid)) = server_user() {
        cmd.uid(uid).gid(gid);
    }
    cmd.stdin(Stdio::null());
    cmd
}

fn ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn wait_for(what: &str, child: &mut Child, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited {status} before it was ready");
        }
        if ready() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} was not ready after 60 s");
}

fn stop(child: &mut Child, signal: i32) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    // SAFETY: our own unreaped child.
    unsafe {
        libc::kill(child.id() as i32, signal);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A PostgreSQL cluster on a private socket; superuser `postgres`, trust auth.
pub struct PgCluster {
    pub dir: tempfile::TempDir,
    child: Child,
}

impl PgCluster {
    pub fn start() -> PgCluster {
        let dir = server_dir("pg-src-");
        let data = dir.path().join("data");
        ok(as_server_user("initdb")
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .current_dir(dir.path()));
        let mut child = as_server_user("postgres")
            .arg("-D")
            .arg(&data)
            .arg("-k")
            .arg(dir.path())
            .args(["-c", "listen_addresses=", "-c", "fsync=off"])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let socket = dir.path().to_path_buf();
        wait_for("postgres", &mut child, || {
            as_server_user("psql")
                .args(["-X", "-q", "-U", "postgres", "-d", "postgres", "-h"])
                .arg(&socket)
                .args(["-c", "SELECT 1"])
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false)
        });
        PgCluster { dir, child }
    }

    pub fn socket(&self) -> &Path {
        self.dir.path()
    }

    /// Run `sql` in `db` with ON_ERROR_STOP; returns stdout (`-A -t`).
    pub fn sql(&self, db: &str, sql: &str) -> String {
        let out = ok(as_server_user("psql")
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-U",
                "postgres",
                "-h",
            ])
            .arg(self.socket())
            .args(["-d", db, "-c", sql])
            .current_dir(self.dir.path()));
        String::from_utf8(out.stdout).unwrap()
    }

    /// `pg_dumpall`'s SQL text.
    pub fn dumpall(&self) -> Vec<u8> {
        ok(as_server_user("pg_dumpall")
            .args(["-U", "postgres", "-h"])
            .arg(self.socket())
            .current_dir(self.dir.path()))
        .stdout
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        stop(&mut self.child, libc::SIGINT);
    }
}

/// A Redis server on a private socket, saving to `dump.rdb` in its directory.
pub struct RedisServer {
    pub dir: tempfile::TempDir,
    child: Child,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        let dir = server_dir("redis-src-");
        let socket = dir.path().join("redis.sock");
        let mut child = as_server_user("redis-server")
            .args(["--port", "0", "--unixsocket"])
            .arg(&socket)
            .args(["--unixsocketperm", "700", "--dir"])
            .arg(dir.path())
            .args(["--save", "", "--appendonly", "no", "--logfile", ""])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let s = socket.clone();
        wait_for("redis-server", &mut child, || {
            Command::new("redis-cli")
                .arg("-s")
                .arg(&s)
                .arg("PING")
                .output()
                .map(|o| o.stdout.starts_with(b"PONG"))
                .unwrap_or(false)
        });
        RedisServer { dir, child }
    }

    /// One command in database `db`; returns the reply text.
    pub fn cmd(&self, db: u32, args: &[&str]) -> String {
        let out = ok(Command::new("redis-cli")
            .arg("-s")
            .arg(self.dir.path().join("redis.sock"))
            .args(["-n", &db.to_string()])
            .args(args));
        String::from_utf8(out.stdout).unwrap()
    }

    /// SAVE, then the RDB's bytes.
    pub fn save(&self) -> Vec<u8> {
        assert_eq!(self.cmd(0, &["SAVE"]).trim(), "OK");
        std::fs::read(self.dir.path().join("dump.rdb")).unwrap()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        stop(&mut self.child, libc::SIGTERM);
    }
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

pub fn gunzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// A directory's regular files as (relative path, size), for the archive inventory.
pub fn listing(root: &Path) -> Vec<(Vec<u8>, u64)> {
    use std::os::unix::ffi::OsStrExt;
    fn walk(root: &Path, rel: &Path, out: &mut Vec<(Vec<u8>, u64)>) {
        for e in std::fs::read_dir(root.join(rel)).unwrap() {
            let e = e.unwrap();
            let m = std::fs::symlink_metadata(e.path()).unwrap();
            let p = rel.join(e.file_name());
            if m.is_dir() {
                walk(root, &p, out);
            } else if m.is_file() {
                out.push((p.as_os_str().as_bytes().to_vec(), m.len()));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, Path::new(""), &mut out);
    out
}

pub fn path_str(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

pub fn tmp_path(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}
