//! The gzip layer of deep verification against Debian's `gzip` as the oracle. Each case is a
//! hand-made gzip stream (`support/deflate.rs` writes what no encoder would: chosen code
//! lengths, symbols and distances out of range, damaged headers and trailers, bytes between
//! and after members) around a complete `pg_dumpall` dump, so that only the gzip layer can
//! decide. `gzip -t` runs on the file first:
//!
//! - it exits non-zero: deep verification must refuse, for a reason of the gzip layer. Exit 2
//!   is gzip's "warning": it decompressed every member and ignored bytes after them ("trailing
//!   garbage ignored", also for a damaged later member's header). It counts as a refusal: a
//!   restore with `set -o pipefail` fails on it, and the bytes ignored may be what is left of a
//!   member;
//! - it exits 0: `gzip -dc` must give exactly the dump the case meant, and deep verification
//!   must accept, except where a case says it is stricter than gzip and why (it then must
//!   refuse).
//!
//! Each case also says which exit status it expects of gzip, so that a stream that does not
//! hold the defect it is named for (a mistake in the writer) fails instead of passing vacuously.
//!
//! Each case runs in up to nine places (`Layout`): the only member of a small file, in the
//! middle or last of a small file, in the middle or last of 80 small members (read whole;
//! also through the restore drill's single pass, `deep::stream::sql_gz_into`), and, for a few
//! cases of each kind, in the middle or last of a file just past 1 MiB (streamed on one
//! thread) and of a file past 8 MiB of 1 MiB members (read by the feeding thread, members
//! inflated on one thread).

#[path = "support/deflate.rs"]
mod deflate;

use deflate::{
    Block, CL_COMPLETE, Dynamic, FCOMMENT, FEXTRA, FHCRC, FNAME, Tok, crc32, deflate, header, lits,
    member, member_with, with_header_crc,
};
use forgejo_gates::backup::deep::{inspect, stream};
use forgejo_gates::model::backup_format::Format;
use forgejo_gates::policy::Verify;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// The first and last lines `pg_dumpall` writes.
const HEAD: &[u8] =
    b"--\n-- PostgreSQL database cluster dump\n--\n\nSET default_transaction_read_only = off;\n";
/// After a newline (which ends a comment) a lone `;`, which ends whatever statement the
/// bytes a case copies leave open: the deep check reads the script as psql does, and these
/// cases are about the gzip layer. The texts hold no quote, backslash, `$` or `/`, so no
/// copied byte opens a string, a body or a comment that would run on.
const COMPLETE: &[u8] = b"\n;\n--\n-- PostgreSQL database cluster dump complete\n--\n\n";
/// What the crafted member holds besides the dump's ends.
const LINE: &[u8] = b"SELECT 1 AS crafted_member;\n";
/// Written twice, the second time as a back-reference.
const REPEAT: &[u8] = b"SELECT 1;\n";
/// gzip's and deflate's window.
const WINDOW: usize = 32 * 1024;
const MIB: usize = 1024 * 1024;

/// Exactly `len` bytes of whole `INSERT` lines, then newlines: cut anywhere, the text would
/// end inside a statement, which the deep check refuses as psql would read it.
fn rows(len: usize, seed: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut i = seed;
    loop {
        let row = format!("INSERT INTO public.t VALUES ({i}, {});\n", i * 7);
        if out.len() + row.len() > len {
            break;
        }
        out.extend_from_slice(row.as_bytes());
        i += 1;
    }
    out.resize(len, b'\n');
    out
}

fn gzip_member(text: &[u8], level: u32) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
    gz.write_all(text).unwrap();
    gz.finish().unwrap()
}

/// A whole member as an encoder writes it, and its text.
type Part = (Vec<u8>, Vec<u8>);

fn part(text: Vec<u8>, level: u32) -> Part {
    (gzip_member(&text, level), text)
}

/// Where the crafted bytes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// The whole file: the crafted member holds the whole dump.
    Alone,
    /// After a member with the dump's start, before one with its end.
    Middle,
    /// After a member with the dump's start.
    Last,
    /// After a member with the dump's start and 40 small members, before 40 more and the end.
    ManyMiddle,
    /// After a member with the dump's start and 80 small members.
    ManyLast,
    /// After a member with the dump's start and 1 MiB member, before the end: past 1 MiB, so
    /// the file is streamed on one thread rather than read whole.
    StreamedMiddle,
    /// After a member with the dump's start and a 1 MiB member.
    StreamedLast,
    /// After 4 MiB of 1 MiB members, before 4 more and the end: past 8 MiB, so the feeding
    /// thread reads the file.
    LargeMiddle,
    /// After 8 MiB of 1 MiB members.
    LargeLast,
}
use Layout::{
    Alone, LargeLast, LargeMiddle, Last, ManyLast, ManyMiddle, Middle, StreamedLast, StreamedMiddle,
};

impl Layout {
    /// The file is at most 1 MiB, read in one call.
    fn read_whole(self) -> bool {
        !matches!(
            self,
            StreamedMiddle | StreamedLast | LargeMiddle | LargeLast
        )
    }
}

