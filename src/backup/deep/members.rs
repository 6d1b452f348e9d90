//! A multi-member gzip file (as `backup_before_apply` writes it: one member per MiB of input)
//! inflated on two cores, with the very verdict of the one-core reader.
//!
//! The gates do not use it since ISA-L inflates (session 8; docs/dispatch.md, "Speed"): on
//! a 2-core machine, where the feeding thread hashes on the other core, one thread inflating
//! with ISA-L takes about what `igzip -t` takes, and a tenth to a fifth less CPU time than
//! this reader's threads. It stays tested and fuzzed against the one-core reader
//! (`deep::gunzip`), for a machine with cores to spare.
//!
//! The compressed bytes come through a window. Each round, this thread inflates members one
//! after the other from the first byte of the window, and a helper thread inflates members
//! from a guessed boundary further on: the first place after the split point where the gzip
//! magic bytes stand. The guess is never trusted: a member's end is only ever known by
//! inflating it to its trailer (CRC-32 and length checked), and the helper's work is used only
//! when this thread's own chain of members ends exactly where the helper started. Otherwise
//! (the magic bytes were inside compressed data, or a member was damaged) it is thrown away.
//!
//! Whenever the chain cannot go on (a member larger than the window or the output buffer, as
//! in a single-member file; a damaged member; bytes after the last member), the rest of the
//! file, from the exact end of the last member inflated, goes to the sequential
//! multi-member reader (`isal_gzip::IsalMembers`), which gives the verdict the one-core reader gives. So this reader
//! hands out exactly the bytes that one would, and fails exactly where it does.

use super::isal::RawInflate;
use super::isal_gzip::{IsalMembers, MAGIC, member_in};
use std::io::{self, BufRead, Chain, Cursor, Read};

/// The one-core reader, from the exact end of the last member inflated on.
type Sequential<R> = IsalMembers<Chain<Cursor<Vec<u8>>, R>>;

/// Buffer sizes: compressed bytes per round, and decompressed bytes each thread may hold.
#[derive(Debug, Clone, Copy)]
pub(super) struct Sizes {
    pub window: usize,
    pub output: usize,
}

/// 4 MiB of compressed input and 6 MiB of output for each thread: about eight members of
/// text a round (so that the member cut by the window's end, inflated again next round, is a
/// small share), and 16 MiB of buffers in all.
#[cfg(test)]
pub(super) const SIZES: Sizes = Sizes {
    window: 4 * 1024 * 1024,
    output: 6 * 1024 * 1024,
};

/// The decompressed stream of every member of `raw`, read from its first byte.
pub(super) struct Members<R: BufRead> {
    sizes: Sizes,
    /// `None` once the sequential reader took it over.
    raw: Option<R>,
    raw_ended: bool,
    /// Compressed bytes from the exact start of the next member on.
    window: Vec<u8>,
    /// This thread's and the helper's output of the last round, and how much of each is
    /// valid and handed out.
    ours: Vec<u8>,
    theirs: Vec<u8>,
    ours_len: usize,
    theirs_len: usize,
    handed: usize,
    /// Compressed and decompressed bytes so far, to place the split where each side's output
    /// fits its buffer.
    total_in: u64,
    total_out: u64,
    members: u64,
    /// The first round inflates alone: a file whose first member does not fit goes to the
    /// sequential reader without starting a thread.
    first: bool,
    sequential: Option<Box<Sequential<R>>>,
    /// Rounds whose helper's work was used, and thrown away (the tests look at them).
    #[cfg(test)]
    helped: (usize, usize),
}

impl<R: BufRead> Members<R> {
    pub fn new(raw: R, sizes: Sizes) -> Members<R> {
        Members {
            sizes,
            raw: Some(raw),
            raw_ended: false,
            window: Vec::with_capacity(sizes.window),
            ours: vec![0; sizes.output],
            theirs: Vec::new(),
            ours_len: 0,
            theirs_len: 0,
            handed: 0,
            total_in: 0,
            total_out: 0,
            members: 0,
            first: true,
            sequential: None,
            #[cfg(test)]
            helped: (0, 0),
        }
    }

