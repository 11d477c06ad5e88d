//! Launch wrappers for `kernels/tape.cu`: the plumbing of a lowered tape (fill, scale,
//! axpy, column blocks) and the ESMM logit product. CPU twins: the matching arms of the
//! host backend (`device::HostBackend`) and `ops::logit_product`.

use super::{check_len, dim, grid_1d, single_block, Kernel, NULL};
use crate::device::cuda::CudaDevice;
use crate::error::{Error, Result};
use cudarc::driver::{CudaSlice, CudaView, PushKernelArg};

/// `out = value`. `out`: (n,).
pub fn fill(dev: &CudaDevice, out: &mut CudaSlice<f32>, value: f32) -> Result<()> {
    let n = dim("fill", out.len())?;
    if n == 0 {
        return Ok(());
    }
    let f = Kernel::new(dev, "tape", "fill_f32")?;
    // SAFETY: out holds n elements; the kernel writes indices < n.
    unsafe {
        f.launch(grid_1d(n as usize), |l| {
            l.arg(out).arg(&n).arg(&value);
        })
    }
}

/// `out = c·inp`. `out`, `inp`: (n,).
pub fn scale_forward(
    dev: &CudaDevice,
    out: &mut CudaSlice<f32>,
    inp: &CudaSlice<f32>,
    c: f32,
) -> Result<()> {
    check_len("scale_forward", "inp", inp.len(), out.len())?;
    let n = dim("scale_forward", out.len())?;
    if n == 0 {
        return Ok(());
    }
    let f = Kernel::new(dev, "tape", "scale_fwd_f32")?;
    // SAFETY: out and inp hold n elements (checked).
    unsafe {
        f.launch(grid_1d(n as usize), |l| {
            l.arg(out).arg(inp).arg(&n).arg(&c);
        })
    }
}

/// `y += c·x`. `y`, `x`: (n,).
pub fn axpy(dev: &CudaDevice, y: &mut CudaSlice<f32>, x: &CudaSlice<f32>, c: f32) -> Result<()> {
    check_len("axpy", "x", x.len(), y.len())?;
    let n = dim("axpy", y.len())?;
    if n == 0 {
        return Ok(());
    }
    let f = Kernel::new(dev, "tape", "axpy_f32")?;
    // SAFETY: y and x hold n elements (checked).
    unsafe {
        f.launch(grid_1d(n as usize), |l| {
            l.arg(y).arg(x).arg(&n).arg(&c);
        })
    }
}

/// `y += w[k]·x` with the weight read on the device (task weights fed per step).
/// `y`, `x`: (n,); `w`: (K,) with `k < K`.
pub fn axpy_w(
    dev: &CudaDevice,
    y: &mut CudaSlice<f32>,
    x: &CudaSlice<f32>,
    w: &CudaSlice<f32>,
    k: usize,
) -> Result<()> {
    check_len("axpy_w", "x", x.len(), y.len())?;
    if k >= w.len() {
        return Err(Error::Index {
            op: "axpy_w",
            position: 0,
            index: k as u64,
            bound: w.len(),
        });
    }
    let (n, k32) = (dim("axpy_w", y.len())?, dim("axpy_w", k)?);
    if n == 0 {
        return Ok(());
    }
    let f = Kernel::new(dev, "tape", "axpy_w_f32")?;
    // SAFETY: y and x hold n elements, w more than k (checked).
    unsafe {
        f.launch(grid_1d(n as usize), |l| {
            l.arg(y).arg(x).arg(&n).arg(w).arg(&k32);
        })
    }
}

/// `wide[:, off..off+c_narrow] (+)= narrow` (`add`: accumulate). `wide`: (r, c_wide),
/// `narrow`: (r, c_narrow), `off + c_narrow ≤ c_wide`.
pub fn cols_to_wide(
    dev: &CudaDevice,
    wide: &mut CudaSlice<f32>,
    narrow: &CudaSlice<f32>,
    (r, c_wide, c_narrow): (usize, usize, usize),
    off: usize,
    add: bool,
) -> Result<()> {
    let (r, cw, cn, off) = check_cols(
        "cols_to_wide",
        wide.len(),
        narrow.len(),
        (r, c_wide, c_narrow),
        off,
    )?;
    if r * cn == 0 {
        return Ok(());
    }
    let (to_wide, add) = (1i32, add as i32);
    let f = Kernel::new(dev, "tape", "copy_cols_f32")?;
    // SAFETY: wide: r·c_wide, narrow: r·c_narrow, off + c_narrow ≤ c_wide (checked), so
    // every index i·c_wide + off + j (j < c_narrow) is inside wide.
    unsafe {
        f.launch(grid_1d(r as usize * cn as usize), |l| {
            l.arg(wide).arg(narrow).arg(&r).arg(&cw).arg(&cn).arg(&off);
            l.arg(&to_wide).arg(&add);
        })
    }
}

