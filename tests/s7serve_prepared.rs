//! `FeatureSpec::prepare` + `encode_prepared` (the lookups a server builds once at load)
//! give exactly the ids of `FeatureSpec::encode` (which builds them for each table):
//! vocabulary and hashed categorical features, multi-hot bags, unseen and missing
//! values, and the missing = "error" refusal.

mod features_support;

use features_support::*;
use mtrec::config::{FeatureConfig, FeatureKind, Missing, Scale};
use mtrec::data::features::FeatureSpec;

fn spec_and_tables() -> (FeatureSpec, Vec<mtrec::data::ingest::RawTable>) {
    let (train, _) = table(
        "s7prep-train.csv",
        "c,h,tags,x\nred,a,x|y,1.5\nblue,b,y,2\nred,c,?,?\ngreen,a,x|z|y,0.5\n?,d,z,3\n",
    );
    let rows: Vec<usize> = (0..5).collect();
    let features = vec![
        categorical("c"),
        FeatureConfig {
            hash_buckets: 7,
            ..categorical("h")
        },
        feature("tags", FeatureKind::MultiHot),
        numeric("x", Scale::Standard, Missing::Zero),
    ];
    let spec = FeatureSpec::fit(&train, &features, &[], &missing_values(), &rows).unwrap();
    // new rows: unseen values (black, w), missing ones (?), a new hashed text (zz)
    let (new, _) = table(
        "s7prep-new.csv",
        "c,h,tags,x\nblack,zz,w|x,4\n?,a,?,?\ngreen,b,y|?|z,1\nred,a,,2\n",
    );
    (spec, vec![train, new])
}

#[test]
fn prepared_lookups_give_the_ids_of_encode() {
    let (spec, tables) = spec_and_tables();
    let prepared = spec.prepare();
    for t in &tables {
        let plain = spec.encode(t).unwrap();
        let fast = spec.encode_prepared(t, Some(&prepared)).unwrap();
        assert_eq!(fast, plain);
        assert_eq!(spec.encode_prepared(t, None).unwrap(), plain);
    }
    // the ids are really looked up (not all 0): red = 1, blue = 2, green = 3, unseen 0
    let e = spec.encode_prepared(&tables[1], Some(&prepared)).unwrap();
    assert_eq!(column_of(&e, 0), vec![0, 0, 3, 1]);
    assert_eq!(e.bags[0].bag(0), &[0, 1]); // w unseen, x = 1
    assert_eq!(e.bags[0].bag(1), &[0]); // a missing cell is the bag [0]
}

#[test]
fn prepared_lookups_refuse_a_missing_value_as_encode_does() {
    let (train, _) = table("s7prep-err.csv", "c\nred\nblue\n?\n");
    let f = FeatureConfig {
        missing: Some(Missing::Error),
        ..categorical("c")
    };
    let spec = FeatureSpec::fit(&train, &[f], &[], &missing_values(), &[0, 1]).unwrap();
    let prepared = spec.prepare();
    let plain = expect_err(spec.encode(&train)).to_string();
    let fast = expect_err(spec.encode_prepared(&train, Some(&prepared))).to_string();
    assert_eq!(fast, plain);
    assert!(fast.contains(":4:1: column `c`: `?`"), "{fast}");
}
