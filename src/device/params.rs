//! Every parameter of a store on a backend: values, gradients and optimiser state (Adam's
//! moments or SGD's velocity), plus the rows of each embedding table a step touched.
//!
//! Dense parameters get one gradient buffer each, zeroed before every backward pass
//! (`store.zero_grad()` on the CPU). A table's gradient is a dense `(V, D)` buffer that
//! the gather / bag backward launches scatter into; the step's touched rows (first-touch
//! order, as `SparseGrad`) are collected from the row ids fed to the tape, and
//! [`Launch::AdamRows`] / [`Launch::SgdRows`] update exactly those rows (the lazy rules of
//! `optim::Adam` / `optim::Sgd` on a `SparseGrad`) and zero their gradient again, so the
//! buffer never needs a full clear.

use super::launch::{Buf, IdxBuf, Launch};
use super::Backend;
use crate::autograd::{ParamId, ParamStore};
use crate::error::{Error, Result};
use crate::optim::{AdamConfig, Optimizer, SgdConfig};

/// The update rule run on the device.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Rule {
    /// `m`, `v`: first and second moments; `t` steps taken.
    Adam(AdamConfig),
    /// `m`: the velocity (`v` unused).
    Sgd(SgdConfig),
}

/// One parameter's buffers.
#[derive(Debug)]
struct Entry {
    value: Buf,
    grad: Buf,
    m: Buf,
    v: Buf,
    /// `Some` for an embedding table.
    table: Option<TableRows>,
    /// Left unchanged by the optimiser (`optim::Frozen`).
    frozen: bool,
}

/// The rows of a table touched in the current step.
#[derive(Debug)]
struct TableRows {
    width: usize,
    ids: IdxBuf,
    touched: Vec<u32>,
    seen: Vec<bool>, // (V,)
}

/// The parameters of one store on a backend, the update rule and Adam's step count.
#[derive(Debug)]
pub struct DeviceParams {
    entries: Vec<Entry>, // by ParamId index
    rule: Rule,
    t: u64,
    /// (1,) Σ g² of gradient clipping.
    sq: Buf,
}

impl DeviceParams {
    /// Copies every parameter of `store` and the state of `opt` (Adam: step count and
    /// moments; SGD: velocity; zero before the first step) to `backend`. Optimisers other
    /// than Adam / AdamW / SGD (and `Frozen` around them) are an error.
    pub fn upload<B: Backend + ?Sized, O: Optimizer + ?Sized>(
        backend: &mut B,
        store: &mut ParamStore,
        opt: &mut O,
    ) -> Result<DeviceParams> {
        let name = opt.name();
        let (rule, t) = match (
            opt.as_adam_mut().map(|a| (*a.config(), a.steps())),
            opt.as_sgd_mut(),
        ) {
            (Some((cfg, t)), _) => (Rule::Adam(cfg), t),
            (None, Some(s)) => (Rule::Sgd(*s.config()), 0),
            (None, None) => {
                return Err(Error::Config {
                    what: "device optimiser".into(),
                    message: format!("{name} has no device update; use adam, adamw or sgd"),
                })
            }
        };
        let ids: Vec<ParamId> = store.ids().collect();
        let mut entries = Vec::with_capacity(ids.len());
        for id in ids {
            let n = store.info(id).rows * store.info(id).cols;
            let cols = store.info(id).cols;
            let rows = store.info(id).rows;
            let [value, grad, m, v] = [(); 4].map(|_| backend.alloc(n));
            let (value, grad, m, v) = (value?, grad?, m?, v?);
            backend.write(value, store.value(id))?;
            match rule {
                Rule::Adam(_) if t > 0 => {
                    let adam = opt.as_adam_mut().expect("the rule is Adam");
                    let (mm, vv) = adam.moments_mut(store, id)?;
                    backend.write(m, mm)?;
                    backend.write(v, vv)?;
                }
                Rule::Sgd(_) => {
                    let sgd = opt.as_sgd_mut().expect("the rule is SGD");
                    if sgd.has_velocity() {
                        backend.write(m, sgd.velocity_mut(store, id)?)?;
                    }
                }
                Rule::Adam(_) => {}
            }
            let table = if store.sparse_grad(id).is_some() {
                Some(TableRows {
                    width: cols,
                    ids: backend.alloc_idx()?,
                    touched: Vec::new(),
                    seen: vec![false; rows],
                })
            } else {
                None
            };
            entries.push(Entry {
                value,
                grad,
                m,
                v,
                table,
                frozen: false,
            });
        }
        Ok(DeviceParams {
            entries,
            rule,
            t,
            sq: backend.alloc(1)?,
        })
    }

