//! The factorised layer over gathered embeddings (`ops::embed_linear`,
//! `EmbedLinearMode::Always`) against a plain f64 reference of the layer it replaces,
//! `y = f(x·W + b)` with `x = [T_1[ids_1] | T_2[ids_2] | dense | numerics]`, forward and
//! every gradient (tables, dense part, weight, bias), at shapes on both sides of its
//! switches: layer widths n = 8 (the last narrow one: 8-column kernels) and 9 (the first
//! wide one), 32 (one full 32-column block) and 33; rows just below and at 2·`ROWS_MIN` =
//! 64 (the row kernels split among threads from there) and many more; the AVX2 + FMA
//! kernels where the CPU has them. In a 4-thread pool.
//!
//! Tolerance: `h16tests_fastpath_support` (relative 1e-4; a 1 % error fails).

mod h16tests_fastpath_support;

use h16tests_fastpath_support::*;
use mtrec::autograd::{Graph, OpKind, ParamStore, UnaryFn};
use mtrec::ops::embed_linear::EmbedLinearMode;

/// f(z) and f′(z) in f64; for ReLU the side of the kink is the op's own (`positive`).
fn f_df(kind: Option<UnaryFn>, z: f64, positive: bool) -> (f64, f64) {
    match kind {
        None => (z, 1.0),
        Some(UnaryFn::Exp) => (z.exp(), z.exp()),
        Some(UnaryFn::Tanh) => (z.tanh(), 1.0 - z.tanh() * z.tanh()),
        Some(UnaryFn::Relu) => (z.max(0.0), f64::from(u8::from(positive))),
        Some(other) => panic!("{other:?} is not drawn here"),
    }
}

