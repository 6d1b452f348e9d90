//! A deflate (RFC 1951) and gzip (RFC 1952) writer for hand-made streams, including those no
//! encoder writes: any block type, code lengths chosen freely (incomplete, over-subscribed,
//! more of them than the format allows), any symbol, any distance, any header field. Nothing
//! here checks what it writes: a test decides what the stream should be, and a reference
//! reader says what it is.

/// Bits in deflate's order: values from their least significant bit, packed from each byte's
/// least significant bit on.
#[derive(Default)]
pub struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    /// `count` (at most 32) low bits of `value`.
    pub fn put(&mut self, value: u32, count: u32) {
        assert!(count <= 32);
        if count == 0 {
            return;
        }
        let mask = (1u64 << count) - 1;
        self.acc |= (u64::from(value) & mask) << self.n;
        self.n += count;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// A Huffman code: sent from its most significant bit.
    pub fn code(&mut self, code: Code) {
        let reversed = code.bits.reverse_bits() >> (32 - code.len);
        self.put(reversed, code.len);
    }

    /// Bits left to the next byte boundary.
    pub fn to_boundary(&self) -> u32 {
        (8 - self.n % 8) % 8
    }

    pub fn align(&mut self) {
        let pad = self.to_boundary();
        self.put(0, pad);
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.align();
        self.out
    }
}

/// One symbol's canonical Huffman code (`len` 0: the symbol has none).
#[derive(Debug, Clone, Copy, Default)]
pub struct Code {
    pub bits: u32,
    pub len: u32,
}

/// The canonical codes of RFC 1951 3.2.2 for `lengths`, whether or not they form a complete
/// prefix code (an over-subscribed set gives overlapping codes: only the reader's refusal
/// matters then).
pub fn canonical(lengths: &[u8]) -> Vec<Code> {
    let mut count = [0u32; 16];
    for &l in lengths {
        count[usize::from(l)] += 1;
    }
    count[0] = 0;
    let mut next = [0u32; 16];
    let mut code = 0u32;
    for bits in 1..16 {
        code = (code + count[bits - 1]) << 1;
        next[bits] = code;
    }
    lengths
        .iter()
        .map(|&l| {
            if l == 0 {
                return Code::default();
            }
            let len = u32::from(l);
            let c = next[usize::from(l)];
            next[usize::from(l)] += 1;
            Code {
                bits: c & ((1 << len) - 1),
                len,
            }
        })
        .collect()
}

