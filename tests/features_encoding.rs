//! The feature pipeline: splits, vocabularies, hashing, scaling, missing values,
//! labels, the encoded batches, the input layer and its embedding-bag op, and the
//! census-income data prepared as the PyTorch reference prepares it.

use mtrec::autograd::{Graph, ParamStore};
use mtrec::config::{
    DataConfig, FeatureConfig, FeatureKind, Missing, Scale, SplitConfig, SplitKind, TaskConfig,
    TaskType,
};
use mtrec::data::features::{
    fnv1a64, prepare, random_assignment, split_rows, splitmix64, EncodedBatch, Encoder, FeatureSpec,
};
use mtrec::data::ingest::{read_file, read_table, RawTable};
use mtrec::nn::FeatureInput;
use mtrec::Error;
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::SeedableRng;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh folder in the temp directory.
fn temp_dir(tag: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("mtrec-features-{}-{n}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn header_cfg() -> DataConfig {
    DataConfig {
        header: true,
        ..Default::default()
    }
}

/// A table read from a CSV file with a header line.
fn table(tag: &str, csv: &str) -> (RawTable, PathBuf) {
    let path = temp_dir(tag).join("data.csv");
    std::fs::write(&path, csv).unwrap();
    (read_file(&path, &header_cfg(), &[]).unwrap(), path)
}

fn feature(name: &str, kind: FeatureKind) -> FeatureConfig {
    FeatureConfig {
        name: name.into(),
        kind,
        dim: 4,
        min_count: 1,
        hash_buckets: 0,
        separator: "|".into(),
        scale: Scale::Standard,
        missing: None,
        text: None,
    }
}

fn categorical(name: &str) -> FeatureConfig {
    feature(name, FeatureKind::Categorical)
}

fn numeric(name: &str, scale: Scale, missing: Missing) -> FeatureConfig {
    FeatureConfig {
        scale,
        missing: Some(missing),
        ..feature(name, FeatureKind::Numeric)
    }
}

fn task(name: &str, column: &str) -> TaskConfig {
    TaskConfig {
        name: name.into(),
        kind: TaskType::Binary,
        column: column.into(),
        positive: Vec::new(),
        threshold: None,
        weight: 1.0,
    }
}

fn missing_values() -> Vec<String> {
    vec!["".into(), "?".into(), "NA".into()]
}

fn column_of(e: &mtrec::data::features::Encoded, f: usize) -> Vec<u32> {
    (0..e.len()).map(|r| e.cat[r * e.n_cat + f]).collect()
}

fn expect_err<T: std::fmt::Debug>(r: mtrec::Result<T>) -> Error {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e,
    }
}

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

// ------------------------------------------------------------------ categorical

#[test]
fn vocabulary_uses_training_rows_min_count_and_oov() {
    // Rows 0..6 are training rows; 6..9 are not.
    let (t, _) = table(
        "vocab.csv",
        "c\nred\nblue\nred\ngreen\n?\nblue\nblack\nred\ngreen\n",
    );
    let train: Vec<usize> = (0..6).collect();
    let spec = FeatureSpec::fit(&t, &[categorical("c")], &[], &missing_values(), &train).unwrap();
    // First appearance in training: red, blue, green; `?` is missing, black unseen.
    assert_eq!(
        spec.categorical[0].encoder,
        Encoder::Vocab {
            values: vec!["red".into(), "blue".into(), "green".into()]
        }
    );
    let e = spec.encode(&t).unwrap();
    assert_eq!(column_of(&e, 0), vec![1, 2, 1, 3, 0, 2, 0, 1, 3]);

    // min_count = 2: green (once in training) joins the OOV id 0.
    let f = FeatureConfig {
        min_count: 2,
        ..categorical("c")
    };
    let spec = FeatureSpec::fit(&t, &[f], &[], &missing_values(), &train).unwrap();
    assert_eq!(
        spec.categorical[0].encoder,
        Encoder::Vocab {
            values: vec!["red".into(), "blue".into()]
        }
    );
    assert_eq!(
        column_of(&spec.encode(&t).unwrap(), 0),
        vec![1, 2, 1, 0, 0, 2, 0, 1, 0]
    );

    // missing = "error": the `?` of line 6 (row 4), field 1.
    let f = FeatureConfig {
        missing: Some(Missing::Error),
        ..categorical("c")
    };
    let spec = FeatureSpec::fit(&t, &[f], &[], &missing_values(), &train).unwrap();
    let msg = expect_err(spec.encode(&t)).to_string();
    assert!(msg.contains(":6:1: column `c`: `?`"), "{msg}");
}