    /// Top the window up to its size from `raw`.
    fn fill(&mut self) -> io::Result<()> {
        let Some(raw) = self.raw.as_mut() else {
            return Ok(());
        };
        while !self.raw_ended && self.window.len() < self.sizes.window {
            let available = match raw.fill_buf() {
                Ok(available) => available,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                self.raw_ended = true;
                break;
            }
            let take = available.len().min(self.sizes.window - self.window.len());
            self.window.extend_from_slice(&available[..take]);
            raw.consume(take);
        }
        Ok(())
    }

    /// Where the helper starts: the first magic bytes after a point chosen so that both
    /// threads get about as many whole members (this thread inflates on to the next boundary
    /// past the point, the helper loses the member cut by the window's end: about half a
    /// member each, by the average member so far) and this thread's share fits its output
    /// buffer (by the ratio so far). `None`: no helper this round.
    fn split(&self) -> Option<usize> {
        if self.first {
            return None;
        }
        let average = self.total_in / self.members.max(1);
        let even = (self.window.len() as u64 / 2).saturating_sub(average * 3 / 4);
        let ratio = (self.total_out / self.total_in.max(1)).max(1);
        let fits = self.sizes.output as u64 * 3 / 4 / ratio;
        let from = usize::try_from(even.min(fits)).unwrap_or(usize::MAX);
        let rest = self.window.get(from.max(1)..)?;
        rest.windows(MAGIC.len())
            .position(|w| w == MAGIC)
            .map(|at| from.max(1) + at)
    }

    /// One round: inflate what the window holds, on two threads when there is a split.
    /// Returns false when no member could be inflated from the window's first byte.
    fn round(&mut self) -> bool {
        let split = self.split();
        let window = &self.window;
        let output = self.sizes.output;
        // The helper leaves a last member that is likely cut by the window's end (shorter
        // than the average member) to the next round rather than inflate part of it twice.
        let tail = if self.raw_ended {
            0
        } else {
            usize::try_from(self.total_in / self.members.max(1)).unwrap_or(0)
        };
        if split.is_some() && self.theirs.len() != output {
            self.theirs = vec![0; output];
        }
        // The first round only has to find out whether members are small.
        let limit = if self.first { output / 4 } else { output };
        let ours = self.ours.get_mut(..limit).unwrap_or_default();
        let theirs = &mut self.theirs;
        let (mine, helped) = std::thread::scope(|scope| {
            // No thread to be had (a limit on processes): this round goes without a helper.
            let helper = split.and_then(|at| {
                let input = window.get(at..).unwrap_or_default();
                std::thread::Builder::new()
                    .spawn_scoped(scope, move || chain(input, theirs, None, tail))
                    .ok()
            });
            let mine = chain(window, ours, split, 0);
            // A helper that failed (it cannot panic on input) only loses its work.
            let helped = helper.and_then(|h| h.join().ok());
            (mine, helped)
        });
        let mut consumed = mine.consumed;
        let mut members = mine.members;
        self.ours_len = mine.produced;
        self.theirs_len = 0;
        if let (Some(at), Some(helped)) = (split, helped) {
            let landed = consumed == at;
            #[cfg(test)]
            if landed && helped.consumed > 0 {
                self.helped.0 += 1;
            } else {
                self.helped.1 += 1;
            }
            if landed {
                consumed += helped.consumed;
                members += helped.members;
                self.theirs_len = helped.produced;
            }
        }
        self.handed = 0;
        self.first = false;
        if consumed == 0 {
            return false;
        }
        let produced = self.ours_len + self.theirs_len;
        self.total_in = self.total_in.saturating_add(consumed as u64);
        self.total_out = self.total_out.saturating_add(produced as u64);
        self.members = self.members.saturating_add(members);
        self.window.drain(..consumed);
        true
    }

    /// From the start of the window on, the sequential reader decides.
    fn go_sequential(&mut self) {
        if let Some(raw) = self.raw.take() {
            let rest = std::mem::take(&mut self.window);
            self.sequential = Some(Box::new(IsalMembers::new(Cursor::new(rest).chain(raw))));
            self.ours = Vec::new();
            self.theirs = Vec::new();
        }
    }
}

