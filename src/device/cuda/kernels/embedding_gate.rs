//! Launch wrappers for `kernels/embedding.cu` (gather, embedding bag) and `kernels/gate.cu`.
//! Id lists are views (`CudaSlice::as_view`, or the first n ids of a longer buffer, as the
//! device backend keeps them).

use super::{check_len, dim, grid_1d, grid_rows, Kernel, BLOCK};
use crate::device::cuda::CudaDevice;
use crate::error::Result;
use cudarc::driver::{CudaSlice, CudaView, PushKernelArg};

/// `out[b, :] = table[idx[b], :]`; twin of `ops::gather::gather_forward`. `out`: (B, D),
/// `table`: (V, D), `idx`: (B,). Ids `≥ V` give zero rows on the device (the caller reports
/// them as errors first, as `Graph::gather` does).
pub fn gather_forward(
    dev: &CudaDevice,
    out: &mut CudaSlice<f32>,
    table: &CudaSlice<f32>,
    idx: &CudaView<'_, u32>,
    width: usize,
) -> Result<()> {
    gather_forward_cols(dev, out, table, idx, width, (width, 0))
}

/// [`gather_forward`] into columns `off..off + D` of an `(B, stride)` buffer (a
/// concatenation that the gathered rows are part of).
pub fn gather_forward_cols(
    dev: &CudaDevice,
    out: &mut CudaSlice<f32>,
    table: &CudaSlice<f32>,
    idx: &CudaView<'_, u32>,
    width: usize,
    (stride, off): (usize, usize),
) -> Result<()> {
    let op = "gather_forward";
    let b = idx.len();
    check_cols(op, "out", out.len(), b, width, (stride, off))?;
    let v = rows(op, "table", table.len(), width)?;
    let (b32, width32, s32, o32) = (
        dim(op, b)?,
        dim(op, width)?,
        dim(op, stride)?,
        dim(op, off)?,
    );
    if b * width == 0 {
        return Ok(());
    }
    let f = Kernel::new(dev, "embedding", "gather_fwd_f32")?;
    // SAFETY: out: B·stride with off + D ≤ stride (checked); table: V·D, and the kernel
    // skips ids ≥ V.
    unsafe {
        f.launch(grid_1d(b * width), |l| {
            l.arg(out)
                .arg(table)
                .arg(idx)
                .arg(&b32)
                .arg(&width32)
                .arg(&v)
                .arg(&s32)
                .arg(&o32);
        })
    }
}

/// `dtable[idx[b], :] += dout[b, :]` into a dense (V, D) gradient; twin of
/// `ops::gather::gather_backward` (which fills a row-sparse `SparseGrad`).
pub fn gather_backward(
    dev: &CudaDevice,
    dtable: &mut CudaSlice<f32>,
    dout: &CudaSlice<f32>,
    idx: &CudaView<'_, u32>,
    width: usize,
) -> Result<()> {
    gather_backward_cols(dev, dtable, dout, idx, width, (width, 0))
}

/// [`gather_backward`] reading columns `off..off + D` of an `(B, stride)` gradient.
pub fn gather_backward_cols(
    dev: &CudaDevice,
    dtable: &mut CudaSlice<f32>,
    dout: &CudaSlice<f32>,
    idx: &CudaView<'_, u32>,
    width: usize,
    (stride, off): (usize, usize),
) -> Result<()> {
    let op = "gather_backward";
    let b = idx.len();
    check_cols(op, "dout", dout.len(), b, width, (stride, off))?;
    let v = rows(op, "dtable", dtable.len(), width)?;
    let (b32, width32, s32, o32) = (
        dim(op, b)?,
        dim(op, width)?,
        dim(op, stride)?,
        dim(op, off)?,
    );
    if b * width == 0 {
        return Ok(());
    }
    let f = Kernel::new(dev, "embedding", "gather_bwd_f32")?;
    // SAFETY: dout: B·stride with off + D ≤ stride (checked); dtable: V·D, and the kernel
    // skips ids ≥ V.
    unsafe {
        f.launch(grid_1d(b * width), |l| {
            l.arg(dtable)
                .arg(dout)
                .arg(idx)
                .arg(&b32)
                .arg(&width32)
                .arg(&v)
                .arg(&s32)
                .arg(&o32);
        })
    }
}

