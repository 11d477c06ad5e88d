//! Launch wrappers for `kernels/layer_norm.cu`.

use super::{check_len, dim, grid_1d, grid_rows, Kernel, BLOCK};
use crate::device::cuda::CudaDevice;
use crate::error::Result;
use cudarc::driver::{CudaSlice, PushKernelArg};

/// `out = γ·x̂ + β`, saving μ and 1/σ; twin of `ops::layer_norm::layer_norm_forward`.
/// `out`, `inp`: (B, D); `gamma`, `beta`: (1, D); `mean`, `rstd`: (B,).
pub fn layer_norm_forward(
    dev: &CudaDevice,
    out: &mut CudaSlice<f32>,
    (mean, rstd): (&mut CudaSlice<f32>, &mut CudaSlice<f32>),
    inp: &CudaSlice<f32>,
    (gamma, beta): (&CudaSlice<f32>, &CudaSlice<f32>),
    (b, width): (usize, usize),
    eps: f32,
) -> Result<()> {
    let op = "layer_norm_forward";
    check_len(op, "out", out.len(), b * width)?;
    check_len(op, "inp", inp.len(), b * width)?;
    check_len(op, "mean", mean.len(), b)?;
    check_len(op, "rstd", rstd.len(), b)?;
    check_len(op, "gamma", gamma.len(), width)?;
    check_len(op, "beta", beta.len(), width)?;
    let (b32, width32) = (dim(op, b)?, dim(op, width)?);
    if b * width == 0 {
        return Ok(());
    }
    let f = Kernel::new(dev, "layer_norm", "layer_norm_fwd_f32")?;
    // SAFETY: every buffer has the length the kernel indexes (checked above).
    unsafe {
        f.launch(grid_rows(b, BLOCK, 0), |l| {
            l.arg(out)
                .arg(mean)
                .arg(rstd)
                .arg(inp)
                .arg(gamma)
                .arg(beta)
                .arg(&b32)
                .arg(&width32)
                .arg(&eps);
        })
    }
}

/// Accumulates `dinp`, `dgamma`, `dbeta` (from the saved `mean`, `rstd`); twin of `ops::layer_norm::layer_norm_backward`.
pub fn layer_norm_backward(
    dev: &CudaDevice,
    dinp: Option<&mut CudaSlice<f32>>,
    dgamma_dbeta: Option<(&mut CudaSlice<f32>, &mut CudaSlice<f32>)>,
    dout: &CudaSlice<f32>,
    (inp, gamma): (&CudaSlice<f32>, &CudaSlice<f32>),
    (mean, rstd): (&CudaSlice<f32>, &CudaSlice<f32>),
    (b, width): (usize, usize),
) -> Result<()> {
    let op = "layer_norm_backward";
    check_len(op, "dout", dout.len(), b * width)?;
    check_len(op, "inp", inp.len(), b * width)?;
    check_len(op, "gamma", gamma.len(), width)?;
    check_len(op, "mean", mean.len(), b)?;
    check_len(op, "rstd", rstd.len(), b)?;
    let (b32, width32) = (dim(op, b)?, dim(op, width)?);
    if b * width == 0 {
        return Ok(());
    }
    if let Some(dinp) = dinp {
        check_len(op, "dinp", dinp.len(), b * width)?;
        let f = Kernel::new(dev, "layer_norm", "layer_norm_bwd_f32")?;
        // SAFETY: lengths checked above.
        unsafe {
            f.launch(grid_rows(b, BLOCK, 0), |l| {
                l.arg(dinp)
                    .arg(dout)
                    .arg(inp)
                    .arg(gamma)
                    .arg(mean)
                    .arg(rstd)
                    .arg(&b32)
                    .arg(&width32);
            })
        }?;
    }
    if let Some((dgamma, dbeta)) = dgamma_dbeta {
        check_len(op, "dgamma", dgamma.len(), width)?;
        check_len(op, "dbeta", dbeta.len(), width)?;
        let f = Kernel::new(dev, "layer_norm", "layer_norm_bwd_params_f32")?;
        // SAFETY: lengths checked above.
        unsafe {
            f.launch(grid_1d(width), |l| {
                l.arg(dgamma)
                    .arg(dbeta)
                    .arg(dout)
                    .arg(inp)
                    .arg(mean)
                    .arg(rstd)
                    .arg(&b32)
                    .arg(&width32);
            })
        }?;
    }
    Ok(())
}
