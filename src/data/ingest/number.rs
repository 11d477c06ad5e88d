//! Decimal text → `f32`, equal to `str::parse::<f32>` on every input (the same bits, the
//! same accept / reject), several times faster on the short decimals of data files
//! (`0.853198`, `12`, `-3.5e-2`). The streaming cache build parses every numeric cell
//! twice (pass 1 judges the row, pass 2 stores it), so this is on its hot path.
//!
//! # Derivation (Clinger's fast path, 1990)
//! Read the text as `±w · 10^e` with an integer `w` (all digits, the point removed) and
//! `e` = the exponent minus the digits after the point. When `w < 2^24` and `|e| ≤ 10`:
//! - `w` is exact in f32 (a 24-bit significand holds every integer below 2^24);
//! - `10^|e| = 5^|e| · 2^|e|` is exact in f32, since `5^10 = 9 765 625 < 2^24`;
//! - IEEE 754 multiplication and division return the exactly rounded result of the exact
//!   operands, so `w · 10^e` (e ≥ 0) or `w / 10^−e` (e < 0), computed in f32, is the f32
//!   nearest to the decimal (ties to even) — what `str::parse::<f32>` returns.
//!
//! The code computes `x = w as f32; ±(x * POW10[e])` or `±(x / POW10[−e])`. Any other text
//! (more digits, a larger exponent, `inf`, `nan`, a syntax the fast path does not take)
//! goes to `str::parse::<f32>`, the reference twin (`tests/s8ingest_number.rs` compares
//! the two on random and edge-case decimals).

/// `10^k` for `k = 0..=10`, each exact in f32.
const POW10: [f32; 11] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10];

/// Integers below this are exact in f32.
const MAX_W: u64 = 1 << 24;

/// Whether `t` is a plain decimal `-?[0-9]+(\.[0-9]+)?` of at most 32 bytes: a text
/// that `str::parse::<f32>` (and [`parse_f32`]) always reads as a finite number
/// (Rust's float grammar holds it; 32 bytes hold at most 32 integer digits, below
/// f32::MAX ≈ 3.4·10³⁸). The cache build's pass 1 only judges numeric cells, so it asks this
/// before parsing; a `false` says nothing (the caller parses). Its reference twin is
/// `str::parse::<f32>` itself (`tests/s9ingest_decimal.rs`).
pub fn plain_decimal(t: &[u8]) -> bool {
    let b = t.strip_prefix(b"-").unwrap_or(t);
    if b.is_empty() || t.len() > 32 {
        return false;
    }
    let mut dot = usize::MAX;
    for (i, &c) in b.iter().enumerate() {
        if c == b'.' && dot == usize::MAX {
            dot = i;
        } else if !c.is_ascii_digit() {
            return false;
        }
    }
    dot == usize::MAX || (dot > 0 && dot + 1 < b.len())
}

/// `t.parse::<f32>().ok()`, bit for bit, with Clinger's fast path first.
pub fn parse_f32(t: &str) -> Option<f32> {
    fast_f32(t.as_bytes()).or_else(|| t.parse::<f32>().ok())
}

