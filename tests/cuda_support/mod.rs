//! Helpers shared by tests/cuda_parity.rs, tests/cuda_parity_layers.rs and
//! tests/cuda_device_step/: the device, seeded inputs, copies (feature `cuda`) and the
//! `|gpu − cpu| ≤ atol + rtol·|cpu|` check.
#![allow(dead_code)]

use mtrec::autograd::UnaryFn;
use mtrec::device::cuda::CudaDevice;
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::Rng;
use std::sync::Arc;

pub const GPU: &str = "needs a CUDA GPU";

pub fn dev() -> Arc<CudaDevice> {
    CudaDevice::open(0).unwrap_or_else(|e| {
        panic!("cuda_parity needs a CUDA GPU, its driver and libnvrtc; opening cuda:0 failed: {e}")
    })
}

pub fn rand_vec(rng: &mut StdRng, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..n).map(|_| rng.gen_range(lo..hi)).collect()
}

#[cfg(feature = "cuda")]
pub fn up(dev: &CudaDevice, x: &[f32]) -> cudarc::driver::CudaSlice<f32> {
    dev.htod(x).expect("host → device copy")
}

#[cfg(feature = "cuda")]
pub fn up_u32(dev: &CudaDevice, x: &[u32]) -> cudarc::driver::CudaSlice<u32> {
    dev.htod(x).expect("host → device copy")
}

#[cfg(feature = "cuda")]
pub fn down(dev: &CudaDevice, x: &cudarc::driver::CudaSlice<f32>) -> Vec<f32> {
    dev.dtoh(x).expect("device → host copy")
}

/// `|gpu − cpu| ≤ atol + rtol·|cpu|` everywhere; the failure names the worst element.
pub fn assert_close(what: &str, gpu: &[f32], cpu: &[f32], atol: f32, rtol: f32) {
    assert_eq!(gpu.len(), cpu.len(), "{what}: lengths");
    let mut worst: Option<(usize, f32)> = None;
    for (i, (&g, &c)) in gpu.iter().zip(cpu).enumerate() {
        let excess = (g - c).abs() - (atol + rtol * c.abs());
        let bad = excess > 0.0 || excess.is_nan();
        if bad && worst.is_none_or(|(_, w)| excess > w || excess.is_nan()) {
            worst = Some((i, excess));
        }
    }
    if let Some((i, _)) = worst {
        panic!(
            "{what}: element {i}: gpu {} vs cpu {} (|diff| {} > atol {atol} + rtol {rtol}·|cpu|)",
            gpu[i],
            cpu[i],
            (gpu[i] - cpu[i]).abs()
        );
    }
}

/// (rows, cols) shapes: single element, ragged, a warp, beyond one block of 256.
pub const SHAPES: &[(usize, usize)] = &[(1, 1), (3, 5), (17, 33), (64, 32), (129, 257), (1000, 7)];

pub const UNARY: &[UnaryFn] = &[
    UnaryFn::Exp,
    UnaryFn::Log,
    UnaryFn::Relu,
    UnaryFn::Sigmoid,
    UnaryFn::Tanh,
    UnaryFn::Gelu,
];
