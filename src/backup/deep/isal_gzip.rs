//! gzip members read strictly in safe Rust, their deflate bodies inflated by ISA-L (`isal`),
//! which is faster than zlib-rs: the header (magic, method 8, no reserved flag bits, optional
//! fields bounded as flate2 bounds them, the header CRC when flagged), then the trailer's
//! CRC-32 and length (mod 2^32) against what was inflated, then the next member or the end;
//! bytes after the last member that do not form a valid member are refused.

use super::isal::{HEADER_INPUT, RawInflate, Step};
use std::io::{self, BufRead, Read};

/// The first bytes of a gzip member: ID1, ID2, CM (deflate).
const MAGIC: [u8; 3] = [0x1f, 0x8b, 0x08];
const FHCRC: u8 = 1 << 1;
const FEXTRA: u8 = 1 << 2;
const FNAME: u8 = 1 << 3;
const FCOMMENT: u8 = 1 << 4;
const FRESERVED: u8 = 0xe0;
/// The longest file name or comment read (flate2's bound: a longer one is refused by both).
const MAX_FIELD: usize = 65535;
/// The most compressed bytes taken into the reader's own input buffer at a time.
const INPUT_PIECE: usize = 256 * 1024;
/// Reads shorter than this are served from a buffer of the reader's own: ISA-L moves its
/// 32 KiB history on every call that does not take all it decoded.
const OWN_BUFFER: usize = 32 * 1024;

fn corrupt(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

fn early_end(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, what.to_string())
}

/// A gzip member header read from a byte source: `next` gives the next byte, or `None` at
/// the end. Returns the header's length.
fn header(mut next: impl FnMut() -> io::Result<Option<u8>>) -> io::Result<usize> {
    let mut crc = flate2::Crc::new();
    let mut len = 0usize;
    let mut byte = |crc: &mut flate2::Crc| -> io::Result<u8> {
        let b = next()?.ok_or_else(|| early_end("the gzip header is cut off"))?;
        crc.update(&[b]);
        len += 1;
        Ok(b)
    };
    let mut fixed = [0u8; 10];
    for b in &mut fixed {
        *b = byte(&mut crc)?;
    }
    if fixed[..3] != MAGIC {
        return Err(corrupt("invalid gzip header"));
    }
    let flags = fixed[3];
    if flags & FRESERVED != 0 {
        return Err(corrupt("invalid gzip header (reserved flag bits set)"));
    }
    if flags & FEXTRA != 0 {
        let xlen = u16::from_le_bytes([byte(&mut crc)?, byte(&mut crc)?]);
        for _ in 0..xlen {
            byte(&mut crc)?;
        }
    }
    for field in [FNAME, FCOMMENT] {
        if flags & field != 0 {
            let mut n = 0usize;
            while byte(&mut crc)? != 0 {
                n += 1;
                if n > MAX_FIELD {
                    return Err(corrupt("gzip header field too long"));
                }
            }
        }
    }
    if flags & FHCRC != 0 {
        let sum = crc.sum();
        let stored = u16::from_le_bytes([byte(&mut crc)?, byte(&mut crc)?]);
        if u32::from(stored) != sum & 0xffff {
            return Err(corrupt("the gzip header CRC does not match"));
        }
    }
    Ok(len)
}

/// The trailer check: `trailer` is CRC-32 then length mod 2^32, little-endian.
fn check_trailer(trailer: [u8; 8], crc: u32, length: u64) -> io::Result<()> {
    let (stored_crc, stored_len) = trailer.split_at(4);
    if stored_crc != crc.to_le_bytes() || stored_len != (length as u32).to_le_bytes() {
        return Err(corrupt(
            "corrupt gzip stream does not have a matching checksum",
        ));
    }
    Ok(())
}

enum Stage {
    /// Before a member's header (`first`: the stream's first member, which must be there).
    Header {
        first: bool,
    },
    Body,
    /// The trailer's bytes so far.
    Trailer([u8; 8], usize),
    End,
    Failed(io::ErrorKind, String),
}

/// Every member of a gzip stream, inflated by ISA-L on this thread.
pub(super) struct IsalMembers<R: BufRead> {
    raw: R,
    /// Compressed bytes taken from `raw`, from `start` on not yet used: at least
    /// [`HEADER_INPUT`] of them unless `raw` ended (a block header is checked whole).
    input: Vec<u8>,
    start: usize,
    raw_ended: bool,
    inflate: RawInflate,
    stage: Stage,
    /// This member's decompressed bytes so far.
    member_len: u64,
    /// Output of small reads, and how much of it was handed out.
    own: Vec<u8>,
    own_start: usize,
    own_end: usize,
}

