//! [`CudaBackend`]: the device step's [`Backend`] on one GPU (feature `cuda`). Buffers are
//! `CudaSlice`s owned by the backend; each [`Launch`] is one call of a typed wrapper of
//! `crate::device::cuda::kernels` (the match in `dispatch/`), queued on the device's stream.
//!
//! ```text
//! bufs: Vec<Option<CudaSlice<f32>>>   Buf(i) → bufs[i]; None only while a launch holds it
//! idx:  Vec<(CudaSlice<u32>, len)>    IdxBuf(i) → (capacity ≥ max(len, 1), logical len)
//! ```
//! A launch takes its output buffers out of `bufs` (so they can be borrowed mutably while
//! the inputs are read from the same table) and puts them back afterwards, also on error.
//! An output handle that is also an input of the same launch is an [`Error::Handle`]: the
//! kernels read and write through different pointers, so aliasing is not supported.

use super::CudaDevice;
use crate::device::{Backend, Buf, IdxBuf, Launch};
use crate::error::{Error, Result};
use cudarc::driver::{CudaSlice, CudaView};
use std::sync::Arc;

/// Executes [`Launch`]es with the kernels of `kernels/*.cu` on one GPU.
pub struct CudaBackend {
    dev: Arc<CudaDevice>,
    table: Table,
}

/// The buffers of a [`CudaBackend`], by handle.
#[derive(Default)]
pub(super) struct Table {
    /// f32 buffers; `None` while taken as the output of a running launch.
    bufs: Vec<Option<CudaSlice<f32>>>,
    /// u32 buffers: the allocation (at least 1 element: CUDA cannot allocate 0) and the
    /// logical length of the last `write_idx`.
    idx: Vec<(CudaSlice<u32>, usize)>,
}

impl Table {
    /// Input buffer `b`.
    pub(super) fn get(&self, op: &'static str, b: Buf) -> Result<&CudaSlice<f32>> {
        match self.bufs.get(b.0 as usize) {
            Some(Some(s)) => Ok(s),
            Some(None) => Err(Error::Handle {
                op,
                message: format!(
                    "{b:?} is both an output and an input of this launch; the CUDA backend \
                     needs distinct buffers (lower the op to a separate output buffer)"
                ),
            }),
            None => Err(self.unknown(op, b)),
        }
    }

    /// Takes output buffer `b` out of the table (see [`Table::put`]).
    fn take(&mut self, op: &'static str, b: Buf) -> Result<CudaSlice<f32>> {
        let n = self.bufs.len();
        match self.bufs.get_mut(b.0 as usize) {
            Some(slot) => slot.take().ok_or_else(|| Error::Handle {
                op,
                message: format!(
                    "{b:?} is given twice as an output of this launch; the CUDA backend needs \
                     distinct buffers"
                ),
            }),
            None => Err(Error::Handle {
                op,
                message: format!("no buffer {b:?}: this backend has {n} f32 buffers"),
            }),
        }
    }

    fn put(&mut self, b: Buf, s: CudaSlice<f32>) {
        if let Some(slot) = self.bufs.get_mut(b.0 as usize) {
            *slot = Some(s);
        }
    }

    fn unknown(&self, op: &'static str, b: Buf) -> Error {
        Error::Handle {
            op,
            message: format!(
                "no buffer {b:?}: this backend has {} f32 buffers",
                self.bufs.len()
            ),
        }
    }

