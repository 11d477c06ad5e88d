//! A stack of fused linear layers (`y = f(x·W + b)` per layer) whose weights, gradients,
//! activations and Adam moments live on the GPU: forward, backward and optimiser step of an
//! MLP tower or expert. It predates the device training step (`crate::device`, which runs
//! whole models) and stays as an independent GPU check of the fused layer. Each layer is
//! one `linear_act_fwd_f32` launch forward and `linear_act_bwd_f32` + two SGEMMs backward.
//! Dropout is not on the device; a layer without activation uses `UnaryKind::Identity`.

use super::kernels::{self, UnaryKind};
use super::CudaDevice;
use crate::autograd::{ParamId, ParamStore};
use crate::error::{Dims, Error, Result};
use crate::optim::AdamConfig;
use cudarc::driver::CudaSlice;
use std::sync::Arc;

/// One layer: parameters and their gradients on the device, plus the saved activations
/// of the last forward pass.
struct Layer {
    w_id: ParamId,
    b_id: ParamId,
    d_in: usize,
    d_out: usize,
    kind: UnaryKind,
    w: CudaSlice<f32>,    // (D_in, D_out)
    b: CudaSlice<f32>,    // (1, D_out)
    dw: CudaSlice<f32>,   // (D_in, D_out)
    db: CudaSlice<f32>,   // (1, D_out)
    pre: CudaSlice<f32>,  // (B, D_out), x·W + b
    out: CudaSlice<f32>,  // (B, D_out), f(pre)
    dpre: CudaSlice<f32>, // (B, D_out), scratch of the backward pass
}

/// An MLP on one GPU; see the module documentation.
pub struct DeviceMlp {
    dev: Arc<CudaDevice>,
    layers: Vec<Layer>,
    /// The input of the last forward pass, (B, D_in of layer 0).
    input: Option<CudaSlice<f32>>,
    /// ∂L/∂(input of layer i + 1), (B, D_out of layer i), for all but the last layer.
    dh: Vec<CudaSlice<f32>>,
    batch: usize,
    /// Adam / AdamW state on the device, allocated by the first [`DeviceMlp::adam_step`].
    adam: Option<AdamState>,
}

/// Step count and moments (m, v) of every `w` and `b`, layer by layer.
struct AdamState {
    cfg: AdamConfig,
    t: u64,
    moments: Vec<[CudaSlice<f32>; 4]>, // m_w, v_w, m_b, v_b
}

impl DeviceMlp {
    /// Copies the dense parameters `(w, b)` of each layer (`w`: (D_in, D_out), `b`:
    /// (1, D_out), consecutive widths matching) from `store` to the device; `kind` is each
    /// layer's activation.
    pub fn upload(
        dev: &Arc<CudaDevice>,
        store: &ParamStore,
        layers: &[(ParamId, ParamId, UnaryKind)],
    ) -> Result<DeviceMlp> {
        if layers.is_empty() {
            return Err(Error::Config {
                what: "DeviceMlp".into(),
                message: "needs at least one layer".into(),
            });
        }
        let mut out = Vec::with_capacity(layers.len());
        for (i, &(w_id, b_id, kind)) in layers.iter().enumerate() {
            store.check("DeviceMlp::upload", w_id)?;
            store.check("DeviceMlp::upload", b_id)?;
            let (wi, bi) = (store.info(w_id), store.info(b_id));
            let (d_in, d_out) = (wi.rows, wi.cols);
            let prev = out.last().map(|l: &Layer| l.d_out);
            if (bi.rows, bi.cols) != (1, d_out) || prev.is_some_and(|p| p != d_in) {
                return Err(Error::Shape {
                    op: "DeviceMlp::upload",
                    shapes: vec![Dims(wi.rows, wi.cols), Dims(bi.rows, bi.cols)],
                    expected: format!(
                        "layer {i}: w (D_in, D_out), b (1, D_out), D_in = the previous layer's D_out ({prev:?})"
                    ),
                });
            }
            if store.grad(w_id).is_none() || store.grad(b_id).is_none() {
                return Err(Error::Handle {
                    op: "DeviceMlp::upload",
                    message: format!(
                        "layer {i}: `{}` / `{}` must be dense parameters",
                        wi.name, bi.name
                    ),
                });
            }
            out.push(Layer {
                w_id,
                b_id,
                d_in,
                d_out,
                kind,
                w: dev.htod(store.value(w_id))?,
                b: dev.htod(store.value(b_id))?,
                dw: dev.zeros(d_in * d_out)?,
                db: dev.zeros(d_out)?,
                // resized by the first forward pass (the driver allocates nothing of size 0)
                pre: dev.zeros(d_out)?,
                out: dev.zeros(d_out)?,
                dpre: dev.zeros(d_out)?,
            });
        }
        Ok(DeviceMlp {
            dev: dev.clone(),
            layers: out,
            input: None,
            dh: Vec::new(),
            batch: 0,
            adam: None,
        })
    }