const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LENGTH_EXTRA: [u32; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u32; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

/// Length `len` (3..=258) as (index of its code after 257, extra bits, their value).
fn length_code(len: u16) -> (usize, u32, u32) {
    assert!((3..=258).contains(&len), "length {len}");
    let i = if len == 258 {
        28
    } else {
        LENGTH_BASE[..28].iter().rposition(|&b| b <= len).unwrap()
    };
    (i, LENGTH_EXTRA[i], u32::from(len - LENGTH_BASE[i]))
}

/// Distance `dist` (1..=32768) as (its code, extra bits, their value).
fn dist_code(dist: u16) -> (usize, u32, u32) {
    assert!((1..=32768).contains(&dist), "distance {dist}");
    let i = DIST_BASE.iter().rposition(|&b| b <= dist).unwrap();
    (i, DIST_EXTRA[i], u32::from(dist - DIST_BASE[i]))
}

/// What a compressed block says, in order.
#[derive(Debug, Clone)]
pub enum Tok {
    Lit(u8),
    /// A back-reference: its length code and distance code with their extra bits.
    Match {
        len: u16,
        dist: u16,
    },
    /// A literal/length symbol's code alone (no extra bits): e.g. 286, which names no length.
    Sym(u16),
    /// A distance symbol's code alone (no extra bits): e.g. 30, which names no distance.
    DistSym(u16),
    /// Bits as they are (extra bits chosen by hand, a code no symbol has).
    Raw {
        value: u32,
        count: u32,
    },
    EndOfBlock,
}

/// The literals of `text`.
pub fn lits(text: &[u8]) -> Vec<Tok> {
    text.iter().map(|&b| Tok::Lit(b)).collect()
}

/// The header of a block with dynamic codes, field by field as sent.
#[derive(Debug, Clone)]
pub struct Dynamic {
    /// HLIT and HDIST as sent (the counts of code lengths), 257..=288 and 1..=32.
    pub hlit: usize,
    pub hdist: usize,
    /// The code lengths the block's symbols are coded with (not sent as such: `cl_symbols` is).
    pub lit: Vec<u8>,
    pub dist: Vec<u8>,
    /// The code-length code: a length (0..=7) for each of its 19 symbols.
    pub cl_lengths: [u8; 19],
    /// The code-length symbols sent: (symbol, repeat count for 16, 17 and 18).
    pub cl_symbols: Vec<(u8, u32)>,
}

/// A complete code-length code: symbols 0..=12 of 4 bits (13/16), 13..=18 of 5 bits (6/32).
pub const CL_COMPLETE: [u8; 19] = [4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5];

/// The order in which the code-length code's lengths are sent.
const CL_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

impl Dynamic {
    /// `lit` and `dist` sent as they are, each length as its own code-length symbol.
    pub fn new(lit: &[u8], dist: &[u8]) -> Dynamic {
        Dynamic {
            hlit: lit.len(),
            hdist: dist.len(),
            lit: lit.to_vec(),
            dist: dist.to_vec(),
            cl_lengths: CL_COMPLETE,
            cl_symbols: lit.iter().chain(dist).map(|&l| (l, 0)).collect(),
        }
    }

    fn write(&self, bits: &mut Bits) {
        bits.put((self.hlit - 257) as u32, 5);
        bits.put((self.hdist - 1) as u32, 5);
        bits.put(19 - 4, 4);
        for &symbol in &CL_ORDER {
            bits.put(u32::from(self.cl_lengths[symbol]), 3);
        }
        let codes = canonical(&self.cl_lengths);
        for &(symbol, repeat) in &self.cl_symbols {
            let code = codes[usize::from(symbol)];
            assert!(code.len > 0, "code-length symbol {symbol} has no code");
            bits.code(code);
            match symbol {
                16 => bits.put(repeat - 3, 2),
                17 => bits.put(repeat - 3, 3),
                18 => bits.put(repeat - 11, 7),
                _ => {}
            }
        }
    }
}

/// The fixed codes' lengths: literal/length symbols 0..=287, distance symbols 0..=31.
pub fn fixed_lengths() -> (Vec<u8>, Vec<u8>) {
    let mut lit = vec![8u8; 144];
    lit.extend([9u8; 112]);
    lit.extend([7u8; 24]);
    lit.extend([8u8; 8]);
    (lit, vec![5u8; 32])
}

/// A deflate block, or padding after one.
#[derive(Debug, Clone)]
pub enum Block {
    /// A stored block; `len`/`nlen` as sent when given, else the data's length and its
    /// complement.
    Stored {
        last: bool,
        data: Vec<u8>,
        len: Option<u16>,
        nlen: Option<u16>,
    },
    Fixed {
        last: bool,
        toks: Vec<Tok>,
    },
    Dynamic {
        last: bool,
        header: Dynamic,
        toks: Vec<Tok>,
    },
    /// Block type 3, which RFC 1951 reserves (an error).
    Reserved {
        last: bool,
    },
    /// One bits up to the next byte boundary (after the final block: padding readers ignore).
    OnesToBoundary,
}

impl Block {
    pub fn stored(last: bool, data: &[u8]) -> Block {
        Block::Stored {
            last,
            data: data.to_vec(),
            len: None,
            nlen: None,
        }
    }

    /// A fixed-code block of `text`'s literals and its end.
    pub fn fixed_text(last: bool, text: &[u8]) -> Block {
        let mut toks = lits(text);
        toks.push(Tok::EndOfBlock);
        Block::Fixed { last, toks }
    }
}

fn write_tokens(bits: &mut Bits, toks: &[Tok], lit: &[u8], dist: &[u8]) {
    let lit = canonical(lit);
    let dist = canonical(dist);
    let code = |codes: &[Code], symbol: usize, what: &str| {
        let code = codes.get(symbol).copied().unwrap_or_default();
        assert!(code.len > 0, "{what} symbol {symbol} has no code");
        code
    };
    for tok in toks {
        match *tok {
            Tok::Lit(b) => bits.code(code(&lit, usize::from(b), "literal")),
            Tok::Match { len, dist: d } => {
                let (i, extra, value) = length_code(len);
                bits.code(code(&lit, 257 + i, "length"));
                bits.put(value, extra);
                let (j, extra, value) = dist_code(d);
                bits.code(code(&dist, j, "distance"));
                bits.put(value, extra);
            }
            Tok::Sym(s) => bits.code(code(&lit, usize::from(s), "literal/length")),
            Tok::DistSym(s) => bits.code(code(&dist, usize::from(s), "distance")),
            Tok::Raw { value, count } => bits.put(value, count),
            Tok::EndOfBlock => bits.code(code(&lit, 256, "end-of-block")),
        }
    }
}

/// The deflate stream of `blocks`, padded with zero bits to a whole byte.
pub fn deflate(blocks: &[Block]) -> Vec<u8> {
    let mut bits = Bits::default();
    for block in blocks {
        match block {
            Block::Stored {
                last,
                data,
                len,
                nlen,
            } => {
                bits.put(u32::from(*last), 1);
                bits.put(0, 2);
                bits.align();
                let n = data.len() as u16;
                bits.put(u32::from(len.unwrap_or(n)), 16);
                bits.put(u32::from(nlen.unwrap_or(!n)), 16);
                for &b in data {
                    bits.put(u32::from(b), 8);
                }
            }
            Block::Fixed { last, toks } => {
                bits.put(u32::from(*last), 1);
                bits.put(1, 2);
                let (lit, dist) = fixed_lengths();
                write_tokens(&mut bits, toks, &lit, &dist);
            }
            Block::Dynamic { last, header, toks } => {
                bits.put(u32::from(*last), 1);
                bits.put(2, 2);
                header.write(&mut bits);
                write_tokens(&mut bits, toks, &header.lit, &header.dist);
            }
            Block::Reserved { last } => {
                bits.put(u32::from(*last), 1);
                bits.put(3, 2);
            }
            Block::OnesToBoundary => {
                let pad = bits.to_boundary();
                bits.put(u32::MAX, pad);
            }
        }
    }
    bits.finish()
}

/// gzip header flags (RFC 1952 2.3.1).
pub const FHCRC: u8 = 0x02;
pub const FEXTRA: u8 = 0x04;
pub const FNAME: u8 = 0x08;
pub const FCOMMENT: u8 = 0x10;

/// A member header: ID1 ID2 CM FLG, MTIME 0, XFL 0, OS 3 (Unix), then `fields` as they are
/// (the optional fields `flags` announces, in the order the RFC gives).
pub fn header(flags: u8, fields: &[u8]) -> Vec<u8> {
    let mut h = vec![0x1f, 0x8b, 8, flags, 0, 0, 0, 0, 0, 3];
    h.extend_from_slice(fields);
    h
}

/// `header` followed by its CRC16 (the low half of the CRC-32 of every header byte before it).
pub fn with_header_crc(mut header: Vec<u8>) -> Vec<u8> {
    let crc = crc32(&header) as u16;
    header.extend_from_slice(&crc.to_le_bytes());
    header
}

pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(bytes);
    crc.sum()
}

/// A member: `header`, the deflate stream, and the trailer a reader expects for `text` (its
/// CRC-32 and its length modulo 2^32).
pub fn member_with(header: &[u8], deflate: &[u8], text: &[u8]) -> Vec<u8> {
    let mut m = header.to_vec();
    m.extend_from_slice(deflate);
    m.extend_from_slice(&crc32(text).to_le_bytes());
    m.extend_from_slice(&(text.len() as u32).to_le_bytes());
    m
}

/// A member with a plain header.
pub fn member(deflate: &[u8], text: &[u8]) -> Vec<u8> {
    member_with(&header(0, &[]), deflate, text)
}
