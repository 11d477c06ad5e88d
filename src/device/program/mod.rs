//! Lowering a recorded tape into launches: [`Program`].
//!
//! One pass over the nodes of a [`Graph`] (recorded with `set_record_only(true)`) gives
//! each node a value buffer (a parameter's own buffer for `Param`, a fresh one for every
//! other node) and, when the backward seed reaches it and it needs one, a gradient
//! buffer (again the parameter's own gradient for `Param`, so its share lands directly
//! in the parameter's gradient). Then:
//!
//! ```text
//! forward:  one launch (or a few) per node, in tape order             (= as the CPU ops)
//! backward: zero the node gradients, seed ∂L/∂L = 1, then per reached node in reverse
//!           the launches of its backward pass, each adding into its inputs' gradients
//! feeds:    what changes from batch to batch: input values, row ids, bag offsets and
//!           ids, dropout masks, loss coefficients and targets, task weights
//! ```
//!
//! One fusion: a gather whose only consumer is a concatenation (the input layer's
//! embeddings) writes straight into its columns of the concatenation and reads its
//! gradient from there, instead of a gather plus a column copy each way (census: 58 of 264
//! launches).
//!
//! The backward launches mirror `src/autograd/backward.rs` op by op (the same
//! `matmul_forward` calls for `MatMul`, `dz` then `db`, `dW`, `dx` for `LinearAct`), so a
//! program on [`super::HostBackend`] reproduces the CPU step. A program is valid for
//! tapes of the same ops and shapes ([`Program::matches`]); the trainer keeps one per
//! batch shape (the last batch of an epoch is usually smaller).

use super::launch::{Bcast, BinOp, Buf, IdxBuf, Launch, PointLoss};
use super::params::DeviceParams;
use super::Backend;
use crate::autograd::{for_each_input, Axis, Graph, Node, Op, ParamId, Var};
use crate::error::{Error, Result};
use crate::ops::reduce::mean_scale;

/// Data copied from the tape to the backend before each run.
#[derive(Debug)]
enum Feed {
    /// An `Input` node's value.
    Value { node: usize, buf: Buf },
    /// A slice of a node's saved f32 state (`aux`): dropout mask, loss coefficients or
    /// targets, task weights.
    Aux {
        node: usize,
        buf: Buf,
        start: usize,
        len: usize,
    },
    /// The row ids of a `Gather` node (noted as touched rows of `table`).
    Rows {
        node: usize,
        buf: IdxBuf,
        table: ParamId,
    },
    /// The offsets (b + 1) then ids of an `EmbeddingBag` node.
    Bags {
        node: usize,
        offsets: IdxBuf,
        ids: IdxBuf,
        b: usize,
        table: ParamId,
    },
}

/// A tape lowered to launches; see the module documentation.
#[derive(Debug)]
pub struct Program {
    /// The tape it was lowered from: op, rows, cols and input list of every node.
    sig: Vec<(Op, usize, usize, Vec<u32>)>,
    forward: Vec<Launch>,
    backward: Vec<Launch>,
    feeds: Vec<Feed>,
    /// `[objective, L_1, …, L_K]`, filled by the forward launches.
    scalars: Buf,
    n_scalars: usize,
}

/// Whether the op's input list lives in `idx` (so it belongs to the signature).
fn listed(op: &Op) -> bool {
    matches!(op, Op::ConcatCols | Op::WeightedSum)
}

fn unsupported(op: &Op) -> Error {
    Error::Device {
        device: "device step".into(),
        what: format!(
            "the op {:?} has no device lowering yet (supported: inputs, parameters, gather, \
             embedding bags, concat / slice of columns, matmul, linear + activation, add, \
             sub, mul, scale, sum, mean, unary functions, softmax, log-softmax, dropout, \
             layer norm, gate combine, logit product, MSE and BCE losses, weighted sums)",
            op.kind()
        ),
        fix: "train this model on the CPU (`--device cpu`)".into(),
    }
}

/// Buffers a node's forward launches save for its backward launches.
#[derive(Clone, Copy, Debug, Default)]
struct Saved {
    f: [Option<Buf>; 2],
    i: [Option<IdxBuf>; 2],
}

impl Saved {
    fn f(&self, k: usize) -> Buf {
        self.f[k].expect("lowered with the forward pass")
    }
    fn i(&self, k: usize) -> IdxBuf {
        self.i[k].expect("lowered with the forward pass")
    }
}

