//! The census-income MMoE's shapes on synthetic data, for the allocation, thread and
//! device-step tests and the benchmarks: the architecture of `configs/census_mmoe.toml`
//! without reading the data. A fixture, not part of the library: tests use it as
//! `mod census_support;`, benches as `#[path = "../tests/census_support/mod.rs"]`.
//!
//! ```text
//! input   29 categorical features × 8-wide embeddings (tables of V + 1 rows) | 10 numerics
//!         D_in = 29·8 + 10 = 242
//! model   MMoE: 8 experts Linear(242→64)+ReLU, 2 gates Linear(242→8)+softmax,
//!         towers Linear(64→32)+ReLU+Linear(32→1)
//! tasks   2 binary (BCE with logits)
//! ```
//! Ids, numerics and labels are drawn from a seeded generator; the labels depend on the
//! inputs only weakly (the point is the arithmetic, not the fit).
#![allow(dead_code)] // each test or bench uses part of it

use mtrec::autograd::{Graph, ParamId, ParamStore};
use mtrec::balance::{Balancer, Method, StepInfo, TaskForm};
use mtrec::config::TaskType;
use mtrec::data::features::EncodedBatch;
use mtrec::device::{open_backend, Backend, DeviceTrainer, StepDevice};
use mtrec::models::MultiTaskModel;
use mtrec::models::{Mmoe, MmoeConfig};
use mtrec::nn::feature_input::{InputTable, EMBEDDING_INIT};
use mtrec::nn::{Activation, FeatureInput};
use mtrec::optim::{Adam, AdamConfig};
use mtrec::train::run::device::device_step;
use mtrec::train::run::step::{encoded_step, StepParts};
use mtrec::Result;
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::{Rng, SeedableRng};

/// Categorical features of the census MMoE.
pub const CENSUS_CATEGORICAL: usize = 29;
/// Embedding width of each.
pub const CENSUS_DIM: usize = 8;
/// Numeric features.
pub const CENSUS_NUMERIC: usize = 10;

/// A census-shaped input layer and MMoE, their parameters, and synthetic batches.
pub struct CensusShaped {
    pub store: ParamStore,
    pub input: FeatureInput,
    pub model: Mmoe,
    pub kinds: Vec<TaskType>,
    pub batches: Vec<EncodedBatch>,
}

/// Builds the model with embedding tables of `vocab + 1` rows and `n_batches` batches of
/// `rows` rows each (ids uniform over the vocabulary, numerics uniform in [−2, 2)).
pub fn census_shaped(
    vocab: usize,
    rows: usize,
    n_batches: usize,
    seed: u64,
) -> Result<CensusShaped> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut store = ParamStore::new();
    let mut categorical = Vec::with_capacity(CENSUS_CATEGORICAL);
    for f in 0..CENSUS_CATEGORICAL {
        let table = store.add_table(
            &format!("input.emb.f{f}"),
            vocab + 1,
            CENSUS_DIM,
            EMBEDDING_INIT.draw(&mut rng, vocab + 1, CENSUS_DIM),
        )?;
        categorical.push(InputTable {
            feature: format!("f{f}"),
            table,
            rows: vocab + 1,
            dim: CENSUS_DIM,
        });
    }
    let input = FeatureInput {
        categorical,
        multi_hot: Vec::new(),
        n_num: CENSUS_NUMERIC,
        text: Vec::new(),
    };
    let cfg = MmoeConfig {
        d_in: input.d_in(),
        num_experts: 8,
        expert: vec![64],
        tower: vec![32],
        num_tasks: 2,
        activation: Activation::Relu,
        dropout: 0.0,
    };
    let model = Mmoe::new(&mut store, &cfg, &mut rng)?;
    let batches = (0..n_batches)
        .map(|_| {
            let cat: Vec<Vec<u32>> = (0..CENSUS_CATEGORICAL)
                .map(|_| (0..rows).map(|_| rng.gen_range(1..=vocab as u32)).collect())
                .collect();
            let num: Vec<f32> = (0..rows * CENSUS_NUMERIC)
                .map(|_| rng.gen_range(-2.0..2.0))
                .collect();
            // Task 0 follows the first numeric, task 1 the parity of the first id.
            let y0 = (0..rows)
                .map(|i| f32::from(num[i * CENSUS_NUMERIC] > 0.5))
                .collect();
            let y1 = (0..rows).map(|i| (cat[0][i] % 2) as f32).collect();
            EncodedBatch {
                rows,
                n_num: CENSUS_NUMERIC,
                cat,
                num,
                bags: Vec::new(),
                text: Vec::new(),
                labels: vec![y0, y1],
                mask: vec![vec![1.0; rows]; 2],
            }
        })
        .collect();
    Ok(CensusShaped {
        store,
        input,
        model,
        kinds: vec![TaskType::Binary; 2],
        batches,
    })
}

/// A census-shaped model with the rest of `mtrec train`'s step: equal fixed task weights
/// and default Adam (for the allocation and thread tests).
pub struct CensusTrainer {
    pub shaped: CensusShaped,
    balancer: Balancer,
    opt: Adam,
    shared: Vec<ParamId>,
}

impl CensusTrainer {
    pub fn new(mut shaped: CensusShaped) -> Result<CensusTrainer> {
        let forms = [TaskForm::Classification; 2];
        let balancer = Balancer::new(Method::Fixed(vec![1.0, 1.0]), &forms, &mut shaped.store)?;
        let shared = shaped.model.shared_params();
        let opt = Adam::new(AdamConfig::default())?;
        Ok(CensusTrainer {
            shaped,
            balancer,
            opt,
            shared,
        })
    }

    /// What a step reads and updates, and the batches.
    fn parts(&mut self) -> (StepParts<'_>, &[EncodedBatch]) {
        let c = &mut self.shaped;
        let parts = StepParts {
            input: &c.input,
            model: &c.model,
            store: &mut c.store,
            balancer: &mut self.balancer,
            opt: &mut self.opt,
            shared: &self.shared,
            kinds: &c.kinds,
            clip_norm: 0.0,
        };
        (parts, &c.batches)
    }

    /// One training step (`train::run::step::encoded_step`) on batch `batch`.
    pub fn step(
        &mut self,
        g: &mut Graph,
        batch: usize,
        lr: f32,
        info: &mut StepInfo,
    ) -> Result<()> {
        let (mut parts, batches) = self.parts();
        encoded_step(g, &mut parts, &batches[batch], lr, info)
    }
}

/// The same step as a device program (`mtrec::device`), for the device-step benchmark and test.
impl CensusTrainer {
    /// Moves the parameters and Adam state to `device`.
    pub fn start_device(&mut self, device: StepDevice) -> Result<DeviceTrainer> {
        let backend = open_backend(device)?.ok_or_else(|| mtrec::Error::Config {
            what: "device".into(),
            message: "the CPU runs no device program".into(),
        })?;
        self.start_on(backend)
    }

    /// Moves the parameters and Adam state to `backend`.
    pub fn start_on(&mut self, backend: Box<dyn Backend>) -> Result<DeviceTrainer> {
        DeviceTrainer::new(backend, &mut self.shaped.store, &mut self.opt)
    }

    /// One training step of batch `batch` on `trainer`'s backend.
    pub fn device_step(
        &mut self,
        g: &mut Graph,
        trainer: &mut DeviceTrainer,
        batch: usize,
        lr: f32,
        info: &mut StepInfo,
    ) -> Result<()> {
        let (mut parts, batches) = self.parts();
        device_step(g, &mut parts, trainer, &batches[batch], lr, info)
    }
}
