//! Evaluation: per-task mean loss on a data set, in evaluation mode (no dropout).
//!
//! Regression tasks report the mean squared error `(1/N) Σ_i (p_i − y_i)²`; binary tasks
//! the log-loss `(1/N) Σ_i ℓ(z_i, y_i)` of the logits. Sums are taken in f64.

use crate::autograd::{Graph, ParamStore};
use crate::data::{Dataset, TaskKind};
use crate::error::{Error, Result};
use crate::loss::bce::bce_term;
use crate::models::MultiTaskModel;

/// Name of the metric [`evaluate`] reports for a task kind.
pub fn task_loss_name(kind: TaskKind) -> &'static str {
    match kind {
        TaskKind::Regression => "MSE",
        TaskKind::Binary => "log-loss",
    }
}

/// Per-task mean loss of `model` on `data`, in batches of `batch_size` rows. `g` is put
/// in evaluation mode for the call and left in the mode it had.
pub fn evaluate<M>(
    g: &mut Graph,
    model: &M,
    store: &ParamStore,
    data: &Dataset,
    batch_size: usize,
) -> Result<Vec<f32>>
where
    M: MultiTaskModel + ?Sized,
{
    if batch_size == 0 || data.is_empty() {
        return Err(Error::Config { what: "evaluation".into(), message: format!("needs a batch size ≥ 1 and a non-empty data set, got batch size {batch_size} and {} rows", data.len()) });
    }
    let was_training = g.is_training();
    g.set_training(false);
    let result = accumulate(g, model, store, data, batch_size);
    g.set_training(was_training);
    let sums = result?;
    Ok(sums
        .iter()
        .map(|s| (s / data.len() as f64) as f32)
        .collect())
}

fn accumulate<M: MultiTaskModel + ?Sized>(
    g: &mut Graph,
    model: &M,
    store: &ParamStore,
    data: &Dataset,
    batch_size: usize,
) -> Result<Vec<f64>> {
    let (d_in, k) = (data.num_features(), data.num_tasks());
    let mut sums = vec![0f64; k];
    for start in (0..data.len()).step_by(batch_size) {
        let b = batch_size.min(data.len() - start);
        g.reset();
        let x = g.input_slice(b, d_in, &data.x.data()[start * d_in..(start + b) * d_in])?; // (B, D)
        let outs = model.forward(g, store, x)?; // K × (B, 1)
        if outs.len() != k {
            return Err(Error::Config {
                what: "model outputs".into(),
                message: format!(
                    "the model gives {} outputs for a data set of {k} tasks",
                    outs.len()
                ),
            });
        }
        for (t, (&out, kind)) in outs.iter().zip(&data.tasks).enumerate() {
            if g.shape(out) != (b, 1) {
                return Err(Error::Shape {
                    op: "evaluate",
                    shapes: vec![crate::error::Dims(g.shape(out).0, g.shape(out).1)],
                    expected: format!("one ({b}, 1) output per task"),
                });
            }
            for (i, &p) in g.value(out).iter().enumerate() {
                let y = data.y.at(start + i, t);
                sums[t] += match kind {
                    TaskKind::Regression => ((p - y) as f64).powi(2),
                    TaskKind::Binary => bce_term(p, y),
                };
            }
        }
    }
    Ok(sums)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synthetic::{generate, SyntheticConfig};
    use crate::models::{SharedBottom, SharedBottomConfig};
    use crate::nn::Activation;
    use ndarray_rand::rand::rngs::StdRng;
    use ndarray_rand::rand::SeedableRng;

    #[test]
    fn evaluate_is_the_mse_of_one_big_forward_for_any_batch_size() {
        let data = generate(&SyntheticConfig {
            n: 37,
            seed: 2,
            ..Default::default()
        })
        .unwrap()
        .data;
        let mut store = ParamStore::new();
        let cfg = SharedBottomConfig {
            d_in: 100,
            bottom: vec![8],
            tower: vec![4],
            num_tasks: 2,
            activation: Activation::Tanh,
            dropout: 0.5,
        };
        let model = SharedBottom::new(&mut store, &cfg, &mut StdRng::seed_from_u64(1)).unwrap();
        let mut g = Graph::new(0);
        g.set_training(false);
        let x = g.input(&data.x);
        let outs = model.forward(&mut g, &store, x).unwrap();
        let by_hand: Vec<f32> = (0..2)
            .map(|k| {
                let y = data.labels(k);
                let s: f64 = g
                    .value(outs[k])
                    .iter()
                    .zip(&y)
                    .map(|(p, y)| ((p - y) as f64).powi(2))
                    .sum();
                (s / 37.0) as f32
            })
            .collect();
        g.set_training(true);
        for b in [1, 10, 37, 100] {
            let got = evaluate(&mut g, &model, &store, &data, b).unwrap();
            for k in 0..2 {
                assert!(
                    (got[k] - by_hand[k]).abs() <= 1e-5 * by_hand[k],
                    "batch {b}, task {k}: {} vs {}",
                    got[k],
                    by_hand[k]
                );
            }
            assert!(g.is_training(), "evaluate restores the graph's mode");
        }
        assert!(evaluate(&mut g, &model, &store, &data, 0).is_err());
    }
}
