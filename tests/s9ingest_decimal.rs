//! `mtrec::data::ingest::plain_decimal`, the test pass 1 of the streaming cache build
//! asks before parsing a numeric cell (src/data/cache/build/parse.rs `judge_number`),
//! against its reference twin `str::parse::<f32>`: every text it calls a plain decimal
//! must parse to a finite f32, on random texts over the characters of numbers and on
//! the edges (signs, points, lengths around 32 bytes, overflow).

use mtrec::data::ingest::plain_decimal;
use proptest::prelude::*;

fn finite(t: &str) -> bool {
    t.parse::<f32>().is_ok_and(f32::is_finite)
}

#[test]
fn edges_of_the_plain_decimal_shape() {
    for t in [
        "0",
        "-0",
        "7",
        "0.853198",
        "-12.5",
        "00012.500",
        &"9".repeat(32),
        &format!("-{}", "9".repeat(31)),
        &format!("0.{}", "1".repeat(30)),
    ] {
        assert!(plain_decimal(t.as_bytes()), "{t:?} is a plain decimal");
        assert!(finite(t), "{t:?}");
    }
    // not plain: parsed by the caller (some are numbers, some are not)
    for t in [
        "",
        "-",
        ".",
        "1.",
        ".5",
        "-.5",
        "+1",
        "--1",
        "1-",
        "1..2",
        "1.2.3",
        "1e5",
        "1E5",
        " 1",
        "1 ",
        "inf",
        "nan",
        "0x10",
        &"9".repeat(33),
        &"9".repeat(40),
        &format!("-{}", "9".repeat(32)),
    ] {
        assert!(!plain_decimal(t.as_bytes()), "{t:?} is not a plain decimal");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn a_plain_decimal_parses_to_a_finite_f32(t in "[-+.eE0-9 x]{0,40}") {
        if plain_decimal(t.as_bytes()) {
            prop_assert!(finite(&t), "{:?} is called plain but does not parse to a finite f32", t);
            prop_assert!(mtrec::data::ingest::parse_f32(&t).is_some_and(f32::is_finite), "{:?}", t);
        }
    }

    #[test]
    fn decimals_of_data_files_are_plain(
        neg in any::<bool>(),
        int in "[0-9]{1,12}",
        frac in proptest::option::of("[0-9]{1,12}"),
    ) {
        let t = format!("{}{int}{}", if neg { "-" } else { "" }, frac.map_or(String::new(), |f| format!(".{f}")));
        prop_assert!(plain_decimal(t.as_bytes()), "{:?}", t);
        prop_assert!(finite(&t));
    }
}
