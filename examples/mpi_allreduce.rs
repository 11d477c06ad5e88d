//! Times the collectives of one data-parallel step (docs/distributed.md, scaling model):
//! `mpirun -np P target/release/examples/mpi_allreduce N [ROWS D]` — the all-reduce of N
//! f32 (the dense gradient buffer) and, given ROWS and D, the all-gather of ROWS
//! embedding rows of width D per rank; median and mean over 200 repetitions after 20
//! warm-ups, printed by rank 0.

use mtrec::dist::GradientSync;
use std::time::Instant;

fn main() -> mtrec::error::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("N [ROWS D] as integers"))
        .collect();
    let n = *args.first().expect("usage: mpi_allreduce N [ROWS D]");
    let mut job = mtrec::dist::mpi::launch()?.expect("start it with mpirun");
    let mut buf: Vec<f32> = (0..n).map(|i| i as f32 * 1e-3).collect();
    let time = |f: &mut dyn FnMut()| -> (f64, f64) {
        for _ in 0..20 {
            f();
        }
        let mut t: Vec<f64> = (0..200)
            .map(|_| {
                let s = Instant::now();
                f();
                s.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        t.sort_by(|a, b| a.total_cmp(b));
        (t[t.len() / 2], t.iter().sum::<f64>() / t.len() as f64)
    };
    let (p, rank) = (job.size(), job.rank());
    let (med, mean) = time(&mut || job.all_reduce_sum(&mut buf).unwrap());
    if rank == 0 {
        println!(
            "P={p} all_reduce_sum of {n} f32 ({} KiB): median {med:.1} us, mean {mean:.1} us",
            n * 4 / 1024
        );
    }
    if let (Some(&rows), Some(&d)) = (args.get(1), args.get(2)) {
        let ids: Vec<u32> = (0..rows as u32).collect();
        let vals = vec![0.5f32; rows * d];
        let (mut all_ids, mut all_vals, mut c1, mut c2) = (vec![], vec![], vec![], vec![]);
        let (med, mean) = time(&mut || {
            job.all_gather_u32(&ids, &mut all_ids, &mut c1).unwrap();
            job.all_gather_f32(&vals, &mut all_vals, &mut c2).unwrap();
        });
        if rank == 0 {
            println!(
                "P={p} all-gather of {rows} rows × {d} (+ ids) per rank: median {med:.1} us, mean {mean:.1} us"
            );
        }
    }
    Ok(())
}
