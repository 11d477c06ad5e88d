//! [`parse_cell_f32`] of a row's cells four at a time: the same SWAR steps on four
//! 64-bit lanes of an AVX2 register (x86-64 processors that have it, detected at run
//! time), the scalar function as the reference twin and the fallback.
//!
//! ```text
//! lane k = cell k's 8 bytes      (the caller's cells: 1 to 8 bytes, 8 bytes readable)
//! per lane, as parse_cell_f32:   sign → '0', dot found, digits joined and checked,
//!                                8 digits → integer (vpmuludq for the two multiplies)
//! then                           4 × (digits as f32 / 10^e), sign bit applied
//! ```
//! Two steps of the scalar function have no AVX2 instruction and are rewritten:
//! - the dot's byte `p` (scalar: `trailing_zeros(dots) / 8`): `dots` holds at most one
//!   set bit, bit `8p + 7`; `(dots >> 7) − 1` then has exactly its `p` low bytes all
//!   ones (all eight without a dot: `p = 8`, cut to `n` as in the scalar), and
//!   `vpsadbw` of those bytes masked to 1 sums them to `p`;
//! - the two 64-bit multiplies by `100 + 10^6·2^32` and `1 + 10^4·2^32` followed by
//!   `>> 32`: with the pair values `a0, a1, b0, b1 ≤ 99` (bytes 0 and 4 of `v & lo` and
//!   of `(v >> 16) & lo`) the high word is `a0·10^6 + a1·100 + b0·10^4 + b1` (below
//!   10^8, no carry out of the low word: `a0·100 + b0 < 2^32`), four 32 × 32-bit
//!   products.
//!
//! A group of four with any lane the scalar function would decline is read again by
//! it, cell by cell, so the answer is always the scalar one
//! (`four_lanes_equal_the_scalar_cells` below compares them on random cells).

use super::number::parse_cell_f32;

/// The numbers of `cells` (byte ranges of `line`) into `out` (`out[i]` for
/// `cells[i]`), as [`parse_cell_f32`] reads each; `false` as soon as a cell is one it
/// declines (then `out` holds some of the numbers).
pub fn parse_cells_f32(line: &[u8], cells: &[(usize, usize)], out: &mut [f32]) -> bool {
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is present (checked above)
        if !unsafe { groups(line, cells, out) } {
            return false;
        }
        done = cells.len() / 4 * 4;
    }
    let rest = done.min(cells.len()).min(out.len());
    scalar(line, &cells[rest..], &mut out[rest..])
}

/// [`parse_cells_f32`] of the whole groups of four (the loop inside AVX2 code, so
/// [`four`] is inlined and its constants made once per row).
///
/// # Safety
/// The processor must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn groups(line: &[u8], cells: &[(usize, usize)], out: &mut [f32]) -> bool {
    for (group, o) in cells.chunks_exact(4).zip(out.chunks_exact_mut(4)) {
        // SAFETY: AVX2 is present (this function's contract)
        let fast = readable(line, group) && unsafe { four(line, group, o) };
        if !fast && !scalar(line, group, o) {
            return false;
        }
    }
    true
}

/// [`parse_cell_f32`] cell by cell.
fn scalar(line: &[u8], cells: &[(usize, usize)], out: &mut [f32]) -> bool {
    for (o, &(a, b)) in out.iter_mut().zip(cells) {
        match parse_cell_f32(line, a, b) {
            Some(x) => *o = x,
            None => return false,
        }
    }
    true
}

/// Whether every cell of the group has 1 to 8 bytes and 8 bytes to read from its
/// start (the scalar function's first two checks).
fn readable(line: &[u8], group: &[(usize, usize)]) -> bool {
    (group.iter()).all(|&(a, b)| {
        let n = b.wrapping_sub(a);
        (1..=8).contains(&n) && a.checked_add(8).is_some_and(|end| end <= line.len())
    })
}

