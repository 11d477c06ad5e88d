//! `data.cache`, `data.shuffle_block`, `data.shuffle_window`: the on-disk columnar cache
//! of encoded rows and the block shuffle that reads it (docs/data_cache.md).

use super::RunConfig;
use crate::error::{Error, Result};

pub(super) fn default_cache() -> String {
    "off".into()
}

/// 16,384 rows: a block of one 4-byte column is then 64 KiB, the span the kernel maps
/// per page fault on a file mapping (`fault_around_bytes`), so the pages a window maps
/// are the window's own rows, not 4× more (docs/data_cache.md, "Block shuffle").
pub(super) fn default_shuffle_block() -> usize {
    16384
}

pub(super) fn default_shuffle_window() -> usize {
    1 << 18
}

/// Where the cache lives, from `data.cache`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheSetting {
    /// Rows in memory (the default).
    Off,
    /// `<data-dir>/mtrec_cache`.
    Auto,
    /// This folder (relative paths under the working directory).
    Folder(String),
}

impl super::DataConfig {
    /// `data.cache` as a [`CacheSetting`].
    pub fn cache_setting(&self) -> CacheSetting {
        match self.cache.as_str() {
            "off" => CacheSetting::Off,
            "auto" => CacheSetting::Auto,
            p => CacheSetting::Folder(p.to_string()),
        }
    }
}

/// A usable `data.cache` and a block of at least one row. (Multi-hot bags, text features
/// and the interactions loader's rows are held: docs/data_cache.md.)
pub(super) fn validate(c: &RunConfig) -> Result<()> {
    let data = &c.data;
    if data.cache.is_empty() {
        return Err(Error::Config {
            what: "data.cache".into(),
            message: "is empty; expected \"off\", \"auto\" or a folder".into(),
        });
    }
    if data.shuffle_block == 0 {
        return Err(Error::Config {
            what: "data.shuffle_block".into(),
            message: "is 0; expected the rows per shuffle block, e.g. 16384".into(),
        });
    }
    Ok(())
}