fn case(rows: usize, n: usize, kind: Option<UnaryFn>, seed: u64) {
    let label = format!("rows {rows}, n {n}, f = {kind:?}");
    let (vocab, dims) = ([5usize, 9], [8usize, 3]); // few distinct ids: factorised
    let (d_dense, d_num) = (3, 2);
    let d_in = dims.iter().sum::<usize>() + d_dense + d_num;
    let mut rng = Lcg(seed);
    let tables: Vec<Vec<f32>> = vocab
        .iter()
        .zip(&dims)
        .map(|(&v, &d)| rng.vec(v * d))
        .collect();
    let ids: Vec<Vec<u32>> = vocab
        .iter()
        .enumerate()
        .map(|(f, &v)| {
            (0..rows)
                .map(|i| ((i * (3 + f) + i / 5) % v) as u32)
                .collect()
        })
        .collect();
    let dense = rng.vec(rows * d_dense); // (B, 3)
    let num = rng.vec(rows * d_num); // (B, 2)
    let w = rng.scaled(d_in * n, 0.3); // (D_in, n)
    let bias = rng.scaled(n, 0.5); // (1, n)
    let dy = rng.vec(rows * n); // (B, n)

    let mut store = ParamStore::new();
    let pt: Vec<_> = tables
        .iter()
        .enumerate()
        .map(|(f, t)| {
            store
                .add_table(&format!("t{f}"), vocab[f], dims[f], t.clone())
                .unwrap()
        })
        .collect();
    let pd = store
        .add_dense("dense", rows, d_dense, dense.clone())
        .unwrap();
    let pw = store.add_dense("w", d_in, n, w.clone()).unwrap();
    let pb = store.add_dense("b", 1, n, bias.clone()).unwrap();
    let mut g = Graph::new(0);
    g.set_embed_linear(EmbedLinearMode::Always);
    let mut parts: Vec<_> = pt
        .iter()
        .zip(&ids)
        .map(|(&t, i)| g.gather(&store, t, i).unwrap())
        .collect();
    parts.push(g.param(&store, pd).unwrap());
    parts.push(g.input_slice(rows, d_num, &num).unwrap());
    let x = g.concat_cols(&parts).unwrap();
    let (vw, vb) = (g.param(&store, pw).unwrap(), g.param(&store, pb).unwrap());
    let y = g.linear_act(x, vw, vb, kind).unwrap();
    assert_eq!(
        g.op_kind(y),
        Some(OpKind::EmbedLinear),
        "{label}: not factorised"
    );

    // x = [T_1[ids_1] | T_2[ids_2] | dense | numerics]   (B, D_in)
    let mut xr = vec![0f64; rows * d_in];
    for i in 0..rows {
        let mut off = 0;
        for (f, &d) in dims.iter().enumerate() {
            let r = ids[f][i] as usize;
            for c in 0..d {
                xr[i * d_in + off + c] = tables[f][r * d + c] as f64;
            }
            off += d;
        }
        for c in 0..d_dense {
            xr[i * d_in + off + c] = dense[i * d_dense + c] as f64;
        }
        for c in 0..d_num {
            xr[i * d_in + off + d_dense + c] = num[i * d_num + c] as f64;
        }
    }
    // z = x·W + b, y = f(z), dz = dy ⊙ f′(z), dx = dz·Wᵀ, dW = xᵀ·dz, db = Σ_i dz_i
    let (mut want, mut dz) = (vec![0f64; rows * n], vec![0f64; rows * n]);
    for i in 0..rows {
        for j in 0..n {
            let z = bias[j] as f64
                + (0..d_in)
                    .map(|p| xr[i * d_in + p] * w[p * n + j] as f64)
                    .sum::<f64>();
            let (fz, dfz) = f_df(kind, z, g.value(y)[i * n + j] > 0.0);
            want[i * n + j] = fz;
            dz[i * n + j] = dy[i * n + j] as f64 * dfz;
        }
    }
    assert_close(&format!("y for {label}"), g.value(y), &want);
    let (mut dx, mut dw, mut db) = (vec![0f64; rows * d_in], vec![0f64; d_in * n], vec![0f64; n]);
    for i in 0..rows {
        for j in 0..n {
            let gz = dz[i * n + j];
            db[j] += gz;
            for p in 0..d_in {
                dx[i * d_in + p] += gz * w[p * n + j] as f64;
                dw[p * n + j] += xr[i * d_in + p] * gz;
            }
        }
    }
    // the tables' rows receive the sum over the samples that looked them up
    let mut dt: Vec<Vec<f64>> = vocab
        .iter()
        .zip(&dims)
        .map(|(&v, &d)| vec![0f64; v * d])
        .collect();
    let mut ddense = vec![0f64; rows * d_dense];
    for i in 0..rows {
        let mut off = 0;
        for (f, &d) in dims.iter().enumerate() {
            let r = ids[f][i] as usize;
            for c in 0..d {
                dt[f][r * d + c] += dx[i * d_in + off + c];
            }
            off += d;
        }
        for c in 0..d_dense {
            ddense[i * d_dense + c] = dx[i * d_in + off + c];
        }
    }
    store.zero_grad();
    g.backward_with_grad(y, &dy, &mut store).unwrap();
    for (f, &t) in pt.iter().enumerate() {
        assert_close(&format!("dT{f} for {label}"), &store.grad_to_vec(t), &dt[f]);
    }
    assert_close(
        &format!("d dense for {label}"),
        &store.grad_to_vec(pd),
        &ddense,
    );
    assert_close(&format!("dW for {label}"), &store.grad_to_vec(pw), &dw);
    assert_close(&format!("db for {label}"), &store.grad_to_vec(pb), &db);
}

#[test]
fn factorised_layer_matches_the_reference_past_its_width_and_row_switches() {
    let kinds = [
        None,
        Some(UnaryFn::Exp),
        Some(UnaryFn::Tanh),
        Some(UnaryFn::Relu),
    ];
    in_pool(4, || {
        let mut seed = 1;
        for &rows in &[63, 64, 700] {
            for &n in &[8, 9, 32, 33] {
                for &kind in &kinds {
                    case(rows, n, kind, seed);
                    seed += 1;
                }
            }
        }
    });
}
