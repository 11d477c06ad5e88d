//! The header and funnel checks of the Ali-CCP / AliExpress / KuaiRand readers, and the
//! plain CSV loader.

mod loaders_support;

use loaders_support::*;
use mtrec::config::data::Loader;
use mtrec::config::{BadRows, DataConfig};
use mtrec::data::ingest::read_table;
use mtrec::data::loaders::{aliexpress_columns, load_table};

// ---------------------------------------------------------------------------------
// Ali-CCP, AliExpress, KuaiRand

fn csv_cfg(loader: Loader, files: &[&str]) -> DataConfig {
    DataConfig {
        files: files.iter().map(|s| s.to_string()).collect(),
        loader,
        header: true,
        ..Default::default()
    }
}

#[test]
fn ali_ccp_reads_with_header_and_checks_the_funnel() {
    let dir = temp_dir("ccp");
    // No line end after the last row, as in the published samples.
    std::fs::write(
        dir.join("a.csv"),
        "click,purchase,101,D508\n1,1,5,0.1\n0,0,6,0.2\n1,0,7,0.3",
    )
    .unwrap();
    std::fs::write(dir.join("b.csv"), "click,purchase,101,D508\n0,1,8,0.4\n").unwrap();
    let cfg = csv_cfg(Loader::AliCcp, &["a.csv"]);
    let t = load_table(&cfg, &dir, &[]).unwrap();
    assert_eq!(t.names, ["click", "purchase", "101", "D508"]);
    assert_eq!(t.num_rows(), 3);
    // Columns needed only for the funnel check are not kept.
    let t = load_table(&cfg, &dir, &["D508", "101"]).unwrap();
    assert_eq!(t.names, ["D508", "101"]);

    let cfg = csv_cfg(Loader::AliCcp, &["a.csv", "b.csv"]);
    let msg = load_err(&cfg, &dir, &["101"]);
    assert!(
        msg.contains("b.csv:2:2: column `purchase`: `1` while `click` is `0`"),
        "{msg}"
    );
    let cfg = DataConfig {
        bad_rows: BadRows::Skip,
        ..cfg
    };
    let t = load_table(&cfg, &dir, &["101"]).unwrap();
    assert_eq!(texts(&t, "101"), ["5", "6", "7"]);
    assert_eq!(t.skipped.count, 1);
    assert_eq!(t.skipped.first[0].line, 2);
}

#[test]
fn ali_ccp_wrong_header_fails_at_the_header() {
    let dir = temp_dir("ccp-header");
    std::fs::write(dir.join("a.csv"), "purchase,click,101\n0,0,1\n").unwrap();
    let msg = load_err(&csv_cfg(Loader::AliCcp, &["a.csv"]), &dir, &[]);
    assert!(
        msg.contains("a.csv:1:1: header: column 1 is `purchase`"),
        "{msg}"
    );
    assert!(msg.contains("`click, purchase`"), "{msg}");
}

fn aliexpress_file(header: &[String], rows: &[(u8, u8)]) -> String {
    let mut s = header.join(",");
    s.push('\n');
    for (i, (click, conv)) in rows.iter().enumerate() {
        let mut f: Vec<String> = vec![i.to_string()];
        f.extend((0..16).map(|c| (c % 3).to_string()));
        f.extend((0..63).map(|c| format!("0.{c}")));
        f.push(click.to_string());
        f.push(conv.to_string());
        s.push_str(&f.join(","));
        s.push('\n');
    }
    s
}

#[test]
fn aliexpress_checks_the_exact_layout_and_the_funnel() {
    let cols = aliexpress_columns();
    assert_eq!(cols.len(), 82);
    let dir = temp_dir("ae");
    std::fs::write(
        dir.join("ok.csv"),
        aliexpress_file(&cols, &[(1, 1), (1, 0), (0, 0)]),
    )
    .unwrap();
    let t = load_table(
        &csv_cfg(Loader::Aliexpress, &["ok.csv"]),
        &dir,
        &["categorical_3", "numerical_63"],
    )
    .unwrap();
    assert_eq!(t.num_rows(), 3);
    assert_eq!(t.names, ["categorical_3", "numerical_63"]);

    std::fs::write(
        dir.join("funnel.csv"),
        aliexpress_file(&cols, &[(1, 0), (0, 1)]),
    )
    .unwrap();
    let msg = load_err(&csv_cfg(Loader::Aliexpress, &["funnel.csv"]), &dir, &[]);
    assert!(
        msg.contains("funnel.csv:3:82: column `conversion`"),
        "{msg}"
    );

    let mut short = cols.clone();
    short.pop();
    let mut body = aliexpress_file(&short, &[]);
    body.push('\n');
    std::fs::write(dir.join("short.csv"), body).unwrap();
    let msg = load_err(&csv_cfg(Loader::Aliexpress, &["short.csv"]), &dir, &[]);
    assert!(
        msg.contains("short.csv:1:81: header: 81 columns, missing `conversion`"),
        "{msg}"
    );
}

#[test]
fn kuairand_requires_its_key_columns() {
    let dir = temp_dir("kr");
    std::fs::write(
        dir.join("ok.csv"),
        "user_id,video_id,is_click,play_time_ms,duration_ms,tab\n0,5,1,863,30066,1\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("bad.csv"),
        "user_id,video_id,is_click,duration_ms\n0,5,1,30066\n",
    )
    .unwrap();
    let t = load_table(
        &csv_cfg(Loader::Kuairand, &["ok.csv"]),
        &dir,
        &["is_click", "play_time_ms"],
    )
    .unwrap();
    assert_eq!(row(&t, 0), ["1", "863"]);
    let msg = load_err(&csv_cfg(Loader::Kuairand, &["bad.csv"]), &dir, &[]);
    assert!(
        msg.contains("bad.csv:1:1: header: no column `play_time_ms`"),
        "{msg}"
    );
}

#[test]
fn csv_loader_is_the_plain_reader() {
    let dir = temp_dir("csv");
    std::fs::write(dir.join("x.csv"), "a,b\n1,2\n3,4\n").unwrap();
    let cfg = csv_cfg(Loader::Csv, &["x.csv"]);
    assert_eq!(
        load_table(&cfg, &dir, &["b"]).unwrap(),
        read_table(&cfg, &dir, &["b"]).unwrap()
    );
}
