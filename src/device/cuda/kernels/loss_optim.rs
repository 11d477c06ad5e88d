//! Launch wrappers for `kernels/loss.cu` and `kernels/optim.cu`, and the `#[repr(C)]`
//! parameter structs shared with `optim.cu`.

use super::{check_len, dim, grid_1d, single_block, Kernel};
use crate::device::cuda::CudaDevice;
use crate::error::Result;
use crate::optim::{AdamConfig, SgdConfig};
use cudarc::driver::{CudaSlice, CudaView, DeviceRepr, PushKernelArg};

/// Which loss a [`loss_forward`] / [`loss_backward`] call computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PointLoss {
    /// `mse_{fwd,bwd}_f32`; twins `loss::mse::{mse_forward, mse_backward}`.
    Mse,
    /// `bce_{fwd,bwd}_f32`; twins `loss::bce::{bce_forward, bce_backward}`.
    BceLogits,
}

impl PointLoss {
    fn kernels(self) -> (&'static str, &'static str) {
        match self {
            PointLoss::Mse => ("mse_fwd_f32", "mse_bwd_f32"),
            PointLoss::BceLogits => ("bce_fwd_f32", "bce_bwd_f32"),
        }
    }
}

/// `loss[0] = Σ_i c_i·(1/C)·Σ_j ℓ(p_ij, y_ij)` for predictions / logits `p` and targets `y`
/// (B, C), coefficients `coef` (B,). The scalar stays on the device.
pub fn loss_forward(
    dev: &CudaDevice,
    kind: PointLoss,
    loss: &mut CudaSlice<f32>,
    p: &CudaSlice<f32>,
    (y, coef): (&CudaSlice<f32>, &CudaSlice<f32>),
    (b, c): (usize, usize),
) -> Result<()> {
    let op = "loss_forward";
    check_len(op, "loss", loss.len(), 1)?;
    check_len(op, "prediction", p.len(), b * c)?;
    check_len(op, "targets", y.len(), b * c)?;
    check_len(op, "coefficients", coef.len(), b)?;
    let (b32, c32) = (dim(op, b)?, dim(op, c)?);
    if c == 0 {
        return Ok(());
    }
    let kernel = kind.kernels().0;
    let f = Kernel::new(dev, "loss", kernel)?;
    // SAFETY: lengths checked above; one block writes loss[0].
    unsafe {
        f.launch(single_block(), |l| {
            l.arg(loss).arg(p).arg(y).arg(coef).arg(&b32).arg(&c32);
        })
    }
}

/// `dp += dl[0]·c_i·∂ℓ/∂p`: MSE `(2/C)·(p − y)`, BCE `(1/C)·(σ(z) − y)`. `dl` (1,) is the
/// gradient of the loss node, read on the device (the CPU twin takes it as a scalar).
pub fn loss_backward(
    dev: &CudaDevice,
    kind: PointLoss,
    dp: &mut CudaSlice<f32>,
    dl: &CudaSlice<f32>,
    p: &CudaSlice<f32>,
    (y, coef): (&CudaSlice<f32>, &CudaSlice<f32>),
    (b, c): (usize, usize),
) -> Result<()> {
    let op = "loss_backward";
    check_len(op, "dl", dl.len(), 1)?;
    for (what, len) in [
        ("dp", dp.len()),
        ("prediction", p.len()),
        ("targets", y.len()),
    ] {
        check_len(op, what, len, b * c)?;
    }
    check_len(op, "coefficients", coef.len(), b)?;
    let (b32, c32) = (dim(op, b)?, dim(op, c)?);
    if b * c == 0 {
        return Ok(());
    }
    let kernel = kind.kernels().1;
    let f = Kernel::new(dev, "loss", kernel)?;
    // SAFETY: lengths checked above.
    unsafe {
        f.launch(grid_1d(b * c), |l| {
            l.arg(dp)
                .arg(dl)
                .arg(p)
                .arg(y)
                .arg(coef)
                .arg(&b32)
                .arg(&c32);
        })
    }
}

/// Softmax cross-entropy; twin of `loss::softmax_ce::softmax_ce_forward`, the scalar written
/// to `loss[0]`. `p`, `z`: (B, V); `classes`: (B,) each `< V` (the caller checks; larger
/// ids are a device-side out-of-range read of one logit row, so they must be rejected first).
pub fn softmax_ce_forward(
    dev: &CudaDevice,
    loss: &mut CudaSlice<f32>,
    p: &mut CudaSlice<f32>,
    z: &CudaSlice<f32>,
    classes: &CudaSlice<u32>,
    coef: &CudaSlice<f32>,
    (b, v): (usize, usize),
) -> Result<()> {
    let op = "softmax_ce_forward";
    check_len(op, "loss", loss.len(), 1)?;
    check_len(op, "p", p.len(), b * v)?;
    check_len(op, "logits", z.len(), b * v)?;
    check_len(op, "classes", classes.len(), b)?;
    check_len(op, "coefficients", coef.len(), b)?;
    let (b32, v32) = (dim(op, b)?, dim(op, v)?);
    if v == 0 {
        return Ok(());
    }
    let f = Kernel::new(dev, "loss", "softmax_ce_fwd_f32")?;
    // SAFETY: lengths checked above; class ids < V are the caller's contract (see above).
    unsafe {
        f.launch(single_block(), |l| {
            l.arg(loss)
                .arg(p)
                .arg(z)
                .arg(classes)
                .arg(coef)
                .arg(&b32)
                .arg(&v32);
        })
    }
}

