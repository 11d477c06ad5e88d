//! Reading a run configuration: TOML text → typed structs, with `--set key=value`
//! overrides, and toml's error spans turned into `file:line:column: key ...` messages.

use crate::error::{Error, Result};
use serde::de::DeserializeOwned;
use toml::{Table, Value};

/// Deserializes `text` (named `origin` in messages) as any configuration type,
/// applying `overrides` (`key.path=value`, see [`apply_override`]) in order; `docs`
/// names where its keys are documented. `mtrec train` and `mtrec seq` both read their
/// files through it, so both report `file:line:column: key ...`.
///
/// Errors in the file carry its line and column; errors caused by an override name
/// the override. Without overrides the text is deserialized directly so that every
/// error keeps its position.
pub(crate) fn parse_as<T: DeserializeOwned>(
    text: &str,
    origin: &str,
    overrides: &[String],
    docs: &str,
) -> Result<T> {
    let located = |e: &toml::de::Error| located(text, origin, e, docs);
    if overrides.is_empty() {
        return toml::from_str(text).map_err(|e| located(&e));
    }
    let base: Table = toml::from_str(text).map_err(|e| located(&e))?;
    let mut table = base.clone();
    for o in overrides {
        apply_override(&mut table, o)?;
    }
    match Value::Table(table).try_into::<T>() {
        Ok(cfg) => Ok(cfg),
        Err(e) => {
            // The file itself may be wrong: report that with its line first.
            toml::from_str::<T>(text).map_err(|e| located(&e))?;
            // Else the first override that breaks the file on its own is the culprit.
            for o in overrides {
                let mut one = base.clone();
                apply_override(&mut one, o)?;
                if let Err(e) = Value::Table(one).try_into::<T>() {
                    return Err(override_error(o, &e, docs));
                }
            }
            Err(Error::Config {
                what: format!("--set overrides of {origin}"),
                message: format!("{}; check the overrides together", flat(&e.to_string())),
            })
        }
    }
}

/// Applies one `key.path=value` to `table`. The value is read as a TOML value
/// (`0.01`, `true`, `[64, 32]`, `"text"`); text that is not valid TOML is taken as a
/// string, so `model.arch=ple` works unquoted. A path segment that meets an array of
/// tables selects an element by index (`features.0.dim`) or by its `name`
/// (`tasks.income.weight`). Missing tables on the path are created.
pub fn apply_override(table: &mut Table, setting: &str) -> Result<()> {
    let bad = |message: String| Error::Config {
        what: format!("--set {setting}"),
        message,
    };
    let (path, raw) = setting
        .split_once('=')
        .ok_or_else(|| bad("expected `key.path=value`, e.g. `--set train.lr=0.01`".into()))?;
    let keys: Vec<&str> = path.trim().split('.').map(str::trim).collect();
    if keys.iter().any(|k| k.is_empty()) {
        return Err(bad(format!(
            "the key path `{path}` has an empty segment; expected dotted names like `train.early_stopping.patience`"
        )));
    }
    if let Some(c) = setting
        .trim()
        .chars()
        .find(|c| c.is_control() && *c != '\t')
    {
        return Err(bad(format!(
            "holds the control character {c:?}; a value is one line (write a line break inside a quoted TOML string as \\n, e.g. `key=\"a\\nb\"`)"
        )));
    }
    let value = parse_value(raw.trim()).map_err(bad)?;
    let (last, parents) = keys
        .split_last()
        .expect("split yields at least one segment");
    let mut node = table;
    let mut walked = String::new();
    let mut i = 0;
    while i < parents.len() {
        let key = parents[i];
        if !walked.is_empty() {
            walked.push('.');
        }
        walked.push_str(key);
        let next = node
            .entry(key.to_string())
            .or_insert_with(|| Value::Table(Table::new()));
        node = match next {
            Value::Table(t) => {
                i += 1;
                t
            }
            Value::Array(items) => {
                let Some(sel) = parents.get(i + 1) else {
                    return Err(bad(format!(
                        "`{walked}` is a list; select an element with `{walked}.<index>.{last}` or `{walked}.<name>.{last}`"
                    )));
                };
                let n = items.len();
                let t = select(items, sel).ok_or_else(|| {
                    bad(format!(
                        "`{walked}` has no element `{sel}`; expected an index below {n} or the `name` of an element"
                    ))
                })?;
                walked.push('.');
                walked.push_str(sel);
                i += 2;
                t
            }
            other => {
                return Err(bad(format!(
                "`{walked}` is a {}, not a table; expected a path to a setting such as `train.lr`",
                other.type_str()
            )))
            }
        };
    }
    node.insert(last.to_string(), value);
    Ok(())
}

