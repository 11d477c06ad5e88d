//! `--device cuda` on `mtrec train` and `mtrec demo` fails with a clear message (never a
//! panic, never a silent CPU run) wherever the device training step cannot run: a build
//! without the `cuda` feature, a machine without a driver or GPU, and (for now) a working
//! GPU too, since the device training step is not written yet.

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
    let (ok, text) = run(args);
    assert!(!ok, "`mtrec {}` must fail: {text}", args.join(" "));
    assert!(!text.contains("panicked"), "no panic: {text}");
    assert!(
        text.contains("error: device cuda:0"),
        "names the device: {text}"
    );
    let expected = if mtrec::cuda::compiled_in() {
        // no driver / no GPU / no NVRTC here, or a GPU on which device training is not there yet
        ["driver", "GPU", "nvrtc", "not implemented yet"]
            .iter()
            .any(|w| text.contains(w))
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
