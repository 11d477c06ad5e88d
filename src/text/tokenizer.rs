//! BERT's WordPiece tokenizer: the basic tokenizer (clean-up, CJK splitting, accent
//! stripping, lower-casing, whitespace and punctuation splitting) then greedy
//! longest-match-first WordPiece with `##` continuations, `[CLS] … [SEP]` and truncation.
//!
//! It follows the `BertNormalizer` + `BertPreTokenizer` + `WordPiece` pipeline of the
//! reference tokenizer (`tokenizer.json` of a sentence-transformers model):
//!
//! 1. **clean**: drop NUL, U+FFFD and every "other" character (general category C*:
//!    controls, format characters such as U+200B, private use), except `\t \n \r`;
//!    map every whitespace character to a space;
//! 2. **CJK**: put spaces around each CJK ideograph, so each is a word of its own;
//! 3. **strip accents** (when lower-casing): canonical decomposition (NFD), then drop
//!    non-spacing marks (category Mn): `crème → creme`;
//! 4. **lower-case** (full Unicode lower-casing);
//! 5. **split** on whitespace, and make each punctuation character (ASCII punctuation or
//!    category P*) a word of its own;
//! 6. **WordPiece** each word: the longest vocabulary prefix, then the longest `##`-prefixed
//!    piece of the rest, and so on; a word longer than 100 characters, or one that cannot
//!    be covered by pieces, becomes `[UNK]`.
//!
//! Special-token strings typed in the text (a literal `"[CLS]"`) are tokenized as text.

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::path::Path;
use unicode_general_category::{get_general_category, GeneralCategory as Gc};
use unicode_normalization::UnicodeNormalization;

/// Words longer than this many characters become `[UNK]` (BERT's `max_input_chars_per_word`).
pub const MAX_CHARS_PER_WORD: usize = 100;

/// A WordPiece vocabulary and the basic tokenizer's settings.
#[derive(Clone, Debug)]
pub struct Tokenizer {
    vocab: HashMap<String, u32>,
    tokens: Vec<String>,
    /// Lower-case and strip accents (uncased models).
    pub lowercase: bool,
    /// Maximum sequence length including `[CLS]` and `[SEP]`.
    pub max_len: usize,
    pub cls: u32,
    pub sep: u32,
    pub unk: u32,
    pub pad: u32,
}

/// One tokenized text: ids including `[CLS]` and `[SEP]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoding {
    pub ids: Vec<u32>,
    /// Whether the text was cut to `max_len`.
    pub truncated: bool,
}

impl Tokenizer {
    /// A tokenizer over `tokens` (id = position), which must contain `[CLS]`, `[SEP]`,
    /// `[UNK]` and `[PAD]`.
    pub fn from_tokens(tokens: Vec<String>, lowercase: bool, max_len: usize) -> Result<Tokenizer> {
        let mut vocab = HashMap::with_capacity(tokens.len());
        for (i, t) in tokens.iter().enumerate() {
            // The first occurrence wins, as when a vocabulary file is read line by line.
            vocab.entry(t.clone()).or_insert(i as u32);
        }
        let special = |name: &str| {
            vocab.get(name).copied().ok_or_else(|| Error::Config {
                what: "WordPiece vocabulary".into(),
                message: format!(
                    "has no `{name}` token; use the vocab.txt that came with the model"
                ),
            })
        };
        if max_len < 2 {
            return Err(Error::Config {
                what: "tokenizer max_len".into(),
                message: format!("{max_len} leaves no room for [CLS] and [SEP]; use at least 2"),
            });
        }
        Ok(Tokenizer {
            cls: special("[CLS]")?,
            sep: special("[SEP]")?,
            unk: special("[UNK]")?,
            pad: special("[PAD]")?,
            vocab,
            tokens,
            lowercase,
            max_len,
        })
    }

