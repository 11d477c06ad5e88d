//! The instruction set of the device step: one [`Launch`] per kernel call.
//!
//! A recorded tape is lowered once into lists of launches (`program`), which a
//! [`super::Backend`] executes on its own buffers: [`super::HostBackend`] with the CPU
//! twins of `src/ops` and `src/loss` (the reference, run by `cargo test`), the CUDA
//! backend with the kernels of `kernels/*.cu` (feature `cuda`). Every variant says
//! whether it **overwrites** (`=`) or **accumulates** (`+=`) its first buffer; backward
//! launches always accumulate, as the CPU backward walk does.
//!
//! Shapes are in element counts of row-major buffers; `(r, c)` is rows × columns.

use crate::autograd::{Axis, UnaryFn};
use crate::optim::{AdamConfig, SgdConfig};

/// Handle of an f32 buffer owned by a backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Buf(pub u32);

/// Handle of a u32 buffer (row ids, bag offsets) owned by a backend. Its length is the
/// length of the last [`super::Backend::write_idx`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IdxBuf(pub u32);

/// `a ∘ b̃` of the broadcasting binary ops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
}

/// Shapes of a broadcasting binary op (defined with its CPU kernels).
pub use crate::ops::broadcast::Bcast;

/// Which task loss a [`Launch::Loss`] / [`Launch::LossBwd`] computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PointLoss {
    /// `L = Σ_i c_i · (1/C) Σ_j (p_ij − y_ij)²` (`loss::mse`).
    Mse,
    /// `L = Σ_i c_i · (1/C) Σ_j bce(z_ij, y_ij)` on logits (`loss::bce`).
    Bce,
}

