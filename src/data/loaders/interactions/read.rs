//! Reading the event lines into (user, item) pairs (see the module docs of
//! [`super`]).

use super::super::lines::{latin1_fields, line_text, reject, whole, BadLine, Lines};
use super::super::resolve;
use crate::config::interactions::InteractionsConfig;
use crate::config::DataConfig;
use crate::data::ingest::{RowSource, SkippedRows};
use crate::error::{Error, Result};
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

/// The set a pair belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Set {
    Train,
    Valid,
    Test,
}

impl Set {
    pub fn name(self) -> &'static str {
        match self {
            Set::Train => "train",
            Set::Valid => "valid",
            Set::Test => "test",
        }
    }
}

/// All events of one (user, item).
#[derive(Clone, Debug, PartialEq)]
pub struct Pair {
    /// Index into [`Interactions::users`].
    pub user: u32,
    /// Index into [`Interactions::items`].
    pub item: u32,
    /// Bit b set: some event has behaviour b.
    pub flags: u32,
    /// The earliest event's time.
    pub time: i64,
    /// The line of the first event.
    pub source: RowSource,
    pub set: Set,
    /// How many event lines the pair has (repeats included).
    pub events: u32,
}

impl Pair {
    /// Label b (0 or 1).
    pub fn label(&self, b: usize) -> bool {
        self.flags >> b & 1 == 1
    }
}

/// The pairs of the logs, with their users, items and sets.
#[derive(Clone, Debug, Default)]
pub struct Interactions {
    /// Distinct user ids, in order of first event.
    pub users: Vec<String>,
    /// Distinct item ids, in order of first event (the catalogue).
    pub items: Vec<String>,
    /// Per item, its category at its first event (empty without a `category` field).
    pub item_category: Vec<String>,
    pub has_category: bool,
    /// The label column names, one per behaviour.
    pub labels: Vec<String>,
    pub pairs: Vec<Pair>,
    /// Per pair, the category of its first event ([`Dialect::pair_category`]; else empty).
    pub pair_category: Vec<String>,
    /// The files read, as shown in messages.
    pub files: Vec<String>,
    pub skipped: SkippedRows,
}

/// How a data-set loader that presets the layout reads the lines, where it differs from
/// `[data.interactions]` (`loader = "taobao"`, see `super::super::taobao`).
#[derive(Clone, Debug)]
pub struct Dialect {
    /// Each field's name in messages (Taobao's `timestamp` for `time`); `None`: `fields`.
    pub shown: Option<Vec<String>>,
    /// `user`, `item` and `category` are whole numbers, kept without leading zeros
    /// (`007` and `7` are one user); else ids are any non-empty text.
    pub whole_ids: bool,
    /// The field separator whatever `data.delimiter` says; `None`: `data.delimiter`.
    pub delimiter: Option<u8>,
    /// Also record each pair's first-event category ([`Interactions::pair_category`]).
    pub pair_category: bool,
    /// Follows "one of <behaviours>" in the message of an unknown behaviour.
    pub behavior_hint: &'static str,
}

impl Default for Dialect {
    /// `[data.interactions]` as written.
    fn default() -> Self {
        Dialect {
            shown: None,
            whole_ids: false,
            delimiter: None,
            pair_category: false,
            behavior_hint: " (data.interactions.behaviors)",
        }
    }
}

/// Where each named field of a line is.
struct Layout {
    n: usize,
    user: usize,
    item: usize,
    category: Option<usize>,
    behavior: Option<usize>,
    time: Option<usize>,
    names: Vec<String>,
}

fn config_error(key: &str, message: String) -> Error {
    Error::Config {
        what: format!("data.interactions.{key}"),
        message,
    }
}

