//! One GPU: its context and stream, and the kernel modules compiled for it (NVRTC once per
//! module and device, cached for the life of the process).

use super::nvrtc;
use super::sources::{self, KernelModule};
use crate::error::{Error, Result};
use cudarc::driver::{
    CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream, DeviceRepr, DriverError,
    ValidAsZeroBits,
};
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, OnceLock};

/// An open GPU. Obtain it with [`CudaDevice::open`]; the same ordinal gives the same
/// `Arc` for the life of the process, so modules are compiled once per device.
pub struct CudaDevice {
    ordinal: usize,
    name: String,
    /// NVRTC target, `compute_<major><minor>` of the device.
    arch: String,
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    modules: Mutex<HashMap<&'static str, Arc<CudaModule>>>,
    /// Kernel handles by (module, kernel), so a launch looks its function up once.
    functions: Mutex<HashMap<(&'static str, String), CudaFunction>>,
}

impl std::fmt::Debug for CudaDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CudaDevice(cuda:{} {} {})",
            self.ordinal, self.name, self.arch
        )
    }
}

fn devices() -> &'static Mutex<HashMap<usize, Arc<CudaDevice>>> {
    static DEVICES: OnceLock<Mutex<HashMap<usize, Arc<CudaDevice>>>> = OnceLock::new();
    DEVICES.get_or_init(|| Mutex::new(HashMap::new()))
}

/// A driver error as [`Error::Device`], naming the call that failed.
pub(crate) fn driver_error(ordinal: usize, call: &str, e: DriverError) -> Error {
    let detail = e
        .error_string()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|_| format!("{e:?}"));
    Error::Device {
        device: format!("cuda:{ordinal}"),
        what: format!("{call} failed: {detail} ({e:?})"),
        fix: "check `nvidia-smi`; run on the CPU with `--device cpu`".into(),
    }
}

fn no_driver(ordinal: usize) -> Error {
    Error::Device {
        device: format!("cuda:{ordinal}"),
        what: "the CUDA driver library (libcuda.so) could not be loaded: no NVIDIA driver on \
               this machine, or it is not on the loader path"
            .into(),
        fix: "install the NVIDIA driver (check with `nvidia-smi`), or run on the CPU with \
              `--device cpu` (the default)"
            .into(),
    }
}

/// Runs a cudarc call that may panic (cudarc panics when a library or symbol is missing)
/// and turns the panic into an error.
fn guarded<T>(ordinal: usize, call: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".into());
        Err(Error::Device {
            device: format!("cuda:{ordinal}"),
            what: format!("{call}: {msg}"),
            fix: "the CUDA driver is missing a function this build expects (mtrec binds \
                  CUDA 13.0; update the driver) or run with `--device cpu`"
                .into(),
        })
    })
}

impl CudaDevice {
    /// Opens GPU `ordinal` (0 for the first). Fails with [`Error::Device`] when the driver
    /// library is missing, there is no GPU, `ordinal` is out of range or NVRTC is missing.
    pub fn open(ordinal: usize) -> Result<Arc<CudaDevice>> {
        let mut open = devices().lock().unwrap_or_else(|p| p.into_inner());
        if let Some(dev) = open.get(&ordinal) {
            return Ok(dev.clone());
        }
        // SAFETY: only tries `dlopen` on cudarc's candidate names; no symbol is called.
        if !unsafe { cudarc::driver::sys::is_culib_present() } {
            return Err(no_driver(ordinal));
        }
        let dev = guarded(ordinal, "opening the device", || {
            Self::open_checked(ordinal)
        })?;
        let dev = Arc::new(dev);
        open.insert(ordinal, dev.clone());
        Ok(dev)
    }

    fn open_checked(ordinal: usize) -> Result<CudaDevice> {
        let count = CudaContext::device_count()
            .map_err(|e| driver_error(ordinal, "cuInit / cuDeviceGetCount", e))?;
        if count <= 0 {
            return Err(Error::Device {
                device: format!("cuda:{ordinal}"),
                what: "the CUDA driver is installed but reports no GPU".into(),
                fix: "check `nvidia-smi -L`, or run on the CPU with `--device cpu`".into(),
            });
        }
        if ordinal >= count as usize {
            return Err(Error::Device {
                device: format!("cuda:{ordinal}"),
                what: format!("there are {count} GPU(s), numbered 0..{count}"),
                fix: format!("pick a device number below {count}"),
            });
        }
        if !nvrtc::available() {
            return Err(nvrtc::missing_for(&format!("cuda:{ordinal}")));
        }
        let ctx = CudaContext::new(ordinal)
            .map_err(|e| driver_error(ordinal, "cuDevicePrimaryCtxRetain", e))?;
        let name = ctx
            .name()
            .map_err(|e| driver_error(ordinal, "cuDeviceGetName", e))?;
        let (major, minor) = ctx
            .compute_capability()
            .map_err(|e| driver_error(ordinal, "cuDeviceGetAttribute", e))?;
        let stream = ctx.default_stream();
        Ok(CudaDevice {
            ordinal,
            name,
            arch: format!("compute_{major}{minor}"),
            ctx,
            stream,
            modules: Mutex::new(HashMap::new()),
            functions: Mutex::new(HashMap::new()),
        })
    }

