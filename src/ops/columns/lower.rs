//! Device lowering of [`ConcatCols`] and [`SliceCols`]: column copies (`Launch::Cols`,
//! kernel `copy_cols_f32`). A gather fused into a concatenation (`Lowering::fused`) writes its
//! own columns forward and reads its gradient from them backward.

use crate::autograd::Var;
use crate::device::program::{Feed, Lowering, Saved};
use crate::device::{Backend, Launch};
use crate::error::Result;
use crate::ops::registry::{ConcatCols, SliceCols};

pub(super) fn concat_forward<B: Backend + ?Sized>(
    _op: &ConcatCols,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
    _feeds: &mut Vec<Feed>,
) -> Result<Saved> {
    let n = &lw.nodes[i];
    let (rows, cols) = (n.rows, n.cols);
    let y = lw.values[i];
    let mut off = 0;
    for &p in &n.idx {
        let c_narrow = lw.dims(Var::slot(p)).1;
        if lw.fused[p as usize].is_none() {
            out.push(Launch::Cols {
                wide: y,
                narrow: lw.value(Var::slot(p)),
                r: rows,
                c_wide: cols,
                c_narrow,
                off,
                to_wide: true,
                add: false,
            });
        } // a fused gather has written its columns already
        off += c_narrow;
    }
    Ok(Saved::default())
}

pub(super) fn concat_backward<B: Backend + ?Sized>(
    _op: &ConcatCols,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
) -> Result<()> {
    use crate::autograd::Op;
    let n = &lw.nodes[i];
    let (rows, cols) = (n.rows, n.cols);
    let dy = lw.grads[i].expect("called for nodes with a gradient");
    let mut off = 0;
    for &p in &n.idx {
        let c_narrow = lw.dims(Var::slot(p)).1;
        if let (Some(_), Op::Gather { table }) = (lw.fused[p as usize], lw.nodes[p as usize].op) {
            // the fused gather's backward, from its columns of dy
            out.push(Launch::GatherBwd {
                dtable: lw.params.grad(table),
                dout: dy,
                idx: lw.saved[p as usize].idx(0),
                n: rows,
                width: c_narrow,
                stride: cols,
                off,
            });
        } else if let Some(dp) = lw.grad(Var::slot(p)) {
            out.push(Launch::Cols {
                wide: dy,
                narrow: dp,
                r: rows,
                c_wide: cols,
                c_narrow,
                off,
                to_wide: false,
                add: true,
            });
        }
        off += c_narrow;
    }
    Ok(())
}

pub(super) fn slice_forward<B: Backend + ?Sized>(
    op: &SliceCols,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
    _feeds: &mut Vec<Feed>,
) -> Result<Saved> {
    let n = &lw.nodes[i];
    out.push(Launch::Cols {
        wide: lw.value(op.a),
        narrow: lw.values[i],
        r: n.rows,
        c_wide: lw.dims(op.a).1,
        c_narrow: n.cols,
        off: op.start,
        to_wide: false,
        add: false,
    });
    Ok(Saved::default())
}

pub(super) fn slice_backward<B: Backend + ?Sized>(
    op: &SliceCols,
    lw: &mut Lowering<'_, B>,
    i: usize,
    out: &mut Vec<Launch>,
) -> Result<()> {
    let n = &lw.nodes[i];
    let dy = lw.grads[i].expect("called for nodes with a gradient");
    if let Some(da) = lw.grad(op.a) {
        out.push(Launch::Cols {
            wide: da,
            narrow: dy,
            r: n.rows,
            c_wide: lw.dims(op.a).1,
            c_narrow: n.cols,
            off: op.start,
            to_wide: true,
            add: true,
        });
    }
    Ok(())
}
