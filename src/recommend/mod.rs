//! Ranked top-K lists from a trained run (`mtrec recommend`).
//!
//! ```text
//! run folder ──load──▶ model, spec; the run's data split as at training      load.rs
//! [recommend] ──▶ user / item features, catalogue, fusion, filters             config.rs
//! catalogue, users ──encode once per side──▶ (user, item) rows ──model──▶ K values   recommender.rs
//! K values ──fusion──▶ one score                                                fusion.rs
//! candidates (allow-list − history) ──partial selection, per-value cap──▶ top K     filters.rs, topk.rs
//! lists vs the test split ──▶ HR, NDCG, MRR, coverage, expected vs observed     eval.rs
//! MMoE's first layers split into user and item partial products (--two-tower)  two_tower.rs
//! text features: each side's texts embedded when it is encoded (shared cache)    text.rs
//! lists ──atomic CSV / JSON lines──▶ --output                                   output.rs
//! ```
//!
//! A server loads a [`Recommender`] once ([`Recommender::load`], optionally
//! [`Recommender::use_two_tower`]), builds a [`Fusion`] per weight setting
//! ([`Fusion::new`] validates it), maps item ids with [`Recommender::item_indices`] and
//! calls [`Recommender::recommend_for_user`] per request, or
//! [`Recommender::recommend_many`] for requests that queued up together (`batch.rs`).

pub mod batch;
pub mod catalogue;
pub mod config;
pub mod ensemble;
pub mod eval;
pub mod filters;
pub mod fusion;
pub mod graphs;
pub mod load;
pub mod output;
pub mod recommender;
pub mod seq;
pub mod text;
pub mod topk;
pub mod two_tower;
pub mod two_tower_fused;
pub mod two_tower_score;

pub use config::{DiversityConfig, FusionConfig, FusionKind, RecommendConfig};
pub use ensemble::UserRows;
pub use fusion::{Fusion, TaskScale};
pub use recommender::{Ranked, Recommender, Request, ScoredUser, Scoring};
