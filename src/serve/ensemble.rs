//! `/infer` of an ensemble folder (`mtrec ensemble`): each member encodes the request
//! with its own spec (members may differ in features), scores it, and the raw outputs
//! are combined per task by the ensemble's rule, as `mtrec predict` does.
//!
//! The batcher concatenates encoded requests row-wise and knows one [`Encoded`] per
//! job, so an ensemble's encoding is the members' encodings side by side ("wide"):
//!
//! ```text
//! cat  (N, F_cat_0 + F_cat_1 + …)   member 0's columns, then member 1's, …
//! num  (N, F_num_0 + F_num_1 + …)
//! bags  member 0's bags, then member 1's, …
//! text  member 0's text features, then member 1's, …
//! ```
//!
//! [`split`] takes member m's columns back out before its forward pass.

use crate::data::features::Encoded;
use crate::ensemble::combine::combine_all;
use crate::ensemble::EnsembleFile;
use crate::error::Result;

/// A member other than the first: its input layer, model and weights (its spec is in
/// the [`Schema`](super::model::Schema)).
pub struct Member {
    pub input: crate::nn::FeatureInput,
    pub model: Box<dyn crate::models::MultiTaskModel>,
    pub store: crate::autograd::ParamStore,
}

/// (F_cat, multi-hot bags, F_num, text features) of one member in a wide encoding.
pub type Widths = (usize, usize, usize, usize);

/// An ensemble being served: its rules, members 1 … M−1, and every member's widths.
pub type Served = (EnsembleFile, Vec<Member>, Vec<Widths>);

/// The members' encodings of the same rows, side by side (labels of the first).
pub fn widen(parts: Vec<Encoded>) -> Encoded {
    let mut it = parts.into_iter();
    let mut out = it.next().expect("at least one member");
    let n = out.len();
    for p in it {
        let (fa, fb) = (out.n_cat, p.n_cat);
        let mut cat = Vec::with_capacity(n * (fa + fb));
        let (na, nb) = (out.n_num, p.n_num);
        let mut num = Vec::with_capacity(n * (na + nb));
        for r in 0..n {
            cat.extend_from_slice(&out.cat[r * fa..(r + 1) * fa]);
            cat.extend_from_slice(&p.cat[r * fb..(r + 1) * fb]);
            num.extend_from_slice(&out.num[r * na..(r + 1) * na]);
            num.extend_from_slice(&p.num[r * nb..(r + 1) * nb]);
        }
        out.cat = cat;
        out.num = num;
        out.n_cat = fa + fb;
        out.n_num = na + nb;
        out.bags.extend(p.bags);
        out.text.extend(p.text);
    }
    out
}

/// Member `m`'s columns of a wide encoding; `widths[m]` = (F_cat, bags, F_num, text).
pub fn split(wide: &Encoded, widths: &[Widths], m: usize) -> Encoded {
    let (c0, b0, n0, t0) = widths[..m].iter().fold((0, 0, 0, 0), |a, w| {
        (a.0 + w.0, a.1 + w.1, a.2 + w.2, a.3 + w.3)
    });
    let (fc, fb, fnum, ft) = widths[m];
    let n = wide.len();
    let mut out = Encoded::empty(fc, fb, fnum, wide.n_tasks);
    for r in 0..n {
        out.cat
            .extend_from_slice(&wide.cat[r * wide.n_cat + c0..r * wide.n_cat + c0 + fc]);
        out.num
            .extend_from_slice(&wide.num[r * wide.n_num + n0..r * wide.n_num + n0 + fnum]);
    }
    out.bags = wide.bags[b0..b0 + fb].to_vec();
    out.text = wide.text[t0..t0 + ft].to_vec();
    out.labels = wide.labels.clone();
    out.mask = wide.mask.clone();
    out.source = wide.source.clone();
    out
}

/// The ensemble's scores of a wide encoding: `first` = member 0's raw outputs, each
/// other member scored here; probabilities / values per task, as `mtrec predict`.
/// `widths[m]` = (F_cat, bags, F_num, text) of member m.
pub fn score(
    file: &EnsembleFile,
    others: &[Member],
    widths: &[Widths],
    wide: &Encoded,
    first: Vec<Vec<f32>>,
    graph: &mut crate::autograd::Graph,
) -> Result<Vec<Vec<f32>>> {
    let mut all = vec![first];
    for (m, member) in others.iter().enumerate() {
        let enc = split(wide, widths, m + 1);
        all.push(crate::train::run::predict(
            graph,
            &member.input,
            member.model.as_ref(),
            &member.store,
            &enc,
            enc.len().max(1),
        )?);
    }
    Ok(combine_all(&file.tasks, file.method, &all)
        .into_iter()
        .map(|t| t.into_iter().map(|v| v as f32).collect())
        .collect())
}
