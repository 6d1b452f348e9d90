//! Deep verification and the artifact's identity, driven through `auto_apply_scope` as the
//! workflow runs it: each backup that is not the complete, untouched file it claims to be
//! blocks (exit 1) with the reason code that says why. The built-in policy (no `verify` key)
//! is used throughout: deep is the default.

mod common;

use common::backup;
use common::platform::{CONFIRM, Platform, refs};
use std::time::{Duration, UNIX_EPOCH};

const STAMP: &str = "20260517T010847Z";

/// Dispatch `module` with a backup named `<ref_module>-<STAMP>.<ext>` holding `bytes`.
fn dispatch(p: &Platform, module: &str, ref_module: &str, ext: &str, bytes: &[u8]) -> common::Run {
    let path = p.backup(&format!("{ref_module}-{STAMP}.{ext}"), bytes, 0o600);
    p.scope(&[
        "--module",
        module,
        "--allow-stateful",
        "--backup-ref",
        &path,
        "--stateful-confirm",
        CONFIRM,
    ])
}

#[track_caller]
fn assert_blocked(out: &common::Run, code: &str) {
    assert_eq!(
        out.code,
        1,
        "expected blocked (1) with {code}:\n{}",
        out.all()
    );
    assert!(
        out.stdout.contains(&format!("error[{code}]")),
        "missing {code}:\n{}",
        out.all()
    );
    assert!(
        !out.stdout.contains("info[backup.artifact.ok]"),
        "{}",
        out.all()
    );
}

#[track_caller]
fn assert_eligible(out: &common::Run) {
    assert_eq!(out.code, 0, "expected eligible:\n{}", out.all());
    assert!(
        out.stdout.contains("info[backup.artifact.ok]"),
        "{}",
        out.all()
    );
}

fn postgres(p: &Platform, ext: &str, bytes: &[u8]) -> common::Run {
    dispatch(p, "postgres", "postgres", ext, bytes)
}

fn redis(p: &Platform, bytes: &[u8]) -> common::Run {
    dispatch(p, "redis", "redis", "rdb", bytes)
}

fn minio(p: &Platform, ext: &str, bytes: &[u8]) -> common::Run {
    dispatch(p, "minio-init", "minio", ext, bytes)
}

#[test]
fn complete_backups_of_every_format_pass_deep_verification() {
    let p = Platform::new();
    let out = postgres(&p, "sql.gz", &backup::pg_dumpall_sql_gz());
    assert_eligible(&out);
    assert!(out.stdout.contains("deep"), "{}", out.stdout);
    for real in [
        "pg_dump-15.custom",
        "pg_dump-15-pipe.custom",
        "pg_dump-15-z0.custom",
    ] {
        assert_eligible(&postgres(&Platform::new(), "dump", &backup::real(real)));
    }
    assert_eligible(&redis(&Platform::new(), &backup::redis_rdb()));
    let tar = backup::tar(&[("data/a", b"hello"), ("data/b", &[7u8; 3000])]);
    assert_eligible(&minio(&Platform::new(), "tar.gz", &backup::gzip(&tar)));
    assert_eligible(&minio(&Platform::new(), "tar.zst", &backup::zstd(&tar)));
}

#[test]
fn a_pg_dumpall_that_stopped_half_way_is_refused_though_its_gzip_is_valid() {
    let p = Platform::new();
    let out = postgres(&p, "sql.gz", &backup::pg_dumpall_cut_sql_gz());
    assert_blocked(&out, "backup.artifact.incomplete");
    assert!(
        out.stdout
            .contains("PostgreSQL database cluster dump complete"),
        "the message names the missing line: {}",
        out.stdout
    );
}

#[test]
fn bytes_after_the_last_gzip_member_are_refused() {
    let p = Platform::new();
    let mut gz = backup::pg_dumpall_sql_gz();
    gz.extend_from_slice(b"trailing garbage");
    assert_blocked(&postgres(&p, "sql.gz", &gz), "backup.artifact.format");
}

