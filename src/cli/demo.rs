//! `mtrec demo`: the MMoE synthetic study (Ma et al., KDD 2018, section 4): Single-Task,
//! Shared-Bottom, OMoE, MMoE and PLE (CGC) on two regression tasks whose correlation ρ is
//! controlled, for several ρ; `--full` repeats every run five times.

use crate::autograd::{Graph, ParamStore};
use crate::data::synthetic::{generate, SyntheticConfig};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::models::{
    Mmoe, MmoeConfig, MultiTaskModel, Omoe, Ple, PleConfig, SharedBottom, SharedBottomConfig,
    SingleTask, SingleTaskConfig,
};
use crate::nn::Activation;
use crate::optim::{Adam, AdamConfig};
use crate::train::{evaluate, fit, TrainConfig};
use clap::Args;
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::SeedableRng;
use std::io::Write;

/// Settings of `mtrec demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Seed of the data; repeat r seeds its initial weights and batch order with
    /// seed + r. The same seed and thread count give the same table.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Worker threads for the kernels (default: one per core; at most min(1024, 64 × cores)).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Passes over the training split per model (at least 1).
    #[arg(long, default_value_t = 30)]
    pub epochs: usize,
    /// Runs per (model, ρ) on the same data with different initial weights and batch
    /// order; the table shows the mean and standard deviation of the test MSE over them.
    #[arg(long, default_value_t = 1)]
    pub repeats: usize,
    /// The full study: 5 runs per (model, ρ) (overrides --repeats).
    #[arg(long)]
    pub full: bool,
    /// Mini-batch size.
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
    /// Adam learning rate (constant).
    #[arg(long, default_value_t = 3e-3)]
    pub lr: f32,
    /// Task correlations ρ = cos(w1, w2) to try, comma-separated, each in [−1, 1].
    #[arg(long, value_delimiter = ',', default_values_t = vec![0.5, 0.8, 0.9, 1.0])]
    pub rho: Vec<f64>,
    /// Training rows per ρ.
    #[arg(long, default_value_t = 40_000)]
    pub n_train: usize,
    /// Validation rows per ρ (the parameters of the epoch with the lowest validation
    /// loss are kept).
    #[arg(long, default_value_t = 2_000)]
    pub n_valid: usize,
    /// Test rows per ρ (the table reports MSE on these).
    #[arg(long, default_value_t = 2_000)]
    pub n_test: usize,
    /// Where to train: cpu, or cuda (a build with `--features cuda` and a GPU; see
    /// docs/cuda.md): the training steps run on the GPU, validation on the CPU.
    #[arg(long, value_enum, default_value_t = super::DeviceArg::Cpu)]
    pub device: super::DeviceArg,
}

/// One line of the result table: a (model, ρ) pair over all repeats.
#[derive(Clone, Debug)]
pub struct Row {
    pub model: String,
    pub rho: f64,
    pub params: usize,
    /// Test MSE per repeat, per task: `test_mse[r][k]`.
    pub test_mse: Vec<Vec<f32>>,
    /// Mean training time of one run.
    pub seconds: f64,
}

impl Row {
    /// Mean and sample standard deviation of task k's test MSE over the repeats.
    pub fn mse_stats(&self, k: usize) -> (f64, f64) {
        let v: Vec<f64> = self.test_mse.iter().map(|t| t[k] as f64).collect();
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = if v.len() > 1 {
            v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
        } else {
            0.0
        };
        (mean, var.sqrt())
    }
}

const MODELS: [&str; 5] = ["single-task", "shared-bottom", "omoe", "mmoe", "ple"];

/// The two models, sized like the paper's synthetic setting scaled down: a shared
/// bottom of 16 units and towers of 8 (1,906 parameters at d = 100); the single-task
/// networks (9 → 8 → 1 per task, 1,996 parameters) get a comparable count.
/// Mixtures: 8 experts of 4 ReLU units (OMoE, MMoE; PLE: 4 shared + 2 per task).
const EXPERTS: usize = 8;
const EXPERT_WIDTH: usize = 4;
/// Shared-Bottom: one bottom of 32 ReLU units, as many hidden units as the experts.
const SB_WIDTH: usize = 32;

