//! Shallow and deep reading of every backup format, on bytes made here.

mod common;

use common::backup;
use forgejo_gates::backup::deep::inspect;
use forgejo_gates::model::backup_format::Format;
use forgejo_gates::policy::Verify;

fn check(bytes: &[u8], format: Format, verify: Verify) -> Result<String, String> {
    let mut f = tempfile::tempfile().unwrap();
    std::io::Write::write_all(&mut f, bytes).unwrap();
    inspect(&f, format, verify)
        .map(|i| i.detail)
        .map_err(|r| r.message)
}

#[test]
fn every_format_reads_in_both_modes() {
    let tar = backup::tar(&[("a/b.txt", b"hello"), ("c", &[9u8; 1500])]);
    let cases = [
        (backup::gzip(&tar), Format::TarGz),
        (backup::zstd(&tar), Format::TarZst),
        (backup::pg_dumpall_sql_gz(), Format::SqlGz),
        (backup::vault_snap(), Format::VaultSnapshot),
        (backup::redis_rdb(), Format::RedisRdb),
        (backup::real("pg_dump-15.custom"), Format::PgDump),
    ];
    for (bytes, format) in cases {
        for verify in [Verify::Shallow, Verify::Deep] {
            assert!(
                check(&bytes, format, verify).is_ok(),
                "{format:?} {verify:?}: {:?}",
                check(&bytes, format, verify)
            );
        }
    }
}

#[test]
fn deep_counts_entries_and_finds_the_end() {
    let tar = backup::tar(&[("a", b"1"), ("b", b"22"), ("c", b"333")]);
    let detail = check(&backup::gzip(&tar), Format::TarGz, Verify::Deep).unwrap();
    assert!(detail.contains("3 entries"), "{detail}");
    assert!(detail.contains("end-of-archive found"), "{detail}");
}

#[test]
fn damage_that_shallow_cannot_see_is_found_by_deep() {
    // A tar cut off in the middle of an entry, compressed correctly.
    let mut tar = backup::tar(&[("a", &[1u8; 5000])]);
    tar.truncate(2048);
    let gz = backup::gzip(&tar);
    assert!(check(&gz, Format::TarGz, Verify::Shallow).is_ok());
    let err = check(&gz, Format::TarGz, Verify::Deep).unwrap_err();
    assert!(
        err.contains("ends inside an entry") || err.contains("truncated"),
        "{err}"
    );

    // A gzip stream whose CRC does not match its content.
    let mut gz = backup::gzip(&backup::tar(&[("a", &[1u8; 5000])]));
    let n = gz.len();
    gz[n - 6] ^= 0xff;
    assert!(check(&gz, Format::TarGz, Verify::Deep).is_err());

    // A corrupted second header.
    let mut tar = backup::tar(&[("a", b"x"), ("b", b"y")]);
    tar[1024 + 10] ^= 0x55;
    assert!(check(&backup::gzip(&tar), Format::TarGz, Verify::Deep).is_err());

    // Vault snapshots must hold their state.
    let not_vault = backup::gzip(&backup::tar(&[("meta.json", b"{}")]));
    assert!(
        check(&not_vault, Format::VaultSnapshot, Verify::Deep)
            .unwrap_err()
            .contains("state.bin")
    );
}

#[test]
fn wrong_bytes_for_the_extension_are_refused() {
    let tar = backup::tar(&[("a", b"1")]);
    assert!(
        check(&tar, Format::TarGz, Verify::Shallow).is_err(),
        "plain tar is not .tar.gz"
    );
    assert!(check(&backup::gzip(&tar), Format::TarZst, Verify::Shallow).is_err());
    assert!(
        check(&backup::gzip(&tar), Format::SqlGz, Verify::Shallow).is_err(),
        "a tar is not SQL"
    );
    assert!(check(b"REDIS", Format::RedisRdb, Verify::Shallow).is_err());
    assert!(check(&backup::gzip(b""), Format::TarGz, Verify::Shallow).is_err());
    assert!(
        check(&backup::gzip(&[0u8; 1024]), Format::TarGz, Verify::Deep).is_err(),
        "no entries"
    );
}

