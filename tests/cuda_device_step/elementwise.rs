//! Cases: elementwise, broadcast, scale / axpy, reductions, softmax, column blocks, dropout.

use super::cuda_support::{rand_vec, UNARY};
use super::{case, rv, Case, C, R};
use mtrec::autograd::{Axis, UnaryFn};
use mtrec::device::{Bcast, BinOp, Launch};
use mtrec::ops::reduce::reduced_dims;
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::Rng;

pub(super) fn cases(rng: &mut StdRng, cases: &mut Vec<Case>) {
    let n = R * C;
    cases.push(case(
        "Fill",
        vec![rv(rng, n)],
        vec![],
        (0.0, 0.0),
        |b, _| {
            vec![Launch::Fill {
                out: b[0],
                value: 0.25,
            }]
        },
    ));
    for &f in UNARY {
        let x: Vec<f32> = match f {
            UnaryFn::Log => rand_vec(rng, n, 0.05, 3.0),
            _ => rand_vec(rng, n, -3.0, 3.0)
                .into_iter()
                .map(|v| if v.abs() < 0.01 { 0.5 } else { v }) // off the ReLU kink
                .collect(),
        };
        let bufs = vec![x, rv(rng, n), rv(rng, n), rv(rng, n)];
        cases.push(case(
            format!("Unary {f:?}"),
            bufs,
            vec![],
            (1e-6, 1e-5),
            move |b, _| {
                vec![
                    Launch::Unary {
                        out: b[1],
                        inp: b[0],
                        f,
                    },
                    Launch::UnaryBwd {
                        dinp: b[2],
                        dout: b[3],
                        inp: b[0],
                        out: b[1],
                        f,
                    },
                ]
            },
        ));
    }
    for op in [BinOp::Add, BinOp::Sub, BinOp::Mul] {
        for (br, bc) in [(R, C), (1, C), (R, 1), (1, 1)] {
            let s = Bcast { r: R, c: C, br, bc };
            let bufs = vec![rv(rng, n), rv(rng, br * bc), rv(rng, n), rv(rng, n)];
            let bufs = [bufs, vec![rv(rng, br * bc), rv(rng, n)]].concat();
            let name = format!("Binary {op:?} ({br}, {bc})");
            cases.push(case(name, bufs, vec![], (1e-5, 1e-4), move |b, _| {
                vec![
                    Launch::Binary {
                        out: b[2],
                        a: b[0],
                        b: b[1],
                        s,
                        op,
                    },
                    Launch::BinaryBwdA {
                        da: b[3],
                        dy: b[5],
                        b: b[1],
                        s,
                        op,
                    },
                    Launch::BinaryBwdB {
                        db: b[4],
                        dy: b[5],
                        a: b[0],
                        s,
                        op,
                    },
                ]
            }));
        }
    }
    let bufs = vec![
        rv(rng, n),
        rv(rng, n),
        rv(rng, n),
        rand_vec(rng, 3, 0.0, 2.0),
    ];
    cases.push(case(
        "Scale, Axpy, AxpyW",
        bufs,
        vec![],
        (1e-6, 1e-6),
        |b, _| {
            vec![
                Launch::Scale {
                    out: b[1],
                    inp: b[0],
                    c: -1.5,
                },
                Launch::Axpy {
                    y: b[1],
                    x: b[0],
                    c: 0.75,
                },
                Launch::AxpyW {
                    y: b[2],
                    x: b[0],
                    w: b[3],
                    k: 2,
                },
            ]
        },
    ));
    for axis in [Axis::All, Axis::Rows, Axis::Cols] {
        let (or, oc) = reduced_dims(R, C, axis);
        for s in [1.0, 1.0 / (n / (or * oc)) as f32] {
            let bufs = vec![rv(rng, n), rv(rng, or * oc), rv(rng, n), rv(rng, or * oc)];
            let name = format!("Reduce {axis:?} s={s}");
            cases.push(case(name, bufs, vec![], (1e-5, 1e-5), move |b, _| {
                vec![
                    Launch::Reduce {
                        out: b[1],
                        inp: b[0],
                        r: R,
                        c: C,
                        axis,
                        s,
                    },
                    Launch::ReduceBwd {
                        dinp: b[2],
                        dout: b[3],
                        r: R,
                        c: C,
                        axis,
                        s,
                    },
                ]
            }));
        }
    }
    for (r, c) in [(R, C), (3, 300)] {
        for log in [false, true] {
            let x = rand_vec(rng, r * c, -4.0, 4.0);
            let bufs = vec![x, rv(rng, r * c), rv(rng, r * c), rv(rng, r * c)];
            let name = format!("Softmax log={log} ({r}, {c})");
            cases.push(case(name, bufs, vec![], (1e-6, 1e-5), move |b, _| {
                vec![
                    Launch::Softmax {
                        out: b[1],
                        inp: b[0],
                        r,
                        c,
                        log,
                    },
                    Launch::SoftmaxBwd {
                        dinp: b[2],
                        dout: b[3],
                        out: b[1],
                        r,
                        c,
                        log,
                    },
                ]
            }));
        }
    }
    for (to_wide, add) in [(true, false), (true, true), (false, false), (false, true)] {
        let (c_wide, c_narrow, off) = (20, 7, 9);
        let bufs = vec![rv(rng, R * c_wide), rv(rng, R * c_narrow)];
        let name = format!("Cols to_wide={to_wide} add={add}");
        cases.push(case(name, bufs, vec![], (1e-7, 1e-7), move |b, _| {
            let (wide, narrow, r) = (b[0], b[1], R);
            vec![Launch::Cols {
                wide,
                narrow,
                r,
                c_wide,
                c_narrow,
                off,
                to_wide,
                add,
            }]
        }));
    }
    let mask = (0..n)
        .map(|_| if rng.gen_bool(0.3) { 0.0 } else { 1.0 / 0.7 })
        .collect();
    let bufs = vec![rv(rng, n), mask, rv(rng, n), rv(rng, n), rv(rng, n)];
    cases.push(case("Dropout", bufs, vec![], (1e-7, 1e-6), |b, _| {
        vec![
            Launch::Dropout {
                out: b[2],
                inp: b[0],
                mask: b[1],
            },
            Launch::DropoutBwd {
                dinp: b[3],
                dout: b[4],
                mask: b[1],
            },
        ]
    }));
}