fn build(
    which: usize,
    store: &mut ParamStore,
    d_in: usize,
    rng: &mut StdRng,
) -> Result<Box<dyn MultiTaskModel>> {
    let activation = Activation::Relu;
    Ok(match which {
        0 => Box::new(SingleTask::new(
            store,
            &SingleTaskConfig {
                d_in,
                hidden: vec![16, 8],
                num_tasks: 2,
                activation,
                dropout: 0.0,
            },
            rng,
        )?),
        2 | 3 => {
            let cfg = MmoeConfig {
                d_in,
                num_experts: EXPERTS,
                expert: vec![EXPERT_WIDTH],
                tower: vec![8],
                num_tasks: 2,
                activation,
                dropout: 0.0,
            };
            if which == 2 {
                Box::new(Omoe::new(store, &cfg, rng)?)
            } else {
                Box::new(Mmoe::new(store, &cfg, rng)?)
            }
        }
        4 => Box::new(Ple::new(
            store,
            &PleConfig {
                d_in,
                levels: 1,
                shared_experts: EXPERTS / 2,
                task_experts: EXPERTS / 4,
                expert: vec![EXPERT_WIDTH],
                tower: vec![8],
                num_tasks: 2,
                activation,
                dropout: 0.0,
            },
            rng,
        )?),
        _ => Box::new(SharedBottom::new(
            store,
            &SharedBottomConfig {
                d_in,
                bottom: vec![SB_WIDTH],
                tower: vec![8],
                num_tasks: 2,
                activation,
                dropout: 0.0,
            },
            rng,
        )?),
    })
}

fn check(args: &DemoArgs) -> Result<()> {
    let bad = |what: &str, message: &str| {
        Err(Error::Config {
            what: what.into(),
            message: message.into(),
        })
    };
    if args.n_train == 0 || args.n_valid == 0 || args.n_test == 0 {
        return bad(
            "--n-train / --n-valid / --n-test",
            "every split needs at least one row",
        );
    }
    if args.rho.is_empty() {
        return bad(
            "--rho",
            "give at least one correlation, e.g. --rho 0.5,0.9,1.0",
        );
    }
    if args.repeats == 0 {
        return bad("--repeats", "run each (model, ρ) at least once");
    }
    if args.epochs == 0 {
        return bad(
            "--epochs",
            "is 0, which trains nothing; expected at least 1 pass over the training rows, e.g. --epochs 30",
        );
    }
    if args.batch_size == 0 {
        return bad("--batch-size", "is 0; expected at least 1 row, e.g. 256");
    }
    Ok(())
}

/// Train / valid / test splits of the synthetic data for one ρ, and its label correlation.
fn splits(args: &DemoArgs, rho: f64, seed: u64) -> Result<(Vec<Dataset>, f64)> {
    let n = args.n_train + args.n_valid + args.n_test;
    let synth = generate(&SyntheticConfig {
        n,
        rho,
        seed,
        ..Default::default()
    })?;
    let corr = synth.label_correlation();
    Ok((
        synth
            .data
            .split(&[args.n_train, args.n_valid, args.n_test])?,
        corr,
    ))
}

/// Trains every (model, ρ, repeat), printing one progress line to stderr per
/// (model, ρ), and returns the rows of the table sorted by model, then ρ.
pub fn train_all(args: &DemoArgs) -> Result<Vec<Row>> {
    check(args)?;
    let device = super::check_device(args.device)?;
    let mut rows = Vec::new();
    for &rho in &args.rho {
        let (split, corr) = splits(args, rho, args.seed)?;
        let (train, valid, test) = (&split[0], &split[1], &split[2]);
        for (which, name) in MODELS.iter().enumerate() {
            let mut row = Row {
                model: name.to_string(),
                rho,
                params: 0,
                test_mse: Vec::new(),
                seconds: 0.0,
            };
            for r in 0..args.repeats as u64 {
                let seed = args.seed.wrapping_add(r);
                let mut store = ParamStore::new();
                let model = build(
                    which,
                    &mut store,
                    train.num_features(),
                    &mut StdRng::seed_from_u64(seed ^ 0x1417),
                )?;
                let mut opt = Adam::new(AdamConfig::default())?;
                let cfg = TrainConfig {
                    epochs: args.epochs,
                    batch_size: args.batch_size,
                    lr: args.lr,
                    seed,
                    keep_best: true,
                    device,
                    ..Default::default()
                };
                let report = fit(
                    model.as_ref(),
                    &mut store,
                    &mut opt,
                    train,
                    Some(valid),
                    &cfg,
                )?;
                row.test_mse.push(evaluate(
                    &mut Graph::new(0),
                    model.as_ref(),
                    &store,
                    test,
                    1024,
                )?);
                row.params = store.num_scalars();
                row.seconds += report.seconds / args.repeats as f64;
            }
            let ((m1, s1), (m2, s2)) = (row.mse_stats(0), row.mse_stats(1));
            eprintln!(
                "[{}/{}] {name:<13} ρ = {rho:.2} (label corr {corr:.2}): test MSE {m1:.4} ± {s1:.4} / {m2:.4} ± {s2:.4}  ({:.1} s per run)",
                rows.len() + 1,
                MODELS.len() * args.rho.len(),
                row.seconds
            );
            rows.push(row);
        }
    }
    rows.sort_by(|a, b| a.model.cmp(&b.model).then(a.rho.total_cmp(&b.rho)));
    Ok(rows)
}