    /// The ids of `b`, all of them (its logical length).
    pub(super) fn idx_all(&self, op: &'static str, b: IdxBuf) -> Result<CudaView<'_, u32>> {
        match self.idx.get(b.0 as usize) {
            Some((s, len)) => Ok(s.slice(..*len)),
            None => Err(Error::Handle {
                op,
                message: format!(
                    "no index buffer {b:?}: this backend has {} of them",
                    self.idx.len()
                ),
            }),
        }
    }

    /// The ids of `b`, which must hold exactly `n` (the launch's size).
    pub(super) fn idx(&self, op: &'static str, b: IdxBuf, n: usize) -> Result<CudaView<'_, u32>> {
        let v = self.idx_all(op, b)?;
        if v.len() != n {
            return Err(Error::Length {
                op,
                what: format!("index buffer {b:?}"),
                len: v.len(),
                expected: n,
            });
        }
        Ok(v)
    }
}

impl CudaBackend {
    /// A backend with no buffers on `dev` (from [`CudaDevice::open`]).
    pub fn new(dev: Arc<CudaDevice>) -> CudaBackend {
        CudaBackend {
            dev,
            table: Table::default(),
        }
    }

    /// The GPU.
    pub fn device(&self) -> &Arc<CudaDevice> {
        &self.dev
    }

    /// Runs `f` with the outputs `outs` taken out of the table (mutable) and the table
    /// (inputs); puts the outputs back afterwards, whatever `f` returns.
    pub(super) fn outs<const N: usize>(
        &mut self,
        op: &'static str,
        outs: [Buf; N],
        f: impl FnOnce(&CudaDevice, &Table, [&mut CudaSlice<f32>; N]) -> Result<()>,
    ) -> Result<()> {
        self.opt_outs(op, outs.map(Some), |dev, t, o| {
            let o: Vec<&mut CudaSlice<f32>> = o.into_iter().flatten().collect();
            let o: [&mut CudaSlice<f32>; N] = o.try_into().map_err(|_| Error::Handle {
                op,
                message: "internal: an output buffer went missing".into(),
            })?;
            f(dev, t, o)
        })
    }

    /// [`CudaBackend::outs`] for optional outputs (`None` stays `None`).
    pub(super) fn opt_outs<const N: usize>(
        &mut self,
        op: &'static str,
        outs: [Option<Buf>; N],
        f: impl FnOnce(&CudaDevice, &Table, [Option<&mut CudaSlice<f32>>; N]) -> Result<()>,
    ) -> Result<()> {
        let mut taken: [Option<CudaSlice<f32>>; N] = std::array::from_fn(|_| None);
        let mut result = Ok(());
        for (slot, b) in taken.iter_mut().zip(outs) {
            if let Some(b) = b {
                match self.table.take(op, b) {
                    Ok(s) => *slot = Some(s),
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
        }
        if result.is_ok() {
            result = f(&self.dev, &self.table, taken.each_mut().map(Option::as_mut));
        }
        for (slot, b) in taken.into_iter().zip(outs) {
            if let (Some(s), Some(b)) = (slot, b) {
                self.table.put(b, s);
            }
        }
        result
    }
}

impl Backend for CudaBackend {
    fn name(&self) -> String {
        format!("cuda:{} ({})", self.dev.ordinal(), self.dev.name())
    }

    /// Fails for `len = 0`: CUDA cannot allocate an empty buffer.
    fn alloc(&mut self, len: usize) -> Result<Buf> {
        let id = handle("alloc", self.table.bufs.len())?;
        self.table.bufs.push(Some(self.dev.zeros(len)?));
        Ok(Buf(id))
    }

    fn alloc_idx(&mut self) -> Result<IdxBuf> {
        let id = handle("alloc_idx", self.table.idx.len())?;
        self.table.idx.push((self.dev.zeros(1)?, 0));
        Ok(IdxBuf(id))
    }

    fn write(&mut self, buf: Buf, data: &[f32]) -> Result<()> {
        self.outs("write", [buf], |dev, _, [s]| {
            if s.len() != data.len() {
                return Err(Error::Length {
                    op: "write",
                    what: format!("data for {buf:?}"),
                    len: data.len(),
                    expected: s.len(),
                });
            }
            dev.htod_into(data, s)
        })
    }

    /// Reuses the allocation when `data` fits, else allocates exactly `data.len()`.
    fn write_idx(&mut self, buf: IdxBuf, data: &[u32]) -> Result<()> {
        let n = self.table.idx.len();
        let (slice, len) = self
            .table
            .idx
            .get_mut(buf.0 as usize)
            .ok_or_else(|| Error::Handle {
                op: "write_idx",
                message: format!("no index buffer {buf:?}: this backend has {n} of them"),
            })?;
        if data.len() > slice.len() {
            *slice = self.dev.htod(data)?;
        } else {
            self.dev.htod_into(data, slice)?;
        }
        *len = data.len();
        Ok(())
    }

    /// Waits for every launch queued so far (and reports a kernel that failed).
    fn read(&mut self, buf: Buf, out: &mut [f32]) -> Result<()> {
        let s = self.table.get("read", buf)?;
        self.dev.dtoh_into(s, out)?;
        self.dev.synchronize()
    }

    /// 0 for a handle this backend did not make.
    fn len(&self, buf: Buf) -> usize {
        match self.table.bufs.get(buf.0 as usize) {
            Some(Some(s)) => s.len(),
            _ => 0,
        }
    }

    fn launch(&mut self, l: &Launch) -> Result<()> {
        super::dispatch::launch(self, l)
    }
}

/// The next handle number, as the handles' u32.
fn handle(op: &'static str, n: usize) -> Result<u32> {
    u32::try_from(n).map_err(|_| Error::Handle {
        op,
        message: format!("more than {} buffers", u32::MAX),
    })
}