/// Buffers of the nodes while lowering.
struct Lowering<'a, B: Backend + ?Sized> {
    backend: &'a mut B,
    params: &'a DeviceParams,
    nodes: &'a [Node],
    value: Vec<Buf>,
    grad: Vec<Option<Buf>>,
    saved: Vec<Saved>,
    /// For a gather fused into a concatenation: (the concatenation's node, column offset).
    fused: Vec<Option<(usize, usize)>>,
}

impl<B: Backend + ?Sized> Lowering<'_, B> {
    fn v(&self, x: Var) -> Buf {
        self.value[x.index()]
    }
    fn g(&self, x: Var) -> Option<Buf> {
        self.grad[x.index()]
    }
    fn dims(&self, x: Var) -> (usize, usize) {
        let n = &self.nodes[x.index()];
        (n.rows, n.cols)
    }
    fn alloc(&mut self, len: usize) -> Result<Buf> {
        self.backend.alloc(len)
    }
}

impl Program {
    /// Lowers the first `g.len()` nodes of `g` for a backward pass from `seed` (a (1, 1)
    /// objective); `report` are the nodes whose values [`Program::run`] returns after
    /// the objective (the task losses, each (1, 1)).
    pub fn lower<B: Backend + ?Sized>(
        backend: &mut B,
        params: &DeviceParams,
        g: &Graph,
        seed: Var,
        report: &[Var],
    ) -> Result<Program> {
        let nodes = &g.nodes[..g.len()];
        let last = seed.index();
        if last >= nodes.len() || (nodes[last].rows, nodes[last].cols) != (1, 1) {
            return Err(Error::Handle {
                op: "Program::lower",
                message: format!("the seed must be a (1, 1) node of this tape, got #{last}"),
            });
        }
        // reachability from the seed, as Graph::backward_with_grad
        let mut reach = vec![false; nodes.len()];
        reach[last] = true;
        for i in (0..=last).rev() {
            if reach[i] && nodes[i].needs_grad {
                for_each_input(nodes, i, |v| reach[v.index()] = true);
            }
        }
        // Gathers read only by one concatenation write into its columns: the
        // concatenation's buffer exists before them.
        let fused = fusable_gathers(nodes);
        let mut early: Vec<Option<Buf>> = vec![None; nodes.len()];
        for &(j, _) in fused.iter().flatten() {
            if early[j].is_none() {
                early[j] = Some(backend.alloc(nodes[j].rows * nodes[j].cols)?);
            }
        }
        let mut lw = Lowering {
            backend,
            params,
            nodes,
            value: Vec::with_capacity(nodes.len()),
            grad: Vec::with_capacity(nodes.len()),
            saved: Vec::with_capacity(nodes.len()),
            fused,
        };
        let mut feeds = Vec::new();
        let mut forward = Vec::new();
        let mut zero = Vec::new();
        for (i, n) in nodes.iter().enumerate() {
            let len = n.rows * n.cols;
            let value = match (n.op, lw.fused[i], early[i]) {
                (Op::Param(id), _, _) => params.value(id),
                (_, Some((j, _)), _) => early[j].expect("allocated above"), // columns of j
                (_, None, Some(b)) => b,
                _ => lw.alloc(len)?,
            };
            lw.value.push(value);
            // a fused gather's gradient is read from the concatenation's
            let grad = if n.needs_grad && reach[i] && i <= last && lw.fused[i].is_none() {
                Some(match n.op {
                    Op::Param(id) => params.grad(id),
                    _ => {
                        let b = lw.alloc(len)?;
                        if i != last {
                            zero.push(Launch::Fill { out: b, value: 0.0 }); // the seed: 1 below
                        }
                        b
                    }
                })
            } else {
                None
            };
            lw.grad.push(grad);
            let saved = lower_forward(&mut lw, i, &mut forward, &mut feeds)?;
            lw.saved.push(saved);
        }
        let n_scalars = 1 + report.len();
        let scalars = lw.alloc(n_scalars)?;
        for (k, &x) in std::iter::once(&seed).chain(report).enumerate() {
            forward.push(Launch::Cols {
                wide: scalars,
                narrow: lw.v(x),
                r: 1,
                c_wide: n_scalars,
                c_narrow: 1,
                off: k,
                to_wide: true,
                add: false,
            });
        }
        let mut backward = zero;
        let seed_grad = lw.grad[last].ok_or_else(|| Error::Handle {
            op: "Program::lower",
            message: "the objective does not depend on any parameter".into(),
        })?;
        backward.push(Launch::Fill {
            out: seed_grad,
            value: 1.0,
        });
        for i in (0..=last).rev() {
            if lw.grad[i].is_some() {
                lower_backward(&mut lw, i, &mut backward)?;
            }
        }
        let sig = nodes
            .iter()
            .map(|n| {
                let list = if listed(&n.op) {
                    n.idx.clone()
                } else {
                    Vec::new()
                };
                (n.op, n.rows, n.cols, list)
            })
            .collect();
        Ok(Program {
            sig,
            forward,
            backward,
            feeds,
            scalars,
            n_scalars,
        })
    }

