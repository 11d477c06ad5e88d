//! Issue #17 §1 (s10): the fast path of `f32_of_double` (by the bits of the double,
//! src/data/ingest/parquet/values.rs) against its reference twin `f32_of_double_exact`
//! (the midpoint check for every double): on every binade of the fast path's range and
//! just outside it, at the dropped bits next to the tie (2²⁸) and at the prefix edges
//! (0 and 2²⁹ − 1), and on random bit patterns.

use mtrec::data::ingest::{f32_of_double, f32_of_double_exact};
use proptest::prelude::*;

fn same(v: f64) {
    assert_eq!(
        f32_of_double(v).map(f32::to_bits),
        f32_of_double_exact(v).map(f32::to_bits),
        "{v:e} ({:#x})",
        v.to_bits()
    );
}

#[test]
fn the_fast_path_is_the_exact_check_at_the_edges() {
    let low = (1u64 << 29) - 1;
    let tie = 1u64 << 28;
    let mut refused = 0;
    for e in 880u64..=1170 {
        for d in [
            0,
            1,
            2,
            tie - 2,
            tie - 1,
            tie,
            tie + 1,
            tie + 2,
            low - 1,
            low,
        ] {
            for top in [0u64, 1, 0x3f_ffff, 0x40_0000, 0x7f_ffff] {
                for sign in [0u64, 1 << 63] {
                    let v = f64::from_bits(sign | e << 52 | top << 29 | d);
                    same(v);
                    refused += usize::from(f32_of_double(v).is_none());
                }
            }
        }
    }
    assert!(
        refused > 1000,
        "the edges include refused doubles: {refused}"
    );
    for v in [
        0.0,
        -0.0,
        f64::MIN_POSITIVE,
        5e-324,
        1e300,
        f64::INFINITY,
        f64::NAN,
    ] {
        same(v);
    }
    same(f64::from(f32::MAX));
    same(f64::from(f32::MIN_POSITIVE));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]
    #[test]
    fn the_fast_path_is_the_exact_check_on_random_doubles(bits in any::<u64>(), e in 890u64..1160) {
        same(f64::from_bits(bits));
        // the exponents near the f32 range, where the fast path applies
        same(f64::from_bits((bits & !(0x7ff << 52)) | e << 52));
    }
}
