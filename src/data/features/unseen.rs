//! Values outside the training vocabulary, counted per column (`mtrec predict` reports them).
//!
//! A categorical value the training split did not establish (never seen, or rarer than
//! `min_count`) is encoded as the out-of-vocabulary id 0, like a missing value; the model
//! scores it with the table's row 0 (trained by `oov_dropout`, see docs/math.md). Missing
//! cells are not counted here: they are id 0 by design. Hashed features (`hash_buckets`)
//! give every value a bucket, so nothing is unseen for them.

use super::vocab::{is_missing, tokens};
use super::{Encoded, FeatureSpec};
use crate::data::ingest::RawTable;
use crate::error::Result;

/// Per categorical and multi-hot feature (in spec order): its column and the number of
/// rows whose value (multi-hot: at least one token) is not in the training vocabulary.
pub fn unseen_counts(
    spec: &FeatureSpec,
    table: &RawTable,
    encoded: &Encoded,
) -> Result<Vec<(String, usize)>> {
    let mv = &spec.missing_values;
    let fc = spec.categorical.len();
    let mut out = Vec::with_capacity(fc + spec.multi_hot.len());
    for (f, c) in spec.categorical.iter().enumerate() {
        let col = super::spec::column(table, &c.name, "feature")?;
        let n = (0..encoded.len())
            .filter(|&r| encoded.cat[r * fc + f] == 0 && !is_missing(col.get(r), mv))
            .count();
        out.push((c.name.clone(), n));
    }
    for (f, b) in spec.multi_hot.iter().enumerate() {
        let col = super::spec::column(table, &b.name, "feature")?;
        let bags = &encoded.bags[f];
        let n = (0..encoded.len())
            .filter(|&r| {
                let text = col.get(r);
                if is_missing(text, mv) {
                    return false;
                }
                let ids = &bags.ids[bags.offsets[r] as usize..bags.offsets[r + 1] as usize];
                // a non-missing cell's bag holds one id per token, in token order
                tokens(text, &b.separator)
                    .zip(ids)
                    .any(|(t, &id)| id == 0 && !is_missing(t, mv))
            })
            .count();
        out.push((b.name.clone(), n));
    }
    Ok(out)
}