    /// Whether `g` records the same ops on the same shapes as the tape this program was
    /// lowered from (then only the feeds differ).
    pub fn matches(&self, g: &Graph) -> bool {
        g.len() == self.sig.len()
            && g.nodes[..g.len()]
                .iter()
                .zip(&self.sig)
                .all(|(n, (op, r, c, list))| {
                    n.op == *op && n.rows == *r && n.cols == *c && (!listed(op) || n.idx == *list)
                })
    }

    /// Number of values [`Program::read_scalars`] returns: the objective, then one per
    /// reported node.
    pub fn n_scalars(&self) -> usize {
        self.n_scalars
    }

    /// Copies this batch's data from `g` to the backend and notes the touched table rows.
    pub fn feed<B: Backend + ?Sized>(
        &self,
        backend: &mut B,
        params: &mut DeviceParams,
        g: &Graph,
    ) -> Result<()> {
        for f in &self.feeds {
            match *f {
                Feed::Value { node, buf } => backend.write(buf, &g.nodes[node].value)?,
                Feed::Aux {
                    node,
                    buf,
                    start,
                    len,
                } => backend.write(buf, &g.nodes[node].aux[start..start + len])?,
                Feed::Rows { node, buf, table } => {
                    let ids = &g.nodes[node].idx;
                    backend.write_idx(buf, ids)?;
                    params.touch(table, ids)?;
                }
                Feed::Bags {
                    node,
                    offsets,
                    ids,
                    b,
                    table,
                } => {
                    let (o, i) = g.nodes[node].idx.split_at(b + 1);
                    backend.write_idx(offsets, o)?;
                    backend.write_idx(ids, i)?;
                    params.touch(table, i)?;
                }
            }
        }
        Ok(())
    }

    /// The forward launches (values, losses, the scalars).
    pub fn forward<B: Backend + ?Sized>(&self, backend: &mut B) -> Result<()> {
        self.forward.iter().try_for_each(|l| backend.launch(l))
    }

    /// The backward launches (node gradients zeroed first; parameter gradients are
    /// accumulated into, so zero them before: [`DeviceParams::zero_dense_grads`]).
    pub fn backward<B: Backend + ?Sized>(&self, backend: &mut B) -> Result<()> {
        self.backward.iter().try_for_each(|l| backend.launch(l))
    }

    /// Reads `[objective, reported values…]` of the last forward pass into `out`.
    pub fn read_scalars<B: Backend + ?Sized>(
        &self,
        backend: &mut B,
        out: &mut [f32],
    ) -> Result<()> {
        backend.read(self.scalars, out)
    }

    /// Number of launches of one step (forward + backward).
    pub fn launches(&self) -> usize {
        self.forward.len() + self.backward.len()
    }

    /// How many launches of each kind one step makes (forward + backward), by name.
    pub fn launch_counts(&self) -> std::collections::BTreeMap<String, usize> {
        let mut counts = std::collections::BTreeMap::new();
        for l in self.forward.iter().chain(&self.backward) {
            let name = format!("{l:?}");
            let name = name
                .split([' ', '{'])
                .next()
                .unwrap_or_default()
                .to_string();
            *counts.entry(name).or_insert(0) += 1;
        }
        counts
    }
}

fn bcast(lw: &Lowering<'_, impl Backend + ?Sized>, a: Var, b: Var) -> Bcast {
    let ((r, c), (br, bc)) = (lw.dims(a), lw.dims(b));
    Bcast { r, c, br, bc }
}