/// Every layout of a file read whole. A file above 8 MiB takes about a second to verify in a
/// debug build, so the streamed and large layouts are added to a few cases of each kind only.
const EVERY: &[Layout] = &[Alone, Middle, Last, ManyMiddle, ManyLast];
const EVERY_AND_LARGE: &[Layout] = &[
    Alone,
    Middle,
    Last,
    ManyMiddle,
    ManyLast,
    StreamedMiddle,
    LargeMiddle,
];
/// A later member, not the first.
const LATER: &[Layout] = &[Middle, Last, ManyMiddle, ManyLast];
const LATER_AND_LARGE: &[Layout] = &[
    Middle,
    Last,
    ManyMiddle,
    ManyLast,
    StreamedMiddle,
    LargeMiddle,
];
/// Bytes at the end of the file.
const AT_END: &[Layout] = &[Alone, Last, ManyLast];
const AT_END_AND_LARGE: &[Layout] = &[Alone, Last, ManyLast, StreamedLast, LargeLast];
/// Bytes between members.
const BETWEEN_AND_LARGE: &[Layout] = &[Middle, ManyMiddle, StreamedMiddle, LargeMiddle];

/// The sizes up to which a file is read in one call (`READ_WHOLE_UP_TO`), and from which it
/// is read by the feeding thread (`LARGE_FILE`, both in src/backup/deep/mod.rs).
const READ_WHOLE_UP_TO: usize = MIB;
const LARGE_FILE: usize = 8 * MIB;

/// What the crafted bytes must decompress to, and what came before them.
struct Ctx<'a> {
    /// The text before and after the crafted spot within the crafted member.
    before: &'a [u8],
    after: &'a [u8],
    /// gzip's window as the members before left it: gzip's inflate starts each member at
    /// window offset 0 without clearing it (zeros before the first member).
    window: &'a [u8],
    /// Everything the members before decompressed to.
    history: &'a [u8],
}

impl Ctx<'_> {
    fn text(&self) -> Vec<u8> {
        [self.before, self.after].concat()
    }
}

/// Crafted bytes and the text a reader that takes them gives.
struct Crafted {
    bytes: Vec<u8>,
    text: Vec<u8>,
}

/// A member of `blocks` whose trailer is right for `text`.
fn crafted(blocks: &[Block], text: Vec<u8>) -> Crafted {
    Crafted {
        bytes: member(&deflate(blocks), &text),
        text,
    }
}

/// The crafted text in one fixed-code block, as a plain member.
fn plain(c: &Ctx) -> Crafted {
    let text = c.text();
    crafted(&[Block::fixed_text(true, &text)], text)
}

/// How deep verification must answer when `gzip -t` exits 0.
#[derive(Clone, Copy)]
enum Deep {
    /// Accept: the same stream, the same dump.
    AsGzip,
    /// Refuse, for the reason given.
    Stricter(&'static str),
}

struct Case {
    name: &'static str,
    layouts: &'static [Layout],
    make: fn(&Ctx) -> Crafted,
    /// `gzip -t`'s exit status on the file.
    gzip: i32,
    deep: Deep,
}

const fn case(
    name: &'static str,
    layouts: &'static [Layout],
    gzip: i32,
    make: fn(&Ctx) -> Crafted,
) -> Case {
    Case {
        name,
        layouts,
        make,
        gzip,
        deep: Deep::AsGzip,
    }
}

/// zlib refuses a distance past the start of the member ("invalid distance too far back"), and
/// so do `pigz -t` and `igzip -t` on these files. gzip's own inflate (not zlib) does not check:
/// it copies whatever its window holds there, zeros or the bytes of an earlier member, and the
/// case's trailer is made for those. No encoder writes such a distance; a restore through zlib
/// would fail.
const FAR_BACK: &str = "a distance before the member's first byte, which zlib refuses";

/// The 1 MiB members of a large file.
fn filler() -> &'static Part {
    static FILLER: OnceLock<Part> = OnceLock::new();
    // Stored (level 0): the file is past 8 MiB with little work.
    FILLER.get_or_init(|| part(rows(MIB, 1_000_000)[..MIB].to_vec(), 0))
}

fn large_head() -> &'static Part {
    static HEAD_PART: OnceLock<Part> = OnceLock::new();
    HEAD_PART.get_or_init(|| {
        let mut text = HEAD.to_vec();
        text.extend_from_slice(&rows(MIB - HEAD.len(), 0)[..MIB - HEAD.len()]);
        part(text, 0)
    })
}

/// 80 small members of about 2 KiB of text each, stored or compressed.
fn small_members() -> &'static [Part] {
    static SMALL: OnceLock<Vec<Part>> = OnceLock::new();
    SMALL.get_or_init(|| {
        (0..80)
            .map(|i| part(rows(2000, 10_000 * (i + 1)), [0, 1, 6][i % 3]))
            .collect()
    })
}

/// The dump's start for the small layouts: past the 4 KiB the SQL check reads first.
fn small_head() -> Vec<u8> {
    let mut text = HEAD.to_vec();
    text.extend_from_slice(&rows(6000, 0));
    text
}

/// gzip's window after inflating `parts` in order (each member starts at window offset 0).
fn gzip_window(parts: &[&Part]) -> Vec<u8> {
    let mut window = vec![0u8; WINDOW];
    for (_, text) in parts {
        for i in text.len().saturating_sub(WINDOW)..text.len() {
            window[i % WINDOW] = text[i];
        }
    }
    window
}

