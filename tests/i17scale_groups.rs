//! Feature groups in `[[features]]` (`names = [...]`, `pattern = "..."`): expansion,
//! order, shared settings, and the errors that name the column and the group.

use mtrec::config::{FeatureKind, RunConfig, Scale};

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A small config: columns `a, num_2, num_1, cat_x, cat_y, y`, with `features` as given.
fn cfg(features: &str) -> mtrec::error::Result<RunConfig> {
    let text = format!(
        r#"
[data]
files = ["t.csv"]
columns = ["a", "num_2", "num_1", "cat_x", "cat_y", "y"]
{features}
[[tasks]]
name = "y"
type = "binary"
column = "y"
"#
    );
    RunConfig::from_str(&text, "inline.toml", &[])
}

fn err(features: &str) -> String {
    match cfg(features) {
        Ok(c) => panic!("expected an error, got features {:?}", names(&c)),
        Err(e) => e.to_string(),
    }
}

fn names(c: &RunConfig) -> Vec<String> {
    c.features.iter().map(|f| f.name.clone()).collect()
}

#[test]
fn aliexpress_preset_expands_to_the_79_blocks_it_replaced() {
    let grouped = RunConfig::from_file(root().join("configs/aliexpress_mmoe.toml"), &[]).unwrap();
    let flat = RunConfig::from_file(
        root().join("tests/fixtures/i17scale_aliexpress_79_blocks.toml"),
        &[],
    )
    .unwrap();
    assert_eq!(flat.features.len(), 79);
    assert_eq!(grouped.features, flat.features);
    // the whole run is the same, so the resolved config.toml of a run is too
    assert_eq!(grouped, flat);
    assert_eq!(
        grouped.to_toml_string().unwrap(),
        flat.to_toml_string().unwrap()
    );
    // header order: numerical_10 comes after numerical_9, not after numerical_1
    let n = names(&grouped);
    assert_eq!(n[16], "numerical_1");
    assert_eq!(n[25], "numerical_10");
    let text = std::fs::read_to_string(root().join("configs/aliexpress_mmoe.toml")).unwrap();
    assert!(text.matches("[[features]]").count() <= 4);
}

#[test]
fn names_list_expands_in_its_order_with_shared_settings() {
    let c = cfg(r#"
[[features]]
names = ["cat_y", "cat_x"]
kind = "categorical"
dim = 5
min_count = 3
[[features]]
name = "a"
kind = "numeric"
"#)
    .unwrap();
    assert_eq!(names(&c), ["cat_y", "cat_x", "a"]);
    for f in &c.features[..2] {
        assert_eq!(
            (f.kind, f.dim, f.min_count),
            (FeatureKind::Categorical, 5, 3)
        );
    }
    assert_eq!(c.features[2].kind, FeatureKind::Numeric);
}

#[test]
fn pattern_follows_the_column_order_not_the_alphabet() {
    let c = cfg(r#"
[[features]]
pattern = "num_*"
kind = "numeric"
scale = "minmax"
"#)
    .unwrap();
    assert_eq!(names(&c), ["num_2", "num_1"]);
    assert!(c.features.iter().all(|f| f.scale == Scale::Minmax));
    // the resolved file lists the columns one by one and reads back equal
    let again = RunConfig::from_str(&c.to_toml_string().unwrap(), "resolved", &[]).unwrap();
    assert_eq!(again, c);
}

#[test]
fn a_pattern_that_matches_nothing_is_an_error_naming_it() {
    let e = err(r#"
[[features]]
pattern = "numerical_*"
kind = "numeric"
"#);
    assert!(e.contains("features[0].pattern (\"numerical_*\")"), "{e}");
    assert!(e.contains("matches no column"), "{e}");
    assert!(e.contains("num_2"), "lists the columns: {e}");
}

#[test]
fn a_column_in_two_groups_is_an_error_naming_both() {
    let e = err(r#"
[[features]]
pattern = "cat_*"
kind = "categorical"
[[features]]
names = ["a", "cat_y"]
kind = "categorical"
"#);
    assert!(e.contains("column `cat_y`"), "{e}");
    assert!(e.contains("features[0] (pattern = \"cat_*\")"), "{e}");
    assert!(e.contains("features[1] (names = [a, cat_y])"), "{e}");
    // a group and a single block overlapping: the same error
    let e = err(r#"
[[features]]
name = "num_1"
kind = "numeric"
[[features]]
pattern = "num_*"
kind = "numeric"
"#);
    assert!(e.contains("column `num_1`"), "{e}");
    assert!(e.contains("features[0] (name = \"num_1\")"), "{e}");
}

#[test]
fn a_bad_shared_setting_names_the_column_and_the_group() {
    let e = err(r#"
[[features]]
name = "a"
kind = "numeric"
[[features]]
pattern = "num_*"
kind = "numeric"
missing = "oov"
"#);
    assert!(e.contains("feature `num_2`"), "{e}");
    assert!(e.contains("from features[1] (pattern = \"num_*\")"), "{e}");
}

#[test]
fn a_block_needs_exactly_one_of_name_names_pattern() {
    for both in [
        "name = \"a\"\nnames = [\"a\"]",
        "name = \"a\"\npattern = \"a*\"",
        "",
    ] {
        let e = err(&format!("[[features]]\n{both}\nkind = \"numeric\"\n"));
        assert!(e.contains("features[0]"), "{e}");
        assert!(e.contains("exactly one"), "{e}");
    }
    let e = err("[[features]]\nnames = []\nkind = \"numeric\"\n");
    assert!(
        e.contains("features[0].names") && e.contains("is empty"),
        "{e}"
    );
    // a name that is not a column is still reported under its column
    let e = err("[[features]]\nnames = [\"a\", \"nope\"]\nkind = \"numeric\"\n");
    assert!(e.contains("nope"), "{e}");
}

#[test]
fn a_pattern_without_known_columns_says_how_to_name_them() {
    let text = r#"
[data]
files = ["t.csv"]
header = true
[[features]]
pattern = "x*"
kind = "numeric"
[[tasks]]
name = "y"
type = "binary"
column = "y"
"#;
    let e = RunConfig::from_str(text, "inline.toml", &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("data.columns"), "{e}");
    assert!(e.contains("names = [...]"), "{e}");
}
