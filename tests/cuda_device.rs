//! Opening a CUDA device never panics: it succeeds on a machine with a GPU, and otherwise
//! returns `Error::Device` saying what was tried and what to do. Runs in every build
//! (with and without `--features cuda`, with and without a GPU).

use mtrec::device::cuda::{self, CudaDevice};
use mtrec::Error;

#[test]
fn opening_a_device_fails_with_a_clear_message_or_succeeds() {
    match CudaDevice::open(0) {
        Ok(dev) => {
            assert!(cuda::compiled_in(), "only a CUDA build can open a device");
            eprintln!("cuda:0 is {}", dev.name());
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(matches!(e, Error::Device { .. }), "{msg}");
            assert!(msg.contains("cuda:0"), "names the device: {msg}");
            if cuda::compiled_in() {
                assert!(
                    msg.contains("driver") || msg.contains("GPU") || msg.contains("nvrtc"),
                    "says what is missing: {msg}"
                );
            } else {
                assert!(
                    msg.contains("cargo build --release --features cuda"),
                    "gives the rebuild command: {msg}"
                );
            }
            eprintln!("as expected without a usable GPU: {msg}");
        }
    }
}

#[test]
fn an_out_of_range_device_number_is_an_error() {
    let e = CudaDevice::open(10_000).expect_err("no machine has 10 001 GPUs");
    assert!(e.to_string().contains("cuda:10000"), "{e}");
}
