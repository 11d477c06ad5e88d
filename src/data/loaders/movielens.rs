//! `data.loader = "movielens"`: a MovieLens 100K folder (`files = ["ml-100k"]`) as one
//! row per rating, the rating joined with its user and its item.
//!
//! | file | format | used as |
//! |---|---|---|
//! | `u.data` | `user \t item \t rating \t timestamp` | one output row per line |
//! | `u.user` | `id\|age\|gender\|occupation\|zip` | joined on `user_id` |
//! | `u.item` | `id\|title\|release date\|video release date\|IMDb URL\|` G genre flags | joined on `item_id` |
//! | `u.genre` | `name\|index`, index 0..G in order | names of the G flags |
//!
//! Output columns, in this order: `user_id, item_id, rating, timestamp, age, gender,
//! occupation, zip, title, release_date, genres`. `genres` holds the names of the set
//! flags joined by `|` in `u.genre` order (`Animation|Children's|Comedy`; empty when
//! none is set, which reads as missing), for a `multi_hot` feature with separator `|`.
//!
//! All four files are read as Latin-1, the data set's encoding (`u.item` has titles
//! such as `Misérables, Les (1995)`); `format`, `delimiter`, `encoding` do not apply.
//! `trim` strips spaces around fields. Ids are whole numbers and are written back
//! without leading zeros; `rating` must be a number and `timestamp` a whole number.
//!
//! A malformed line of `u.data`, `u.user` or `u.item` (field count, an id that is not
//! a whole number, a genre flag other than 0/1, an id defined twice) and a rating whose
//! user or item has no entry are bad rows: with `bad_rows = "error"` the run stops at
//! `path:line:field`, with `"skip"` the line is dropped and reported (a skipped user
//! or item line also drops the ratings that refer to it, each reported). `u.genre` must
//! be well formed. `dedup` drops `u.data` lines that repeat an earlier one exactly.
//! Each row's source is its `u.data` line; `RawTable::files` has one `u.data` path per
//! entry of `data.files`.

use super::lines::{latin1_fields, line_text, reject, whole, BadLine, Lines};
use super::resolve;
use super::table::{check_fixed_columns, TableOut};
use crate::config::DataConfig;
use crate::data::ingest::{RawTable, RowSource, SkippedRows};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::path::Path;

/// The columns this loader produces.
pub const COLUMNS: [&str; 11] = [
    "user_id",
    "item_id",
    "rating",
    "timestamp",
    "age",
    "gender",
    "occupation",
    "zip",
    "title",
    "release_date",
    "genres",
];

const USER_FIELDS: [&str; 5] = ["id", "age", "gender", "occupation", "zip"];
const DATA_FIELDS: [&str; 4] = ["user_id", "item_id", "rating", "timestamp"];

/// `u.user`: age, gender, occupation, zip.
struct User {
    texts: [String; 4],
}

/// `u.item`: title, release date, genres joined by `|`.
struct Item {
    texts: [String; 3],
}

/// Reads every folder of `cfg.files` (relative paths under `data_dir`), keeping the
/// columns `needed` (in that order; empty: all of [`COLUMNS`]).
pub(super) fn read(cfg: &DataConfig, data_dir: &Path, needed: &[&str]) -> Result<RawTable> {
    check_fixed_columns(cfg, "movielens", &COLUMNS)?;
    let mut out = TableOut::new("movielens", &COLUMNS, needed)?;
    for f in &cfg.files {
        let dir = resolve(data_dir, f);
        if !dir.is_dir() {
            return Err(Error::Io {
                path: dir.display().to_string(),
                message: "is not a folder; data.loader = \"movielens\" reads a MovieLens 100K folder holding u.data, u.user, u.item and u.genre (files = [\"ml-100k\"]); check data.files and --data-dir".into(),
            });
        }
        let genres = read_genres(&dir.join("u.genre"))?;
        let users = read_users(cfg, &dir.join("u.user"), &mut out.skipped)?;
        let items = read_items(cfg, &dir.join("u.item"), &genres, &mut out.skipped)?;
        let ratings = dir.join("u.data");
        out.files.push(ratings.display().to_string());
        read_ratings(cfg, &ratings, &users, &items, &mut out)?;
    }
    Ok(out.finish())
}

fn open(path: &Path) -> Result<(Lines, String)> {
    let shown = path.display().to_string();
    let lines = Lines::open(
        path,
        &shown,
        "a MovieLens 100K folder holds u.data, u.user, u.item and u.genre; check data.files and --data-dir",
    )?;
    Ok((lines, shown))
}

