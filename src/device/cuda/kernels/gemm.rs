//! Launch wrappers for `kernels/matmul.cu` (our tiled SGEMM) and `kernels/linear_act.cu`
//! (the same SGEMM with a bias + activation epilogue).

use super::{check_len, dim, grid_1d, Kernel, UnaryKind, NULL};
use crate::device::cuda::CudaDevice;
use crate::error::{Error, Result};
use cudarc::driver::{CudaSlice, LaunchConfig, PushKernelArg};

/// Block tile of `gemm_tile.cuh` (rows and columns of C per block).
pub const GEMM_TILE: usize = 128;

/// The SGEMM grid for an (m, n) result: one 256-thread block per 128×128 tile.
fn gemm_grid(op: &'static str, m: usize, n: usize) -> Result<LaunchConfig> {
    let (gx, gy) = (n.div_ceil(GEMM_TILE), m.div_ceil(GEMM_TILE));
    if gy > 65_535 {
        return Err(Error::Config {
            what: format!("{op} with {m} rows"),
            message: format!("the SGEMM grid allows at most {} rows", 65_535 * GEMM_TILE),
        });
    }
    Ok(LaunchConfig {
        grid_dim: (gx as u32, gy as u32, 1),
        block_dim: (256, 1, 1),
        shared_mem_bytes: 0,
    })
}

/// The shape of `C (M, N) = op(A)·op(B)`: the CPU GEMM's own argument struct.
pub use crate::ops::gemm::Gemm;

/// The shape and activation of a fused linear layer: `x` (B, D_in) · `w` (D_in, D_out)
/// + `bias` (1, D_out), then `act` elementwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinearShape {
    pub b: usize,
    pub d_in: usize,
    pub d_out: usize,
    pub act: UnaryKind,
}

/// The gradients [`linear_act_backward`] writes: `dpre` (B, D_out) overwritten (scratch),
/// `dbias` (1, D_out), `dw` (D_in, D_out) and, if given, `dx` (B, D_in) accumulated.
pub struct LinearGrads<'a> {
    pub dx: Option<&'a mut CudaSlice<f32>>,
    pub dw: &'a mut CudaSlice<f32>,
    pub dbias: &'a mut CudaSlice<f32>,
    pub dpre: &'a mut CudaSlice<f32>,
}

/// `out = beta·out + op(A)·op(B)`; with `beta = 1` the twin of `ops::matmul::matmul_forward`
/// (which accumulates). `out`: (M, N); `a`: (M, K), or (K, M) if `ta`; `b`: (K, N), or
/// (N, K) if `tb`. `beta = 0` overwrites `out` without reading it.
pub fn matmul_forward(
    dev: &CudaDevice,
    out: &mut CudaSlice<f32>,
    a: &CudaSlice<f32>,
    b: &CudaSlice<f32>,
    Gemm {
        m,
        k,
        n,
        trans_a: ta,
        trans_b: tb,
    }: Gemm,
    beta: f32,
) -> Result<()> {
    let op = "matmul_forward";
    check_len(op, "out", out.len(), m * n)?;
    check_len(op, "a", a.len(), m * k)?;
    check_len(op, "b", b.len(), k * n)?;
    let (m32, k32, n32) = (dim(op, m)?, dim(op, k)?, dim(op, n)?);
    if m * n == 0 {
        return Ok(());
    }
    let cfg = gemm_grid(op, m, n)?;
    let f = Kernel::new(dev, "matmul", "matmul_fwd_f32")?;
    let (ta, tb) = (ta as i32, tb as i32);
    // SAFETY: out: m·n, a: m·k, b: k·n elements (checked); the kernel masks every load
    // and store to those bounds (ragged tiles are zero-filled).
    unsafe {
        f.launch(cfg, |l| {
            l.arg(out)
                .arg(a)
                .arg(b)
                .arg(&m32)
                .arg(&k32)
                .arg(&n32)
                .arg(&ta)
                .arg(&tb)
                .arg(&beta);
        })
    }
}

/// Accumulates `dA`, `dB` for `C = op(A)·op(B)` given `dC`: the same launches as the CPU
/// twin `ops::matmul::matmul_backward` makes of `matmul_forward`.
pub fn matmul_backward(
    dev: &CudaDevice,
    da: Option<&mut CudaSlice<f32>>,
    db: Option<&mut CudaSlice<f32>>,
    dc: &CudaSlice<f32>,
    a: &CudaSlice<f32>,
    b: &CudaSlice<f32>,
    Gemm {
        m,
        k,
        n,
        trans_a: ta,
        trans_b: tb,
    }: Gemm,
) -> Result<()> {
    if let Some(da) = da {
        if !ta {
            // dA (M,K) += dC (M,N) · op(B)ᵀ (N,K)
            matmul_forward(dev, da, dc, b, Gemm::new(m, n, k).trans_b(!tb), 1.0)?;
        } else {
            // dA (K,M) += op(B) (K,N) · dCᵀ (N,M)
            matmul_forward(
                dev,
                da,
                b,
                dc,
                Gemm::new(k, n, m).trans_a(tb).trans_b(true),
                1.0,
            )?;
        }
    }
    if let Some(db) = db {
        if !tb {
            // dB (K,N) += op(A)ᵀ (K,M) · dC (M,N)
            matmul_forward(dev, db, a, dc, Gemm::new(k, m, n).trans_a(!ta), 1.0)?;
        } else {
            // dB (N,K) += dCᵀ (N,M) · op(A) (M,K)
            matmul_forward(
                dev,
                db,
                dc,
                a,
                Gemm::new(n, m, k).trans_a(true).trans_b(ta),
                1.0,
            )?;
        }
    }
    Ok(())
}