/// `narrow (+)= wide[:, off..off+c_narrow]` (`add`: accumulate); shapes as [`cols_to_wide`].
pub fn cols_from_wide(
    dev: &CudaDevice,
    narrow: &mut CudaSlice<f32>,
    wide: &CudaSlice<f32>,
    (r, c_wide, c_narrow): (usize, usize, usize),
    off: usize,
    add: bool,
) -> Result<()> {
    let (r, cw, cn, off) = check_cols(
        "cols_from_wide",
        wide.len(),
        narrow.len(),
        (r, c_wide, c_narrow),
        off,
    )?;
    if r * cn == 0 {
        return Ok(());
    }
    let (to_wide, add) = (0i32, add as i32);
    let f = Kernel::new(dev, "tape", "copy_cols_f32")?;
    // SAFETY: as in `cols_to_wide`; here the kernel only reads wide.
    unsafe {
        f.launch(grid_1d(r as usize * cn as usize), |l| {
            l.arg(wide).arg(narrow).arg(&r).arg(&cw).arg(&cn).arg(&off);
            l.arg(&to_wide).arg(&add);
        })
    }
}

/// Checks the lengths and the block of a column copy; the sizes as the kernel's u32.
fn check_cols(
    op: &'static str,
    wide: usize,
    narrow: usize,
    (r, c_wide, c_narrow): (usize, usize, usize),
    off: usize,
) -> Result<(u32, u32, u32, u32)> {
    check_len(op, "wide", wide, r * c_wide)?;
    check_len(op, "narrow", narrow, r * c_narrow)?;
    if off + c_narrow > c_wide {
        return Err(Error::Shape {
            op,
            shapes: vec![
                crate::error::Dims(r, c_wide),
                crate::error::Dims(r, c_narrow),
            ],
            expected: format!(
                "columns {off}..{} inside the wide buffer's {c_wide}",
                off + c_narrow
            ),
        });
    }
    dim(op, r * c_wide)?; // the kernel's element offsets are 64-bit, its sizes 32-bit
    Ok((
        dim(op, r)?,
        dim(op, c_wide)?,
        dim(op, c_narrow)?,
        dim(op, off)?,
    ))
}

/// `out = logit(σ(a)·σ(b))`; twin of `ops::logit_product::logit_product_forward`.
/// `out`, `a`, `b`: (n,).
pub fn logit_product_forward(
    dev: &CudaDevice,
    out: &mut CudaSlice<f32>,
    a: &CudaSlice<f32>,
    b: &CudaSlice<f32>,
) -> Result<()> {
    let op = "logit_product_forward";
    check_len(op, "a", a.len(), out.len())?;
    check_len(op, "b", b.len(), out.len())?;
    let n = dim(op, out.len())?;
    if n == 0 {
        return Ok(());
    }
    let f = Kernel::new(dev, "tape", "logit_product_fwd_f32")?;
    // SAFETY: out, a, b hold n elements (checked).
    unsafe {
        f.launch(grid_1d(n as usize), |l| {
            l.arg(out).arg(a).arg(b).arg(&n);
        })
    }
}

/// `da += dy·∂out/∂a`, `db += dy·∂out/∂b` (each optional); twin of
/// `ops::logit_product::logit_product_backward`. All (n,).
pub fn logit_product_backward(
    dev: &CudaDevice,
    da: Option<&mut CudaSlice<f32>>,
    db: Option<&mut CudaSlice<f32>>,
    dy: &CudaSlice<f32>,
    a: &CudaSlice<f32>,
    b: &CudaSlice<f32>,
) -> Result<()> {
    let op = "logit_product_backward";
    let n = dy.len();
    check_len(op, "a", a.len(), n)?;
    check_len(op, "b", b.len(), n)?;
    if let Some(da) = &da {
        check_len(op, "da", da.len(), n)?;
    }
    if let Some(db) = &db {
        check_len(op, "db", db.len(), n)?;
    }
    let n32 = dim(op, n)?;
    if n == 0 || (da.is_none() && db.is_none()) {
        return Ok(());
    }
    let f = Kernel::new(dev, "tape", "logit_product_bwd_f32")?;
    // SAFETY: dy, a, b and the given da / db hold n elements (checked); a missing one is
    // a NULL pointer, which the kernel skips.
    unsafe {
        f.launch(grid_1d(n), |l| {
            match da {
                Some(da) => l.arg(da),
                None => l.arg(&NULL),
            };
            match db {
                Some(db) => l.arg(db),
                None => l.arg(&NULL),
            };
            l.arg(dy).arg(a).arg(b).arg(&n32);
        })
    }
}