/// The file for `case` in `layout`, and the dump a reader that takes it gives.
fn assemble(layout: Layout, make: fn(&Ctx) -> Crafted) -> (Vec<u8>, Vec<u8>) {
    let small = part(small_head(), 6);
    let end = part(COMPLETE.to_vec(), 6);
    let fillers = |n: usize| std::iter::repeat_n(filler(), n);
    let many = small_members();
    let (before_parts, before, after, after_parts): (Vec<&Part>, Vec<u8>, &[u8], Vec<&Part>) =
        match layout {
            Alone => {
                let mut before = small_head();
                before.extend_from_slice(LINE);
                (vec![], before, COMPLETE, vec![])
            }
            Middle => (vec![&small], LINE.to_vec(), b"", vec![&end]),
            Last => (vec![&small], LINE.to_vec(), COMPLETE, vec![]),
            ManyMiddle => (
                std::iter::once(&small).chain(&many[..40]).collect(),
                LINE.to_vec(),
                b"",
                many[40..].iter().chain([&end]).collect(),
            ),
            ManyLast => (
                std::iter::once(&small).chain(many).collect(),
                LINE.to_vec(),
                COMPLETE,
                vec![],
            ),
            StreamedMiddle => (vec![&small, filler()], LINE.to_vec(), b"", vec![&end]),
            StreamedLast => (vec![&small, filler()], LINE.to_vec(), COMPLETE, vec![]),
            LargeMiddle => (
                std::iter::once(large_head()).chain(fillers(3)).collect(),
                LINE.to_vec(),
                b"",
                fillers(4).chain([&end]).collect(),
            ),
            LargeLast => (
                std::iter::once(large_head()).chain(fillers(7)).collect(),
                LINE.to_vec(),
                COMPLETE,
                vec![],
            ),
        };
    let mut history = Vec::new();
    for p in &before_parts {
        history.extend_from_slice(&p.1);
    }
    let window = gzip_window(&before_parts);
    let made = make(&Ctx {
        before: &before,
        after,
        window: &window,
        history: &history,
    });
    let mut file = Vec::new();
    let mut text = history;
    for p in &before_parts {
        file.extend_from_slice(&p.0);
    }
    file.extend_from_slice(&made.bytes);
    text.extend_from_slice(&made.text);
    for p in &after_parts {
        file.extend_from_slice(&p.0);
        text.extend_from_slice(&p.1);
    }
    let size = file.len();
    match layout {
        LargeMiddle | LargeLast => assert!(size >= LARGE_FILE, "{layout:?}: {size} bytes"),
        StreamedMiddle | StreamedLast => assert!(
            (READ_WHOLE_UP_TO + 1..LARGE_FILE).contains(&size),
            "{layout:?}: {size} bytes"
        ),
        _ => assert!(size <= READ_WHOLE_UP_TO, "{layout:?}: {size} bytes"),
    }
    (file, text)
}

/// Debian's gzip with nothing from the environment (`GZIP` would add options).
fn gzip(args: &[&str], path: &Path) -> Output {
    Command::new("gzip")
        .args(args)
        .arg(path)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .output()
        .expect("gzip (Debian's) runs: it is the oracle of these tests")
}

/// A refusal of the gzip layer: the stream, not the dump inside it (`sql` prefixes the
/// decoder's errors with `gzip: `).
fn of_the_gzip_layer(message: &str) -> bool {
    message.starts_with("gzip: ") || message.contains("gzip magic bytes")
}

fn why_refuse(gzip_status: Option<i32>, deep: Deep) -> String {
    match (gzip_status, deep) {
        (Some(0), Deep::Stricter(why)) => format!("gzip accepts it; stricter: {why}"),
        (status, _) => format!("`gzip -t` exits {status:?}"),
    }
}

