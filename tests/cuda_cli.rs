//! `--device cuda` on `mtrec train` and `mtrec demo` fails with a clear message (never a
//! panic, never a silent CPU run) wherever the device training step cannot run: a build
//! without the `cuda` feature, or a machine without a driver, GPU or NVRTC. Where a GPU
//! opens, the step runs there instead (`tests/cuda_device_step/`), and these checks
//! say that they were not run.

use std::process::Command;

fn run(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mtrec"))
        .args(args)
        .output()
        .expect("run the mtrec binary");
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    (out.status.success(), text)
}

fn check(args: &[&str]) {
    if mtrec::device::cuda::CudaDevice::open(0).is_ok() {
        eprintln!(
            "NOT RUN: `mtrec {}` fails only where no GPU opens, and GPU 0 opened here",
            args.join(" ")
        );
        return;
    }
    let (ok, text) = run(args);
    assert!(!ok, "`mtrec {}` must fail: {text}", args.join(" "));
    assert!(!text.contains("panicked"), "no panic: {text}");
    assert!(
        text.contains("error: device cuda:0"),
        "names the device: {text}"
    );
    let expected = if mtrec::device::cuda::compiled_in() {
        // no driver / no GPU / no NVRTC here
        ["driver", "GPU", "nvrtc"].iter().any(|w| text.contains(w))
    } else {
        text.contains("rebuild with `cargo build --release --features cuda`")
    };
    assert!(expected, "says what is wrong and what to do: {text}");
    assert!(text.contains("--device cpu"), "offers the CPU: {text}");
}

#[test]
fn demo_device_cuda_fails_clearly() {
    check(&["demo", "--device", "cuda", "--epochs", "1"]);
}

#[test]
fn train_device_cuda_fails_clearly_before_reading_the_config() {
    check(&[
        "train",
        "--config",
        "no-such-config.toml",
        "--device",
        "cuda",
    ]);
}

#[test]
fn an_unknown_device_is_rejected_by_the_parser() {
    let (ok, text) = run(&["demo", "--device", "tpu"]);
    assert!(!ok);
    assert!(text.contains("possible values: cpu, cuda"), "{text}");
}
