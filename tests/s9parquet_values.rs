//! Parquet values straight to `f32` (`src/data/ingest/parquet/values.rs`) against their
//! reference twin, the text the record API made parsed by `parse_f32` (bit for bit
//! `str::parse::<f32>`): on the edges (zeros, subnormals, f32::MAX and the overflow
//! threshold, huge and tiny doubles, integer extremes, the integer casts of converted
//! types) and on random bit patterns. Doubles next to an `f32` midpoint, where
//! `v as f32` and the parsed text differ, must not take the straight path.

mod s9parquet_support;

use mtrec::data::ingest::{f32_of_double, f32_of_float, int_number, int_text, parse_f32};
use parquet::basic::ConvertedType;
use proptest::prelude::*;

/// The record path's f32 of a double: its `Display` text parsed, if finite.
fn via_text(v: f64) -> Option<f32> {
    parse_f32(&format!("{v}")).filter(|x| x.is_finite())
}

fn check_double(v: f64) -> Result<(), TestCaseError> {
    if let Some(x) = f32_of_double(v) {
        prop_assert_eq!(
            Some(x.to_bits()),
            via_text(v).map(f32::to_bits),
            "{:e} ({:#x})",
            v,
            v.to_bits()
        );
    } else if v.is_finite() && (v as f32).is_finite() && (v as f32).abs() < f32::MAX {
        // refused: only next to a rounding boundary
        let x = v as f32;
        let lo = (f64::from(x.next_down()) + f64::from(x)) / 2.0;
        let hi = (f64::from(x) + f64::from(x.next_up())) / 2.0;
        prop_assert!(
            v.next_down() < lo || v.next_up() > hi,
            "{:e} refused away from a boundary",
            v
        );
    }
    Ok(())
}

#[test]
fn doubles_at_the_edges_read_as_their_texts_parse() {
    let hard = s9parquet_support::hard_doubles();
    let mut differs = 0;
    for &v in &hard {
        check_double(v).unwrap();
        if v.is_finite() && via_text(v).map(f32::to_bits) != Some((v as f32).to_bits()) {
            differs += 1;
            // where `as f32` is wrong, the straight path must not give it
            assert_ne!(
                f32_of_double(v).map(f32::to_bits),
                Some((v as f32).to_bits()),
                "{v:e}: double rounding taken"
            );
        }
    }
    // the fixture holds real double-rounding cases, not only easy ones
    assert!(
        differs >= 20,
        "only {differs} doubles where `as f32` differs"
    );
    for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e39, -1e39] {
        assert_eq!(f32_of_double(v), None, "{v}");
    }
    // the overflow threshold of f32 (MAX + half an ulp) and both sides of it
    let t = f64::from(f32::MAX) + (f64::from(f32::MAX) - f64::from(f32::MAX.next_down())) / 2.0;
    for v in [t, t.next_down(), t.next_up(), -t, f64::from(f32::MAX)] {
        check_double(v).unwrap();
    }
    // most values take the straight path
    let easy = [0.853198, 0.0, -0.0, 1.0, 0.1, 1e-300, 123456.789, -2.5e-40];
    for v in easy {
        assert!(f32_of_double(v).is_some(), "{v:e}");
        check_double(v).unwrap();
    }
}

#[test]
fn floats_read_as_their_texts_parse() {
    for v in [
        0.0f32,
        -0.0,
        1.0,
        f32::MAX,
        f32::MIN,
        f32::MIN_POSITIVE,
        1e-45,
        0.1,
        16777217.0,
    ] {
        let text = format!("{v}");
        assert_eq!(
            f32_of_float(v).map(f32::to_bits),
            parse_f32(&text).map(f32::to_bits),
            "{text}"
        );
    }
    for v in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        assert_eq!(f32_of_float(v), None);
    }
}

/// The record API's text of an integer `Field` (`Field::convert_int32` / `_int64`).
fn record_text(v: i64, ct: ConvertedType, wide: bool) -> String {
    match (ct, wide) {
        (ConvertedType::INT_8, false) => (v as i32 as i8).to_string(),
        (ConvertedType::INT_16, false) => (v as i32 as i16).to_string(),
        (ConvertedType::UINT_8, false) => (v as i32 as u8).to_string(),
        (ConvertedType::UINT_16, false) => (v as i32 as u16).to_string(),
        (ConvertedType::UINT_32, false) => (v as i32 as u32).to_string(),
        (_, false) => (v as i32).to_string(),
        (ConvertedType::UINT_64, true) => (v as u64).to_string(),
        (_, true) => v.to_string(),
    }
}

const KINDS: [(ConvertedType, bool); 8] = [
    (ConvertedType::INT_8, false),
    (ConvertedType::INT_16, false),
    (ConvertedType::UINT_8, false),
    (ConvertedType::UINT_16, false),
    (ConvertedType::UINT_32, false),
    (ConvertedType::NONE, false),
    (ConvertedType::UINT_64, true),
    (ConvertedType::NONE, true),
];

fn check_int(v: i64) -> Result<(), TestCaseError> {
    for (ct, wide) in KINDS {
        // an INT32 column holds i32s
        let v = if wide { v } else { i64::from(v as i32) };
        let text = record_text(v, ct, wide);
        prop_assert_eq!(&int_text(v, ct, wide), &text, "{:?}", ct);
        prop_assert_eq!(
            Some(int_number(v, ct, wide).to_bits()),
            parse_f32(&text).map(f32::to_bits),
            "{}",
            text
        );
    }
    Ok(())
}

#[test]
fn integers_give_the_record_apis_texts_and_their_f32s() {
    let edges = [
        0,
        1,
        -1,
        9,
        10,
        -10,
        127,
        128,
        -129,
        255,
        256,
        65535,
        65536,
        i64::from(i32::MIN),
        i64::from(i32::MAX),
        i64::from(u32::MAX),
        1 << 24,
        (1 << 24) + 1,
        (1 << 53) + 1,
        i64::MIN,
        i64::MIN + 1,
        i64::MAX,
        i64::MAX - 1,
    ];
    for v in edges {
        check_int(v).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn random_doubles_read_as_their_texts_parse(bits in any::<u64>()) {
        check_double(f64::from_bits(bits))?;
    }

    #[test]
    fn doubles_next_to_f32_midpoints_read_as_their_texts_parse(
        bits in 0u32..0x7f7f_ffff,
        steps in -4i32..=4,
        neg in any::<bool>(),
    ) {
        let a = f32::from_bits(bits);
        let mut v = (f64::from(a) + f64::from(a.next_up())) / 2.0;
        for _ in 0..steps.abs() {
            v = if steps > 0 { v.next_up() } else { v.next_down() };
        }
        check_double(if neg { -v } else { v })?;
    }

    #[test]
    fn random_decimals_read_as_their_texts_parse(w in 0u64..10_000_000, e in 0i32..12) {
        check_double(w as f64 / 10f64.powi(e))?;
    }

    #[test]
    fn random_integers_give_the_record_apis_texts(v in any::<i64>()) {
        check_int(v)?;
    }
}
