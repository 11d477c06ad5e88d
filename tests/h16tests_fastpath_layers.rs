//! The fast paths of the layer ops against plain f64 references written from each op's
//! derivation, at shapes on both sides of every switch, forward and backward through the
//! graph, in a 4-thread pool (so the parallel paths are taken on any machine):
//!
//! - the fused linear layer `f(x·W + b)` for every activation, the identity and `Exp`
//!   included: B·D_out just below and at `PAR_MIN` = 2¹⁵ of `ops::linear_act` (the
//!   activation and `dz = dy ⊙ f′` sweeps split among threads), and past the GEMM's
//!   `PAR_MIN_MNK`;
//! - the gather's fixed-size copy for D = 8 beside D = 7 and 9, repeated ids;
//! - the column concatenation's fixed-size copy for parts 8 wide beside 7 and 9 wide;
//! - the gate: E = 64 (stack scratch) and 65 (heap scratch), B·E·D just below and at
//!   `PAR_MIN` = 2¹⁶ of `ops::gate`, and beyond with E > 64;
//! - softmax cross-entropy: B·V just below and at `PAR_MIN` = 2¹⁵ of `loss::softmax_ce`.
//!
//! Tolerance: `h16tests_fastpath_support` (relative 1e-4; a 1 % error fails).

mod h16tests_fastpath_support;

use h16tests_fastpath_support::*;
use mtrec::autograd::{Graph, ParamStore, UnaryFn};
use mtrec::loss::LossOpts;
use mtrec::ops::unary::erf;

// ------------------------------------------------------------------ fused linear layer

/// f(z) in f64 (`None`: the identity).
fn f(kind: Option<UnaryFn>, z: f64) -> f64 {
    match kind {
        None => z,
        Some(UnaryFn::Exp) => z.exp(),
        Some(UnaryFn::Log) => z.ln(),
        Some(UnaryFn::Relu) => z.max(0.0),
        Some(UnaryFn::Sigmoid) => 1.0 / (1.0 + (-z).exp()),
        Some(UnaryFn::Tanh) => z.tanh(),
        Some(UnaryFn::Gelu) => 0.5 * z * (1.0 + erf(z / std::f64::consts::SQRT_2)),
    }
}

/// f′(z) in f64; for ReLU the side of the kink is the op's own (`positive`: its y > 0),
/// since z rounded in f32 and in f64 can fall on different sides of 0.
fn df(kind: Option<UnaryFn>, z: f64, positive: bool) -> f64 {
    match kind {
        None => 1.0,
        Some(UnaryFn::Exp) => z.exp(),
        Some(UnaryFn::Log) => 1.0 / z,
        Some(UnaryFn::Relu) => f64::from(u8::from(positive)),
        Some(UnaryFn::Sigmoid) => {
            let s = 1.0 / (1.0 + (-z).exp());
            s * (1.0 - s)
        }
        Some(UnaryFn::Tanh) => 1.0 - z.tanh() * z.tanh(),
        Some(UnaryFn::Gelu) => {
            let cdf = 0.5 * (1.0 + erf(z / std::f64::consts::SQRT_2));
            let pdf = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
            cdf + z * pdf
        }
    }
}

