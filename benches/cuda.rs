//! CUDA kernel throughput, one criterion group per kernel family (feature `cuda`).
//!
//! Every measurement queues `iters` launches and then synchronises the device before the
//! clock stops (`iter_custom`), so the time is the GPU's, not the launch queue's. SGEMM
//! reports FLOP/s (`Throughput::Elements` = 2·M·N·K per call: M·N·K multiply-adds, two
//! operations each); the memory-bound families report bytes moved per call
//! (`Throughput::Bytes`, the formula beside each). Compare SGEMM with PyTorch's cuBLAS at
//! the same sizes: `reference/gemm/sgemm_torch_cuda.py`.
//!
//! Run on a GPU machine: `cargo bench --features cuda --bench cuda` (or the prebuilt bench
//! binary, see docs/cuda.md). Without a GPU it prints why nothing was measured and exits 0
//! (CI only checks that it builds: `cargo bench --features cuda --no-run`).

use criterion::{BenchmarkId, Criterion, Throughput};
use cudarc::driver::CudaSlice;
use mtrec::autograd::Axis;
use mtrec::device::cuda::kernels::{self as k, PointLoss, UnaryKind};
use mtrec::device::cuda::CudaDevice;
use mtrec::optim::AdamConfig;
use std::time::{Duration, Instant};

fn data(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5)
        .collect()
}

fn up(dev: &CudaDevice, x: &[f32]) -> CudaSlice<f32> {
    dev.htod(x).expect("host → device copy")
}

/// Times `iters` calls of `f`, synchronising the device before the clock stops.
fn timed(dev: &CudaDevice, iters: u64, mut f: impl FnMut()) -> Duration {
    dev.synchronize().expect("synchronize");
    let t0 = Instant::now();
    for _ in 0..iters {
        f();
    }
    dev.synchronize().expect("synchronize");
    t0.elapsed()
}

fn sgemm(c: &mut Criterion, dev: &CudaDevice) {
    let mut g = c.benchmark_group("cuda_sgemm");
    g.sample_size(10);
    let cases: &[(usize, bool, bool)] = &[
        (1024, false, false),
        (2048, false, false),
        (4096, false, false),
        (8192, false, false),
        (4096, true, false),
        (4096, false, true),
    ];
    for &(s, ta, tb) in cases {
        let (a, b) = (up(dev, &data(s * s)), up(dev, &data(s * s)));
        let mut out = dev.zeros::<f32>(s * s).unwrap();
        // FLOPs per call: M·N·K multiply-adds, two operations each.
        g.throughput(Throughput::Elements((2 * s * s * s) as u64));
        let label = format!(
            "{}{}",
            if ta { "T" } else { "N" },
            if tb { "T" } else { "N" }
        );
        g.bench_function(BenchmarkId::new(label, format!("{s}x{s}x{s}")), |bch| {
            bch.iter_custom(|iters| {
                timed(dev, iters, || {
                    k::matmul_forward(
                        dev,
                        &mut out,
                        &a,
                        &b,
                        k::Gemm::new(s, s, s).trans_a(ta).trans_b(tb),
                        0.0,
                    )
                    .unwrap()
                })
            })
        });
    }
    g.finish();
}