/// `pre = x·W + bias`, `out = f(pre)` in one kernel. `out`, `pre`: (B, D_out);
/// `x`: (B, D_in); `w`: (D_in, D_out); `bias`: (1, D_out). No fused CPU op exists yet: the
/// twin is `matmul_forward` + `add_forward` (bias broadcast) + `unary_forward`.
pub fn linear_act_forward(
    dev: &CudaDevice,
    out: &mut CudaSlice<f32>,
    pre: &mut CudaSlice<f32>,
    x: &CudaSlice<f32>,
    w: &CudaSlice<f32>,
    bias: &CudaSlice<f32>,
    LinearShape {
        b,
        d_in,
        d_out,
        act: kind,
    }: LinearShape,
) -> Result<()> {
    let op = "linear_act_forward";
    check_len(op, "out", out.len(), b * d_out)?;
    check_len(op, "pre", pre.len(), b * d_out)?;
    check_len(op, "x", x.len(), b * d_in)?;
    check_len(op, "w", w.len(), d_in * d_out)?;
    check_len(op, "bias", bias.len(), d_out)?;
    let (b32, i32_, o32) = (dim(op, b)?, dim(op, d_in)?, dim(op, d_out)?);
    if b * d_out == 0 {
        return Ok(());
    }
    let cfg = gemm_grid(op, b, d_out)?;
    let f = Kernel::new(dev, "linear_act", "linear_act_fwd_f32")?;
    let k = kind as i32;
    // SAFETY: lengths checked above; the SGEMM masks loads and stores to them.
    unsafe {
        f.launch(cfg, |l| {
            l.arg(out)
                .arg(pre)
                .arg(x)
                .arg(w)
                .arg(bias)
                .arg(&b32)
                .arg(&i32_)
                .arg(&o32)
                .arg(&k);
        })
    }
}

/// Backward of [`linear_act_forward`]: `dpre = dout ⊙ f′(pre)` (overwritten; scratch of
/// (B, D_out)), `dbias += Σ_rows dpre`, `dw += xᵀ·dpre`, and `dx += dpre·Wᵀ` if `dx` is given.
pub fn linear_act_backward(
    dev: &CudaDevice,
    LinearGrads {
        dx,
        dw,
        dbias,
        dpre,
    }: LinearGrads<'_>,
    dout: &CudaSlice<f32>,
    (x, w): (&CudaSlice<f32>, &CudaSlice<f32>),
    (pre, out): (&CudaSlice<f32>, &CudaSlice<f32>),
    LinearShape {
        b,
        d_in,
        d_out,
        act: kind,
    }: LinearShape,
) -> Result<()> {
    linear_act_backward_dpre(dev, dpre, Some(dbias), dout, (pre, out), (b, d_out), kind)?;
    if b * d_out == 0 {
        return Ok(());
    }
    // in the forward pass this was pre = x·W (+ bias), so dx += dpre·Wᵀ, dW += xᵀ·dpre
    matmul_backward(dev, dx, Some(dw), dpre, x, w, Gemm::new(b, d_in, d_out))
}

/// The first half of [`linear_act_backward`], `linear_act_bwd_f32` alone: `dpre = dout ⊙
/// f′(pre, out)` (overwritten) and, if given, `dbias += Σ_rows dpre`. `dpre`, `dout`,
/// `pre`, `out`: (B, D_out); `dbias`: (1, D_out). The device step launches `dx` and `dW`
/// as two [`matmul_forward`]s of its own.
pub fn linear_act_backward_dpre(
    dev: &CudaDevice,
    dpre: &mut CudaSlice<f32>,
    dbias: Option<&mut CudaSlice<f32>>,
    dout: &CudaSlice<f32>,
    (pre, out): (&CudaSlice<f32>, &CudaSlice<f32>),
    (b, d_out): (usize, usize),
    kind: UnaryKind,
) -> Result<()> {
    let op = "linear_act_backward";
    for (what, len) in [
        ("dpre", dpre.len()),
        ("dout", dout.len()),
        ("pre", pre.len()),
        ("out", out.len()),
    ] {
        check_len(op, what, len, b * d_out)?;
    }
    if let Some(dbias) = &dbias {
        check_len(op, "dbias", dbias.len(), d_out)?;
    }
    let (b32, o32) = (dim(op, b)?, dim(op, d_out)?);
    if b * d_out == 0 {
        return Ok(());
    }
    let f = Kernel::new(dev, "linear_act", "linear_act_bwd_f32")?;
    let k = kind as i32;
    // SAFETY: dpre, dout, pre, out: B·D_out; dbias: D_out (checked) or NULL, which the
    // kernel skips.
    unsafe {
        f.launch(grid_1d(d_out), |l| {
            l.arg(dpre);
            match dbias {
                Some(dbias) => l.arg(dbias),
                None => l.arg(&NULL),
            };
            l.arg(dout).arg(pre).arg(out).arg(&b32).arg(&o32).arg(&k);
        })
    }
}