/// `dz += dl[0]·c_i·(p − onehot(y))`; twin of `loss::softmax_ce::softmax_ce_backward`.
/// `dl` (1,) as in [`loss_backward`].
pub fn softmax_ce_backward(
    dev: &CudaDevice,
    dz: &mut CudaSlice<f32>,
    dl: &CudaSlice<f32>,
    p: &CudaSlice<f32>,
    classes: &CudaSlice<u32>,
    coef: &CudaSlice<f32>,
    (b, v): (usize, usize),
) -> Result<()> {
    let op = "softmax_ce_backward";
    check_len(op, "dl", dl.len(), 1)?;
    check_len(op, "dz", dz.len(), b * v)?;
    check_len(op, "p", p.len(), b * v)?;
    check_len(op, "classes", classes.len(), b)?;
    check_len(op, "coefficients", coef.len(), b)?;
    let (b32, v32) = (dim(op, b)?, dim(op, v)?);
    if b * v == 0 {
        return Ok(());
    }
    let f = Kernel::new(dev, "loss", "softmax_ce_bwd_f32")?;
    // SAFETY: lengths checked above (the kernel only compares class ids, never indexes by them).
    unsafe {
        f.launch(grid_1d(b * v), |l| {
            l.arg(dz)
                .arg(dl)
                .arg(p)
                .arg(classes)
                .arg(coef)
                .arg(&b32)
                .arg(&v32);
        })
    }
}

/// `SgdParams` of `kernels/optim.cu`: same fields, same order, all 4 bytes wide.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdParams {
    pub lr: f32,
    pub momentum: f32,
    pub weight_decay: f32,
    pub nesterov: i32,
    pub n: u32,
}

// SAFETY: a plain `#[repr(C)]` struct of 4-byte scalars, laid out as the CUDA struct.
unsafe impl DeviceRepr for SgdParams {}

/// `AdamParams` of `kernels/optim.cu`: same fields, same order, all 4 bytes wide.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamParams {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
    pub bc1: f32,
    pub bc2: f32,
    pub decoupled: i32,
    pub n: u32,
}

// SAFETY: a plain `#[repr(C)]` struct of 4-byte scalars, laid out as the CUDA struct.
unsafe impl DeviceRepr for AdamParams {}

impl AdamParams {
    /// The parameters of step `t` (1, 2, ...) over `n` scalars, the bias corrections
    /// computed exactly as the CPU does (f64, rounded to f32). Validates `cfg`.
    pub fn new(cfg: &AdamConfig, lr: f32, t: u64, n: u32) -> Result<AdamParams> {
        cfg.validate()?;
        let tf = t.max(1) as f64;
        Ok(AdamParams {
            lr,
            beta1: cfg.beta1,
            beta2: cfg.beta2,
            eps: cfg.eps,
            weight_decay: cfg.weight_decay,
            bc1: (1.0 - (cfg.beta1 as f64).powf(tf)) as f32,
            bc2: (1.0 - (cfg.beta2 as f64).powf(tf)) as f32,
            decoupled: cfg.decoupled as i32,
            n,
        })
    }
}

/// One SGD step over a flat block: `theta`, `g`, `v` (velocity) all (n,); twin of
/// `Optimizer::step` of `optim::Sgd` on the dense parameters.
pub fn sgd_step(
    dev: &CudaDevice,
    theta: &mut CudaSlice<f32>,
    g: &CudaSlice<f32>,
    v: &mut CudaSlice<f32>,
    cfg: &SgdConfig,
    lr: f32,
) -> Result<()> {
    let n = theta.len();
    check_len("sgd_step", "gradient", g.len(), n)?;
    check_len("sgd_step", "velocity", v.len(), n)?;
    cfg.validate()?;
    let p = SgdParams {
        lr,
        momentum: cfg.momentum,
        weight_decay: cfg.weight_decay,
        nesterov: cfg.nesterov as i32,
        n: dim("sgd_step", n)?,
    };
    if n == 0 {
        return Ok(());
    }
    let f = Kernel::new(dev, "optim", "sgd_step_f32")?;
    // SAFETY: the three buffers hold n = p.n elements (checked).
    unsafe {
        f.launch(grid_1d(n), |l| {
            l.arg(theta).arg(g).arg(v).arg(&p);
        })
    }
}

