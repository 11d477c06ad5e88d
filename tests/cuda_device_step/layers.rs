//! Cases: gather and embedding bags (repeated ids, empty bags), layer norm, gate, logit
//! product.

use super::cuda_support::rand_vec;
use super::{case, rv, Case, C, R, V};
use mtrec::device::{Buf, Launch};
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::Rng;

pub(super) fn cases(rng: &mut StdRng, cases: &mut Vec<Case>) {
    let width = C;
    let ids: Vec<u32> = (0..R).map(|_| rng.gen_range(0..V as u32)).collect();
    // a plain gather (stride = width) and one into columns 3..3+width of a wider buffer
    for (stride, off) in [(width, 0), (width + 7, 3)] {
        let bufs = vec![
            rv(rng, V * width),
            rv(rng, R * stride),
            rv(rng, V * width),
            rv(rng, R * stride),
        ];
        let name = format!("Gather stride={stride} off={off}");
        let ids = ids.clone();
        cases.push(case(name, bufs, vec![ids], (1e-6, 1e-5), move |b, i| {
            vec![
                Launch::Gather {
                    out: b[1],
                    table: b[0],
                    idx: i[0],
                    n: R,
                    width,
                    stride,
                    off,
                },
                Launch::GatherBwd {
                    dtable: b[2],
                    dout: b[3],
                    idx: i[0],
                    n: R,
                    width,
                    stride,
                    off,
                },
            ]
        }));
    }
    for (n, max_bag) in [(R, 4u32), (3, 0)] {
        let mut offsets = vec![0u32];
        for _ in 0..n {
            offsets.push(offsets[offsets.len() - 1] + rng.gen_range(0..=max_bag));
        }
        let ids = (0..offsets[n])
            .map(|_| rng.gen_range(0..V as u32))
            .collect();
        let bufs = vec![
            rv(rng, V * width),
            rv(rng, n * width),
            rv(rng, V * width),
            rv(rng, n * width),
        ];
        let name = format!("EmbeddingBag n={n} bags of 0..={max_bag}");
        cases.push(case(
            name,
            bufs,
            vec![offsets, ids],
            (1e-6, 1e-5),
            move |b, i| {
                let (offsets, ids) = (i[0], i[1]);
                vec![
                    Launch::EmbeddingBag {
                        out: b[1],
                        table: b[0],
                        offsets,
                        ids,
                        n,
                        width,
                    },
                    Launch::EmbeddingBagBwd {
                        dtable: b[2],
                        dout: b[3],
                        offsets,
                        ids,
                        n,
                        width,
                    },
                ]
            },
        ));
    }
    for (want_dx, want_dg, want_db) in [
        (true, true, true),
        (true, false, false),
        (false, true, false),
        (false, false, true),
    ] {
        let x = rand_vec(rng, R * width, -2.0, 2.0);
        let mut bufs = vec![
            x,
            rand_vec(rng, width, 0.5, 1.5),
            rv(rng, width),
            rv(rng, R * width),
        ];
        bufs.extend([
            rv(rng, R),
            rv(rng, R),
            rv(rng, R * width),
            rv(rng, width),
            rv(rng, width),
            rv(rng, R * width),
        ]);
        let name = format!("LayerNorm dx={want_dx} dgamma={want_dg} dbeta={want_db}");
        cases.push(case(name, bufs, vec![], (1e-5, 1e-4), move |b, _| {
            let (x, gamma, mean, rstd) = (b[0], b[1], b[4], b[5]);
            let some = |want: bool, buf: Buf| want.then_some(buf);
            vec![
                Launch::LayerNorm {
                    out: b[3],
                    mean,
                    rstd,
                    x,
                    gamma,
                    beta: b[2],
                    b: R,
                    width,
                    eps: 1e-5,
                },
                Launch::LayerNormBwd {
                    dx: some(want_dx, b[6]),
                    dgamma: some(want_dg, b[7]),
                    dbeta: some(want_db, b[8]),
                    dout: b[9],
                    x,
                    gamma,
                    mean,
                    rstd,
                    b: R,
                    width,
                },
            ]
        }));
    }
    let e = 3;
    for (want_dx, want_dz) in [(true, true), (true, false), (false, true)] {
        let mut bufs = vec![
            rv(rng, R * e * width),
            rand_vec(rng, R * e, -3.0, 3.0),
            rv(rng, R * width),
        ];
        bufs.extend([
            rv(rng, R * e),
            rv(rng, R * e * width),
            rv(rng, R * e),
            rv(rng, R * width),
        ]);
        let name = format!("GateCombine dx={want_dx} dz={want_dz}");
        cases.push(case(name, bufs, vec![], (1e-5, 1e-4), move |b, _| {
            let (x, w, b_) = (b[0], b[3], R);
            vec![
                Launch::GateCombine {
                    out: b[2],
                    w,
                    x,
                    z: b[1],
                    b: b_,
                    e,
                    width,
                },
                Launch::GateCombineBwd {
                    dx: want_dx.then_some(b[4]),
                    dz: want_dz.then_some(b[5]),
                    dout: b[6],
                    x,
                    w,
                    b: b_,
                    e,
                    width,
                },
            ]
        }));
    }
    let n = R * C;
    for (want_da, want_db) in [(true, true), (true, false), (false, true)] {
        // logits up to ±20: the product's logit must stay finite and accurate
        let (a, b) = (rand_vec(rng, n, -20.0, 20.0), rand_vec(rng, n, -20.0, 20.0));
        let bufs = vec![a, b, rv(rng, n), rv(rng, n), rv(rng, n), rv(rng, n)];
        let name = format!("LogitProduct da={want_da} db={want_db}");
        cases.push(case(name, bufs, vec![], (1e-6, 1e-5), move |b, _| {
            let (a, b_) = (b[0], b[1]);
            vec![
                Launch::LogitProduct {
                    out: b[2],
                    a,
                    b: b_,
                    n,
                },
                Launch::LogitProductBwd {
                    da: want_da.then_some(b[3]),
                    db: want_db.then_some(b[4]),
                    dy: b[5],
                    a,
                    b: b_,
                    n,
                },
            ]
        }));
    }
}
