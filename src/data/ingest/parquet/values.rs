//! One Parquet value → the text a CSV field would hold, or straight to the `f32` that
//! text parses to. The text rules are the record API's (`records.rs`, the reference
//! twin): integers in decimal (after the converted type's cast, as `parquet::record::Field`
//! makes them), floats in Rust's shortest round-trip `Display`, booleans `1` / `0`,
//! UTF-8 bytes as they are. `tests/s9parquet_values.rs` compares every function here
//! with its text-and-parse twin.

use parquet::basic::ConvertedType;

/// How an INT32 / INT64 column's values read: the record API's `Field` for the
/// column's converted type (`Field::convert_int32` / `convert_int64`): `INT_8` is the
/// low byte as `i8`, `UINT_32` the bits as `u32`, and so on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IntKind {
    I8,
    I16,
    I32,
    U8,
    U16,
    U32,
    I64,
    U64,
}

impl IntKind {
    /// The kind of an INT32 (`wide = false`) or INT64 column with converted type `ct`.
    pub(crate) fn of(ct: ConvertedType, wide: bool) -> IntKind {
        match (ct, wide) {
            (ConvertedType::INT_8, false) => IntKind::I8,
            (ConvertedType::INT_16, false) => IntKind::I16,
            (ConvertedType::UINT_8, false) => IntKind::U8,
            (ConvertedType::UINT_16, false) => IntKind::U16,
            (ConvertedType::UINT_32, false) => IntKind::U32,
            (_, false) => IntKind::I32,
            (ConvertedType::UINT_64, true) => IntKind::U64,
            (_, true) => IntKind::I64,
        }
    }

    /// The value as the record API reads it: `(negative, magnitude)`.
    #[inline]
    fn split(self, v: i64) -> (bool, u64) {
        let signed = |x: i64| (x < 0, x.unsigned_abs());
        match self {
            IntKind::I8 => signed(v as i8 as i64),
            IntKind::I16 => signed(v as i16 as i64),
            IntKind::I32 => signed(v as i32 as i64),
            IntKind::U8 => (false, v as u8 as u64),
            IntKind::U16 => (false, v as u16 as u64),
            IntKind::U32 => (false, v as u32 as u64),
            IntKind::I64 => signed(v),
            IntKind::U64 => (false, v as u64),
        }
    }
}

impl IntKind {
    /// The value as the record API reads it, as one `u64` key: equal keys have equal
    /// texts ([`push_int`]) and unequal keys unequal texts, within one kind; and
    /// `push_int(key as i64, kind)` is `push_int(v, kind)` (the cast back to the kind's
    /// width undoes the cast here). The integer-keyed categorical numbering
    /// (`typed.rs`, `IntCodes`) keys its table on it.
    #[inline]
    pub(crate) fn key(self, v: i64) -> u64 {
        match self {
            IntKind::I8 => v as i8 as i64 as u64,
            IntKind::I16 => v as i16 as i64 as u64,
            IntKind::I32 => v as i32 as i64 as u64,
            IntKind::U8 => v as u8 as u64,
            IntKind::U16 => v as u16 as u64,
            IntKind::U32 => v as u32 as u64,
            IntKind::I64 | IntKind::U64 => v as u64,
        }
    }
}

/// Appends the decimal text of the INT32 / INT64 value `v` read as `kind` (what
/// `format!("{}", field)` gives for the record API's integer `Field`), without the
/// formatter: digits from the end into a 20-byte buffer.
#[inline]
pub(crate) fn push_int(out: &mut String, v: i64, kind: IntKind) {
    let (neg, mut m) = kind.split(v);
    let mut buf = [0u8; 20]; // u64::MAX has 20 digits
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (m % 10) as u8;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    if neg {
        out.push('-');
    }
    // ASCII digits are UTF-8
    out.push_str(std::str::from_utf8(&buf[i..]).unwrap_or_default());
}

/// The `f32` that parsing [`push_int`]'s text gives: an integer's decimal text parses
/// to the nearest `f32` (ties to even), which is what `as f32` rounds to.
#[inline]
pub(crate) fn int_f32(v: i64, kind: IntKind) -> f32 {
    match kind.split(v) {
        (true, m) => -(m as f32),
        (false, m) => m as f32,
    }
}

/// The `f32` that parsing the text of a FLOAT value gives, when it is finite (a
/// non-finite text is a bad number, left to the text path): the shortest round-trip
/// text of an `f32` parses back to it.
#[inline]
pub fn f32_of_float(v: f32) -> Option<f32> {
    v.is_finite().then_some(v)
}

