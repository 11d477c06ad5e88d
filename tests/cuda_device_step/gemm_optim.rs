//! Cases: SGEMM (every transpose, β = 0 and 1, tiles cut ragged), the fused linear layer,
//! losses, dense and row-sparse Adam and SGD, gradient clipping.

use super::cuda_support::rand_vec;
use super::{case, rv, Case, C, N, R, V};
use mtrec::autograd::UnaryFn;
use mtrec::device::{Launch, PointLoss};
use mtrec::optim::{AdamConfig, SgdConfig};
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::seq::SliceRandom;
use ndarray_rand::rand::Rng;

pub(super) fn cases(rng: &mut StdRng, cases: &mut Vec<Case>) {
    for (m, k, n) in [(R, C, N), (130, 70, 129)] {
        for (ta, tb, beta) in [
            (false, false, 1.0),
            (true, false, 0.0),
            (false, true, 1.0),
            (true, true, 0.0),
        ] {
            let bufs = vec![rv(rng, m * k), rv(rng, k * n), rv(rng, m * n)];
            let name = format!("MatMul ({m}, {k}, {n}) ta={ta} tb={tb} beta={beta}");
            cases.push(case(
                name,
                bufs,
                vec![],
                (1e-5 * (k as f32).sqrt(), 1e-4),
                move |b, _| {
                    vec![Launch::MatMul {
                        out: b[2],
                        a: b[0],
                        b: b[1],
                        m,
                        k,
                        n,
                        ta,
                        tb,
                        beta,
                    }]
                },
            ));
        }
    }
    let acts = [
        None,
        Some(UnaryFn::Relu),
        Some(UnaryFn::Sigmoid),
        Some(UnaryFn::Tanh),
        Some(UnaryFn::Gelu),
        Some(UnaryFn::Exp),
    ];
    for (f, with_dbias) in acts.into_iter().map(|f| (f, true)).chain([(None, false)]) {
        let (d_in, d_out) = (C, N);
        let mut bufs = vec![
            rv(rng, R * d_in),
            rand_vec(rng, d_in * d_out, -0.5, 0.5),
            rv(rng, d_out),
        ];
        bufs.extend([
            rv(rng, R * d_out),
            rv(rng, R * d_out),
            rv(rng, R * d_out),
            rv(rng, d_out),
            rv(rng, R * d_out),
        ]);
        let name = format!("LinearAct {f:?} dbias={with_dbias}");
        cases.push(case(name, bufs, vec![], (1e-5, 1e-4), move |b, _| {
            let (out, pre, b_) = (b[3], b[4], R);
            vec![
                Launch::LinearAct {
                    out,
                    pre,
                    x: b[0],
                    w: b[1],
                    bias: b[2],
                    b: b_,
                    d_in,
                    d_out,
                    f,
                },
                Launch::LinearActBwd {
                    dpre: b[5],
                    dbias: with_dbias.then_some(b[6]),
                    dout: b[7],
                    pre,
                    out,
                    b: b_,
                    d_out,
                    f,
                },
            ]
        }));
    }
    for kind in [PointLoss::Mse, PointLoss::Bce] {
        let c = 3;
        let y = (0..R * c)
            .map(|_| if rng.gen_bool(0.3) { 1.0 } else { 0.0 })
            .collect();
        let p = rand_vec(rng, R * c, -4.0, 4.0);
        let bufs = vec![
            p,
            y,
            rand_vec(rng, R, 0.0, 1.0),
            vec![0.5],
            rv(rng, R * c),
            vec![0.7],
        ];
        cases.push(case(
            format!("Loss {kind:?}"),
            bufs,
            vec![],
            (1e-6, 1e-5),
            move |b, _| {
                let (p, y, coef, b_) = (b[0], b[1], b[2], R);
                vec![
                    Launch::Loss {
                        kind,
                        loss: b[3],
                        p,
                        y,
                        coef,
                        b: b_,
                        c,
                    },
                    Launch::LossBwd {
                        kind,
                        dp: b[4],
                        dl: b[5],
                        p,
                        y,
                        coef,
                        b: b_,
                        c,
                    },
                ]
            },
        ));
    }
    let l2 = AdamConfig {
        weight_decay: 1e-2,
        ..AdamConfig::default()
    };
    for cfg in [AdamConfig::default(), l2, AdamConfig::adamw(1e-2)] {
        for t in [1, 7] {
            let (lr, n) = (1e-2, R * C);
            let moments =
                |rng: &mut StdRng| [rand_vec(rng, n, -0.1, 0.1), rand_vec(rng, n, 0.0, 0.01)];
            let bufs = [vec![rv(rng, n), rv(rng, n)], moments(rng).to_vec()].concat();
            let name = format!("Adam {cfg:?} t={t}");
            cases.push(case(name, bufs, vec![], (1e-6, 1e-5), move |b, _| {
                vec![Launch::Adam {
                    theta: b[0],
                    g: b[1],
                    m: b[2],
                    v: b[3],
                    cfg,
                    lr,
                    t,
                }]
            }));
            let mut rows: Vec<u32> = (0..V as u32).collect();
            rows.shuffle(rng);
            rows.truncate(20);
            let (n, width) = (V * C, C);
            let bufs = vec![
                rv(rng, n),
                rv(rng, n),
                rand_vec(rng, n, -0.1, 0.1),
                rand_vec(rng, n, 0.0, 0.01),
            ];
            let name = format!("AdamRows {cfg:?} t={t}");
            cases.push(case(name, bufs, vec![rows], (1e-6, 1e-5), move |b, i| {
                let (theta, g, m, v, rows) = (b[0], b[1], b[2], b[3], i[0]);
                vec![Launch::AdamRows {
                    theta,
                    g,
                    m,
                    v,
                    rows,
                    width,
                    cfg,
                    lr,
                    t,
                }]
            }));
        }
    }
    // Gradient clipping: Σ g² over a dense block and a table's listed rows into a slot
    // of sq, then the scaling of both, once clipping (c small) and once not (c large).
    for c in [0.5f32, 1e6] {
        let mut rows: Vec<u32> = (0..V as u32).collect();
        rows.shuffle(rng);
        rows.truncate(17);
        let bufs = vec![rand_vec(rng, 2, 0.0, 0.1), rv(rng, R * C), rv(rng, V * C)];
        let name = format!("SumSq + ClipScale, c = {c}");
        cases.push(case(name, bufs, vec![rows], (1e-5, 1e-5), move |b, i| {
            let (sq, dense, table, rows) = (b[0], b[1], b[2], i[0]);
            let (k, width) = (1, C);
            vec![
                Launch::SumSq {
                    sq,
                    k,
                    x: dense,
                    rows: None,
                    width: 1,
                },
                Launch::SumSq {
                    sq,
                    k,
                    x: table,
                    rows: Some(rows),
                    width,
                },
                Launch::ClipScale {
                    x: dense,
                    rows: None,
                    width: 1,
                    sq,
                    k,
                    c,
                },
                Launch::ClipScale {
                    x: table,
                    rows: Some(rows),
                    width,
                    sq,
                    k,
                    c,
                },
            ]
        }));
    }
    // SGD: plain, momentum, Nesterov with weight decay; dense and on listed table rows
    let nesterov = SgdConfig {
        momentum: 0.9,
        nesterov: true,
        weight_decay: 1e-2,
    };
    let momentum = SgdConfig {
        momentum: 0.9,
        ..SgdConfig::default()
    };
    for cfg in [SgdConfig::default(), momentum, nesterov] {
        let lr = 0.05;
        let bufs = vec![rv(rng, R * C), rv(rng, R * C), rv(rng, R * C)];
        cases.push(case(
            format!("Sgd {cfg:?}"),
            bufs,
            vec![],
            (1e-6, 1e-5),
            move |b, _| {
                vec![Launch::Sgd {
                    theta: b[0],
                    g: b[1],
                    v: b[2],
                    cfg,
                    lr,
                }]
            },
        ));
        let mut rows: Vec<u32> = (0..V as u32).collect();
        rows.shuffle(rng);
        rows.truncate(20);
        let bufs = vec![rv(rng, V * C), rv(rng, V * C), rv(rng, V * C)];
        let name = format!("SgdRows {cfg:?}");
        cases.push(case(name, bufs, vec![rows], (1e-6, 1e-5), move |b, i| {
            vec![Launch::SgdRows {
                theta: b[0],
                g: b[1],
                v: b[2],
                rows: i[0],
                width: C,
                cfg,
                lr,
            }]
        }));
    }
}
