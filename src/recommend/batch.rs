//! Lists for several users in one scoring pass: what `mtrec serve` does with the
//! recommend requests that queued up while its recommender was busy.
//!
//! ```text
//! requests r = 1..R (user, features, Request)
//!   user rows ──encode once (per cell, so as one at a time)──▶ P_u (two-tower partials)
//!   candidates_r (allow-list − history, per request)
//!   segments: r's pairs (r, i), i ∈ candidates_r ──one parallel pass──▶ values_r
//!   values_r ──fusion, filters, top-K of request r──▶ list_r
//! ```
//!
//! Each request's values are the floats [`Recommender::recommend_for_user`] gives for it
//! alone: the user partials are computed row by row, and the pair kernel's blocks start
//! at each request's first pair and never take another request's pairs
//! (`two_tower_score::score_fused_segments`). Only the scoring pass is shared; per-user
//! filters and fusion stay per request.
//!
//! On the plain path (every pair's row through the whole network) the requests' rows go
//! through the network together, whole requests per pass up to [`PLAIN_PASS_ROWS`] rows
//! (a larger request goes alone, in passes of `SCORE_BATCH` rows), so that waiting
//! requests of a few hundred candidates share their products. The cap keeps a pass's
//! activations in cache: one pass over 32 requests of 1,000 rows (16 MiB per layer
//! buffer) was slower than one request at a time under load (`docs/benchmarks.md`). A row's values
//! are the floats of that row alone up to the products' rounding (the first layer may be
//! factorised over the batch's distinct ids, `ops::embed_linear`), within 1e-6 of the
//! request scored alone (`tests/s8recserve_plain_batch.rs`). A batch of one is answered
//! as the request alone.

use super::recommender::{Ranked, Recommender, Request, ScoredUser};

/// Rows of one plain-path pass that scores several requests together, at most.
pub const PLAIN_PASS_ROWS: usize = 2048;
use crate::error::Result;
use std::collections::BTreeMap;

/// One request of a batch.
pub struct Ask<'a> {
    pub user: &'a str,
    /// User-side texts given with the request (the rest from the user's training rows).
    pub features: &'a BTreeMap<String, String>,
    pub req: Request<'a>,
}

impl Recommender {
    /// The list of each request of `asks`, as [`Recommender::recommend_for_user`] gives
    /// it for that request alone (same items, same floats); one request's error (e.g. an
    /// unknown user without features) does not fail the others.
    pub fn recommend_many(&self, asks: &[Ask<'_>]) -> Vec<Result<Vec<Ranked>>> {
        let one = |a: &Ask<'_>| self.recommend_for_user(a.user, a.features, &a.req);
        if asks.len() < 2 {
            return asks.iter().map(one).collect();
        }
        let split = self.split();
        if split.is_none() && self.uses_two_tower() {
            // an ensemble scored with its members' splits: one request at a time
            return asks.iter().map(one).collect();
        }
        let mut out: Vec<Option<Result<Vec<Ranked>>>> = asks.iter().map(|_| None).collect();
        let mut ok: Vec<usize> = Vec::with_capacity(asks.len());
        let mut users = Vec::with_capacity(asks.len());
        for (j, a) in asks.iter().enumerate() {
            let u = (a.user.to_string(), a.features.clone());
            match self.user_table(std::slice::from_ref(&u), "the request") {
                Ok(_) => {
                    ok.push(j);
                    users.push(u);
                }
                Err(e) => out[j] = Some(Err(e)),
            }
        }
        let cands: Vec<Vec<u32>> = ok
            .iter()
            .map(|&j| self.candidates(asks[j].user, &asks[j].req))
            .collect();
        let together = || -> Result<Vec<Vec<f32>>> {
            let table = self.user_table(&users, "the request")?;
            let segments: Vec<Vec<(u32, u32)>> = cands
                .iter()
                .enumerate()
                .map(|(s, c)| c.iter().map(|&i| (s as u32, i)).collect())
                .collect();
            let Some((tt, items)) = split else {
                // the plain path: whole requests per pass, up to PLAIN_PASS_ROWS rows
                let enc = self.encode_users(&table)?;
                let k = self.model.cfg.tasks.len();
                let mut out = Vec::with_capacity(segments.len());
                let mut start = 0;
                while start < segments.len() {
                    let (mut end, mut rows) = (start + 1, segments[start].len());
                    while end < segments.len() && rows + segments[end].len() <= PLAIN_PASS_ROWS {
                        rows += segments[end].len();
                        end += 1;
                    }
                    let v = self.score_pairs(&enc, &segments[start..end].concat())?; // (rows, K)
                    let mut at = 0;
                    for s in &segments[start..end] {
                        out.push(v[at * k..(at + s.len()) * k].to_vec());
                        at += s.len();
                    }
                    start = end;
                }
                return Ok(out);
            };
            let enc = self.encode_side(true, &table)?;
            let pu = tt.partials(self, &enc, true)?;
            tt.score_segments(&pu, items, &segments)
        };
        match together() {
            Ok(values) => {
                for ((&j, c), v) in ok.iter().zip(cands).zip(values) {
                    let scored = ScoredUser {
                        cands: c,
                        values: v,
                    };
                    out[j] = Some(Ok(self.rank(&scored, &asks[j].req)));
                }
            }
            // a value one request's user side cannot encode: each on its own, so only
            // that request gets the error
            Err(_) => {
                for &j in &ok {
                    out[j] = Some(one(&asks[j]));
                }
            }
        }
        out.into_iter()
            .map(|o| o.expect("every request answered"))
            .collect()
    }
}