/// Run every case in each of its layouts; all disagreements are reported together.
fn run(cases: &[Case]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("postgres-20261202T101500Z.sql.gz");
    let mut failures = Vec::new();
    for case in cases {
        for &layout in case.layouts {
            let what = format!("{} [{layout:?}]", case.name);
            let (bytes, text) = assemble(layout, case.make);
            std::fs::write(&path, &bytes).unwrap();
            let tested = gzip(&["-t"], &path);
            let status = tested.status.code();
            if status != Some(case.gzip) {
                failures.push(format!(
                    "{what}: `gzip -t` exits {status:?}, the case expects {} (the stream is not what the case says): {}",
                    case.gzip,
                    String::from_utf8_lossy(&tested.stderr).trim()
                ));
            }
            let accept = match (status, case.deep) {
                (Some(0), Deep::AsGzip) => {
                    let out = gzip(&["-dc"], &path);
                    if !out.status.success() || out.stdout != text {
                        failures.push(format!(
                            "{what}: `gzip -dc` gives {} bytes (exit {:?}), not the {} bytes of the dump meant",
                            out.stdout.len(),
                            out.status.code(),
                            text.len()
                        ));
                    }
                    true
                }
                _ => false,
            };
            // The restore drill's single pass (each byte decompressed once, checked and handed
            // to psql) reads the stream with its own reader: the same verdict, the same dump.
            if layout.read_whole() {
                let mut sink = Vec::new();
                let fed = stream::sql_gz_into(&mut &bytes[..], &mut sink, 64 * 1024);
                match (fed.verdict, accept) {
                    (Ok(_), true) if sink == text => {}
                    (Ok(_), true) => failures.push(format!(
                        "{what}: the drill's single pass hands on {} bytes, not the {} of the dump",
                        sink.len(),
                        text.len()
                    )),
                    (Err(refusal), false) if of_the_gzip_layer(&refusal.message) => {}
                    (Err(refusal), false) => failures.push(format!(
                        "{what}: the drill's single pass refuses, but not for the gzip stream: {refusal}"
                    )),
                    (Ok(_), false) => failures.push(format!(
                        "{what}: THE DRILL'S SINGLE PASS ACCEPTS what it must refuse ({})",
                        why_refuse(status, case.deep)
                    )),
                    (Err(refusal), true) => failures.push(format!(
                        "{what}: the drill's single pass refuses what gzip accepts: {refusal}"
                    )),
                }
            }
            let file = std::fs::File::open(&path).unwrap();
            match (inspect(&file, Format::SqlGz, Verify::Deep), accept) {
                (Ok(_), true) => {}
                (Err(refusal), false) if of_the_gzip_layer(&refusal.message) => {}
                (Err(refusal), false) => failures.push(format!(
                    "{what}: deep verification refuses, but not for the gzip stream: {refusal}"
                )),
                (Ok(found), false) => failures.push(format!(
                    "{what}: DEEP VERIFICATION ACCEPTS what it must refuse ({}): {}",
                    why_refuse(status, case.deep),
                    found.detail
                )),
                (Err(refusal), true) => failures.push(format!(
                    "{what}: deep verification refuses what gzip accepts: {refusal}"
                )),
            }
        }
    }
    assert!(failures.is_empty(), "\n{}\n", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------
// Dynamic codes

/// A complete literal/length code: literals 9 bits (1/2), end-of-block 2 bits (1/4), length
/// symbols 257..=259 6 bits (3/64) and 260..=285 7 bits (26/128).
fn lit_complete() -> Vec<u8> {
    let mut lit = vec![9u8; 256];
    lit.push(2);
    lit.extend([6u8; 3]);
    lit.extend([7u8; 26]);
    lit
}

/// A complete distance code: 0 and 1 of 4 bits, 2..=29 of 5 bits.
fn dist_complete() -> Vec<u8> {
    let mut dist = vec![4u8; 2];
    dist.extend([5u8; 28]);
    dist
}

/// `before`, REPEAT twice (the second time as a back-reference), `after`, the block's end;
/// and the text they stand for.
fn with_match(c: &Ctx) -> (Vec<Tok>, Vec<u8>) {
    let mut toks = lits(c.before);
    toks.extend(lits(REPEAT));
    toks.push(Tok::Match {
        len: REPEAT.len() as u16,
        dist: REPEAT.len() as u16,
    });
    toks.extend(lits(c.after));
    toks.push(Tok::EndOfBlock);
    let text = [c.before, REPEAT, REPEAT, c.after].concat();
    (toks, text)
}

/// One final dynamic block with `header` coding `with_match`.
fn dynamic_member(c: &Ctx, header: Dynamic) -> Crafted {
    let (toks, text) = with_match(c);
    crafted(
        &[Block::Dynamic {
            last: true,
            header,
            toks,
        }],
        text,
    )
}

fn dynamic_with(c: &Ctx, lit: &[u8], dist: &[u8]) -> Crafted {
    dynamic_member(c, Dynamic::new(lit, dist))
}

/// `before`, then "-" and nine more by a back-reference at distance 1 (coded with `dist_toks`
/// after the length symbol of 9), "\n", `after`.
fn run_of_dashes(c: &Ctx, dist_toks: &[Tok]) -> (Vec<Tok>, Vec<u8>) {
    let mut toks = lits(c.before);
    toks.push(Tok::Lit(b'-'));
    toks.push(Tok::Sym(263)); // length 9
    toks.extend_from_slice(dist_toks);
    toks.push(Tok::Lit(b'\n'));
    toks.extend(lits(c.after));
    toks.push(Tok::EndOfBlock);
    let text = [c.before, b"----------\n", c.after].concat();
    (toks, text)
}

fn dynamic_dashes(c: &Ctx, dist: &[u8], dist_toks: &[Tok]) -> Crafted {
    let (toks, text) = run_of_dashes(c, dist_toks);
    crafted(
        &[Block::Dynamic {
            last: true,
            header: Dynamic::new(&lit_complete(), dist),
            toks,
        }],
        text,
    )
}

#[test]
fn dynamic_code_sets_are_judged_as_gzip_judges_them() {
    run(&[
        case(
            "dynamic codes, complete (control)",
            EVERY_AND_LARGE,
            0,
            |c| dynamic_with(c, &lit_complete(), &dist_complete()),
        ),
        case(
            "literal/length code incomplete (no code for 0xff)",
            EVERY_AND_LARGE,
            1,
            |c| {
                let mut lit = lit_complete();
                lit[0xff] = 0;
                dynamic_with(c, &lit, &dist_complete())
            },
        ),
        case(
            "literal/length code over-subscribed (end-of-block of 1 bit)",
            EVERY,
            1,
            |c| {
                let mut lit = lit_complete();
                lit[256] = 1;
                dynamic_with(c, &lit, &dist_complete())
            },
        ),
        case("distance code incomplete (no code for 29)", EVERY, 1, |c| {
            let mut dist = dist_complete();
            dist[29] = 0;
            dynamic_with(c, &lit_complete(), &dist)
        }),
        case(
            "distance code over-subscribed (0 of 1 bit)",
            EVERY,
            1,
            |c| {
                let mut dist = dist_complete();
                dist[0] = 1;
                dynamic_with(c, &lit_complete(), &dist)
            },
        ),
        // RFC 1951 3.2.7: one distance code of one bit; zlib and gzip accept the half-empty
        // code this is.
        case(
            "a single distance code of 1 bit (incomplete, accepted)",
            EVERY_AND_LARGE,
            0,
            |c| dynamic_dashes(c, &[1], &[Tok::DistSym(0)]),
        ),
        case(
            "a single distance code of 1 bit, the missing code used",
            EVERY,
            1,
            |c| dynamic_dashes(c, &[1], &[Tok::Raw { value: 1, count: 1 }]),
        ),
        case("a single distance code of 2 bits", EVERY, 1, |c| {
            dynamic_dashes(c, &[2], &[Tok::DistSym(0)])
        }),
        case(
            "a single distance code of 1 bit among 30 lengths",
            EVERY,
            0,
            |c| {
                let mut dist = vec![0u8; 30];
                dist[0] = 1;
                dynamic_dashes(c, &dist, &[Tok::DistSym(0)])
            },
        ),
        case("no distance code at all, literals only", EVERY, 0, |c| {
            let mut toks = lits(&c.text());
            toks.push(Tok::EndOfBlock);
            crafted(
                &[Block::Dynamic {
                    last: true,
                    header: Dynamic::new(&lit_complete(), &[0]),
                    toks,
                }],
                c.text(),
            )
        }),
        case(
            "no distance code at all, a back-reference used",
            EVERY,
            1,
            |c| dynamic_dashes(c, &[0], &[Tok::Raw { value: 0, count: 5 }]),
        ),
        case(
            "end-of-block the only literal/length code (1 bit)",
            EVERY,
            0,
            |c| {
                let mut lit = vec![0u8; 256];
                lit.push(1);
                let text = c.text();
                crafted(
                    &[
                        Block::fixed_text(false, &text),
                        Block::Dynamic {
                            last: true,
                            header: Dynamic::new(&lit, &[0]),
                            toks: vec![Tok::EndOfBlock],
                        },
                    ],
                    text,
                )
            },
        ),
        case("no code for end-of-block", EVERY, 1, |c| {
            // Literals of 8 bits: complete without end-of-block, so the block cannot end.
            let mut lit = vec![8u8; 256];
            lit.push(0);
            crafted(
                &[Block::Dynamic {
                    last: true,
                    header: Dynamic::new(&lit, &[0]),
                    toks: lits(&c.text()),
                }],
                c.text(),
            )
        }),
        case(
            "code-length repeat one past the last distance length",
            EVERY,
            1,
            |c| {
                let mut header = Dynamic::new(&lit_complete(), &dist_complete());
                // The last two lengths (5, as the one before them) as a repeat of three.
                header.cl_symbols.truncate(header.cl_symbols.len() - 2);
                header.cl_symbols.push((16, 3));
                dynamic_member(c, header)
            },
        ),
        case(
            "code-length zero run past the last distance length",
            EVERY,
            1,
            |c| {
                let mut dist = dist_complete();
                dist[29] = 0;
                dist[28] = 0;
                // Complete again without them: 4 codes of 4 bits, 24 of 5 bits.
                dist[2] = 4;
                dist[3] = 4;
                let mut header = Dynamic::new(&lit_complete(), &dist);
                header.cl_symbols.truncate(header.cl_symbols.len() - 2);
                header.cl_symbols.push((17, 3));
                dynamic_member(c, header)
            },
        ),
        case(
            "code-length repeat with no length before it",
            EVERY,
            1,
            |c| {
                let mut header = Dynamic::new(&lit_complete(), &dist_complete());
                header.cl_symbols.splice(0..3, [(16, 3)]);
                dynamic_member(c, header)
            },
        ),
        // RFC 1951 3.2.7: the lengths are one sequence, so a run may cross from the
        // literal/length lengths into the distance lengths.
        case(
            "a zero run from the literal/length lengths into the distance lengths",
            EVERY,
            0,
            |c| {
                let mut lit = vec![9u8; 256];
                lit.push(2);
                lit.extend([6u8; 16]); // 257..=272
                lit.extend([0u8; 13]); // 273..=285
                let mut dist = vec![0u8; 2];
                dist.extend([4u8; 4]); // 2..=5
                dist.extend([5u8; 24]); // 6..=29
                let mut header = Dynamic::new(&lit, &dist);
                let symbols: Vec<(u8, u32)> = lit[..273]
                    .iter()
                    .map(|&l| (l, 0))
                    .chain([(18, 15)])
                    .chain(dist[2..].iter().map(|&l| (l, 0)))
                    .collect();
                header.cl_symbols = symbols;
                dynamic_member(c, header)
            },
        ),
        case("HLIT 287 (a length for symbol 286)", EVERY, 1, |c| {
            let mut lit = lit_complete();
            lit.push(0);
            dynamic_with(c, &lit, &dist_complete())
        }),
        case("HLIT 288 (lengths for 286 and 287)", EVERY, 1, |c| {
            let mut lit = lit_complete();
            lit.extend([0, 0]);
            dynamic_with(c, &lit, &dist_complete())
        }),
        case(
            "HLIT 288 with codes for 286 and 287, 286 used",
            EVERY_AND_LARGE,
            1,
            |c| {
                // 284..=287 of 8 bits take the room 284 and 285 had at 7: complete.
                let mut lit = lit_complete();
                lit[284] = 8;
                lit[285] = 8;
                lit.extend([8, 8]);
                let header = Dynamic::new(&lit, &dist_complete());
                let mut toks = lits(c.before);
                toks.push(Tok::Sym(286));
                toks.extend(lits(c.after));
                toks.push(Tok::EndOfBlock);
                crafted(
                    &[Block::Dynamic {
                        last: true,
                        header,
                        toks,
                    }],
                    c.text(),
                )
            },
        ),
        case(
            "HDIST 32 with codes for 30 and 31, 30 used",
            EVERY_AND_LARGE,
            1,
            |c| {
                // 28..=31 of 6 bits take the room 28 and 29 had at 5: complete.
                let mut dist = dist_complete();
                dist[28] = 6;
                dist[29] = 6;
                dist.extend([6, 6]);
                let header = Dynamic::new(&lit_complete(), &dist);
                let mut toks = lits(c.before);
                toks.extend([Tok::Lit(b'-'), Tok::Sym(257), Tok::DistSym(30)]);
                toks.extend(lits(c.after));
                toks.push(Tok::EndOfBlock);
                crafted(
                    &[Block::Dynamic {
                        last: true,
                        header,
                        toks,
                    }],
                    [c.before, b"-", c.after].concat(),
                )
            },
        ),
        case("HDIST 31 (a length for distance 30)", EVERY, 1, |c| {
            let mut dist = dist_complete();
            dist.push(0);
            dynamic_with(c, &lit_complete(), &dist)
        }),
        case("HDIST 32 (lengths for 30 and 31)", EVERY, 1, |c| {
            let mut dist = dist_complete();
            dist.extend([0, 0]);
            dynamic_with(c, &lit_complete(), &dist)
        }),
        case(
            "code-length code incomplete (no code for 18)",
            EVERY,
            1,
            |c| {
                let mut header = Dynamic::new(&lit_complete(), &dist_complete());
                header.cl_lengths[18] = 0;
                dynamic_member(c, header)
            },
        ),
        case(
            "code-length code over-subscribed (18 of 1 bit)",
            EVERY,
            1,
            |c| {
                let mut header = Dynamic::new(&lit_complete(), &dist_complete());
                header.cl_lengths = CL_COMPLETE;
                header.cl_lengths[18] = 1;
                dynamic_member(c, header)
            },
        ),
    ]);
}

// ---------------------------------------------------------------------------------------
// Fixed codes: symbols that have a code but no meaning

fn fixed_with(c: &Ctx, middle: &[Tok], middle_text: &[u8]) -> Crafted {
    let mut toks = lits(c.before);
    toks.extend_from_slice(middle);
    toks.extend(lits(c.after));
    toks.push(Tok::EndOfBlock);
    let text = [c.before, middle_text, c.after].concat();
    crafted(&[Block::Fixed { last: true, toks }], text)
}

#[test]
fn fixed_code_symbols_out_of_range_are_refused_as_gzip_refuses_them() {
    run(&[
        case(
            "fixed codes with a back-reference (control)",
            EVERY_AND_LARGE,
            0,
            |c| {
                let (toks, text) = with_match(c);
                crafted(&[Block::Fixed { last: true, toks }], text)
            },
        ),
        case("literal/length symbol 286", EVERY_AND_LARGE, 1, |c| {
            fixed_with(c, &[Tok::Sym(286)], b"")
        }),
        case("literal/length symbol 287", EVERY, 1, |c| {
            fixed_with(c, &[Tok::Sym(287)], b"")
        }),
        case("distance symbol 30", EVERY, 1, |c| {
            fixed_with(c, &[Tok::Lit(b'-'), Tok::Sym(257), Tok::DistSym(30)], b"-")
        }),
        case("distance symbol 31", EVERY, 1, |c| {
            fixed_with(c, &[Tok::Lit(b'-'), Tok::Sym(257), Tok::DistSym(31)], b"-")
        }),
        // Symbol 284 with all five extra bits set is 227 + 31 = 258, which RFC 1951 codes
        // as 285 only; zlib and gzip both take it as 258.
        case("length 258 as symbol 284 plus 31", EVERY, 0, |c| {
            let mut dashes = vec![b'-'; 259];
            dashes.push(b'\n');
            fixed_with(
                c,
                &[
                    Tok::Lit(b'-'),
                    Tok::Sym(284),
                    Tok::Raw {
                        value: 31,
                        count: 5,
                    },
                    Tok::DistSym(0),
                    Tok::Lit(b'\n'),
                ],
                &dashes,
            )
        }),
    ]);
}

// ---------------------------------------------------------------------------------------
// Blocks

#[test]
fn block_structure_is_judged_as_gzip_judges_it() {
    run(&[
        case(
            "stored blocks, an empty one between (control)",
            EVERY,
            0,
            |c| {
                crafted(
                    &[
                        Block::stored(false, c.before),
                        Block::stored(false, b""),
                        Block::stored(true, c.after),
                    ],
                    c.text(),
                )
            },
        ),
        case(
            "stored block whose NLEN is not LEN's complement",
            EVERY_AND_LARGE,
            1,
            |c| {
                let text = c.text();
                let len = text.len() as u16;
                crafted(
                    &[Block::Stored {
                        last: true,
                        data: text.clone(),
                        len: None,
                        nlen: Some(!len ^ 1),
                    }],
                    text,
                )
            },
        ),
        case(
            "stored block whose LEN runs past the member",
            EVERY,
            1,
            |c| {
                let text = c.text();
                let len = text.len() as u16 + 1000;
                crafted(
                    &[Block::Stored {
                        last: true,
                        data: text.clone(),
                        len: Some(len),
                        nlen: Some(!len),
                    }],
                    text,
                )
            },
        ),
        case("block type 3", EVERY, 1, |c| {
            let text = c.text();
            crafted(
                &[
                    Block::fixed_text(false, &text),
                    Block::Reserved { last: true },
                ],
                text,
            )
        }),
        case("the final block without its end-of-block", EVERY, 1, |c| {
            let text = c.text();
            crafted(
                &[Block::Fixed {
                    last: true,
                    toks: lits(&text),
                }],
                text,
            )
        }),
        case("no final block", EVERY_AND_LARGE, 1, |c| {
            let text = c.text();
            crafted(&[Block::fixed_text(false, &text)], text)
        }),
        case("a block after the final block", EVERY, 1, |c| {
            let text = c.text();
            crafted(
                &[
                    Block::fixed_text(true, &text),
                    Block::fixed_text(true, b"--\n"),
                ],
                text,
            )
        }),
        case(
            "one bits after the final block, up to its byte's end",
            EVERY_AND_LARGE,
            0,
            |c| {
                let text = c.text();
                let blocks = [Block::fixed_text(true, &text), Block::OnesToBoundary];
                assert_ne!(
                    deflate(&blocks),
                    deflate(&blocks[..1]),
                    "the final block ends on a byte boundary: no padding bits to set"
                );
                crafted(&blocks, text)
            },
        ),
    ]);
}

// ---------------------------------------------------------------------------------------
// Distances

/// What gzip's inflate gives for a back-reference of `len` at distance `dist` after `out`
/// (this member's text so far): its window as earlier members left it, overwritten by this
/// member from offset 0 on.
fn gzip_copy(window: &[u8], out: &[u8], dist: usize, len: usize) -> Vec<u8> {
    let mut w = window.to_vec();
    for (i, &b) in out.iter().enumerate() {
        w[i % WINDOW] = b;
    }
    let mut copied = Vec::with_capacity(len);
    for k in 0..len {
        let at = out.len() + k;
        let b = w[(at + WINDOW - dist) % WINDOW];
        w[at % WINDOW] = b;
        copied.push(b);
    }
    copied
}

/// A fixed block: `before`, a back-reference of 3 at `dist`, `after`; its text with the
/// copied bytes `copied` (what the reader that accepts it gives).
fn back_reference(c: &Ctx, dist: usize, copied: &[u8]) -> Crafted {
    assert!((1..=WINDOW).contains(&dist), "distance {dist}");
    fixed_with(
        c,
        &[Tok::Match {
            len: copied.len() as u16,
            dist: dist as u16,
        }],
        copied,
    )
}

#[test]
fn distances_are_judged_as_zlib_judges_them() {
    run(&[
        case(
            "a distance to the member's first byte (control)",
            EVERY_AND_LARGE,
            0,
            |c| back_reference(c, c.before.len(), &c.before[..3]),
        ),
        case(
            "distance 32768, the window's size (control)",
            EVERY,
            0,
            |c| {
                let pad = rows(WINDOW, 7);
                let before = [c.before, &pad].concat();
                let at = before.len() - WINDOW;
                let copied = before[at..at + 10].to_vec();
                fixed_with(
                    c,
                    &[
                        lits(&pad),
                        vec![Tok::Match {
                            len: 10,
                            dist: WINDOW as u16,
                        }],
                    ]
                    .concat(),
                    &[&pad[..], &copied].concat(),
                )
            },
        ),
        Case {
            deep: Deep::Stricter(FAR_BACK),
            ..case(
                "a distance one byte before the member's start, gzip's window bytes in the trailer",
                EVERY_AND_LARGE,
                0,
                |c| {
                    let dist = c.before.len() + 1;
                    back_reference(c, dist, &gzip_copy(c.window, c.before, dist, 3))
                },
            )
        },
        // What a reader that carried its window from one member into the next would give:
        // gzip's window does not hold those bytes where the member before was not a multiple
        // of 32 KiB long (in the large layouts it is, and this is the case above).
        case(
            "a distance one byte into the member before, that member's byte in the trailer",
            LATER,
            1,
            |c| {
                let dist = c.before.len() + 1;
                let copied = [&c.history[c.history.len() - 1..], &c.before[..2]].concat();
                back_reference(c, dist, &copied)
            },
        ),
        Case {
            deep: Deep::Stricter(FAR_BACK),
            ..case(
                "a distance before the file's first byte in a later member",
                &[Middle, Last],
                0,
                |c| {
                    let dist = c.history.len() + c.before.len() + 100;
                    back_reference(c, dist, &gzip_copy(c.window, c.before, dist, 3))
                },
            )
        },
    ]);
}

// ---------------------------------------------------------------------------------------
// Trailers

/// The plain member with byte `at` from its end flipped.
fn flipped_from_end(c: &Ctx, at: usize) -> Crafted {
    let mut made = plain(c);
    let i = made.bytes.len() - at;
    made.bytes[i] ^= 1;
    made
}

fn cut_from_end(c: &Ctx, by: usize) -> Crafted {
    let mut made = plain(c);
    made.bytes.truncate(made.bytes.len() - by);
    made
}

#[test]
fn trailers_are_judged_as_gzip_judges_them() {
    run(&[
        case("plain member (control)", EVERY_AND_LARGE, 0, plain),
        case("wrong CRC-32", EVERY_AND_LARGE, 1, |c| {
            flipped_from_end(c, 8)
        }),
        case("wrong CRC-32 in its last byte", EVERY, 1, |c| {
            flipped_from_end(c, 5)
        }),
        case("wrong ISIZE", EVERY_AND_LARGE, 1, |c| {
            flipped_from_end(c, 4)
        }),
        case("wrong ISIZE in its last byte", EVERY, 1, |c| {
            flipped_from_end(c, 1)
        }),
        case("trailer without ISIZE", EVERY, 1, |c| cut_from_end(c, 4)),
        case("trailer of one byte", EVERY, 1, |c| cut_from_end(c, 7)),
        case("no trailer", EVERY_AND_LARGE, 1, |c| cut_from_end(c, 8)),
    ]);
}

// ---------------------------------------------------------------------------------------
// Headers

/// The crafted text in a member whose header is `header`.
fn headed(c: &Ctx, header: &[u8]) -> Crafted {
    let text = c.text();
    Crafted {
        bytes: member_with(header, &deflate(&[Block::fixed_text(true, &text)]), &text),
        text,
    }
}

/// The plain member with header byte `at` set to `value`.
fn header_byte(c: &Ctx, at: usize, value: u8) -> Crafted {
    let mut h = header(0, &[]);
    h[at] = value;
    headed(c, &h)
}

#[test]
fn headers_are_judged_as_gzip_judges_them() {
    run(&[
        case("header CRC right", EVERY_AND_LARGE, 0, |c| {
            headed(c, &with_header_crc(header(FHCRC, &[])))
        }),
        case("header CRC wrong", EVERY_AND_LARGE, 1, |c| {
            let mut h = with_header_crc(header(FHCRC, &[]));
            let last = h.len() - 1;
            h[last] ^= 1;
            headed(c, &h)
        }),
        case(
            "header CRC right over an extra field, a name and a comment",
            EVERY,
            0,
            |c| {
                let fields = [&[4u8, 0][..], b"AB\0\0", b"dump.sql\0", b"comment\0"].concat();
                headed(
                    c,
                    &with_header_crc(header(FHCRC | FEXTRA | FNAME | FCOMMENT, &fields)),
                )
            },
        ),
        case(
            "header CRC wrong over an extra field, a name and a comment",
            EVERY,
            1,
            |c| {
                let fields = [&[4u8, 0][..], b"AB\0\0", b"dump.sql\0", b"comment\0"].concat();
                let mut h = with_header_crc(header(FHCRC | FEXTRA | FNAME | FCOMMENT, &fields));
                // The CRC of the header without its comment.
                let without = h.len() - 2 - b"comment\0".len();
                let crc = (crc32(&h[..without]) as u16).to_le_bytes();
                let end = h.len();
                h[end - 2..].copy_from_slice(&crc);
                headed(c, &h)
            },
        ),
        // Readers skip XLEN bytes; the subfields inside are not theirs to check.
        case(
            "extra field whose subfield claims more than XLEN",
            EVERY,
            0,
            |c| headed(c, &header(FEXTRA, &[5, 0, b'A', b'B', 0xff, 0xff, 0])),
        ),
        case("extra field longer than the file", AT_END, 1, |c| {
            headed(c, &header(FEXTRA, &[0xff, 0xff, b'A', b'B', 0, 0]))
        }),
        case("file name running to the end of the file", AT_END, 1, |c| {
            let mut made = plain(c);
            made.bytes = header(FNAME, b"dump.sql");
            made
        }),
        case("FTEXT set", EVERY, 0, |c| header_byte(c, 3, 0x01)),
        case("reserved flag 0x20", EVERY_AND_LARGE, 1, |c| {
            header_byte(c, 3, 0x20)
        }),
        case("reserved flag 0x40", EVERY, 1, |c| header_byte(c, 3, 0x40)),
        case("reserved flag 0x80", EVERY, 1, |c| header_byte(c, 3, 0x80)),
        case("compression method 7", EVERY_AND_LARGE, 1, |c| {
            header_byte(c, 2, 7)
        }),
        case("compression method 0", EVERY, 1, |c| header_byte(c, 2, 0)),
        case("ID2 wrong in the first member", &[Alone], 1, |c| {
            header_byte(c, 1, 0x8c)
        }),
        // gzip stops at a later "member" without the magic bytes, warns that it ignored them
        // and exits 2; the dump after them is never read.
        case("ID2 wrong in a later member", LATER_AND_LARGE, 2, |c| {
            header_byte(c, 1, 0x8c)
        }),
        case("ID1 wrong in a later member", LATER, 2, |c| {
            header_byte(c, 0, 0x1e)
        }),
    ]);
}

// ---------------------------------------------------------------------------------------
// Around members

fn empty_member() -> Vec<u8> {
    member(&deflate(&[Block::fixed_text(true, b"")]), b"")
}

fn plain_then(c: &Ctx, bytes: &[u8]) -> Crafted {
    let mut made = plain(c);
    made.bytes.extend_from_slice(bytes);
    made
}

#[test]
fn bytes_around_members_are_judged_as_gzip_judges_them() {
    run(&[
        case("an empty member after", EVERY_AND_LARGE, 0, |c| {
            plain_then(c, &empty_member())
        }),
        case("an empty member before", EVERY_AND_LARGE, 0, |c| {
            let mut made = plain(c);
            made.bytes = [empty_member(), made.bytes].concat();
            made
        }),
        case("an empty stored member after", EVERY, 0, |c| {
            plain_then(c, &member(&deflate(&[Block::stored(true, b"")]), b""))
        }),
        Case {
            // gzip ignores zeros after the last member (tape blocking) unless asked to be
            // verbose. Deep verification reads nothing but members to the end: a backup
            // writer writes no zeros, and zeros where a file should end are a sign of damage
            // (a preallocated or partly lost write).
            deep: Deep::Stricter("nothing but members to the file's end, zeros included"),
            ..case(
                "zero bytes after the last member",
                AT_END_AND_LARGE,
                0,
                |c| plain_then(c, &[0u8; 512]),
            )
        },
        Case {
            deep: Deep::Stricter("nothing but members to the file's end, zeros included"),
            ..case("one zero byte after the last member", AT_END, 0, |c| {
                plain_then(c, &[0u8])
            })
        },
        case("zero bytes between members", BETWEEN_AND_LARGE, 2, |c| {
            plain_then(c, &[0u8; 512])
        }),
        case("garbage after the last member", AT_END_AND_LARGE, 2, |c| {
            plain_then(c, b"not a member\n")
        }),
        case("garbage between members", BETWEEN_AND_LARGE, 2, |c| {
            plain_then(c, b"not a member\n")
        }),
        case("ID1 alone after the last member", AT_END, 1, |c| {
            plain_then(c, &[0x1f])
        }),
        case(
            "magic bytes alone after the last member",
            AT_END_AND_LARGE,
            1,
            |c| plain_then(c, &[0x1f, 0x8b]),
        ),
        case("a header alone after the last member", AT_END, 1, |c| {
            plain_then(c, &header(0, &[]))
        }),
        case(
            "a member cut in its deflate data after the last",
            AT_END,
            1,
            |c| {
                let next = gzip_member(&rows(4000, 3), 6);
                plain_then(c, &next[..next.len() / 2])
            },
        ),
    ]);
}