    /// Reads `vocab.txt` (one token per line, id = line number from 0).
    pub fn from_vocab_file(path: &Path, lowercase: bool, max_len: usize) -> Result<Tokenizer> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            message: format!("cannot read the WordPiece vocabulary: {e}"),
        })?;
        let tokens: Vec<String> = text
            .lines()
            .map(|l| l.trim_end_matches('\r').to_string())
            .collect();
        if tokens.is_empty() {
            return Err(Error::Io {
                path: path.display().to_string(),
                message: "the vocabulary is empty; expected one token per line".into(),
            });
        }
        Tokenizer::from_tokens(tokens, lowercase, max_len)
    }

    /// Number of tokens in the vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.tokens.len()
    }

    /// The token string of an id.
    pub fn token(&self, id: u32) -> Option<&str> {
        self.tokens.get(id as usize).map(|s| s.as_str())
    }

    /// The id of a token string.
    pub fn id(&self, token: &str) -> Option<u32> {
        self.vocab.get(token).copied()
    }

    /// Steps 1–5: the words of `text` after normalisation and splitting.
    pub fn basic_tokenize(&self, text: &str) -> Vec<String> {
        let mut norm = String::with_capacity(text.len() + 8);
        for c in text.chars() {
            // 1. clean
            if c == '\0' || c == '\u{fffd}' {
                continue;
            }
            if matches!(c, '\t' | '\n' | '\r') {
                norm.push(' ');
                continue;
            }
            if is_other(c) {
                continue;
            }
            if c.is_whitespace() {
                norm.push(' ');
                continue;
            }
            // 2. CJK
            if is_cjk(c) {
                norm.push(' ');
                norm.push(c);
                norm.push(' ');
            } else {
                norm.push(c);
            }
        }
        if self.lowercase {
            // 3. strip accents, 4. lower-case
            norm = norm
                .nfd()
                .filter(|&c| get_general_category(c) != Gc::NonspacingMark)
                .collect::<String>()
                .chars()
                .flat_map(char::to_lowercase)
                .collect();
        }
        // 5. split on whitespace and around punctuation
        let mut words = Vec::new();
        let mut cur = String::new();
        for c in norm.chars() {
            if c.is_whitespace() || is_punctuation(c) {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
                if is_punctuation(c) {
                    words.push(c.to_string());
                }
            } else {
                cur.push(c);
            }
        }
        if !cur.is_empty() {
            words.push(cur);
        }
        words
    }

    /// Step 6 for one word: appends its WordPiece ids (or `[UNK]`) to `out`.
    pub fn wordpiece(&self, word: &str, out: &mut Vec<u32>) {
        let chars: Vec<(usize, char)> = word.char_indices().collect();
        if chars.len() > MAX_CHARS_PER_WORD {
            out.push(self.unk);
            return;
        }
        let mark = out.len();
        let mut start = 0; // index into chars
        let mut piece = String::new();
        while start < chars.len() {
            let mut end = chars.len();
            let mut found = None;
            while start < end {
                let from = chars[start].0;
                let to = if end == chars.len() {
                    word.len()
                } else {
                    chars[end].0
                };
                piece.clear();
                if start > 0 {
                    piece.push_str("##");
                }
                piece.push_str(&word[from..to]);
                if let Some(&id) = self.vocab.get(piece.as_str()) {
                    found = Some(id);
                    break;
                }
                end -= 1;
            }
            match found {
                Some(id) => out.push(id),
                None => {
                    out.truncate(mark);
                    out.push(self.unk);
                    return;
                }
            }
            start = end;
        }
    }

    /// `[CLS] wordpieces… [SEP]`, the wordpieces cut to `max_len − 2`.
    pub fn encode(&self, text: &str) -> Encoding {
        let mut ids = vec![self.cls];
        for w in self.basic_tokenize(text) {
            self.wordpiece(&w, &mut ids);
        }
        let truncated = ids.len() + 1 > self.max_len;
        ids.truncate(self.max_len - 1);
        ids.push(self.sep);
        Encoding { ids, truncated }
    }
}

/// General category C* (control, format, private use, unassigned, surrogate), except the
/// whitespace controls `\t \n \r`.
fn is_other(c: char) -> bool {
    if matches!(c, '\t' | '\n' | '\r') {
        return false;
    }
    matches!(
        get_general_category(c),
        Gc::Control | Gc::Format | Gc::PrivateUse | Gc::Unassigned | Gc::Surrogate
    )
}

/// ASCII punctuation and symbols (`$`, `+`, `^`, `` ` `` count, as in BERT) or category P*.
fn is_punctuation(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_punctuation();
    }
    matches!(
        get_general_category(c),
        Gc::ConnectorPunctuation
            | Gc::DashPunctuation
            | Gc::OpenPunctuation
            | Gc::ClosePunctuation
            | Gc::InitialPunctuation
            | Gc::FinalPunctuation
            | Gc::OtherPunctuation
    )
}

/// The CJK Unified Ideographs blocks of BERT's `_is_chinese_char` (not kana or hangul).
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF
        | 0x3400..=0x4DBF
        | 0x20000..=0x2A6DF
        | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F
        | 0x2B820..=0x2CEAF
        | 0xF900..=0xFAFF
        | 0x2F800..=0x2FA1F)
}
