//! Launch wrappers for `kernels/elementwise.cu`, `reduce.cu` and `softmax.cu`.

use super::{axis_code, check_len, dim, grid_1d, grid_rows, BinaryKind, Kernel, UnaryKind, BLOCK};
use crate::autograd::Axis;
use crate::device::cuda::CudaDevice;
use crate::error::Result;
use crate::ops::reduce::reduced_dims;
use cudarc::driver::{CudaSlice, PushKernelArg};

/// `out = f(inp)`; twin of `ops::unary::unary_forward`. `out`, `inp`: (n,).
pub fn unary_forward(
    dev: &CudaDevice,
    out: &mut CudaSlice<f32>,
    inp: &CudaSlice<f32>,
    kind: UnaryKind,
) -> Result<()> {
    check_len("unary_forward", "inp", inp.len(), out.len())?;
    let n = dim("unary_forward", out.len())?;
    if n == 0 {
        return Ok(());
    }
    let f = Kernel::new(dev, "elementwise", "unary_fwd_f32")?;
    let k = kind as i32;
    // SAFETY: out and inp hold n elements (checked); the kernel touches indices < n.
    unsafe {
        f.launch(grid_1d(n as usize), |b| {
            b.arg(out).arg(inp).arg(&n).arg(&k);
        })
    }
}

/// `dinp += dout ⊙ f′(inp)`; twin of `ops::unary::unary_backward`. All (n,).
pub fn unary_backward(
    dev: &CudaDevice,
    dinp: &mut CudaSlice<f32>,
    dout: &CudaSlice<f32>,
    inp: &CudaSlice<f32>,
    out: &CudaSlice<f32>,
    kind: UnaryKind,
) -> Result<()> {
    let n = dinp.len();
    check_len("unary_backward", "dout", dout.len(), n)?;
    check_len("unary_backward", "inp", inp.len(), n)?;
    check_len("unary_backward", "out", out.len(), n)?;
    let n32 = dim("unary_backward", n)?;
    if n == 0 {
        return Ok(());
    }
    let f = Kernel::new(dev, "elementwise", "unary_bwd_f32")?;
    let k = kind as i32;
    // SAFETY: all four buffers hold n elements (checked).
    unsafe {
        f.launch(grid_1d(n), |b| {
            b.arg(dinp).arg(dout).arg(inp).arg(out).arg(&n32).arg(&k);
        })
    }
}

/// `out = a ∘ b̃` with `b` (br, bc) broadcast to (r, c); twin of `ops::broadcast::
/// {add,sub,mul}_forward`. `br` is 1 or r, `bc` is 1 or c.
pub fn binary_forward(
    dev: &CudaDevice,
    out: &mut CudaSlice<f32>,
    a: &CudaSlice<f32>,
    b: &CudaSlice<f32>,
    (r, c): (usize, usize),
    (br, bc): (usize, usize),
    kind: BinaryKind,
) -> Result<()> {
    check_broadcast("binary_forward", (r, c), (br, bc))?;
    check_len("binary_forward", "out", out.len(), r * c)?;
    check_len("binary_forward", "a", a.len(), r * c)?;
    check_len("binary_forward", "b", b.len(), br * bc)?;
    if r * c == 0 {
        return Ok(());
    }
    let (r32, c32, br32, bc32) = (dim("binary", r)?, dim("binary", c)?, br as u32, bc as u32);
    dim("binary", r * c)?; // the kernels index the r·c elements with u32
    let f = Kernel::new(dev, "elementwise", "binary_fwd_f32")?;
    let k = kind as i32;
    // SAFETY: out, a: r·c elements, b: br·bc with br ∈ {1, r}, bc ∈ {1, c} (checked).
    unsafe {
        f.launch(grid_1d(r * c), |l| {
            l.arg(out)
                .arg(a)
                .arg(b)
                .arg(&r32)
                .arg(&c32)
                .arg(&br32)
                .arg(&bc32)
                .arg(&k);
        })
    }
}

fn check_broadcast(
    op: &'static str,
    (r, c): (usize, usize),
    (br, bc): (usize, usize),
) -> Result<()> {
    if (br == 1 || br == r) && (bc == 1 || bc == c) {
        Ok(())
    } else {
        Err(crate::error::Error::Shape {
            op,
            shapes: vec![crate::error::Dims(r, c), crate::error::Dims(br, bc)],
            expected: "the second operand's rows to be 1 or r and its columns 1 or c".into(),
        })
    }
}

/// Accumulates `da` (r, c) and `db` (br, bc) for `y = a ∘ b̃` given `dy` (r, c). The CPU
/// twin `binary_backward` in `ops::broadcast` is private to that module; the parity test
/// checks against the same loops written out.
pub fn binary_backward(
    dev: &CudaDevice,
    (da, db): (Option<&mut CudaSlice<f32>>, Option<&mut CudaSlice<f32>>),
    dy: &CudaSlice<f32>,
    (a, b): (&CudaSlice<f32>, &CudaSlice<f32>),
    (r, c): (usize, usize),
    (br, bc): (usize, usize),
    kind: BinaryKind,
) -> Result<()> {
    check_len("binary_backward", "a", a.len(), r * c)?;
    check_len("binary_backward", "b", b.len(), br * bc)?;
    if let Some(da) = da {
        binary_backward_a(dev, da, dy, b, (r, c), (br, bc), kind)?;
    }
    if let Some(db) = db {
        binary_backward_b(dev, db, dy, a, (r, c), (br, bc), kind)?;
    }
    Ok(())
}

