//! [`HostBackend`]: the device step's launches executed on the CPU with the twins in
//! `src/ops`, `src/loss` and `src/optim`. It is the reference the CUDA backend is
//! compared with launch by launch (`tests/cuda_device_step.rs`), and lets `cargo test`
//! check the lowering of a tape (`program`) against the CPU training step on any machine.

use super::launch::{BinOp, Buf, IdxBuf, Launch, PointLoss};
use super::Backend;
use crate::error::{Error, Result};
use crate::loss::{bce, mse};
use crate::ops::broadcast::{binary_backward, binary_forward, Kind};
use crate::ops::{
    columns, dropout, gate, layer_norm, linear_act, logit_product, matmul, reduce, softmax, unary,
};
use crate::optim::adam::{adam_update, StepScalars};
use crate::optim::sgd::sgd_update;

/// Buffers in host memory; launches run at once, in order.
#[derive(Debug, Default)]
pub struct HostBackend {
    bufs: Vec<Vec<f32>>,
    idx: Vec<Vec<u32>>,
}

impl HostBackend {
    pub fn new() -> HostBackend {
        HostBackend::default()
    }

    fn buf(&self, b: Buf) -> &[f32] {
        &self.bufs[b.0 as usize]
    }

    fn ids(&self, b: IdxBuf) -> &[u32] {
        &self.idx[b.0 as usize]
    }

    /// Runs `f` with `out` taken out of the arena (so inputs can be borrowed beside it).
    fn with_out(
        &mut self,
        out: Buf,
        inputs: &[Buf],
        f: impl FnOnce(&mut Vec<f32>, &HostBackend),
    ) -> Result<()> {
        if inputs.contains(&out) {
            return Err(Error::Handle {
                op: "HostBackend::launch",
                message: format!("buffer #{} is both written and read by one launch", out.0),
            });
        }
        let mut o = std::mem::take(&mut self.bufs[out.0 as usize]);
        f(&mut o, self);
        self.bufs[out.0 as usize] = o;
        Ok(())
    }

    /// Like [`HostBackend::with_out`] for a launch with two outputs (`None`: not written).
    fn with_two_outs(
        &mut self,
        a: Option<Buf>,
        b: Option<Buf>,
        inputs: &[Buf],
        f: impl FnOnce(Option<&mut [f32]>, Option<&mut [f32]>, &HostBackend),
    ) -> Result<()> {
        let outs: Vec<Buf> = a.into_iter().chain(b).collect();
        if outs.iter().any(|o| inputs.contains(o)) {
            return Err(Error::Handle {
                op: "HostBackend::launch",
                message: "a launch writes a buffer it also reads".into(),
            });
        }
        let mut ta = a.map(|x| std::mem::take(&mut self.bufs[x.0 as usize]));
        // the same buffer for both outputs: accumulate the second into a copy, then add
        let same = a.is_some() && a == b;
        let mut tb = match b {
            Some(_) if same => Some(vec![0.0; ta.as_ref().map_or(0, Vec::len)]),
            Some(x) => Some(std::mem::take(&mut self.bufs[x.0 as usize])),
            None => None,
        };
        f(ta.as_deref_mut(), tb.as_deref_mut(), self);
        if same {
            let (va, vb) = (ta.as_mut().expect("same ⇒ a"), tb.expect("same ⇒ b"));
            va.iter_mut().zip(&vb).for_each(|(x, y)| *x += y);
        } else if let (Some(x), Some(v)) = (b, tb) {
            self.bufs[x.0 as usize] = v;
        }
        if let (Some(x), Some(v)) = (a, ta) {
            self.bufs[x.0 as usize] = v;
        }
        Ok(())
    }
}

fn kind(op: BinOp) -> Kind {
    match op {
        BinOp::Add => Kind::Add,
        BinOp::Sub => Kind::Sub,
        BinOp::Mul => Kind::Mul,
    }
}

impl Backend for HostBackend {
    fn name(&self) -> String {
        "host (CPU twins)".into()
    }

    fn alloc(&mut self, len: usize) -> Result<Buf> {
        self.bufs.push(vec![0.0; len]);
        Ok(Buf(self.bufs.len() as u32 - 1))
    }

    fn alloc_idx(&mut self) -> Result<IdxBuf> {
        self.idx.push(Vec::new());
        Ok(IdxBuf(self.idx.len() as u32 - 1))
    }

