//! Recommendation from an ensemble folder (`mtrec ensemble`): every (user, item) row is
//! scored by each member with the member's own feature spec, and the members' raw
//! outputs are combined per task by the ensemble's rule ([`TaskRule::combine`]), the
//! same numbers `mtrec predict` gives for the ensemble on those rows.
//!
//! ```text
//! catalogue ──encode per member (its spec)──▶ items_m            at load, once
//! user      ──encode per member──▶ users_m                       per request
//! (u, i) ──member m's rows from users_m, items_m──▶ z_m (raw, per task)
//! z_0 … z_{M-1} ──TaskRule::combine──▶ probability / value per task
//! ```
//!
//! Member 0 is the [`Recommender`](super::Recommender)'s own `model`; the others are
//! [`Member`]s here.
//!
//! **Two-tower split per member** (`--two-tower`, the default when a member is MMoE):
//! each MMoE member scores its pairs with its own split (`two_tower.rs`: its catalogue
//! partials once at load, the user's per request), giving its raw outputs; a member
//! that has no split (not MMoE) scores its rows on the plain path. The raw outputs are
//! combined as above, so the lists equal the plain path's within 1e-5.

use super::load::{LoadedModel, Sides};
use super::two_tower::{Partials, TwoTower};
use crate::data::features::Encoded;
use crate::ensemble::EnsembleFile;

/// A member of an ensemble other than the first.
pub struct Member {
    pub model: LoadedModel,
    pub sides: Sides,
    /// The catalogue encoded with this member's spec.       // (N_items, ·)
    pub items: Encoded,
    /// This member's two-tower split (raw outputs) and its catalogue's partials, when
    /// pairs are scored with it.
    pub split: Option<(TwoTower, Partials)>,
}

/// The ensemble of a [`Recommender`](super::Recommender) loaded from an ensemble folder.
pub struct Ensemble {
    pub file: EnsembleFile,
    /// Members 1 … M−1 (member 0 is the recommender's model).
    pub others: Vec<Member>,
}

/// Users encoded for scoring: with member 0's spec, and with each other member's.
#[derive(Clone, Debug, Default)]
pub struct UserRows {
    pub first: Encoded,
    pub others: Vec<Encoded>,
}

impl UserRows {
    pub fn len(&self) -> usize {
        self.first.len()
    }

    pub fn is_empty(&self) -> bool {
        self.first.len() == 0
    }

    /// The rows `rows` of every encoding.
    pub fn select(&self, rows: &[usize]) -> UserRows {
        UserRows {
            first: self.first.select(rows),
            others: self.others.iter().map(|e| e.select(rows)).collect(),
        }
    }
}
