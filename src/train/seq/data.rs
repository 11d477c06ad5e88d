//! The data of a `mtrec seq` run: the reader `data` selects (a preset or a format of
//! `data::sequences::generic`), then the seeded user subset of `data.user_fraction`.

use super::config::{DataSource, SeqRunConfig};
use crate::data::sequences::generic::{Delimiter, InteractionsFormat};
use crate::data::sequences::{
    load_beauty, load_interactions, load_movielens, load_sequence_file, read_item_text, Encoding,
    SeqData,
};
use crate::error::Result;
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::seq::SliceRandom;
use ndarray_rand::rand::SeedableRng;
use std::path::Path;

/// Reads the configured data set from `data_dir` (item ids shuffled with `data.seed`).
pub fn load_data(cfg: &SeqRunConfig, data_dir: &Path) -> Result<SeqData> {
    let data_cfg = &cfg.data;
    let dir = data_dir.join(&data_cfg.dir);
    let name = if data_cfg.dataset.is_empty() {
        Path::new(&data_cfg.dir).file_name().map_or_else(
            || data_cfg.dir.clone(),
            |n| n.to_string_lossy().into_owned(),
        )
    } else {
        data_cfg.dataset.clone()
    };
    let encoding = Encoding::parse(&data_cfg.encoding)?;
    let mut data = match data_cfg.source()? {
        DataSource::Beauty => load_beauty(&dir, data_cfg.seed)?,
        DataSource::MovieLens => load_movielens(&dir, data_cfg.seed)?,
        DataSource::Sequences => {
            let file = data_cfg.file.as_deref().unwrap_or("user_sequence.txt");
            load_sequence_file(&dir.join(file), encoding, &name, data_cfg.seed)?
        }
        DataSource::Interactions => {
            let file = data_cfg.file.as_deref().unwrap_or("interactions.csv");
            let fmt = InteractionsFormat {
                encoding,
                delimiter: Delimiter::parse(&data_cfg.delimiter)?,
                header: data_cfg.header,
                time_column: data_cfg.time_column,
            };
            load_interactions(&dir.join(file), fmt, &name, data_cfg.seed)?
        }
    };
    if let Some(text) = &data_cfg.item_text {
        let n = read_item_text(&dir.join(text), encoding, &mut data)?;
        if n == 0 {
            return Err(crate::error::Error::Config {
                what: "data.item_text".into(),
                message: format!(
                    "{} names none of the {} catalogue items (expected `item<TAB, comma or space>text` per line, the item ids as in the data file)",
                    dir.join(text).display(),
                    data.num_items
                ),
            });
        }
    }
    if data_cfg.user_fraction < 1.0 {
        let n = data.seqs.len();
        let keep_n = ((n as f64 * data_cfg.user_fraction as f64).ceil() as usize).clamp(1, n);
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut StdRng::seed_from_u64(data_cfg.seed ^ 0x05e7));
        let mut keep = order[..keep_n].to_vec();
        keep.sort_unstable();
        data.users = keep.iter().map(|&u| data.users[u].clone()).collect();
        data.seqs = keep.iter().map(|&u| data.seqs[u].clone()).collect();
        if let Some(r) = &data.ratings {
            data.ratings = Some(keep.iter().map(|&u| r[u].clone()).collect());
        }
    }
    Ok(data)
}
