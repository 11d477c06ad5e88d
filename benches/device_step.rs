//! The census MMoE step (B = 1024, plain product) three ways, to see what the host costs
//! when the step runs on a device:
//!
//! - `cpu`: `mtrec train`'s CPU step (`encoded_step`), for scale;
//! - `host_replay`: the device program on the CPU twins (`--device host-replay`);
//! - `host_side`: only what the host does per device step: record the tape without
//!   arithmetic, match it to the lowered program, hand the feeds over, collect the launch
//!   list (a backend that accepts and drops everything). A GPU step cannot be faster
//!   than this unless the host runs ahead of the device.
//!
//! `cargo bench --bench device_step`

#[path = "../tests/census_support/mod.rs"]
mod census_support;
use census_support::{census_shaped, CensusTrainer};
use criterion::{criterion_group, criterion_main, Criterion};
use mtrec::autograd::Graph;
use mtrec::device::{Backend, Buf, IdxBuf, Launch, StepDevice};
use mtrec::ops::embed_linear::EmbedLinearMode;
use mtrec::train::run::step::empty_info;

/// Accepts every launch and copy and does nothing (the objective reads as 0).
#[derive(Default)]
struct Drop {
    lens: Vec<usize>,
    idx: u32,
    launches: usize,
}

impl Backend for Drop {
    fn name(&self) -> String {
        "nothing".into()
    }
    fn alloc(&mut self, len: usize) -> mtrec::Result<Buf> {
        self.lens.push(len);
        Ok(Buf(self.lens.len() as u32 - 1))
    }
    fn alloc_idx(&mut self) -> mtrec::Result<IdxBuf> {
        self.idx += 1;
        Ok(IdxBuf(self.idx - 1))
    }
    fn write(&mut self, _: Buf, data: &[f32]) -> mtrec::Result<()> {
        std::hint::black_box(data);
        Ok(())
    }
    fn write_idx(&mut self, _: IdxBuf, data: &[u32]) -> mtrec::Result<()> {
        std::hint::black_box(data);
        Ok(())
    }
    fn read(&mut self, _: Buf, out: &mut [f32]) -> mtrec::Result<()> {
        out.fill(0.0);
        Ok(())
    }
    fn len(&self, buf: Buf) -> usize {
        self.lens[buf.0 as usize]
    }
    fn launch(&mut self, l: &Launch) -> mtrec::Result<()> {
        std::hint::black_box(l);
        self.launches += 1;
        Ok(())
    }
}

fn trainer() -> CensusTrainer {
    CensusTrainer::new(census_shaped(60, 1024, 4, 7).expect("census-shaped model"))
        .expect("trainer")
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("device_step_census_b1024");
    group.sample_size(20);
    let mut info = empty_info();

    let mut t = trainer();
    let mut g = Graph::new(1);
    g.set_embed_linear(EmbedLinearMode::Off);
    let mut b = 0;
    group.bench_function("cpu", |bn| {
        bn.iter(|| {
            t.step(&mut g, b % 4, 1e-3, &mut info).unwrap();
            b += 1;
        })
    });

    let mut t = trainer();
    let mut dev = t.start_device(StepDevice::HostReplay).unwrap();
    let mut g = Graph::new(1);
    group.bench_function("host_replay", |bn| {
        bn.iter(|| {
            t.device_step(&mut g, &mut dev, b % 4, 1e-3, &mut info)
                .unwrap();
            b += 1;
        })
    });

    let mut t = trainer();
    let mut dev = t.start_on(Box::new(Drop::default())).unwrap();
    let mut g = Graph::new(1);
    t.device_step(&mut g, &mut dev, 0, 1e-3, &mut info).unwrap();
    eprintln!(
        "host_side: {} launches per step (forward + backward, before Adam): {:?}",
        dev.launches_per_step(),
        dev.launch_counts()
    );
    group.bench_function("host_side", |bn| {
        bn.iter(|| {
            t.device_step(&mut g, &mut dev, b % 4, 1e-3, &mut info)
                .unwrap();
            b += 1;
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