fn layout(ic: &InteractionsConfig, cfg: &DataConfig) -> Result<Layout> {
    let find = |name: &str| -> Result<Option<usize>> {
        let at: Vec<usize> = (0..ic.fields.len())
            .filter(|&i| ic.fields[i] == name)
            .collect();
        if at.len() > 1 {
            return Err(config_error(
                "fields",
                format!(
                    "names `{name}` twice ({:?}); name each field once",
                    ic.fields
                ),
            ));
        }
        Ok(at.first().copied())
    };
    for f in &ic.fields {
        if !["user", "item", "category", "behavior", "time", "_"].contains(&f.as_str()) {
            return Err(config_error(
                "fields",
                format!("has `{f}`; expected user, item, category, behavior, time or _ (ignored)"),
            ));
        }
    }
    let required = |name: &str| {
        find(name)?.ok_or_else(|| {
            config_error(
                "fields",
                format!(
                    "is {:?} without `{name}`; every line needs a user and an item",
                    ic.fields
                ),
            )
        })
    };
    let l = Layout {
        n: ic.fields.len(),
        user: required("user")?,
        item: required("item")?,
        category: find("category")?,
        behavior: find("behavior")?,
        time: find("time")?,
        names: ic.fields.clone(),
    };
    if ic.behaviors.is_empty() || ic.behaviors.len() > 32 {
        return Err(config_error(
            "behaviors",
            format!(
                "has {} entries; expected 1 to 32 behaviour names",
                ic.behaviors.len()
            ),
        ));
    }
    if !ic.labels.is_empty() && ic.labels.len() != ic.behaviors.len() {
        return Err(config_error(
            "labels",
            format!(
                "has {} names for {} behaviours; give one label column name per behaviour (or none: the behaviour names)",
                ic.labels.len(),
                ic.behaviors.len()
            ),
        ));
    }
    if l.behavior.is_none() {
        if ic.file_behaviors.len() != cfg.files.len() {
            return Err(config_error(
                "file_behaviors",
                format!(
                    "has {} entries for {} files and the lines have no `behavior` field; give the behaviour of each file of data.files, in order",
                    ic.file_behaviors.len(),
                    cfg.files.len()
                ),
            ));
        }
        for b in &ic.file_behaviors {
            if !ic.behaviors.contains(b) {
                return Err(config_error(
                    "file_behaviors",
                    format!("has `{b}`, not one of behaviors {:?}", ic.behaviors),
                ));
            }
        }
    } else if !ic.file_behaviors.is_empty() {
        return Err(config_error(
            "file_behaviors",
            "is set while the lines have a `behavior` field; remove one of them".into(),
        ));
    }
    Ok(l)
}

/// One usable event line.
struct Event<'a> {
    user: Cow<'a, str>,
    item: Cow<'a, str>,
    category: Cow<'a, str>,
    behavior: usize,
    time: Option<i64>,
}

fn parse<'a>(
    f: &'a [String],
    l: &Layout,
    d: &Dialect,
    behaviors: &[String],
    file_behavior: Option<usize>,
    text: &str,
    cut: bool,
) -> std::result::Result<Event<'a>, BadLine> {
    if f.len() != l.n {
        let names: Vec<&str> = l.names.iter().map(String::as_str).collect();
        return Err(BadLine::field_count(f.len(), text, cut, &names));
    }
    if !d.whole_ids {
        for (i, what) in [(l.user, "user"), (l.item, "item")] {
            if f[i].is_empty() {
                return Err(BadLine::field(i, what, "", "a non-empty id"));
            }
        }
    }
    let behavior = match (l.behavior, file_behavior) {
        (Some(i), _) => behaviors.iter().position(|b| *b == f[i]).ok_or_else(|| {
            BadLine::field(
                i,
                &l.names[i],
                &f[i],
                format!("one of {}{}", behaviors.join(", "), d.behavior_hint),
            )
        })?,
        (None, Some(b)) => b,
        (None, None) => 0,
    };
    // an id as written, or (whole_ids) the whole number it is, without leading zeros
    let id = |i: usize| -> std::result::Result<Cow<'a, str>, BadLine> {
        if d.whole_ids {
            Ok(Cow::Owned(whole(i, &l.names[i], &f[i])?.to_string()))
        } else {
            Ok(Cow::Borrowed(f[i].as_str()))
        }
    };
    let (user, item) = (id(l.user)?, id(l.item)?);
    let category = match l.category {
        Some(i) => id(i)?,
        None => Cow::Borrowed(""),
    };
    let time = match l.time {
        Some(i) => Some(whole(i, &l.names[i], &f[i])?),
        None => None,
    };
    Ok(Event {
        user,
        item,
        category,
        behavior,
        time,
    })
}

