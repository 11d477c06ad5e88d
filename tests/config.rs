//! The run configuration: error positions, overrides, round trip, the shipped example.

use mtrec::config::{Arch, FeatureKind, Missing, RunConfig, TaskType};
use mtrec::Error;

const BASE: &str = r#"[data]
files = ["d.csv"]
columns = ["age", "city", "click", "rating", "ts"]

[[features]]
name = "age"
kind = "numeric"

[[features]]
name = "city"
kind = "categorical"
dim = 4

[[tasks]]
name = "click"
type = "binary"
column = "click"

[[tasks]]
name = "like"
type = "binary"
column = "rating"
threshold = 4.0

[train]
lr = 0.01
epochs = 3
"#;

fn load(text: &str, overrides: &[&str]) -> Result<RunConfig, Error> {
    let o: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    RunConfig::from_str(text, "configs/x.toml", &o)
}

fn err(text: &str, overrides: &[&str]) -> String {
    match load(text, overrides) {
        Ok(_) => panic!("expected an error for overrides {overrides:?}"),
        Err(e) => e.to_string(),
    }
}

/// The line (1-based) of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .expect("needle in text")
        + 1
}

#[test]
fn base_loads_with_defaults_filled() {
    let c = load(BASE, &[]).unwrap();
    assert_eq!(c.train.lr, 0.01);
    assert_eq!(c.train.batch_size, 1024);
    assert_eq!(c.model.arch, Arch::Mmoe);
    assert_eq!(c.data.delimiter, Some(','));
    assert_eq!(c.features[0].missing, Some(Missing::Mean));
    assert_eq!(c.features[1].missing, Some(Missing::Oov));
    assert_eq!(c.features[1].kind, FeatureKind::Categorical);
    assert_eq!(c.tasks[1].kind, TaskType::Binary);
    assert_eq!(c.needed_columns(), vec!["age", "city", "click", "rating"]);
}

#[test]
fn unknown_key_names_key_and_line() {
    let text = BASE.replace("epochs = 3", "epochz = 3");
    let msg = err(&text, &[]);
    let line = line_of(&text, "epochz");
    assert!(
        msg.starts_with(&format!("configs/x.toml:{line}:1: ")),
        "{msg}"
    );
    assert!(msg.contains("train.epochz"), "{msg}");
    assert!(msg.contains("unknown field `epochz`"), "{msg}");
    assert!(msg.contains("expected one of"), "{msg}");
}

#[test]
fn unknown_key_in_array_of_tables_names_the_element() {
    let text = BASE.replace("dim = 4", "dimm = 4");
    let msg = err(&text, &[]);
    let line = line_of(&text, "dimm");
    assert!(
        msg.starts_with(&format!("configs/x.toml:{line}:1: key `features[1].dimm`")),
        "{msg}"
    );
}

#[test]
fn wrong_type_names_key_and_line() {
    let text = BASE.replace("lr = 0.01", "lr = \"fast\"");
    let msg = err(&text, &[]);
    let line = line_of(&text, "lr = ");
    assert!(
        msg.starts_with(&format!("configs/x.toml:{line}:6: ")),
        "{msg}"
    );
    assert!(msg.contains("train.lr"), "{msg}");
    assert!(msg.contains("\"fast\""), "{msg}");
    let text = BASE.replace("kind = \"numeric\"", "kind = \"numerc\"");
    let msg = err(&text, &[]);
    assert!(
        msg.contains(&format!(":{}:", line_of(&text, "numerc"))),
        "{msg}"
    );
    assert!(
        msg.contains("features[0].kind") && msg.contains("numerc"),
        "{msg}"
    );
}

#[test]
fn syntax_error_has_a_position() {
    let text = BASE.replace("epochs = 3", "epochs = = 3");
    let msg = err(&text, &[]);
    assert!(
        msg.starts_with(&format!("configs/x.toml:{}:", line_of(&text, "= ="))),
        "{msg}"
    );
}

#[test]
fn missing_required_field_is_named() {
    let text = BASE.replace("column = \"click\"\n", "");
    let msg = err(&text, &[]);
    assert!(msg.contains("missing field `column`"), "{msg}");
    assert!(msg.contains("tasks[0]"), "{msg}");
}

