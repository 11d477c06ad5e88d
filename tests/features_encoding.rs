//! The feature pipeline's column encodings: vocabularies, hashing, multi-hot bags,
//! numeric scaling and missing values, and the label rules.

mod features_support;

use features_support::*;
use mtrec::config::{FeatureConfig, FeatureKind, Missing, Scale, TaskConfig, TaskType};
use mtrec::data::features::{fnv1a64, Encoder, FeatureSpec};

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