#[test]
fn hashed_ids_match_fnv1a_and_stay_in_bounds() {
    // Published FNV-1a-64 test vectors.
    assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    let (t, _) = table("hash.csv", "c\nred\ngreen\nblue\nx\nNA\n");
    let f = FeatureConfig {
        hash_buckets: 7,
        ..categorical("c")
    };
    // Only row 0 is a training row: hashing needs no vocabulary, unseen values hash too.
    let spec = FeatureSpec::fit(&t, &[f], &[], &missing_values(), &[0]).unwrap();
    assert_eq!(spec.categorical[0].encoder.size(), 7);
    // 1 + FNV-1a-64(text) mod 7, computed with Python integers: 4, 7, 1, 4; NA → 0.
    assert_eq!(column_of(&spec.encode(&t).unwrap(), 0), vec![4, 7, 1, 4, 0]);
    // Many values: all ids within 1..=N.
    let csv: String = std::iter::once("c\n".to_string())
        .chain((0..500).map(|i| format!("v{i}\n")))
        .collect();
    let (t, _) = table("hash2.csv", &csv);
    let f = FeatureConfig {
        hash_buckets: 13,
        ..categorical("c")
    };
    let spec = FeatureSpec::fit(&t, &[f], &[], &missing_values(), &[]).unwrap();
    let ids = column_of(&spec.encode(&t).unwrap(), 0);
    assert!(ids.iter().all(|&i| (1..=13).contains(&i)));
    assert_eq!(
        ids.iter().collect::<std::collections::BTreeSet<_>>().len(),
        13
    );
}

#[test]
fn multi_hot_bags_use_the_training_token_vocabulary() {
    let (t, _) = table(
        "bags.csv",
        "g\nComedy|Drama\nDrama\nAction| Drama |Comedy\n?\nHorror|Drama\nComedy||\n",
    );
    let f = FeatureConfig {
        separator: "|".into(),
        ..feature("g", FeatureKind::MultiHot)
    };
    let spec = FeatureSpec::fit(&t, &[f], &[], &missing_values(), &[0, 1, 2, 3]).unwrap();
    assert_eq!(
        spec.multi_hot[0].encoder,
        Encoder::Vocab {
            values: vec!["Comedy".into(), "Drama".into(), "Action".into()]
        }
    );
    let e = spec.encode(&t).unwrap();
    let b = &e.bags[0];
    assert_eq!(b.len(), 6);
    let bags: Vec<&[u32]> = (0..6).map(|r| b.bag(r)).collect();
    // Missing cell → [0]; unseen Horror → 0; empty pieces dropped.
    assert_eq!(
        bags,
        vec![&[1, 2][..], &[2], &[3, 2, 1], &[0], &[0, 2], &[1]]
    );
}

// ------------------------------------------------------------------ numeric

#[test]
fn standard_and_minmax_scaling_use_training_statistics_only() {
    // Training rows 0..4: 1, 2, 3, 4 (mean 2.5, population std √1.25, min 1, max 4).
    let (t, _) = table("num.csv", "x,y\n1,1\n2,2\n3,3\n4,4\n100,100\n-20,-20\n");
    let train = [0, 1, 2, 3];
    let feats = [
        numeric("x", Scale::Standard, Missing::Mean),
        numeric("y", Scale::Minmax, Missing::Mean),
    ];
    let spec = FeatureSpec::fit(&t, &feats, &[], &missing_values(), &train).unwrap();
    let e = spec.encode(&t).unwrap();
    let std = 1.25f64.sqrt();
    for (r, v) in [1.0f64, 2.0, 3.0, 4.0, 100.0, -20.0].iter().enumerate() {
        let close = |a: f32, b: f64| (a as f64 - b).abs() <= 1e-6 * (1.0 + b.abs());
        assert!(close(e.num[r * 2], (v - 2.5) / std), "standard row {r}");
        assert!(close(e.num[r * 2 + 1], (v - 1.0) / 3.0), "minmax row {r}");
    }
    // A constant training column: std 0 → 1 and range 0 → 1 (values only shift).
    let (t, _) = table("const.csv", "x,y\n5,5\n5,5\n7,7\n");
    let spec = FeatureSpec::fit(&t, &feats, &[], &missing_values(), &[0, 1]).unwrap();
    assert_eq!(
        spec.encode(&t).unwrap().num,
        vec![0.0, 0.0, 0.0, 0.0, 2.0, 2.0]
    );
    // scale = "none" keeps the numbers.
    let f = numeric("x", Scale::None, Missing::Mean);
    let spec = FeatureSpec::fit(&t, &[f], &[], &missing_values(), &[0]).unwrap();
    assert_eq!(spec.encode(&t).unwrap().num, vec![5.0, 5.0, 7.0]);
}