impl<R: BufRead> IsalMembers<R> {
    pub fn new(raw: R) -> IsalMembers<R> {
        IsalMembers {
            raw,
            input: Vec::new(),
            start: 0,
            raw_ended: false,
            inflate: RawInflate::new(),
            stage: Stage::Header { first: true },
            member_len: 0,
            own: Vec::new(),
            own_start: 0,
            own_end: 0,
        }
    }

    /// Make sure at least [`HEADER_INPUT`] bytes are at hand, unless the file ends first.
    fn top_up(&mut self) -> io::Result<()> {
        while self.input.len() - self.start < HEADER_INPUT && !self.raw_ended {
            self.input.drain(..self.start);
            self.start = 0;
            let available = match self.raw.fill_buf() {
                Ok(available) => available,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                self.raw_ended = true;
            } else {
                // A reader that holds much at once (a whole file in memory, as the tests
                // and the `gzip_isal` fuzz target hand it) is copied from a piece at a time.
                let n = available.len().min(INPUT_PIECE);
                self.input.extend_from_slice(&available[..n]);
                self.raw.consume(n);
            }
        }
        Ok(())
    }

    fn next_byte(&mut self) -> io::Result<Option<u8>> {
        self.top_up()?;
        let b = self.input.get(self.start).copied();
        if b.is_some() {
            self.start += 1;
        }
        Ok(b)
    }

    /// Inflate into `buf` (not empty) until some bytes are written or the stream ends.
    fn inflate_into(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match &mut self.stage {
                Stage::End | Stage::Failed(..) => return Ok(0),
                Stage::Header { first } => {
                    let first = *first;
                    self.top_up()?;
                    if !first && self.start == self.input.len() {
                        self.stage = Stage::End;
                        return Ok(0);
                    }
                    header(|| self.next_byte())?;
                    self.inflate.reset();
                    self.member_len = 0;
                    self.stage = Stage::Body;
                }
                Stage::Body => {
                    self.top_up()?;
                    let input = self.input.get(self.start..).unwrap_or_default();
                    let step: Step = self
                        .inflate
                        .inflate(input, buf)
                        .map_err(|e| corrupt(&format!("corrupt deflate stream: {e}")))?;
                    self.start += step.consumed;
                    self.member_len = self.member_len.wrapping_add(step.produced as u64);
                    if step.ended {
                        let (held, n) = self.inflate.unread();
                        let mut trailer = [0u8; 8];
                        trailer[..n].copy_from_slice(&held[..n]);
                        self.stage = Stage::Trailer(trailer, n);
                    } else if step.consumed == 0 && step.produced == 0 {
                        // With a whole header's worth of input at hand, or all of it.
                        return Err(if self.raw_ended {
                            early_end("the deflate stream is cut off")
                        } else {
                            corrupt("the deflate stream makes no progress")
                        });
                    }
                    if step.produced > 0 {
                        return Ok(step.produced);
                    }
                }
                Stage::Trailer(trailer, n) => {
                    let (mut trailer, mut n) = (*trailer, *n);
                    while n < trailer.len() {
                        trailer[n] = self
                            .next_byte()?
                            .ok_or_else(|| early_end("the gzip trailer is cut off"))?;
                        n += 1;
                    }
                    check_trailer(trailer, self.inflate.crc32(), self.member_len)?;
                    self.stage = Stage::Header { first: false };
                }
            }
        }
    }

    fn read_inner(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.own_start == self.own_end && buf.len() >= OWN_BUFFER {
            return self.inflate_into(buf);
        }
        if self.own_start == self.own_end {
            let mut own = std::mem::take(&mut self.own);
            own.resize(2 * OWN_BUFFER, 0);
            let got = self.inflate_into(&mut own);
            self.own = own;
            self.own_start = 0;
            self.own_end = got?;
        }
        let pending = &self.own[self.own_start..self.own_end];
        let n = pending.len().min(buf.len());
        buf[..n].copy_from_slice(&pending[..n]);
        self.own_start += n;
        Ok(n)
    }
}