/// The forward launches of node `i` (and its feeds); returns what they save.
fn lower_forward<B: Backend + ?Sized>(
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
    feeds: &mut Vec<Feed>,
) -> Result<Saved> {
    let mut saved = Saved::default();
    let n = &lw.nodes[i];
    let (rows, cols) = (n.rows, n.cols);
    let y = lw.value[i];
    match n.op {
        Op::Param(_) => {}
        Op::Input => feeds.push(Feed::Value { node: i, buf: y }),
        Op::MatMul { a, b, ta, tb } => {
            let k = if ta { lw.dims(a).0 } else { lw.dims(a).1 };
            out.push(Launch::MatMul {
                out: y,
                a: lw.v(a),
                b: lw.v(b),
                m: rows,
                k,
                n: cols,
                ta,
                tb,
                beta: 0.0,
            });
        }
        Op::Add { a, b } | Op::Sub { a, b } | Op::Mul { a, b } => out.push(Launch::Binary {
            out: y,
            a: lw.v(a),
            b: lw.v(b),
            s: bcast(lw, a, b),
            op: bin_op(&n.op),
        }),
        Op::Scale { a, c } => out.push(Launch::Scale {
            out: y,
            inp: lw.v(a),
            c,
        }),
        Op::Sum { a, axis } | Op::Mean { a, axis } => {
            let (r, c) = lw.dims(a);
            out.push(Launch::Reduce {
                out: y,
                inp: lw.v(a),
                r,
                c,
                axis,
                s: reduce_scale(&n.op, r, c, axis),
            });
        }
        Op::Unary { a, f } => out.push(Launch::Unary {
            out: y,
            inp: lw.v(a),
            f,
        }),
        Op::Softmax { a } | Op::LogSoftmax { a } => out.push(Launch::Softmax {
            out: y,
            inp: lw.v(a),
            r: rows,
            c: cols,
            log: matches!(n.op, Op::LogSoftmax { .. }),
        }),
        Op::ConcatCols => {
            let mut off = 0;
            for &p in &n.idx {
                let c_narrow = lw.dims(Var::slot(p)).1;
                if lw.fused[p as usize].is_none() {
                    out.push(Launch::Cols {
                        wide: y,
                        narrow: lw.v(Var::slot(p)),
                        r: rows,
                        c_wide: cols,
                        c_narrow,
                        off,
                        to_wide: true,
                        add: false,
                    });
                } // a fused gather has written its columns already
                off += c_narrow;
            }
        }
        Op::SliceCols { a, start } => out.push(Launch::Cols {
            wide: lw.v(a),
            narrow: y,
            r: rows,
            c_wide: lw.dims(a).1,
            c_narrow: cols,
            off: start,
            to_wide: false,
            add: false,
        }),
        Op::Gather { table } => {
            let idx = lw.backend.alloc_idx()?;
            saved.i = [Some(idx), None];
            feeds.push(Feed::Rows {
                node: i,
                buf: idx,
                table,
            });
            // into the concatenation's columns when fused, else its own (rows, cols)
            let (stride, off) = match lw.fused[i] {
                Some((j, off)) => (lw.nodes[j].cols, off),
                None => (cols, 0),
            };
            out.push(Launch::Gather {
                out: y,
                table: lw.params.value(table),
                idx,
                n: rows,
                d: cols,
                stride,
                off,
            });
        }
        Op::EmbeddingBag { table } => {
            let (offsets, ids) = (lw.backend.alloc_idx()?, lw.backend.alloc_idx()?);
            saved.i = [Some(offsets), Some(ids)];
            feeds.push(Feed::Bags {
                node: i,
                offsets,
                ids,
                b: rows,
                table,
            });
            out.push(Launch::EmbeddingBag {
                out: y,
                table: lw.params.value(table),
                offsets,
                ids,
                n: rows,
                d: cols,
            });
        }
        Op::Dropout { a } => {
            let mask = lw.alloc(rows * cols)?;
            saved.f = [Some(mask), None];
            feeds.push(Feed::Aux {
                node: i,
                buf: mask,
                start: 0,
                len: rows * cols,
            });
            out.push(Launch::Dropout {
                out: y,
                inp: lw.v(a),
                mask,
            });
        }
        Op::LayerNorm {
            x,
            gamma,
            beta,
            eps,
        } => {
            // mean then 1/σ, (rows) each: saved for the backward launch
            let (mean, rstd) = (lw.alloc(rows)?, lw.alloc(rows)?);
            out.push(Launch::LayerNorm {
                out: y,
                mean,
                rstd,
                x: lw.v(x),
                gamma: lw.v(gamma),
                beta: lw.v(beta),
                b: rows,
                d: cols,
                eps,
            });
            saved.f = [Some(mean), Some(rstd)];
        }
        Op::LogitProduct { a, b } => out.push(Launch::LogitProduct {
            out: y,
            a: lw.v(a),
            b: lw.v(b),
            n: rows * cols,
        }),
        Op::GateCombine { experts, gate, e } => {
            let w = lw.alloc(rows * e)?; // (B, E) softmax weights, saved
            saved.f = [Some(w), None];
            out.push(Launch::Fill { out: y, value: 0.0 }); // the launch accumulates
            out.push(Launch::GateCombine {
                out: y,
                w,
                x: lw.v(experts),
                z: lw.v(gate),
                b: rows,
                e,
                d: cols,
            });
        }
        Op::Mse { pred: p } | Op::BceLogits { logits: p } => {
            let (b, c) = lw.dims(p);
            let (coef, yb) = (lw.alloc(b)?, lw.alloc(b * c)?);
            saved.f = [Some(coef), Some(yb)];
            feeds.push(Feed::Aux {
                node: i,
                buf: coef,
                start: 0,
                len: b,
            });
            feeds.push(Feed::Aux {
                node: i,
                buf: yb,
                start: b,
                len: b * c,
            });
            out.push(Launch::Loss {
                kind: point_loss(&n.op),
                loss: y,
                p: lw.v(p),
                y: yb,
                coef,
                b,
                c,
            });
        }
        Op::WeightedSum => {
            let k = n.idx.len();
            let w = lw.alloc(k)?;
            saved.f = [Some(w), None];
            feeds.push(Feed::Aux {
                node: i,
                buf: w,
                start: 0,
                len: k,
            });
            out.push(Launch::Fill { out: y, value: 0.0 });
            for (j, &l) in n.idx.iter().enumerate() {
                out.push(Launch::AxpyW {
                    y,
                    x: lw.v(Var::slot(l)),
                    w,
                    k: j,
                });
            }
        }
        Op::LinearAct { x, w, b, f } => {
            let pre = lw.alloc(rows * cols)?; // (B, D_out) x·W + b, saved
            saved.f = [Some(pre), None];
            out.push(Launch::LinearAct {
                out: y,
                pre,
                x: lw.v(x),
                w: lw.v(w),
                bias: lw.v(b),
                b: rows,
                d_in: lw.dims(x).1,
                d_out: cols,
                f,
            });
        }
        Op::SoftmaxCe { .. }
        | Op::Attention { .. }
        | Op::MaskedMean { .. }
        | Op::L2Normalize { .. }
        | Op::SelectRows { .. }
        | Op::EmbedLinear { .. }
        | Op::DistillBce { .. } => return Err(unsupported(&n.op)),
    }
    Ok(saved)
}

