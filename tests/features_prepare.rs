//! The feature pipeline end to end: prepared splits, the encoded batches, the spec's JSON
//! round trip and new data without a label column.

mod features_support;

use features_support::*;
use mtrec::config::{FeatureConfig, SplitConfig, TaskConfig};
use mtrec::data::features::{prepare, EncodedBatch, Encoder, FeatureSpec};

// ------------------------------------------------------------------ encoded data

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
