//! Text features of a streamed `mtrec predict`: the texts of the whole input embedded
//! once, before scoring, exactly as reading the input whole embeds them.
//!
//! ```text
//! pass 1: --input ─▶ chunks (read, funnel, joins: the tables pass 2 gets)
//!                 ─▶ each text column's dictionary, merged in chunk order ─▶ U texts
//!         U texts ─▶ data::features::embed_dict (run's encoder, shared cache) ─▶ (U, D_t)
//! pass 2: chunk   ─▶ its dictionary codes mapped to the merged list's ─▶ TextRows
//!                    (every chunk shares the one (U, D_t) table)
//! ```
//!
//! Why the merged list is the whole table's dictionary, entry for entry: the reader
//! interns a column's texts in order of first appearance, one dictionary per chunk,
//! so the whole table's is the chunks' dictionaries concatenated with each text kept at
//! its first place; a joined column's dictionary is the side column's (the same in
//! every chunk) followed by the missing-value markers met, which may repeat a side
//! text. The merge therefore keeps a text as many times as one chunk's dictionary
//! holds it (its multiplicity), at its first places. The encoder then sees the list of
//! texts that reading the input whole gives it (same order, same cache key), so the
//! vectors are those of the whole-file path bit for bit, whatever the encoder's
//! batching; memory holds the U texts and vectors, never the rows.

use crate::data::features::{embed_dict, Encoded, TextEnv, TextRows, TextSpec};
use crate::data::ingest::RawTable;
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::sync::Arc;

/// A text column's dictionary over every chunk (see the module docs).
#[derive(Default)]
pub(super) struct MergedDict {
    /// The texts, untrimmed, in the whole table's dictionary order.
    pub texts: Vec<String>,
    /// Text → its places in `texts` (one per copy).
    places: HashMap<String, Vec<u32>>,
}

impl MergedDict {
    /// Adds a chunk's dictionary: each text as often as `dict` holds it.
    pub fn add(&mut self, dict: &[String]) {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for s in dict {
            let j = seen.entry(s.as_str()).or_insert(0);
            let places = self.places.entry(s.clone()).or_default();
            if places.len() == *j {
                places.push(self.texts.len() as u32);
                self.texts.push(s.clone());
            }
            *j += 1;
        }
    }

    /// The merged place of each entry of a chunk's dictionary `dict` (already added).
    pub fn codes(&self, dict: &[String]) -> Vec<u32> {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        dict.iter()
            .map(|s| {
                let j = seen.entry(s.as_str()).or_insert(0);
                *j += 1;
                self.places[s.as_str()][*j - 1]
            })
            .collect()
    }
}

/// The embedded texts of every text feature of a run, for the whole input.
pub(in crate::cli) struct InputTexts {
    /// Per text feature (the spec's order): its merged dictionary and `(U, D_t)` vectors.
    features: Vec<(MergedDict, usize, Arc<Vec<f32>>)>,
}

/// The column `t.column` of `table`, or the error `attach_texts` gives.
fn text_column<'t>(
    t: &TextSpec,
    table: &'t RawTable,
) -> Result<&'t crate::data::ingest::RawColumn> {
    table.column(&t.column).ok_or_else(|| Error::Config {
        what: format!("text column `{}` of feature `{}`", t.column, t.name),
        message: format!(
            "was not read (columns: {}); add it to the data",
            table.names.join(", ")
        ),
    })
}

impl InputTexts {
    /// Pass 1: the texts of every chunk of `tables` merged, then embedded.
    pub fn gather(
        text: &mut [TextSpec],
        tables: impl Iterator<Item = Result<RawTable>>,
        env: &TextEnv<'_>,
    ) -> Result<InputTexts> {
        let mut dicts: Vec<MergedDict> = text.iter().map(|_| MergedDict::default()).collect();
        for table in tables {
            let table = table?;
            for (t, d) in text.iter().zip(&mut dicts) {
                d.add(&text_column(t, &table)?.dict);
            }
        }
        let mut features = Vec::with_capacity(text.len());
        for (t, d) in text.iter_mut().zip(dicts) {
            let (width, values) = embed_dict(t, &d.texts, env)?;
            features.push((d, width, values));
        }
        Ok(InputTexts { features })
    }

    /// Pass 2: the text rows of `table` (a chunk of pass 1's input) set in `enc`.
    pub fn attach(&self, text: &[TextSpec], table: &RawTable, enc: &mut Encoded) -> Result<()> {
        enc.text.clear();
        for (t, (dict, width, values)) in text.iter().zip(&self.features) {
            let col = text_column(t, table)?;
            let codes = dict.codes(&col.dict);
            enc.text.push(TextRows {
                dim: *width,
                table: Arc::clone(values),
                ids: col.values.iter().map(|&c| codes[c as usize]).collect(), // (N,)
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::MergedDict;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// Chunks' dictionaries merge into the whole table's: first places kept, a text
    /// repeated within one dictionary (a joined column's marker equal to a side text)
    /// kept as often, and each chunk's codes point at the same texts.
    #[test]
    fn merged_dictionary_is_the_whole_tables() {
        let mut m = MergedDict::default();
        let a = strings(&["x", "y"]);
        let b = strings(&["z", "x", "w"]);
        let c = strings(&["s", "t", "", ""]); // side dict `s, t, ""` + marker ""
        for d in [&a, &b, &c, &c] {
            m.add(d);
        }
        assert_eq!(m.texts, strings(&["x", "y", "z", "w", "s", "t", "", ""]));
        assert_eq!(m.codes(&b), vec![2, 0, 3]);
        assert_eq!(m.codes(&c), vec![4, 5, 6, 7]);
        for d in [&a, &b, &c] {
            let codes = m.codes(d);
            for (i, &code) in codes.iter().enumerate() {
                assert_eq!(m.texts[code as usize], d[i]);
            }
        }
    }
}