    /// Width of the input.
    pub fn d_in(&self) -> usize {
        self.layers[0].d_in
    }

    /// Width of the output.
    pub fn d_out(&self) -> usize {
        self.layers[self.layers.len() - 1].d_out
    }

    fn ensure_batch(&mut self, b: usize) -> Result<()> {
        if self.batch == b {
            return Ok(());
        }
        let dev = self.dev.clone();
        for l in &mut self.layers {
            l.pre = dev.zeros(b * l.d_out)?;
            l.out = dev.zeros(b * l.d_out)?;
            l.dpre = dev.zeros(b * l.d_out)?;
        }
        let last = self.layers.len() - 1;
        self.dh = self.layers[..last]
            .iter()
            .map(|l| dev.zeros(b * l.d_out))
            .collect::<Result<_>>()?;
        self.batch = b;
        Ok(())
    }

    /// Runs the layers on `x` (B, D_in), which is kept for the backward pass; returns the
    /// output (B, D_out).
    pub fn forward(&mut self, x: CudaSlice<f32>, b: usize) -> Result<&CudaSlice<f32>> {
        kernels::check_len("DeviceMlp::forward", "x", x.len(), b * self.d_in())?;
        self.ensure_batch(b)?;
        let dev = self.dev.clone();
        self.input = Some(x);
        for i in 0..self.layers.len() {
            let (done, rest) = self.layers.split_at_mut(i);
            let l = &mut rest[0];
            let inp = match done.last() {
                Some(prev) => &prev.out,
                None => self.input.as_ref().expect("set above"),
            };
            // in: (B, D_in) → pre = in·W + b, out = f(pre): (B, D_out)
            kernels::linear_act_forward(
                &dev,
                &mut l.out,
                &mut l.pre,
                inp,
                &l.w,
                &l.b,
                (b, l.d_in, l.d_out),
                l.kind,
            )?;
        }
        Ok(&self.layers[self.layers.len() - 1].out)
    }

    /// Accumulates every layer's `dW`, `db` for `dout` = ∂L/∂output (B, D_out) of the last
    /// forward pass, and `dx` (B, D_in) if given.
    pub fn backward(
        &mut self,
        dout: &CudaSlice<f32>,
        dx: Option<&mut CudaSlice<f32>>,
    ) -> Result<()> {
        let b = self.batch;
        let input = self.input.as_ref().ok_or_else(|| Error::Handle {
            op: "DeviceMlp::backward",
            message: "call forward before backward".into(),
        })?;
        kernels::check_len("DeviceMlp::backward", "dout", dout.len(), b * self.d_out())?;
        let dev = self.dev.clone();
        for g in &mut self.dh {
            dev.stream()
                .memset_zeros(g)
                .map_err(|e| super::device::driver_error(dev.ordinal(), "cuMemsetD8", e))?;
        }
        let mut dx = dx;
        let last = self.layers.len() - 1;
        let n_dh = self.dh.len(); // = last
        for i in (0..=last).rev() {
            let (below, rest) = self.layers.split_at_mut(i);
            let l = &mut rest[0];
            let inp = below.last().map_or(input, |p| &p.out);
            // dh[i] = ∂L/∂(output of layer i) for i < last; dh[i − 1] receives ∂L/∂(its input)
            let (dh_below, dh_rest) = self.dh.split_at_mut(i.min(n_dh));
            let dy: &CudaSlice<f32> = if i == last { dout } else { &dh_rest[0] };
            let dinp: Option<&mut CudaSlice<f32>> = if i == 0 {
                dx.as_deref_mut()
            } else {
                dh_below.last_mut()
            };
            kernels::linear_act_backward(
                &dev,
                dinp,
                &mut l.dw,
                &mut l.db,
                &mut l.dpre,
                dy,
                inp,
                &l.w,
                (&l.pre, &l.out),
                (b, l.d_in, l.d_out),
                l.kind,
            )?;
        }
        Ok(())
    }