/// The genre names of `u.genre` in index order.
fn read_genres(path: &Path) -> Result<Vec<String>> {
    let (mut lines, shown) = open(path)?;
    let mut names = Vec::new();
    while let Some(line) = lines.next_line()? {
        let f = latin1_fields(line.bytes, b'|', true);
        let bad = if f.len() != 2 {
            Some(BadLine::field_count(
                f.len(),
                &line_text(line.bytes),
                line.cut,
                &["name", "index"],
            ))
        } else if f[1] != names.len().to_string() {
            Some(BadLine::field(
                1,
                "index",
                &f[1],
                format!("{} (genres are listed in index order from 0)", names.len()),
            ))
        } else {
            None
        };
        if let Some(b) = bad {
            // The genre list is metadata for every item: it cannot be skipped.
            return Err(Error::Input {
                path: shown,
                line: line.number as usize,
                column: b.column,
                what: b.what,
                seen: b.seen,
                expected: format!("{}; u.genre lists `name|index` per line", b.expected),
            });
        }
        names.push(f[0].clone());
    }
    if names.is_empty() {
        return Err(Error::Io {
            path: shown,
            message: "lists no genres; expected lines `name|index` (`unknown|0`, `Action|1`, ...)"
                .into(),
        });
    }
    Ok(names)
}

/// `u.user` by id.
fn read_users(
    cfg: &DataConfig,
    path: &Path,
    skipped: &mut SkippedRows,
) -> Result<HashMap<i64, User>> {
    let (mut lines, shown) = open(path)?;
    let mut users: HashMap<i64, (u64, User)> = HashMap::new();
    while let Some(line) = lines.next_line()? {
        let f = latin1_fields(line.bytes, b'|', cfg.trim);
        let parsed = if f.len() != USER_FIELDS.len() {
            Err(BadLine::field_count(
                f.len(),
                &line_text(line.bytes),
                line.cut,
                &USER_FIELDS,
            ))
        } else {
            whole(0, "id", &f[0]).and_then(|id| match users.get(&id) {
                Some((at, _)) => Err(BadLine::field(
                    0,
                    "id",
                    &f[0],
                    format!("a user id not defined before (line {at} defines user {id})"),
                )),
                None => Ok(id),
            })
        };
        match parsed {
            Ok(id) => {
                let texts = [f[1].clone(), f[2].clone(), f[3].clone(), f[4].clone()];
                users.insert(id, (line.number, User { texts }));
            }
            Err(bad) => reject(
                cfg.bad_rows,
                skipped,
                &shown,
                line.number,
                bad,
                &line_text(line.bytes),
            )?,
        }
    }
    Ok(users.into_iter().map(|(id, (_, u))| (id, u)).collect())
}

/// `u.item` by id, its genre flags turned into names.
fn read_items(
    cfg: &DataConfig,
    path: &Path,
    genres: &[String],
    skipped: &mut SkippedRows,
) -> Result<HashMap<i64, Item>> {
    let (mut lines, shown) = open(path)?;
    let mut names: Vec<&str> = vec![
        "id",
        "title",
        "release date",
        "video release date",
        "IMDb URL",
    ];
    names.extend(genres.iter().map(String::as_str));
    let mut items: HashMap<i64, (u64, Item)> = HashMap::new();
    while let Some(line) = lines.next_line()? {
        let f = latin1_fields(line.bytes, b'|', cfg.trim);
        let parsed = if f.len() != names.len() {
            Err(BadLine::field_count(
                f.len(),
                &line_text(line.bytes),
                line.cut,
                &names,
            ))
        } else {
            item_row(&f, &names, &items)
        };
        match parsed {
            Ok((id, set)) => {
                let joined = set
                    .iter()
                    .map(|&g| genres[g].as_str())
                    .collect::<Vec<_>>()
                    .join("|");
                let texts = [f[1].clone(), f[2].clone(), joined];
                items.insert(id, (line.number, Item { texts }));
            }
            Err(bad) => reject(
                cfg.bad_rows,
                skipped,
                &shown,
                line.number,
                bad,
                &line_text(line.bytes),
            )?,
        }
    }
    Ok(items.into_iter().map(|(id, (_, it))| (id, it)).collect())
}

/// The id and the indices of the set genre flags of one `u.item` line.
fn item_row(
    f: &[String],
    names: &[&str],
    items: &HashMap<i64, (u64, Item)>,
) -> std::result::Result<(i64, Vec<usize>), BadLine> {
    let id = whole(0, "id", &f[0])?;
    if let Some((at, _)) = items.get(&id) {
        return Err(BadLine::field(
            0,
            "id",
            &f[0],
            format!("an item id not defined before (line {at} defines item {id})"),
        ));
    }
    let mut set = Vec::new();
    for (g, flag) in f[5..].iter().enumerate() {
        match flag.as_str() {
            "1" => set.push(g),
            "0" => {}
            _ => {
                return Err(BadLine::field(
                    5 + g,
                    names[5 + g],
                    flag,
                    "a genre flag, 0 or 1",
                ))
            }
        }
    }
    Ok((id, set))
}