#[test]
fn numeric_missing_policies_mean_zero_and_error() {
    // Training rows 0..4 with one missing: non-missing mean (2 + 4 + 6) / 3 = 4.
    let (t, path) = table("miss.csv", "a,x\nq,2\nq,?\nq,4\nq,6\nq,NA\n");
    let mv = missing_values();
    let train = [0, 1, 2, 3];
    let spec = FeatureSpec::fit(
        &t,
        &[numeric("x", Scale::None, Missing::Mean)],
        &[],
        &mv,
        &train,
    )
    .unwrap();
    assert_eq!(spec.encode(&t).unwrap().num, vec![2.0, 4.0, 4.0, 6.0, 4.0]);
    let spec = FeatureSpec::fit(
        &t,
        &[numeric("x", Scale::None, Missing::Zero)],
        &[],
        &mv,
        &train,
    )
    .unwrap();
    assert_eq!(spec.encode(&t).unwrap().num, vec![2.0, 0.0, 4.0, 6.0, 0.0]);
    // Standard scaling after filling with the mean: filled training values 2, 4, 4, 6.
    let spec = FeatureSpec::fit(
        &t,
        &[numeric("x", Scale::Standard, Missing::Mean)],
        &[],
        &mv,
        &train,
    )
    .unwrap();
    let s = &spec.numeric[0];
    assert_eq!((s.fill, s.center), (4.0, 4.0));
    assert!((s.spread - 2.0f64.sqrt()).abs() < 1e-12); // √((4 + 0 + 0 + 4) / 4)
                                                       // missing = "error": the `?` of line 3, field 2 (`x`).
    let err = expect_err(FeatureSpec::fit(
        &t,
        &[numeric("x", Scale::None, Missing::Error)],
        &[],
        &mv,
        &train,
    ));
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!("{}:3:2: column `x`: `?`", path.display())),
        "{msg}"
    );
    // Not a number at all: an error with its place whatever the policy.
    let (t, path) = table("bad.csv", "x\n1\nabc\n");
    let msg = expect_err(FeatureSpec::fit(
        &t,
        &[numeric("x", Scale::None, Missing::Mean)],
        &[],
        &mv,
        &[0],
    ))
    .to_string();
    assert!(
        msg.starts_with(&format!("{}:3:1: column `x`: `abc`", path.display())),
        "{msg}"
    );
}

// ------------------------------------------------------------------ labels

#[test]
fn label_rules_positive_threshold_zero_one_and_missing_mask() {
    let (t, _) = table(
        "labels.csv",
        "inc,rating,click,y\n50000+.,4,1,2.5\n- 50000.,3,0,-1\n?,5,?,NA\n50000+.,?,1,0\n",
    );
    let tasks = [
        TaskConfig {
            positive: vec!["50000+.".into()],
            ..task("income", "inc")
        },
        TaskConfig {
            threshold: Some(4.0),
            ..task("like", "rating")
        },
        task("click", "click"),
        TaskConfig {
            kind: TaskType::Regression,
            ..task("value", "y")
        },
    ];
    let spec = FeatureSpec::fit(&t, &[], &tasks, &missing_values(), &[0, 1, 2, 3]).unwrap();
    let e = spec.encode(&t).unwrap();
    let col = |k| e.task_column(k);
    assert_eq!(col(0), (vec![1.0, 0.0, 0.0, 1.0], vec![1.0, 1.0, 0.0, 1.0]));
    assert_eq!(col(1), (vec![1.0, 0.0, 1.0, 0.0], vec![1.0, 1.0, 1.0, 0.0]));
    assert_eq!(col(2), (vec![1.0, 0.0, 0.0, 1.0], vec![1.0, 1.0, 0.0, 1.0]));
    assert_eq!(
        col(3),
        (vec![2.5, -1.0, 0.0, 0.0], vec![1.0, 1.0, 0.0, 1.0])
    );
}

