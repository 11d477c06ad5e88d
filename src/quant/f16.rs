//! IEEE 754 binary16 ("f16") by hand: the per-row scales of int8 embedding tables are
//! stored as f16 (`mtrec compress --int8`). Two conversions, bit-exact:
//!
//! ```text
//! f16 bits = s | e (5 bits, bias 15) | m (10 bits)
//! value    = (−1)^s · 2^(e−15) · (1 + m/2¹⁰)     1 ≤ e ≤ 30   (normal)
//!          = (−1)^s · 2^(−14) · (m/2¹⁰)          e = 0        (subnormal: m · 2^(−24))
//!          = ±inf (m = 0) or NaN (m ≠ 0)          e = 31
//! ```
//!
//! f16 → f32 is exact (every f16 is an f32: rebias the exponent by 127 − 15 = 112 and
//! shift the mantissa up by 23 − 10 = 13; subnormals are `m · 2^(−24)`, exact in f32).
//! f32 → f16 rounds to nearest, ties to even: the 13 (normal) or more (subnormal)
//! dropped mantissa bits are compared with half a unit in the last place; a carry out of
//! the mantissa rolls into the exponent, which is the correct next f16 (up to inf).

/// The f32 value of f16 `bits` (exact).
pub fn to_f32(bits: u16) -> f32 {
    let sign = ((bits >> 15) as u32) << 31;
    let exp = ((bits >> 10) & 0x1f) as u32;
    let mant = (bits & 0x3ff) as u32;
    match exp {
        0 => {
            // zero or subnormal: m · 2^(−24), exact in f32
            let v = mant as f32 * f32::from_bits(0x3380_0000); // 2^(−24)
            f32::from_bits(v.to_bits() | sign)
        }
        31 => f32::from_bits(sign | 0x7f80_0000 | (mant << 13)),
        _ => f32::from_bits(sign | ((exp + 112) << 23) | (mant << 13)),
    }
}

/// `x` rounded to the nearest f16 (ties to even), as bits; beyond 65504 + half a step
/// it is ±inf, NaN stays NaN.
pub fn from_f32(x: f32) -> u16 {
    let b = x.to_bits();
    let sign = ((b >> 16) & 0x8000) as u16;
    let exp = ((b >> 23) & 0xff) as i32;
    let mant = b & 0x007f_ffff;
    if exp == 255 {
        return sign | 0x7c00 | if mant != 0 { 0x200 } else { 0 };
    }
    let e = exp - 127 + 15; // the f16 exponent field if the value is normal there
    if e >= 31 {
        return sign | 0x7c00;
    }
    if e <= 0 {
        // subnormal in f16 (or zero): count in units of 2^(−24)
        if e < -10 {
            return sign; // below 2^(−25): rounds to ±0
        }
        let m = mant | 0x0080_0000; // the implicit 1: 24 bits
        let shift = (14 - e) as u32; // value = m · 2^(exp−150) = (m >> shift) · 2^(−24)
        return sign | round_shift(m, shift) as u16; // 0x400 = the smallest normal: correct
    }
    sign | round_shift(((e as u32) << 23) | mant, 13) as u16
}

/// `v >> shift`, rounded to nearest, ties to even.
fn round_shift(v: u32, shift: u32) -> u32 {
    let q = v >> shift;
    let rem = v & ((1 << shift) - 1);
    let half = 1 << (shift - 1);
    if rem > half || (rem == half && q & 1 == 1) {
        q + 1
    } else {
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(from_f32(1.0), 0x3c00);
        assert_eq!(from_f32(-2.0), 0xc000);
        assert_eq!(from_f32(65504.0), 0x7bff);
        assert_eq!(from_f32(65520.0), 0x7c00); // half a step above the largest: inf
        assert_eq!(from_f32(2f32.powi(-24)), 0x0001);
        assert_eq!(from_f32(2f32.powi(-25)), 0x0000); // tie, to even
        assert_eq!(from_f32(2f32.powi(-14)), 0x0400);
        assert_eq!(to_f32(0x3555), 0.333_251_95);
        assert!(to_f32(from_f32(f32::NAN)).is_nan());
        assert_eq!(to_f32(0x7c00), f32::INFINITY);
    }

    #[test]
    fn every_f16_round_trips_and_midpoints_round_to_even() {
        for h in 0u16..=0xffff {
            let v = to_f32(h);
            if v.is_nan() {
                continue;
            }
            assert_eq!(from_f32(v), h, "{h:#06x}");
            // the midpoint to the next f16 of the same sign (finite ones only)
            let next = h.wrapping_add(1);
            if h & 0x7fff >= 0x7bff {
                continue;
            }
            let w = to_f32(next);
            let mid = ((v as f64 + w as f64) / 2.0) as f32; // exact: f16s are sparse in f32
            let even = if h & 1 == 0 { h } else { next };
            assert_eq!(from_f32(mid), even, "tie between {h:#06x} and {next:#06x}");
            let above = f32::from_bits(mid.to_bits() + 1); // away from zero
            assert_eq!(from_f32(above), next, "just past the tie after {h:#06x}");
            let below = f32::from_bits(mid.to_bits() - 1);
            assert_eq!(from_f32(below), h, "just before the tie after {h:#06x}");
        }
    }
}
