//! The CUDA kernel sources, checked without a GPU.
//!
//! - Always: `mtrec::device::cuda::sources::MODULES` lists every `kernels/*.cu` file and exactly the
//!   `extern "C" __global__` kernels each one defines.
//! - With `--features cuda` and `libnvrtc` loadable: every module compiles with NVRTC for
//!   `compute_80` (PTX, any GPU from the A100 on) and `sm_90` (H100 machine code, which
//!   also runs ptxas), with an empty compiler log (no warnings), and every kernel is an
//!   entry of the PTX. These are `#[ignore = "needs libnvrtc ..."]`: `.ci/run` installs the
//!   PyPI package `nvidia-cuda-nvrtc` into `target/nvrtc-venv`, puts its `lib/` folder on
//!   `LD_LIBRARY_PATH` and runs them with `--ignored`; run that way without libnvrtc they
//!   fail and say how to get it.

use mtrec::device::cuda::sources::MODULES;
use std::collections::BTreeSet;
use std::path::Path;

/// `name` of every `extern "C" __global__ ... name(` in a CUDA source (skipping a
/// `__launch_bounds__(...)` qualifier before the name).
fn kernels_defined(src: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = src;
    while let Some(i) = rest.find("extern \"C\" __global__") {
        rest = &rest[i + "extern \"C\" __global__".len()..];
        let mut from = 0;
        loop {
            let open = from
                + rest[from..]
                    .find('(')
                    .expect("a kernel has a parameter list");
            let ident = rest[..open]
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .rfind(|s| !s.is_empty())
                .expect("a kernel has a name");
            if ident == "__launch_bounds__" {
                from = open + rest[open..].find(')').expect("closing parenthesis") + 1;
                continue;
            }
            out.insert(ident.to_string());
            rest = &rest[open..];
            break;
        }
    }
    out
}

#[test]
fn every_cu_file_is_a_module_with_every_kernel_listed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("kernels");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let p = e.path();
            (p.extension()? == "cu").then(|| p.file_stem().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = MODULES.iter().map(|m| m.name.to_string()).collect();
    listed.sort();
    assert_eq!(
        listed, on_disk,
        "sources::MODULES must list every kernels/*.cu"
    );
    for m in MODULES {
        let file = std::fs::read_to_string(dir.join(format!("{}.cu", m.name))).unwrap();
        let defined = kernels_defined(&file);
        let listed: BTreeSet<String> = m.functions.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            listed, defined,
            "kernels/{}.cu: listed vs defined kernels",
            m.name
        );
        assert!(
            m.source.ends_with(&file),
            "{}: the embedded source is stale",
            m.name
        );
        for f in m.functions {
            assert!(
                f.ends_with("_f32"),
                "{}: kernel {f} should be named <op>_<fwd|bwd|step>_f32",
                m.name
            );
        }
    }
}

#[test]
fn kernel_names_are_found_in_sources() {
    let src = "extern \"C\" __global__ void __launch_bounds__(256)\n    a_fwd_f32(float *x) {}\n\
               extern \"C\" __global__ void b_bwd_f32(float *x, int n) {}";
    let names: Vec<String> = kernels_defined(src).into_iter().collect();
    assert_eq!(
        names,
        vec!["a_fwd_f32".to_string(), "b_bwd_f32".to_string()]
    );
}

#[cfg(feature = "cuda")]
mod nvrtc {
    use mtrec::device::cuda::nvrtc;
    use mtrec::device::cuda::sources::{KernelModule, MODULES};

    const NEEDS: &str = "needs libnvrtc: `python3 -m venv target/nvrtc-venv && \
        target/nvrtc-venv/bin/pip install nvidia-cuda-nvrtc`, then LD_LIBRARY_PATH=\
        $(echo $PWD/target/nvrtc-venv/lib/python3*/site-packages/nvidia/cu*/lib) (what .ci/run does)";

    fn require_nvrtc() {
        if !nvrtc::available() {
            panic!("libnvrtc could not be loaded; {NEEDS}");
        }
    }

    fn compile_all(arch: &str) {
        require_nvrtc();
        let (major, minor) = nvrtc::version().expect("nvrtcVersion");
        eprintln!("NVRTC {major}.{minor}, --gpu-architecture={arch}");
        let mut failures = Vec::new();
        for m in MODULES {
            match nvrtc::compile(m, arch) {
                Err(e) => failures.push(format!("{}: {e}", m.name)),
                Ok(c) => {
                    if !c.log.is_empty() {
                        failures.push(format!("{}: NVRTC log is not empty:\n{}", m.name, c.log));
                    }
                    for f in m.functions {
                        if !c.ptx.contains(&format!(".entry {f}(")) {
                            failures.push(format!("{}: no PTX entry for kernel {f}", m.name));
                        }
                    }
                    eprintln!(
                        "  kernels/{}.cu: {} kernels, {} bytes of PTX",
                        m.name,
                        m.functions.len(),
                        c.ptx.len()
                    );
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    }

    #[test]
    #[ignore = "needs libnvrtc (PyPI nvidia-cuda-nvrtc on LD_LIBRARY_PATH; .ci/run sets it up)"]
    fn every_kernel_compiles_for_compute_80() {
        compile_all("compute_80");
    }

    #[test]
    #[ignore = "needs libnvrtc (PyPI nvidia-cuda-nvrtc on LD_LIBRARY_PATH; .ci/run sets it up)"]
    fn every_kernel_compiles_for_sm_90() {
        compile_all("sm_90");
    }

    /// The check above can fail: a kernel with a type error is reported with NVRTC's log,
    /// and one that compiles with a warning leaves a non-empty log.
    #[test]
    #[ignore = "needs libnvrtc (PyPI nvidia-cuda-nvrtc on LD_LIBRARY_PATH; .ci/run sets it up)"]
    fn broken_and_warning_kernels_are_caught() {
        require_nvrtc();
        let broken = KernelModule {
            name: "broken",
            source:
                "extern \"C\" __global__ void broken_fwd_f32(float *x) { x[0] = undefined_name; }",
            functions: &["broken_fwd_f32"],
        };
        let err = nvrtc::compile(&broken, "compute_80").expect_err("must not compile");
        let msg = err.to_string();
        assert!(
            msg.contains("undefined_name"),
            "the error carries NVRTC's log: {msg}"
        );

        let warns = KernelModule {
            name: "warns",
            source: "extern \"C\" __global__ void warns_fwd_f32(float *x) { int unused = 1; x[0] = 0.0f; }",
            functions: &["warns_fwd_f32"],
        };
        let c = nvrtc::compile(&warns, "compute_80").expect("compiles");
        assert!(
            !c.log.is_empty(),
            "an unused variable leaves a warning in the log"
        );
    }
}