    /// Sets every parameter gradient to zero.
    pub fn zero_grad(&mut self) -> Result<()> {
        let dev = self.dev.clone();
        for l in &mut self.layers {
            for g in [&mut l.dw, &mut l.db] {
                dev.stream()
                    .memset_zeros(g)
                    .map_err(|e| super::device::driver_error(dev.ordinal(), "cuMemsetD8", e))?;
            }
        }
        Ok(())
    }

    /// The parameter gradients, copied to the host: `(id, gradient)` for each `w` and `b`.
    pub fn grads(&self) -> Result<Vec<(ParamId, Vec<f32>)>> {
        let mut out = Vec::with_capacity(2 * self.layers.len());
        for l in &self.layers {
            out.push((l.w_id, self.dev.dtoh(&l.dw)?));
            out.push((l.b_id, self.dev.dtoh(&l.db)?));
        }
        Ok(out)
    }

    /// One Adam / AdamW step of every parameter with the current gradients; the moments
    /// stay on the device (allocated on the first call). Same rule and step count as
    /// `optim::Adam` on the CPU (`adam_step_f32`).
    pub fn adam_step(&mut self, cfg: &AdamConfig, lr: f32) -> Result<()> {
        let dev = self.dev.clone();
        if self.adam.as_ref().is_some_and(|a| a.cfg != *cfg) {
            return Err(Error::Config {
                what: "DeviceMlp::adam_step".into(),
                message: "the Adam configuration changed between steps; keep one per run".into(),
            });
        }
        if self.adam.is_none() {
            let moments = self
                .layers
                .iter()
                .map(|l| -> Result<[CudaSlice<f32>; 4]> {
                    let (nw, nb) = (l.d_in * l.d_out, l.d_out);
                    Ok([
                        dev.zeros(nw)?,
                        dev.zeros(nw)?,
                        dev.zeros(nb)?,
                        dev.zeros(nb)?,
                    ])
                })
                .collect::<Result<_>>()?;
            self.adam = Some(AdamState {
                cfg: *cfg,
                t: 0,
                moments,
            });
        }
        let state = self.adam.as_mut().expect("set above");
        state.t += 1;
        for (l, [mw, vw, mb, vb]) in self.layers.iter_mut().zip(state.moments.iter_mut()) {
            kernels::adam_step(&dev, &mut l.w, &l.dw, mw, vw, cfg, lr, state.t)?;
            kernels::adam_step(&dev, &mut l.b, &l.db, mb, vb, cfg, lr, state.t)?;
        }
        Ok(())
    }

    /// Copies the device's parameter values back into `store` (for evaluation or a
    /// checkpoint).
    pub fn download(&self, store: &mut ParamStore) -> Result<()> {
        for l in &self.layers {
            let w = self.dev.dtoh(&l.w)?;
            store.value_mut(l.w_id).copy_from_slice(&w);
            let b = self.dev.dtoh(&l.b)?;
            store.value_mut(l.b_id).copy_from_slice(&b);
        }
        Ok(())
    }
}
