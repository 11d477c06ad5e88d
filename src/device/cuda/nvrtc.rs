//! Compiling the kernel modules with NVRTC (`libnvrtc`, loaded at run time). Used by
//! [`super::CudaDevice`] (once per module and device) and by `tests/cuda_nvrtc.rs`, which
//! compiles every module without a GPU.

use super::sources::KernelModule;
use crate::error::{Error, Result};
use cudarc::nvrtc::{result, sys, Ptx};
use std::ffi::CString;

/// Options every module is compiled with, besides `--gpu-architecture`.
pub const OPTIONS: &[&str] = &["--std=c++17", "--fmad=true"];

/// A compiled module: PTX text and NVRTC's log (empty when there was nothing to say).
#[derive(Clone, Debug)]
pub struct Compiled {
    pub ptx: String,
    pub log: String,
}

impl Compiled {
    /// The PTX in the form `cudarc` loads.
    pub fn to_ptx(&self) -> Ptx {
        Ptx::from_src(self.ptx.clone())
    }
}

/// Whether `libnvrtc` can be loaded (cudarc's library names for CUDA 13, 12, 11, on the
/// loader's search path, e.g. `LD_LIBRARY_PATH`).
pub fn available() -> bool {
    // SAFETY: only tries `dlopen` on cudarc's candidate names; no symbol is called.
    unsafe { sys::is_culib_present() }
}

fn nvrtc_error(what: String) -> Error {
    Error::Device {
        device: "nvrtc".into(),
        what,
        fix: "this is a bug in kernels/*.cu or an NVRTC too old for the options; \
              run `cargo test --features cuda --test cuda_nvrtc -- --ignored` to see every log"
            .into(),
    }
}

/// NVRTC's version as (major, minor).
pub fn version() -> Result<(i32, i32)> {
    if !available() {
        return Err(missing());
    }
    let (mut major, mut minor) = (0, 0);
    // SAFETY: libnvrtc is loaded (checked above); both pointers are to live locals.
    unsafe { sys::nvrtcVersion(&mut major, &mut minor) }
        .result()
        .map_err(|e| nvrtc_error(format!("nvrtcVersion failed: {e:?}")))?;
    Ok((major, minor))
}

/// The error for a missing `libnvrtc`.
pub fn missing() -> Error {
    missing_for("nvrtc")
}

/// The error for a missing `libnvrtc`, naming the device that needed it (`cuda:0`).
pub fn missing_for(device: &str) -> Error {
    Error::Device {
        device: device.into(),
        what: "libnvrtc could not be loaded (tried cudarc's names libnvrtc.so, libnvrtc.so.13, \
               libnvrtc.so.12, ... on the loader path)"
            .into(),
        fix: "install the CUDA toolkit or `pip install nvidia-cuda-nvrtc` and add the folder \
              holding libnvrtc.so.* to LD_LIBRARY_PATH; or run on the CPU with `--device cpu`"
            .into(),
    }
}

fn c_chars_to_string(raw: &[std::ffi::c_char]) -> String {
    // NVRTC's buffers are NUL-terminated; take everything up to the first NUL.
    let bytes: Vec<u8> = raw
        .iter()
        .map(|&c| c as u8)
        .take_while(|&b| b != 0)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Compiles `module` for `arch` (e.g. `"compute_80"`, or `"sm_90"` for a cubin-checked
/// build; the PTX is returned either way). An error carries NVRTC's full log.
pub fn compile(module: &KernelModule, arch: &str) -> Result<Compiled> {
    if !available() {
        return Err(missing());
    }
    let src = CString::new(module.source)
        .map_err(|_| nvrtc_error(format!("kernels/{}.cu contains a NUL byte", module.name)))?;
    let name = CString::new(format!("{}.cu", module.name))
        .map_err(|_| nvrtc_error("module name contains a NUL byte".into()))?;
    let prog = result::create_program(&src, Some(name.as_c_str()))
        .map_err(|e| nvrtc_error(format!("nvrtcCreateProgram({}.cu): {e:?}", module.name)))?;
    let mut options: Vec<String> = vec![format!("--gpu-architecture={arch}")];
    options.extend(OPTIONS.iter().map(|s| s.to_string()));
    // SAFETY: `prog` was created above and is destroyed once below; `src` and `name`
    // outlive it. The option strings are copied by cudarc into NUL-terminated buffers.
    let compiled = unsafe { result::compile_program(prog, &options) };
    // SAFETY: `prog` is a live program handle (compiled or failed, the log exists).
    let log = unsafe { result::get_program_log(prog) }
        .map(|raw| c_chars_to_string(&raw))
        .unwrap_or_default();
    let out = match compiled {
        Err(e) => Err(nvrtc_error(format!(
            "NVRTC could not compile kernels/{}.cu for {arch} ({e:?}):\n{log}",
            module.name
        ))),
        // SAFETY: compilation succeeded, so the program holds PTX.
        Ok(()) => unsafe { result::get_ptx(prog) }
            .map(|raw| Compiled {
                ptx: c_chars_to_string(&raw),
                log: log.trim().to_string(),
            })
            .map_err(|e| nvrtc_error(format!("nvrtcGetPTX({}.cu): {e:?}", module.name))),
    };
    // SAFETY: `prog` is live and not used after this.
    let _ = unsafe { result::destroy_program(prog) };
    out
}