#[test]
fn bad_labels_are_errors_with_file_line_column() {
    let (t, path) = table("badlabel.csv", "a,click,r\nx,1,4\nx,yes,5\nx,0.5,z\n");
    let mv = missing_values();
    for (tk, line, col, seen) in [
        (task("click", "click"), 3, 2, "yes"),
        (
            TaskConfig {
                threshold: Some(4.0),
                ..task("like", "r")
            },
            4,
            3,
            "z",
        ),
        (
            TaskConfig {
                kind: TaskType::Regression,
                ..task("r", "r")
            },
            4,
            3,
            "z",
        ),
    ] {
        let spec = FeatureSpec::fit(&t, &[], &[tk], &mv, &[0]).unwrap();
        let msg = expect_err(spec.encode(&t)).to_string();
        let want = format!("{}:{line}:{col}: column `", path.display());
        assert!(
            msg.starts_with(&want) && msg.contains(&format!("`{seen}`")),
            "{msg}"
        );
    }
    // 0.5 is a number but not 0 or 1.
    let (t, path) = table("badlabel2.csv", "click\n1\n0.5\n");
    let spec = FeatureSpec::fit(&t, &[], &[task("click", "click")], &mv, &[0]).unwrap();
    let msg = expect_err(spec.encode(&t)).to_string();
    assert!(
        msg.starts_with(&format!("{}:3:1:", path.display())) && msg.contains("0 or 1"),
        "{msg}"
    );
}

// ------------------------------------------------------------------ encoded data

fn small_table() -> RawTable {
    table(
        "small.csv",
        "c,g,x,label\nred,A|B,1,1\nblue,B,2,0\nred,,3,1\ngreen,C|A,4,0\nblue,A,5,?\n",
    )
    .0
}

fn small_features() -> Vec<FeatureConfig> {
    vec![
        FeatureConfig {
            dim: 3,
            ..categorical("c")
        },
        numeric("x", Scale::Standard, Missing::Mean),
        FeatureConfig {
            dim: 2,
            ..feature("g", FeatureKind::MultiHot)
        },
    ]
}

#[test]
fn prepare_splits_fits_on_train_and_reports() {
    let t = small_table();
    let split = SplitConfig {
        seed: 2024,
        train: 0.6,
        valid: 0.2,
        ..Default::default()
    };
    let p = prepare(
        &t,
        &small_features(),
        &[task("y", "label")],
        &split,
        &missing_values(),
    )
    .unwrap();
    // seed 2024, rows 0..5 → valid, train, test, train, train (see the split test).
    assert_eq!(p.train.len() + p.valid.len() + p.test.len(), 5);
    assert_eq!(
        p.train.source.iter().map(|s| s.line).collect::<Vec<_>>(),
        vec![3, 5, 6]
    );
    assert_eq!(p.valid.source[0].line, 2);
    // Vocabulary from training rows only (blue, green, blue): red is unseen.
    assert_eq!(
        p.spec.categorical[0].encoder,
        Encoder::Vocab {
            values: vec!["blue".into(), "green".into()]
        }
    );
    assert_eq!(p.valid.cat, vec![0]);
    assert_eq!(p.spec.d_in(), 3 + 2 + 1);
    assert!(p.report.contains("rows: 5"), "{}", p.report);
    assert!(p.report.contains("categorical c: V = 2"), "{}", p.report);
    assert!(p.report.contains("task y"), "{}", p.report);
}

#[test]
fn batch_matches_select_and_reuses_its_buffers() {
    let t = small_table();
    let spec = FeatureSpec::fit(
        &t,
        &small_features(),
        &[task("y", "label")],
        &missing_values(),
        &[0, 1, 2, 3, 4],
    )
    .unwrap();
    let e = spec.encode(&t).unwrap();
    let rows = [4, 0, 3];
    let s = e.select(&rows);
    let mut b = EncodedBatch::default();
    e.batch(&rows, &mut b);
    assert_eq!(b.rows, 3);
    assert_eq!(b.cat, vec![s.cat.clone()]);
    assert_eq!(b.num, s.num);
    assert_eq!(b.bags, s.bags);
    assert_eq!((b.labels[0].clone(), b.mask[0].clone()), s.task_column(0));
    assert_eq!(b.mask[0], vec![0.0, 1.0, 1.0]);
    // A second fill of no more rows reuses every buffer.
    let ptrs = |b: &EncodedBatch| {
        (
            b.cat[0].as_ptr(),
            b.num.as_ptr(),
            b.bags[0].ids.as_ptr(),
            b.labels[0].as_ptr(),
        )
    };
    let before = ptrs(&b);
    e.batch(&[1, 2], &mut b);
    assert_eq!(ptrs(&b), before);
    assert_eq!(b.bags[0].offsets.len(), 3);
}