/// `da += dy ⊙ ∂(a ∘ b̃)/∂a` (`dy`, or `dy ⊙ b̃` for Mul). `da`, `dy`: (r, c); `b`: (br, bc).
pub fn binary_backward_a(
    dev: &CudaDevice,
    da: &mut CudaSlice<f32>,
    dy: &CudaSlice<f32>,
    b: &CudaSlice<f32>,
    (r, c): (usize, usize),
    (br, bc): (usize, usize),
    kind: BinaryKind,
) -> Result<()> {
    let op = "binary_backward";
    check_broadcast(op, (r, c), (br, bc))?;
    check_len(op, "da", da.len(), r * c)?;
    check_len(op, "dy", dy.len(), r * c)?;
    check_len(op, "b", b.len(), br * bc)?;
    if r * c == 0 {
        return Ok(());
    }
    let (r32, c32, br32, bc32) = (dim(op, r)?, dim(op, c)?, br as u32, bc as u32);
    dim(op, r * c)?; // the kernels index the r·c elements with u32
    let k = kind as i32;
    let f = Kernel::new(dev, "elementwise", "binary_bwd_f32")?;
    // SAFETY: da, dy: r·c; b: br·bc with br ∈ {1, r}, bc ∈ {1, c} (checked).
    unsafe {
        f.launch(grid_1d(r * c), |l| {
            l.arg(da).arg(dy).arg(b);
            l.arg(&r32).arg(&c32).arg(&br32).arg(&bc32).arg(&k);
        })
    }
}

/// `db += Σ over the broadcast axes of dy ⊙ ∂(a ∘ b̃)/∂b̃` (`dy`, `−dy`, `dy ⊙ a`).
/// `db`: (br, bc); `dy`, `a`: (r, c).
pub fn binary_backward_b(
    dev: &CudaDevice,
    db: &mut CudaSlice<f32>,
    dy: &CudaSlice<f32>,
    a: &CudaSlice<f32>,
    (r, c): (usize, usize),
    (br, bc): (usize, usize),
    kind: BinaryKind,
) -> Result<()> {
    let op = "binary_backward";
    check_broadcast(op, (r, c), (br, bc))?;
    check_len(op, "db", db.len(), br * bc)?;
    check_len(op, "dy", dy.len(), r * c)?;
    check_len(op, "a", a.len(), r * c)?;
    if r * c == 0 {
        return Ok(());
    }
    let (r32, c32, br32, bc32) = (dim(op, r)?, dim(op, c)?, br as u32, bc as u32);
    dim(op, r * c)?; // the kernels index the r·c elements with u32
    let k = kind as i32;
    let f = Kernel::new(dev, "elementwise", "binary_bwd_b_f32")?;
    // SAFETY: db: br·bc; dy, a: r·c (checked); each thread reads inside those.
    unsafe {
        f.launch(grid_1d(br * bc), |l| {
            l.arg(db).arg(dy).arg(a);
            l.arg(&r32).arg(&c32).arg(&br32).arg(&bc32).arg(&k);
        })
    }
}

/// `out = inp ⊙ mask`; twin of `ops::dropout::dropout_forward`.
pub fn dropout_forward(
    dev: &CudaDevice,
    out: &mut CudaSlice<f32>,
    inp: &CudaSlice<f32>,
    mask: &CudaSlice<f32>,
) -> Result<()> {
    masked("dropout_forward", "dropout_fwd_f32", dev, out, inp, mask)
}

/// `dinp += dout ⊙ mask`; twin of `ops::dropout::dropout_backward`.
pub fn dropout_backward(
    dev: &CudaDevice,
    dinp: &mut CudaSlice<f32>,
    dout: &CudaSlice<f32>,
    mask: &CudaSlice<f32>,
) -> Result<()> {
    masked("dropout_backward", "dropout_bwd_f32", dev, dinp, dout, mask)
}

fn masked(
    op: &'static str,
    kernel: &'static str,
    dev: &CudaDevice,
    out: &mut CudaSlice<f32>,
    inp: &CudaSlice<f32>,
    mask: &CudaSlice<f32>,
) -> Result<()> {
    let n = out.len();
    check_len(op, "input", inp.len(), n)?;
    check_len(op, "mask", mask.len(), n)?;
    let n32 = dim(op, n)?;
    if n == 0 {
        return Ok(());
    }
    let f = Kernel::new(dev, "elementwise", kernel)?;
    // SAFETY: the three buffers hold n elements (checked).
    unsafe {
        f.launch(grid_1d(n), |l| {
            l.arg(out).arg(inp).arg(mask).arg(&n32);
        })
    }
}