/// Reads every event of `cfg.files` into pairs and assigns their sets
/// ([`super::split::assign`]).
pub fn read_interactions(cfg: &DataConfig, data_dir: &Path) -> Result<Interactions> {
    let ic = cfg.interactions.clone().unwrap_or_default();
    let mut out = aggregate(cfg, &ic, &Dialect::default(), data_dir)?;
    if out.pairs.is_empty() {
        return Err(Error::Config {
            what: "data.files".into(),
            message: format!(
                "hold no usable event lines ({} skipped); check the files and [data.interactions] fields",
                out.skipped.count
            ),
        });
    }
    super::split::assign(&mut out.pairs, out.users.len(), &ic)?;
    Ok(out)
}

/// The one aggregation of event lines into (user, item) pairs (module docs of
/// [`super`]), read with the layout `ic` as `dialect` says; every pair's set is
/// `Train` until [`super::split::assign`].
pub fn aggregate(
    cfg: &DataConfig,
    ic: &InteractionsConfig,
    dialect: &Dialect,
    data_dir: &Path,
) -> Result<Interactions> {
    let mut l = layout(ic, cfg)?;
    if let Some(shown) = &dialect.shown {
        l.names = shown.clone();
    }
    let sep = dialect
        .delimiter
        .map_or_else(|| cfg.delimiter_char(), char::from);
    if !sep.is_ascii() {
        return Err(Error::Config {
            what: "data.delimiter".into(),
            message: format!(
                "is `{sep}`; the interactions loader needs a one-byte (ASCII) delimiter"
            ),
        });
    }
    let mut out = Interactions {
        has_category: l.category.is_some(),
        labels: ic.label_names().to_vec(),
        ..Interactions::default()
    };
    let mut user_ix: HashMap<String, u32> = HashMap::new();
    let mut item_ix: HashMap<String, u32> = HashMap::new();
    let mut pair_ix: HashMap<(u32, u32), usize> = HashMap::new();
    let mut seen_lines = std::collections::HashSet::new();
    let mut position = 0i64;
    for (fi, f) in cfg.files.iter().enumerate() {
        let path = resolve(data_dir, f);
        let shown = path.display().to_string();
        let mut lines = Lines::open(&path, &shown, "check data.files and --data-dir")?.limits(cfg);
        out.files.push(shown.clone());
        let file = (out.files.len() - 1) as u32;
        let file_behavior = ic
            .file_behaviors
            .get(fi)
            .and_then(|b| ic.behaviors.iter().position(|x| x == b));
        while let Some(line) = lines.next_line()? {
            if cfg.dedup && !seen_lines.insert(line.bytes.to_vec()) {
                out.skipped.duplicates += 1;
                continue;
            }
            let fields = latin1_fields(line.bytes, sep as u8, cfg.trim);
            let text = line_text(line.bytes);
            let parsed = parse(
                &fields,
                &l,
                dialect,
                &ic.behaviors,
                file_behavior,
                &text,
                line.cut,
            );
            let e = match parsed {
                Ok(e) => e,
                Err(bad) => {
                    reject(
                        cfg.bad_rows,
                        &mut out.skipped,
                        &shown,
                        line.number,
                        bad,
                        &text,
                    )?;
                    continue;
                }
            };
            position += 1;
            let time = e.time.unwrap_or(position);
            let user = match user_ix.get(e.user.as_ref()) {
                Some(&u) => u,
                None => {
                    if ic.max_users > 0 && out.users.len() >= ic.max_users {
                        continue; // past the user subset
                    }
                    out.users.push(e.user.to_string());
                    user_ix.insert(e.user.to_string(), out.users.len() as u32 - 1);
                    out.users.len() as u32 - 1
                }
            };
            let item = *item_ix.entry(e.item.to_string()).or_insert_with(|| {
                out.items.push(e.item.to_string());
                out.item_category.push(e.category.to_string());
                out.items.len() as u32 - 1
            });
            let at = *pair_ix.entry((user, item)).or_insert_with(|| {
                out.pairs.push(Pair {
                    user,
                    item,
                    flags: 0,
                    time,
                    source: RowSource {
                        file,
                        line: line.number,
                    },
                    set: Set::Train,
                    events: 0,
                });
                if dialect.pair_category {
                    out.pair_category.push(e.category.to_string());
                }
                out.pairs.len() - 1
            });
            let p = &mut out.pairs[at];
            p.flags |= 1 << e.behavior;
            p.time = p.time.min(time);
            p.events = p.events.saturating_add(1);
        }
    }
    Ok(out)
}