fn elementwise_and_rows(c: &mut Criterion, dev: &CudaDevice) {
    let mut g = c.benchmark_group("cuda_elementwise");
    let n = 1 << 24;
    let x = up(dev, &data(n));
    let mut y = dev.zeros::<f32>(n).unwrap();
    // Bytes per call: read x, write y: 2·4·n.
    g.throughput(Throughput::Bytes((8 * n) as u64));
    for kind in [UnaryKind::Relu, UnaryKind::Gelu] {
        g.bench_function(BenchmarkId::new(format!("{kind:?}"), n), |bch| {
            bch.iter_custom(|iters| {
                timed(dev, iters, || {
                    k::unary_forward(dev, &mut y, &x, kind).unwrap()
                })
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("cuda_rows");
    let (r, cc) = (4096, 1024);
    let x = up(dev, &data(r * cc));
    let mut y = dev.zeros::<f32>(r * cc).unwrap();
    // Bytes per call: read and write (R, C): 2·4·R·C.
    g.throughput(Throughput::Bytes((8 * r * cc) as u64));
    g.bench_function(BenchmarkId::new("softmax", format!("{r}x{cc}")), |bch| {
        bch.iter_custom(|iters| {
            timed(dev, iters, || {
                k::softmax_forward(dev, &mut y, &x, (r, cc), false).unwrap()
            })
        })
    });
    let (gamma, beta) = (up(dev, &vec![1.0; cc]), up(dev, &vec![0.0; cc]));
    let (mut mu, mut rs) = (dev.zeros::<f32>(r).unwrap(), dev.zeros::<f32>(r).unwrap());
    g.bench_function(BenchmarkId::new("layer_norm", format!("{r}x{cc}")), |bch| {
        bch.iter_custom(|iters| {
            timed(dev, iters, || {
                k::layer_norm_forward(
                    dev,
                    &mut y,
                    (&mut mu, &mut rs),
                    &x,
                    (&gamma, &beta),
                    (r, cc),
                    1e-5,
                )
                .unwrap()
            })
        })
    });
    // Bytes per call: read (R, C), write C: 4·(R·C + C).
    g.throughput(Throughput::Bytes((4 * (r * cc + cc)) as u64));
    let mut col = dev.zeros::<f32>(cc).unwrap();
    g.bench_function(BenchmarkId::new("sum_cols", format!("{r}x{cc}")), |bch| {
        bch.iter_custom(|iters| {
            timed(dev, iters, || {
                k::reduce_forward(dev, &mut col, &x, (r, cc), Axis::Cols, 1.0).unwrap()
            })
        })
    });
    g.finish();
}

fn layers(c: &mut Criterion, dev: &CudaDevice) {
    let mut g = c.benchmark_group("cuda_layers");
    g.sample_size(20);
    // Fused linear + ReLU, (B, D_in)·(D_in, D_out): FLOPs 2·B·D_in·D_out.
    let (b, di, d_o) = (4096, 512, 512);
    let (x, w, bias) = (
        up(dev, &data(b * di)),
        up(dev, &data(di * d_o)),
        up(dev, &data(d_o)),
    );
    let (mut y, mut pre) = (
        dev.zeros::<f32>(b * d_o).unwrap(),
        dev.zeros::<f32>(b * d_o).unwrap(),
    );
    g.throughput(Throughput::Elements((2 * b * di * d_o) as u64));
    g.bench_function(
        BenchmarkId::new("linear_relu", format!("{b}x{di}x{d_o}")),
        |bch| {
            bch.iter_custom(|iters| {
                timed(dev, iters, || {
                    k::linear_act_forward(
                        dev,
                        &mut y,
                        &mut pre,
                        &x,
                        &w,
                        &bias,
                        k::LinearShape {
                            b,
                            d_in: di,
                            d_out: d_o,
                            act: UnaryKind::Relu,
                        },
                    )
                    .unwrap()
                })
            })
        },
    );
    // Gate combine, B rows of E experts of width D: bytes 4·(B·E·D + 2·B·E + B·D).
    let (b, e, d) = (4096, 8, 256);
    let (xe, z) = (up(dev, &data(b * e * d)), up(dev, &data(b * e)));
    let (mut out, mut wts) = (
        dev.zeros::<f32>(b * d).unwrap(),
        dev.zeros::<f32>(b * e).unwrap(),
    );
    g.throughput(Throughput::Bytes(
        (4 * (b * e * d + 2 * b * e + b * d)) as u64,
    ));
    g.bench_function(
        BenchmarkId::new("gate_combine", format!("{b}x{e}x{d}")),
        |bch| {
            bch.iter_custom(|iters| {
                timed(dev, iters, || {
                    k::gate_combine_forward(dev, &mut out, &mut wts, &xe, &z, (b, e, d)).unwrap()
                })
            })
        },
    );
    // Embedding gather of B rows of width D from a (V, D) table: bytes 4·(2·B·D + B).
    let (v, d, b) = (1_000_000, 64, 65_536);
    let table = up(dev, &data(v * d));
    let idx: Vec<u32> = (0..b).map(|i| ((i * 104_729) % v) as u32).collect();
    let gidx = dev.htod(&idx).unwrap();
    let mut rows = dev.zeros::<f32>(b * d).unwrap();
    g.throughput(Throughput::Bytes((4 * (2 * b * d + b)) as u64));
    g.bench_function(
        BenchmarkId::new("gather", format!("V{v}xD{d}xB{b}")),
        |bch| {
            bch.iter_custom(|iters| {
                timed(dev, iters, || {
                    k::gather_forward(dev, &mut rows, &table, &gidx.as_view(), d).unwrap()
                })
            })
        },
    );
    let mut dtable = dev.zeros::<f32>(v * d).unwrap();
    g.bench_function(
        BenchmarkId::new("gather_bwd_scatter_add", format!("V{v}xD{d}xB{b}")),
        |bch| {
            bch.iter_custom(|iters| {
                timed(dev, iters, || {
                    k::gather_backward(dev, &mut dtable, &rows, &gidx.as_view(), d).unwrap()
                })
            })
        },
    );
    g.finish();
}

fn loss_and_optim(c: &mut Criterion, dev: &CudaDevice) {
    let mut g = c.benchmark_group("cuda_loss_optim");
    // BCE forward over (B, C): bytes 4·(2·B·C + B).
    let (b, cc) = (65_536, 2);
    let (z, y, coef) = (
        up(dev, &data(b * cc)),
        up(dev, &vec![1.0; b * cc]),
        up(dev, &vec![1.0; b]),
    );
    let mut l = dev.zeros::<f32>(1).unwrap();
    g.throughput(Throughput::Bytes((4 * (2 * b * cc + b)) as u64));
    g.bench_function(BenchmarkId::new("bce_fwd", format!("{b}x{cc}")), |bch| {
        bch.iter_custom(|iters| {
            timed(dev, iters, || {
                k::loss_forward(dev, PointLoss::BceLogits, &mut l, &z, (&y, &coef), (b, cc))
                    .unwrap()
            })
        })
    });
    // Adam over n parameters: reads θ, g, m, v and writes θ, m, v: 4·7·n bytes.
    let n = 1 << 24;
    let (mut th, gr) = (up(dev, &data(n)), up(dev, &data(n)));
    let (mut m, mut v) = (dev.zeros::<f32>(n).unwrap(), dev.zeros::<f32>(n).unwrap());
    let cfg = AdamConfig::default();
    g.throughput(Throughput::Bytes((28 * n) as u64));
    g.bench_function(BenchmarkId::new("adam_step", n), |bch| {
        bch.iter_custom(|iters| {
            timed(dev, iters, || {
                k::adam_step(dev, &mut th, &gr, (&mut m, &mut v), (&cfg, 1e-3, 1)).unwrap()
            })
        })
    });
    g.finish();
}

fn main() {
    let dev = match CudaDevice::open(0) {
        Ok(dev) => dev,
        Err(e) => {
            eprintln!("benches/cuda: nothing measured, no usable GPU: {e}");
            return;
        }
    };
    dev.load_all().expect("compiling the kernels");
    eprintln!("benches/cuda on cuda:0 = {} ({})", dev.name(), dev.arch());
    let mut c = Criterion::default().configure_from_args();
    sgemm(&mut c, &dev);
    elementwise_and_rows(&mut c, &dev);
    layers(&mut c, &dev);
    loss_and_optim(&mut c, &dev);
    c.final_summary();
}
