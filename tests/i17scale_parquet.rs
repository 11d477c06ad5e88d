//! `data.format = "parquet"`: the same rows as a CSV file give the same table and the
//! same trained metrics; nulls are missing values; a column of an unusable type, a
//! missing column and a bad value give errors naming the file, row and column.

use mtrec::config::{DataConfig, Format};
use mtrec::data::ingest::read_table;
use mtrec::train::run::{train, RunOptions};
use parquet::data_type::{BoolType, FixedLenByteArray, FixedLenByteArrayType};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod parquet_fixture_support;
use parquet_fixture_support::Col;

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mtrec-i17scale-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// One row of the fixture: shop (text, sometimes null), item (integer), two numbers
/// (the second sometimes null), click, buy.
struct Row {
    shop: Option<String>,
    item: i64,
    num_1: f64,
    num_2: Option<f64>,
    click: bool,
    buy: bool,
}

/// `n` rows from a fixed LCG; the labels depend on shop, item and num_1.
fn rows(n: usize) -> Vec<Row> {
    let mut s: u64 = 12345;
    let mut next = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 33) as f64 / (1u64 << 31) as f64
    };
    (0..n)
        .map(|_| {
            let shop = (next() * 6.0) as u32;
            let item = (next() * 40.0) as i64;
            let num_1 = (next() * 1000.0).round() / 1000.0 - 0.5;
            let num_2 = if next() < 0.1 {
                None
            } else {
                Some((next() * 100.0).round() / 4.0)
            };
            let p = 0.2 + 0.5 * f64::from(shop % 2) + num_1 * 0.4;
            let click = next() < p;
            let buy = click && next() < 0.3 + num_1 * 0.5;
            Row {
                shop: (next() > 0.05).then(|| format!("shop{shop}")),
                item,
                num_1,
                num_2,
                click,
                buy,
            }
        })
        .collect()
}

fn write_csv(path: &Path, rows: &[Row]) {
    let mut t = String::from("shop,item,num_1,num_2,click,buy\n");
    for r in rows {
        t.push_str(&format!(
            "{},{},{},{},{},{}\n",
            r.shop.as_deref().unwrap_or(""),
            r.item,
            r.num_1,
            r.num_2.map_or(String::new(), |v| v.to_string()),
            u8::from(r.click),
            u8::from(r.buy)
        ));
    }
    std::fs::write(path, t).unwrap();
}

/// The same rows as Parquet, `group` rows per row group, snappy-compressed.
fn write_parquet(path: &Path, rows: &[Row], group: usize) {
    let groups = rows.chunks(group).map(|chunk| {
        vec![
            Col::text(chunk.iter().map(|r| r.shop.clone())),
            Col::I64(chunk.iter().map(|r| Some(r.item)).collect()),
            Col::F64(chunk.iter().map(|r| Some(r.num_1)).collect()),
            Col::F64(chunk.iter().map(|r| r.num_2).collect()),
            Col::Bool(chunk.iter().map(|r| Some(r.click)).collect()),
            Col::Bool(chunk.iter().map(|r| Some(r.buy)).collect()),
        ]
    });
    parquet_fixture_support::write_parquet(
        path,
        "message m { optional binary shop (UTF8); required int64 item; required double num_1; \
         optional double num_2; required boolean click; required boolean buy; }",
        groups,
    );
}

fn config(file: &str, format: &str) -> String {
    format!(
        r#"
[data]
files = ["{file}"]
format = "{format}"
header = true

[[features]]
names = ["shop", "item"]
kind = "categorical"
dim = 4

[[features]]
pattern = "num_*"
kind = "numeric"

[[tasks]]
name = "click"
type = "binary"
column = "click"

[[tasks]]
name = "buy"
type = "binary"
column = "buy"

[split]
kind = "random"
seed = 3
train = 0.7
valid = 0.15

[model]
arch = "mmoe"
num_experts = 2
expert = [8]
tower = [4]

[train]
lr = 0.01
batch_size = 32
epochs = 3
seed = 5
"#
    )
}

fn opts(dir: &Path, cfg: &str, out: &str) -> RunOptions {
    RunOptions {
        config: dir.join(cfg),
        models_dir: None,
        data_dir: dir.to_path_buf(),
        out: dir.join(out),
        overrides: vec![],
        resume: false,
        overwrite: false,
        allow_config_change: false,
        progress: false,
        stop_after: None,
        device: Default::default(),
    }
}

fn data_cfg(file: &str, format: Format) -> DataConfig {
    DataConfig {
        files: vec![file.into()],
        format,
        header: true,
        ..DataConfig::default()
    }
}