#[test]
fn spec_json_round_trip_encodes_identically() {
    let t = small_table();
    let mut feats = small_features();
    feats.push(FeatureConfig {
        hash_buckets: 5,
        ..categorical("label")
    });
    let tasks = [TaskConfig {
        positive: vec!["1".into()],
        ..task("y", "label")
    }];
    let spec = FeatureSpec::fit(&t, &feats, &tasks, &missing_values(), &[1, 3, 4]).unwrap();
    let json = spec.to_json_string().unwrap();
    assert!(
        json.contains("\"blue\""),
        "vocabularies are stored as value texts: {json}"
    );
    let back = FeatureSpec::from_json_str(&json).unwrap();
    assert_eq!(back, spec);
    assert_eq!(back.encode(&t).unwrap(), spec.encode(&t).unwrap());
    let msg = expect_err(FeatureSpec::from_json_str("{\"version\": 1}")).to_string();
    assert!(msg.contains("spec.json"), "{msg}");
}

#[test]
fn encode_new_data_without_label_column_masks_every_task() {
    let t = small_table();
    let spec = FeatureSpec::fit(
        &t,
        &small_features(),
        &[task("y", "label")],
        &missing_values(),
        &[0, 1],
    )
    .unwrap();
    let (new, _) = table("new.csv", "c,g,x\nred,B,10\npurple,Z,?\n");
    let e = spec.encode(&new).unwrap();
    assert_eq!(e.cat, vec![1, 0]);
    assert_eq!(e.mask, vec![0.0, 0.0]);
    let (nofeat, _) = table("nofeat.csv", "c,x\nred,1\n");
    let msg = expect_err(spec.encode(&nofeat)).to_string();
    assert!(msg.contains("`g`"), "{msg}");
}

// ------------------------------------------------------------------ input layer

#[test]
fn feature_input_width_and_column_order() {
    let t = small_table();
    let spec = FeatureSpec::fit(
        &t,
        &small_features(),
        &[],
        &missing_values(),
        &[0, 1, 2, 3, 4],
    )
    .unwrap();
    let mut store = ParamStore::new();
    let mut rng = StdRng::seed_from_u64(3);
    let input = FeatureInput::new(&mut store, "input", &spec, &mut rng).unwrap();
    assert_eq!(input.d_in(), 3 + 2 + 1);
    let c = store.find("input.emb.c").unwrap();
    let g_ = store.find("input.emb.g").unwrap();
    assert_eq!((store.info(c).rows, store.info(c).cols), (4, 3)); // red, blue, green + OOV
    assert_eq!((store.info(g_).rows, store.info(g_).cols), (4, 2)); // A, B, C + OOV
    let e = spec.encode(&t).unwrap();
    let mut b = EncodedBatch::default();
    e.batch(&[0, 2], &mut b);
    let mut g = Graph::new(0);
    let x = input.forward(&mut g, &store, &b).unwrap();
    assert_eq!(g.shape(x), (2, 6));
    let y = g.value(x);
    let (tc, tg) = (store.value(c), store.value(g_));
    // Row 0: red (id 1) | mean(A, B) = mean(ids 1, 2) | x.
    assert_eq!(&y[0..3], &tc[3..6]);
    for d in 0..2 {
        assert!((y[3 + d] - (tg[2 + d] + tg[4 + d]) / 2.0).abs() < 1e-7);
    }
    assert_eq!(y[5], b.num[0]);
    // Row 2 has an empty multi-hot cell (missing → the OOV bag [0]).
    assert_eq!(&y[6 + 3..6 + 5], &tg[0..2]);
}