    fn write(&mut self, buf: Buf, data: &[f32]) -> Result<()> {
        let b = &mut self.bufs[buf.0 as usize];
        check_len("HostBackend::write", "data", data.len(), b.len())?;
        b.copy_from_slice(data);
        Ok(())
    }

    fn write_idx(&mut self, buf: IdxBuf, data: &[u32]) -> Result<()> {
        let b = &mut self.idx[buf.0 as usize];
        b.clear();
        b.extend_from_slice(data);
        Ok(())
    }

    fn read(&mut self, buf: Buf, out: &mut [f32]) -> Result<()> {
        let b = &self.bufs[buf.0 as usize];
        check_len("HostBackend::read", "out", out.len(), b.len())?;
        out.copy_from_slice(b);
        Ok(())
    }

    fn len(&self, buf: Buf) -> usize {
        self.bufs[buf.0 as usize].len()
    }

    fn launch(&mut self, l: &Launch) -> Result<()> {
        match *l {
            Launch::Fill { out, value } => {
                self.bufs[out.0 as usize].fill(value);
                Ok(())
            }
            Launch::Unary { out, inp, f } => {
                self.with_out(out, &[inp], |o, h| unary::unary_forward(o, h.buf(inp), f))
            }
            Launch::UnaryBwd {
                dinp,
                dout,
                inp,
                out,
                f,
            } => self.with_out(dinp, &[dout, inp, out], |d, h| {
                unary::unary_backward(d, h.buf(dout), h.buf(inp), h.buf(out), f)
            }),
            Launch::Binary { out, a, b, s, op } => self.with_out(out, &[a, b], |o, h| {
                binary_forward(o, h.buf(a), h.buf(b), s.r, s.c, s.br, s.bc, kind(op))
            }),
            Launch::BinaryBwdA { da, dy, b, s, op } => self.with_out(da, &[dy, b], |d, h| {
                // `a` only enters db: any buffer of a's size stands in for it
                binary_backward(
                    Some(d),
                    None,
                    h.buf(dy),
                    h.buf(dy),
                    h.buf(b),
                    s.r,
                    s.c,
                    s.br,
                    s.bc,
                    kind(op),
                )
            }),
            Launch::BinaryBwdB { db, dy, a, s, op } => self.with_out(db, &[dy, a], |d, h| {
                // `b` only enters da (Mul): zeros of b's size stand in for it
                let zeros = vec![0.0; s.br * s.bc];
                binary_backward(
                    None,
                    Some(d),
                    h.buf(dy),
                    h.buf(a),
                    &zeros,
                    s.r,
                    s.c,
                    s.br,
                    s.bc,
                    kind(op),
                )
            }),
            Launch::Scale { out, inp, c } => self.with_out(out, &[inp], |o, h| {
                o.iter_mut().zip(h.buf(inp)).for_each(|(y, x)| *y = c * x)
            }),
            Launch::Axpy { y, x, c } => self.with_out(y, &[x], |o, h| {
                o.iter_mut().zip(h.buf(x)).for_each(|(y, x)| *y += c * x)
            }),
            Launch::AxpyW { y, x, w, k } => self.with_out(y, &[x, w], |o, h| {
                let c = h.buf(w)[k];
                o.iter_mut().zip(h.buf(x)).for_each(|(y, x)| *y += c * x)
            }),
            Launch::Reduce {
                out,
                inp,
                r,
                c,
                axis,
                s,
            } => self.with_out(out, &[inp], |o, h| {
                reduce::reduce_forward(o, h.buf(inp), r, c, axis, s)
            }),
            Launch::ReduceBwd {
                dinp,
                dout,
                r,
                c,
                axis,
                s,
            } => self.with_out(dinp, &[dout], |d, h| {
                reduce::reduce_backward(d, h.buf(dout), r, c, axis, s)
            }),
            Launch::Softmax {
                out,
                inp,
                r,
                c,
                log,
            } => self.with_out(out, &[inp], |o, h| {
                if log {
                    softmax::log_softmax_forward(o, h.buf(inp), r, c)
                } else {
                    softmax::softmax_forward(o, h.buf(inp), r, c)
                }
            }),
            Launch::SoftmaxBwd {
                dinp,
                dout,
                out,
                r,
                c,
                log,
            } => self.with_out(dinp, &[dout, out], |d, h| {
                if log {
                    softmax::log_softmax_backward(d, h.buf(dout), h.buf(out), r, c)
                } else {
                    softmax::softmax_backward(d, h.buf(dout), h.buf(out), r, c)
                }
            }),
            Launch::Cols {
                wide,
                narrow,
                r,
                c_wide,
                c_narrow,
                off,
                to_wide,
                add,
            } => cols(self, wide, narrow, (r, c_wide, c_narrow, off), to_wide, add),
            Launch::Gather {
                out,
                table,
                idx,
                n,
                d,
                stride,
                off,
            } => {
                check_ids("Gather", self.ids(idx), n, self.buf(table).len() / d.max(1))?;
                let mut o = std::mem::take(&mut self.bufs[out.0 as usize]);
                let (t, ids) = (self.buf(table), self.ids(idx));
                if (stride, off) == (d, 0) {
                    crate::ops::gather::gather_forward(&mut o, t, ids, d);
                } else {
                    // into columns off..off+d of an (n, stride) concatenation
                    for (i, &r) in ids.iter().enumerate() {
                        o[i * stride + off..i * stride + off + d]
                            .copy_from_slice(&t[r as usize * d..(r as usize + 1) * d]);
                    }
                }
                self.bufs[out.0 as usize] = o;
                Ok(())
            }
            Launch::GatherBwd {
                dtable,
                dout,
                idx,
                n,
                d,
                stride,
                off,
            } => {
                let v = self.buf(dtable).len() / d.max(1);
                check_ids("GatherBwd", self.ids(idx), n, v)?;
                let mut t = std::mem::take(&mut self.bufs[dtable.0 as usize]);
                // dtable[idx[i], :] += dout[i, :], rows in batch order (as SparseGrad)
                for (i, &r) in self.ids(idx).iter().enumerate() {
                    let src = &self.buf(dout)[i * stride + off..i * stride + off + d];
                    let dst = &mut t[r as usize * d..(r as usize + 1) * d];
                    dst.iter_mut().zip(src).for_each(|(g, s)| *g += s);
                }
                self.bufs[dtable.0 as usize] = t;
                Ok(())
            }
            Launch::EmbeddingBag {
                out,
                table,
                offsets,
                ids,
                n,
                d,
            } => {
                let v = self.buf(table).len() / d.max(1);
                check_bags(self.ids(offsets), self.ids(ids), n, v)?;
                let mut o = std::mem::take(&mut self.bufs[out.0 as usize]);
                crate::ops::embedding_bag::embedding_bag_forward(
                    &mut o,
                    self.buf(table),
                    self.ids(offsets),
                    self.ids(ids),
                    d,
                );
                self.bufs[out.0 as usize] = o;
                Ok(())
            }
            Launch::EmbeddingBagBwd {
                dtable,
                dout,
                offsets,
                ids,
                n,
                d,
            } => {
                let v = self.buf(dtable).len() / d.max(1);
                check_bags(self.ids(offsets), self.ids(ids), n, v)?;
                let mut t = std::mem::take(&mut self.bufs[dtable.0 as usize]);
                let (offs, ids) = (self.ids(offsets), self.ids(ids));
                for (b, o) in offs.windows(2).enumerate() {
                    let bag = &ids[o[0] as usize..o[1] as usize];
                    if bag.is_empty() {
                        continue;
                    }
                    // y_b = (1/n_b) Σ_j T[ids_j]  ⇒  dT[ids_j] += dy_b / n_b
                    let inv = 1.0 / bag.len() as f32;
                    let dy = &self.buf(dout)[b * d..(b + 1) * d];
                    for &r in bag {
                        let dst = &mut t[r as usize * d..(r as usize + 1) * d];
                        dst.iter_mut().zip(dy).for_each(|(g, dy)| *g += dy * inv);
                    }
                }
                self.bufs[dtable.0 as usize] = t;
                Ok(())
            }
            Launch::Dropout { out, inp, mask } => self.with_out(out, &[inp, mask], |o, h| {
                dropout::dropout_forward(o, h.buf(inp), h.buf(mask))
            }),
            Launch::DropoutBwd { dinp, dout, mask } => {
                self.with_out(dinp, &[dout, mask], |d, h| {
                    dropout::dropout_backward(d, h.buf(dout), h.buf(mask))
                })
            }
            Launch::LayerNorm {
                out,
                mean,
                rstd,
                x,
                gamma,
                beta,
                b,
                d,
                eps,
            } => {
                let (mut m, mut s) = (
                    std::mem::take(&mut self.bufs[mean.0 as usize]),
                    std::mem::take(&mut self.bufs[rstd.0 as usize]),
                );
                let r = self.with_out(out, &[x, gamma, beta], |o, h| {
                    layer_norm::layer_norm_forward(
                        o,
                        &mut m,
                        &mut s,
                        h.buf(x),
                        h.buf(gamma),
                        h.buf(beta),
                        b,
                        d,
                        eps,
                    )
                });
                self.bufs[mean.0 as usize] = m;
                self.bufs[rstd.0 as usize] = s;
                r
            }
            Launch::LayerNormBwd {
                dx,
                dgamma,
                dbeta,
                dout,
                x,
                gamma,
                mean,
                rstd,
                b,
                d,
            } => {
                let mut tb = dbeta.map(|x| std::mem::take(&mut self.bufs[x.0 as usize]));
                let r = self.with_two_outs(dx, dgamma, &[dout, x, gamma, mean, rstd], |a, g, h| {
                    layer_norm::layer_norm_backward(
                        a,
                        g,
                        tb.as_deref_mut(),
                        h.buf(dout),
                        h.buf(x),
                        h.buf(gamma),
                        h.buf(mean),
                        h.buf(rstd),
                        b,
                        d,
                    )
                });
                if let (Some(x), Some(v)) = (dbeta, tb) {
                    self.bufs[x.0 as usize] = v;
                }
                r
            }
            Launch::MatMul {
                out,
                a,
                b,
                m,
                k,
                n,
                ta,
                tb,
                beta,
            } => self.with_out(out, &[a, b], |o, h| {
                if beta == 0.0 {
                    o.fill(0.0);
                } else if beta != 1.0 {
                    o.iter_mut().for_each(|v| *v *= beta);
                }
                matmul::matmul_forward(o, h.buf(a), h.buf(b), m, k, n, ta, tb) // += op(a)·op(b)
            }),
            Launch::LinearAct {
                out,
                pre,
                x,
                w,
                bias,
                b,
                d_in,
                d_out,
                f,
            } => {
                let mut p = std::mem::take(&mut self.bufs[pre.0 as usize]);
                let r = self.with_out(out, &[x, w, bias], |o, h| {
                    linear_act::linear_act_forward(
                        o,
                        &mut p,
                        h.buf(x),
                        h.buf(w),
                        h.buf(bias),
                        b,
                        d_in,
                        d_out,
                        f,
                    )
                });
                self.bufs[pre.0 as usize] = p;
                r
            }
            Launch::LinearActBwd {
                dpre,
                dbias,
                dout,
                pre,
                out,
                b,
                d_out,
                f,
            } => {
                let mut tb = dbias.map(|x| std::mem::take(&mut self.bufs[x.0 as usize]));
                let r = self.with_out(dpre, &[dout, pre, out], |dz, h| {
                    let dy = h.buf(dout);
                    match f {
                        None => dz.copy_from_slice(dy),
                        Some(_) => {
                            linear_act::dz_into(dz, dy, h.buf(out), h.buf(pre), f);
                        }
                    }
                    if let Some(db) = tb.as_deref_mut() {
                        // z_ij = … + b_j  ⇒  db_j += Σ_i dz_ij (rows in order)
                        for row in dz.chunks_exact(d_out).take(b) {
                            db.iter_mut().zip(row).for_each(|(d, g)| *d += g);
                        }
                    }
                });
                if let (Some(x), Some(v)) = (dbias, tb) {
                    self.bufs[x.0 as usize] = v;
                }
                r
            }
            Launch::GateCombine {
                out,
                w,
                x,
                z,
                b,
                e,
                d,
            } => {
                let mut tw = std::mem::take(&mut self.bufs[w.0 as usize]);
                let r = self.with_out(out, &[x, z], |o, h| {
                    gate::gate_combine_forward(o, &mut tw, h.buf(x), h.buf(z), b, e, d)
                });
                self.bufs[w.0 as usize] = tw;
                r
            }
            Launch::GateCombineBwd {
                dx,
                dz,
                dout,
                x,
                w,
                b,
                e,
                d,
            } => self.with_two_outs(dx, dz, &[dout, x, w], |gx, gz, h| {
                gate::gate_combine_backward(gx, gz, h.buf(dout), h.buf(x), h.buf(w), b, e, d)
            }),
            Launch::LogitProduct { out, a, b, n } => self.with_out(out, &[a, b], |o, h| {
                logit_product::logit_product_forward(&mut o[..n], h.buf(a), h.buf(b))
            }),
            Launch::LogitProductBwd {
                da,
                db,
                dy,
                a,
                b,
                n,
            } => self.with_two_outs(da, db, &[dy, a, b], |ga, gb, h| {
                logit_product::logit_product_backward(ga, gb, &h.buf(dy)[..n], h.buf(a), h.buf(b))
            }),
            Launch::Loss {
                kind,
                loss,
                p,
                y,
                coef,
                b,
                c,
            } => self.with_out(loss, &[p, y, coef], |o, h| {
                o[0] = match kind {
                    PointLoss::Mse => mse::mse_forward(h.buf(p), h.buf(y), h.buf(coef), b, c),
                    PointLoss::Bce => bce::bce_forward(h.buf(p), h.buf(y), h.buf(coef), b, c),
                }
            }),
            Launch::LossBwd {
                kind,
                dp,
                dl,
                p,
                y,
                coef,
                b,
                c,
            } => self.with_out(dp, &[dl, p, y, coef], |o, h| {
                let dl = h.buf(dl)[0];
                match kind {
                    PointLoss::Mse => {
                        mse::mse_backward(o, dl, h.buf(p), h.buf(y), h.buf(coef), b, c)
                    }
                    PointLoss::Bce => {
                        bce::bce_backward(o, dl, h.buf(p), h.buf(y), h.buf(coef), b, c)
                    }
                }
            }),
            Launch::Adam {
                theta,
                g,
                m,
                v,
                cfg,
                lr,
                t,
            } => {
                let (bc1, bc2) = super::bias_corrections(&cfg, t);
                let s = StepScalars { lr, bc1, bc2 };
                let [tt, tm, tv] =
                    [theta, m, v].map(|x| std::mem::take(&mut self.bufs[x.0 as usize]));
                let (mut tt, mut tm, mut tv) = (tt, tm, tv);
                adam_update(&mut tt, self.buf(g), &mut tm, &mut tv, &cfg, s);
                for (x, val) in [(theta, tt), (m, tm), (v, tv)] {
                    self.bufs[x.0 as usize] = val;
                }
                Ok(())
            }
            Launch::SumSq { sq, k, x, rows, d } => {
                // Σ x² in f64 over the block or the listed rows, as optim::grad_norm
                let xs = self.buf(x);
                let sq_rows = |r: &u32| {
                    let row = &xs[*r as usize * d..(*r as usize + 1) * d];
                    row.iter().map(|&v| v as f64 * v as f64).sum::<f64>()
                };
                let total: f64 = match rows {
                    None => xs.iter().map(|&v| v as f64 * v as f64).sum(),
                    Some(r) => self.ids(r).iter().map(sq_rows).sum(),
                };
                let acc = &mut self.bufs[sq.0 as usize][k];
                *acc = (*acc as f64 + total) as f32;
                Ok(())
            }
            Launch::ClipScale {
                x,
                rows,
                d,
                sq,
                k,
                c,
            } => {
                let norm = (self.buf(sq)[k] as f64).sqrt() as f32; // ‖g‖
                if norm > c {
                    let s = c / (norm + 1e-6); // s = c / (‖g‖ + 10⁻⁶)
                    let ids = rows.map(|r| std::mem::take(&mut self.idx[r.0 as usize]));
                    let xs = &mut self.bufs[x.0 as usize];
                    match &ids {
                        None => xs.iter_mut().for_each(|v| *v *= s),
                        Some(ids) => {
                            for &r in ids {
                                let row = &mut xs[r as usize * d..(r as usize + 1) * d];
                                row.iter_mut().for_each(|v| *v *= s);
                            }
                        }
                    }
                    if let (Some(r), Some(ids)) = (rows, ids) {
                        self.idx[r.0 as usize] = ids;
                    }
                }
                Ok(())
            }
            Launch::Sgd {
                theta,
                g,
                v,
                cfg,
                lr,
            } => {
                let [mut tt, mut tv] =
                    [theta, v].map(|x| std::mem::take(&mut self.bufs[x.0 as usize]));
                sgd_update(&mut tt, self.buf(g), &mut tv, &cfg, lr);
                self.bufs[theta.0 as usize] = tt;
                self.bufs[v.0 as usize] = tv;
                Ok(())
            }
            Launch::SgdRows {
                theta,
                g,
                v,
                rows,
                d,
                cfg,
                lr,
            } => {
                let ids = std::mem::take(&mut self.idx[rows.0 as usize]);
                let bufs = &mut self.bufs;
                let [mut tt, mut tg, mut tv] =
                    [theta, g, v].map(|x| std::mem::take(&mut bufs[x.0 as usize]));
                for &r in &ids {
                    let range = r as usize * d..(r as usize + 1) * d;
                    sgd_update(
                        &mut tt[range.clone()],
                        &tg[range.clone()],
                        &mut tv[range.clone()],
                        &cfg,
                        lr,
                    );
                    tg[range].fill(0.0); // the table's gradient is all zeros again
                }
                for (x, val) in [(theta, tt), (g, tg), (v, tv)] {
                    bufs[x.0 as usize] = val;
                }
                self.idx[rows.0 as usize] = ids;
                Ok(())
            }
            Launch::AdamRows {
                theta,
                g,
                m,
                v,
                rows,
                d,
                cfg,
                lr,
                t,
            } => {
                let (bc1, bc2) = super::bias_corrections(&cfg, t);
                let s = StepScalars { lr, bc1, bc2 };
                let ids = std::mem::take(&mut self.idx[rows.0 as usize]);
                let bufs = &mut self.bufs;
                let [mut tt, mut tg, mut tm, mut tv] =
                    [theta, g, m, v].map(|x| std::mem::take(&mut bufs[x.0 as usize]));
                for &r in &ids {
                    let range = r as usize * d..(r as usize + 1) * d;
                    adam_update(
                        &mut tt[range.clone()],
                        &tg[range.clone()],
                        &mut tm[range.clone()],
                        &mut tv[range.clone()],
                        &cfg,
                        s,
                    );
                    tg[range].fill(0.0); // the table's gradient is all zeros again
                }
                for (x, val) in [(theta, tt), (g, tg), (m, tm), (v, tv)] {
                    bufs[x.0 as usize] = val;
                }
                self.idx[rows.0 as usize] = ids;
                Ok(())
            }
        }
    }
}