impl<R: BufRead> Read for IsalMembers<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Stage::Failed(kind, message) = &self.stage {
            return Err(io::Error::new(*kind, message.clone()));
        }
        self.read_inner(buf).inspect_err(|e| {
            self.stage = Stage::Failed(e.kind(), e.to_string());
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::isal::tests::Bits;
    use super::*;
    use std::io::Write;

    /// The ISA-L reader's verdict and zlib's on `bytes`: each the bytes or the error kind.
    fn both(bytes: &[u8]) -> (io::Result<Vec<u8>>, io::Result<Vec<u8>>) {
        let mut ours = Vec::new();
        let isal = IsalMembers::new(bytes).read_to_end(&mut ours).map(|_| ours);
        let mut theirs = Vec::new();
        let zlib = flate2::bufread::MultiGzDecoder::new(bytes)
            .read_to_end(&mut theirs)
            .map(|_| theirs);
        (isal, zlib)
    }

    /// Both readers give the same bytes, or both refuse; the ISA-L reader's verdict.
    fn agree(bytes: &[u8], what: &str) -> io::Result<Vec<u8>> {
        let (isal, zlib) = both(bytes);
        match (&isal, &zlib) {
            (Ok(a), Ok(b)) => assert!(a == b, "{what}: the bytes differ"),
            (Err(_), Err(_)) => {}
            _ => panic!(
                "{what}: ISA-L {:?}, zlib {:?}",
                isal.as_ref().map(Vec::len),
                zlib.as_ref().map(Vec::len)
            ),
        }
        isal
    }

    fn gzip(bytes: &[u8], level: u32) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    }

    /// A gzip member around the raw deflate stream `deflate` whose content is `content`.
    fn member(deflate: &[u8], content: &[u8]) -> Vec<u8> {
        let mut crc = flate2::Crc::new();
        crc.update(content);
        let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
        out.extend_from_slice(deflate);
        out.extend_from_slice(&crc.sum().to_le_bytes());
        out.extend_from_slice(&(content.len() as u32).to_le_bytes());
        out
    }

    fn text(len: usize) -> Vec<u8> {
        let mut x = 7u32;
        (0..len)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                b"abcdefgh \n"[(x >> 16) as usize % 10]
            })
            .collect()
    }

    /// Canonical Huffman codes of `lens` (RFC 1951, 3.2.2): `(code, length)` per symbol.
    fn canonical(lens: &[u8]) -> Vec<(u32, u32)> {
        let mut count = [0u32; 16];
        for &l in lens {
            count[usize::from(l)] += 1;
        }
        count[0] = 0;
        let mut next = [0u32; 16];
        let mut code = 0;
        for bits in 1..16 {
            code = (code + count[bits - 1]) << 1;
            next[bits] = code;
        }
        lens.iter()
            .map(|&l| {
                let l = usize::from(l);
                let c = next[l];
                if l > 0 {
                    next[l] += 1;
                }
                (c, l as u32)
            })
            .collect()
    }

    /// One final dynamic block: literal/length code lengths `lit` (from symbol 0), distance
    /// code lengths `dist`, written one by one with a code-length code of sixteen 4-bit codes
    /// (0 to 15, complete); then `symbols` (literal/length symbol, and for a length symbol
    /// the distance symbol; no extra bits: lengths 3 to 10, distances 1 to 4).
    fn dynamic(lit: &[u8], dist: &[u8], symbols: &[(usize, Option<usize>)]) -> Vec<u8> {
        let mut w = Bits::default();
        w.put(1, 1);
        w.put(2, 2);
        w.put(lit.len() as u32 - 257, 5);
        w.put(dist.len() as u32 - 1, 5);
        w.put(15, 4);
        const ORDER: [usize; 19] = [
            16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
        ];
        for symbol in ORDER {
            w.put(if symbol < 16 { 4 } else { 0 }, 3);
        }
        for &l in lit.iter().chain(dist) {
            w.code((u32::from(l), 4));
        }
        let lit_codes = canonical(lit);
        let dist_codes = canonical(dist);
        for &(s, d) in symbols {
            w.code(lit_codes[s]);
            if let Some(d) = d {
                w.code(dist_codes[d]);
            }
        }
        w.code(lit_codes[256]);
        w.finish()
    }

    fn lens(n: usize, set: &[(usize, u8)]) -> Vec<u8> {
        let mut v = vec![0u8; n];
        for &(s, l) in set {
            v[s] = l;
        }
        v
    }

    #[test]
    fn valid_streams_give_zlibs_bytes() {
        let content = text(300_000);
        for level in [0, 1, 6, 9] {
            let file = gzip(&content, level);
            assert!(agree(&file, &format!("level {level}")).unwrap() == content);
        }
        let members = [
            gzip(b"", 6),
            gzip(b"x", 1),
            gzip(b"", 0),
            gzip(&content[..70_000], 9),
        ]
        .concat();
        assert_eq!(agree(&members, "empty members").unwrap().len(), 70_001);
        // Every optional header field, and the header CRC.
        let mut gz = flate2::GzBuilder::new()
            .extra(b"xx".to_vec())
            .filename("name")
            .comment("comment")
            .write(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"fields").unwrap();
        let mut fields = gz.finish().unwrap();
        fields[3] |= FHCRC;
        let head_len = 10 + 2 + 2 + 5 + 8;
        let mut crc = flate2::Crc::new();
        crc.update(&fields[..head_len]);
        let hcrc = (crc.sum() as u16).to_le_bytes();
        fields.splice(head_len..head_len, hcrc);
        assert_eq!(agree(&fields, "header fields").unwrap(), b"fields");
        fields[head_len] ^= 1;
        assert!(agree(&fields, "a wrong header CRC").is_err());
    }

    #[test]
    fn damage_is_refused_as_zlib_refuses_it() {
        let parts = [gzip(&text(3000), 6), gzip(&text(2000), 1), gzip(b"", 6)];
        let file = parts.concat();
        let boundaries = [parts[0].len(), parts[0].len() + parts[1].len()];
        for cut in 0..file.len() {
            let verdict = agree(&file[..cut], &format!("cut at {cut}"));
            if cut > 0 && !boundaries.contains(&cut) {
                let e = verdict.map(|v| v.len()).expect_err("a cut file passed");
                assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "cut at {cut}: {e}");
            }
        }
        for at in 0..file.len() {
            for bit in [0x01, 0x10, 0x80] {
                let mut flipped = file.clone();
                flipped[at] ^= bit;
                agree(&flipped, &format!("byte {at} ^ {bit:#x}")).ok();
            }
        }
        let crc_at = gzip(&text(3000), 6).len() - 8;
        for (what, at) in [("CRC-32", crc_at), ("length", crc_at + 4)] {
            let mut wrong = file.clone();
            wrong[at] ^= 1;
            assert!(agree(&wrong, what).is_err(), "a wrong {what} passed");
        }
        for tail in [&b"garbage"[..], &[0, 0, 0, 0], &[0x1f], &[0x1f, 0x8b, 8]] {
            let mut trailing = file.clone();
            trailing.extend_from_slice(tail);
            assert!(agree(&trailing, "trailing bytes").is_err());
        }
        let mut reserved = file.clone();
        reserved[3] |= 0x20;
        assert!(agree(&reserved, "a reserved flag").is_err());
        let mut method = file.clone();
        method[2] = 7;
        assert!(agree(&method, "method 7").is_err());
        assert!(agree(b"", "an empty file").is_err());
    }

    /// Blocks zlib refuses although every symbol in them decodes: ISA-L alone would take
    /// them (it checks Huffman codes for over-subscription only).
    #[test]
    fn incomplete_codes_are_refused_as_zlib_refuses_them() {
        let aaa = [(97, None), (97, None), (97, None)];
        let aaaa = [(97, None), (257, Some(0))];
        // Literal/length code: 'a' one bit, end-of-block two bits (3/4 of the code space).
        let incomplete = dynamic(&lens(257, &[(97, 1), (256, 2)]), &[0], &aaa);
        assert!(agree(&member(&incomplete, b"aaa"), "incomplete lit/len").is_err());
        // The same complete: passes.
        let complete = dynamic(&lens(257, &[(97, 1), (256, 1)]), &[0], &aaa);
        assert_eq!(
            agree(&member(&complete, b"aaa"), "complete").unwrap(),
            b"aaa"
        );
        // A single one-bit code (only end-of-block): zlib takes it.
        let single = dynamic(&lens(257, &[(256, 1)]), &[0], &[]);
        assert_eq!(agree(&member(&single, b""), "single code").unwrap(), b"");
        // Distances: two two-bit codes (half the space): refused; one one-bit code: taken.
        let lit = lens(258, &[(97, 2), (256, 2), (257, 1)]);
        let half = dynamic(&lit, &[2, 2], &aaaa);
        assert!(agree(&member(&half, b"aaaa"), "incomplete distances").is_err());
        let one = dynamic(&lit, &[1], &aaaa);
        assert_eq!(
            agree(&member(&one, b"aaaa"), "one distance").unwrap(),
            b"aaaa"
        );
        // Over-subscribed, and no end-of-block code.
        let over = dynamic(&lens(257, &[(97, 1), (98, 1), (256, 1)]), &[0], &aaa);
        assert!(agree(&member(&over, b"aaa"), "over-subscribed").is_err());
        let no_end = dynamic(&lens(257, &[(97, 1), (98, 1)]), &[0], &[]);
        assert!(agree(&member(&no_end, b""), "no end-of-block").is_err());
        // A length symbol in a block without distance codes.
        let no_dist = dynamic(&lit, &[0], &aaaa);
        assert!(agree(&member(&no_dist, b"aaaa"), "no distance code").is_err());
        // A match before the start of the member.
        let far = dynamic(&lit, &[1], &[(257, Some(0))]);
        assert!(agree(&member(&far, b"aaa"), "too far back").is_err());
    }

    /// A code-length code that is incomplete: three two-bit codes (for lengths 0 and 1 and the
    /// long run of zeros), 3/4 of the code space. The codes it writes are complete.
    fn incomplete_code_length_code() -> Vec<u8> {
        let mut w = Bits::default();
        w.put(1, 1);
        w.put(2, 2);
        w.put(0, 5);
        w.put(0, 5);
        // Up to symbol 1 in the order (18 entries).
        w.put(14, 4);
        const ORDER: [usize; 18] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1];
        for symbol in ORDER {
            w.put(if [0, 1, 18].contains(&symbol) { 2 } else { 0 }, 3);
        }
        // Canonical: 0 -> 00, 1 -> 01, 18 -> 10. Symbols 0-96 zero, 97 one bit, 98-255 zero,
        // 256 one bit, the one distance code zero.
        let (zero, one, run) = ((0, 2), (1, 2), (2, 2));
        w.code(run);
        w.put(97 - 11, 7);
        w.code(one);
        w.code(run);
        w.put(138 - 11, 7);
        w.code(run);
        w.put(20 - 11, 7);
        w.code(one);
        w.code(zero);
        // 'a' (0), end of block (1).
        w.code((0, 1));
        w.code((1, 1));
        w.finish()
    }

    #[test]
    fn an_incomplete_code_length_code_is_refused() {
        let stream = member(&incomplete_code_length_code(), b"a");
        assert!(agree(&stream, "incomplete code-length code").is_err());
    }

    /// What the header check is for: ISA-L alone inflates these blocks.
    #[test]
    fn isal_alone_takes_incomplete_codes() {
        let aaa = [(97, None), (97, None), (97, None)];
        let incomplete = dynamic(&lens(257, &[(97, 1), (256, 2)]), &[0], &aaa);
        for (stream, content) in [
            (incomplete, &b"aaa"[..]),
            (incomplete_code_length_code(), b"a"),
        ] {
            let mut inflate = RawInflate::new();
            let mut out = [0u8; 16];
            let step = inflate.inflate_unchecked(&stream, &mut out).unwrap();
            assert!(step.ended);
            assert_eq!(&out[..step.produced], content);
            inflate.reset();
            assert!(inflate.inflate(&stream, &mut out).is_err());
        }
    }

    /// Fixed-code symbols that RFC 1951 reserves: literal/length 286 and 287, distance 30
    /// and 31.
    #[test]
    fn reserved_fixed_symbols_are_refused() {
        for (length_symbol, distance) in [(286, 0), (287, 0), (257, 30), (257, 31)] {
            let mut w = Bits::default();
            w.put(1, 1);
            w.put(1, 2);
            // 'a' (8-bit code 0x30 + 0x61), then the length and distance symbols.
            w.code((0x30 + 0x61, 8));
            if length_symbol >= 280 {
                w.code((0xc0 + (length_symbol - 280), 8));
            } else {
                w.code((length_symbol - 256, 7));
            }
            w.code((distance, 5));
            w.code((0, 7));
            let stream = member(&w.finish(), b"aaaa");
            assert!(
                agree(
                    &stream,
                    &format!("symbol {length_symbol}, distance {distance}")
                )
                .is_err()
            );
        }
    }

    #[test]
    fn a_stored_block_with_a_wrong_length_check_is_refused() {
        let mut stored = vec![1, 5, 0, !5, !0];
        stored.extend_from_slice(b"hello");
        assert_eq!(
            agree(&member(&stored, b"hello"), "stored").unwrap(),
            b"hello"
        );
        stored[3] ^= 1;
        assert!(agree(&member(&stored, b"hello"), "a wrong NLEN").is_err());
    }
}