fn linear_act_case(b: usize, d_in: usize, d_out: usize, kind: Option<UnaryFn>, seed: u64) {
    let label = format!("(B, D_in, D_out) = ({b}, {d_in}, {d_out}), f = {kind:?}");
    let mut rng = Lcg(seed);
    let x = rng.vec(b * d_in); // (B, D_in)
    let w = rng.scaled(d_in * d_out, 0.4); // (D_in, D_out)
    let bias = rng.scaled(d_out, 0.5); // (1, D_out)
    let dy = rng.vec(b * d_out); // (B, D_out)
    let mut store = ParamStore::new();
    let px = store.add_dense("x", b, d_in, x.clone()).unwrap();
    let pw = store.add_dense("w", d_in, d_out, w.clone()).unwrap();
    let pb = store.add_dense("b", 1, d_out, bias.clone()).unwrap();
    let mut g = Graph::new(0);
    let vx = g.param(&store, px).unwrap();
    let vw = g.param(&store, pw).unwrap();
    let vb = g.param(&store, pb).unwrap();
    let y = g.linear_act(vx, vw, vb, kind).unwrap();

    // z = x·W + b, y = f(z)
    let mut z = product(&x, &w, b, d_in, d_out, false, false);
    for (i, zi) in z.iter_mut().enumerate() {
        *zi += bias[i % d_out] as f64;
    }
    let want: Vec<f64> = z.iter().map(|&zi| f(kind, zi)).collect();
    assert_close(&format!("y for {label}"), g.value(y), &want);

    // dz = dy ⊙ f′(z); dx = dz·Wᵀ; dW = xᵀ·dz; db = Σ_i dz_i
    let dz: Vec<f64> = (0..b * d_out)
        .map(|i| dy[i] as f64 * df(kind, z[i], g.value(y)[i] > 0.0))
        .collect();
    let (mut dx, mut dw, mut db) = (
        vec![0f64; b * d_in],
        vec![0f64; d_in * d_out],
        vec![0f64; d_out],
    );
    for i in 0..b {
        for j in 0..d_out {
            let g = dz[i * d_out + j];
            db[j] += g;
            for p in 0..d_in {
                dx[i * d_in + p] += g * w[p * d_out + j] as f64;
                dw[p * d_out + j] += x[i * d_in + p] as f64 * g;
            }
        }
    }
    store.zero_grad();
    g.backward_with_grad(y, &dy, &mut store).unwrap();
    assert_close(&format!("dx for {label}"), &store.grad_to_vec(px), &dx);
    assert_close(&format!("dW for {label}"), &store.grad_to_vec(pw), &dw);
    assert_close(&format!("db for {label}"), &store.grad_to_vec(pb), &db);
}

#[test]
fn linear_act_every_activation_matches_the_reference_past_par_min() {
    let kinds = [
        None,
        Some(UnaryFn::Exp),
        Some(UnaryFn::Relu),
        Some(UnaryFn::Sigmoid),
        Some(UnaryFn::Tanh),
        Some(UnaryFn::Gelu),
    ];
    in_pool(4, || {
        // (B, D_in, D_out): small; B·D_out = 32 512 < PAR_MIN; = PAR_MIN; beyond it with
        // B·D_in·D_out past the GEMM's PAR_MIN_MNK.
        for (s, &(b, d_in, d_out)) in [(4, 5, 6), (256, 9, 127), (256, 9, 128), (300, 17, 130)]
            .iter()
            .enumerate()
        {
            for (k, &kind) in kinds.iter().enumerate() {
                linear_act_case(b, d_in, d_out, kind, 10 * s as u64 + k as u64 + 1);
            }
        }
    });
}

// ------------------------------------------------------------------ gather and concat

#[test]
fn gather_width_8_and_its_neighbours_match_the_reference() {
    for d in [7, 8, 9, 16] {
        let (v, b) = (13, 50);
        let mut rng = Lcg(d as u64);
        let table = rng.vec(v * d); // (V, D)
        let idx: Vec<u32> = (0..b).map(|i| ((i * 7 + i / 3) % v) as u32).collect(); // repeats
        let dy = rng.vec(b * d); // (B, D)
        let mut store = ParamStore::new();
        let t = store.add_table("t", v, d, table.clone()).unwrap();
        let mut g = Graph::new(0);
        let y = g.gather(&store, t, &idx).unwrap();
        let want: Vec<f64> = idx
            .iter()
            .flat_map(|&r| {
                table[r as usize * d..(r as usize + 1) * d]
                    .iter()
                    .map(|&x| x as f64)
            })
            .collect();
        assert_close(&format!("y for D = {d}"), g.value(y), &want);
        // dT_r = Σ_{b: idx_b = r} dy_b
        let mut dt = vec![0f64; v * d];
        for (bi, &r) in idx.iter().enumerate() {
            for c in 0..d {
                dt[r as usize * d + c] += dy[bi * d + c] as f64;
            }
        }
        store.zero_grad();
        g.backward_with_grad(y, &dy, &mut store).unwrap();
        assert_close(&format!("dT for D = {d}"), &store.grad_to_vec(t), &dt);
    }
}

