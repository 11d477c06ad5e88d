//! Readers for sequence data of any name, in one of two formats (`data.format` of
//! `mtrec seq`):
//!
//! | format | one line | order of a user's items |
//! |---|---|---|
//! | `sequences` | `user item item ...` (whitespace-separated, one user per line; Beauty's `user_sequence.txt`) | as on the line |
//! | `interactions` | `user,item[,timestamp[,...]]` (CSV, TSV or whitespace; more fields are ignored; the timestamp's field is `data.time_column`, 3 by default) | by timestamp when the file has one (ties: file order), else file order |
//!
//! plus an optional item text file: one item per line, its id, one separator (the first
//! tab, comma or space on the line) and the text; lines whose id is not in the catalogue
//! (a header, items nobody interacted with) are ignored, an item given twice is an error
//! naming both lines. Every file is read as UTF-8 (`data.encoding = "utf-8"`, a leading BOM
//! dropped) unless `data.encoding = "latin-1"` asks for ISO-8859-1; text that is not UTF-8
//! is an error at `file:line:column` that says so. Users keep the order in which they
//! first appear in the file; item ids are shuffled as everywhere (`super::shuffled_ids`).

use super::SeqData;
use crate::error::{Error, Result};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// How the bytes of the data files become text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Latin1,
}

impl Encoding {
    /// `"utf-8"` (also `"utf8"`) or `"latin-1"` (also `"latin1"`, `"iso-8859-1"`).
    pub fn parse(s: &str) -> Result<Encoding> {
        match s.to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Ok(Encoding::Utf8),
            "latin-1" | "latin1" | "iso-8859-1" => Ok(Encoding::Latin1),
            other => Err(Error::Config {
                what: "data.encoding".into(),
                message: format!("unknown encoding `{other}`; use \"utf-8\" or \"latin-1\""),
            }),
        }
    }
}

/// The field separator of an interactions file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delimiter {
    /// Tab if the first line holds one, else comma if it holds one, else whitespace.
    Auto,
    Char(char),
    Whitespace,
}

impl Delimiter {
    /// `"auto"`, `","`, `"\t"` (or `"tab"`), `";"`, `"|"`, or `" "` (or `"whitespace"`).
    pub fn parse(s: &str) -> Result<Delimiter> {
        match s {
            "auto" => Ok(Delimiter::Auto),
            " " | "whitespace" => Ok(Delimiter::Whitespace),
            "tab" => Ok(Delimiter::Char('\t')),
            "," | "\t" | ";" | "|" => Ok(Delimiter::Char(s.chars().next().unwrap_or(','))),
            other => Err(Error::Config {
                what: "data.delimiter".into(),
                message: format!(
                    "`{other}` is not a field separator; use \"auto\", \",\", \"\\t\", \";\", \"|\" or \" \" (whitespace)"
                ),
            }),
        }
    }

    fn resolve(self, first_line: &str) -> Delimiter {
        match self {
            Delimiter::Auto if first_line.contains('\t') => Delimiter::Char('\t'),
            Delimiter::Auto if first_line.contains(',') => Delimiter::Char(','),
            Delimiter::Auto => Delimiter::Whitespace,
            other => other,
        }
    }

    fn split(self, line: &str) -> Vec<&str> {
        match self {
            Delimiter::Char(c) => line.split(c).map(unquote).collect(),
            _ => line.split_whitespace().map(unquote).collect(),
        }
    }
}

/// A field without surrounding spaces and one pair of double quotes.
fn unquote(f: &str) -> &str {
    let f = f.trim();
    f.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(f)
}

fn bad(path: &Path, line: usize, column: usize, what: &str, seen: &str, expected: &str) -> Error {
    Error::Input {
        path: path.display().to_string(),
        line,
        column,
        what: what.into(),
        seen: seen.into(),
        expected: expected.into(),
    }
}

/// The text of `path` in `encoding`. Bytes that are not UTF-8 (under `Utf8`) are an error
/// at the line and byte column of the first one, which says how to read Latin-1.
pub fn read_text(path: &Path, encoding: Encoding, hint: &str) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        message: format!("{e}; {hint}"),
    })?;
    match encoding {
        Encoding::Latin1 => Ok(bytes.iter().map(|&b| b as char).collect()),
        Encoding::Utf8 => match String::from_utf8(bytes) {
            Ok(s) => Ok(s.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(s)),
            Err(e) => {
                let bytes = e.as_bytes();
                let at = e.utf8_error().valid_up_to();
                let line = 1 + bytes[..at].iter().filter(|&&b| b == b'\n').count();
                let start = bytes[..at]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |p| p + 1);
                Err(bad(
                    path,
                    line,
                    at - start + 1,
                    "text",
                    &format!("byte 0x{:02X}, not UTF-8", bytes[at]),
                    "UTF-8 text; if the file is Latin-1 (ISO-8859-1), set data.encoding = \"latin-1\"",
                ))
            }
        },
    }
}

/// Parses `user item item ...` lines (see the module docs); `path` names errors.
/// Errors: a user without items, a user on two lines.
pub fn parse_sequences(text: &str, path: &Path) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    let mut users = Vec::new();
    let mut seqs = Vec::new();
    let mut seen = HashSet::new();
    for (i, line) in text.lines().enumerate() {
        let mut fields = line.split_whitespace();
        let Some(user) = fields.next() else { continue };
        let items: Vec<String> = fields.map(str::to_string).collect();
        if items.is_empty() {
            return Err(bad(
                path,
                i + 1,
                2,
                "items of user",
                user,
                "at least one item after the user id",
            ));
        }
        if !seen.insert(user.to_string()) {
            return Err(bad(
                path,
                i + 1,
                1,
                "user",
                user,
                "each user on one line only",
            ));
        }
        users.push(user.to_string());
        seqs.push(items);
    }
    Ok((users, seqs))
}