/// For each node: `Some((j, off))` when it is a gather whose only use is one part of the
/// concatenation `j`, at column offset `off`.
fn fusable_gathers(nodes: &[Node]) -> Vec<Option<(usize, usize)>> {
    let mut uses = vec![0u32; nodes.len()];
    for i in 0..nodes.len() {
        for_each_input(nodes, i, |v| uses[v.index()] += 1);
    }
    let mut fused = vec![None; nodes.len()];
    for (j, n) in nodes.iter().enumerate() {
        if !matches!(n.op, Op::ConcatCols) {
            continue;
        }
        let mut off = 0;
        for &p in &n.idx {
            let p = p as usize;
            if matches!(nodes[p].op, Op::Gather { .. }) && uses[p] == 1 {
                fused[p] = Some((j, off));
            }
            off += nodes[p].cols;
        }
    }
    fused
}

fn bin_op(op: &Op) -> BinOp {
    match op {
        Op::Add { .. } => BinOp::Add,
        Op::Sub { .. } => BinOp::Sub,
        _ => BinOp::Mul,
    }
}

fn point_loss(op: &Op) -> PointLoss {
    match op {
        Op::Mse { .. } => PointLoss::Mse,
        _ => PointLoss::Bce,
    }
}

/// 1 for a sum, 1/count for a mean (as `ops::reduce`).
fn reduce_scale(op: &Op, r: usize, c: usize, axis: Axis) -> f32 {
    match op {
        Op::Mean { .. } => mean_scale(r, c, axis),
        _ => 1.0,
    }
}

