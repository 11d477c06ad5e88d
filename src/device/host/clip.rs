//! [`HostBackend`]: the CPU twins of the launches of gradient clipping by the global norm.

use super::HostBackend;
use crate::device::family::{misrouted, Family};
use crate::device::launch::Launch;
use crate::error::Result;

/// Runs one launch of this family with its CPU twin.
pub(super) fn launch(be: &mut HostBackend, l: &Launch) -> Result<()> {
    match *l {
        Launch::SumSq {
            sq,
            k,
            x,
            rows,
            width,
        } => {
            // Σ x² in f64 over the block or the listed rows, as optim::grad_norm
            let xs = be.buf(x);
            let sq_rows = |r: &u32| {
                let row = &xs[*r as usize * width..(*r as usize + 1) * width];
                row.iter().map(|&v| v as f64 * v as f64).sum::<f64>()
            };
            let total: f64 = match rows {
                None => xs.iter().map(|&v| v as f64 * v as f64).sum(),
                Some(r) => be.ids(r).iter().map(sq_rows).sum(),
            };
            let acc = &mut be.bufs[sq.0 as usize][k];
            *acc = (*acc as f64 + total) as f32;
            Ok(())
        }
        Launch::ClipScale {
            x,
            rows,
            width,
            sq,
            k,
            c,
        } => {
            let norm = (be.buf(sq)[k] as f64).sqrt() as f32; // ‖g‖
            if norm > c {
                let s = c / (norm + 1e-6); // s = c / (‖g‖ + 10⁻⁶)
                let ids = rows.map(|r| std::mem::take(&mut be.idx[r.0 as usize]));
                let xs = &mut be.bufs[x.0 as usize];
                match &ids {
                    None => xs.iter_mut().for_each(|v| *v *= s),
                    Some(ids) => {
                        for &r in ids {
                            let row = &mut xs[r as usize * width..(r as usize + 1) * width];
                            row.iter_mut().for_each(|v| *v *= s);
                        }
                    }
                }
                if let (Some(r), Some(ids)) = (rows, ids) {
                    be.idx[r.0 as usize] = ids;
                }
            }
            Ok(())
        }
        _ => Err(misrouted("host", Family::Clip, l)),
    }
}
