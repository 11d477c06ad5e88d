//! Every [`Launch`] as one (or, for a layer-norm backward with only one of dγ / dβ, a
//! scratch allocation and one) call of a launch wrapper of `crate::device::cuda::kernels`. Sizes
//! that a wrapper derives from buffer lengths are checked against the launch's own.

use super::backend::CudaBackend;
use crate::device::cuda::kernels::{self as k, BinaryKind, UnaryKind};
use crate::device::{BinOp, Launch, PointLoss};
use crate::error::{Error, Result};

fn unary(f: Option<crate::autograd::UnaryFn>) -> UnaryKind {
    f.map_or(UnaryKind::Identity, UnaryKind::from)
}

fn binary(op: BinOp) -> BinaryKind {
    match op {
        BinOp::Add => BinaryKind::Add,
        BinOp::Sub => BinaryKind::Sub,
        BinOp::Mul => BinaryKind::Mul,
    }
}

fn point_loss(kind: PointLoss) -> k::PointLoss {
    match kind {
        PointLoss::Mse => k::PointLoss::Mse,
        PointLoss::Bce => k::PointLoss::BceLogits,
    }
}

pub(super) fn launch(be: &mut CudaBackend, l: &Launch) -> Result<()> {
    match *l {
        Launch::Fill { out, value } => be.outs("Fill", [out], |dev, _, [o]| k::fill(dev, o, value)),
        Launch::Unary { out, inp, f } => be.outs("Unary", [out], |dev, t, [o]| {
            k::unary_forward(dev, o, t.get("Unary", inp)?, f.into())
        }),
        Launch::UnaryBwd {
            dinp,
            dout,
            inp,
            out,
            f,
        } => {
            let op = "UnaryBwd";
            be.outs(op, [dinp], |dev, t, [o]| {
                let (dout, inp, out) = (t.get(op, dout)?, t.get(op, inp)?, t.get(op, out)?);
                k::unary_backward(dev, o, dout, inp, out, f.into())
            })
        }
        Launch::Binary { out, a, b, s, op } => be.outs("Binary", [out], |dev, t, [o]| {
            let (a, b) = (t.get("Binary", a)?, t.get("Binary", b)?);
            k::binary_forward(dev, o, a, b, (s.r, s.c), (s.br, s.bc), binary(op))
        }),
        Launch::BinaryBwdA { da, dy, b, s, op } => be.outs("BinaryBwdA", [da], |dev, t, [o]| {
            let (dy, b) = (t.get("BinaryBwdA", dy)?, t.get("BinaryBwdA", b)?);
            k::binary_backward_a(dev, o, dy, b, (s.r, s.c), (s.br, s.bc), binary(op))
        }),
        Launch::BinaryBwdB { db, dy, a, s, op } => be.outs("BinaryBwdB", [db], |dev, t, [o]| {
            let (dy, a) = (t.get("BinaryBwdB", dy)?, t.get("BinaryBwdB", a)?);
            k::binary_backward_b(dev, o, dy, a, (s.r, s.c), (s.br, s.bc), binary(op))
        }),
        Launch::Scale { out, inp, c } => be.outs("Scale", [out], |dev, t, [o]| {
            k::scale_forward(dev, o, t.get("Scale", inp)?, c)
        }),
        Launch::Axpy { y, x, c } => be.outs("Axpy", [y], |dev, t, [o]| {
            k::axpy(dev, o, t.get("Axpy", x)?, c)
        }),
        Launch::AxpyW { y, x, w, k: i } => be.outs("AxpyW", [y], |dev, t, [o]| {
            k::axpy_w(dev, o, t.get("AxpyW", x)?, t.get("AxpyW", w)?, i)
        }),
        Launch::Reduce {
            out,
            inp,
            r,
            c,
            axis,
            s,
        } => be.outs("Reduce", [out], |dev, t, [o]| {
            k::reduce_forward(dev, o, t.get("Reduce", inp)?, (r, c), axis, s)
        }),
        Launch::ReduceBwd {
            dinp,
            dout,
            r,
            c,
            axis,
            s,
        } => be.outs("ReduceBwd", [dinp], |dev, t, [o]| {
            k::reduce_backward(dev, o, t.get("ReduceBwd", dout)?, (r, c), axis, s)
        }),
        Launch::Softmax {
            out,
            inp,
            r,
            c,
            log,
        } => be.outs("Softmax", [out], |dev, t, [o]| {
            k::softmax_forward(dev, o, t.get("Softmax", inp)?, (r, c), log)
        }),
        Launch::SoftmaxBwd {
            dinp,
            dout,
            out,
            r,
            c,
            log,
        } => {
            let op = "SoftmaxBwd";
            be.outs(op, [dinp], |dev, t, [o]| {
                k::softmax_backward(dev, o, t.get(op, dout)?, t.get(op, out)?, (r, c), log)
            })
        }
        Launch::Cols {
            wide,
            narrow,
            r,
            c_wide,
            c_narrow,
            off,
            to_wide,
            add,
        } => {
            let dims = (r, c_wide, c_narrow);
            if to_wide {
                be.outs("Cols", [wide], |dev, t, [o]| {
                    k::cols_to_wide(dev, o, t.get("Cols", narrow)?, dims, off, add)
                })
            } else {
                be.outs("Cols", [narrow], |dev, t, [o]| {
                    k::cols_from_wide(dev, o, t.get("Cols", wide)?, dims, off, add)
                })
            }
        }
        Launch::Gather {
            out,
            table,
            idx,
            n,
            d,
            stride,
            off,
        } => be.outs("Gather", [out], |dev, t, [o]| {
            let op = "Gather";
            let (table, idx) = (t.get(op, table)?, t.idx(op, idx, n)?);
            k::gather_forward_cols(dev, o, table, &idx, d, (stride, off))
        }),
        Launch::GatherBwd {
            dtable,
            dout,
            idx,
            n,
            d,
            stride,
            off,
        } => be.outs("GatherBwd", [dtable], |dev, t, [o]| {
            let op = "GatherBwd";
            let (dout, idx) = (t.get(op, dout)?, t.idx(op, idx, n)?);
            k::gather_backward_cols(dev, o, dout, &idx, d, (stride, off))
        }),
        Launch::EmbeddingBag {
            out,
            table,
            offsets,
            ids,
            n,
            d,
        } => {
            let op = "EmbeddingBag";
            be.outs(op, [out], |dev, t, [o]| {
                let (offsets, ids) = (t.idx(op, offsets, n + 1)?, t.idx_all(op, ids)?);
                k::embedding_bag_forward(dev, o, t.get(op, table)?, &offsets, &ids, d)
            })
        }
        Launch::EmbeddingBagBwd {
            dtable,
            dout,
            offsets,
            ids,
            n,
            d,
        } => {
            let op = "EmbeddingBagBwd";
            be.outs(op, [dtable], |dev, t, [o]| {
                let (offsets, ids) = (t.idx(op, offsets, n + 1)?, t.idx_all(op, ids)?);
                k::embedding_bag_backward(dev, o, t.get(op, dout)?, &offsets, &ids, d)
            })
        }
        Launch::Dropout { out, inp, mask } => be.outs("Dropout", [out], |dev, t, [o]| {
            k::dropout_forward(dev, o, t.get("Dropout", inp)?, t.get("Dropout", mask)?)
        }),
        Launch::DropoutBwd { dinp, dout, mask } => be.outs("DropoutBwd", [dinp], |dev, t, [o]| {
            let (dout, mask) = (t.get("DropoutBwd", dout)?, t.get("DropoutBwd", mask)?);
            k::dropout_backward(dev, o, dout, mask)
        }),
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
            let op = "LayerNorm";
            be.outs(op, [out, mean, rstd], |dev, t, [o, mu, rs]| {
                let (x, gamma, beta) = (t.get(op, x)?, t.get(op, gamma)?, t.get(op, beta)?);
                k::layer_norm_forward(dev, o, (mu, rs), x, (gamma, beta), (b, d), eps)
            })
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
            let op = "LayerNormBwd";
            be.opt_outs(op, [dx, dgamma, dbeta], |dev, t, [dx, dg, db]| {
                let (dout, x, gamma) = (t.get(op, dout)?, t.get(op, x)?, t.get(op, gamma)?);
                let (mean, rstd) = (t.get(op, mean)?, t.get(op, rstd)?);
                // The kernel writes dγ and dβ together: a missing one goes to a scratch
                // buffer (one (D,) allocation; the lowering asks for both in practice).
                let mut scratch = match (&dg, &db) {
                    (Some(_), None) | (None, Some(_)) => Some(dev.zeros::<f32>(d.max(1))?),
                    _ => None,
                };
                let params = match (dg, db, scratch.as_mut()) {
                    (Some(g), Some(bt), _) => Some((g, bt)),
                    (Some(g), None, Some(s)) => Some((g, s)),
                    (None, Some(bt), Some(s)) => Some((s, bt)),
                    _ => None,
                };
                k::layer_norm_backward(dev, dx, params, dout, (x, gamma), (mean, rstd), (b, d))
            })
        }
        Launch::MatMul {
            out,
            a,
            b,
            m,
            k: kk,
            n,
            ta,
            tb,
            beta,
        } => be.outs("MatMul", [out], |dev, t, [o]| {
            let (a, b) = (t.get("MatMul", a)?, t.get("MatMul", b)?);
            k::matmul_forward(dev, o, a, b, k::Gemm::with(m, kk, n, ta, tb), beta)
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
            let op = "LinearAct";
            be.outs(op, [out, pre], |dev, t, [o, p]| {
                let (x, w, bias) = (t.get(op, x)?, t.get(op, w)?, t.get(op, bias)?);
                let shape = k::LinearShape {
                    b,
                    d_in,
                    d_out,
                    act: unary(f),
                };
                k::linear_act_forward(dev, o, p, x, w, bias, shape)
            })
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
            let op = "LinearActBwd";
            be.opt_outs(op, [Some(dpre), dbias], |dev, t, [dp, db]| {
                let dp = dp.ok_or_else(|| Error::Handle {
                    op,
                    message: "internal: the dpre buffer went missing".into(),
                })?;
                let (dout, pre, out) = (t.get(op, dout)?, t.get(op, pre)?, t.get(op, out)?);
                k::linear_act_backward_dpre(dev, dp, db, dout, (pre, out), (b, d_out), unary(f))
            })
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
            let op = "GateCombine";
            be.outs(op, [out, w], |dev, t, [o, w]| {
                k::gate_combine_forward(dev, o, w, t.get(op, x)?, t.get(op, z)?, (b, e, d))
            })
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
        } => {
            let op = "GateCombineBwd";
            be.opt_outs(op, [dx, dz], |dev, t, [dx, dz]| {
                let (dout, x, w) = (t.get(op, dout)?, t.get(op, x)?, t.get(op, w)?);
                k::gate_combine_backward(dev, dx, dz, dout, x, w, (b, e, d))
            })
        }
        Launch::LogitProduct { out, a, b, n } => be.outs("LogitProduct", [out], |dev, t, [o]| {
            k::check_len("LogitProduct", "out", o.len(), n)?;
            let (a, b) = (t.get("LogitProduct", a)?, t.get("LogitProduct", b)?);
            k::logit_product_forward(dev, o, a, b)
        }),
        Launch::LogitProductBwd {
            da,
            db,
            dy,
            a,
            b,
            n,
        } => {
            let op = "LogitProductBwd";
            be.opt_outs(op, [da, db], |dev, t, [da, db]| {
                let (dy, a, b) = (t.get(op, dy)?, t.get(op, a)?, t.get(op, b)?);
                k::check_len(op, "dy", dy.len(), n)?;
                k::logit_product_backward(dev, da, db, dy, a, b)
            })
        }
        Launch::Loss {
            kind,
            loss,
            p,
            y,
            coef,
            b,
            c,
        } => be.outs("Loss", [loss], |dev, t, [o]| {
            let op = "Loss";
            let (p, y, coef) = (t.get(op, p)?, t.get(op, y)?, t.get(op, coef)?);
            k::loss_forward(dev, point_loss(kind), o, p, (y, coef), (b, c))
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
        } => {
            let op = "LossBwd";
            be.outs(op, [dp], |dev, t, [o]| {
                let (dl, p) = (t.get(op, dl)?, t.get(op, p)?);
                let (y, coef) = (t.get(op, y)?, t.get(op, coef)?);
                k::loss_backward(dev, point_loss(kind), o, dl, p, (y, coef), (b, c))
            })
        }
        Launch::Adam {
            theta,
            g,
            m,
            v,
            cfg,
            lr,
            t: step,
        } => be.outs("Adam", [theta, m, v], |dev, t, [th, m, v]| {
            k::adam_step(dev, th, t.get("Adam", g)?, (m, v), (&cfg, lr, step))
        }),
        Launch::SumSq { sq, k, x, rows, d } => {
            let op = "SumSq";
            be.outs(op, [sq], |dev, t, [o]| {
                let rows = rows.map(|r| t.idx_all(op, r)).transpose()?;
                k::sum_sq(dev, o, k, t.get(op, x)?, rows.as_ref(), d)
            })
        }
        Launch::ClipScale {
            x,
            rows,
            d,
            sq,
            k,
            c,
        } => {
            let op = "ClipScale";
            be.outs(op, [x], |dev, t, [o]| {
                let rows = rows.map(|r| t.idx_all(op, r)).transpose()?;
                k::clip_scale(dev, o, rows.as_ref(), d, t.get(op, sq)?, k, c)
            })
        }
        Launch::Sgd {
            theta,
            g,
            v,
            cfg,
            lr,
        } => be.outs("Sgd", [theta, v], |dev, t, [th, v]| {
            k::sgd_step(dev, th, t.get("Sgd", g)?, v, &cfg, lr)
        }),
        Launch::SgdRows {
            theta,
            g,
            v,
            rows,
            d,
            cfg,
            lr,
        } => {
            let op = "SgdRows";
            be.outs(op, [theta, g, v], |dev, t, [th, g, v]| {
                let rows = t.idx_all(op, rows)?;
                k::sgd_rows_step(dev, th, g, v, &rows, d, (&cfg, lr))
            })
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
            t: step,
        } => {
            let op = "AdamRows";
            be.outs(op, [theta, g, m, v], |dev, t, [th, g, m, v]| {
                let rows = t.idx_all(op, rows)?;
                k::adam_rows_step(dev, th, g, (m, v), &rows, d, (&cfg, lr, step))
            })
        }
    }
}
