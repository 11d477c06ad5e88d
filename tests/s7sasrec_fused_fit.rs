//! SASRec trained with the fused next-item loss (`ops::catalogue_ce`, the default) against
//! the same run with the unfused reference (`SeqFitOptions::unfused_loss`): the same
//! metrics after one epoch to 4 decimals; one step's loss and every gradient to float
//! tolerance, with no (N, V) buffer held by the fused step.

use mtrec::autograd::{Graph, ParamStore};
use mtrec::data::sequences::{leave_last_out, SeqBatch, SeqData};
use mtrec::models::sasrec::SasRec;
use mtrec::train::seq::{
    fit, model_config, record_loss, SeqFitOptions, SeqInputs, SeqMetrics, SeqRunConfig,
};
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::{Rng, SeedableRng};

/// Users walk noisy paths through 60 items: the next item is usually the last one + 1.
fn data() -> SeqData {
    let mut rng = StdRng::seed_from_u64(3);
    let (users, items) = (90, 60);
    let seqs: Vec<Vec<String>> = (0..users)
        .map(|u| {
            let n = 4 + u % 9;
            let mut at = rng.gen_range(0..items);
            (0..n)
                .map(|_| {
                    at = if rng.gen::<f32>() < 0.7 {
                        (at + 1) % items
                    } else {
                        rng.gen_range(0..items)
                    };
                    format!("i{at:02}")
                })
                .collect()
        })
        .collect();
    let names = (0..users).map(|u| format!("u{u}")).collect();
    SeqData::from_raw("walks", names, seqs, None, 5).unwrap()
}

fn config() -> SeqRunConfig {
    let text = "[data]\ndataset = \"amazon-beauty\"\ndir = \"x\"\nmax_len = 10\n[model]\ndim = 16\nblocks = 2\nheads = 2\ndropout = 0.2\n[train]\nepochs = 1\nbatch_size = 16\nlr = 0.01\npatience = 0\nvalid_users = 0\n";
    SeqRunConfig::parse(text, "test config", &[]).unwrap()
}

fn round4(m: &SeqMetrics) -> [i64; 5] {
    [m.hr5, m.ndcg5, m.hr10, m.ndcg10, m.mrr].map(|x| (x * 1e4).round() as i64)
}

#[test]
fn one_epoch_fused_equals_unfused_to_four_decimals() {
    let data = data();
    let split = leave_last_out(&data).unwrap();
    let inputs = SeqInputs {
        data: &data,
        split: &split,
        text: None,
        text_dim: 0,
    };
    let cfg = config();
    let fused = fit(&cfg, &inputs, &SeqFitOptions::default()).unwrap();
    let unfused_opts = SeqFitOptions {
        unfused_loss: true,
        ..SeqFitOptions::default()
    };
    let unfused = fit(&cfg, &inputs, &unfused_opts).unwrap();
    assert_eq!(round4(&fused.valid), round4(&unfused.valid), "valid");
    assert_eq!(round4(&fused.test), round4(&unfused.test), "test");
    assert!(
        fused.test.hr10 > 0.0,
        "the fixture is learnable: {:?}",
        fused.test
    );
}

#[test]
fn a_fused_step_holds_no_rows_by_catalogue_buffer() {
    let data = data();
    let split = leave_last_out(&data).unwrap();
    let cfg = config();
    let mcfg = model_config(&cfg, &data, 0).unwrap();
    let mut store = ParamStore::new();
    let mut model = SasRec::new(&mut store, &mcfg, &mut StdRng::seed_from_u64(0)).unwrap();
    let ex: Vec<_> = split.train.iter().take(16).collect();
    let batch = SeqBatch::train(&ex, mcfg.max_len);
    let (mut losses, mut bytes, mut grads) = (Vec::new(), Vec::new(), Vec::new());
    for fused in [true, false] {
        model.set_fused_loss(fused);
        let mut g = Graph::new(1);
        let (total, _) = record_loss(&mut g, &store, &model, &cfg, &batch, None, None).unwrap();
        store.zero_grad();
        g.backward(total, &mut store).unwrap();
        losses.push(g.scalar(total));
        bytes.push(g.buffer_bytes());
        let all: Vec<Vec<f32>> = store.ids().map(|id| store.grad_to_vec(id)).collect();
        grads.push(all);
    }
    // every parameter's gradient agrees to float tolerance (scaled by its largest entry)
    for (a, b) in grads[0].iter().zip(&grads[1]) {
        let scale = b.iter().fold(1e-3f32, |m, x| m.max(x.abs()));
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= 1e-4 * scale, "{x} vs {y} (scale {scale})");
        }
    }
    assert!(
        (losses[0] - losses[1]).abs() <= 1e-5 * losses[1].abs(),
        "{losses:?}"
    );
    // the unfused step holds the logits, the probabilities and the logit gradients
    let (n, v) = (batch.targets.len(), mcfg.num_items);
    assert!(
        bytes[1] - bytes[0] >= 4 * n * v,
        "fused {} B vs unfused {} B (N = {n}, V = {v})",
        bytes[0],
        bytes[1]
    );
}
