//! GPU kernels against their CPU twins, continued (see tests/cuda_parity.rs for the
//! method): the tiled SGEMM in all transpose cases, the fused linear layer against the
//! composition of CPU ops, embedding gather / bag with their scatter-add backward, and the
//! gate combine. Every test is `#[ignore = "needs a CUDA GPU"]`.
#![cfg(feature = "cuda")]

mod cuda_support;

use cuda_support::*;
use mtrec::autograd::{Axis, ParamStore, UnaryFn};
use mtrec::device::cuda::kernels::{self as k, UnaryKind};
use mtrec::ops;
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::{Rng, SeedableRng};

/// (M, K, N): one element, ragged in every dimension, exact tiles, tall and wide.
const GEMM_SHAPES: &[(usize, usize, usize)] = &[
    (1, 1, 1),
    (3, 5, 7),
    (1, 300, 1),
    (129, 65, 257),
    (128, 128, 128),
    (256, 8, 384),
    (1000, 33, 2),
    (2, 70, 1000),
];

#[test]
#[ignore = "needs a CUDA GPU"]
fn matmul_all_transposes_fwd_bwd() {
    let dev = dev();
    let mut rng = StdRng::seed_from_u64(7);
    for &(m, kk, n) in GEMM_SHAPES {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = rand_vec(&mut rng, m * kk, -1.0, 1.0);
            let b = rand_vec(&mut rng, kk * n, -1.0, 1.0);
            let c0 = rand_vec(&mut rng, m * n, -1.0, 1.0);
            let dc = rand_vec(&mut rng, m * n, -1.0, 1.0);
            let mut c = c0.clone();
            ops::gemm::gemm_accumulate(
                &mut c,
                &a,
                &b,
                k::Gemm::new(m, kk, n).trans_a(ta).trans_b(tb),
            );
            let (mut da, mut db) = (vec![0.1; m * kk], vec![0.2; kk * n]);
            ops::matmul::matmul_backward(
                Some(&mut da),
                Some(&mut db),
                &dc,
                &a,
                &b,
                k::Gemm::new(m, kk, n).trans_a(ta).trans_b(tb),
            );

            let (ga, gb, gdc) = (up(&dev, &a), up(&dev, &b), up(&dev, &dc));
            let mut gc = up(&dev, &c0);
            let gemm = k::Gemm::new(m, kk, n).trans_a(ta).trans_b(tb);
            k::matmul_forward(&dev, &mut gc, &ga, &gb, gemm, 1.0).unwrap();
            let mut gc0 = up(&dev, &vec![f32::NAN; m * n]);
            k::matmul_forward(&dev, &mut gc0, &ga, &gb, gemm, 0.0).unwrap();
            let (mut gda, mut gdb) = (up(&dev, &vec![0.1; m * kk]), up(&dev, &vec![0.2; kk * n]));
            k::matmul_backward(&dev, Some(&mut gda), Some(&mut gdb), &gdc, &ga, &gb, gemm).unwrap();
            let what = format!("matmul ({m}, {kk}, {n}) ta={ta} tb={tb}");
            let tol = 1e-5 * (kk as f32).sqrt().max(1.0);
            assert_close(&format!("{what} C += AB"), &down(&dev, &gc), &c, tol, 1e-4);
            let fresh: Vec<f32> = c.iter().zip(&c0).map(|(c, c0)| c - c0).collect();
            assert_close(
                &format!("{what} C = AB (beta 0 over NaN)"),
                &down(&dev, &gc0),
                &fresh,
                2.0 * tol,
                1e-4,
            );
            let tol_b = 1e-5 * ((m.max(n)) as f32).sqrt().max(1.0);
            assert_close(&format!("{what} dA"), &down(&dev, &gda), &da, tol_b, 1e-4);
            assert_close(&format!("{what} dB"), &down(&dev, &gdb), &db, tol_b, 1e-4);
        }
    }
}

