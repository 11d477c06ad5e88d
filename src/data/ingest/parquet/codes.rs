//! A categorical feature's INT32 / INT64 column numbered by value: per row group, each
//! distinct value gets the next code 0, 1, … at its first row, through a table keyed
//! by the integer itself, so no cell is formatted to text or hashed as text.
//!
//! ```text
//! value v (kind k) ──k.key(v): u64──▶ open-addressing table (Fibonacci hash) ──▶ code
//! null             ──────────────────▶ the group's null code (made at its first null)
//! code c ──text only when asked (its first appearance, a report line)──▶ push_int(key, k)
//! ```
//! The text numbering it replaces (`cache/build/cells.rs`, `Codes`: the chunk's
//! distinct texts in first-appearance order) gives code `c` to the row's text; this
//! gives it to the row's key. Equal keys have equal texts and unequal keys unequal
//! texts (`IntKind::key`), so both number the rows alike, except that a null's text
//! (the first of `data.missing_values`) may also be some value's text (`"0"`): then
//! two codes share a text. The build treats codes by their texts (the vocabulary
//! merges texts, pass 2 looks each text up), so that is harmless;
//! `tests/s10pq_codes.rs` compares both numberings on random integers of every kind.

use super::values::{push_int, IntKind};

/// The codes of one column's values in one row group.
#[derive(Default)]
pub(crate) struct IntCodes {
    /// Open addressing, linear probing: code + 1 per slot, 0 = empty; at most half full.
    slots: Vec<u32>,
    /// log2 of `slots.len()`.
    bits: u32,
    /// Code c's key (the null code's entry is unused).                          (codes,)
    keys: Vec<u64>,
    /// The null code, once a null was seen, and a null's text.
    null: Option<u32>,
    null_text: String,
}

/// Slot of `key` in a table of `2^bits` slots: the top bits of `key · 2⁶⁴/φ` (Fibonacci
/// hashing spreads consecutive integers, the usual ids, over the whole table).
#[inline]
fn slot(key: u64, bits: u32) -> usize {
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
}

impl IntCodes {
    /// The code of `key`, a new one at its first appearance.
    #[inline]
    pub(crate) fn code(&mut self, key: u64) -> u32 {
        if 2 * (self.keys.len() + 1) > self.slots.len() {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut i = slot(key, self.bits);
        loop {
            match self.slots[i] {
                0 => {
                    let c = self.keys.len() as u32;
                    self.keys.push(key);
                    self.slots[i] = c + 1;
                    return c;
                }
                s if self.keys[s as usize - 1] == key => return s - 1,
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// The code of a null (`text`: a null's text), a new one at the group's first null.
    #[inline]
    pub(crate) fn null_code(&mut self, text: &str) -> u32 {
        if let Some(c) = self.null {
            return c;
        }
        let c = self.keys.len() as u32;
        self.keys.push(0); // not in the table: `code` never returns it
        self.null = Some(c);
        self.null_text = text.to_string();
        c
    }

    /// Doubles the slots (64 at first) and places every value's code again.
    fn grow(&mut self) {
        self.bits = (self.bits + 1).max(6);
        let n = 1usize << self.bits;
        let mut slots = vec![0u32; n];
        for (c, &key) in self.keys.iter().enumerate() {
            if self.null == Some(c as u32) {
                continue;
            }
            let mut i = slot(key, self.bits);
            while slots[i] != 0 {
                i = (i + 1) & (n - 1);
            }
            slots[i] = c as u32 + 1;
        }
        self.slots = slots;
    }

    /// Appends code `c`'s text: its value read as `kind` (what the text path would
    /// hold for the cell), or a null's text.
    pub(crate) fn push_text(&self, c: u32, kind: IntKind, out: &mut String) {
        if self.null == Some(c) {
            out.push_str(&self.null_text);
        } else {
            push_int(out, self.keys[c as usize] as i64, kind);
        }
    }

    /// Appends the codes of a batch's rows to `out`: `keys`, the batch's non-null
    /// values' keys in row order; `def`, the rows' definition levels and their maximum
    /// (a level below it is a null), for an optional column; `null`: a null's text.
    pub(crate) fn number(
        &mut self,
        mut keys: impl Iterator<Item = u64>,
        def: Option<(&[i16], i16)>,
        null: &str,
        out: &mut Vec<u32>,
    ) {
        match def {
            None => out.extend(keys.map(|k| self.code(k))),
            Some((d, max)) => {
                for &l in d {
                    let c = if l == max {
                        // the decoder gives one value per row at the maximum level
                        self.code(keys.next().unwrap_or_default())
                    } else {
                        self.null_code(null)
                    };
                    out.push(c);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The naive numbering: a map from each row's text to its code.
    fn by_text(texts: &[String]) -> Vec<u32> {
        let mut m = std::collections::HashMap::new();
        (texts.iter())
            .map(|t| {
                let n = m.len() as u32;
                *m.entry(t.clone()).or_insert(n)
            })
            .collect()
    }

    #[test]
    fn codes_number_values_as_their_texts_do() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut vals: Vec<i64> = vec![i64::MIN, i64::MAX, 0, -1, 1, i64::MIN, -1];
        for _ in 0..5000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            vals.push(match x % 3 {
                0 => (x >> 8) as i64 % 300 - 150, // repeats
                1 => x as i64,                    // anything
                _ => (x % 70) as i64 * 1_000_003, // repeats, spread
            });
        }
        for kind in [
            IntKind::I8,
            IntKind::I16,
            IntKind::I32,
            IntKind::U8,
            IntKind::U16,
            IntKind::U32,
            IntKind::I64,
            IntKind::U64,
        ] {
            let mut codes = IntCodes::default();
            let mut got = Vec::new();
            codes.number(vals.iter().map(|&v| kind.key(v)), None, "", &mut got);
            let texts: Vec<String> = (vals.iter())
                .map(|&v| {
                    let mut s = String::new();
                    push_int(&mut s, v, kind);
                    s
                })
                .collect();
            assert_eq!(got, by_text(&texts), "{kind:?}");
            for (c, t) in got.iter().zip(&texts) {
                let mut s = String::new();
                codes.push_text(*c, kind, &mut s);
                assert_eq!(&s, t, "{kind:?}");
            }
        }
    }
}