    /// The GPU's name as the driver reports it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The device number.
    pub fn ordinal(&self) -> usize {
        self.ordinal
    }

    /// The NVRTC target the kernels are compiled for (`compute_90` on an H100).
    pub fn arch(&self) -> &str {
        &self.arch
    }

    /// The stream every launch and copy of this device goes to (in order).
    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }

    /// The driver context.
    pub fn context(&self) -> &Arc<CudaContext> {
        &self.ctx
    }

    fn err(&self, call: &str, e: DriverError) -> Error {
        driver_error(self.ordinal, call, e)
    }

    /// The loaded module `name` (compiled with NVRTC on first use, then cached).
    pub fn module(&self, name: &'static str) -> Result<Arc<CudaModule>> {
        let mut cache = self.modules.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = cache.get(name) {
            return Ok(m.clone());
        }
        let src: &KernelModule = sources::module(name).ok_or_else(|| Error::Device {
            device: format!("cuda:{}", self.ordinal),
            what: format!("no kernel module `{name}`"),
            fix: "use a name listed in mtrec::device::cuda::sources::MODULES".into(),
        })?;
        let compiled = nvrtc::compile(src, &self.arch)?;
        let module = self
            .ctx
            .load_module(compiled.to_ptx())
            .map_err(|e| self.err(&format!("cuModuleLoadData({name}.cu)"), e))?;
        cache.insert(name, module.clone());
        Ok(module)
    }

    /// Compiles and loads every module now (otherwise each is compiled on first use).
    pub fn load_all(&self) -> Result<()> {
        for m in sources::MODULES {
            self.module(m.name)?;
        }
        Ok(())
    }

    /// Kernel `function` of module `module` (looked up once, then cached).
    pub fn function(&self, module: &'static str, function: &str) -> Result<CudaFunction> {
        let key = (module, function.to_string());
        if let Some(f) = self
            .functions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return Ok(f.clone());
        }
        let m = self.module(module)?;
        // Driver calls from a thread other than the one that opened the device need the
        // context current on that thread.
        self.ctx
            .bind_to_thread()
            .map_err(|e| self.err("cuCtxSetCurrent", e))?;
        let f = m
            .load_function(function)
            .map_err(|e| self.err(&format!("cuModuleGetFunction({module}.cu: {function})"), e))?;
        self.functions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, f.clone());
        Ok(f)
    }

    /// The driver cannot allocate 0 bytes: say so instead of passing its error on.
    fn check_nonempty(&self, what: &str, n: usize) -> Result<()> {
        if n == 0 {
            return Err(Error::Device {
                device: format!("cuda:{}", self.ordinal),
                what: format!("{what} of 0 elements: CUDA cannot allocate an empty buffer"),
                fix: "skip the operation for empty inputs (the launch wrappers do)".into(),
            });
        }
        Ok(())
    }

    /// Copies `host` (not empty) to a new device buffer.
    pub fn htod<T: DeviceRepr>(&self, host: &[T]) -> Result<CudaSlice<T>> {
        self.check_nonempty("host → device copy", host.len())?;
        self.stream
            .clone_htod(host)
            .map_err(|e| self.err("host → device copy", e))
    }

    /// Copies `dev` back to the host (waits for the stream's earlier work).
    pub fn dtoh<T: DeviceRepr>(&self, dev: &CudaSlice<T>) -> Result<Vec<T>> {
        self.stream
            .clone_dtoh(dev)
            .map_err(|e| self.err("device → host copy", e))
    }

    /// Copies `host` into the first `host.len()` elements of `dev` (at least that long).
    /// `host` may be reused on return: the driver stages pageable memory before returning.
    pub fn htod_into<T: DeviceRepr>(&self, host: &[T], dev: &mut CudaSlice<T>) -> Result<()> {
        if host.len() > dev.len() {
            return Err(Error::Length {
                op: "host → device copy",
                what: "device buffer".into(),
                len: dev.len(),
                expected: host.len(),
            });
        }
        if host.is_empty() {
            return Ok(());
        }
        self.stream
            .memcpy_htod(host, dev)
            .map_err(|e| self.err("host → device copy", e))
    }

    /// Copies `dev` into `host` of the same length; a copy into pageable memory waits for
    /// the stream's earlier work and is complete when the driver call returns.
    pub fn dtoh_into<T: DeviceRepr>(&self, dev: &CudaSlice<T>, host: &mut [T]) -> Result<()> {
        if host.len() != dev.len() {
            return Err(Error::Length {
                op: "device → host copy",
                what: "host buffer".into(),
                len: host.len(),
                expected: dev.len(),
            });
        }
        self.stream
            .memcpy_dtoh(dev, host)
            .map_err(|e| self.err("device → host copy", e))
    }

    /// A zeroed device buffer of `n > 0` elements.
    pub fn zeros<T: DeviceRepr + ValidAsZeroBits>(&self, n: usize) -> Result<CudaSlice<T>> {
        self.check_nonempty("device allocation", n)?;
        self.stream
            .alloc_zeros(n)
            .map_err(|e| self.err("device allocation", e))
    }

    /// Waits until every launch and copy queued so far has finished (benches call this
    /// before stopping the clock).
    pub fn synchronize(&self) -> Result<()> {
        self.stream
            .synchronize()
            .map_err(|e| self.err("cuStreamSynchronize", e))
    }
}
