//! [`HostBackend`]: the device step's launches executed on the CPU with the twins in
//! `src/ops`, `src/loss` and `src/optim`. It is the reference the CUDA backend is
//! compared with launch by launch (`tests/cuda_device_step/`), and lets `cargo test`
//! check the lowering of a tape (`program`) against the CPU training step on any machine.
//! [`Backend::launch`] routes each launch to the file of its family (`Launch::family`):
//! `elementwise`, `reduce`, `embedding`, `layer_norm`, `gemm`, `gate`, `loss`, `clip`,
//! `optim`, one small function each.

mod clip;
mod elementwise;
mod embedding;
mod gate;
mod gemm;
mod layer_norm;
mod loss;
mod optim;
mod reduce;

use super::family::Family;
use super::launch::{Buf, IdxBuf, Launch};
use super::Backend;
use crate::error::{Error, Result};

/// Buffers in host memory; launches run at once, in order.
#[derive(Debug, Default)]
pub struct HostBackend {
    bufs: Vec<Vec<f32>>,
    idx: Vec<Vec<u32>>,
}

impl HostBackend {
    pub fn new() -> HostBackend {
        HostBackend::default()
    }

    pub(super) fn buf(&self, b: Buf) -> &[f32] {
        &self.bufs[b.0 as usize]
    }

    pub(super) fn ids(&self, b: IdxBuf) -> &[u32] {
        &self.idx[b.0 as usize]
    }

    /// Runs `f` with `out` taken out of the arena (so inputs can be borrowed beside it).
    pub(super) fn with_out(
        &mut self,
        out: Buf,
        inputs: &[Buf],
        f: impl FnOnce(&mut Vec<f32>, &HostBackend),
    ) -> Result<()> {
        if inputs.contains(&out) {
            return Err(Error::Handle {
                op: "HostBackend::launch",
                message: format!("buffer #{} is both written and read by one launch", out.0),
            });
        }
        let mut o = std::mem::take(&mut self.bufs[out.0 as usize]);
        f(&mut o, self);
        self.bufs[out.0 as usize] = o;
        Ok(())
    }

    /// Like [`HostBackend::with_out`] for a launch with two outputs (`None`: not written).
    pub(super) fn with_two_outs(
        &mut self,
        a: Option<Buf>,
        b: Option<Buf>,
        inputs: &[Buf],
        f: impl FnOnce(Option<&mut [f32]>, Option<&mut [f32]>, &HostBackend),
    ) -> Result<()> {
        let outs: Vec<Buf> = a.into_iter().chain(b).collect();
        if outs.iter().any(|o| inputs.contains(o)) {
            return Err(Error::Handle {
                op: "HostBackend::launch",
                message: "a launch writes a buffer it also reads".into(),
            });
        }
        let mut ta = a.map(|x| std::mem::take(&mut self.bufs[x.0 as usize]));
        // the same buffer for both outputs: accumulate the second into a copy, then add
        let same = a.is_some() && a == b;
        let mut tb = match b {
            Some(_) if same => Some(vec![0.0; ta.as_ref().map_or(0, Vec::len)]),
            Some(x) => Some(std::mem::take(&mut self.bufs[x.0 as usize])),
            None => None,
        };
        f(ta.as_deref_mut(), tb.as_deref_mut(), self);
        if same {
            let (va, vb) = (ta.as_mut().expect("same ⇒ a"), tb.expect("same ⇒ b"));
            va.iter_mut().zip(&vb).for_each(|(x, y)| *x += y);
        } else if let (Some(x), Some(v)) = (b, tb) {
            self.bufs[x.0 as usize] = v;
        }
        if let (Some(x), Some(v)) = (a, ta) {
            self.bufs[x.0 as usize] = v;
        }
        Ok(())
    }
}

impl Backend for HostBackend {
    fn name(&self) -> String {
        "host (CPU twins)".into()
    }

    fn alloc(&mut self, len: usize) -> Result<Buf> {
        self.bufs.push(vec![0.0; len]);
        Ok(Buf(self.bufs.len() as u32 - 1))
    }

    fn alloc_idx(&mut self) -> Result<IdxBuf> {
        self.idx.push(Vec::new());
        Ok(IdxBuf(self.idx.len() as u32 - 1))
    }

    fn write(&mut self, buf: Buf, data: &[f32]) -> Result<()> {
        let b = &mut self.bufs[buf.0 as usize];
        check_len("HostBackend::write", "data", data.len(), b.len())?;
        b.copy_from_slice(data);
        Ok(())
    }

    fn write_idx(&mut self, buf: IdxBuf, data: &[u32]) -> Result<()> {
        let b = &mut self.idx[buf.0 as usize];
        b.clear();
        b.extend_from_slice(data);
        Ok(())
    }

    fn read(&mut self, buf: Buf, out: &mut [f32]) -> Result<()> {
        let b = &self.bufs[buf.0 as usize];
        check_len("HostBackend::read", "out", out.len(), b.len())?;
        out.copy_from_slice(b);
        Ok(())
    }

    fn len(&self, buf: Buf) -> usize {
        self.bufs[buf.0 as usize].len()
    }

    fn launch(&mut self, l: &Launch) -> Result<()> {
        match l.family() {
            Family::Elementwise => elementwise::launch(self, l),
            Family::Reduce => reduce::launch(self, l),
            Family::Embedding => embedding::launch(self, l),
            Family::LayerNorm => layer_norm::launch(self, l),
            Family::Gemm => gemm::launch(self, l),
            Family::Gate => gate::launch(self, l),
            Family::Loss => loss::launch(self, l),
            Family::Clip => clip::launch(self, l),
            Family::Optim => optim::launch(self, l),
        }
    }
}

/// An [`Error::Length`] unless `len == expected`.
pub(super) fn check_len(op: &'static str, what: &str, len: usize, expected: usize) -> Result<()> {
    if len == expected {
        return Ok(());
    }
    Err(Error::Length {
        op,
        what: what.into(),
        len,
        expected,
    })
}
