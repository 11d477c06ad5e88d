//! Per-cell helpers of `parse.rs`, the hot loop of both passes: splitting a plain line at
//! its delimiters (8 bytes at a time), the chunk-local code table of a categorical
//! column, the missing-value test and `trim` without the Unicode scan. Each names the
//! plain version it replaces, its unit test compares the two, and
//! `tests/s7stream_equal.rs` / `tests/s8ingest_cells.rs` compare the whole build with
//! the in-memory path.

use super::parse::Fx;
use std::hash::Hasher;

/// The fields of a line split at every `delimiter` byte, written to `bounds` as
/// `(start, end)`: what `body.split(|&c| c == delimiter)` gives, 16 bytes at a time.
///
/// Each 16-byte block becomes a mask, bit `i` set where byte `i` is the delimiter
/// ([`mask16`]: one compare and one `movemask` on x86-64). The mask's set bits are then
/// written out without a branch per bit: the first four positions are stored whatever
/// the mask holds (a bit past the last set one reads `trailing_zeros = 32`, a position
/// the next block overwrites), and only a block with more than four delimiters loops
/// for the rest. Most blocks of a data line hold zero to four (a numeric cell is 3 to
/// 9 bytes), so the loop a bit at a time, whose trip count changed from word to word,
/// no longer mispredicts on most words; on the 2M-row AliExpress build the splitting
/// went from 0.64 to 0.37 CPU s (docs/benchmarks.md). `ends` is the caller's scratch
/// space.
pub(super) fn split_fields(
    body: &[u8],
    delimiter: u8,
    bounds: &mut Vec<(usize, usize)>,
    ends: &mut Vec<u32>,
) {
    if body.len() > (u32::MAX - 32) as usize {
        // positions past u32 (a line over 4 GiB, data.max_line_bytes allowing): the
        // reference, a field at a time
        bounds.clear();
        let mut start = 0;
        for f in body.split(|&c| c == delimiter) {
            bounds.push((start, start + f.len()));
            start += f.len() + 1;
        }
        return;
    }
    // room for every position of the last block's unconditional stores
    ends.resize(body.len() + 16, 0);
    let mut n = 0;
    let mut blocks = body.chunks_exact(16);
    let mut at = 0u32;
    for b in &mut blocks {
        let m = mask16(b.try_into().expect("16 bytes"), delimiter);
        emit(m, at, &mut ends[n..n + 16]);
        n += m.count_ones() as usize;
        at += 16;
    }
    // the last bytes, padded with a byte that is not the delimiter
    let tail = blocks.remainder();
    let mut last = [delimiter ^ 1; 16];
    last[..tail.len()].copy_from_slice(tail);
    let m = mask16(&last, delimiter);
    emit(m, at, &mut ends[n..n + 16]);
    n += m.count_ones() as usize;
    bounds.clear();
    bounds.resize(n + 1, (0, 0));
    let mut start = 0;
    for (b, &e) in bounds.iter_mut().zip(&ends[..n]) {
        *b = (start, e as usize);
        start = e as usize + 1;
    }
    bounds[n] = (start, body.len());
}

/// The positions `at + i` of the set bits `i` of `m`, in order, into `out`: the first
/// four stored whatever `m` holds, the rest (a block with more than four) in a loop.
#[inline(always)]
fn emit(m: u32, at: u32, out: &mut [u32]) {
    let mut rest = m;
    for o in out.iter_mut().take(4) {
        *o = at + rest.trailing_zeros();
        rest &= rest.wrapping_sub(1);
    }
    let mut k = 4;
    while rest != 0 {
        out[k] = at + rest.trailing_zeros();
        rest &= rest - 1;
        k += 1;
    }
}

/// Bit `i` set where `block[i] == d`: `pcmpeqb` + `pmovmskb` on x86-64 (SSE2, which
/// every x86-64 processor has), else [`mask16_plain`], its reference twin.
#[inline(always)]
fn mask16(block: &[u8; 16], d: u8) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
        };
        // SAFETY: an unaligned 16-byte load of `block`, which holds 16 bytes; SSE2 is
        // part of x86-64, so its instructions run on every x86-64 processor
        unsafe {
            let v = _mm_loadu_si128(block.as_ptr().cast());
            _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(d as i8))) as u32
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    mask16_plain(block, d)
}

/// [`mask16`] a byte at a time.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn mask16_plain(block: &[u8; 16], d: u8) -> u32 {
    let mut m = 0u32;
    for (i, &c) in block.iter().enumerate() {
        m |= ((c == d) as u32) << i;
    }
    m
}

/// The distinct texts of one categorical column in a chunk, numbered 0, 1, … in order of
/// first appearance: a `HashMap<String, u32>` without a `String` per key. Open
/// addressing (linear probing) on the high bits of `key · K`; slots hold code + 1
/// (0 = empty) and stay at most half full; the texts are kept once, end to end, in
/// `arena`, and each code's 64-bit [`key`] beside it, so a probe compares one word
/// (a text of at most 7 bytes is its key; a longer one is compared in the arena only
/// when its hashed key matches).
#[derive(Default)]
pub(super) struct Codes {
    slots: Vec<u32>,
    /// log2 of `slots.len()`.
    bits: u32,
    arena: String,
    /// Code c's text: `arena[spans[c].0..spans[c].1]`.
    spans: Vec<(usize, usize)>,
    /// Code c's [`key`].
    keys: Vec<u64>,
}