impl<R: BufRead> Read for Members<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(sequential) = self.sequential.as_mut() {
                return sequential.read(buf);
            }
            let pending = if self.handed < self.ours_len {
                self.ours.get(self.handed..self.ours_len)
            } else {
                let from = self.handed - self.ours_len;
                self.theirs.get(from..self.theirs_len)
            }
            .unwrap_or_default();
            if !pending.is_empty() {
                let n = pending.len().min(buf.len());
                buf[..n].copy_from_slice(&pending[..n]);
                self.handed += n;
                return Ok(n);
            }
            self.fill()?;
            // The end, after at least one member (an empty stream is the sequential
            // reader's to refuse).
            if self.window.is_empty() && self.raw_ended && self.total_in > 0 {
                return Ok(0);
            }
            if self.window.is_empty() || !self.round() {
                self.go_sequential();
            }
        }
    }
}

/// What one thread's chain of members came to.
struct Chained {
    /// Compressed bytes of the whole members inflated, from the chain's start.
    consumed: usize,
    /// Their decompressed bytes, at the start of the output buffer.
    produced: usize,
    members: u64,
}

/// Inflate whole members one after the other from `input[0]` into `out`, until one does not
/// inflate (damaged, cut by the window's end, or larger than what is left of `out`), or the
/// input ends. With `stop`, also when the chain reaches or passes that offset (where another
/// thread started); and before a member when fewer than `tail` bytes are left.
fn chain(input: &[u8], out: &mut [u8], stop: Option<usize>, tail: usize) -> Chained {
    let mut done = Chained {
        consumed: 0,
        produced: 0,
        members: 0,
    };
    let mut inflate: Option<RawInflate> = None;
    while done.consumed < input.len() && stop.is_none_or(|at| done.consumed < at) {
        let (Some(rest), Some(room)) = (input.get(done.consumed..), out.get_mut(done.produced..))
        else {
            break;
        };
        if rest.len() < tail {
            break;
        }
        let inflate = inflate.get_or_insert_with(RawInflate::new);
        let Some((used, produced)) = member_in(inflate, rest, room) else {
            break;
        };
        if used == 0 {
            break;
        }
        done.consumed += used;
        done.produced += produced;
        done.members += 1;
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;

    const SMALL: Sizes = Sizes {
        window: 4096,
        output: 16 * 1024,
    };

    fn member_of(bytes: &[u8], level: u32) -> Vec<u8> {
        let mut gz = GzEncoder::new(Vec::new(), Compression::new(level));
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    }

    /// `content` cut into `block`-byte members, as `backup_before_apply` writes a file.
    fn multi(content: &[u8], block: usize, level: u32) -> Vec<u8> {
        content
            .chunks(block)
            .flat_map(|c| member_of(c, level))
            .collect()
    }

    fn text(len: usize, seed: u32) -> Vec<u8> {
        let words: [&[u8]; 6] = [
            b"alpha ", b"beta ", b"gamma\n", b"delta ", b"eps ", b"zeta\t",
        ];
        let mut x = seed;
        (0..len)
            .flat_map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                words[(x >> 16) as usize % words.len()].iter().copied()
            })
            .take(len)
            .collect()
    }

    /// The whole stream or the error (its kind and message) read through `r`.
    fn read_all(mut r: impl Read) -> Result<Vec<u8>, (io::ErrorKind, String)> {
        let mut out = Vec::new();
        let mut buf = [0u8; 777];
        loop {
            match r.read(&mut buf) {
                Ok(0) => return Ok(out),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) => return Err((e.kind(), e.to_string())),
            }
        }
    }

    /// What the two-core reader gives for `file` must be what the one-core reader gives.
    /// Returns how many rounds used the helper's work.
    fn same_as_sequential(file: &[u8], sizes: Sizes, what: &str) -> usize {
        let expected = read_all(IsalMembers::new(file));
        let mut members = Members::new(io::BufReader::with_capacity(1000, file), sizes);
        let got = read_all(&mut members);
        assert!(
            got == expected,
            "{what}: two cores {:?}, one core {:?}",
            got.as_ref().map(Vec::len),
            expected.as_ref().map(Vec::len)
        );
        // And the verdict and bytes of zlib's reader.
        let zlib = read_all(flate2::bufread::MultiGzDecoder::new(file));
        assert!(
            got.as_ref().ok() == zlib.as_ref().ok(),
            "{what}: two cores {:?}, zlib {:?}",
            got.as_ref().map(Vec::len),
            zlib.as_ref().map(Vec::len)
        );
        members.helped.0
    }

    #[test]
    fn members_give_the_stream_of_the_one_core_reader_whatever_the_sizes() {
        let content = text(200_000, 1);
        let zeros = vec![0u8; 150_000];
        for (what, file) in [
            ("text, 1 KiB members", multi(&content, 1024, 1)),
            ("text, 3000-byte members", multi(&content, 3000, 6)),
            ("text, stored members", multi(&content, 2000, 0)),
            ("one member", member_of(&content, 1)),
            (
                "zeros, members larger than the output",
                multi(&zeros, 50_000, 9),
            ),
            ("zeros, small members", multi(&zeros, 5_000, 9)),
            (
                "empty members",
                [member_of(b"", 1), member_of(b"x", 1), member_of(b"", 1)].concat(),
            ),
        ] {
            for sizes in [
                SMALL,
                Sizes {
                    window: 64,
                    output: 64,
                },
                Sizes {
                    window: 1 << 20,
                    output: 1 << 20,
                },
            ] {
                same_as_sequential(&file, sizes, &format!("{what}, {sizes:?}"));
            }
        }
        let helped = same_as_sequential(&multi(&content, 1024, 1), SMALL, "helped");
        assert!(
            helped > 10,
            "the helper's work was used in {helped} rounds only"
        );
    }

    #[test]
    fn damage_anywhere_fails_as_the_one_core_reader_fails() {
        let file = multi(&text(40_000, 2), 1500, 1);
        for cut in (0..file.len())
            .step_by(97)
            .chain([file.len() - 1, file.len() - 8])
        {
            same_as_sequential(&file[..cut], SMALL, &format!("cut at {cut}"));
        }
        for at in (0..file.len()).step_by(89) {
            let mut flipped = file.clone();
            flipped[at] ^= 0x20;
            same_as_sequential(&flipped, SMALL, &format!("byte {at} flipped"));
        }
        let mut trailing = file.clone();
        trailing.extend_from_slice(b"trailing bytes, not a member");
        same_as_sequential(&trailing, SMALL, "bytes after the last member");
        let mut magic = file.clone();
        magic.extend_from_slice(&MAGIC);
        same_as_sequential(&magic, SMALL, "magic bytes after the last member");
    }

    /// Whole valid members hidden inside the compressed bytes of real ones (stored blocks carry
    /// their bytes verbatim), where the helper thread looks for a boundary: their content must
    /// not be handed out, and a damaged real member must fail although the hidden ones inflate.
    #[test]
    fn a_lying_boundary_is_not_taken_and_fails_closed() {
        let hidden = multi(&text(3_000, 3), 600, 1);
        let mut inner = text(1_500, 4);
        inner.extend_from_slice(&hidden);
        inner.extend_from_slice(&text(1_500, 5));
        let real = member_of(&inner, 0);
        let file = [
            member_of(&text(2_000, 6), 1),
            real.clone(),
            real.clone(),
            member_of(b"end", 1),
        ]
        .concat();
        for window in [2048, 3000, 4096, 6000] {
            let sizes = Sizes {
                window,
                output: 16 * 1024,
            };
            same_as_sequential(&file, sizes, &format!("hidden members, window {window}"));
            let mut expected = text(2_000, 6);
            expected.extend_from_slice(&inner);
            expected.extend_from_slice(&inner);
            expected.extend_from_slice(b"end");
            let mut members = Members::new(&file[..], sizes);
            let got = read_all(&mut members).expect("a valid file inflates");
            assert!(
                members.helped.1 > 0,
                "window {window}: no helper work was thrown away"
            );
            assert!(
                got == expected,
                "window {window}: the hidden members' bytes were handed out"
            );

            // The real member's CRC-32 is wrong: refused, though every hidden member is valid.
            let mut damaged = file.clone();
            let first = member_of(&text(2_000, 6), 1).len();
            let crc_at = first + real.len() - 8;
            damaged[crc_at] ^= 1;
            same_as_sequential(
                &damaged,
                sizes,
                &format!("damaged real member, window {window}"),
            );
            assert!(read_all(Members::new(&damaged[..], sizes)).is_err());
        }
    }

    #[test]
    fn a_single_member_file_goes_to_the_sequential_reader_without_a_thread() {
        let file = member_of(&text(100_000, 7), 1);
        let mut members = Members::new(&file[..], SMALL);
        let mut first = [0u8; 10];
        members.read_exact(&mut first).unwrap();
        assert!(members.sequential.is_some());
        assert!(members.theirs.is_empty(), "no helper buffer was made");
    }
}