/// An [`Error::Length`] unless `len == expected`.
fn check_len(op: &'static str, what: &str, len: usize, expected: usize) -> Result<()> {
    if len == expected {
        return Ok(());
    }
    Err(Error::Length {
        op,
        what: what.into(),
        len,
        expected,
    })
}

/// [`Launch::Cols`] with the twins of `ops::columns` (concat forward: narrow → wide,
/// overwrite; concat backward: wide → narrow, add) and the slice's loops (wide → narrow,
/// overwrite; narrow → wide, add).
fn cols(
    h: &mut HostBackend,
    wide: Buf,
    narrow: Buf,
    (r, c_wide, c_narrow, off): (usize, usize, usize, usize),
    to_wide: bool,
    add: bool,
) -> Result<()> {
    let (dst, src) = if to_wide {
        (wide, narrow)
    } else {
        (narrow, wide)
    };
    h.with_out(dst, &[src], |o, h| {
        let s = h.buf(src);
        match (to_wide, add) {
            (true, false) => columns::copy_cols_forward(o, s, r, c_wide, c_narrow, off),
            (false, true) => columns::copy_cols_backward(o, s, r, c_wide, c_narrow, off),
            (true, true) => {
                for i in 0..r {
                    let src = &s[i * c_narrow..(i + 1) * c_narrow];
                    let dst = &mut o[i * c_wide + off..i * c_wide + off + c_narrow];
                    dst.iter_mut().zip(src).for_each(|(d, s)| *d += s);
                }
            }
            (false, false) => {
                for i in 0..r {
                    o[i * c_narrow..(i + 1) * c_narrow]
                        .copy_from_slice(&s[i * c_wide + off..i * c_wide + off + c_narrow]);
                }
            }
        }
    })
}

fn check_ids(op: &'static str, ids: &[u32], n: usize, v: usize) -> Result<()> {
    check_len(op, "row ids", ids.len(), n)?;
    match ids.iter().position(|&r| r as usize >= v) {
        Some(p) => Err(Error::Value {
            op,
            what: "row id".into(),
            position: p,
            value: ids[p] as f64,
            expected: format!("an id below the table's {v} rows"),
        }),
        None => Ok(()),
    }
}

fn check_bags(offsets: &[u32], ids: &[u32], n: usize, v: usize) -> Result<()> {
    check_len("EmbeddingBag", "offsets", offsets.len(), n + 1)?;
    crate::ops::embedding_bag::check_offsets("EmbeddingBag", offsets, ids.len())?;
    check_ids("EmbeddingBag", ids, ids.len(), v)
}