/// Four cells at once (`group`, `out`: 4 each; [`readable`] holds): `true` with their
/// numbers in `out`, or `false` when a lane is one the scalar function declines.
///
/// # Safety
/// The processor must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn four(line: &[u8], group: &[(usize, usize)], out: &mut [f32]) -> bool {
    use std::arch::x86_64::*;
    const LOW7: i64 = 0x7f7f_7f7f_7f7f_7f7f;
    const ONES: i64 = 0x0101_0101_0101_0101;
    let splat = |x: i64| _mm256_set1_epi64x(x);
    let word = |k: usize| {
        let a = group[k].0;
        i64::from_le_bytes(line[a..a + 8].try_into().expect("8 bytes (readable)"))
    };
    let len = |k: usize| (group[k].1 - group[k].0) as i64;
    let raw = _mm256_set_epi64x(word(3), word(2), word(1), word(0));
    let n = _mm256_set_epi64x(len(3), len(2), len(1), len(0));
    let all = splat(-1);
    let zero = _mm256_setzero_si256();
    // low(k) of the scalar, from 8k: a shift by 64 or more gives 0 (vpsllvq), so 8k = 64
    // keeps every byte
    let low = |bits: __m256i| _mm256_andnot_si256(_mm256_sllv_epi64(all, bits), all);
    let keep = low(_mm256_slli_epi64::<3>(n));
    // the sign: a lane of ones where byte 0 is '-', whose byte becomes '0'
    let neg = _mm256_cmpeq_epi64(_mm256_and_si256(raw, splat(0xff)), splat(b'-' as i64));
    let sign_to_zero = _mm256_and_si256(neg, splat((b'-' ^ b'0') as i64));
    let w = _mm256_xor_si256(_mm256_and_si256(raw, keep), sign_to_zero);
    // the dots: zero bytes of w ⊕ splat('.') among the cell's bytes
    let x = _mm256_xor_si256(w, splat(ONES * b'.' as i64));
    let low7 = splat(LOW7);
    let t = _mm256_add_epi64(_mm256_and_si256(x, low7), low7);
    let dots = _mm256_andnot_si256(_mm256_or_si256(_mm256_or_si256(t, x), low7), keep);
    let one = splat(1);
    let one_dot_at_most =
        _mm256_cmpeq_epi64(_mm256_and_si256(dots, _mm256_sub_epi64(dots, one)), zero);
    let has_dot = _mm256_andnot_si256(_mm256_cmpeq_epi64(dots, zero), one); // 1 or 0
                                                                            // the dot's byte p (module docs), at most n
    let below = _mm256_sub_epi64(_mm256_srli_epi64::<7>(dots), one);
    let p = _mm256_min_epu32(
        _mm256_sad_epu8(_mm256_and_si256(below, splat(ONES)), zero),
        n,
    );
    let low_p = low(_mm256_slli_epi64::<3>(p));
    let joined = _mm256_or_si256(
        _mm256_and_si256(w, low_p),
        _mm256_andnot_si256(low_p, _mm256_srli_epi64::<8>(w)),
    );
    let m = _mm256_sub_epi64(n, has_dot); // digits, the sign's '0' included
    let no_digit = _mm256_cmpeq_epi64(m, _mm256_and_si256(neg, one));
    // the digits as an 8-digit decimal with leading '0's, byte 0 the most significant
    let pad = _mm256_slli_epi64::<3>(_mm256_sub_epi64(splat(8), m)); // 8(8 − m)
    let d = _mm256_or_si256(
        _mm256_sllv_epi64(joined, pad),
        _mm256_and_si256(splat(ONES * b'0' as i64), low(pad)),
    );
    let hi = splat(0xF0F0_F0F0_F0F0_F0F0u64 as i64);
    let d6 = _mm256_and_si256(_mm256_add_epi64(d, splat(ONES * 6)), hi);
    let check = _mm256_or_si256(_mm256_and_si256(d, hi), _mm256_srli_epi64::<4>(d6));
    let digits_ok = _mm256_cmpeq_epi64(check, splat(ONES * 0x33));
    let v = _mm256_sub_epi64(d, splat(ONES * b'0' as i64));
    // v·10 + (v >> 8): the pairs 10·d_2i + d_2i+1 in bytes 2i (no carries: each ≤ 99)
    let ten_v = _mm256_add_epi64(_mm256_slli_epi64::<3>(v), _mm256_slli_epi64::<1>(v));
    let v = _mm256_add_epi64(ten_v, _mm256_srli_epi64::<8>(v));
    let lo = splat(0x0000_00FF_0000_00FF);
    let a = _mm256_and_si256(v, lo);
    let b = _mm256_and_si256(_mm256_srli_epi64::<16>(v), lo);
    let value = _mm256_add_epi64(
        _mm256_add_epi64(
            _mm256_mul_epu32(a, splat(1_000_000)),
            _mm256_mul_epu32(_mm256_srli_epi64::<32>(a), splat(100)),
        ),
        _mm256_add_epi64(
            _mm256_mul_epu32(b, splat(10_000)),
            _mm256_srli_epi64::<32>(b),
        ),
    );
    let too_big = _mm256_cmpgt_epi64(value, splat((1 << 24) - 1));
    // a lane fails on two dots, no digit, a non-digit or 2^24 and above
    let ok = _mm256_andnot_si256(
        _mm256_or_si256(no_digit, too_big),
        _mm256_and_si256(one_dot_at_most, digits_ok),
    );
    if _mm256_movemask_pd(_mm256_castsi256_pd(ok)) != 0b1111 {
        return false;
    }
    let e = _mm256_sub_epi64(_mm256_sub_epi64(n, p), has_dot); // digits after the dot
    let e = _mm256_min_epu32(e, splat(7));
    // the four lanes' low words side by side, then digits / 10^e with the sign bit
    let pack = _mm256_setr_epi32(0, 2, 4, 6, 0, 0, 0, 0);
    let low4 = |x: __m256i| _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(x, pack));
    let pow10 = _mm256_setr_ps(1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7);
    let scale = _mm256_castps256_ps128(_mm256_permutevar8x32_ps(
        pow10,
        _mm256_permutevar8x32_epi32(e, pack),
    ));
    let y = _mm_div_ps(_mm_cvtepi32_ps(low4(value)), scale);
    let sign = _mm_and_si128(low4(neg), _mm_set1_epi32(i32::MIN));
    let y = _mm_xor_ps(y, _mm_castsi128_ps(sign));
    let mut lanes = [0f32; 4];
    // SAFETY: `lanes` holds 4 f32, an unaligned store of 16 bytes
    unsafe { _mm_storeu_ps(lanes.as_mut_ptr(), y) };
    out[..4].copy_from_slice(&lanes);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::ingest::test_stream as stream;

    /// A cell the scalar function mostly takes: digits, one dot or none, a sign;
    /// sometimes another byte, two dots, nine bytes or none.
    fn cell(next: &mut impl FnMut() -> u64) -> String {
        let n = (next() % 10) as usize;
        let mut t: String = (0..n)
            .map(|_| match next() % 14 {
                0 => '.',
                1 => ['x', '-', ' ', 'e', '/', ':'][(next() % 6) as usize],
                _ => char::from(b'0' + (next() % 10) as u8),
            })
            .collect();
        if next().is_multiple_of(5) {
            t.insert(0, '-');
        }
        if next().is_multiple_of(4) && !t.contains('.') && !t.is_empty() {
            let at = (next() as usize) % t.len();
            t.insert(at, '.');
        }
        t
    }

    #[test]
    fn four_lanes_equal_the_scalar_cells() {
        let mut next = stream(3);
        let (mut taken, mut declined) = (0, 0);
        for round in 0..40_000 {
            let count = (next() % 11) as usize;
            let texts: Vec<String> = (0..count).map(|_| cell(&mut next)).collect();
            // a row: the cells comma-separated; the last one's 8 bytes not always there
            let mut line = String::new();
            let mut cells = Vec::new();
            for t in &texts {
                cells.push((line.len(), line.len() + t.len()));
                line.push_str(t);
                line.push(',');
            }
            if round % 2 == 0 {
                line.push_str("0000000"); // room to read 8 bytes of the last cell
            }
            let bytes = line.as_bytes();
            let reference: Option<Vec<u32>> = (cells.iter())
                .map(|&(a, b)| parse_cell_f32(bytes, a, b).map(f32::to_bits))
                .collect();
            let mut out = vec![f32::NAN; count];
            let got = parse_cells_f32(bytes, &cells, &mut out);
            match &reference {
                Some(bits) => {
                    assert!(got, "{texts:?}");
                    assert_eq!(
                        &out.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                        bits,
                        "{texts:?}"
                    );
                    taken += 1;
                }
                None => {
                    assert!(!got, "{texts:?}");
                    declined += 1;
                }
            }
        }
        // both outcomes were exercised
        assert!(taken > 1000 && declined > 1000, "{taken} {declined}");
    }

    #[test]
    fn data_cells_take_the_four_lane_path() {
        // the cells of a data row: every group of four read by `four` where AVX2 is
        // present (no fallback), the same numbers as the scalar function
        let texts = [
            "0.853198", "0.0", "131", "-0.5", ".5", "5.", "1234567", "-0", "16777215",
        ];
        let mut line = String::new();
        let mut cells = Vec::new();
        for t in texts.iter().cycle().take(63) {
            cells.push((line.len(), line.len() + t.len()));
            line.push_str(t);
            line.push(',');
        }
        line.push_str("0,1");
        let bytes = line.as_bytes();
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            for (g, group) in cells.chunks_exact(4).enumerate() {
                let mut o = [0f32; 4];
                assert!(readable(bytes, group));
                // SAFETY: AVX2 is present
                assert!(unsafe { four(bytes, group, &mut o) }, "group {g}");
                for (x, &(a, b)) in o.iter().zip(group) {
                    assert_eq!(x.to_bits(), parse_cell_f32(bytes, a, b).unwrap().to_bits());
                }
            }
        }
        let mut out = vec![0f32; cells.len()];
        assert!(parse_cells_f32(bytes, &cells, &mut out));
    }
}
