//! Scoring with a loaded [`Recommender`]: (user, item) rows assembled from the two encoded
//! sides, scored by the run's model (or its ensemble), candidates filtered and ranked.

use super::*;
use crate::data::features::TextRows;

impl Recommender {
    /// The (user, item) rows `pairs` (user row of `users`, catalogue index), encoded.
    pub fn pair_rows(&self, users: &Encoded, pairs: &[(u32, u32)]) -> Encoded {
        pair_rows_of(&self.sides, &self.items, users, pairs)
    }

    /// Task values of `pairs`: probability for binary tasks, value for regression; an
    /// ensemble's combined output ([`crate::ensemble::combine::TaskRule::combine`]).  // (P, K)
    pub fn score_pairs(&self, users: &UserRows, pairs: &[(u32, u32)]) -> Result<Vec<f32>> {
        let first = raw_pairs(
            &self.graphs,
            &self.model,
            &self.sides,
            &self.items,
            &users.first,
            pairs,
        )?;
        let k = self.model.cfg.tasks.len();
        let mut out = vec![0.0f32; pairs.len() * k];
        match &self.ensemble {
            None => {
                for (t, (task, z)) in self.model.cfg.tasks.iter().zip(&first).enumerate() {
                    for (j, &x) in z.iter().enumerate() {
                        out[j * k + t] = match task.kind {
                            TaskType::Binary => {
                                crate::ops::unary::f(crate::autograd::UnaryFn::Sigmoid, x)
                            }
                            TaskType::Regression => x,
                        };
                    }
                }
            }
            Some(e) => {
                let mut all = vec![first];
                for (m, u) in e.others.iter().zip(&users.others) {
                    all.push(raw_pairs(
                        &self.graphs,
                        &m.model,
                        &m.sides,
                        &m.items,
                        u,
                        pairs,
                    )?);
                }
                return Ok(combined(e, &all, k));
            }
        }
        Ok(out)
    }

    /// [`Recommender::score_pairs`] of an ensemble scored with its members' two-tower
    /// splits: each member's raw outputs from its split, or from its rows on the plain
    /// path for a member without one, combined by the ensemble's rule.     // (P, K)
    fn score_ensemble_split(&self, users: &UserRows, pairs: &[(u32, u32)]) -> Result<Vec<f32>> {
        let e = self.ensemble.as_ref().expect("an ensemble");
        let k = self.model.cfg.tasks.len();
        let member = |model: &LoadedModel,
                      sides: &Sides,
                      items: &Encoded,
                      split: &Option<(TwoTower, Partials)>,
                      u: &Encoded|
         -> Result<Vec<Vec<f32>>> {
            let Some((tt, pi)) = split else {
                return raw_pairs(&self.graphs, model, sides, items, u, pairs);
            };
            let pu = tt.partials_of(model, u, true)?; // (U, ·) user-side partials
            let mut v = Vec::with_capacity(pairs.len() * k); // (P, K) raw
            for c in pairs.chunks(SCORE_BATCH) {
                v.extend(tt.score_pairs(&pu, pi, c)?);
            }
            Ok((0..k)
                .map(|t| v.iter().skip(t).step_by(k).copied().collect())
                .collect()) // K × (P,)
        };
        let mut all = vec![member(
            &self.model,
            &self.sides,
            &self.items,
            &self.split,
            &users.first,
        )?];
        for (m, u) in e.others.iter().zip(&users.others) {
            all.push(member(&m.model, &m.sides, &m.items, &m.split, u)?);
        }
        Ok(combined(e, &all, k))
    }
    /// The candidates of user `id` under `req` (allow-list minus history).
    pub fn candidates(&self, id: &str, req: &Request<'_>) -> Vec<u32> {
        crate::recommend::filters::candidates(
            self.catalogue.len(),
            req.candidates,
            self.history.get(id),
            req.exclude_history,
        )
    }

    /// Scores every candidate of each user of `users` (encoded rows of `ids`), batched
    /// across users; `progress` is told how many users are done.
    pub fn score_users(
        &self,
        ids: &[String],
        users: &UserRows,
        req: &Request<'_>,
        progress: &dyn Fn(u64),
    ) -> Result<Vec<ScoredUser>> {
        let k = self.model.cfg.tasks.len();
        let mut out = Vec::with_capacity(ids.len());
        let mut start = 0;
        while start < ids.len() {
            let mut pairs = Vec::new();
            let mut end = start;
            let mut cands = Vec::new();
            while end < ids.len() && (pairs.len() < SCORE_BATCH || end == start) {
                let c = self.candidates(&ids[end], req);
                pairs.extend(c.iter().map(|&i| (end as u32, i)));
                cands.push(c);
                end += 1;
            }
            let v = match &self.split {
                _ if self.ensemble_split => {
                    let sub: Vec<usize> = (start..end).collect();
                    let local: Vec<(u32, u32)> =
                        pairs.iter().map(|&(u, i)| (u - start as u32, i)).collect();
                    self.score_ensemble_split(&users.select(&sub), &local)?
                }
                None => self.score_pairs(users, &pairs)?,
                Some((tt, items)) => {
                    let sub: Vec<usize> = (start..end).collect();
                    let pu = tt.partials(self, &users.first.select(&sub), true)?;
                    let local: Vec<(u32, u32)> =
                        pairs.iter().map(|&(u, i)| (u - start as u32, i)).collect();
                    let mut v = Vec::with_capacity(local.len() * self.model.cfg.tasks.len());
                    for c in local.chunks(SCORE_BATCH) {
                        v.extend(tt.score_pairs(&pu, items, c)?);
                    }
                    v
                }
            };
            let mut at = 0;
            for c in cands {
                let n = c.len();
                out.push(ScoredUser {
                    cands: c,
                    values: v[at * k..(at + n) * k].to_vec(),
                });
                at += n;
            }
            progress((end - start) as u64);
            start = end;
        }
        Ok(out)
    }