/// The part of a buffer a clipping launch covers: all of it, or the listed rows of a
/// `(V, width)` table. Returns `(n_rows, width, v_rows, n)` as the kernels take them.
fn clip_span(
    op: &'static str,
    len: usize,
    rows: Option<&CudaView<'_, u32>>,
    width: usize,
) -> Result<(u32, u32, u32, u32)> {
    match rows {
        None => Ok((0, 1, 0, dim(op, len)?)),
        Some(r) => {
            if width == 0 || !len.is_multiple_of(width) {
                return Err(Error::Length {
                    op,
                    what: format!("a table of width {width}"),
                    len,
                    expected: (len / width.max(1)) * width.max(1),
                });
            }
            dim(op, r.len() * width)?;
            Ok((
                dim(op, r.len())?,
                dim(op, width)?,
                dim(op, len / width)?,
                dim(op, len)?,
            ))
        }
    }
}

/// `sq[k] += Σ x²` over `x`, or over its listed rows when `rows` is given (`x` a `(V, width)`
/// table). One block, f64 inside: deterministic.
pub fn sum_sq(
    dev: &CudaDevice,
    sq: &mut CudaSlice<f32>,
    k: usize,
    x: &CudaSlice<f32>,
    rows: Option<&CudaView<'_, u32>>,
    width: usize,
) -> Result<()> {
    let op = "sum_sq";
    if k >= sq.len() {
        return Err(Error::Length {
            op,
            what: format!("sq (slot {k})"),
            len: sq.len(),
            expected: k + 1,
        });
    }
    let (n_rows, width32, v_rows, n) = clip_span(op, x.len(), rows, width)?;
    let k32 = dim(op, k)?;
    let f = Kernel::new(dev, "tape", "sum_sq_f32")?;
    // SAFETY: sq has slot k (checked); x holds n elements, or v_rows·width with the listed
    // rows read only when < v_rows (the kernel skips the others); rows holds n_rows ids.
    unsafe {
        f.launch(single_block(), |l| {
            l.arg(sq).arg(&k32).arg(x);
            match rows {
                Some(r) => l.arg(r),
                None => l.arg(&NULL),
            };
            l.arg(&n_rows).arg(&width32).arg(&v_rows).arg(&n);
        })
    }
}

/// With `‖g‖ = √sq[k]`: if `‖g‖ > c`, `x *= c / (‖g‖ + 10⁻⁶)` over `x` or its listed rows.
pub fn clip_scale(
    dev: &CudaDevice,
    x: &mut CudaSlice<f32>,
    rows: Option<&CudaView<'_, u32>>,
    width: usize,
    sq: &CudaSlice<f32>,
    k: usize,
    c: f32,
) -> Result<()> {
    let op = "clip_scale";
    if k >= sq.len() {
        return Err(Error::Length {
            op,
            what: format!("sq (slot {k})"),
            len: sq.len(),
            expected: k + 1,
        });
    }
    let (n_rows, width32, v_rows, n) = clip_span(op, x.len(), rows, width)?;
    let total = if rows.is_some() {
        n_rows as usize * width
    } else {
        n as usize
    };
    if total == 0 {
        return Ok(());
    }
    let k32 = dim(op, k)?;
    let f = Kernel::new(dev, "tape", "clip_scale_f32")?;
    // SAFETY: as sum_sq; x is written only where it is read.
    unsafe {
        f.launch(grid_1d(total), |l| {
            l.arg(x);
            match rows {
                Some(r) => l.arg(r),
                None => l.arg(&NULL),
            };
            l.arg(&n_rows)
                .arg(&width32)
                .arg(&v_rows)
                .arg(&n)
                .arg(sq)
                .arg(&k32)
                .arg(&c);
        })
    }
}
