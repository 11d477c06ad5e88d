//! Issue #15 §1, Parquet side tables: `format = "parquet"` on a `[[data.join]]` reads
//! the side table with the main table's Parquet reader and gives the same joined rows
//! as the CSV version of the same table; only the key and the taken columns are
//! decoded (an untaken column of a type the reader does not support is no error).

use mtrec::config::RunConfig;
use mtrec::data::ingest::RawTable;
use mtrec::data::loaders::load_table;
use std::path::{Path, PathBuf};

mod parquet_fixture_support;
use parquet_fixture_support::Col;

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mtrec-s7pq-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// (item_id, title, genre or null, added_on as days since 1970)
fn items() -> Vec<(i64, String, Option<String>, i32)> {
    (0..9)
        .rev()
        .map(|i| {
            let genre =
                (i % 3 != 2).then(|| ["Drama", "Action|Comedy"][(i % 3) as usize].to_string());
            (100 + i, format!("Film \"{i}\""), genre, 18000 + i as i32)
        })
        .collect()
}

fn write_csv(path: &Path) {
    let mut t = String::from("item_id,title,genre,added_on\n");
    for (id, title, genre, day) in items() {
        let title = title.replace('"', "\"\"");
        t.push_str(&format!(
            "{id},\"{title}\",{},{day}\n",
            genre.unwrap_or_default()
        ));
    }
    std::fs::write(path, t).unwrap();
}

/// The same table as Parquet, `added_on` a DATE (a type the reader refuses).
fn write_parquet(path: &Path) {
    let rows = items();
    parquet_fixture_support::write_parquet(
        path,
        "message m { required int64 item_id; required binary title (UTF8); \
         optional binary genre (UTF8); required int32 added_on (DATE); }",
        [vec![
            Col::I64(rows.iter().map(|r| Some(r.0)).collect()),
            Col::text(rows.iter().map(|r| Some(r.1.clone()))),
            Col::text(rows.iter().map(|r| r.2.clone())),
            Col::I32(rows.iter().map(|r| Some(r.3)).collect()),
        ]],
    );
}

fn config(join: &str) -> RunConfig {
    let text = format!(
        r#"
[data]
files = ["ratings.csv"]
header = true
missing_values = [""]
{join}
[[features]]
name = "item_id"
kind = "categorical"
dim = 4
[[features]]
name = "title"
kind = "categorical"
dim = 4
[[features]]
name = "genre"
kind = "multi_hot"
dim = 3

[[tasks]]
name = "click"
type = "binary"
column = "click"

[split]
kind = "random"
seed = 7
train = 0.6
valid = 0.2

[model]
arch = "mmoe"
num_experts = 2
expert = [8]
tower = [4]
"#
    );
    RunConfig::from_str(&text, "test", &[]).unwrap()
}

fn load(join: &str, dir: &Path) -> mtrec::Result<RawTable> {
    let c = config(join);
    load_table(&c.data, dir, &c.needed_columns())
}

fn cols(t: &RawTable) -> Vec<(String, Vec<String>)> {
    t.names
        .iter()
        .map(|n| {
            let c = t.column(n).unwrap();
            (
                n.clone(),
                (0..t.num_rows()).map(|r| c.get(r).to_string()).collect(),
            )
        })
        .collect()
}

#[test]
fn a_parquet_side_table_joins_the_same_rows_as_its_csv_version() {
    let dir = temp_dir("same");
    let mut ratings = String::from("item_id,click\n");
    for r in 0..40u64 {
        ratings.push_str(&format!("{},{}\n", 100 + (r * 7) % 9, r % 2));
    }
    std::fs::write(dir.join("ratings.csv"), ratings).unwrap();
    write_csv(&dir.join("items.csv"));
    write_parquet(&dir.join("items.parquet"));
    let take = "take = [\"title\", \"genre\"]";
    let csv = load(
        &format!("[[data.join]]\nfile = \"items.csv\"\non = \"item_id\"\n{take}\n"),
        &dir,
    )
    .unwrap();
    let pq = load(
        &format!("[[data.join]]\nfile = \"items.parquet\"\nformat = \"parquet\"\non = \"item_id\"\n{take}\n"),
        &dir,
    )
    .unwrap();
    assert_eq!(csv.num_rows(), 40);
    assert_eq!(cols(&pq), cols(&csv));
    let title = cols(&pq).into_iter().find(|(n, _)| n == "title").unwrap().1;
    assert_eq!(title[1], "Film \"7\"", "row 1 joins item 107");
    assert!(pq.skipped.is_empty() && csv.skipped.is_empty());
}

#[test]
fn a_parquet_side_table_with_a_key_it_lacks_is_an_error_naming_the_join() {
    let dir = temp_dir("missing");
    std::fs::write(dir.join("ratings.csv"), "item_id,click\n100,1\n555,0\n").unwrap();
    write_parquet(&dir.join("items.parquet"));
    let err = load(
        "[[data.join]]\nfile = \"items.parquet\"\nformat = \"parquet\"\non = \"item_id\"\ntake = [\"title\", \"genre\"]\n",
        &dir,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("`555`") && err.contains("items.parquet"),
        "{err}"
    );
    assert!(
        err.contains("data.join[0]") && err.contains("ratings.csv:3"),
        "{err}"
    );
}
