//! The `[recommend]` section lives with the other run-config tables
//! (`crate::config::recommend`, so that `RunConfig` need not import from above);
//! re-exported here for the recommender's users.

pub use crate::config::recommend::{DiversityConfig, FusionConfig, FusionKind, RecommendConfig};
