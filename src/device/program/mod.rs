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
//! This module is the generic part: the walk, the buffer planning, the feeds. Each op
//! lowers itself (`TapeOp::lower_forward` / `lower_backward` in `src/ops/<op>/lower.rs`,
//! with [`Lowering`] and [`Saved`] from `lowering.rs`), and its backward launches mirror
//! its CPU backward call by call (the same `gemm_accumulate` calls for `MatMul`, `dz` then
//! `db`, `dW`, `dx` for `LinearAct`), so a program on [`super::HostBackend`] reproduces
//! the CPU step. A program is valid for
//! tapes of the same ops and shapes ([`Program::matches`]); the trainer keeps one per
//! batch shape (the last batch of an epoch is usually smaller).

mod lowering;

pub(crate) use lowering::{unsupported, Feed, Lowering, Saved};

use super::launch::{Buf, Launch};
use super::params::DeviceParams;
use super::Backend;
use crate::autograd::{for_each_input, Graph, Node, Op, Var};
use crate::error::{Error, Result};

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
        let reach = reachable(nodes, last);
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
            values: Vec::with_capacity(nodes.len()),
            grads: Vec::with_capacity(nodes.len()),
            saved: Vec::with_capacity(nodes.len()),
            fused,
        };
        let mut feeds = Vec::new();
        let mut forward = Vec::new();
        let mut zero = Vec::new();
        for i in 0..nodes.len() {
            plan_buffers(&mut lw, i, (&reach, last), &early, &mut zero)?;
            let saved = lower_forward(&mut lw, i, &mut forward, &mut feeds)?;
            lw.saved.push(saved);
        }
        let n_scalars = 1 + report.len();
        let scalars = lw.alloc(n_scalars)?;
        for (k, &x) in std::iter::once(&seed).chain(report).enumerate() {
            forward.push(Launch::Cols {
                wide: scalars,
                narrow: lw.value(x),
                r: 1,
                c_wide: n_scalars,
                c_narrow: 1,
                off: k,
                to_wide: true,
                add: false,
            });
        }
        let mut backward = zero;
        let seed_grad = lw.grads[last].ok_or_else(|| Error::Handle {
            op: "Program::lower",
            message: "the objective does not depend on any parameter".into(),
        })?;
        backward.push(Launch::Fill {
            out: seed_grad,
            value: 1.0,
        });
        for i in (0..=last).rev() {
            if lw.grads[i].is_some() {
                lower_backward(&mut lw, i, &mut backward)?;
            }
        }
        Ok(Program {
            sig: signature(nodes),
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

/// The forward launches of node `i` (and its feeds); returns what they save. Inputs are
/// fed, parameters are their own buffers; every op lowers itself (`src/ops/<op>/lower.rs`).
fn lower_forward<B: Backend + ?Sized>(
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
    feeds: &mut Vec<Feed>,
) -> Result<Saved> {
    let op = lw.nodes[i].op;
    if let Op::Input = op {
        feeds.push(Feed::Value {
            node: i,
            buf: lw.values[i],
        });
    }
    op.lower_forward(lw, i, out, feeds)
        .unwrap_or_else(|| Ok(Saved::default()))
}

/// The backward launches of node `i`, whose gradient buffer exists (nothing for leaves:
/// a parameter's gradient buffer is its own).
fn lower_backward<B: Backend + ?Sized>(
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
) -> Result<()> {
    let op = lw.nodes[i].op;
    op.lower_backward(lw, i, out).unwrap_or(Ok(()))
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

/// Which nodes the backward pass from node `last` reaches (as `Graph::backward_with_grad`).
fn reachable(nodes: &[Node], last: usize) -> Vec<bool> {
    let mut reach = vec![false; nodes.len()];
    reach[last] = true;
    for i in (0..=last).rev() {
        if reach[i] && nodes[i].needs_grad {
            for_each_input(nodes, i, |v| reach[v.index()] = true);
        }
    }
    reach
}

/// The value buffer of node `i` (a parameter's own, the concatenation's for a fused
/// gather, one allocated early for a concatenation, else a fresh one) and, when the
/// backward pass from `last` reaches it and it needs one, its gradient buffer (zeroed by
/// a launch of `zero`, except the seed's).
fn plan_buffers<B: Backend + ?Sized>(
    lw: &mut Lowering<'_, B>,
    i: usize,
    (reach, last): (&[bool], usize),
    early: &[Option<Buf>],
    zero: &mut Vec<Launch>,
) -> Result<()> {
    let n = &lw.nodes[i];
    let len = n.rows * n.cols;
    let value = match (n.op, lw.fused[i], early[i]) {
        (Op::Param(id), _, _) => lw.params.value(id),
        (_, Some((j, _)), _) => early[j].expect("allocated above"), // columns of j
        (_, None, Some(b)) => b,
        _ => lw.alloc(len)?,
    };
    lw.values.push(value);
    // a fused gather's gradient is read from the concatenation's
    let grad = if n.needs_grad && reach[i] && i <= last && lw.fused[i].is_none() {
        Some(match n.op {
            Op::Param(id) => lw.params.grad(id),
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
    lw.grads.push(grad);
    Ok(())
}

/// The op, rows, cols and input list (for ops that list them in `idx`) of every node.
fn signature(nodes: &[Node]) -> Vec<(Op, usize, usize, Vec<u32>)> {
    nodes
        .iter()
        .map(|n| {
            let list = if listed(&n.op) {
                n.idx.clone()
            } else {
                Vec::new()
            };
            (n.op, n.rows, n.cols, list)
        })
        .collect()
}