#[test]
fn a_second_gzip_member_is_read_to_its_end() {
    // Two members (`cat a.gz b.gz`): the completion line is in the second; every member counts.
    let sql = backup::pg_dumpall_sql();
    let (a, b) = sql.split_at(sql.len() / 3);
    let mut gz = backup::gzip(a);
    gz.extend_from_slice(&backup::gzip(b));
    assert_eligible(&postgres(&Platform::new(), "sql.gz", &gz));
    // And a complete first member followed by a cut one is not complete.
    let mut gz = backup::pg_dumpall_sql_gz();
    gz.extend_from_slice(&backup::gzip(&sql[..100]));
    assert_blocked(
        &postgres(&Platform::new(), "sql.gz", &gz),
        "backup.artifact.incomplete",
    );
}

#[test]
fn a_custom_format_dump_is_walked_to_its_last_data_block() {
    let real = backup::real("pg_dump-15.custom");
    // Magic bytes followed by anything.
    assert_blocked(
        &postgres(
            &Platform::new(),
            "dump",
            b"PGDMP\x01\x0e\x00rest of nothing",
        ),
        "backup.artifact.format",
    );
    // The real header alone.
    assert_blocked(
        &postgres(&Platform::new(), "dump", &real[..11]),
        "backup.artifact.incomplete",
    );
    // Cut inside the data, and cut right after the table of contents.
    for cut in [real.len() - 40, real.len() / 2] {
        assert_blocked(
            &postgres(&Platform::new(), "dump", &real[..cut]),
            "backup.artifact.incomplete",
        );
    }
    // A block after the last one, for an entry the table of contents does not list.
    let mut longer = real.clone();
    longer.extend_from_slice(b"\x01\x00\x0f\x27\x00\x00\x00");
    assert_blocked(
        &postgres(&Platform::new(), "dump", &longer),
        "backup.artifact.format",
    );
}

#[test]
fn an_rdb_is_checked_against_its_crc64() {
    let mut rdb = backup::redis_rdb();
    let n = rdb.len();
    rdb[n / 2] ^= 0x01;
    assert_blocked(&redis(&Platform::new(), &rdb), "backup.artifact.checksum");
    // A cut file.
    let rdb = backup::redis_rdb();
    assert_blocked(
        &redis(&Platform::new(), &rdb[..rdb.len() - 3]),
        "backup.artifact.format",
    );
}

#[test]
fn an_rdb_without_a_checksum_needs_the_policy_to_say_so() {
    let nock = backup::real("redis-7.0-rdbchecksum-no.rdb");
    assert_blocked(
        &redis(&Platform::new(), &nock),
        "backup.artifact.unverifiable",
    );
    let p = Platform::with_policy_extra("");
    let text = std::fs::read_to_string(&p.policy).unwrap();
    std::fs::write(
        &p.policy,
        format!("{text}  allow_rdb_without_checksum: true\n"),
    )
    .unwrap();
    assert_eligible(&redis(&p, &nock));
}

#[test]
fn a_vault_snapshot_must_match_its_own_sha256sums() {
    // vault is a manual (security-sensitive) module: blocked anyway; the backup reason must
    // still be there, and absent when the snapshot is whole.
    let good = dispatch(
        &Platform::new(),
        "vault",
        "vault",
        "snap",
        &backup::vault_snap(),
    );
    assert!(
        good.stdout.contains("info[backup.artifact.ok]"),
        "{}",
        good.all()
    );
    let meta = br#"{"Version":1,"Index":42}"#;
    let forged = backup::vault_snap_with(
        meta,
        &[2u8; 700],
        Some(b"0000000000000000000000000000000000000000000000000000000000000000  state.bin\n"),
    );
    assert_blocked(
        &dispatch(&Platform::new(), "vault", "vault", "snap", &forged),
        "backup.artifact.checksum",
    );
    // A state.bin swapped after the sums were written.
    let good_sums = {
        use sha2::{Digest, Sha256};
        let hex = |b: &[u8]| {
            Sha256::digest(b)
                .iter()
                .map(|x| format!("{x:02x}"))
                .collect::<String>()
        };
        format!(
            "{}  meta.json\n{}  state.bin\n",
            hex(meta),
            hex(&[1u8; 700])
        )
    };
    let swapped = backup::vault_snap_with(meta, &[2u8; 700], Some(good_sums.as_bytes()));
    assert_blocked(
        &dispatch(&Platform::new(), "vault", "vault", "snap", &swapped),
        "backup.artifact.checksum",
    );
}

