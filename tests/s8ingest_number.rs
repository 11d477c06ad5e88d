//! `mtrec::data::ingest::parse_f32` (Clinger's fast path, src/data/ingest/number.rs)
//! against its reference twin `str::parse::<f32>`: the same bits and the same
//! accept / reject on random decimals, on the shapes of data files, and on the edges of
//! the fast path (2^24, 10^±10, signs, zeros, exponents, junk). The cell path
//! (`parse_cell_f32`: eight bytes at once) must give `parse_f32`'s bits wherever it
//! answers, and answer the plain data cells.

use mtrec::data::ingest::{parse_cell_f32, parse_f32};
use proptest::prelude::*;

/// `t` as a cell in the middle of a line (`,t,` with bytes after it), through the cell
/// path: `None` or `parse_f32`'s bits.
fn same_cell(t: &str, tail: &str) -> Result<Option<u32>, TestCaseError> {
    let line = format!("7,{t},{tail}");
    let got = parse_cell_f32(line.as_bytes(), 2, 2 + t.len()).map(f32::to_bits);
    if got.is_some() {
        prop_assert_eq!(got, parse_f32(t).map(f32::to_bits), "{:?}", t);
    }
    Ok(got)
}

fn same(t: &str) -> Result<(), TestCaseError> {
    same_cell(t, "0.5,1,0")?;
    let fast = parse_f32(t).map(f32::to_bits);
    let reference = t.parse::<f32>().ok().map(f32::to_bits);
    // NaN payloads aside ("nan" parses), the bits must match
    let nan = |b: Option<u32>| b.is_some_and(|b| f32::from_bits(b).is_nan());
    if nan(fast) || nan(reference) {
        prop_assert!(
            nan(fast) && nan(reference),
            "{t:?}: {fast:?} vs {reference:?}"
        );
    } else {
        prop_assert_eq!(fast, reference, "{:?}", t);
    }
    Ok(())
}

#[test]
fn edge_cases_parse_like_str_parse() {
    let cases = [
        "0",
        "-0",
        "+0",
        "0.0",
        "-0.0",
        "00",
        "000.000",
        "1",
        "-1",
        "+1",
        "1.",
        ".5",
        "-.5",
        "+.5",
        ".",
        "-",
        "+",
        "",
        " 1",
        "1 ",
        "e1",
        "1e",
        "1e+",
        "1e-",
        "1E5",
        "1e+5",
        "1e-5",
        "1e10",
        "1e11",
        "1e-10",
        "1e-11",
        "16777215",
        "16777216",
        "16777217",
        "1677721.5",
        "0.16777215",
        "0.16777216",
        "9999999",
        "99999999",
        "0.853198",
        "0.1",
        "0.2",
        "0.3",
        "3.4028235e38",
        "3.4028236e38",
        "1e39",
        "-1e39",
        "1e-45",
        "1e-46",
        "1.17549435e-38",
        "inf",
        "-inf",
        "infinity",
        "Infinity",
        "nan",
        "NaN",
        "1_000",
        "1,5",
        "0x10",
        "1e1000000",
        "1e-1000000",
        "12345678901234567890",
        "0.000000000000000000000000000001",
        "1.0e0000000000000000000005",
        "--1",
        "+-1",
        "1.2.3",
        "1e5.5",
        "١",
        "1\u{a0}",
        "7e-0",
        "123456.7",
        "0.0000001",
    ];
    for t in cases {
        same(t).unwrap();
    }
}

/// A decimal as data files write it: sign, integer digits, fraction digits, exponent.
fn decimal() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just(""), Just("-"), Just("+")],
        "[0-9]{0,9}",
        prop::option::of("[0-9]{0,9}"),
        prop::option::of((
            prop_oneof![Just("e"), Just("E")],
            prop_oneof![Just(""), Just("-"), Just("+")],
            0u32..14,
        )),
    )
        .prop_map(|(s, i, f, e)| {
            let mut t = format!("{s}{i}");
            if let Some(f) = f {
                t = format!("{t}.{f}");
            }
            if let Some((e, es, x)) = e {
                t = format!("{t}{e}{es}{x}");
            }
            t
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn random_decimals_parse_like_str_parse(t in decimal()) {
        same(&t)?;
    }

    #[test]
    fn every_f32_printed_back_parses_like_str_parse(bits in any::<u32>(), digits in 0usize..10) {
        let x = f32::from_bits(bits);
        same(&format!("{x}"))?;
        same(&format!("{x:e}"))?;
        same(&format!("{x:.digits$}"))?;
    }

    #[test]
    fn short_data_decimals_parse_like_str_parse(w in 0u32..20_000_000, frac in 0usize..9) {
        // `0.853198`-like cells: an integer of up to 8 digits with the point anywhere
        let s = format!("{w:0>width$}", width = frac + 1);
        let t = format!("{}.{}", &s[..s.len() - frac], &s[s.len() - frac..]);
        same(&t)?;
    }

    #[test]
    fn arbitrary_text_is_accepted_and_rejected_like_str_parse(t in "[-+.eE0-9a-z ]{0,12}") {
        same(&t)?;
    }

    #[test]
    fn the_cell_path_takes_every_plain_cell_below_2_pow_24(
        neg in any::<bool>(), w in 0u32..(1 << 24), frac in 0usize..8, tail in "[0-9,.]{0,9}"
    ) {
        // `-?d+(.d+)?` of at most 8 bytes, anything after it: the cell path answers
        let s = format!("{w:0>width$}", width = frac + 1);
        let mut t = if frac == 0 { s.clone() } else { format!("{}.{}", &s[..s.len() - frac], &s[s.len() - frac..]) };
        if neg {
            t.insert(0, '-');
        }
        let answered = same_cell(&t, &format!("{tail}0000000"))?.is_some();
        prop_assert_eq!(answered, t.len() <= 8, "{:?}", t);
    }
}