/// A file of `user item item ...` lines as [`SeqData`] named `name`.
pub fn load_sequence_file(
    path: &Path,
    encoding: Encoding,
    name: &str,
    seed: u64,
) -> Result<SeqData> {
    let text = read_text(
        path,
        encoding,
        "expected a file of `user item item ...` lines (data.dir and data.file)",
    )?;
    let (users, seqs) = parse_sequences(&text, path)?;
    if users.is_empty() {
        return Err(bad(
            path,
            1,
            1,
            "file",
            "no lines",
            "one `user item item ...` line per user",
        ));
    }
    SeqData::from_raw(name, users, seqs, None, seed)
}

/// How an interactions file is read.
#[derive(Clone, Copy, Debug)]
pub struct InteractionsFormat {
    pub encoding: Encoding,
    pub delimiter: Delimiter,
    /// The first line names the columns and is skipped.
    pub header: bool,
    /// 1-based field of the timestamp (3 unless set; 0: none, file order). A file whose
    /// first line has no such field has no timestamps.
    pub time_column: usize,
}

/// An interactions file (`user item [timestamp]` per line, see the module docs) as
/// [`SeqData`] named `name`. Either every line has a timestamp (a number, e.g. Unix
/// seconds) or none does. Errors at `file:line:column`: fewer than 2 fields, an empty id,
/// a timestamp that is not a number, a line without a timestamp in a file with them.
pub fn load_interactions(
    path: &Path,
    fmt: InteractionsFormat,
    name: &str,
    seed: u64,
) -> Result<SeqData> {
    let text = read_text(
        path,
        fmt.encoding,
        "expected an interactions file of `user,item[,timestamp]` lines (data.dir and data.file)",
    )?;
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    if fmt.header {
        lines.next();
    }
    let mut lines = lines.peekable();
    let Some(&(_, first)) = lines.peek() else {
        return Err(bad(
            path,
            1,
            1,
            "file",
            "no interactions",
            "one `user,item[,timestamp]` line per interaction",
        ));
    };
    let delim = fmt.delimiter.resolve(first);
    let tc = fmt.time_column;
    let has_time = tc > 0
        && delim
            .split(first)
            .get(tc - 1)
            .is_some_and(|t| !t.is_empty());
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut users: Vec<String> = Vec::new();
    let mut rows: Vec<Vec<(f64, String)>> = Vec::new();
    for (i, line) in lines {
        let f = delim.split(line);
        let expected = if has_time {
            "user, item and timestamp fields (the first line has a timestamp, so every line needs one)"
        } else {
            "at least 2 fields: user, item"
        };
        if f.len() < 2 || (has_time && f.get(tc - 1).is_none_or(|t| t.is_empty())) {
            return Err(bad(
                path,
                i + 1,
                f.len().min(tc.max(2)) + 1,
                "line",
                line,
                expected,
            ));
        }
        for (c, what) in [(0, "user id"), (1, "item id")] {
            if f[c].is_empty() {
                return Err(bad(path, i + 1, c + 1, what, "an empty field", "an id"));
            }
        }
        let time = if has_time {
            f[tc - 1]
                .parse::<f64>()
                .ok()
                .filter(|t| t.is_finite())
                .ok_or_else(|| {
                    bad(
                        path,
                        i + 1,
                        tc,
                        "timestamp",
                        f[tc - 1],
                        "a number (e.g. Unix seconds)",
                    )
                })?
        } else {
            0.0
        };
        let u = *index.entry(f[0].to_string()).or_insert_with(|| {
            users.push(f[0].to_string());
            rows.push(Vec::new());
            users.len() - 1
        });
        rows[u].push((time, f[1].to_string()));
    }
    let seqs = rows
        .into_iter()
        .map(|mut r| {
            // stable: equal timestamps keep the file order
            r.sort_by(|a, b| a.0.total_cmp(&b.0));
            r.into_iter().map(|(_, item)| item).collect()
        })
        .collect();
    SeqData::from_raw(name, users, seqs, None, seed)
}

/// Reads the item text file `path` (see the module docs) into `data.item_text`; returns
/// how many catalogue items got a text.
pub fn read_item_text(path: &Path, encoding: Encoding, data: &mut SeqData) -> Result<usize> {
    let text = read_text(
        path,
        encoding,
        "expected the item text file of data.item_text: `item<TAB, comma or space>text` per line",
    )?;
    let index: HashMap<&str, usize> = data
        .item_keys
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    let mut texts = vec![String::new(); data.num_items + 1];
    let mut line_of: HashMap<usize, usize> = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let cut = line.find(['\t', ',', ' ']).unwrap_or(line.len());
        let key = unquote(&line[..cut]);
        let Some(&i) = index.get(key) else { continue };
        if let Some(first) = line_of.insert(i, n + 1) {
            return Err(bad(
                path,
                n + 1,
                1,
                "item",
                key,
                &format!("one text per item (it already has one on line {first})"),
            ));
        }
        texts[i] = unquote(line.get(cut + 1..).unwrap_or("")).to_string();
    }
    data.item_text = texts;
    Ok(line_of.len())
}