#[test]
fn overrides_apply() {
    let c = load(
        BASE,
        &[
            "train.lr=0.5",
            "model.num_experts=4",
            "train.early_stopping.patience=2",
            "model.arch=ple",
            "model.expert=[32, 16]",
            "features.city.dim=16",
            "tasks.1.weight=2",
            "split.kind=\"temporal\"",
            "split.time_column=ts",
        ],
    )
    .unwrap();
    assert_eq!(c.train.lr, 0.5);
    assert_eq!(c.model.num_experts, 4);
    assert_eq!(c.train.early_stopping.patience, 2);
    assert_eq!(c.model.arch, Arch::Ple);
    assert_eq!(c.model.expert, vec![32, 16]);
    assert_eq!(c.features[1].dim, 16);
    assert_eq!(c.tasks[1].weight, 2.0);
    assert_eq!(c.split.time_column.as_deref(), Some("ts"));
}

#[test]
fn unknown_override_path_errors() {
    let msg = err(BASE, &["train.epochz=3"]);
    assert!(msg.contains("--set train.epochz=3"), "{msg}");
    assert!(msg.contains("unknown field `epochz`"), "{msg}");
    let msg = err(BASE, &["train.early_stopping.patienc=2"]);
    assert!(
        msg.contains("--set train.early_stopping.patienc=2") && msg.contains("patienc"),
        "{msg}"
    );
    let msg = err(BASE, &["train.lr=fast"]);
    assert!(
        msg.contains("--set train.lr=fast") && msg.contains("fast"),
        "{msg}"
    );
    let msg = err(BASE, &["train.lr.x=1"]);
    assert!(msg.contains("not a table"), "{msg}");
    let msg = err(BASE, &["features.nope.dim=1"]);
    assert!(msg.contains("no element `nope`"), "{msg}");
    let msg = err(BASE, &["train.lr"]);
    assert!(msg.contains("key.path=value"), "{msg}");
}

#[test]
fn resolved_toml_round_trips() {
    let c = load(BASE, &["model.arch=cgc", "train.schedule=cosine"]).unwrap();
    let text = c.to_toml_string().unwrap();
    assert!(
        text.contains("batch_size = 1024"),
        "defaults are written out:\n{text}"
    );
    assert!(text.contains("delimiter = \",\""), "{text}");
    let again = RunConfig::from_str(&text, "resolved.toml", &[]).unwrap();
    assert_eq!(again, c);
    assert_eq!(again.to_toml_string().unwrap(), text);
}

#[test]
fn validation_names_the_key() {
    let cases: &[(&str, &str)] = &[
        ("tasks.click.column=nope", "tasks[0].column"),
        ("split.valid=0.5", "split.valid"),
        ("train.early_stopping.task=ctr", "train.early_stopping.task"),
        (
            "train.early_stopping.metric=rmse",
            "train.early_stopping.metric",
        ),
        ("split.kind=temporal", "split.time_column"),
        ("split.time_column=when", "split.time_column"),
        ("train.lr=0", "train.lr"),
        ("features.age.missing=oov", "features[0].missing"),
        ("data.header=true", "data.columns"),
        ("tasks.like.positive=[\"5\"]", "tasks[1].threshold"),
    ];
    for (o, key) in cases {
        let msg = err(BASE, &[o]);
        assert!(msg.contains(key), "--set {o}: {msg}");
    }
    // Three tasks with early stopping on one regression task: fine.
    let text =
        format!("{BASE}\n[[tasks]]\nname = \"r\"\ntype = \"regression\"\ncolumn = \"rating\"\n")
            .replace(
                "[train]\n",
                "[train.early_stopping]\ntask = \"r\"\nmetric = \"rmse\"\n[train]\n",
            );
    let c = load(&text, &[]).unwrap();
    assert!(!c.train.early_stopping.maximize());
    let msg = err(&text, &["model.arch=esmm"]);
    assert!(
        msg.contains("model.arch") && msg.contains("two binary tasks"),
        "{msg}"
    );
}

#[test]
fn example_config_parses() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/example.toml");
    let c = RunConfig::from_file(path, &[]).unwrap();
    assert_eq!(c.data.columns.as_ref().unwrap().len(), 42);
    assert_eq!(c.tasks.len(), 2);
    assert_eq!(c.model.arch, Arch::Mmoe);
    let again = RunConfig::from_str(&c.to_toml_string().unwrap(), "resolved", &[]).unwrap();
    assert_eq!(again, c);
}

#[test]
fn missing_file_says_so() {
    let msg = RunConfig::from_file("configs/does-not-exist.toml", &[])
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("does-not-exist.toml") && msg.contains("cannot read"),
        "{msg}"
    );
}