    /// Fuses and ranks one user's scored candidates.
    pub fn rank(&self, s: &ScoredUser, req: &Request<'_>) -> Vec<Ranked> {
        let k = self.model.cfg.tasks.len();
        let mut scored: Vec<Scored> = Vec::with_capacity(s.cands.len());
        for j in 0..s.cands.len() {
            if let Some(f) = req
                .fusion
                .score(&s.values[j * k..(j + 1) * k], &self.scales)
            {
                scored.push((f, j as u32));
            }
        }
        // the position j in cands is ascending with the item index, so ties still go
        // to the smaller item index
        let top = match (req.max_per_value, &self.category) {
            (Some(cap), Some(cat)) => {
                let local: Vec<u32> = s.cands.iter().map(|&i| cat[i as usize]).collect();
                top_k_capped(&mut scored, req.k, &local, cap)
            }
            _ => top_k(&mut scored, req.k),
        };
        top.into_iter()
            .map(|(score, j)| Ranked {
                item: s.cands[j as usize],
                score,
                tasks: s.values[j as usize * k..(j as usize + 1) * k].to_vec(),
            })
            .collect()
    }

    /// The top `req.k` items for one user: `features` gives user-side texts (missing
    /// ones come from the user's training rows). For a server: one call per request.
    pub fn recommend_for_user(
        &self,
        id: &str,
        features: &BTreeMap<String, String>,
        req: &Request<'_>,
    ) -> Result<Vec<Ranked>> {
        let table = self.user_table(&[(id.to_string(), features.clone())], "the request")?;
        let enc = self.encode_users(&table)?;
        let scored = self.score_users(&table.ids, &enc, req, &|_| {})?;
        Ok(self.rank(&scored[0], req))
    }
}

/// The (user, item) rows `pairs` of one model: its `sides`, its encoded catalogue
/// `it` and users `users`.
fn pair_rows_of(sides: &Sides, it: &Encoded, users: &Encoded, pairs: &[(u32, u32)]) -> Encoded {
    let (fc, fnum) = (it.n_cat, it.n_num);
    let mut out = Encoded::empty(fc, it.bags.len(), fnum, it.n_tasks);
    out.cat.reserve(pairs.len() * fc);
    out.num.reserve(pairs.len() * fnum);
    for &(u, i) in pairs {
        let (u, i) = (u as usize, i as usize);
        for f in 0..fc {
            let from = if sides.cat[f] {
                users.cat[u * fc + f]
            } else {
                it.cat[i * fc + f]
            };
            out.cat.push(from);
        }
        for f in 0..fnum {
            let from = if sides.num[f] {
                users.num[u * fnum + f]
            } else {
                it.num[i * fnum + f]
            };
            out.num.push(from);
        }
        for (b, o) in out.bags.iter_mut().enumerate() {
            let bag = if sides.bags[b] {
                users.bags[b].bag(u)
            } else {
                it.bags[b].bag(i)
            };
            o.push(bag);
        }
        out.source.push(RowSource { file: 0, line: 0 });
    }
    out.labels = vec![0.0; pairs.len() * it.n_tasks];
    out.mask = vec![0.0; pairs.len() * it.n_tasks];
    // a text feature: the owning side's vectors, each pair pointing at its user's or
    // item's row of them
    out.text = (sides.text.iter().enumerate())
        .map(|(t, &user)| {
            let from = if user { &users.text[t] } else { &it.text[t] };
            let row = |&(u, i): &(u32, u32)| if user { u as usize } else { i as usize };
            TextRows {
                dim: from.dim,
                table: from.table.clone(),
                ids: pairs.iter().map(|p| from.ids[row(p)]).collect(),
            }
        })
        .collect();
    out
}

/// One model's raw outputs (logit / value) of `pairs`.   // K × (P,)
fn raw_pairs(
    graphs: &super::super::graphs::GraphPool,
    m: &LoadedModel,
    sides: &Sides,
    items: &Encoded,
    users: &Encoded,
    pairs: &[(u32, u32)],
) -> Result<Vec<Vec<f32>>> {
    let mut out = vec![Vec::with_capacity(pairs.len()); m.cfg.tasks.len()];
    for chunk in pairs.chunks(SCORE_BATCH) {
        let rows = pair_rows_of(sides, items, users, chunk);
        let raw = graphs.with(|g| {
            crate::train::run::predict(g, &m.input, m.model.as_ref(), &m.store, &rows, SCORE_BATCH)
        })?;
        for (o, z) in out.iter_mut().zip(raw) {
            o.extend(z);
        }
    }
    Ok(out)
}

/// The ensemble's values of its members' raw outputs `all` (member × K × (P,)), as
/// `mtrec predict` combines them.                                   // (P, K)
fn combined(e: &Ensemble, all: &[Vec<Vec<f32>>], k: usize) -> Vec<f32> {
    let v = crate::ensemble::combine::combine_all(&e.file.tasks, e.file.method, all);
    let mut out = vec![0.0f32; v.first().map_or(0, Vec::len) * k];
    for (t, vt) in v.iter().enumerate() {
        for (j, &x) in vt.iter().enumerate() {
            out[j * k + t] = x as f32;
        }
    }
    out
}