/// Appends one row per `u.data` line to `out`.
fn read_ratings(
    cfg: &DataConfig,
    path: &Path,
    users: &HashMap<i64, User>,
    items: &HashMap<i64, Item>,
    out: &mut TableOut,
) -> Result<()> {
    let (mut lines, shown) = open(path)?;
    let file = (out.files.len() - 1) as u32;
    let user_file = path.with_file_name("u.user").display().to_string();
    let item_file = path.with_file_name("u.item").display().to_string();
    while let Some(line) = lines.next_line()? {
        if cfg.dedup && out.is_duplicate(line.bytes) {
            continue;
        }
        let f = latin1_fields(line.bytes, b'\t', cfg.trim);
        let joined = if f.len() != DATA_FIELDS.len() {
            Err(BadLine::field_count(
                f.len(),
                &line_text(line.bytes),
                line.cut,
                &DATA_FIELDS,
            ))
        } else {
            join(&f, users, items, &user_file, &item_file)
        };
        match joined {
            Ok((u, i, user, item)) => {
                let (u, i) = (u.to_string(), i.to_string());
                let [age, gender, occupation, zip] = &user.texts;
                let [title, release, genres] = &item.texts;
                let row = [
                    u.as_str(),
                    i.as_str(),
                    &f[2],
                    &f[3],
                    age,
                    gender,
                    occupation,
                    zip,
                    title,
                    release,
                    genres,
                ];
                out.push(
                    &row,
                    RowSource {
                        file,
                        line: line.number,
                    },
                );
            }
            Err(bad) => reject(
                cfg.bad_rows,
                &mut out.skipped,
                &shown,
                line.number,
                bad,
                &line_text(line.bytes),
            )?,
        }
    }
    Ok(())
}

/// The ids, user and item of one `u.data` line, or why it cannot be used.
fn join<'a>(
    f: &[String],
    users: &'a HashMap<i64, User>,
    items: &'a HashMap<i64, Item>,
    user_file: &str,
    item_file: &str,
) -> std::result::Result<(i64, i64, &'a User, &'a Item), BadLine> {
    let u = whole(0, DATA_FIELDS[0], &f[0])?;
    let i = whole(1, DATA_FIELDS[1], &f[1])?;
    if !f[2].parse::<f64>().is_ok_and(f64::is_finite) {
        return Err(BadLine::field(
            2,
            DATA_FIELDS[2],
            &f[2],
            "a number (1 to 5)",
        ));
    }
    whole(3, DATA_FIELDS[3], &f[3])?;
    let user = users.get(&u).ok_or_else(|| {
        BadLine::new(
            1,
            "field 1 (`user_id`)",
            format!("user {u} has no entry in u.user"),
            format!(
                "a user listed in {user_file} ({} users there); u.data and u.user must come from the same release",
                users.len()
            ),
        )
    })?;
    let item = items.get(&i).ok_or_else(|| {
        BadLine::new(
            2,
            "field 2 (`item_id`)",
            format!("item {i} has no entry in u.item"),
            format!(
                "an item listed in {item_file} ({} items there); u.data and u.item must come from the same release",
                items.len()
            ),
        )
    })?;
    Ok((u, i, user, item))
}

/// The item-side columns of [`COLUMNS`], as [`items`] returns them.
pub const ITEM_COLUMNS: [&str; 4] = ["item_id", "title", "release_date", "genres"];

/// A movie of `u.item`: its id and `[title, release_date, genres]`.
pub type MovieRow = (i64, [String; 3]);

/// Every movie of `u.item` in the folders of `cfg.files` (rated or not), sorted by id:
/// `(id, [title, release_date, genres])` with the texts the loader joins into each
/// rating row (so a movie reads the same here as in the run's data); a movie listed by
/// two folders keeps the first folder's entry. Also returns the files read. For
/// `mtrec recommend`'s default MovieLens catalogue.
pub fn items(cfg: &DataConfig, data_dir: &Path) -> Result<(Vec<MovieRow>, Vec<String>)> {
    let mut all: HashMap<i64, [String; 3]> = HashMap::new();
    let mut files = Vec::new();
    for f in &cfg.files {
        let dir = resolve(data_dir, f);
        let genres = read_genres(&dir.join("u.genre"))?;
        let mut skipped = SkippedRows::default();
        let path = dir.join("u.item");
        for (id, it) in read_items(cfg, &path, &genres, &mut skipped)? {
            all.entry(id).or_insert(it.texts);
        }
        files.push(path.display().to_string());
    }
    let mut out: Vec<_> = all.into_iter().collect();
    out.sort_by_key(|(id, _)| *id);
    Ok((out, files))
}
