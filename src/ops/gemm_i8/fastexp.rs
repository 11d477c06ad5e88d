//! A polynomial `exp` for the int8 inference path's gate softmax (the f32 path keeps
//! `f32::exp`). Branch-free and written so LLVM vectorises a loop of it (no libm call):
//! it was ≈ 4 % of the MovieLens int8 call as `expf`.
//!
//! # Derivation
//!
//! Range reduction (Cody–Waite), then a polynomial on the reduced argument:
//!
//! ```text
//! x ∈ [−87, 88] (clamped)    n = round(x · log₂e)    r = x − n·C₁ − n·C₂,  C₁ + C₂ ≈ ln 2
//! |r| ≤ ln 2 / 2 (+ rounding)            exp(x) = 2ⁿ · exp(r)
//! exp(r) ≈ 1 + r + r² · P(r)             P: Cephes `expf`'s degree-5 minimax fit of (eʳ − 1 − r)/r²
//! 2ⁿ = f32::from_bits((n + 127) << 23)   n ∈ [−126, 127]: a normal number, exact
//! ```
//! `C₁ = 0.693359375` has 9 significant bits, so `n · C₁` is exact for |n| ≤ 127 and the
//! reduction loses nothing. `round` is `(v + 1.5·2²³) − 1.5·2²³` (round to nearest even,
//! exact for |v| < 2²²), which needs no SSE4.1 `roundps`.
//!
//! **Error.** For x ∈ [−87, 88]: `|exp_poly(x) − eˣ| ≤ EXP_POLY_MAX_REL · eˣ` (2.5·10⁻⁷).
//! Measured once over every f32 of [−87, 88] against both `f32::exp` and the f64 exp:
//! at most 1.2·10⁻⁷ (one f32 ulp at 1); `tests/s9int8_moe.rs` checks every 61st f32 of the
//! range and the edges of the reduction against the stated bound. Below −87 the result is `e⁻⁸⁷ < 1.7·10⁻³⁸`
//! instead of eˣ (absolute error < 1.7·10⁻³⁸); above 88 it is `e⁸⁸` (the softmax calls it
//! with `x ≤ 0` only).

/// The stated bound on the relative error of [`exp_poly`] on [−87, 88], against
/// `f32::exp` and the exact exp (measured at most 1.2·10⁻⁷; see the module docs).
pub const EXP_POLY_MAX_REL: f32 = 2.5e-7;

const LOG2E: f32 = std::f32::consts::LOG2_E;
const C1: f32 = 0.693_359_4; // 0.693359375: 9 significant bits
const C2: f32 = -2.121_944_4e-4; // ln 2 − C1
const ROUND: f32 = 12_582_912.0; // 1.5 · 2²³

/// `eˣ` within [`EXP_POLY_MAX_REL`] (relative) on [−87, 88]; see the module docs.
#[inline(always)]
pub fn exp_poly(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let n = (x * LOG2E + ROUND) - ROUND; // round(x · log₂e), an integer-valued f32
    let r = x - n * C1 - n * C2; // |r| ≲ ln 2 / 2
    let mut p = 1.987_569_2e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5; // Cephes: 5.0000001201e-1, which rounds to 0.5 in f32
    let er = p * r * r + r + 1.0; // exp(r)
    let two_n = f32::from_bits(((n as i32 + 127) as u32) << 23); // 2ⁿ, exact
    er * two_n
}