/// A `(b, stride)` buffer whose columns `off..off + width` exist.
fn check_cols(
    op: &'static str,
    what: &str,
    len: usize,
    b: usize,
    width: usize,
    (stride, off): (usize, usize),
) -> Result<()> {
    if off + width > stride {
        return Err(crate::error::Error::Length {
            op,
            what: format!("{what}'s row width (columns {off}..{} of it)", off + width),
            len: stride,
            expected: off + width,
        });
    }
    check_len(op, what, len, b * stride)
}

/// Mean of each bag of table rows; twin of `ops::embedding_bag::embedding_bag_forward`.
/// `out`: (B, D), `offsets`: (B + 1) CSR bounds (the caller checks them with
/// `ops::embedding_bag::check_offsets`), `ids`: (offsets[B],). On the device, ids `≥ V` and
/// bounds past the id list are skipped, so bad input cannot index outside the buffers.
pub fn embedding_bag_forward(
    dev: &CudaDevice,
    out: &mut CudaSlice<f32>,
    table: &CudaSlice<f32>,
    offsets: &CudaView<'_, u32>,
    ids: &CudaView<'_, u32>,
    width: usize,
) -> Result<()> {
    let v = rows("embedding_bag_forward", "table", table.len(), width)?;
    check_len(
        "embedding_bag_forward",
        "out",
        out.len(),
        offsets.len().saturating_sub(1) * width,
    )?;
    bag(
        ("embedding_bag_forward", "embedding_bag_fwd_f32"),
        dev,
        out,
        table,
        offsets,
        ids,
        (width, v),
    )
}

/// `dtable[ids[j], :] += dout[b, :] / n_b` into a dense (V, D) gradient; twin of
/// `ops::embedding_bag::embedding_bag_backward`.
pub fn embedding_bag_backward(
    dev: &CudaDevice,
    dtable: &mut CudaSlice<f32>,
    dout: &CudaSlice<f32>,
    offsets: &CudaView<'_, u32>,
    ids: &CudaView<'_, u32>,
    width: usize,
) -> Result<()> {
    let v = rows("embedding_bag_backward", "dtable", dtable.len(), width)?;
    check_len(
        "embedding_bag_backward",
        "dout",
        dout.len(),
        offsets.len().saturating_sub(1) * width,
    )?;
    bag(
        ("embedding_bag_backward", "embedding_bag_bwd_f32"),
        dev,
        dtable,
        dout,
        offsets,
        ids,
        (width, v),
    )
}

/// One bag launch: `(op, kernel)` names the wrapper (errors) and the kernel.
fn bag(
    (op, kernel): (&'static str, &'static str),
    dev: &CudaDevice,
    first: &mut CudaSlice<f32>,
    second: &CudaSlice<f32>,
    offsets: &CudaView<'_, u32>,
    ids: &CudaView<'_, u32>,
    (width, v): (usize, u32),
) -> Result<()> {
    let b = offsets.len().saturating_sub(1);
    let (b32, width32, n_ids) = (dim(op, b)?, dim(op, width)?, dim(op, ids.len())?);
    if b * width == 0 {
        return Ok(());
    }
    let f = Kernel::new(dev, "embedding", kernel)?;
    // SAFETY: the (B, D) operand holds B·D (checked), the table V·D; the kernel skips
    // ids ≥ V and clamps bag bounds to the n_ids ids.
    unsafe {
        f.launch(grid_1d(b * width), |l| {
            l.arg(first).arg(second).arg(offsets).arg(ids);
            l.arg(&b32).arg(&width32).arg(&v).arg(&n_ids);
        })
    }
}