#[test]
#[ignore = "needs a CUDA GPU"]
fn linear_act_fwd_bwd_against_the_composition() {
    let dev = dev();
    let mut rng = StdRng::seed_from_u64(8);
    let kinds: Vec<Option<UnaryFn>> = vec![
        None,
        Some(UnaryFn::Relu),
        Some(UnaryFn::Sigmoid),
        Some(UnaryFn::Tanh),
        Some(UnaryFn::Gelu),
    ];
    for f in kinds {
        for &(b, d_in, d_out) in &[(1, 1, 1), (3, 5, 7), (130, 40, 129), (256, 64, 1)] {
            let x = rand_vec(&mut rng, b * d_in, -1.0, 1.0);
            let w = rand_vec(&mut rng, d_in * d_out, -1.0, 1.0);
            let bias = rand_vec(&mut rng, d_out, -0.5, 0.5);
            let dy = rand_vec(&mut rng, b * d_out, -1.0, 1.0);
            // CPU: pre = x·W + 1·b; y = f(pre)
            let mut xw = vec![0.0; b * d_out];
            ops::gemm::gemm_accumulate(&mut xw, &x, &w, k::Gemm::new(b, d_in, d_out));
            let mut pre = vec![0.0; b * d_out];
            ops::broadcast::add_forward(&mut pre, &xw, &bias, b, d_out, 1, d_out);
            let mut y = pre.clone();
            let mut dpre = dy.clone();
            if let Some(f) = f {
                ops::unary::unary_forward(&mut y, &pre, f);
                dpre = vec![0.0; b * d_out];
                ops::unary::unary_backward(&mut dpre, &dy, &pre, &y, f);
            }
            let mut dbias = vec![0.0; d_out];
            ops::reduce::reduce_forward(&mut dbias, &dpre, b, d_out, Axis::Cols, 1.0);
            let (mut dx, mut dw) = (vec![0.0; b * d_in], vec![0.0; d_in * d_out]);
            ops::matmul::matmul_backward(
                Some(&mut dx),
                Some(&mut dw),
                &dpre,
                &x,
                &w,
                k::Gemm::new(b, d_in, d_out),
            );

            let kind = f.map(UnaryKind::from).unwrap_or(UnaryKind::Identity);
            let shape = k::LinearShape {
                b,
                d_in,
                d_out,
                act: kind,
            };
            let (gx, gw, gbias, gdy) = (up(&dev, &x), up(&dev, &w), up(&dev, &bias), up(&dev, &dy));
            let (mut gy, mut gpre) = (dev.zeros(b * d_out).unwrap(), dev.zeros(b * d_out).unwrap());
            k::linear_act_forward(&dev, &mut gy, &mut gpre, &gx, &gw, &gbias, shape).unwrap();
            let (mut gdx, mut gdw, mut gdb, mut gdpre) = (
                dev.zeros(b * d_in).unwrap(),
                dev.zeros(d_in * d_out).unwrap(),
                dev.zeros(d_out).unwrap(),
                dev.zeros(b * d_out).unwrap(),
            );
            k::linear_act_backward(
                &dev,
                k::LinearGrads {
                    dx: Some(&mut gdx),
                    dw: &mut gdw,
                    dbias: &mut gdb,
                    dpre: &mut gdpre,
                },
                &gdy,
                (&gx, &gw),
                (&gpre, &gy),
                shape,
            )
            .unwrap();
            let what = format!("linear_act {kind:?} ({b}, {d_in}, {d_out})");
            assert_close(&format!("{what} pre"), &down(&dev, &gpre), &pre, 1e-4, 1e-4);
            assert_close(&format!("{what} y"), &down(&dev, &gy), &y, 1e-4, 1e-4);
            assert_close(
                &format!("{what} dbias"),
                &down(&dev, &gdb),
                &dbias,
                1e-4,
                1e-4,
            );
            assert_close(&format!("{what} dx"), &down(&dev, &gdx), &dx, 1e-4, 1e-4);
            assert_close(&format!("{what} dW"), &down(&dev, &gdw), &dw, 1e-4, 1e-4);
        }
    }
}

/// A (V, D) table's gradient from the CPU's row-sparse form, dense.
fn dense_table_grad(store: &ParamStore, id: mtrec::autograd::ParamId) -> Vec<f32> {
    store.grad_to_vec(id)
}