    fn entry(&self, id: ParamId) -> &Entry {
        &self.entries[id.index()]
    }

    /// The value buffer of `id`.
    pub fn value(&self, id: ParamId) -> Buf {
        self.entry(id).value
    }

    /// The gradient buffer of `id` (dense `(V, D)` for a table).
    pub fn grad(&self, id: ParamId) -> Buf {
        self.entry(id).grad
    }

    /// Notes the rows `ids` of table `id` as touched in this step.
    pub fn touch(&mut self, id: ParamId, ids: &[u32]) -> Result<()> {
        let Some(t) = self.entries[id.index()].table.as_mut() else {
            return Err(Error::Handle {
                op: "DeviceParams::touch",
                message: format!("parameter #{} is not an embedding table", id.index()),
            });
        };
        let bound = t.seen.len();
        for &r in ids {
            let seen = t.seen.get_mut(r as usize).ok_or(Error::Index {
                op: "DeviceParams::touch",
                position: 0,
                index: r as u64,
                bound,
            })?;
            if !*seen {
                *seen = true;
                t.touched.push(r);
            }
        }
        Ok(())
    }

    /// Leaves `ids` unchanged by [`DeviceParams::adam_step`], as `optim::Frozen` does:
    /// their gradients still count in the clipping norm, their moments stay zero.
    pub fn set_frozen(&mut self, ids: &[ParamId]) {
        for e in &mut self.entries {
            e.frozen = false;
        }
        for id in ids {
            self.entries[id.index()].frozen = true;
        }
    }

    /// Zeroes every dense gradient (tables are zeroed by their row update).
    pub fn zero_dense_grads<B: Backend + ?Sized>(&self, backend: &mut B) -> Result<()> {
        for e in self.entries.iter().filter(|e| e.table.is_none()) {
            backend.launch(&Launch::Fill {
                out: e.grad,
                value: 0.0,
            })?;
        }
        Ok(())
    }

    /// Copies each table's touched rows of this step to the backend (before
    /// [`DeviceParams::clip`] and [`DeviceParams::adam_step`], which read them).
    pub fn write_rows<B: Backend + ?Sized>(&self, backend: &mut B) -> Result<()> {
        for rows in self.entries.iter().filter_map(|e| e.table.as_ref()) {
            backend.write_idx(rows.ids, &rows.touched)?;
        }
        Ok(())
    }

    /// Gradient clipping by global L2 norm (`optim::clip_grad_norm`): the norm over every
    /// dense gradient and the touched rows of every table, then, if it exceeds `max_norm`,
    /// every one of those gradients scaled by `max_norm / (norm + 10⁻⁶)`. Returns the norm
    /// before clipping (one copy back); a non-finite norm is an error, as on the CPU.
    pub fn clip<B: Backend + ?Sized>(&self, backend: &mut B, max_norm: f32) -> Result<f32> {
        let sq = self.sq;
        backend.launch(&Launch::Fill {
            out: sq,
            value: 0.0,
        })?;
        let parts = self.entries.iter().filter_map(|e| match &e.table {
            None => Some((e.grad, None, 1)),
            Some(t) if t.touched.is_empty() => None,
            Some(t) => Some((e.grad, Some(t.ids), t.width)),
        });
        for (x, rows, width) in parts.clone() {
            backend.launch(&Launch::SumSq {
                sq,
                k: 0,
                x,
                rows,
                width,
            })?;
        }
        let mut total = [0f32];
        backend.read(sq, &mut total)?;
        let norm = (total[0] as f64).sqrt() as f32;
        if !norm.is_finite() {
            return Err(Error::Value {
                op: "clip_grad_norm (device)",
                what: "global gradient L2 norm".into(),
                position: 0,
                value: norm as f64,
                expected: "a finite number; some gradient is NaN or infinite: lower the \
                           learning rate or check the inputs and losses"
                    .into(),
            });
        }
        for (x, rows, width) in parts {
            backend.launch(&Launch::ClipScale {
                x,
                rows,
                width,
                sq,
                k: 0,
                c: max_norm,
            })?;
        }
        Ok(norm)
    }

