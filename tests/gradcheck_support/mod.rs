//! The problems of the gradient checks in `tests/gradcheck.rs`: for each op and loss, a
//! builder that draws parameters from `Dims` and records the op last, grouped by subject.
#![allow(dead_code)]

pub mod layers;
pub mod losses;
pub mod sequences;
pub mod tensor_ops;

use mtrec::autograd::{Graph, ParamStore, Var};
use mtrec::Result;
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::Rng;

/// Random sizes and a seed for the values.
#[derive(Clone, Copy, Debug)]
pub struct Dims {
    pub r: usize,
    pub c: usize,
    pub k: usize,
    pub seed: u64,
}

pub type BuildFn = Box<dyn Fn(&mut Graph, &ParamStore) -> Result<Var>>;

/// A problem: parameters to differentiate and the graph that uses them.
pub struct Problem {
    pub store: ParamStore,
    pub build: BuildFn,
}

pub fn uniform(rng: &mut StdRng, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..n).map(|_| rng.gen_range(lo..hi)).collect()
}

/// Values in ±[lo, hi]: kept off 0 (for ReLU's kink, log's domain...).
pub fn away_from_zero(rng: &mut StdRng, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..n)
        .map(|_| rng.gen_range(lo..hi) * if rng.gen::<bool>() { 1.0 } else { -1.0 })
        .collect()
}

pub fn dense(
    store: &mut ParamStore,
    name: &str,
    r: usize,
    c: usize,
    v: Vec<f32>,
) -> mtrec::autograd::ParamId {
    store.add_dense(name, r, c, v).unwrap()
}

pub fn sym(rng: &mut StdRng, n: usize) -> Vec<f32> {
    uniform(rng, n, -2.0, 2.0)
}

pub fn off_kink(rng: &mut StdRng, n: usize) -> Vec<f32> {
    away_from_zero(rng, n, 0.1, 2.0)
}

pub fn positive(rng: &mut StdRng, n: usize) -> Vec<f32> {
    uniform(rng, n, 0.5, 3.0)
}