#[test]
#[ignore = "needs a CUDA GPU"]
fn gather_and_embedding_bag_fwd_bwd() {
    let dev = dev();
    let mut rng = StdRng::seed_from_u64(9);
    for &(v, d, b) in &[(1, 1, 1), (5, 3, 17), (100, 16, 300), (7, 33, 1000)] {
        let table = rand_vec(&mut rng, v * d, -1.0, 1.0);
        let idx: Vec<u32> = (0..b).map(|_| rng.gen_range(0..v as u32)).collect();
        let dy = rand_vec(&mut rng, b * d, -1.0, 1.0);
        // bags of 0..4 ids (empty bags included)
        let mut offsets = vec![0u32];
        let mut ids = Vec::new();
        for _ in 0..b {
            for _ in 0..rng.gen_range(0..4) {
                ids.push(rng.gen_range(0..v as u32));
            }
            offsets.push(ids.len() as u32);
        }
        if ids.is_empty() {
            // the driver cannot allocate an empty buffer: give the last bag one id
            ids.push(0);
            *offsets.last_mut().unwrap() = 1;
        }
        let mut store = ParamStore::new();
        let t = store.add_table("t", v, d, table.clone()).unwrap();
        let mut y = vec![0.0; b * d];
        ops::gather::gather_forward(&mut y, &table, &idx, d);
        ops::gather::gather_backward(store.sparse_grad_mut(t).unwrap(), &dy, &idx, d);
        let dt_gather = dense_table_grad(&store, t);
        store.zero_grad();
        let mut yb = vec![0.0; b * d];
        ops::embedding_bag::embedding_bag_forward(&mut yb, &table, &offsets, &ids, d);
        ops::embedding_bag::embedding_bag_backward(
            store.sparse_grad_mut(t).unwrap(),
            &dy,
            &offsets,
            &ids,
            d,
        );
        let dt_bag = dense_table_grad(&store, t);

        let (gt, gidx, gdy) = (up(&dev, &table), up_u32(&dev, &idx), up(&dev, &dy));
        let (goff, gids) = (up_u32(&dev, &offsets), up_u32(&dev, &ids));
        let mut gy = dev.zeros(b * d).unwrap();
        k::gather_forward(&dev, &mut gy, &gt, &gidx.as_view(), d).unwrap();
        let mut gdt = dev.zeros(v * d).unwrap();
        k::gather_backward(&dev, &mut gdt, &gdy, &gidx.as_view(), d).unwrap();
        let mut gyb = dev.zeros(b * d).unwrap();
        k::embedding_bag_forward(&dev, &mut gyb, &gt, &goff.as_view(), &gids.as_view(), d).unwrap();
        let mut gdtb = dev.zeros(v * d).unwrap();
        k::embedding_bag_backward(&dev, &mut gdtb, &gdy, &goff.as_view(), &gids.as_view(), d)
            .unwrap();
        let what = format!("V={v} D={d} B={b}");
        assert_close(
            &format!("gather forward {what}"),
            &down(&dev, &gy),
            &y,
            0.0,
            0.0,
        );
        // atomicAdd order differs from the CPU's: tolerance grows with hits per row
        assert_close(
            &format!("gather backward {what}"),
            &down(&dev, &gdt),
            &dt_gather,
            1e-4,
            1e-4,
        );
        assert_close(
            &format!("bag forward {what}"),
            &down(&dev, &gyb),
            &yb,
            1e-6,
            1e-5,
        );
        assert_close(
            &format!("bag backward {what}"),
            &down(&dev, &gdtb),
            &dt_bag,
            1e-4,
            1e-4,
        );
    }
}

#[test]
#[ignore = "needs a CUDA GPU"]
fn gate_combine_fwd_bwd() {
    let dev = dev();
    let mut rng = StdRng::seed_from_u64(10);
    for &(b, e, d) in &[
        (1, 1, 1),
        (3, 2, 5),
        (17, 4, 33),
        (300, 8, 64),
        (64, 3, 300),
    ] {
        let x = rand_vec(&mut rng, b * e * d, -1.0, 1.0);
        let z = rand_vec(&mut rng, b * e, -3.0, 3.0);
        let dy = rand_vec(&mut rng, b * d, -1.0, 1.0);
        let (mut y, mut w) = (vec![0.0; b * d], vec![0.0; b * e]);
        ops::gate::gate_combine_forward(&mut y, &mut w, &x, &z, b, e, d);
        let (mut dx, mut dz) = (vec![0.1; b * e * d], vec![0.2; b * e]);
        let shape = ops::gate::GateShape { b, e, width: d };
        ops::gate::gate_combine_backward(Some(&mut dx), Some(&mut dz), &dy, &x, &w, shape);

        let (gx, gz, gdy) = (up(&dev, &x), up(&dev, &z), up(&dev, &dy));
        let (mut gy, mut gw) = (dev.zeros(b * d).unwrap(), dev.zeros(b * e).unwrap());
        k::gate_combine_forward(&dev, &mut gy, &mut gw, &gx, &gz, (b, e, d)).unwrap();
        let (mut gdx, mut gdz) = (up(&dev, &vec![0.1; b * e * d]), up(&dev, &vec![0.2; b * e]));
        k::gate_combine_backward(
            &dev,
            Some(&mut gdx),
            Some(&mut gdz),
            &gdy,
            &gx,
            &gw,
            (b, e, d),
        )
        .unwrap();
        let what = format!("gate_combine ({b}, {e}, {d})");
        assert_close(&format!("{what} w"), &down(&dev, &gw), &w, 1e-6, 1e-5);
        assert_close(&format!("{what} y"), &down(&dev, &gy), &y, 1e-5, 1e-5);
        assert_close(&format!("{what} dx"), &down(&dev, &gdx), &dx, 1e-6, 1e-5);
        assert_close(&format!("{what} dz"), &down(&dev, &gdz), &dz, 1e-4, 1e-4);
    }
}