    /// One optimiser step at learning rate `lr`: every dense parameter, and the touched
    /// rows of every table (written by [`DeviceParams::write_rows`]; then forgotten).
    pub fn step<B: Backend + ?Sized>(&mut self, backend: &mut B, lr: f32) -> Result<()> {
        crate::optim::check_lr("the device optimiser", lr)?;
        if matches!(self.rule, Rule::Adam(_)) {
            self.t += 1;
        }
        let (rule, t) = (self.rule, self.t);
        for e in &mut self.entries {
            let (theta, g, m, v) = (e.value, e.grad, e.m, e.v);
            match e.table.as_mut() {
                None if e.frozen => {}
                Some(rows) if e.frozen => {
                    if !rows.touched.is_empty() {
                        // not updated; the gradient of its touched rows goes back to 0
                        backend.launch(&Launch::Fill { out: g, value: 0.0 })?;
                        for &r in &rows.touched {
                            rows.seen[r as usize] = false;
                        }
                        rows.touched.clear();
                    }
                }
                None => backend.launch(&match rule {
                    Rule::Adam(cfg) => Launch::Adam {
                        theta,
                        g,
                        m,
                        v,
                        cfg,
                        lr,
                        t,
                    },
                    Rule::Sgd(cfg) => Launch::Sgd {
                        theta,
                        g,
                        v: m,
                        cfg,
                        lr,
                    },
                })?,
                Some(rows) => {
                    if rows.touched.is_empty() {
                        continue;
                    }
                    let (ids, width) = (rows.ids, rows.width);
                    backend.launch(&match rule {
                        Rule::Adam(cfg) => Launch::AdamRows {
                            theta,
                            g,
                            m,
                            v,
                            rows: ids,
                            width,
                            cfg,
                            lr,
                            t,
                        },
                        Rule::Sgd(cfg) => Launch::SgdRows {
                            theta,
                            g,
                            v: m,
                            rows: ids,
                            width,
                            cfg,
                            lr,
                        },
                    })?;
                    for &r in &rows.touched {
                        rows.seen[r as usize] = false;
                    }
                    rows.touched.clear();
                }
            }
        }
        Ok(())
    }

    /// Copies the values into `store`, and the optimiser state into `opt` (the optimiser
    /// the parameters were uploaded with).
    pub fn download<B: Backend + ?Sized, O: Optimizer + ?Sized>(
        &self,
        backend: &mut B,
        store: &mut ParamStore,
        opt: &mut O,
    ) -> Result<()> {
        let ids: Vec<ParamId> = store.ids().collect();
        for (&id, e) in ids.iter().zip(&self.entries) {
            backend.read(e.value, store.value_mut(id))?;
            match (self.rule, opt.as_adam_mut(), self.t) {
                (Rule::Adam(_), Some(adam), t) if t > 0 => {
                    let (m, v) = adam.moments_mut(store, id)?;
                    backend.read(e.m, m)?;
                    backend.read(e.v, v)?;
                }
                _ => {}
            }
            if let (Rule::Sgd(cfg), Some(sgd)) = (self.rule, opt.as_sgd_mut()) {
                if cfg.momentum != 0.0 {
                    backend.read(e.m, sgd.velocity_mut(store, id)?)?;
                }
            }
        }
        if let Some(adam) = opt.as_adam_mut() {
            adam.set_steps(self.t);
        }
        Ok(())
    }
}
