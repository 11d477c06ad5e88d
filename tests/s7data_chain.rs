//! Issue #15 §1, chained joins: a side table joined on a column that an earlier join
//! gave (ratings → items on `item_id` → categories on `category_id`), in config order;
//! a key missing from the second table (error naming the join and file, or skip), a
//! repeated key (both lines), a key that only a later join gives (order / cycle), and
//! a key that no table gives.

use mtrec::config::RunConfig;
use mtrec::data::ingest::RawTable;
use mtrec::data::loaders::load_table;
use std::path::{Path, PathBuf};

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mtrec-s7chain-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const RATINGS: &str = "user_id,item_id,click\nu1,i1,1\nu2,i2,0\nu3,i3,1\nu1,i2,0\n";
const ITEMS: &str = "item_id,title,category_id\ni3,Three,c2\ni1,One,c1\ni2,Two,c2\n";
const CATEGORIES: &str = "category_id,cat_name,depth\nc2,Drama,2\nc1,Action,1\n";

/// ratings → items on item_id → categories on category_id.
const CHAIN: &str = r#"
[[data.join]]
file = "items.csv"
on = "item_id"

[[data.join]]
file = "categories.csv"
on = "category_id"
"#;

fn write(dir: &Path, ratings: &str, items: &str, categories: &str) {
    std::fs::write(dir.join("ratings.csv"), ratings).unwrap();
    std::fs::write(dir.join("items.csv"), items).unwrap();
    std::fs::write(dir.join("categories.csv"), categories).unwrap();
}

fn config(data_extra: &str, joins: &str) -> String {
    format!(
        r#"
[data]
files = ["ratings.csv"]
header = true
{data_extra}
{joins}
[[features]]
name = "user_id"
kind = "categorical"
dim = 4
[[features]]
name = "item_id"
kind = "categorical"
dim = 4
[[features]]
name = "cat_name"
kind = "categorical"
dim = 2
[[features]]
name = "depth"
kind = "numeric"

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
    )
}

fn load(data_extra: &str, joins: &str, dir: &Path) -> mtrec::Result<RawTable> {
    let c = RunConfig::from_str(&config(data_extra, joins), "test", &[]).unwrap();
    load_table(&c.data, dir, &c.needed_columns())
}

fn col(t: &RawTable, name: &str) -> Vec<String> {
    let c = t.column(name).unwrap_or_else(|| panic!("no column {name}"));
    (0..t.num_rows()).map(|r| c.get(r).to_string()).collect()
}

#[test]
fn a_side_table_joins_on_a_column_an_earlier_join_gave() {
    let dir = temp_dir("ok");
    write(&dir, RATINGS, ITEMS, CATEGORIES);
    let t = load("", CHAIN, &dir).unwrap();
    assert_eq!(col(&t, "item_id"), ["i1", "i2", "i3", "i2"]);
    assert_eq!(col(&t, "cat_name"), ["Action", "Drama", "Drama", "Drama"]);
    assert_eq!(col(&t, "depth"), ["1", "2", "2", "2"]);
    // the intermediate key is not a needed column: it is dropped after the join
    assert!(t.column("category_id").is_none(), "{:?}", t.names);
    assert!(t.skipped.is_empty());
}

#[test]
fn a_chained_key_missing_from_the_second_table_names_the_join_and_file() {
    let dir = temp_dir("missing");
    let items = format!("{ITEMS}i4,Four,c9\n");
    let ratings = format!("{RATINGS}u2,i4,1\n"); // line 6
    write(&dir, &ratings, &items, CATEGORIES);
    let err = load("", CHAIN, &dir).unwrap_err().to_string();
    assert!(err.contains("data.join[1]"), "the join: {err}");
    assert!(err.contains("categories.csv"), "the file: {err}");
    assert!(err.contains("`c9`"), "the key: {err}");
    assert!(
        err.contains(&format!("{}:6", dir.join("ratings.csv").display())),
        "the row's file:line: {err}"
    );
    assert!(err.contains("bad_rows = \"skip\""), "the fix: {err}");

    let t = load("bad_rows = \"skip\"", CHAIN, &dir).unwrap();
    assert_eq!(t.num_rows(), 4);
    assert_eq!(col(&t, "cat_name"), ["Action", "Drama", "Drama", "Drama"]);
    assert_eq!(t.skipped.count, 1, "the skipped row is counted");
    assert_eq!(t.skipped.first[0].line, 6);
    let reason = &t.skipped.first[0].reason;
    assert!(
        reason.contains("`c9`") && reason.contains("categories.csv"),
        "{reason}"
    );
}

#[test]
fn a_repeated_key_in_the_second_table_names_both_lines() {
    let dir = temp_dir("dup");
    let categories = format!("{CATEGORIES}c1,Other,3\n"); // line 4; c1 on line 3
    write(&dir, RATINGS, ITEMS, &categories);
    let err = load("", CHAIN, &dir).unwrap_err().to_string();
    let shown = dir.join("categories.csv").display().to_string();
    assert!(err.contains(&format!("{shown}:3")), "first line: {err}");
    assert!(err.contains(&format!("{shown}:4")), "second line: {err}");
    assert!(err.contains("`c1`"), "{err}");
}

#[test]
fn a_key_that_only_a_later_join_gives_is_an_error_naming_both_joins() {
    let dir = temp_dir("order");
    write(&dir, RATINGS, ITEMS, CATEGORIES);
    let reversed = r#"
[[data.join]]
file = "categories.csv"
on = "category_id"

[[data.join]]
file = "items.csv"
on = "item_id"
"#;
    let err = load("", reversed, &dir).unwrap_err().to_string();
    assert!(err.contains("data.join[0].on"), "{err}");
    assert!(err.contains("`category_id`"), "{err}");
    assert!(
        err.contains("data.join[1]") && err.contains("items.csv"),
        "{err}"
    );
    assert!(
        err.contains("move data.join[1] before data.join[0]"),
        "the fix: {err}"
    );
}

#[test]
fn a_cycle_of_joins_is_an_error() {
    let dir = temp_dir("cycle");
    // a.csv is keyed on `item_ref`, which only b.csv gives; b.csv is keyed on
    // `category_id`, which only a.csv gives
    std::fs::write(dir.join("ratings.csv"), RATINGS).unwrap();
    std::fs::write(dir.join("a.csv"), "item_ref,category_id\nx,c1\n").unwrap();
    std::fs::write(dir.join("b.csv"), "category_id,item_ref\nc1,x\n").unwrap();
    let cycle = r#"
[[data.join]]
file = "a.csv"
on = "item_ref"

[[data.join]]
file = "b.csv"
on = "category_id"
"#;
    let err = load("", cycle, &dir).unwrap_err().to_string();
    assert!(err.contains("data.join[0].on"), "{err}");
    assert!(err.contains("`item_ref`") && err.contains("b.csv"), "{err}");
    assert!(err.contains("cycle"), "{err}");
}

#[test]
fn a_key_that_no_table_gives_is_an_error_naming_it() {
    let dir = temp_dir("none");
    write(&dir, RATINGS, ITEMS, CATEGORIES);
    let joins = CHAIN.replace(
        "on = \"category_id\"",
        "left_on = \"genre_id\"\nright_on = \"category_id\"",
    );
    let err = load("", &joins, &dir).unwrap_err().to_string();
    assert!(err.contains("data.join[1].left_on"), "{err}");
    assert!(
        err.contains("`genre_id`") && err.contains("categories.csv"),
        "{err}"
    );
    assert!(
        err.contains("title, category_id"),
        "lists the earlier joins' columns: {err}"
    );
}
