//! The feature pipeline's splits: the splitmix64 random rule, temporal and by-file splits.

mod features_support;

use features_support::*;
use mtrec::config::{DataConfig, SplitConfig, SplitKind};
use mtrec::data::features::{random_assignment, split_rows, splitmix64};
use mtrec::data::ingest::read_table;

// ------------------------------------------------------------------ splits

#[test]
fn splitmix64_matches_published_values_and_random_split_rule() {
    // The first outputs of SplitMix64 from state 0 (Vigna's reference splitmix64.c):
    // next() adds the golden gamma, then mixes: 0xe220a8397b1dcdaf for x = 0.
    assert_eq!(splitmix64(0), 0xe220_a839_7b1d_cdaf);
    assert_eq!(splitmix64(1), 0x910a_2dec_8902_5cc1);
    // Expected sets computed independently with reference/census/data.py's
    // split_assignment (Python integers, & MASK64): seed 2024, 60/20/20.
    let want_2024 = [1, 0, 2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 1];
    let want_7 = [0, 1, 1, 0, 0, 1, 2, 0, 1, 0, 1, 0, 1, 0, 0, 2, 2, 1, 1, 2]; // seed 7, 50/25/25
    for i in 0..20u64 {
        assert_eq!(
            random_assignment(2024, i, 0.6, 0.2),
            want_2024[i as usize],
            "row {i}"
        );
        assert_eq!(
            random_assignment(7, i, 0.5, 0.25),
            want_7[i as usize],
            "row {i}"
        );
    }
    // split_rows applies the same rule to the table's rows in order.
    let csv: String = std::iter::once("x\n".to_string())
        .chain((0..20).map(|i| format!("{i}\n")))
        .collect();
    let (t, _) = table("split.csv", &csv);
    let split = SplitConfig {
        seed: 2024,
        train: 0.6,
        valid: 0.2,
        ..Default::default()
    };
    let rows = split_rows(&t, &split, &missing_values()).unwrap();
    let of = |s: u8| -> Vec<usize> { (0..20).filter(|&i| want_2024[i] == s).collect() };
    assert_eq!(rows.train, of(0));
    assert_eq!(rows.valid, of(1));
    assert_eq!(rows.test, of(2));
}

#[test]
fn temporal_split_sorts_by_time_stably_and_cuts_by_fraction() {
    // 10 rows; times with ties keep file order among equals.
    let (t, _) = table(
        "time.csv",
        "id,ts\n0,1700000050\n1,1700000010\n2,1700000030\n3,1700000010\n4,1700000090\n5,1700000070\n6,1700000030\n7,1700000080\n8,1700000060\n9,1700000001\n",
    );
    let split = SplitConfig {
        kind: SplitKind::Temporal,
        time_column: Some("ts".into()),
        train: 0.6,
        valid: 0.2,
        ..Default::default()
    };
    let rows = split_rows(&t, &split, &missing_values()).unwrap();
    // Sorted: 9 (…01), 1, 3 (…10, file order), 2, 6 (…30), 0 (…50), 8, 5, 7, 4.
    assert_eq!(rows.train, vec![9, 1, 3, 2, 6, 0]);
    assert_eq!(rows.valid, vec![8, 5]);
    assert_eq!(rows.test, vec![7, 4]);
    // Times 1 s apart at 1.7e9 (f32 would round all three to one value) keep their order.
    let (t, _) = table("time2.csv", "ts\n1700000003\n1700000002\n1700000001\n");
    let split = SplitConfig {
        train: 1.0 / 3.0,
        valid: 1.0 / 3.0,
        ..split
    };
    let rows = split_rows(&t, &split, &missing_values()).unwrap();
    assert_eq!(
        (rows.train, rows.valid, rows.test),
        (vec![2], vec![1], vec![0])
    );
}

#[test]
fn temporal_split_refuses_a_row_without_time() {
    let (t, path) = table("time3.csv", "ts\n1700000003\n1700000002\n?\n");
    let split = SplitConfig {
        kind: SplitKind::Temporal,
        time_column: Some("ts".into()),
        ..Default::default()
    };
    let msg = expect_err(split_rows(&t, &split, &missing_values())).to_string();
    assert!(
        msg.starts_with(&format!("{}:4:1:", path.display())),
        "{msg}"
    );
    let ok = split_rows(
        &t,
        &SplitConfig {
            train: 1.0,
            valid: 0.0,
            ..split
        },
        &[],
    );
    assert!(ok.is_err(), "`?` is not a number either");
}

#[test]
fn files_split_assigns_rows_by_source_file() {
    let dir = temp_dir("files");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("a.csv"), "x\n1\n2\n").unwrap();
    std::fs::write(dir.join("sub/b.csv"), "x\n3\n").unwrap();
    std::fs::write(dir.join("c.csv"), "x\n4\n5\n").unwrap();
    let cfg = DataConfig {
        files: vec!["a.csv".into(), "sub/b.csv".into(), "c.csv".into()],
        ..header_cfg()
    };
    let t = read_table(&cfg, &dir, &[]).unwrap();
    let split = SplitConfig {
        kind: SplitKind::Files,
        train_files: vec!["c.csv".into(), "a.csv".into()],
        valid_files: vec!["sub/b.csv".into()],
        ..Default::default()
    };
    let rows = split_rows(&t, &split, &missing_values()).unwrap();
    assert_eq!(rows.train, vec![0, 1, 3, 4]);
    assert_eq!(rows.valid, vec![2]);
    assert!(rows.test.is_empty(), "every file is listed");
}