#[test]
fn concat_of_8_wide_parts_and_their_neighbours_matches_the_reference() {
    let r = 11;
    let widths = [8, 7, 9];
    let mut rng = Lcg(5);
    let mut store = ParamStore::new();
    let values: Vec<Vec<f32>> = widths.iter().map(|&c| rng.vec(r * c)).collect();
    let ids: Vec<_> = widths
        .iter()
        .zip(&values)
        .enumerate()
        .map(|(i, (&c, v))| store.add_dense(&format!("p{i}"), r, c, v.clone()).unwrap())
        .collect();
    let mut g = Graph::new(0);
    let vars: Vec<_> = ids.iter().map(|&id| g.param(&store, id).unwrap()).collect();
    // [p0 | p1 | p0 | p2]: p0 (8 wide) twice, so its gradient adds two blocks.
    let order = [0, 1, 0, 2];
    let y = g.concat_cols(&order.map(|i| vars[i])).unwrap();
    let width: usize = order.iter().map(|&i| widths[i]).sum();
    let dy = rng.vec(r * width);
    let (mut want, mut grads) = (Vec::new(), vec![Vec::new(); 3]);
    for (i, &c) in widths.iter().enumerate() {
        grads[i] = vec![0f64; r * c];
    }
    for row in 0..r {
        let mut off = 0;
        for &i in &order {
            let c = widths[i];
            for col in 0..c {
                want.push(values[i][row * c + col] as f64);
                grads[i][row * c + col] += dy[row * width + off + col] as f64;
            }
            off += c;
        }
    }
    assert_close("concat y", g.value(y), &want);
    store.zero_grad();
    g.backward_with_grad(y, &dy, &mut store).unwrap();
    for (i, &id) in ids.iter().enumerate() {
        assert_close(&format!("d p{i}"), &store.grad_to_vec(id), &grads[i]);
    }
}

// ------------------------------------------------------------------ gate

/// The gate through the graph against the derivation in `ops::gate`:
/// `w = softmax(z)`, `y_d = Σ_e w_e X_e,d`, `dX_e,d = w_e dy_d`, `a_e = Σ_d dy_d X_e,d`,
/// `dz_e = w_e (a_e − Σ_e' w_e' a_e')`.
fn gate_case(b: usize, e: usize, d: usize, seed: u64) {
    let label = format!("(B, E, D) = ({b}, {e}, {d})");
    let mut rng = Lcg(seed);
    let x = rng.vec(b * e * d); // (B, E·D)
    let z = rng.scaled(b * e, 3.0); // (B, E)
    let dy = rng.vec(b * d); // (B, D)
    let mut store = ParamStore::new();
    let px = store.add_dense("x", b, e * d, x.clone()).unwrap();
    let pz = store.add_dense("z", b, e, z.clone()).unwrap();
    let mut g = Graph::new(0);
    let (vx, vz) = (g.param(&store, px).unwrap(), g.param(&store, pz).unwrap());
    let y = g.gate_combine(vx, vz).unwrap();
    let (mut ry, mut rdx, mut rdz) = (vec![0f64; b * d], vec![0f64; b * e * d], vec![0f64; b * e]);
    for i in 0..b {
        let zi = &z[i * e..(i + 1) * e];
        let m = zi.iter().fold(f64::MIN, |m, &v| m.max(v as f64));
        let s: f64 = zi.iter().map(|&v| (v as f64 - m).exp()).sum();
        let w: Vec<f64> = zi.iter().map(|&v| (v as f64 - m).exp() / s).collect();
        let mut a = vec![0f64; e];
        for k in 0..e {
            for j in 0..d {
                let xv = x[i * e * d + k * d + j] as f64;
                ry[i * d + j] += w[k] * xv;
                rdx[i * e * d + k * d + j] = w[k] * dy[i * d + j] as f64;
                a[k] += dy[i * d + j] as f64 * xv;
            }
        }
        let wa: f64 = (0..e).map(|k| w[k] * a[k]).sum();
        for k in 0..e {
            rdz[i * e + k] = w[k] * (a[k] - wa);
        }
    }
    assert_close(&format!("y for {label}"), g.value(y), &ry);
    store.zero_grad();
    g.backward_with_grad(y, &dy, &mut store).unwrap();
    assert_close(&format!("dX for {label}"), &store.grad_to_vec(px), &rdx);
    assert_close(&format!("dz for {label}"), &store.grad_to_vec(pz), &rdz);
}