/// The table, one row per (model, ρ): test MSE per task as mean ± standard deviation.
pub fn format_table(rows: &[Row]) -> String {
    let mut s = format!(
        "{:<14} {:>5} {:>7} {:>17} {:>17} {:>9}\n",
        "model", "ρ", "params", "MSE task 1", "MSE task 2", "time (s)"
    );
    for r in rows {
        let ((m1, s1), (m2, s2)) = (r.mse_stats(0), r.mse_stats(1));
        let (t1, t2) = (format!("{m1:.4} ± {s1:.4}"), format!("{m2:.4} ± {s2:.4}"));
        s.push_str(&format!(
            "{:<14} {:>5.2} {:>7} {:>17} {:>17} {:>9.1}\n",
            r.model, r.rho, r.params, t1, t2, r.seconds
        ));
    }
    s
}

/// The paper's comparison, read off the table: per ρ, the mean over both tasks of
/// Shared-Bottom's test MSE minus MMoE's (positive: MMoE is better).
pub fn mmoe_advantage(rows: &[Row]) -> Vec<(f64, f64)> {
    let mean = |r: &Row| (r.mse_stats(0).0 + r.mse_stats(1).0) / 2.0;
    let mut out = Vec::new();
    for sb in rows.iter().filter(|r| r.model == "shared-bottom") {
        if let Some(mm) = rows.iter().find(|r| r.model == "mmoe" && r.rho == sb.rho) {
            out.push((sb.rho, mean(sb) - mean(mm)));
        }
    }
    out
}

/// `mtrec demo`.
pub fn run(args: &DemoArgs) -> Result<()> {
    super::check_device(args.device)?; // before any work: a GPU that cannot be opened
    let mut args = args.clone();
    if args.full {
        args.repeats = 5;
    }
    let args = &args;
    check(args)?; // before the header line: no "training …" for a run that cannot start
                  // the whole command runs on a worker of its own pool: parallel regions then fork
                  // from inside the pool instead of handing work over from the main thread
    super::in_pool(args.threads, || {
        eprintln!(
            "mtrec demo: MMoE synthetic data (d = 100, m = 10), {} / {} / {} rows per ρ, {} repeats of {} epochs (batch {}, Adam lr {}), {} threads",
            args.n_train,
            args.n_valid,
            args.n_test,
            args.repeats,
            args.epochs,
            args.batch_size,
            args.lr,
            rayon::current_num_threads()
        );
        let rows = train_all(args)?;
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "\ntest MSE per task, mean ± std over {} runs (time: training, per run)",
            args.repeats
        )
        .and_then(|_| write!(out, "{}", format_table(&rows)))
        .and_then(|_| {
            let adv = mmoe_advantage(&rows);
            let text: Vec<String> = adv
                .iter()
                .map(|(rho, gain)| format!("ρ = {rho:.2}: {gain:+.4}"))
                .collect();
            writeln!(
                out,
                "\nShared-Bottom − MMoE test MSE (mean of both tasks; > 0: MMoE better): {}",
                text.join(", ")
            )
        })
        .map_err(|e| Error::Io {
            path: "<stdout>".into(),
            message: e.to_string(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn args(extra: &[&str]) -> DemoArgs {
        let argv = [&["mtrec", "demo"][..], extra].concat();
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Demo(a) => a,
            other => panic!("`mtrec demo` parsed as {other:?}"),
        }
    }

    #[test]
    fn flags_parse_and_a_tiny_demo_fills_the_table() {
        let a = args(&[
            "--rho",
            "0.5,1",
            "--epochs",
            "1",
            "--repeats",
            "2",
            "--n-train",
            "64",
            "--n-valid",
            "16",
            "--n-test",
            "16",
            "--seed",
            "3",
        ]);
        assert_eq!(a.rho, vec![0.5, 1.0]);
        let rows = train_all(&a).unwrap();
        assert_eq!(rows.len(), 2 * MODELS.len());
        assert!(rows
            .iter()
            .all(|r| r.test_mse.len() == 2 && r.test_mse.iter().flatten().all(|v| v.is_finite())));
        let table = format_table(&rows);
        assert_eq!(table.lines().count(), 1 + 2 * MODELS.len(), "{table}");
        for m in MODELS {
            assert!(table.contains(m), "{m} missing from\n{table}");
        }
        let adv = mmoe_advantage(&rows);
        assert_eq!(adv.iter().map(|a| a.0).collect::<Vec<_>>(), vec![0.5, 1.0]);
        assert!(adv.iter().all(|a| a.1.is_finite()));
    }

    #[test]
    fn bad_flags_are_errors() {
        assert!(Cli::try_parse_from(["mtrec", "demo", "--epochs", "many"]).is_err());
        assert!(train_all(&args(&["--rho", "2"])).is_err());
        assert!(train_all(&args(&["--repeats", "0"])).is_err());
        assert!(train_all(&args(&["--n-test", "0"])).is_err());
        assert!(crate::cli::thread_pool(Some(0)).is_err());
    }
}
