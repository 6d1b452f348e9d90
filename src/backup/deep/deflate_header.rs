//! A deflate block header checked as zlib checks it, before ISA-L decodes the block.
//!
//! ISA-L refuses over-subscribed Huffman codes but accepts incomplete ones, which zlib (and
//! `gzip`) refuse unless the code is a single code of one bit: a stream whose blocks never use
//! the missing codes inflates under ISA-L and fails `gunzip`. So every dynamic header is read
//! here first, with zlib's rules (`inflate.c`, `inftrees.c`): at most 286 literal/length and
//! 30 distance codes, a complete code-length code, no repeat without a previous length or past
//! the end, an end-of-block code, and literal/length and distance codes that are complete (or
//! a single one-bit code).

/// The header's first bits, least significant first: the bits ISA-L already took into its bit
/// buffer, then the input bytes.
pub(super) struct Bits<'a> {
    held: u64,
    held_len: u32,
    bytes: &'a [u8],
    /// Bits taken from `bytes`.
    at: usize,
}

impl<'a> Bits<'a> {
    pub fn new(held: u64, held_len: u32, bytes: &'a [u8]) -> Bits<'a> {
        let held_len = held_len.min(64);
        let held = if held_len == 64 {
            held
        } else {
            held & ((1u64 << held_len) - 1)
        };
        Bits {
            held,
            held_len,
            bytes,
            at: 0,
        }
    }

    /// One bit, or `None` past the end.
    fn bit(&mut self) -> Option<u32> {
        if self.held_len > 0 {
            let b = (self.held & 1) as u32;
            self.held >>= 1;
            self.held_len -= 1;
            return Some(b);
        }
        let byte = *self.bytes.get(self.at / 8)?;
        let b = u32::from(byte >> (self.at % 8)) & 1;
        self.at += 1;
        Some(b)
    }

    /// `n` bits as a number, first bit least significant.
    fn bits(&mut self, n: u32) -> Option<u32> {
        let mut v = 0;
        for i in 0..n {
            v |= self.bit()? << i;
        }
        Some(v)
    }
}

/// What the header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Header {
    /// Valid as far as zlib checks a header (stored blocks' lengths are ISA-L's to check).
    Valid { last: bool },
    /// The bits end inside the header: ISA-L reads it (and reports the stream cut).
    Cut,
    /// zlib refuses it, for this reason (zlib's words).
    Refused(&'static str),
}

/// Check the block header at the start of `bits`.
pub(super) fn check(bits: &mut Bits<'_>) -> Header {
    match read(bits) {
        Ok(header) => header,
        Err(Short) => Header::Cut,
    }
}

struct Short;

fn read(bits: &mut Bits<'_>) -> Result<Header, Short> {
    let last = bits.bits(1).ok_or(Short)? == 1;
    let kind = bits.bits(2).ok_or(Short)?;
    if kind != 2 {
        // Stored and fixed blocks have no code to check; type 3 ISA-L refuses itself.
        return Ok(Header::Valid { last });
    }
    let nlen = bits.bits(5).ok_or(Short)? as usize + 257;
    let ndist = bits.bits(5).ok_or(Short)? as usize + 1;
    let ncode = bits.bits(4).ok_or(Short)? as usize + 4;
    if nlen > 286 || ndist > 30 {
        return Ok(Header::Refused("too many length or distance symbols"));
    }
    const ORDER: [usize; 19] = [
        16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
    ];
    let mut code_lens = [0u8; 19];
    for &symbol in &ORDER[..ncode] {
        code_lens[symbol] = bits.bits(3).ok_or(Short)? as u8;
    }
    let Some(code) = Code::new(&code_lens, Kind::CodeLengths) else {
        return Ok(Header::Refused("invalid code lengths set"));
    };
    let mut lens = [0u8; 286 + 30];
    let total = nlen + ndist;
    let mut have = 0;
    while have < total {
        // An all-zero code-length code decodes every bit as length 0, as zlib's table does.
        let symbol = match &code {
            Code::Empty => {
                bits.bit().ok_or(Short)?;
                0
            }
            Code::Lengths { .. } => code.decode(bits)?,
        };
        let (value, copies) = match symbol {
            0..=15 => (symbol as u8, 1),
            16 => {
                let Some(&previous) = have.checked_sub(1).and_then(|p| lens.get(p)) else {
                    return Ok(Header::Refused("invalid bit length repeat"));
                };
                (previous, 3 + bits.bits(2).ok_or(Short)? as usize)
            }
            17 => (0, 3 + bits.bits(3).ok_or(Short)? as usize),
            _ => (0, 11 + bits.bits(7).ok_or(Short)? as usize),
        };
        if have + copies > total {
            return Ok(Header::Refused("invalid bit length repeat"));
        }
        lens[have..have + copies].fill(value);
        have += copies;
    }
    if lens[256] == 0 {
        return Ok(Header::Refused("invalid code -- missing end-of-block"));
    }
    if Code::new(&lens[..nlen], Kind::Lengths).is_none() {
        return Ok(Header::Refused("invalid literal/lengths set"));
    }
    if Code::new(&lens[nlen..total], Kind::Lengths).is_none() {
        return Ok(Header::Refused("invalid distances set"));
    }
    Ok(Header::Valid { last })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The code-length code: must be complete (or empty).
    CodeLengths,
    /// Literal/length and distance codes: complete, empty, or one code of one bit.
    Lengths,
}

/// A canonical Huffman code (as in zlib's `puff.c`): how many codes of each length, and the
/// symbols in code order.
enum Code {
    /// No code at all (every length zero).
    Empty,
    Lengths {
        count: [u16; 16],
        symbols: [u16; 19],
    },
}

impl Code {
    /// The code of `lens`, or `None` when zlib refuses it (over-subscribed, or incomplete
    /// where it must not be). Only the code-length code is kept for decoding.
    fn new(lens: &[u8], kind: Kind) -> Option<Code> {
        let mut count = [0u16; 16];
        for &len in lens {
            count[usize::from(len)] += 1;
        }
        let max = (1..16).rev().find(|&l| count[l] > 0).unwrap_or(0);
        if max == 0 {
            return Some(Code::Empty);
        }
        let mut left: i32 = 1;
        for &c in &count[1..] {
            left = left * 2 - i32::from(c);
            if left < 0 {
                return None;
            }
        }
        if left > 0 && (kind == Kind::CodeLengths || max != 1) {
            return None;
        }
        let mut symbols = [0u16; 19];
        if kind == Kind::CodeLengths {
            let mut offsets = [0u16; 16];
            for l in 1..15 {
                offsets[l + 1] = offsets[l] + count[l];
            }
            for (symbol, &len) in lens.iter().enumerate() {
                if len != 0 {
                    let slot = &mut offsets[usize::from(len)];
                    symbols[usize::from(*slot)] = symbol as u16;
                    *slot += 1;
                }
            }
        }
        Some(Code::Lengths { count, symbols })
    }

    /// The next symbol (code bits come most significant first).
    fn decode(&self, bits: &mut Bits<'_>) -> Result<u16, Short> {
        let Code::Lengths { count, symbols } = self else {
            return Ok(0);
        };
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for &n in &count[1..] {
            code |= bits.bit().ok_or(Short)? as i32;
            let n = i32::from(n);
            if code - n < first {
                return Ok(symbols[(index + code - first) as usize]);
            }
            index += n;
            first = (first + n) << 1;
            code <<= 1;
        }
        // A complete code always decodes within 15 bits.
        Ok(0)
    }
}
