//! The plain reference of the gather: element by element, every width alike (no
//! `D = 8` fixed-size copy). [`super::gather_forward`] is tested against it on both sides
//! of that width in `tests/h16ref_gather.rs`.

/// Returns `y` (B, D) with `y_bd = T_{idx_b, d}`; `table` is (V, D).
pub fn gather_forward_reference(table: &[f32], idx: &[u32], dim: usize) -> Vec<f32> {
    let mut y = vec![0f32; idx.len() * dim];
    for (b, &r) in idx.iter().enumerate() {
        for d in 0..dim {
            y[b * dim + d] = table[r as usize * dim + d];
        }
    }
    y
}

/// Returns the dense table gradient (V, D): `∂L/∂T_r = Σ_{b : idx_b = r} dy_b`
/// (samples in order).
pub fn gather_backward_reference(dy: &[f32], idx: &[u32], vocab: usize, dim: usize) -> Vec<f32> {
    let mut dt = vec![0f32; vocab * dim];
    for (b, &r) in idx.iter().enumerate() {
        for d in 0..dim {
            dt[r as usize * dim + d] += dy[b * dim + d];
        }
    }
    dt
}
