//! Shared by the `h16ref_*` tests: seeded values, the tolerance every fast path is held
//! to against its op's public reference, and a check that this tolerance catches a 1 %
//! error in one element.
#![allow(dead_code)]

/// The seeded generator of the fast-path tests (values in [−1, 1)).
#[path = "../h16tests_fastpath_support/mod.rs"]
mod fastpath;
pub use fastpath::Lcg;

/// `|got − want| ≤ 1e-3·|want| + 1e-5·max|want|` for every element: a 1 % error fails
/// in any element at least 1.2 % of the largest (see [`assert_close`]).
pub fn close(got: &[f32], want: &[f32]) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!("length {} against {}", got.len(), want.len()));
    }
    let scale = want.iter().fold(1e-30f64, |m, v| m.max(v.abs() as f64));
    for (i, (&g, &r)) in got.iter().zip(want).enumerate() {
        let (g, r) = (g as f64, r as f64);
        let err = (g - r).abs();
        if err.is_nan() || err > 1e-3 * r.abs() + 1e-5 * scale {
            return Err(format!("element {i}: {g} against the reference {r}"));
        }
    }
    Ok(())
}

/// Asserts [`close`], and that it would have failed had the element of the largest
/// magnitude (and one of a tenth of it, where there is one) been 1 % off.
pub fn assert_close(what: &str, got: &[f32], want: &[f32]) {
    if let Err(e) = close(got, want) {
        panic!("{what}: {e}");
    }
    let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(
        scale > 0.0,
        "{what}: the reference is all zeros; pick other values"
    );
    let big = want.iter().position(|v| v.abs() == scale).unwrap();
    let small = want
        .iter()
        .position(|v| v.abs() >= 0.05 * scale && v.abs() <= 0.2 * scale);
    for k in std::iter::once(big).chain(small) {
        let mut off = got.to_vec();
        off[k] = want[k] * 1.01;
        assert!(
            close(&off, want).is_err(),
            "{what}: the tolerance lets a 1 % error in element {k} pass"
        );
    }
}

/// Runs `f` on one thread and on four (the parallel paths need more than one).
pub fn on_1_and_4_threads(f: impl Fn() + Sync) {
    for n in [1, 4] {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .expect("a thread pool")
            .install(&f);
    }
}
