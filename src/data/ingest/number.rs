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

fn digit(c: u8) -> Option<u64> {
    c.is_ascii_digit().then(|| (c - b'0') as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