/// The fast path: `Some` only where the derivation above holds, `None` to fall back.
fn fast_f32(b: &[u8]) -> Option<f32> {
    let (neg, b) = match b.first()? {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    let (mut i, mut w, mut digits, mut frac) = (0, 0u64, 0usize, 0i32);
    while let Some(d) = b.get(i).and_then(|c| digit(*c)) {
        w = 10 * w + d;
        if w >= MAX_W {
            return None;
        }
        (i, digits) = (i + 1, digits + 1);
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while let Some(d) = b.get(i).and_then(|c| digit(*c)) {
            w = 10 * w + d;
            if w >= MAX_W {
                return None;
            }
            (i, digits, frac) = (i + 1, digits + 1, frac + 1);
        }
    }
    if digits == 0 {
        return None; // ".", "", "-", "e5", "inf", "nan": the reference decides
    }
    let mut e = 0i32;
    if b.get(i).is_some_and(|c| c | 0x20 == b'e') {
        i += 1;
        let e_neg = match b.get(i) {
            Some(b'-') => (i += 1, true).1,
            Some(b'+') => (i += 1, false).1,
            _ => false,
        };
        let start = i;
        while let Some(d) = b.get(i).and_then(|c| digit(*c)) {
            e = 10 * e + d as i32;
            if e > 1000 {
                return None;
            }
            i += 1;
        }
        if i == start {
            return None; // "1e", "1e+": an error, the reference's to report
        }
        if e_neg {
            e = -e;
        }
    }
    if i != b.len() {
        return None;
    }
    let e = e - frac;
    let x = w as f32; // exact: w < 2^24
    let y = match e {
        0..=10 => x * POW10[e as usize],
        -10..=-1 => x / POW10[(-e) as usize],
        _ => return None,
    };
    Some(if neg { -y } else { y })
}

/// `parse_f32(&line[a..b])` where it is sure to agree, without a branch per byte: a cell
/// of 1 to 8 bytes `-?[0-9]*\.?[0-9]*` with at least one digit and at most 8 bytes after
/// `a` readable in `line` (cells in the middle of a line of a data file: `0.853198`,
/// `0.0`, `131`). `None` for any other cell: the caller takes [`parse_f32`], the
/// reference twin (`tests/s8ingest_number.rs` compares the two on every cell shape).
///
/// # Derivation (eight digits at once, SWAR)
/// Let `w` be the 8 bytes at `a` as a little-endian word, byte `i` = the cell's byte `i`,
/// cut to the cell's `n` bytes. A leading `-` becomes `0` (the sign is applied at the
/// end). The dot, if any, is the one zero byte of `w ⊕ splat('.')` (the zero-byte test of
/// `cells::split_fields`); removing it joins the bytes before it (`w & low(p)`) and the
/// bytes after it, moved down one byte (`(w >> 8) & !low(p)`): `m` digit bytes in order,
/// the first (most significant) in byte 0. Shifted up by `8(8−m)` and with `'0'` in the
/// freed low bytes, the word holds the cell's digits as an 8-digit decimal with leading
/// zeros, byte 0 the most significant digit. It is all digits iff each byte `c` has
/// high nibble 3 and `c + 6` has high nibble 3 too (`0x30..=0x39`): the test
/// `(w & 0xF0…) | ((w + 0x06…) & 0xF0…) >> 4 = 0x33…` (fast_float's). Its value:
/// subtracting `'0'` from each byte gives digits `d_0 … d_7`; `v·10 + (v >> 8)` holds
/// the 2-digit numbers `10·d_2i + d_2i+1` in bytes `2i`; the two multiplies and the shift
/// by 32 combine those pairs into `d_0 d_1 … d_7` (fast_float's `parse_eight_digits`).
/// The integer `W` is below 10⁸; where `W < 2^24` and `e` (the digits after the dot)
/// is at most 7, `W / 10^e` in f32 is Clinger's fast path above, so the same bits as
/// [`parse_f32`]; a larger `W` returns `None`.
#[inline]
pub fn parse_cell_f32(line: &[u8], a: usize, b: usize) -> Option<f32> {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const ONES: u64 = 0x0101_0101_0101_0101;
    let n = b.wrapping_sub(a);
    if n.wrapping_sub(1) >= 8 {
        return None; // not 1 to 8 bytes
    }
    let bytes: [u8; 8] = line.get(a..a + 8)?.try_into().ok()?;
    // the low k bytes of a word, k ≤ 8 (two shifts by 4k: k = 8 shifts every bit out)
    let low = |k: usize| !((u64::MAX << (4 * k)) << (4 * k));
    let keep = low(n);
    let neg = bytes[0] == b'-';
    // the cell's n bytes, the sign's byte made '0'
    let w = (u64::from_le_bytes(bytes) & keep) ^ (neg as u64 * (b'-' ^ b'0') as u64);
    // the dots: zero bytes of w ⊕ splat('.') among the cell's n bytes
    let x = w ^ (ONES * b'.' as u64);
    let dots = !(((x & LOW7).wrapping_add(LOW7)) | x | LOW7) & keep;
    if dots & dots.wrapping_sub(1) != 0 {
        return None; // two dots
    }
    let has_dot = (dots != 0) as usize;
    // the dot's byte, or n without one (trailing_zeros(0) / 8 = 8 ≥ n)
    let p = ((dots.trailing_zeros() / 8) as usize).min(n);
    // the digits without the dot, the first in byte 0: the bytes below p as they are,
    // those above it moved down one byte (without a dot both parts are w's bytes)
    let joined = (w & low(p)) | ((w >> 8) & !low(p));
    let m = n - has_dot; // digits, the sign's '0' included
    if m == neg as usize {
        return None; // no digit: "-", ".", "-."
    }
    let d = (joined << (8 * (8 - m))) | ((ONES * b'0' as u64) & low(8 - m));
    let hi = 0xF0F0_F0F0_F0F0_F0F0u64;
    if (d & hi) | (((d.wrapping_add(ONES * 6)) & hi) >> 4) != ONES * 0x33 {
        return None;
    }
    let mut v = d - ONES * b'0' as u64;
    v = v.wrapping_mul(10) + (v >> 8);
    let lo = 0x0000_00FF_0000_00FFu64;
    v = ((v & lo).wrapping_mul(100 + (1_000_000 << 32))
        + ((v >> 16) & lo).wrapping_mul(1 + (10_000 << 32)))
        >> 32;
    if v >= MAX_W {
        return None;
    }
    let e = n - p - has_dot; // the digits after the dot (0 without one)
    let y = div_exact(v as u32, POW10[e.min(7)]); // exact operands: Clinger's fast path
    Some(if neg { -y } else { y })
}

/// `v as f32 / p` for `v < 2^24` (exact in f32), the same bits.
///
/// `v as f32` compiles to `cvtsi2ss`, which writes only the low lane of its register and
/// so waits for the register's last value: in the tight loop over a row's cells
/// (`data::cache::build::parse`), the previous cell's division. Every division of the
/// row then waited for the one before (about 40% of the cell loop's samples on the
/// 2M-row AliExpress build, docs/benchmarks.md). For `v < 2^23` the float is made from
/// its bits instead: `0x4B00_0000 | v` is the f32 `2^23 + v` (exponent 23, the 23-bit
/// fraction `v`), and subtracting `2^23` leaves exactly `v`; a fresh register, so the
/// divisions of successive cells overlap. Larger `v` (rare: 7 digits from 8388608) take
/// the plain conversion out of line (`div_exact_equals_the_plain_division` below).
#[inline(always)]
fn div_exact(v: u32, p: f32) -> f32 {
    if v < 1 << 23 {
        (f32::from_bits(0x4B00_0000 | v) - 8_388_608.0) / p
    } else {
        div_plain(v, p)
    }
}

#[cold]
#[inline(never)]
fn div_plain(v: u32, p: f32) -> f32 {
    v as f32 / p
}

fn digit(c: u8) -> Option<u64> {
    c.is_ascii_digit().then(|| (c - b'0') as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn div_exact_equals_the_plain_division() {
        let mut next = super::super::test_stream(0x9E37_79B9_7F4A_7C15);
        // every power of ten the cell path divides by; edge integers (both sides of
        // the bit trick's 2^23), then random
        let edges = [
            0,
            1,
            9,
            10,
            (1 << 23) - 1,
            1 << 23,
            (1 << 23) + 1,
            (1 << 24) - 1,
            99_999_999 % (1 << 24),
        ];
        for i in 0..200_000usize {
            let v = match edges.get(i) {
                Some(&v) => v,
                None => (next() % (1 << 24)) as u32,
            };
            for p in &POW10[..8] {
                assert_eq!(
                    div_exact(v, *p).to_bits(),
                    (v as f32 / p).to_bits(),
                    "{v} / {p}"
                );
            }
        }
    }

    #[test]
    fn fast_path_takes_data_decimals() {
        for t in ["0.853198", "12", "-3.5e-2", "0.0", "-0", "+7.", ".5"] {
            assert!(fast_f32(t.as_bytes()).is_some(), "{t}");
            assert_eq!(
                parse_f32(t).map(f32::to_bits),
                t.parse::<f32>().ok().map(f32::to_bits)
            );
        }
        for t in [
            "16777216", "1e11", "1e-11", "inf", "nan", "1e", ".", "", "1_0",
        ] {
            assert!(fast_f32(t.as_bytes()).is_none(), "{t}");
        }
    }

    #[test]
    fn cell_path_agrees_with_parse_f32_or_declines() {
        let takes = [
            "0.853198", "0.0", "131", "-0", "-0.5", ".5", "5.", "1234567.", "16777215",
        ];
        let declines = [
            "16777216",
            "99999999",
            "-",
            ".",
            "-.",
            "1..2",
            "1e5",
            "+1",
            " 1",
            "1-",
            "123456789",
        ];
        for (t, want) in
            (takes.iter().map(|t| (t, true))).chain(declines.iter().map(|t| (t, false)))
        {
            let line = format!("{t},0,0,0,0,0,0,0,0");
            let got = parse_cell_f32(line.as_bytes(), 0, t.len());
            assert_eq!(got.is_some(), want, "{t}");
            if let Some(x) = got {
                assert_eq!(
                    Some(x.to_bits()),
                    t.parse::<f32>().ok().map(f32::to_bits),
                    "{t}"
                );
            }
        }
        // fewer than 8 bytes readable from the cell's start: declined
        assert_eq!(parse_cell_f32(b"0.5", 0, 3), None);
    }
}