/// `out = s·Σ inp` along `axis`; twin of `ops::reduce::reduce_forward`. `inp`: (r, c).
pub fn reduce_forward(
    dev: &CudaDevice,
    out: &mut CudaSlice<f32>,
    inp: &CudaSlice<f32>,
    (r, c): (usize, usize),
    axis: Axis,
    s: f32,
) -> Result<()> {
    let (or, oc) = reduced_dims(r, c, axis);
    check_len("reduce_forward", "out", out.len(), or * oc)?;
    check_len("reduce_forward", "inp", inp.len(), r * c)?;
    let (r32, c32) = (dim("reduce_forward", r)?, dim("reduce_forward", c)?);
    dim("reduce_forward", r * c)?; // the kernels index the r·c elements with u32
    if or * oc == 0 {
        return Ok(());
    }
    let cfg = match axis {
        Axis::All => grid_rows(1, 1024, 0),
        Axis::Rows => grid_rows(r, BLOCK, 0),
        Axis::Cols => grid_1d(c),
    };
    let f = Kernel::new(dev, "reduce", "reduce_fwd_f32")?;
    let ax = axis_code(axis);
    // SAFETY: out holds the reduced shape and inp r·c elements (checked).
    unsafe {
        f.launch(cfg, |l| {
            l.arg(out).arg(inp).arg(&r32).arg(&c32).arg(&ax).arg(&s);
        })
    }
}

/// `dinp += s·dout` broadcast back along `axis`; twin of `ops::reduce::reduce_backward`.
pub fn reduce_backward(
    dev: &CudaDevice,
    dinp: &mut CudaSlice<f32>,
    dout: &CudaSlice<f32>,
    (r, c): (usize, usize),
    axis: Axis,
    s: f32,
) -> Result<()> {
    let (or, oc) = reduced_dims(r, c, axis);
    check_len("reduce_backward", "dout", dout.len(), or * oc)?;
    check_len("reduce_backward", "dinp", dinp.len(), r * c)?;
    let (r32, c32) = (dim("reduce_backward", r)?, dim("reduce_backward", c)?);
    dim("reduce_backward", r * c)?; // the kernels index the r·c elements with u32
    if r * c == 0 {
        return Ok(());
    }
    let f = Kernel::new(dev, "reduce", "reduce_bwd_f32")?;
    let ax = axis_code(axis);
    // SAFETY: dinp: r·c; dout: the reduced shape (checked).
    unsafe {
        f.launch(grid_1d(r * c), |l| {
            l.arg(dinp).arg(dout).arg(&r32).arg(&c32).arg(&ax).arg(&s);
        })
    }
}

/// Row softmax or log-softmax forward (`log`); twins `ops::softmax::{softmax,log_softmax}_forward`.
pub fn softmax_forward(
    dev: &CudaDevice,
    out: &mut CudaSlice<f32>,
    inp: &CudaSlice<f32>,
    (r, c): (usize, usize),
    log: bool,
) -> Result<()> {
    let op = "softmax_forward";
    check_len(op, "out", out.len(), r * c)?;
    check_len(op, "inp", inp.len(), r * c)?;
    let (r32, c32) = (dim(op, r)?, dim(op, c)?);
    if r * c == 0 {
        return Ok(());
    }
    let kernel = if log {
        "log_softmax_fwd_f32"
    } else {
        "softmax_fwd_f32"
    };
    let f = Kernel::new(dev, "softmax", kernel)?;
    // SAFETY: out, inp: r·c (checked).
    unsafe {
        f.launch(grid_rows(r, BLOCK, 0), |l| {
            l.arg(out).arg(inp).arg(&r32).arg(&c32);
        })
    }
}

/// Row softmax or log-softmax backward (`log`), `out` the forward output; twins
/// `ops::softmax::{softmax,log_softmax}_backward`.
pub fn softmax_backward(
    dev: &CudaDevice,
    dinp: &mut CudaSlice<f32>,
    dout: &CudaSlice<f32>,
    out: &CudaSlice<f32>,
    (r, c): (usize, usize),
    log: bool,
) -> Result<()> {
    let op = "softmax_backward";
    check_len(op, "dinp", dinp.len(), r * c)?;
    check_len(op, "dout", dout.len(), r * c)?;
    check_len(op, "out", out.len(), r * c)?;
    let (r32, c32) = (dim(op, r)?, dim(op, c)?);
    if r * c == 0 {
        return Ok(());
    }
    let kernel = if log {
        "log_softmax_bwd_f32"
    } else {
        "softmax_bwd_f32"
    };
    let f = Kernel::new(dev, "softmax", kernel)?;
    // SAFETY: all three r·c (checked).
    unsafe {
        f.launch(grid_rows(r, BLOCK, 0), |l| {
            l.arg(dinp).arg(dout).arg(out).arg(&r32).arg(&c32);
        })
    }
}