/// The `f32` that `str::parse::<f32>` gives for the text of the DOUBLE value `v`
/// (`format!("{v}")`, the shortest decimal that reads back as `v`), or `None` when that
/// is not sure without the text (then the caller formats and parses it), or when it
/// is not finite.
///
/// # Derivation
/// Let `t` be the text (a decimal, as a real number) and `round₃₂` the correctly
/// rounded conversion to `f32` (ties to even) that both `parse` and `as f32` are.
/// * `t` reads back as `v`, so it lies strictly between `v`'s neighbours:
///   `v⁻ = v.next_down() < t < v.next_up() = v⁺`.
/// * `x = v as f32 = round₃₂(v)`. `round₃₂` gives `x` on the whole open interval
///   `(m⁻, m⁺)` between the midpoints `m⁻ = (x⁻ + x)/2`, `m⁺ = (x + x⁺)/2` of `x` and its
///   `f32` neighbours (computed exactly in `f64`: adjacent `f32`s need 25 bits).
/// * If `m⁻ ≤ v⁻` and `v⁺ ≤ m⁺` then `m⁻ < t < m⁺`, so `round₃₂(t) = x` (same sign
///   too: an `x = ±0` keeps `v`'s sign, as `t` does).
/// * Otherwise an `f32` rounding boundary lies within one `f64` step of `v`, where
///   `t` and `v` may round apart (double rounding): `None`. For `x = ±f32::MAX` the
///   upper boundary is the overflow threshold, not a midpoint: `None` too.
///
/// So the result is `round₃₂(t)` whenever it is `Some`: `x`.
///
/// # Fast path (the bits of `v`)
/// The check above costs two `next_down` / `next_up` pairs per cell; most doubles
/// pass it by their bits alone. Let `b` be `v`'s bits, `P = b >> 29` (sign, exponent
/// and the top 23 mantissa bits) and `d = b mod 2²⁹` (the 29 bits `as f32` drops).
/// For `2⁻¹²⁶ ≤ |v| < 2¹²⁷` (biased exponent 897 ..= 1149) the prefixes `P` and
/// `P + 1` are adjacent `f32`s `f(P)`, `f(P+1)` (finite, normal, below `f32::MAX`),
/// the doubles with prefix `P` are spaced evenly between them, their midpoint is at
/// `d = 2²⁸`, and each `f32` gap holds 2²⁹ doubles (2²⁸ below a power of two), so
/// `v⁻` and `v⁺` (bits `b ∓ 1`) are far from every midpoint but the one at `d = 2²⁸`:
/// * `d < 2²⁸`: `x = f(P)`; `v⁺` has `d + 1 ≤ 2²⁸`, so `v⁺ ≤ m⁺`; `v⁻ ≥ f(P) − one
///   f64 step > m⁻`.
/// * `d > 2²⁸`: `x = f(P+1)`; `v⁻` has `d − 1 ≥ 2²⁸`, so `m⁻ ≤ v⁻`; `v⁺ ≤ f(P+1) < m⁺`.
/// * `d = 2²⁸`: a tie, `v⁺` or `v⁻` lies past the midpoint: the check fails.
///
/// So there the check is `d ≠ 2²⁸` and the result `x`; `±0` passes too (`x = ±0`, its
/// midpoints half the smallest subnormal away). Every other double takes the check
/// above ([`f32_of_double_exact`], the twin `tests/s10pq_values.rs` compares).
#[inline]
pub fn f32_of_double(v: f64) -> Option<f32> {
    let b = v.to_bits();
    let (e, d) = ((b >> 52) & 0x7ff, b & ((1 << 29) - 1));
    if ((897..=1149).contains(&e) && d != 1 << 28) || v == 0.0 {
        return Some(v as f32);
    }
    f32_of_double_exact(v)
}

/// [`f32_of_double`] by the check of its derivation alone, for every double (the
/// reference twin of its fast path).
#[inline]
pub fn f32_of_double_exact(v: f64) -> Option<f32> {
    let x = v as f32;
    if !x.is_finite() || x.abs() == f32::MAX {
        return None;
    }
    let xf = f64::from(x);
    let lo = (f64::from(x.next_down()) + xf) / 2.0;
    let hi = (xf + f64::from(x.next_up())) / 2.0;
    (lo <= v.next_down() && v.next_up() <= hi).then_some(x)
}

/// Appends the text of a DOUBLE value (the record path's `write!(buf, "{v}")`).
pub(crate) fn push_double(out: &mut String, v: f64) {
    use std::fmt::Write;
    let _ = write!(out, "{v}");
}

/// Appends the text of a FLOAT value (the record path's `write!(buf, "{v}")`).
pub(crate) fn push_float(out: &mut String, v: f32) {
    use std::fmt::Write;
    let _ = write!(out, "{v}");
}

/// The decimal text [`push_int`] makes for `v` read as the converted type `ct` of an
/// INT64 (`wide`) or INT32 column (for tests against `format!`).
pub fn int_text(v: i64, ct: ConvertedType, wide: bool) -> String {
    let mut s = String::new();
    push_int(&mut s, v, IntKind::of(ct, wide));
    s
}

/// The `f32` of that integer ([`int_f32`], for tests against parsing [`int_text`]).
pub fn int_number(v: i64, ct: ConvertedType, wide: bool) -> f32 {
    int_f32(v, IntKind::of(ct, wide))
}