/// A text's 64-bit key: a text of at most 7 bytes is its bytes (little-endian) with its
/// length in the top byte, so two short texts have one key iff they are equal; a longer
/// one is its Fx hash with the top bit set (no short text's key has it: lengths ≤ 7).
///
/// The bytes are read with two overlapping loads (4 + 4, or first / middle / last for
/// 1–3 bytes), not a loop: cell lengths vary from row to row.
pub(super) fn key(t: &str) -> u64 {
    let b = t.as_bytes();
    let n = b.len();
    let word = match n {
        0 => 0,
        1..=3 => {
            b[0] as u64 | (b[n / 2] as u64) << (8 * (n / 2)) | (b[n - 1] as u64) << (8 * (n - 1))
        }
        4..=7 => {
            let lo = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64;
            let hi = u32::from_le_bytes([b[n - 4], b[n - 3], b[n - 2], b[n - 1]]) as u64;
            lo | hi << (8 * (n - 4))
        }
        _ => return fx(t) | 1 << 63,
    };
    word | (n as u64) << 56
}

fn fx(t: &str) -> u64 {
    let mut h = Fx::default();
    h.write(t.as_bytes());
    h.finish()
}

impl Codes {
    /// The slot where a probe for `key` starts.
    fn home(&self, key: u64) -> usize {
        (key.wrapping_mul(0x517c_c1b7_2722_0a95) >> (64 - self.bits)) as usize
    }

    /// The code of `t` and whether `t` is new to the chunk.
    pub(super) fn code(&mut self, t: &str) -> (u32, bool) {
        if 2 * (self.spans.len() + 1) > self.slots.len() {
            self.grow();
        }
        let k = key(t);
        match self.find(t, k) {
            Ok(c) => (c, false),
            Err(i) => {
                let c = self.spans.len() as u32;
                let a = self.arena.len();
                self.arena.push_str(t);
                self.spans.push((a, self.arena.len()));
                self.keys.push(k);
                self.slots[i] = c + 1;
                (c, true)
            }
        }
    }

    /// The code of `t`, if numbered.
    pub(super) fn get(&self, t: &str) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        self.find(t, key(t)).ok()
    }

    /// Where `t` (its [`key`] `k`) is: `Ok(code)`, or `Err(slot)`, the empty slot that
    /// ends its probe.
    fn find(&self, t: &str, k: u64) -> Result<u32, usize> {
        let mask = self.slots.len() - 1;
        let mut i = self.home(k);
        loop {
            match self.slots[i] {
                0 => return Err(i),
                s => {
                    let c = s as usize - 1;
                    // a short text's key is the text; a long one's is checked in the arena
                    if self.keys[c] == k && (k >> 63 == 0 || self.text(c) == t) {
                        return Ok(s - 1);
                    }
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// Code c's text.
    pub(super) fn text(&self, c: usize) -> &str {
        let (a, b) = self.spans[c];
        &self.arena[a..b]
    }

    /// How many texts are numbered.
    pub(super) fn len(&self) -> usize {
        self.spans.len()
    }

    /// Doubles the slots (64 at first) and places every code again.
    fn grow(&mut self) {
        self.bits = (self.bits + 1).max(6);
        let n = 1usize << self.bits;
        let mut slots = vec![0u32; n];
        for (c, &k) in self.keys.iter().enumerate() {
            let mut i = self.home(k);
            while slots[i] != 0 {
                i = (i + 1) & (n - 1);
            }
            slots[i] = c as u32 + 1;
        }
        self.slots = slots;
    }
}

/// `t.trim()`, without the Unicode scan when `t` starts and ends in a printable ASCII
/// character (then nothing is trimmed: `char::is_whitespace` is false on those).
pub(super) fn trim(t: &str) -> &str {
    let b = t.as_bytes();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) if f.is_ascii_graphic() && l.is_ascii_graphic() => t,
        _ => t.trim(),
    }
}

/// `data.missing_values` (trimmed, `plan.missing`) as a quick test: most cells are
/// ruled out by their length and first byte before any text is compared.
pub(super) struct MissingSet<'a> {
    list: &'a [String],
    /// Bit `min(len, 63)` set for each missing text's length.
    lens: u64,
    /// Bit `c` set for each missing text's first byte `c`.
    firsts: [u64; 4],
}

