//! The int8 model end to end (`quant::quantize_in_place`, the path of a compressed run):
//! the first layer over the input layer's embeddings takes the factorised product of the
//! int8 tables and weights (no activation quantisation there), and dense scales are stored
//! as f16 so the MovieLens MMoE shape is ≥ 3.5× smaller.

#[path = "census_support/mod.rs"]
mod census_support;
use census_support::census_shaped;
use mtrec::autograd::{Graph, ParamStore};
use mtrec::models::{Mmoe, MmoeConfig, MultiTaskModel};
use mtrec::nn::Activation;
use mtrec::ops::embed_linear::EmbedLinearMode;
use mtrec::quant::file::Values;
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::SeedableRng;

/// Experts' output (B, E·D) of the census-shaped MMoE on its first batch.
fn experts_out(
    m: &census_support::CensusShaped,
    store: &ParamStore,
    mode: EmbedLinearMode,
) -> Vec<f32> {
    let mut g = Graph::new(0);
    g.set_training(false);
    g.set_embed_linear(mode);
    let x = m.input.forward(&mut g, store, &m.batches[0]).unwrap();
    let e = m.model.experts.forward(&mut g, store, x).unwrap();
    g.value(e).to_vec()
}

/// With int8 weights, the experts' first layer over the embeddings equals the plain f32
/// product of the dequantised tables and weights (T̂, Ŵ) up to f32 rounding: it is the
/// factorised product, not the integer GEMM (whose per-row activation quantisation is off
/// by up to half a step per input, orders of magnitude more than this tolerance).
#[test]
fn int8_first_layer_over_embeddings_is_the_factorised_product() {
    let mut q = census_shaped(20, 256, 1, 7).unwrap();
    mtrec::quant::quantize_in_place(&mut q.store).unwrap();
    // the same model with the dequantised values and no int8 matrices attached
    let mut d = census_shaped(20, 256, 1, 7).unwrap();
    for id in q.store.ids() {
        d.store.value_mut(id).copy_from_slice(q.store.value(id));
    }
    assert_eq!(d.store.num_int8(), 0);
    assert!(q.store.num_int8() > 0);
    let want = experts_out(&d, &d.store, EmbedLinearMode::Off); // f32 T̂ · Ŵ, plain GEMM
    let got = experts_out(&q, &q.store, EmbedLinearMode::Auto);
    // (since s8: the factorised product is precomputed per vocabulary row and kept in
    // i16, `ops::gemm_i8::partial`, whose derived bound F·s_j/2 replaces f32 rounding)
    let w = q.model.experts.first.w;
    let bound = q.store.int8(w).unwrap().partial.cached().unwrap().bound();
    let excess = |got: &[f32]| {
        got.iter()
            .zip(&want)
            .enumerate()
            .map(|(k, (a, b))| (a - b).abs() / (bound[k % bound.len()] + 1e-5 * (1.0 + b.abs())))
            .fold(0f32, f32::max)
    };
    let worst = excess(&got);
    assert!(
        worst <= 1.0,
        "int8 first layer differs from T̂·Ŵ by {worst} × its bound"
    );
    // with the factorisation off the int8 GEMM runs, and its activation quantisation
    // shows: the check above can tell the two apart
    let gemm = experts_out(&q, &q.store, EmbedLinearMode::Off);
    let gemm_worst = excess(&gemm);
    assert!(
        gemm_worst > 2.0,
        "the int8 GEMM matched T̂·Ŵ to {gemm_worst}"
    );
}

/// The whole int8 census MMoE stays close to the f32 one (probabilities within 0.02).
#[test]
fn int8_census_mmoe_scores_close_to_f32() {
    let f = census_shaped(20, 256, 1, 7).unwrap();
    let mut q = census_shaped(20, 256, 1, 7).unwrap();
    mtrec::quant::quantize_in_place(&mut q.store).unwrap();
    let score = |m: &census_support::CensusShaped| {
        let mut g = Graph::new(0);
        g.set_training(false);
        let x = m.input.forward(&mut g, &m.store, &m.batches[0]).unwrap();
        let outs = m.model.forward(&mut g, &m.store, x).unwrap();
        g.value(outs[0]).to_vec()
    };
    let (a, b) = (score(&f), score(&q));
    let sig = |z: f32| 1.0 / (1.0 + (-z).exp());
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (sig(*x) - sig(*y)).abs())
        .fold(0f32, f32::max);
    assert!(worst < 0.02, "int8 probabilities differ by {worst}");
}

/// Dense scales are stored as f16 (2 bytes per output column), and the weights are
/// quantised with the stored scale: the MovieLens MMoE shape (tables of 16-wide rows for
/// users and items, 8-wide for the rest, 8 experts of 64, towers of 32) is ≥ 3.5× smaller.
#[test]
fn movielens_mmoe_shape_is_at_least_3_5x_smaller() {
    let mut rng = StdRng::seed_from_u64(3);
    let mut store = ParamStore::new();
    // ml-100k-sized tables: 944 users, 1,683 items (16 wide), gender, occupation, genres
    // and age buckets (8 wide)
    for (name, rows, cols) in [
        ("input.emb.user_id", 944, 16),
        ("input.emb.item_id", 1683, 16),
        ("input.emb.gender", 3, 8),
        ("input.emb.occupation", 22, 8),
        ("input.emb.genres", 20, 8),
    ] {
        let v = (0..rows * cols)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 500.0)
            .collect();
        store.add_table(name, rows, cols, v).unwrap();
    }
    let cfg = MmoeConfig {
        d_in: 57,
        num_experts: 8,
        expert: vec![64],
        tower: vec![32],
        num_tasks: 2,
        activation: Activation::Relu,
        dropout: 0.0,
    };
    Mmoe::new(&mut store, &cfg, &mut rng).unwrap();
    let (tensors, dense, ..) = mtrec::quant::quantize_store(&store).unwrap();
    for e in &dense {
        let s = &tensors[&format!("{}#scale", e.name)];
        assert!(
            matches!(s.values, Values::F16(_)),
            "{}: scale not f16",
            e.name
        );
    }
    // the file as `mtrec compress` writes it (header and checksum included) against the
    // f32 values alone (a lower bound on model.safetensors)
    let dir = std::env::temp_dir().join(format!("s7int8_size_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.int8.safetensors");
    mtrec::quant::file::write(&path, &tensors).unwrap();
    let int8 = std::fs::metadata(&path).unwrap().len() as usize;
    std::fs::remove_dir_all(&dir).unwrap();
    let f32b = 4 * store.num_scalars();
    let ratio = f32b as f64 / int8 as f64;
    assert!(
        ratio >= 3.5,
        "{f32b} B → {int8} B is only {ratio:.3}× smaller"
    );
    // and the quantised store loads back: the f16 scale is the one the weights used
    let mut back = store.clone();
    mtrec::quant::quantize_in_place(&mut back).unwrap();
    for e in &dense {
        let id = back.ids().find(|&i| back.info(i).name == e.name).unwrap();
        let m = back.int8(id).unwrap();
        let w = store.value(id);
        for (k, (a, b)) in w.iter().zip(m.dequantize()).enumerate() {
            let s = m.scales[k % m.d_out];
            assert!(
                (a - b).abs() <= s / 2.0 + 1e-7,
                "{}[{k}]: {a} vs {b}",
                e.name
            );
        }
    }
}
