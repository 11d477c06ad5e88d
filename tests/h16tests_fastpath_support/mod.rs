//! Shared pieces of the fast-path tests (`tests/h16tests_fastpath_*.rs`): deterministic
//! values, rayon pools of a chosen size (a parallel path is only taken with more than one
//! thread), and the one closeness check every fast path is held to.
//!
//! The check is `|fast − reference| ≤ RTOL·|reference| + ATOL·max_j |reference_j|` per
//! element, the reference computed in f64. [`assert_close`] also proves, on every call,
//! that the check is tight enough: the fast output with its largest element off by 1 % is
//! rejected.
#![allow(dead_code)] // each test file uses a part

/// Relative part of the tolerance.
pub const RTOL: f64 = 1e-4;
/// Absolute part of the tolerance, as a fraction of the largest reference magnitude.
pub const ATOL: f64 = 1e-5;

/// A linear congruential generator: the same values on every machine.
pub struct Lcg(pub u64);

impl Lcg {
    /// A value in [-1, 1).
    pub fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    /// `n` values in [-1, 1).
    pub fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.next()).collect()
    }

    /// `n` values in [-s, s).
    pub fn scaled(&mut self, n: usize, s: f32) -> Vec<f32> {
        (0..n).map(|_| s * self.next()).collect()
    }

    /// An index in 0..n.
    pub fn below(&mut self, n: usize) -> u32 {
        (((self.next() + 1.0) * 0.5 * n as f32) as usize).min(n - 1) as u32
    }
}

/// Runs `f` in a rayon pool of `threads` threads.
pub fn in_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

/// The first element of `got` outside the tolerance around `want`, as a message.
pub fn check_close(got: &[f32], want: &[f64]) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!("length {} vs reference {}", got.len(), want.len()));
    }
    let scale = want.iter().fold(0f64, |m, v| m.max(v.abs()));
    for (i, (&g, &r)) in got.iter().zip(want).enumerate() {
        let tol = RTOL * r.abs() + ATOL * scale;
        let within = (g as f64 - r).abs() <= tol; // false for NaN
        if !within {
            return Err(format!(
                "at {i}: {g} vs reference {r} (tolerance {tol:.3e})"
            ));
        }
    }
    Ok(())
}

/// Asserts that `got` is within the tolerance of `want`, and that the same check fails
/// when the largest element of `got` is 1 % off (skipped when the reference is all zero:
/// then `got` must be exactly zero).
pub fn assert_close(what: &str, got: &[f32], want: &[f64]) {
    if let Err(e) = check_close(got, want) {
        panic!("{what}: {e}");
    }
    let Some((at, _)) = want
        .iter()
        .enumerate()
        .filter(|(_, v)| **v != 0.0)
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
    else {
        return;
    };
    let mut off = got.to_vec();
    off[at] *= 1.01;
    assert!(
        check_close(&off, want).is_err(),
        "{what}: the check does not catch a 1 % error at element {at}"
    );
}

/// `op(A)[i, p]` for `a` stored (M, K), or (K, M) when `ta`.
pub fn at(a: &[f32], ta: bool, m: usize, k: usize, i: usize, p: usize) -> f64 {
    (if ta { a[p * m + i] } else { a[i * k + p] }) as f64
}

/// `op(A) · op(B)` in f64: (M, N).
#[allow(clippy::too_many_arguments)]
pub fn product(a: &[f32], b: &[f32], m: usize, k: usize, n: usize, ta: bool, tb: bool) -> Vec<f64> {
    let mut out = vec![0f64; m * n];
    for i in 0..m {
        for p in 0..k {
            let aip = at(a, ta, m, k, i, p);
            for j in 0..n {
                // op(B)[p, j]: b stored (K, N), or (N, K) when tb
                let bpj = (if tb { b[j * k + p] } else { b[p * n + j] }) as f64;
                out[i * n + j] += aip * bpj;
            }
        }
    }
    out
}