/// One kernel call. Buffers are handles of the executing backend.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Launch {
    /// `out[:] = value`.
    Fill { out: Buf, value: f32 },
    /// `out = f(inp)`, elementwise.
    Unary { out: Buf, inp: Buf, f: UnaryFn },
    /// `dinp += dout ⊙ f′(inp, out)`.
    UnaryBwd {
        dinp: Buf,
        dout: Buf,
        inp: Buf,
        out: Buf,
        f: UnaryFn,
    },
    /// `out = a ∘ b̃`, `b` broadcast to `a`'s shape.
    Binary {
        out: Buf,
        a: Buf,
        b: Buf,
        s: Bcast,
        op: BinOp,
    },
    /// `da += dy ⊙ ∂(a ∘ b̃)/∂a` (`dy`, or `dy ⊙ b̃` for Mul).
    BinaryBwdA {
        da: Buf,
        dy: Buf,
        b: Buf,
        s: Bcast,
        op: BinOp,
    },
    /// `db += Σ over the broadcast axes of dy ⊙ ∂(a ∘ b̃)/∂b̃` (`dy`, `−dy`, `dy ⊙ a`).
    BinaryBwdB {
        db: Buf,
        dy: Buf,
        a: Buf,
        s: Bcast,
        op: BinOp,
    },
    /// `out = c · inp`.
    Scale { out: Buf, inp: Buf, c: f32 },
    /// `y += c · x`.
    Axpy { y: Buf, x: Buf, c: f32 },
    /// `y += w[k] · x` with the weight read from a buffer (task weights fed per step).
    AxpyW { y: Buf, x: Buf, w: Buf, k: usize },
    /// `out = s · Σ_axis inp`, `inp` (r, c); `s` = 1 for a sum, 1/count for a mean.
    Reduce {
        out: Buf,
        inp: Buf,
        r: usize,
        c: usize,
        axis: Axis,
        s: f32,
    },
    /// `dinp += s · dout` broadcast back along `axis`.
    ReduceBwd {
        dinp: Buf,
        dout: Buf,
        r: usize,
        c: usize,
        axis: Axis,
        s: f32,
    },
    /// Row-wise `out = softmax(inp)` or `log_softmax(inp)`, (r, c).
    Softmax {
        out: Buf,
        inp: Buf,
        r: usize,
        c: usize,
        log: bool,
    },
    /// `dinp += y ⊙ (dout − ⟨dout, y⟩)` (softmax) or `dout − exp(y)·Σ dout` (log), y = out.
    SoftmaxBwd {
        dinp: Buf,
        dout: Buf,
        out: Buf,
        r: usize,
        c: usize,
        log: bool,
    },
    /// Column copy between a wide `(r, c_wide)` and a narrow `(r, c_narrow)` buffer at
    /// column offset `off`: `to_wide` writes `wide[:, off..off+c_narrow]` from `narrow`,
    /// else `narrow` from that block; `add` accumulates instead of overwriting.
    Cols {
        wide: Buf,
        narrow: Buf,
        r: usize,
        c_wide: usize,
        c_narrow: usize,
        off: usize,
        to_wide: bool,
        add: bool,
    },
    /// `out[i, off..off+width] = table[idx[i], :]`, `out` (n, stride): a plain gather with
    /// `stride = width, off = 0`, or written straight into its columns of a concatenation.
    Gather {
        out: Buf,
        table: Buf,
        idx: IdxBuf,
        n: usize,
        width: usize,
        stride: usize,
        off: usize,
    },
    /// `dtable[idx[i], :] += dout[i, off..off+width]`, `dtable` dense (V, width), `dout` (n, stride).
    GatherBwd {
        dtable: Buf,
        dout: Buf,
        idx: IdxBuf,
        n: usize,
        width: usize,
        stride: usize,
        off: usize,
    },
    /// `out[b, :] = mean of table rows ids[offsets[b]..offsets[b+1]]` (0 for an empty
    /// bag), `out` (n, width); `offsets` has n + 1 entries.
    EmbeddingBag {
        out: Buf,
        table: Buf,
        offsets: IdxBuf,
        ids: IdxBuf,
        n: usize,
        width: usize,
    },
    /// `dtable[ids[j], :] += dout[b, :] / n_b` for every id j of bag b.
    EmbeddingBagBwd {
        dtable: Buf,
        dout: Buf,
        offsets: IdxBuf,
        ids: IdxBuf,
        n: usize,
        width: usize,
    },
    /// `out = inp ⊙ mask` (the mask is already scaled by 1/(1 − p)).
    Dropout { out: Buf, inp: Buf, mask: Buf },
    /// `dinp += dout ⊙ mask`.
    DropoutBwd { dinp: Buf, dout: Buf, mask: Buf },
    /// `out = γ ⊙ (x − μ)/σ + β` per row of `x` (b, width); saves μ and 1/σ (b each).
    LayerNorm {
        out: Buf,
        mean: Buf,
        rstd: Buf,
        x: Buf,
        gamma: Buf,
        beta: Buf,
        b: usize,
        width: usize,
        eps: f32,
    },
    /// `dx += …`, `dgamma += …`, `dbeta += …` of layer norm (each optional).
    LayerNormBwd {
        dx: Option<Buf>,
        dgamma: Option<Buf>,
        dbeta: Option<Buf>,
        dout: Buf,
        x: Buf,
        gamma: Buf,
        mean: Buf,
        rstd: Buf,
        b: usize,
        width: usize,
    },
    /// `out = beta · out + op(a) · op(b)`, `op(a)` (m, k), `op(b)` (k, n); `beta` ∈ {0, 1}.
    MatMul {
        out: Buf,
        a: Buf,
        b: Buf,
        m: usize,
        k: usize,
        n: usize,
        ta: bool,
        tb: bool,
        beta: f32,
    },
    /// `pre = x · w + bias`, `out = f(pre)` (`None`: identity), x (b, d_in), w (d_in, d_out).
    LinearAct {
        out: Buf,
        pre: Buf,
        x: Buf,
        w: Buf,
        bias: Buf,
        b: usize,
        d_in: usize,
        d_out: usize,
        f: Option<UnaryFn>,
    },
    /// `dpre = dout ⊙ f′(pre, out)` (**overwritten**: a scratch buffer), then
    /// `dbias += Σ_rows dpre` when given. `dx` and `dw` follow as two [`Launch::MatMul`]s.
    LinearActBwd {
        dpre: Buf,
        dbias: Option<Buf>,
        dout: Buf,
        pre: Buf,
        out: Buf,
        b: usize,
        d_out: usize,
        f: Option<UnaryFn>,
    },
    /// `w = softmax(z)` per row (b, e) (saved), `out += Σ_e w_e · x[:, e·width..(e+1)·width]`;
    /// the program fills `out` with 0 first.
    GateCombine {
        out: Buf,
        w: Buf,
        x: Buf,
        z: Buf,
        b: usize,
        e: usize,
        width: usize,
    },
    /// `dx += w ⊙ dout` per expert block, `dz += w ⊙ (a − ⟨w, a⟩)` with `a_e = ⟨dout, x_e⟩`.
    GateCombineBwd {
        dx: Option<Buf>,
        dz: Option<Buf>,
        dout: Buf,
        x: Buf,
        w: Buf,
        b: usize,
        e: usize,
        width: usize,
    },
    /// ESMM: `out = logit(σ(a)·σ(b))`, elementwise over n values.
    LogitProduct { out: Buf, a: Buf, b: Buf, n: usize },
    /// `da += dy · ∂out/∂a`, `db += dy · ∂out/∂b` (each optional).
    LogitProductBwd {
        da: Option<Buf>,
        db: Option<Buf>,
        dy: Buf,
        a: Buf,
        b: Buf,
        n: usize,
    },
    /// `loss[0] = L(p, y; coef)`, p and y (b, c), coef (b).
    Loss {
        kind: PointLoss,
        loss: Buf,
        p: Buf,
        y: Buf,
        coef: Buf,
        b: usize,
        c: usize,
    },
    /// `dp += dl[0] · ∂L/∂p`.
    LossBwd {
        kind: PointLoss,
        dp: Buf,
        dl: Buf,
        p: Buf,
        y: Buf,
        coef: Buf,
        b: usize,
        c: usize,
    },
    /// `sq[k] += Σ x²` over all of `x`, or (`rows` given) over the listed rows of a
    /// `(V, width)` buffer `x`; the sum of one launch is taken in f64 and added once.
    /// With [`Launch::ClipScale`]: gradient clipping by global norm (`optim::clip`).
    SumSq {
        sq: Buf,
        k: usize,
        x: Buf,
        rows: Option<IdxBuf>,
        width: usize,
    },
    /// With `n = √sq[k]` (f64, then f32): if `n > c`, `x *= c / (n + 10⁻⁶)` over all of
    /// `x` or over its listed rows (`optim::clip_grad_norm`).
    ClipScale {
        x: Buf,
        rows: Option<IdxBuf>,
        width: usize,
        sq: Buf,
        k: usize,
        c: f32,
    },
    /// One SGD step of a dense block (`optim::Sgd`'s rule: momentum, Nesterov, L2 weight
    /// decay); `v` is the velocity (untouched when μ = 0).
    Sgd {
        theta: Buf,
        g: Buf,
        v: Buf,
        cfg: SgdConfig,
        lr: f32,
    },
    /// Lazy SGD on the listed rows of a (V, width) table (`optim::Sgd` on a `SparseGrad`),
    /// whose gradient rows are then set to 0, as [`Launch::AdamRows`]. Rows distinct.
    SgdRows {
        theta: Buf,
        g: Buf,
        v: Buf,
        rows: IdxBuf,
        width: usize,
        cfg: SgdConfig,
        lr: f32,
    },
    /// One Adam / AdamW step of a dense block (`optim::Adam`'s rule), step count `t` ≥ 1.
    Adam {
        theta: Buf,
        g: Buf,
        m: Buf,
        v: Buf,
        cfg: AdamConfig,
        lr: f32,
        t: u64,
    },
    /// Lazy Adam on the listed rows of a (V, width) table (`optim::Adam` on a `SparseGrad`):
    /// each listed row of θ, m, v is updated from its row of the dense gradient `g`,
    /// which is then set to 0 (so `g` is all zeros again after the step). Rows must be
    /// distinct.
    AdamRows {
        theta: Buf,
        g: Buf,
        m: Buf,
        v: Buf,
        rows: IdxBuf,
        width: usize,
        cfg: AdamConfig,
        lr: f32,
        t: u64,
    },
}

/// `(1 − β1ᵗ, 1 − β2ᵗ)` as `optim::Adam` computes them (f64, then f32).
pub fn bias_corrections(cfg: &AdamConfig, t: u64) -> (f32, f32) {
    let t = t as f64;
    (
        (1.0 - (cfg.beta1 as f64).powf(t)) as f32,
        (1.0 - (cfg.beta2 as f64).powf(t)) as f32,
    )
}