#[test]
fn parquet_gives_the_csv_table_and_the_same_trained_metrics() {
    let dir = temp_dir("same");
    let data = rows(600);
    write_csv(&dir.join("d.csv"), &data);
    // several row groups, of a size that does not divide the row count
    write_parquet(&dir.join("d.parquet"), &data, 128);

    // the table: equal cell for cell and row for row (also the positions)
    let needed = ["num_2", "shop", "click"];
    let csv = read_table(&data_cfg("d.csv", Format::Csv), &dir, &needed).unwrap();
    let pq = read_table(&data_cfg("d.parquet", Format::Parquet), &dir, &needed).unwrap();
    assert_eq!(pq.num_rows(), 600);
    assert_eq!(pq.names, csv.names);
    for name in needed {
        let (a, b) = (csv.column(name).unwrap(), pq.column(name).unwrap());
        let ta: Vec<&str> = (0..a.len()).map(|r| a.get(r)).collect();
        let tb: Vec<&str> = (0..b.len()).map(|r| b.get(r)).collect();
        assert_eq!(ta, tb, "column {name}");
    }
    let num = pq
        .parse_f32("num_2", &DataConfig::default().missing_values)
        .unwrap();
    assert!(num.iter().any(|v| v.is_nan()), "nulls are missing values");
    // row r of the parquet file is line r + 2 of the csv file (after its header)
    assert_eq!(pq.source[599].line + 1, csv.source[599].line);

    // training: identical metrics (and a feature list from names + pattern)
    std::fs::write(dir.join("csv.toml"), config("d.csv", "csv")).unwrap();
    std::fs::write(dir.join("pq.toml"), config("d.parquet", "parquet")).unwrap();
    let a = train(&opts(&dir, "csv.toml", "run_csv")).unwrap();
    let b = train(&opts(&dir, "pq.toml", "run_pq")).unwrap();
    assert_eq!(a["tasks"], b["tasks"]);
    assert!(a["tasks"]["click"]["test"]["auc"].as_f64().is_some());
    let resolved = std::fs::read_to_string(dir.join("run_pq/config.toml")).unwrap();
    for col in ["shop", "item", "num_1", "num_2"] {
        assert!(
            resolved.contains(&format!("name = \"{col}\"")),
            "{resolved}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_missing_column_names_the_file_and_the_column() {
    let dir = temp_dir("missing");
    write_parquet(&dir.join("d.parquet"), &rows(50), 20);
    let e = read_table(
        &data_cfg("d.parquet", Format::Parquet),
        &dir,
        &["shop", "price"],
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("d.parquet"), "{e}");
    assert!(e.contains("no column `price`"), "{e}");
    assert!(e.contains("shop, item, num_1"), "lists the columns: {e}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_column_of_an_unusable_type_is_named_with_its_type() {
    let dir = temp_dir("type");
    let schema = Arc::new(
        parse_message_type(
            "message m { required fixed_len_byte_array(4) code; required boolean click; }",
        )
        .unwrap(),
    );
    let path = dir.join("t.parquet");
    let file = std::fs::File::create(&path).unwrap();
    let props = Arc::new(WriterProperties::builder().build());
    let mut w = SerializedFileWriter::new(file, schema, props).unwrap();
    let mut rg = w.next_row_group().unwrap();
    let mut col = rg.next_column().unwrap().unwrap();
    let v = vec![FixedLenByteArray::from(vec![1u8, 2, 3, 4]); 3];
    col.typed::<FixedLenByteArrayType>()
        .write_batch(&v, None, None)
        .unwrap();
    col.close().unwrap();
    let mut col = rg.next_column().unwrap().unwrap();
    col.typed::<BoolType>()
        .write_batch(&[true, false, true], None, None)
        .unwrap();
    col.close().unwrap();
    rg.close().unwrap();
    w.close().unwrap();
    let e = read_table(
        &data_cfg("t.parquet", Format::Parquet),
        &dir,
        &["code", "click"],
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("t.parquet"), "{e}");
    assert!(e.contains("column `code`"), "{e}");
    assert!(e.contains("FIXED_LEN_BYTE_ARRAY"), "{e}");
    // the column is fine when not needed: projection skips it
    let t = read_table(&data_cfg("t.parquet", Format::Parquet), &dir, &["click"]).unwrap();
    let c = t.column("click").unwrap();
    assert_eq!((c.get(0), c.get(1)), ("1", "0"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_text_where_a_number_belongs_names_the_row_and_column() {
    let dir = temp_dir("value");
    let data = rows(300);
    write_parquet(&dir.join("d.parquet"), &data, 100);
    // shop (texts `shop3`, ...) as a numeric feature: the first row with a shop fails
    let first = data.iter().position(|r| r.shop.is_some()).unwrap() + 1;
    let cfg = config("d.parquet", "parquet")
        .replace("names = [\"shop\", \"item\"]", "names = [\"item\"]")
        .replace(
            "pattern = \"num_*\"\nkind = \"numeric\"",
            "names = [\"shop\", \"num_1\"]\nkind = \"numeric\"\nmissing = \"zero\"",
        );
    std::fs::write(dir.join("pq.toml"), cfg).unwrap();
    let e = train(&opts(&dir, "pq.toml", "run"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!("d.parquet:{first}:")),
        "row {first} of the file: {e}"
    );
    assert!(e.contains("column `shop`"), "{e}");
    assert!(e.contains("a number"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}
