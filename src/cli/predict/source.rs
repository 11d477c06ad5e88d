//! Where a run's scorer gets the tables of `--input`: chunks of a stream, or (where the
//! input is inherently whole) one table.
//!
//! ```text
//! csv / ali_ccp / aliexpress / kuairand, with or without [[data.join]]:
//!     data::loaders::stream_table ─▶ chunks (side tables read once, joined per chunk)
//!     text features: pass 1 over the chunks gathers and embeds the texts (texts.rs),
//!                    pass 2 reads the chunks again to score them
//! movielens, taobao, interactions; MTREC_PREDICT_WHOLE=1:
//!     data::loaders::load_table_scoring ─▶ one table (a notice on stderr says why)
//! ```
//! A side table's own unreadable rows (`--bad-rows mark`) are left out of the side
//! table either way and named on stderr; they are no input rows, so they get no output
//! row (one row in, one row out), and the input rows with their keys are marked.

use super::scorer::Scorer;
use super::PredictArgs;
use crate::config::data::Loader;
use crate::data::ingest::RawTable;
use crate::data::loaders::stream_table;
use crate::error::Result;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// The tables of `--input` for one scorer, and the input's bytes read of `total`.
pub(super) struct Source {
    pub tables: Box<dyn Iterator<Item = Result<RawTable>>>,
    pub read: Box<dyn Fn() -> u64>,
    /// Bytes of the input (0: no progress bar).
    pub total: u64,
}

/// `MTREC_PREDICT_WHOLE=1`: read `--input` whole, as before streaming (the reference
/// the tests compare the streamed output with, byte for byte).
fn whole_forced() -> bool {
    std::env::var("MTREC_PREDICT_WHOLE").is_ok_and(|v| v == "1")
}

/// Why the input of a run with `loader` cannot be streamed (`None`: it can).
pub(super) fn whole_reason(loader: Loader) -> Option<&'static str> {
    match loader {
        Loader::Movielens => Some(
            "the `movielens` loader reads a MovieLens folder (u.data joined with u.user and u.item, Latin-1) as one table",
        ),
        Loader::Taobao => Some(
            "the `taobao` loader aggregates the behaviours of each (user, item) pair over the whole file",
        ),
        Loader::Interactions => Some(
            "the `interactions` loader aggregates the events of each (user, item) pair over the whole file and samples negatives",
        ),
        Loader::Csv | Loader::AliCcp | Loader::Aliexpress | Loader::Kuairand => None,
    }
}

/// Opens `--input` for `sc` in chunks of `rows` rows; a run with text features has its
/// texts gathered and embedded here (pass 1).
pub(super) fn open(sc: &mut Scorer, args: &PredictArgs, rows: usize) -> Result<Source> {
    let dir = Path::new(".");
    let stream = if whole_forced() {
        None
    } else {
        stream_table(&sc.cfg.data, dir, &sc.needed(), rows)?
    };
    let Some(mut stream) = stream else {
        if !whole_forced() {
            if let Some(why) = whole_reason(sc.cfg.data.loader) {
                eprintln!("note: --input is read whole, not in chunks: {why}");
            }
        }
        let table = sc.load_whole(args)?;
        return Ok(Source {
            tables: Box::new(std::iter::once(Ok(table))),
            read: Box::new(|| 0),
            total: 0,
        });
    };
    super::scorer::side_notes(&stream.side_notes());
    if sc.has_texts() {
        sc.gather_texts(args, &mut stream)?;
        stream = stream_table(&sc.cfg.data, dir, &sc.needed(), rows)?
            .expect("the input was streamed once already");
    }
    let (bytes, total) = (Arc::clone(&stream.chunks.bytes), stream.chunks.total_bytes);
    Ok(Source {
        tables: Box::new(stream),
        read: Box::new(move || bytes.load(Ordering::Relaxed)),
        total,
    })
}