/// Rows of a `(rows, width)` buffer of `len` elements, as the kernels' u32.
fn rows(op: &'static str, what: &str, len: usize, width: usize) -> Result<u32> {
    if width == 0 || !len.is_multiple_of(width) {
        return Err(crate::error::Error::Length {
            op,
            what: format!("{what} (a table of width {width})"),
            len,
            expected: (len / width.max(1)) * width.max(1),
        });
    }
    dim(op, len / width)
}

/// `w = softmax(z)`, `out += Σ_e w_e·X_e`; twin of `ops::gate::gate_combine_forward`.
/// `out`: (B, D), `w`: (B, E), `x`: (B, E·D), `z`: (B, E).
pub fn gate_combine_forward(
    dev: &CudaDevice,
    out: &mut CudaSlice<f32>,
    w: &mut CudaSlice<f32>,
    x: &CudaSlice<f32>,
    z: &CudaSlice<f32>,
    (b, e, width): (usize, usize, usize),
) -> Result<()> {
    let op = "gate_combine_forward";
    check_len(op, "out", out.len(), b * width)?;
    check_len(op, "w", w.len(), b * e)?;
    check_len(op, "x", x.len(), b * e * width)?;
    check_len(op, "z", z.len(), b * e)?;
    let (b32, e32, width32) = (dim(op, b)?, dim(op, e)?, dim(op, width)?);
    if b * e * width == 0 {
        return Ok(());
    }
    let f = Kernel::new(dev, "gate", "gate_combine_fwd_f32")?;
    // SAFETY: lengths checked; dynamic shared memory holds the E weights of a row.
    unsafe {
        f.launch(grid_rows(b, BLOCK, 4 * e32), |l| {
            l.arg(out)
                .arg(w)
                .arg(x)
                .arg(z)
                .arg(&b32)
                .arg(&e32)
                .arg(&width32);
        })
    }
}

/// Accumulates `dx` (B, E·D) and `dz` (B, E); twin of `ops::gate::gate_combine_backward`.
pub fn gate_combine_backward(
    dev: &CudaDevice,
    dx: Option<&mut CudaSlice<f32>>,
    dz: Option<&mut CudaSlice<f32>>,
    dout: &CudaSlice<f32>,
    x: &CudaSlice<f32>,
    w: &CudaSlice<f32>,
    (b, e, width): (usize, usize, usize),
) -> Result<()> {
    let op = "gate_combine_backward";
    check_len(op, "dout", dout.len(), b * width)?;
    check_len(op, "x", x.len(), b * e * width)?;
    check_len(op, "w", w.len(), b * e)?;
    let (b32, e32, width32) = (dim(op, b)?, dim(op, e)?, dim(op, width)?);
    if b * e * width == 0 {
        return Ok(());
    }
    if let Some(dx) = dx {
        check_len(op, "dx", dx.len(), b * e * width)?;
        let f = Kernel::new(dev, "gate", "gate_combine_bwd_f32")?;
        // SAFETY: lengths checked above.
        unsafe {
            f.launch(grid_1d(b * e * width), |l| {
                l.arg(dx).arg(dout).arg(w).arg(&b32).arg(&e32).arg(&width32);
            })
        }?;
    }
    if let Some(dz) = dz {
        check_len(op, "dz", dz.len(), b * e)?;
        let f = Kernel::new(dev, "gate", "gate_combine_bwd_logits_f32")?;
        // SAFETY: lengths checked; dynamic shared memory holds the E sums a_e of a row.
        unsafe {
            f.launch(grid_rows(b, BLOCK, 4 * e32), |l| {
                l.arg(dz)
                    .arg(dout)
                    .arg(x)
                    .arg(w)
                    .arg(&b32)
                    .arg(&e32)
                    .arg(&width32);
            })
        }?;
    }
    Ok(())
}
