//! Inference latency of finished runs on 1,000 test rows, one thread: what
//! docs/compress.md compares a distilled student with its teacher by.
//!
//! ```text
//! cargo run --release --example score_speed -- ../shared/data runs/teacher runs/student
//! ```
//! Per run: the run's data split rebuilt (`train::run::setup`), its best weights
//! loaded, then 20 warm-up and 200 timed calls of input layer + model forward
//! (evaluation mode) on the first 1,000 test rows, in one thread (a one-thread global pool); prints p50 and
//! p99 wall time per call and the model's parameter count. The protocol of
//! `benches/inference.rs`.

use mtrec::autograd::Graph;
use mtrec::checkpoint::load_params;
use mtrec::config::RunConfig;
use mtrec::data::features::EncodedBatch;
use std::path::Path;
use std::time::Instant;

fn main() -> mtrec::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: score_speed <data-dir> <run> [<run> ...]");
        std::process::exit(2);
    }
    let data = Path::new(&args[0]);
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build_global()
        .expect("a one-thread pool");
    println!("| run | parameters (dense, not embeddings) | p50 ms | p99 ms |");
    println!("|---|---|---|---|");
    for run in &args[1..] {
        let dir = Path::new(run);
        let cfg = RunConfig::from_file(dir.join("config.toml"), &[])?;
        let mut setup = mtrec::train::run::setup(cfg, data)?;
        load_params(dir.join("model.safetensors"), &mut setup.store)?;
        let rows: Vec<usize> = (0..setup.prepared.test.len().min(1000)).collect();
        let mut batch = EncodedBatch::default();
        setup.prepared.test.batch(&rows, &mut batch);
        let dense: usize = mtrec::train::prune::prunable(&setup.store)
            .iter()
            .map(|&id| setup.store.value(id).len())
            .sum();
        let mut times = {
            let mut g = Graph::new(0);
            g.set_training(false);
            let mut times = Vec::with_capacity(200);
            for i in 0..220 {
                let t0 = Instant::now();
                g.reset();
                let x = setup.input.forward(&mut g, &setup.store, &batch)?; // (B, D_in)
                let outs = setup.model.forward(&mut g, &setup.store, x)?; // K × (B, 1)
                std::hint::black_box(g.value(outs[0])[0]);
                if i >= 20 {
                    times.push(t0.elapsed().as_secs_f64() * 1e3);
                }
            }
            times
        };
        times.sort_by(f64::total_cmp);
        println!(
            "| {run} | {dense} | {:.3} | {:.3} |",
            times[times.len() / 2],
            times[times.len() * 99 / 100]
        );
    }
    Ok(())
}
