//! Keyword targets for an auxiliary head: which of the catalogue's most common item
//! keywords describe an item (multi-label, from the item text).
//!
//! The vocabulary is the `n` words (lower-cased, at least 3 characters, not all digits)
//! found in the most items' texts, ties broken alphabetically. Each item gets a multi-hot
//! row over that vocabulary; the padding item's row is all zero.

use std::collections::HashMap;

/// A keyword vocabulary and the `(V+1, K)` multi-hot rows of every item.
#[derive(Clone, Debug, PartialEq)]
pub struct Keywords {
    pub vocab: Vec<String>,
    /// `(V+1, K)` row-major, 1 where item i's text holds keyword k.
    pub targets: Vec<f32>,
}

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() >= 3 && !w.chars().all(|c| c.is_ascii_digit()))
}

impl Keywords {
    /// The `n` most frequent keywords of `item_text` (`item_text[i]` is item id i's text).
    pub fn from_texts(item_text: &[String], n: usize) -> Keywords {
        let mut df: HashMap<String, usize> = HashMap::new();
        for t in item_text {
            let mut seen: Vec<String> = words(t).collect();
            seen.sort_unstable();
            seen.dedup();
            for w in seen {
                *df.entry(w).or_default() += 1;
            }
        }
        let mut ranked: Vec<(String, usize)> = df.into_iter().collect();
        ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let vocab: Vec<String> = ranked.into_iter().take(n).map(|(w, _)| w).collect();
        let index: HashMap<&str, usize> = vocab
            .iter()
            .enumerate()
            .map(|(i, w)| (w.as_str(), i))
            .collect();
        let k = vocab.len();
        let mut targets = vec![0.0; item_text.len() * k];
        for (i, t) in item_text.iter().enumerate().skip(1) {
            for w in words(t) {
                if let Some(&j) = index.get(w.as_str()) {
                    targets[i * k + j] = 1.0;
                }
            }
        }
        Keywords { vocab, targets }
    }

    /// K, the vocabulary size.
    pub fn len(&self) -> usize {
        self.vocab.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vocab.is_empty()
    }

    /// Multi-hot rows of `items`, `(N, K)` row-major.
    pub fn rows(&self, items: &[u32]) -> Vec<f32> {
        let k = self.len();
        let mut out = Vec::with_capacity(items.len() * k);
        for &i in items {
            out.extend_from_slice(&self.targets[i as usize * k..(i as usize + 1) * k]);
        }
        out
    }
}