#[test]
fn gate_matches_the_reference_past_e_64_and_par_min() {
    in_pool(4, || {
        // (B, E, D): small; E = 64 and 65 serial; B·E·D = 65 024 < PAR_MIN and = PAR_MIN
        // with E = 64; parallel with E = 65 and E = 100.
        let shapes = [
            (3, 3, 4),
            (5, 64, 3),
            (5, 65, 3),
            (127, 64, 8),
            (128, 64, 8),
            (300, 65, 8),
            (70, 100, 10),
        ];
        for (s, &(b, e, d)) in shapes.iter().enumerate() {
            gate_case(b, e, d, 40 + s as u64);
        }
    });
}

// ------------------------------------------------------------------ softmax cross-entropy

#[test]
fn softmax_cross_entropy_matches_the_reference_past_par_min() {
    in_pool(4, || {
        // (B, V): small; B·V = 32 704 < PAR_MIN; = PAR_MIN; beyond.
        for (s, &(b, v)) in [(3, 5), (64, 511), (64, 512), (100, 700)]
            .iter()
            .enumerate()
        {
            let label = format!("(B, V) = ({b}, {v})");
            let mut rng = Lcg(70 + s as u64);
            let z = rng.scaled(b * v, 3.0); // (B, V)
            let classes: Vec<u32> = (0..b).map(|i| ((i * 31 + 7) % v) as u32).collect();
            let mut store = ParamStore::new();
            let pz = store.add_dense("z", b, v, z.clone()).unwrap();
            let mut g = Graph::new(0);
            let vz = g.param(&store, pz).unwrap();
            let loss = g
                .softmax_cross_entropy(vz, &classes, LossOpts::default())
                .unwrap();
            // L = Σ_i c_i (lse_i − z_{i,y_i}), c_i = 1/B; ∂L/∂z_iv = c_i (p_iv − δ_{v,y_i})
            let c = 1.0 / b as f64;
            let (mut l, mut dz) = (0f64, vec![0f64; b * v]);
            for i in 0..b {
                let zi = &z[i * v..(i + 1) * v];
                let m = zi.iter().fold(f64::MIN, |m, &x| m.max(x as f64));
                let s: f64 = zi.iter().map(|&x| (x as f64 - m).exp()).sum();
                let y = classes[i] as usize;
                l += c * (m + s.ln() - zi[y] as f64);
                for j in 0..v {
                    let p = (zi[j] as f64 - m).exp() / s;
                    dz[i * v + j] = c * (p - f64::from(u8::from(j == y)));
                }
            }
            assert_close(&format!("L for {label}"), g.value(loss), &[l]);
            store.zero_grad();
            g.backward_with_grad(loss, &[1.0], &mut store).unwrap();
            assert_close(&format!("dz for {label}"), &store.grad_to_vec(pz), &dz);
        }
    });
}