/// The backward launches of node `i`, whose gradient buffer exists: each adds into the
/// gradients of the inputs that have one (as the op's `backward` in `src/ops`).
fn lower_backward<B: Backend + ?Sized>(
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
) -> Result<()> {
    let n = &lw.nodes[i];
    let (rows, cols) = (n.rows, n.cols);
    let (y, dy) = (
        lw.value[i],
        lw.grad[i].expect("called for nodes with a gradient"),
    );
    let saved = lw.saved[i];
    match n.op {
        Op::Input | Op::Param(_) => {}
        Op::MatMul { a, b, ta, tb } => {
            // C (m, n) = op(A) (m, k) · op(B) (k, n); the calls of ops::matmul::matmul_backward
            let (m, nn) = (rows, cols);
            let k = if ta { lw.dims(a).0 } else { lw.dims(a).1 };
            let (va, vb) = (lw.v(a), lw.v(b));
            let mm = |out: Buf, x: Buf, z: Buf, dims: (usize, usize, usize), t: (bool, bool)| {
                Launch::MatMul {
                    out,
                    a: x,
                    b: z,
                    m: dims.0,
                    k: dims.1,
                    n: dims.2,
                    ta: t.0,
                    tb: t.1,
                    beta: 1.0,
                }
            };
            if let Some(da) = lw.g(a) {
                out.push(if !ta {
                    mm(da, dy, vb, (m, nn, k), (false, !tb)) // dA (m,k) += dC · op(B)ᵀ
                } else {
                    mm(da, vb, dy, (k, nn, m), (tb, true)) // dA (k,m) += op(B) · dCᵀ
                });
            }
            if let Some(db) = lw.g(b) {
                out.push(if !tb {
                    mm(db, va, dy, (k, m, nn), (!ta, false)) // dB (k,n) += op(A)ᵀ · dC
                } else {
                    mm(db, dy, va, (nn, m, k), (true, ta)) // dB (n,k) += dCᵀ · op(A)
                });
            }
        }
        Op::Add { a, b } | Op::Sub { a, b } | Op::Mul { a, b } => {
            let (s, op) = (bcast(lw, a, b), bin_op(&n.op));
            if let Some(da) = lw.g(a) {
                out.push(Launch::BinaryBwdA {
                    da,
                    dy,
                    b: lw.v(b),
                    s,
                    op,
                });
            }
            if let Some(db) = lw.g(b) {
                out.push(Launch::BinaryBwdB {
                    db,
                    dy,
                    a: lw.v(a),
                    s,
                    op,
                });
            }
        }
        Op::Scale { a, c } => {
            if let Some(da) = lw.g(a) {
                out.push(Launch::Axpy { y: da, x: dy, c }); // y = c·a ⇒ da += c·dy
            }
        }
        Op::Sum { a, axis } | Op::Mean { a, axis } => {
            if let Some(da) = lw.g(a) {
                let (r, c) = lw.dims(a);
                out.push(Launch::ReduceBwd {
                    dinp: da,
                    dout: dy,
                    r,
                    c,
                    axis,
                    s: reduce_scale(&n.op, r, c, axis),
                });
            }
        }
        Op::Unary { a, f } => {
            if let Some(da) = lw.g(a) {
                out.push(Launch::UnaryBwd {
                    dinp: da,
                    dout: dy,
                    inp: lw.v(a),
                    out: y,
                    f,
                });
            }
        }
        Op::Softmax { a } | Op::LogSoftmax { a } => {
            if let Some(da) = lw.g(a) {
                out.push(Launch::SoftmaxBwd {
                    dinp: da,
                    dout: dy,
                    out: y,
                    r: rows,
                    c: cols,
                    log: matches!(n.op, Op::LogSoftmax { .. }),
                });
            }
        }
        Op::ConcatCols => {
            let mut off = 0;
            for &p in &n.idx {
                let c_narrow = lw.dims(Var::slot(p)).1;
                if let (Some(_), Op::Gather { table }) =
                    (lw.fused[p as usize], lw.nodes[p as usize].op)
                {
                    // the fused gather's backward, from its columns of dy
                    out.push(Launch::GatherBwd {
                        dtable: lw.params.grad(table),
                        dout: dy,
                        idx: lw.saved[p as usize].i(0),
                        n: rows,
                        d: c_narrow,
                        stride: cols,
                        off,
                    });
                } else if let Some(dp) = lw.g(Var::slot(p)) {
                    out.push(Launch::Cols {
                        wide: dy,
                        narrow: dp,
                        r: rows,
                        c_wide: cols,
                        c_narrow,
                        off,
                        to_wide: false,
                        add: true,
                    });
                }
                off += c_narrow;
            }
        }
        Op::SliceCols { a, start } => {
            if let Some(da) = lw.g(a) {
                out.push(Launch::Cols {
                    wide: da,
                    narrow: dy,
                    r: rows,
                    c_wide: lw.dims(a).1,
                    c_narrow: cols,
                    off: start,
                    to_wide: true,
                    add: true,
                });
            }
        }
        Op::Gather { table } => out.push(Launch::GatherBwd {
            dtable: lw.params.grad(table),
            dout: dy,
            idx: saved.i(0),
            n: rows,
            d: cols,
            stride: cols,
            off: 0,
        }),
        Op::EmbeddingBag { table } => out.push(Launch::EmbeddingBagBwd {
            dtable: lw.params.grad(table),
            dout: dy,
            offsets: saved.i(0),
            ids: saved.i(1),
            n: rows,
            d: cols,
        }),
        Op::Dropout { a } => {
            if let Some(da) = lw.g(a) {
                out.push(Launch::DropoutBwd {
                    dinp: da,
                    dout: dy,
                    mask: saved.f(0),
                });
            }
        }
        Op::LayerNorm { x, gamma, beta, .. } => out.push(Launch::LayerNormBwd {
            dx: lw.g(x),
            dgamma: lw.g(gamma),
            dbeta: lw.g(beta),
            dout: dy,
            x: lw.v(x),
            gamma: lw.v(gamma),
            mean: saved.f(0),
            rstd: saved.f(1),
            b: rows,
            d: cols,
        }),
        Op::LogitProduct { a, b } => out.push(Launch::LogitProductBwd {
            da: lw.g(a),
            db: lw.g(b),
            dy,
            a: lw.v(a),
            b: lw.v(b),
            n: rows * cols,
        }),
        Op::GateCombine { experts, gate, e } => out.push(Launch::GateCombineBwd {
            dx: lw.g(experts),
            dz: lw.g(gate),
            dout: dy,
            x: lw.v(experts),
            w: saved.f(0),
            b: rows,
            e,
            d: cols,
        }),
        Op::Mse { pred: p } | Op::BceLogits { logits: p } => {
            if let Some(dp) = lw.g(p) {
                let (b, c) = lw.dims(p);
                out.push(Launch::LossBwd {
                    kind: point_loss(&n.op),
                    dp,
                    dl: dy,
                    p: lw.v(p),
                    y: saved.f(1),
                    coef: saved.f(0),
                    b,
                    c,
                });
            }
        }
        Op::WeightedSum => {
            for (j, &l) in n.idx.iter().enumerate() {
                if let Some(dl) = lw.g(Var::slot(l)) {
                    // L = Σ_k w_k L_k ⇒ dL_k += w_k · dL
                    out.push(Launch::AxpyW {
                        y: dl,
                        x: dy,
                        w: saved.f(0),
                        k: j,
                    });
                }
            }
        }
        Op::LinearAct { x, w, b, f } => {
            let d_in = lw.dims(x).1;
            let dpre = lw.alloc(rows * cols)?; // (B, D_out) dz = dy ⊙ f′, scratch
            out.push(Launch::LinearActBwd {
                dpre,
                dbias: lw.g(b),
                dout: dy,
                pre: saved.f(0),
                out: y,
                b: rows,
                d_out: cols,
                f,
            });
            if let Some(dw) = lw.g(w) {
                out.push(Launch::MatMul {
                    out: dw,
                    a: lw.v(x),
                    b: dpre,
                    m: d_in,
                    k: rows,
                    n: cols,
                    ta: true,
                    tb: false,
                    beta: 1.0,
                }); // dW += xᵀ · dz
            }
            if let Some(dx) = lw.g(x) {
                out.push(Launch::MatMul {
                    out: dx,
                    a: dpre,
                    b: lw.v(w),
                    m: rows,
                    k: cols,
                    n: d_in,
                    ta: false,
                    tb: true,
                    beta: 1.0,
                }); // dx += dz · Wᵀ
            }
        }
        _ => return Err(unsupported(&n.op)),
    }
    Ok(())
}
