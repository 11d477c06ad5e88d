//! [`HostBackend`]: the CPU twins of the optimiser-step launches (dense blocks and
//! touched table rows).

use super::HostBackend;
use crate::device::family::{misrouted, Family};
use crate::device::launch::Launch;
use crate::error::Result;
use crate::optim::adam::{adam_update, StepScalars};
use crate::optim::sgd::sgd_update;

/// Runs one launch of this family with its CPU twin.
pub(super) fn launch(be: &mut HostBackend, l: &Launch) -> Result<()> {
    match *l {
        Launch::Adam {
            theta,
            g,
            m,
            v,
            cfg,
            lr,
            t,
        } => {
            let (bc1, bc2) = crate::device::bias_corrections(&cfg, t);
            let s = StepScalars { lr, bc1, bc2 };
            let [tt, tm, tv] = [theta, m, v].map(|x| std::mem::take(&mut be.bufs[x.0 as usize]));
            let (mut tt, mut tm, mut tv) = (tt, tm, tv);
            adam_update(&mut tt, be.buf(g), &mut tm, &mut tv, &cfg, s);
            for (x, val) in [(theta, tt), (m, tm), (v, tv)] {
                be.bufs[x.0 as usize] = val;
            }
            Ok(())
        }
        Launch::Sgd {
            theta,
            g,
            v,
            cfg,
            lr,
        } => {
            let [mut tt, mut tv] = [theta, v].map(|x| std::mem::take(&mut be.bufs[x.0 as usize]));
            sgd_update(&mut tt, be.buf(g), &mut tv, &cfg, lr);
            be.bufs[theta.0 as usize] = tt;
            be.bufs[v.0 as usize] = tv;
            Ok(())
        }
        Launch::SgdRows {
            theta,
            g,
            v,
            rows,
            width,
            cfg,
            lr,
        } => {
            let ids = std::mem::take(&mut be.idx[rows.0 as usize]);
            let bufs = &mut be.bufs;
            let [mut tt, mut tg, mut tv] =
                [theta, g, v].map(|x| std::mem::take(&mut bufs[x.0 as usize]));
            for &r in &ids {
                let range = r as usize * width..(r as usize + 1) * width;
                sgd_update(
                    &mut tt[range.clone()],
                    &tg[range.clone()],
                    &mut tv[range.clone()],
                    &cfg,
                    lr,
                );
                tg[range].fill(0.0); // the table's gradient is all zeros again
            }
            for (x, val) in [(theta, tt), (g, tg), (v, tv)] {
                bufs[x.0 as usize] = val;
            }
            be.idx[rows.0 as usize] = ids;
            Ok(())
        }
        Launch::AdamRows {
            theta,
            g,
            m,
            v,
            rows,
            width,
            cfg,
            lr,
            t,
        } => {
            let (bc1, bc2) = crate::device::bias_corrections(&cfg, t);
            let s = StepScalars { lr, bc1, bc2 };
            let ids = std::mem::take(&mut be.idx[rows.0 as usize]);
            let bufs = &mut be.bufs;
            let [mut tt, mut tg, mut tm, mut tv] =
                [theta, g, m, v].map(|x| std::mem::take(&mut bufs[x.0 as usize]));
            for &r in &ids {
                let range = r as usize * width..(r as usize + 1) * width;
                adam_update(
                    &mut tt[range.clone()],
                    &tg[range.clone()],
                    &mut tm[range.clone()],
                    &mut tv[range.clone()],
                    &cfg,
                    s,
                );
                tg[range].fill(0.0); // the table's gradient is all zeros again
            }
            for (x, val) in [(theta, tt), (g, tg), (m, tm), (v, tv)] {
                bufs[x.0 as usize] = val;
            }
            be.idx[rows.0 as usize] = ids;
            Ok(())
        }
        _ => Err(misrouted("host", Family::Optim, l)),
    }
}