impl<'a> MissingSet<'a> {
    pub(super) fn new(list: &'a [String]) -> MissingSet<'a> {
        let mut m = MissingSet {
            list,
            lens: 0,
            firsts: [0; 4],
        };
        for t in list {
            m.lens |= 1 << t.len().min(63);
            if let Some(&c) = t.as_bytes().first() {
                m.firsts[c as usize / 64] |= 1 << (c % 64);
            }
        }
        m
    }

    /// `list.iter().any(|m| m == t)`.
    pub(super) fn has(&self, t: &str) -> bool {
        self.has_bytes(t.as_bytes())
    }

    /// [`MissingSet::has`] of a cell's bytes.
    pub(super) fn has_bytes(&self, t: &[u8]) -> bool {
        if self.lens & (1 << t.len().min(63)) == 0 {
            return false;
        }
        if let Some(&c) = t.first() {
            if self.firsts[c as usize / 64] & (1 << (c % 64)) == 0 {
                return false;
            }
        }
        self.list.iter().any(|m| m.as_bytes() == t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::ingest::test_stream as stream;
    use std::collections::HashMap;

    #[test]
    fn mask16_equals_its_plain_twin() {
        let mut next = stream(5);
        for _ in 0..2000 {
            let block: [u8; 16] = std::array::from_fn(|_| match next() % 3 {
                0 => b',',
                1 => (next() % 256) as u8,
                _ => b'\t',
            });
            for d in [b',', b'\t', 0x80, 0] {
                assert_eq!(mask16(&block, d), mask16_plain(&block, d), "{block:?}");
            }
        }
    }

    #[test]
    fn split_fields_equals_splitting_at_each_delimiter() {
        let mut next = stream(7);
        let (mut bounds, mut ends) = (Vec::new(), Vec::new());
        // lengths around the 16-byte blocks; sparse lines, and dense ones (runs of
        // delimiters: blocks with more than four, up to sixteen)
        for (len, dense) in (0..300).flat_map(|l| [(l, false), (l, true)]) {
            let line: Vec<u8> = (0..len)
                .map(|_| match next() % 6 {
                    _ if dense && !next().is_multiple_of(4) => [b',', b'\t'][(next() % 2) as usize],
                    4 => (next() % 256) as u8, // any byte: no false hits beside 0x80..
                    5 => [b'+', b'-', 0xac, 0xad][(next() % 4) as usize], // delimiter ± 1 (± 0x80)
                    c => [b',', b'a', b'7', b'\t'][c as usize],
                })
                .collect();
            for d in [b',', b'\t'] {
                bounds.clear();
                split_fields(&line, d, &mut bounds, &mut ends);
                let fields: Vec<&[u8]> = bounds.iter().map(|&(a, b)| &line[a..b]).collect();
                let reference: Vec<&[u8]> = line.split(|&c| c == d).collect();
                assert_eq!(fields, reference, "len {len}");
            }
        }
    }

    #[test]
    fn codes_number_texts_like_a_hash_map_in_first_appearance_order() {
        let mut next = stream(11);
        let mut codes = Codes::default();
        let mut reference: HashMap<String, u32> = HashMap::new();
        for _ in 0..50_000 {
            let t = match next() % 4 {
                0 => String::new(),
                1 => format!("{}", next() % 20_000),
                _ => format!(
                    "text-{}-{}",
                    next() % 3_000,
                    "y".repeat((next() % 30) as usize)
                ),
            };
            let n = reference.len() as u32;
            let want = *reference.entry(t.clone()).or_insert(n);
            assert_eq!(codes.code(&t), (want, want == n), "{t:?}");
        }
        assert_eq!(codes.len(), reference.len());
        for (t, &c) in &reference {
            assert_eq!(codes.get(t), Some(c), "{t:?}");
            assert_eq!(codes.text(c as usize), t);
        }
        assert_eq!(codes.get("not-a-value-here"), None);
    }

    #[test]
    fn short_keys_are_the_texts() {
        // every text of 0..=7 bytes over a few letters: equal keys iff equal texts
        let mut seen: HashMap<u64, String> = HashMap::new();
        let letters = ["a", "b", "\u{e9}", "0"];
        let mut texts = vec![String::new()];
        for _ in 0..5 {
            let longer: Vec<String> = (texts.iter())
                .flat_map(|t| letters.iter().map(move |l| format!("{t}{l}")))
                .filter(|t| t.len() <= 7)
                .collect();
            texts.extend(longer);
        }
        texts.sort();
        texts.dedup();
        for t in &texts {
            let k = key(t);
            assert_eq!(k >> 63, 0, "{t:?}");
            if let Some(other) = seen.insert(k, t.clone()) {
                panic!("{t:?} and {other:?} share a key");
            }
        }
        assert_eq!(key("12345678") >> 63, 1);
    }

    #[test]
    fn trim_and_missing_set_equal_their_plain_versions() {
        let list: Vec<String> = ["", "?", "NA", "-1", &"m".repeat(70)]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let missing = MissingSet::new(&list);
        for t in [
            "",
            " ",
            "?",
            "NA",
            "N",
            "NAN",
            "-1",
            "-",
            "1",
            "0.5",
            " 2 ",
            "\u{a0}3",
            "3\u{2003}",
            "\t",
            "x\r",
            &"m".repeat(70),
            &"m".repeat(71),
            &"n".repeat(70),
        ] {
            assert_eq!(trim(t), t.trim(), "{t:?}");
            assert_eq!(missing.has(t), list.iter().any(|m| m == t), "{t:?}");
        }
    }
}