#[test]
fn a_zstd_archive_is_read_to_its_last_frame_and_no_further() {
    let tar = backup::tar(&[("data/a", &[5u8; 4000])]);
    let mut z = backup::zstd(&tar);
    z.extend_from_slice(b"garbage after the frame");
    assert_blocked(
        &minio(&Platform::new(), "tar.zst", &z),
        "backup.artifact.format",
    );
    // The frame's content checksum (its last 4 bytes) is verified.
    let mut z = backup::zstd(&tar);
    let n = z.len();
    z[n - 1] ^= 0xff;
    assert_blocked(
        &minio(&Platform::new(), "tar.zst", &z),
        "backup.artifact.checksum",
    );
}

#[test]
fn a_tar_header_declaring_an_impossible_size_is_refused() {
    // GNU base-256 with the sign bit set: a negative size.
    let mut negative = [0xffu8; 12];
    negative[0] = 0xff;
    // A positive base-256 size beyond what any file can hold (2^88).
    let mut huge = [0u8; 12];
    huge[0] = 0x80;
    huge[1] = 0x01;
    // A directory that claims to carry data.
    let mut dir_with_data = [0u8; 12];
    dir_with_data.copy_from_slice(b"00000001000\0");
    for (what, typeflag, size) in [
        ("negative", b'0', negative),
        ("2^88 bytes", b'0', huge),
        ("directory with data", b'5', dir_with_data),
    ] {
        let mut tar = backup::tar(&[("data/a", b"real data")]);
        let end = tar.len() - 1024;
        tar.truncate(end);
        tar.extend_from_slice(&backup::tar_header_raw("data/x", typeflag, size));
        tar.extend_from_slice(&[0u8; 4096]);
        let out = minio(&Platform::new(), "tar.gz", &backup::gzip(&tar));
        assert_eq!(out.code, 1, "{what}: {}", out.all());
        assert!(
            out.stdout.contains("error[backup.artifact.format]"),
            "{what}: {}",
            out.all()
        );
    }
}

#[test]
fn an_archive_without_a_file_holding_data_is_not_a_backup() {
    let mut dir = [0u8; 12];
    dir.copy_from_slice(b"00000000000\0");
    let mut tar = Vec::new();
    tar.extend_from_slice(&backup::tar_header_raw("data/", b'5', dir));
    tar.extend_from_slice(&backup::tar_header_raw("data/empty", b'0', dir));
    tar.extend_from_slice(&[0u8; 1024]);
    assert_blocked(
        &minio(&Platform::new(), "tar.gz", &backup::gzip(&tar)),
        "backup.artifact.no_data",
    );
    assert_blocked(
        &minio(&Platform::new(), "tar.zst", &backup::zstd(&tar)),
        "backup.artifact.no_data",
    );
}