#[test]
fn feature_input_gradients_reach_only_looked_up_rows() {
    let t = small_table();
    let spec = FeatureSpec::fit(
        &t,
        &small_features(),
        &[],
        &missing_values(),
        &[0, 1, 2, 3, 4],
    )
    .unwrap();
    let mut store = ParamStore::new();
    let mut rng = StdRng::seed_from_u64(4);
    let input = FeatureInput::new(&mut store, "input", &spec, &mut rng).unwrap();
    let e = spec.encode(&t).unwrap();
    let mut b = EncodedBatch::default();
    e.batch(&[0, 1], &mut b); // c: red, blue (ids 1, 2); g: [A, B], [B] (ids 1, 2; 2)
    let mut g = Graph::new(0);
    let x = input.forward(&mut g, &store, &b).unwrap();
    let seed: Vec<f32> = (0..12).map(|i| i as f32 + 1.0).collect(); // (2, 6)
    store.zero_grad();
    g.backward_with_grad(x, &seed, &mut store).unwrap();
    let c = store.find("input.emb.c").unwrap();
    let gi = store.find("input.emb.g").unwrap();
    let sc = store.sparse_grad(c).unwrap();
    let sg = store.sparse_grad(gi).unwrap();
    assert_eq!(sc.touched(), &[1, 2]);
    assert_eq!(sc.row(0), &[1.0, 2.0, 3.0]); // row 0's dy for c
    assert_eq!(sc.row(1), &[7.0, 8.0, 9.0]);
    // g: A gets dy_0/2; B gets dy_0/2 + dy_1 (a bag of one).
    assert_eq!(sg.touched(), &[1, 2]);
    assert_eq!(sg.row(0), &[2.0, 2.5]);
    assert_eq!(sg.row(1), &[2.0 + 10.0, 2.5 + 11.0]);
    let dense = store.grad_to_vec(gi);
    assert_eq!(&dense[0..2], &[0.0, 0.0], "the OOV row was not looked up");
    assert_eq!(&dense[6..8], &[0.0, 0.0], "C was not looked up");
}

#[test]
fn embedding_bag_is_the_mean_and_errors_name_position_and_bound() {
    let mut store = ParamStore::new();
    let t = store
        .add_table("t", 3, 2, vec![1., 2., 3., 4., 5., 6.])
        .unwrap();
    let mut g = Graph::new(0);
    // Bags: [0, 2, 2], [], [1].
    let y = g
        .embedding_bag(&store, t, &[0, 3, 3, 4], &[0, 2, 2, 1])
        .unwrap();
    assert_eq!(g.shape(y), (3, 2));
    let want = [11. / 3., 14. / 3., 0., 0., 3., 4.]; // (1 + 5 + 5)/3, (2 + 6 + 6)/3; 0; row 1
    for (a, b) in g.value(y).iter().zip(want) {
        assert!((a - b).abs() < 1e-6, "{:?} vs {want:?}", g.value(y));
    }
    let e = expect_err(g.embedding_bag(&store, t, &[0, 1, 2], &[0, 3]));
    assert_eq!(
        e,
        Error::Index {
            op: "embedding_bag",
            position: 1,
            index: 3,
            bound: 3
        }
    );
    for offsets in [&[1u32, 2][..], &[0, 2, 1, 2], &[0, 1]] {
        let msg = expect_err(g.embedding_bag(&store, t, offsets, &[0, 1])).to_string();
        assert!(msg.contains("embedding_bag: offsets"), "{msg}");
    }
    assert!(g.embedding_bag(&store, t, &[], &[]).is_err());
    let dense = store.add_dense("w", 3, 2, vec![0.0; 6]).unwrap();
    assert!(g.embedding_bag(&store, dense, &[0, 1], &[0]).is_err());
}

// ------------------------------------------------------------------ census-income

const CENSUS_COLUMNS: [&str; 42] = [
    "age",
    "class_worker",
    "det_ind_code",
    "det_occ_code",
    "education",
    "wage_per_hour",
    "hs_college",
    "marital_stat",
    "major_ind_code",
    "major_occ_code",
    "race",
    "hisp_origin",
    "sex",
    "union_member",
    "unemp_reason",
    "full_or_part_emp",
    "capital_gains",
    "capital_losses",
    "stock_dividends",
    "tax_filer_stat",
    "region_prev_res",
    "state_prev_res",
    "det_hh_fam_stat",
    "det_hh_summ",
    "instance_weight",
    "mig_chg_msa",
    "mig_chg_reg",
    "mig_move_reg",
    "mig_same",
    "mig_prev_sunbelt",
    "num_emp",
    "fam_under_18",
    "country_father",
    "country_mother",
    "country_self",
    "citizenship",
    "own_or_self",
    "vet_question",
    "vet_benefits",
    "weeks_worked",
    "year",
    "income_50k",
];