/// Archives written by GNU tar in each of its formats (long names as GNU `L` entries or pax
/// `path` records), by the `zstd` command (several frames, a skippable frame), read deep.
#[test]
fn archives_written_by_the_real_tools_pass_deep() {
    use std::process::Command;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let long = data.join("d".repeat(120));
    std::fs::create_dir_all(&long).unwrap();
    std::fs::write(long.join("f"), b"long name").unwrap();
    std::fs::write(data.join("a.txt"), vec![b'x'; 70_000]).unwrap();
    for tar_format in ["gnu", "pax", "posix", "ustar", "v7"] {
        let out = dir.path().join(format!("{tar_format}.tar.gz"));
        let mut cmd = Command::new("tar");
        cmd.current_dir(dir.path())
            .arg(format!("--format={tar_format}"))
            .arg("-czf")
            .arg(&out);
        // ustar and v7 cannot hold the 120-character directory name.
        if matches!(tar_format, "ustar" | "v7") {
            cmd.arg("data/a.txt");
        } else {
            cmd.arg("data");
        }
        assert!(cmd.status().unwrap().success(), "tar --format={tar_format}");
        let detail = check(&std::fs::read(&out).unwrap(), Format::TarGz, Verify::Deep)
            .unwrap_or_else(|e| panic!("tar --format={tar_format}: {e}"));
        assert!(detail.contains("end-of-archive found"), "{detail}");
    }
    // Never a silent pass without the zstd part: .ci/run installs the command.
    assert!(
        Command::new("zstd").arg("--version").output().is_ok(),
        "the zstd command is needed for the zstd part of this test (.ci/run installs it)"
    );
    let tar = backup::tar(&[("data/a", &[3u8; 5000])]);
    let plain = dir.path().join("a.tar");
    std::fs::write(&plain, &tar).unwrap();
    let zst = |args: &[&str]| {
        let out = Command::new("zstd")
            .args(args)
            .arg("-c")
            .arg(&plain)
            .output()
            .unwrap();
        assert!(out.status.success());
        out.stdout
    };
    let one = zst(&["-q"]);
    assert!(check(&one, Format::TarZst, Verify::Deep).is_ok());
    // The same tar split over two frames (`cat a.zst b.zst`), with a skippable frame between.
    let (a, b) = tar.split_at(2048);
    let mut two = backup::zstd(a);
    two.extend_from_slice(&[0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
    two.extend_from_slice(&backup::zstd(b));
    assert!(
        check(&two, Format::TarZst, Verify::Deep).is_ok(),
        "{:?}",
        check(&two, Format::TarZst, Verify::Deep)
    );
    // Written without a content checksum: nothing proves it complete.
    let unchecked = zst(&["-q", "--no-check"]);
    let err = check(&unchecked, Format::TarZst, Verify::Deep).unwrap_err();
    assert!(err.contains("no content checksum"), "{err}");
}

#[test]
fn a_gzip_with_trailing_zeros_or_a_cut_member_is_refused() {
    let sql = backup::pg_dumpall_sql();
    let mut zeros = backup::gzip(&sql);
    zeros.extend_from_slice(&[0u8; 16]);
    assert!(check(&zeros, Format::SqlGz, Verify::Deep).is_err());
    let gz = backup::gzip(&sql);
    let cut = &gz[..gz.len() - 4];
    assert!(check(cut, Format::SqlGz, Verify::Deep).is_err());
}

/// The table of contents of a custom-format dump, read as `pg_restore` reads it: every string
/// as C does, up to its first NUL (a string with a NUL inside means to it what comes before
/// the NUL), and a TABLE DATA entry's table resolved from its first dependency, a number
/// `sscanf` reads. Each case is the real dump with one string changed in place (its length
/// unchanged), and `pg_restore` itself says it cannot read it.
#[test]
fn custom_dump_entries_are_read_as_pg_restore_reads_them() {
    let dump = backup::real("pg_dump-15.custom");
    let replace = |from: &[u8], to: &[u8]| {
        assert_eq!(from.len(), to.len());
        let at = dump
            .windows(from.len())
            .position(|w| w == from)
            .expect("the fixture holds the string");
        let mut changed = dump.clone();
        changed[at..at + to.len()].copy_from_slice(to);
        changed
    };
    let cases = [
        // STDSTRINGS whose value pg_restore never reaches: it stops at the NUL, no `'on'`.
        (
            "a NUL before STDSTRINGS' value",
            replace(
                b"SET standard_conforming_strings = 'on';",
                b"SET standard_conforming_strings\0= 'on';",
            ),
        ),
        // An entry pg_restore takes for ENCODING (`ENCODING\0\0` is "ENCODING" to strcmp),
        // whose value `'on'` is no encoding.
        (
            "a NUL-padded ENCODING description",
            // The tag, then the description (each a length and its bytes).
            replace(
                b"STDSTRINGS\x00\x0a\x00\x00\x00STDSTRINGS",
                b"STDSTRINGS\x00\x0a\x00\x00\x00ENCODING\0\0",
            ),
        ),
        // The TABLE DATA entry's dependency on its table (dump id 214), the last string
        // before the NULL that ends the list: `'14` is no number to `sscanf`, which leaves
        // the id unset (found by the backup_deep fuzz target); 0 is no dump id.
        (
            "a TABLE DATA dependency that is not a number",
            replace(
                b"false\x00\x03\x00\x00\x00214\x01\x01\x00",
                b"false\x00\x03\x00\x00\x00'14\x01\x01\x00",
            ),
        ),
        (
            "a TABLE DATA dependency on dump id 0",
            replace(
                b"false\x00\x03\x00\x00\x00214\x01\x01\x00",
                b"false\x00\x03\x00\x00\x00000\x01\x01\x00",
            ),
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (what, bytes) in cases {
        let path = dir.path().join("changed.dump");
        std::fs::write(&path, &bytes).unwrap();
        let restored = std::process::Command::new("pg_restore")
            .arg("-f")
            .arg("/dev/null")
            .arg(&path)
            .output()
            .expect("pg_restore is needed here (.ci/run installs it)");
        assert!(
            !restored.status.success(),
            "{what}: pg_restore reads it after all"
        );
        assert!(
            check(&bytes, Format::PgDump, Verify::Deep).is_err(),
            "{what}: verified, but pg_restore says {}",
            String::from_utf8_lossy(&restored.stderr)
        );
    }
}
