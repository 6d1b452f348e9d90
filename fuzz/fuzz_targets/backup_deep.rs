//! The deep backup inspector (`backup::deep::inspect`) against the reference tools: whatever
//! it verifies, the programs that would read the backup accept too. `gzip -t` and `tar -tz`
//! for `.tar.gz` and `.snap`, `zstd -t` and `tar --zstd -t` for `.tar.zst`, `gzip -t` and the
//! completion line in `gzip -dc`'s output for `.sql.gz`, `pg_restore` writing the whole dump as
//! a script for `.dump` (when `pg_restore` is installed), and an independent bitwise CRC-64
//! for `.rdb`. Shallow reads are fuzzed for panics only. The first input byte picks the format
//! (`% 6`) and the depth (bit 7 set: shallow).
#![no_main]
use forgejo_gates::backup::deep::inspect;
use forgejo_gates::model::backup_format::Format;
use forgejo_gates::policy::Verify;
use libfuzzer_sys::fuzz_target;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

const FORMATS: [Format; 6] = [
    Format::TarGz,
    Format::TarZst,
    Format::SqlGz,
    Format::PgDump,
    Format::RedisRdb,
    Format::VaultSnapshot,
];

/// One scratch file per fuzzing process, rewritten for each input.
fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        std::env::temp_dir().join(format!("forgejo-gates-fuzz-deep-{}", std::process::id()))
    })
}

/// Run a reference tool; `Ok` when it exits 0, else its stderr.
fn accepts(program: &str, args: &[&str], path: &Path) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn require(format: Format, program: &str, args: &[&str], path: &Path) {
    if let Err(e) = accepts(program, args, path) {
        panic!(
            "{format:?} verified, but `{program} {}` refuses it: {e}",
            args.join(" ")
        );
    }
}

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Redis's CRC-64 computed bit by bit (the inspector uses a table).
fn crc64_bitwise(bytes: &[u8]) -> u64 {
    let mut crc = 0u64;
    for b in bytes {
        crc ^= u64::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x95ac_9329_ac4b_c9b5
            } else {
                crc >> 1
            };
        }
    }
    crc
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let format = FORMATS[usize::from(pick % 6)];
    let verify = if pick & 0x80 != 0 {
        Verify::Shallow
    } else {
        Verify::Deep
    };
    let path = scratch();
    let mut file = std::fs::File::create(path).expect("scratch file");
    file.write_all(bytes).expect("write scratch file");
    let file = std::fs::File::open(path).expect("reopen scratch file");
    let Ok(found) = inspect(&file, format, verify) else {
        return;
    };
    assert_eq!(found.sha256.len(), 64);
    if verify == Verify::Shallow {
        return;
    }
    match format {
        Format::TarGz | Format::VaultSnapshot => {
            require(format, "gzip", &["-t"], path);
            require(format, "tar", &["-tzf"], path);
        }
        Format::TarZst => {
            require(format, "zstd", &["-q", "-t"], path);
            require(format, "tar", &["--zstd", "-tf"], path);
        }
        Format::SqlGz => {
            require(format, "gzip", &["-t"], path);
            let out = Command::new("gzip")
                .arg("-dc")
                .arg(path)
                .output()
                .expect("gzip runs");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                text.trim_end_matches('\n')
                    .ends_with("\n--\n-- PostgreSQL database cluster dump complete\n--"),
                "sql.gz verified without pg_dumpall's completion line at its end"
            );
        }
        Format::PgDump => {
            static PG_RESTORE: OnceLock<bool> = OnceLock::new();
            if *PG_RESTORE.get_or_init(|| have("pg_restore")) {
                // The gate reads archives of PostgreSQL 11 to 17 (1.12 to 1.16); an older
                // pg_restore refuses a newer archive for its version alone, and cannot be the
                // oracle of one.
                match accepts("pg_restore", &["-f", "/dev/null"], path) {
                    Err(e) if e.contains("unsupported version") => {}
                    Err(e) => {
                        panic!("{format:?} verified, but `pg_restore -f /dev/null` refuses it: {e}")
                    }
                    Ok(()) => {}
                }
            }
        }
        Format::RedisRdb => {
            assert!(
                bytes.len() >= 18 && bytes[bytes.len() - 9] == 0xff,
                "rdb verified without its EOF opcode"
            );
            let (body, stored) = bytes.split_at(bytes.len() - 8);
            let stored = u64::from_le_bytes(stored.try_into().expect("8 bytes"));
            assert_eq!(
                crc64_bitwise(body),
                stored,
                "rdb verified with a wrong CRC-64"
            );
        }
    }
});
