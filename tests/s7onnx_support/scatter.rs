//! The indexing operators of the transition prior (`mtrec::export::prior`) for the test
//! interpreter, on the rank-2 tensors the exporter gives them (ONNX opset 13):
//! `Pad` (constant mode), `GatherElements` and `ScatterElements` on axis 1.

use super::T;

fn index(i: f64, n: usize, op: &str) -> usize {
    let i = i as i64;
    assert!(i >= 0 && (i as usize) < n, "{op}: index {i} outside 0..{n}");
    i as usize
}

/// `Pad(x (R, C), pads [r0, c0, r1, c1], value)`: `value` rows / columns around `x`.
pub fn pad(x: &T, pads: &[i64], value: f64) -> T {
    assert_eq!(
        (x.shape.len(), pads.len()),
        (2, 4),
        "Pad: rank-2 input only"
    );
    assert!(pads.iter().all(|&p| p >= 0), "Pad: negative pads not used");
    let p: Vec<usize> = pads.iter().map(|&p| p as usize).collect();
    let (r, c) = (x.shape[0], x.shape[1]);
    let (ro, co) = (r + p[0] + p[2], c + p[1] + p[3]);
    let mut data = vec![value; ro * co];
    for i in 0..r {
        for j in 0..c {
            data[(i + p[0]) * co + j + p[1]] = x.data[i * c + j];
        }
    }
    T::new(vec![ro, co], data)
}

/// `GatherElements(x (R, C), idx (R, K), axis 1)`: `out[i][k] = x[i][idx[i][k]]`.
pub fn gather_elements(x: &T, idx: &T) -> T {
    assert_eq!(x.shape.len(), 2, "GatherElements: rank-2 input only");
    let (r, c, k) = (x.shape[0], x.shape[1], idx.shape[1]);
    assert_eq!(idx.shape[0], r);
    let data = (0..r * k)
        .map(|n| x.data[(n / k) * c + index(idx.data[n], c, "GatherElements")])
        .collect();
    T::new(vec![r, k], data)
}

/// `ScatterElements(x (R, C), idx (R, K), upd (R, K), axis 1)`: a copy of `x` with
/// `out[i][idx[i][k]] = upd[i][k]`. Duplicate indices must carry equal updates (the
/// order of the writes is unspecified at opset 13), which this checks.
pub fn scatter_elements(x: &T, idx: &T, upd: &T) -> T {
    assert_eq!(x.shape.len(), 2, "ScatterElements: rank-2 input only");
    assert_eq!(idx.shape, upd.shape);
    let (r, c, k) = (x.shape[0], x.shape[1], idx.shape[1]);
    let mut data = x.data.clone();
    let mut written = vec![None; r * c];
    for n in 0..r * k {
        let at = (n / k) * c + index(idx.data[n], c, "ScatterElements");
        if let Some(prev) = written[at] {
            assert_eq!(
                prev, upd.data[n],
                "ScatterElements: duplicate index with different updates"
            );
        }
        written[at] = Some(upd.data[n]);
        data[at] = upd.data[n];
    }
    T::new(vec![r, c], data)
}
