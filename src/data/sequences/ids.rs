//! The id maps of an `mtrec seq` run (`<run>/ids.json`): original user and item ids ↔ the
//! model's ids, so that a run's scores can be read (and its inputs written) with the ids
//! of the data.
//!
//! ```text
//! {"dataset": "...", "data_dir": "/abs/path/of/--data-dir",
//!  "users": ["U1", "U7", ...],          users[u]: original id of sequence u (0-based)
//!  "items": ["<pad>", "B01", ...]}      items[i]: original id of model item id i; 0 = padding
//! ```
//!
//! Written atomically when the run starts (a temporary file, flushed, renamed). Commands
//! that read the data again (`eval`, `predict`, `recommend`) check that it still gives the
//! same item ids, so a changed data file is an error, never silently other items.

use super::SeqData;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

/// The file name in the run folder.
pub const IDS_FILE: &str = "ids.json";

/// Original ids by model id; see the module documentation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IdMaps {
    pub dataset: String,
    /// The data folder the run read (`--data-dir`, absolute where it could be resolved).
    pub data_dir: String,
    pub users: Vec<String>,
    pub items: Vec<String>,
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

impl IdMaps {
    pub fn of(data: &SeqData, data_dir: &Path) -> IdMaps {
        let abs = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
        IdMaps {
            dataset: data.name.clone(),
            data_dir: abs.display().to_string(),
            users: data.users.clone(),
            items: data.item_keys.clone(),
        }
    }

    /// Writes `<run>/ids.json` atomically.
    pub fn write(&self, run: &Path) -> Result<()> {
        let path = run.join(IDS_FILE);
        let text = serde_json::to_string(self).map_err(|e| io_err(&path, e))?;
        let tmp = run.join(format!("{IDS_FILE}.tmp-{}", std::process::id()));
        let mut f = std::fs::File::create(&tmp).map_err(|e| io_err(&tmp, e))?;
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| io_err(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io_err(&path, e))
    }

    /// `<run>/ids.json`, or `None` for a run written before the file existed.
    pub fn read(run: &Path) -> Result<Option<IdMaps>> {
        let path = run.join(IDS_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&path, e)),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| io_err(&path, format!("not an id map of mtrec seq: {e}")))
    }

    /// Errors unless `data` (read again) has the same users and item ids as the run.
    pub fn check(&self, data: &SeqData, run: &Path) -> Result<()> {
        let differ = |what: &str, i: usize, ours: Option<&String>, now: Option<&String>| {
            let show = |x: Option<&String>| x.map_or("nothing".to_string(), |k| format!("`{k}`"));
            Err(Error::Config {
                what: run.join(IDS_FILE).display().to_string(),
                message: format!(
                    "the data read now gives other {what} ids than the run was trained on ({what} {i} is {} in the run, {} now); pass the --data-dir of the run ({}) with the files unchanged",
                    show(ours),
                    show(now),
                    self.data_dir
                ),
            })
        };
        for (what, ours, now) in [
            ("item", &self.items, &data.item_keys),
            ("user", &self.users, &data.users),
        ] {
            if ours != now {
                let i = (0..ours.len().max(now.len()))
                    .find(|&i| ours.get(i) != now.get(i))
                    .unwrap_or(0);
                return differ(what, i, ours.get(i), now.get(i));
            }
        }
        Ok(())
    }
}
