//! Shallow and deep reading of every backup format, on bytes made here.

mod common;

use common::backup;
use forgejo_gates::backup::deep::inspect;
use forgejo_gates::backup::format::Format;
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