/// Lazy SGD on the listed `rows` of a `(V, width)` table (`theta`, `g`, `v`), then those
/// gradient rows set to 0 (`sgd_rows_f32`; twin: `optim::Sgd` on a `SparseGrad`).
pub fn sgd_rows_step(
    dev: &CudaDevice,
    theta: &mut CudaSlice<f32>,
    g: &mut CudaSlice<f32>,
    v: &mut CudaSlice<f32>,
    rows: &CudaView<'_, u32>,
    width: usize,
    (cfg, lr): (&SgdConfig, f32),
) -> Result<()> {
    let op = "sgd_rows_step";
    let len = theta.len();
    check_len(op, "gradient", g.len(), len)?;
    check_len(op, "velocity", v.len(), len)?;
    table_rows(op, len, width)?;
    cfg.validate()?;
    let (width32, v_rows) = (dim(op, width)?, dim(op, len / width)?);
    let p = SgdParams {
        lr,
        momentum: cfg.momentum,
        weight_decay: cfg.weight_decay,
        nesterov: cfg.nesterov as i32,
        n: dim(op, rows.len() * width)?,
    };
    if p.n == 0 {
        return Ok(());
    }
    let f = Kernel::new(dev, "optim", "sgd_rows_f32")?;
    // SAFETY: theta, g, v hold V·D elements (checked); rows holds p.n / D ids, and the
    // kernel skips ids ≥ V.
    unsafe {
        f.launch(grid_1d(p.n as usize), |l| {
            l.arg(theta).arg(g).arg(v).arg(rows);
            l.arg(&width32).arg(&v_rows).arg(&p);
        })
    }
}

/// One Adam / AdamW step number `t` (1, 2, ...) over a flat block: `theta`, `g`, `m`, `v`
/// all (n,); twin of `Optimizer::step` of `optim::Adam` on the dense parameters. The bias
/// corrections are computed here exactly as the CPU does (f64, rounded to f32).
pub fn adam_step(
    dev: &CudaDevice,
    theta: &mut CudaSlice<f32>,
    g: &CudaSlice<f32>,
    (m, v): (&mut CudaSlice<f32>, &mut CudaSlice<f32>),
    (cfg, lr, t): (&AdamConfig, f32, u64),
) -> Result<()> {
    let n = theta.len();
    check_len("adam_step", "gradient", g.len(), n)?;
    check_len("adam_step", "first moment", m.len(), n)?;
    check_len("adam_step", "second moment", v.len(), n)?;
    let p = AdamParams::new(cfg, lr, t, dim("adam_step", n)?)?;
    if n == 0 {
        return Ok(());
    }
    let f = Kernel::new(dev, "optim", "adam_step_f32")?;
    // SAFETY: the four buffers hold n = p.n elements (checked).
    unsafe {
        f.launch(grid_1d(n), |l| {
            l.arg(theta).arg(g).arg(m).arg(v).arg(&p);
        })
    }
}

/// Lazy Adam / AdamW step number `t` on the listed rows of a (V, D) table, then those rows
/// of `g` set to 0; twin of the table loop of `Optimizer::step` of `optim::Adam` (the
/// touched rows of a `SparseGrad`). `theta`, `g`, `m`, `v`: (V, D); `rows`: (n_rows,),
/// distinct. Rows `≥ V` are skipped on the device (the caller checks them first).
pub fn adam_rows_step(
    dev: &CudaDevice,
    theta: &mut CudaSlice<f32>,
    g: &mut CudaSlice<f32>,
    (m, v): (&mut CudaSlice<f32>, &mut CudaSlice<f32>),
    rows: &CudaView<'_, u32>,
    width: usize,
    (cfg, lr, t): (&AdamConfig, f32, u64),
) -> Result<()> {
    let op = "adam_rows_step";
    let len = theta.len();
    check_len(op, "gradient", g.len(), len)?;
    check_len(op, "first moment", m.len(), len)?;
    check_len(op, "second moment", v.len(), len)?;
    table_rows(op, len, width)?;
    let (width32, v_rows) = (dim(op, width)?, dim(op, len / width)?);
    let p = AdamParams::new(cfg, lr, t, dim(op, rows.len() * width)?)?;
    if p.n == 0 {
        return Ok(());
    }
    let f = Kernel::new(dev, "optim", "adam_rows_f32")?;
    // SAFETY: theta, g, m, v hold V·D elements (checked); rows holds p.n / D ids, and the
    // kernel skips ids ≥ V.
    unsafe {
        f.launch(grid_1d(p.n as usize), |l| {
            l.arg(theta).arg(g).arg(m).arg(v).arg(rows);
            l.arg(&width32).arg(&v_rows).arg(&p);
        })
    }
}

/// Checks that `len` values form a table of width `width` (`width > 0`).
fn table_rows(op: &'static str, len: usize, width: usize) -> Result<()> {
    if width == 0 || !len.is_multiple_of(width) {
        return Err(crate::error::Error::Length {
            op,
            what: format!("theta (a table of width {width})"),
            len,
            expected: (len / width.max(1)) * width.max(1),
        });
    }
    Ok(())
}