#[test]
fn shallow_stays_available_and_says_it_is_shallow() {
    let p = Platform::new();
    let text = std::fs::read_to_string(&p.policy).unwrap();
    std::fs::write(&p.policy, format!("{text}  verify: shallow\n")).unwrap();
    // Weaker by design: the cut dump's first bytes are SQL, and that is all shallow reads.
    let out = postgres(&p, "sql.gz", &backup::pg_dumpall_cut_sql_gz());
    assert_eligible(&out);
    // And says so as a warning on the decision, not only in the artifact's detail line.
    assert!(
        out.stdout.contains("warning[backup.artifact.shallow]"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_backup_with_a_second_hard_link_is_refused() {
    let p = Platform::new();
    let path = p.backup(
        &format!("minio-{STAMP}.tar.gz"),
        &backup::minio_tar_gz(),
        0o600,
    );
    std::fs::hard_link(&path, p.tmp.path().join("another-name")).unwrap();
    let out = p.scope(&refs(&Platform::dispatch_args(&path)));
    assert_blocked(&out, "backup.artifact.hard_link");
}

#[test]
fn a_renamed_old_backup_is_not_a_fresh_one() {
    let p = Platform::new();
    let path = p.backup(
        &format!("minio-{STAMP}.tar.gz"),
        &backup::minio_tar_gz(),
        0o600,
    );
    // Written a day before the instant its name claims.
    let named = time::OffsetDateTime::parse(
        "2026-05-17T01:08:47Z",
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
    .unix_timestamp();
    let written = UNIX_EPOCH + Duration::from_secs((named - 86_400) as u64);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(written)
        .unwrap();
    let out = p.scope(&refs(&Platform::dispatch_args(&path)));
    assert_blocked(&out, "backup.artifact.older_than_name");
    assert!(
        out.stdout.contains("2026-05-16T01:08:47Z") && out.stdout.contains("2026-05-17T01:08:47Z"),
        "both times are named: {}",
        out.stdout
    );

    // Within the clock skew (300 s) it passes.
    let p = Platform::new();
    let path = p.real_backup();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(UNIX_EPOCH + Duration::from_secs((named - 200) as u64))
        .unwrap();
    assert_eligible(&p.scope(&refs(&Platform::dispatch_args(&path))));
}

#[test]
fn a_link_in_the_middle_of_the_path_is_refused() {
    // <tmp>/via -> <tmp>/real, and the root is <tmp>/via/backups: the link is above the root.
    let p = Platform::new();
    let real = p.tmp.path().join("real");
    std::fs::create_dir_all(real.join("backups")).unwrap();
    let via = p.tmp.path().join("via");
    std::os::unix::fs::symlink(&real, &via).unwrap();
    let file = real.join("backups").join(format!("minio-{STAMP}.tar.gz"));
    std::fs::write(&file, backup::minio_tar_gz()).unwrap();
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let text = std::fs::read_to_string(&p.policy).unwrap();
    let root = p.backups.display().to_string();
    let linked_root = via.join("backups").display().to_string();
    std::fs::write(&p.policy, text.replace(&root, &linked_root)).unwrap();
    let out = p.scope(&refs(&Platform::dispatch_args(&format!(
        "{linked_root}/minio-{STAMP}.tar.gz"
    ))));
    assert_blocked(&out, "backup.artifact.symlink");
}

/// The backup directory is swapped for a link to another directory (holding a valid backup
/// of the same name) and back, over and over, while the gate runs: a gate that checks the path
/// and then opens it by name can be made to read the other file. Opening with `openat` from
/// the root down, it reads the real file or refuses; it never reports the other file's hash.
#[test]
fn a_directory_swapped_during_the_check_is_never_followed() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let p = Platform::new();
    let name = format!("minio-{STAMP}.tar.gz");
    let real_bytes = backup::minio_tar_gz();
    let path = p.backup(&name, &real_bytes, 0o600);
    let evil = p.tmp.path().join("evil");
    std::fs::create_dir(&evil).unwrap();
    let evil_bytes = backup::gzip(&backup::tar(&[("data/other", &[9u8; 4000])]));
    std::fs::write(evil.join(&name), &evil_bytes).unwrap();
    std::fs::set_permissions(
        evil.join(&name),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let sha = |b: &[u8]| {
        use sha2::{Digest, Sha256};
        Sha256::digest(b)
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect::<String>()
    };
    let (real_sha, evil_sha) = (sha(&real_bytes), sha(&evil_bytes));
    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let stop = Arc::clone(&stop);
        let backups = p.backups.clone();
        let aside = p.tmp.path().join("backups.real");
        std::thread::spawn(move || {
            let mut swaps = 0u32;
            while !stop.load(Ordering::Relaxed) {
                std::fs::rename(&backups, &aside).unwrap();
                std::os::unix::fs::symlink(&evil, &backups).unwrap();
                std::thread::yield_now();
                std::fs::remove_file(&backups).unwrap();
                std::fs::rename(&aside, &backups).unwrap();
                std::thread::yield_now();
                swaps += 1;
            }
            swaps
        })
    };
    let (mut real_reads, mut refusals) = (0, 0);
    for _ in 0..100 {
        let out = p.scope(&refs(&Platform::dispatch_args(&path)));
        assert!(
            !out.stdout.contains(&evil_sha),
            "the gate read the file behind the swapped-in link:\n{}",
            out.all()
        );
        if out.stdout.contains("info[backup.artifact.ok]") {
            assert!(out.stdout.contains(&real_sha), "{}", out.all());
            real_reads += 1;
        } else {
            refusals += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    assert!(swaps > 0, "the directory was never swapped");
    eprintln!("{swaps} swaps; {real_reads} runs read the real file, {refusals} refused");
}

/// A dump cut inside a table's COPY data, where the last rows read are `""`, `--`,
/// `-- PostgreSQL database cluster dump complete` and `--` (values anyone who can insert
/// rows can choose), ends exactly like a complete dump; psql even loads it (end of input
/// ends a COPY). The script is read as psql reads it: it ends inside the rows of a COPY that
/// its `\.` never closed. So for a dump of pg_dumpall 15.14 and later and for one made
/// before them, without `\restrict` and `\unrestrict` lines (those removed here).
#[test]
fn a_dump_cut_inside_copy_data_that_spells_the_completion_line_is_refused() {
    let p = Platform::new();
    let sql = backup::pg_dumpall_sql();
    let copy = b"COPY public.t (a) FROM stdin;\n";
    let at = sql
        .windows(copy.len())
        .position(|w| w == copy)
        .expect("the fixture has a COPY block")
        + copy.len();
    let mut cut = sql[..at].to_vec();
    cut.extend_from_slice(b"1\n\n--\n-- PostgreSQL database cluster dump complete\n--\n\n");
    let unrestricted: Vec<u8> = cut
        .split_inclusive(|b| *b == b'\n')
        .filter(|line| !line.starts_with(b"\\restrict ") && !line.starts_with(b"\\unrestrict "))
        .flatten()
        .copied()
        .collect();
    assert!(unrestricted.len() < cut.len());
    for dump in [cut, unrestricted] {
        let out = postgres(&p, "sql.gz", &backup::gzip(&dump));
        assert_blocked(&out, "backup.artifact.incomplete");
        assert!(
            out.stdout.contains("inside a table's rows"),
            "{}",
            out.stdout
        );
    }
}

/// A dump cut inside a quoted name or string whose content spells pg_dumpall's last lines,
/// `\unrestrict` included: a role named `"x\n\unrestrict x\n\n--\n-- PostgreSQL database
/// cluster dump complete\n--\n"`, or a function whose body ends so, with the dump cut right
/// there. Read line by line, it ended like a complete dump; read as psql reads it, it ends
/// inside the quotes, and its last command is not the `\unrestrict` of its last section.
#[test]
fn a_dump_cut_inside_a_quoted_name_that_spells_the_end_is_refused() {
    let p = Platform::new();
    let sql = backup::pg_dumpall_sql();
    let roles = b"\n--\n-- Roles\n--\n\n";
    let at = sql
        .windows(roles.len())
        .position(|w| w == roles)
        .expect("the fixture has a Roles section")
        + roles.len();
    let spelled = b"\\unrestrict x\n\n--\n-- PostgreSQL database cluster dump complete\n--\n";
    for opening in [
        &b"CREATE ROLE \"evil\n"[..],
        b"COMMENT ON ROLE postgres IS 'evil\n",
        b"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $_$\n",
    ] {
        let mut cut = sql[..at].to_vec();
        cut.extend_from_slice(opening);
        cut.extend_from_slice(spelled);
        let out = postgres(&p, "sql.gz", &backup::gzip(&cut));
        assert_blocked(&out, "backup.artifact.incomplete");
        assert!(out.stdout.contains("it stopped part-way"), "{}", out.stdout);
    }
}

/// Archives on which tar readers (GNU tar, Go's archive/tar, Python's tarfile, the `tar`
/// crate) disagree about the members: the gates cannot know what a restore makes of them.
#[test]
fn archives_that_tar_readers_read_differently_are_refused() {
    use backup::{USTAR_GNU, USTAR_POSIX, tar_gnu_long, tar_member, tar_of_parts, tar_pax};
    let file = |name: &[u8], data: &[u8]| tar_member(name, b'0', b"", USTAR_POSIX, b"", data);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            // The first `size` hid the next header (an absolute path) from the `tar` crate.
            "pax size twice",
            tar_of_parts(&[
                file(b"data/a", b"real data"),
                tar_pax(&[("size", b"1024"), ("size", b"0")]),
                file(b"data/b", b""),
                file(b"/tmp/escape", b"x"),
                vec![0u8; 1024],
            ]),
            "sets `size` twice",
        ),
        (
            "pax value with a newline",
            tar_of_parts(&[
                tar_pax(&[("comment", b"a\nb"), ("size", b"0")]),
                file(b"data/a", &[0u8; 1024]),
                file(b"data/b", b"real data"),
            ]),
            "holds a newline",
        ),
        (
            "ustar magic with GNU's version and a prefix",
            tar_of_parts(&[tar_member(
                b"passwd",
                b'0',
                b"",
                b"ustar\0  ",
                b"/etc",
                b"real data",
            )]),
            "neither POSIX, GNU nor an old header's",
        ),
        (
            "long name and pax path",
            tar_of_parts(&[
                tar_gnu_long(b'L', b"data/one"),
                tar_pax(&[("path", b"data/other")]),
                tar_member(b"data/x", b'0', b"", USTAR_GNU, b"", b"real data"),
            ]),
            "both a GNU long name and a pax `path`",
        ),
        (
            "regular file named like a directory",
            tar_of_parts(&[file(b"data/a", b"real data"), file(b"data/d/", b"abc")]),
            "name ending with `/`",
        ),
    ];
    for (what, tar, why) in cases {
        let out = minio(&Platform::new(), "tar.gz", &backup::gzip(&tar));
        assert_blocked(&out, "backup.artifact.format");
        assert!(out.stdout.contains(why), "{what}: {}", out.all());
    }
}

#[test]
fn a_vault_snapshot_naming_a_member_by_a_long_name_and_a_pax_path_is_refused() {
    // The gate took the pax `path` (`state.bin`, so the sums matched); Vault's reader, Go's
    // archive/tar, takes the long name and would not see a `state.bin` at all.
    let meta = br#"{"Version":1,"Index":42}"#;
    let [meta_member, state_member, sums] = backup::vault_snap_members(meta, &[1u8; 700]);
    let whole = backup::tar_of_parts(&[meta_member.clone(), state_member, sums.clone()]);
    let good = dispatch(
        &Platform::new(),
        "vault",
        "vault",
        "snap",
        &backup::gzip(&whole),
    );
    assert!(
        good.stdout.contains("info[backup.artifact.ok]"),
        "{}",
        good.all()
    );
    let renamed = [
        backup::tar_gnu_long(b'L', b"junk.bin"),
        backup::tar_pax(&[("path", b"state.bin")]),
        backup::tar_member(b"hdr", b'0', b"", backup::USTAR_GNU, b"", &[1u8; 700]),
    ]
    .concat();
    let tricked = backup::tar_of_parts(&[meta_member, renamed, sums]);
    let out = dispatch(
        &Platform::new(),
        "vault",
        "vault",
        "snap",
        &backup::gzip(&tricked),
    );
    assert_blocked(&out, "backup.artifact.format");
    assert!(
        out.stdout.contains("both a GNU long name and a pax `path`"),
        "{}",
        out.all()
    );
}