/// The table in `items` at index `sel`, or the one whose `name` is `sel`.
fn select<'a>(items: &'a mut [Value], sel: &str) -> Option<&'a mut Table> {
    let idx = match sel.parse::<usize>() {
        Ok(n) => n,
        Err(_) => items
            .iter()
            .position(|v| v.get("name").and_then(Value::as_str) == Some(sel))?,
    };
    items.get_mut(idx)?.as_table_mut()
}

/// `raw` read as a TOML value, else as a string. Text that TOML would skip (a `#`
/// comment after the value) is an error rather than silently dropped.
fn parse_value(raw: &str) -> std::result::Result<Value, String> {
    let read = |r: &str| {
        toml::from_str::<Table>(&format!("v = {r}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
    };
    let Some(value) = read(raw) else {
        return Ok(Value::String(raw.to_string()));
    };
    for (i, _) in raw.match_indices('#') {
        if read(&raw[..i]).as_ref() == Some(&value) {
            return Err(format!(
                "the text `{}` after the value would be read as a TOML comment and dropped; quote the whole value, e.g. `key=\"{raw}\"`, or remove it",
                &raw[i..]
            ));
        }
    }
    Ok(value)
}

fn override_error(setting: &str, e: &toml::de::Error, docs: &str) -> Error {
    Error::Config {
        what: format!("--set {setting}"),
        message: format!(
            "{}; see {docs} for the keys and their types",
            flat(&e.to_string())
        ),
    }
}

/// One line: toml's multi-line messages joined with "; ".
fn flat(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// A toml error with its position: `origin:line:column: key `a.b`: seen; expected ...`.
pub(super) fn located(text: &str, origin: &str, e: &toml::de::Error, docs: &str) -> Error {
    let message = flat(e.message());
    let Some(span) = e.span() else {
        return Error::Config {
            what: origin.to_string(),
            message,
        };
    };
    let (line, column) = line_column(text, span.start);
    let split = [", expected ", "; expected "]
        .iter()
        .find_map(|sep| message.split_once(sep));
    let (seen, expected) = match split {
        Some((s, x)) => (s.to_string(), plain_type(x)),
        None if message.starts_with("missing field") => {
            (message.clone(), format!("it to be set (see {docs})"))
        }
        None => (
            message.clone(),
            format!("valid TOML for a run configuration (see {docs})"),
        ),
    };
    let what = match key_at(text, span.start) {
        Some(k) => format!("key `{k}`"),
        None => "document".to_string(),
    };
    Error::Input {
        path: origin.to_string(),
        line,
        column,
        what,
        seen,
        expected,
    }
}

/// serde's Rust type names in words.
fn plain_type(expected: &str) -> String {
    match expected {
        "f64" | "f32" => "a number".into(),
        "usize" | "u64" | "u32" => "a whole number ≥ 0".into(),
        "a boolean" | "bool" => "true or false".into(),
        "a character" | "char" => "a single character, e.g. \",\"".into(),
        other => other.to_string(),
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub(super) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char(text, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

fn floor_char(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The dotted key written at byte `offset`, reconstructed from the text: the latest
/// `[table]` / `[[array]]` header above it (arrays numbered, `features[2]`) and the
/// key before `=` on its line. `None` when the line holds neither.
pub(super) fn key_at(text: &str, offset: usize) -> Option<String> {
    let offset = floor_char(text, offset.min(text.len()));
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = &text[line_start..line_end];
    let mut header: Option<String> = None;
    let mut counts: Vec<(String, usize)> = Vec::new();
    for l in text[..line_end].lines() {
        if let Some(h) = header_of(l) {
            header = Some(match h {
                Header::Table(name) => name,
                Header::Array(name) => {
                    let n = match counts.iter_mut().find(|(k, _)| *k == name) {
                        Some((_, n)) => {
                            *n += 1;
                            *n
                        }
                        None => {
                            counts.push((name.clone(), 0));
                            0
                        }
                    };
                    format!("{name}[{n}]")
                }
            });
        }
    }
    if header_of(line).is_some() {
        return header;
    }
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"').to_string());
    match (header, key) {
        (Some(h), Some(k)) if !k.is_empty() => Some(format!("{h}.{k}")),
        (None, Some(k)) if !k.is_empty() => Some(k),
        (h, _) => h,
    }
}

enum Header {
    Table(String),
    Array(String),
}

fn header_of(line: &str) -> Option<Header> {
    let l = line.split('#').next().unwrap_or("").trim();
    if let Some(inner) = l.strip_prefix("[[").and_then(|s| s.strip_suffix("]]")) {
        return Some(Header::Array(inner.trim().to_string()));
    }
    let inner = l.strip_prefix('[')?.strip_suffix(']')?;
    Some(Header::Table(inner.trim().to_string()))
}