/// As `reference/census/data.py`: these ten numeric, every other column except
/// instance_weight and the two label columns categorical.
const CENSUS_NUMERIC: [&str; 10] = [
    "age",
    "wage_per_hour",
    "capital_gains",
    "capital_losses",
    "stock_dividends",
    "num_emp",
    "own_or_self",
    "vet_benefits",
    "weeks_worked",
    "year",
];

#[test]
#[ignore = "needs ../shared/data (set MTREC_DATA)"]
fn census_income_prepares_as_the_reference() {
    let dir = std::env::var("MTREC_DATA").unwrap_or_else(|_| {
        panic!("set MTREC_DATA to the shared data folder (e.g. MTREC_DATA=../shared/data) to run this test")
    });
    let file = PathBuf::from(&dir).join("census-income/census-income.test.gz");
    assert!(
        file.is_file(),
        "census data not found at {} (MTREC_DATA={dir})",
        file.display()
    );
    let data = DataConfig {
        files: vec!["census-income/census-income.test.gz".into()],
        delimiter: Some(','),
        trim: true,
        columns: Some(CENSUS_COLUMNS.iter().map(|s| s.to_string()).collect()),
        ..Default::default()
    };
    let skip = ["instance_weight", "marital_stat", "income_50k"];
    let mut features: Vec<FeatureConfig> = CENSUS_COLUMNS
        .iter()
        .filter(|c| !skip.contains(c) && !CENSUS_NUMERIC.contains(c))
        .map(|c| FeatureConfig {
            dim: 8,
            ..categorical(c)
        })
        .collect();
    assert_eq!(features.len(), 29);
    features.extend(
        CENSUS_NUMERIC
            .iter()
            .map(|c| numeric(c, Scale::Standard, Missing::Mean)),
    );
    let tasks = [
        TaskConfig {
            positive: vec!["50000+.".into()],
            ..task("income", "income_50k")
        },
        TaskConfig {
            positive: vec!["Never married".into()],
            ..task("never_married", "marital_stat")
        },
    ];
    let split = SplitConfig {
        seed: 2024,
        train: 0.6,
        valid: 0.2,
        ..Default::default()
    };
    let mut needed: Vec<&str> = features.iter().map(|f| f.name.as_str()).collect();
    needed.extend(["income_50k", "marital_stat"]);
    let t = read_table(&data, std::path::Path::new(&dir), &needed).unwrap();
    assert_eq!(t.num_rows(), 99_762);
    let p = prepare(&t, &features, &tasks, &split, &data.missing_values).unwrap();
    println!("{}", p.report);
    assert_eq!(p.train.len() + p.valid.len() + p.test.len(), 99_762);
    assert_eq!(p.spec.d_in(), 242);
    let positives = |k: usize| -> f32 {
        [&p.train, &p.valid, &p.test]
            .iter()
            .map(|e| e.task_column(k).0.iter().sum::<f32>())
            .sum()
    };
    assert_eq!(positives(0), 6_186.0);
    assert_eq!(positives(1), 43_143.0);
    let mut store = ParamStore::new();
    let mut rng = StdRng::seed_from_u64(0);
    let input = FeatureInput::new(&mut store, "input", &p.spec, &mut rng).unwrap();
    assert_eq!(input.d_in(), 242);
    let mut b = EncodedBatch::default();
    p.train.batch(&(0..256).collect::<Vec<_>>(), &mut b);
    let mut g = Graph::new(0);
    let x = input.forward(&mut g, &store, &b).unwrap();
    assert_eq!(g.shape(x), (256, 242));
    // Standardised with training statistics: each numeric column of train has mean ≈ 0.
    for f in 0..10 {
        let m: f64 = (0..p.train.len())
            .map(|r| p.train.num[r * 10 + f] as f64)
            .sum::<f64>()
            / p.train.len() as f64;
        assert!(m.abs() < 1e-4, "numeric {f} has training mean {m}");
    }
}
