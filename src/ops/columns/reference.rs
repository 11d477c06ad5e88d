//! The plain reference of column concat / slice: element by element, every width alike
//! (no 8-wide fixed-size copy). [`super::copy_cols_forward`] /
//! [`super::copy_cols_backward`] are tested against it in `tests/h16ref_columns.rs`.

/// Returns `y = [x¹ | x² | … | xⁿ]`: each part `(R, Cₖ)` (its `Cₖ` given beside it)
/// placed at column offset `oₖ = C₁ + … + Cₖ₋₁` of `y` (R, Σ Cₖ).
pub fn concat_cols_reference(parts: &[(&[f32], usize)], rows: usize) -> Vec<f32> {
    let c_out: usize = parts.iter().map(|p| p.1).sum();
    let mut y = vec![0f32; rows * c_out];
    let mut off = 0;
    for &(x, c) in parts {
        for i in 0..rows {
            for j in 0..c {
                y[i * c_out + off + j] = x[i * c + j];
            }
        }
        off += c;
    }
    y
}

/// Returns `y = x[:, s .. s+L]` (R, L) from `x` (R, C).
pub fn slice_cols_reference(
    x: &[f32],
    rows: usize,
    cols: usize,
    start: usize,
    len: usize,
) -> Vec<f32> {
    let mut y = vec![0f32; rows * len];
    for i in 0..rows {
        for j in 0..len {
            y[i * len + j] = x[i * cols + start + j];
        }
    }
    y
}

/// Returns the gradient of the block `(R, C_in)` at column offset `off` of a `(R, C_out)`
/// result: `∂L/∂x_ij = dy_{i, off+j}` (the backward of both concat and slice).
pub fn copy_cols_backward_reference(
    dy: &[f32],
    rows: usize,
    c_out: usize,
    c_in: usize,
    off: usize,
) -> Vec<f32> {
    let mut dx = vec![0f32; rows * c_in];
    for i in 0..rows {
        for j in 0..c_in {
            dx[i * c_in + j] = dy[i * c_out + off + j];
        }
    }
    dx
}
