//! The interactions loader (`data.loader = "interactions"`): pairs, leave-last-out and
//! time splits, row-level errors, negative sampling.

use mtrec::config::interactions::{InteractionsConfig, NegativesConfig, PairSplit, Sampling};
use mtrec::config::{BadRows, DataConfig};
use mtrec::data::loaders::interactions::{
    known_items, negatives_for, negatives_in, read_interactions, to_table, Interactions,
    NegativeSampler, Set,
};
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::SeedableRng;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

mod interactions_support;

use interactions_support::LOG;

fn temp_dir(tag: &str) -> PathBuf {
    interactions_support::temp_dir("i15", tag)
}

fn data_cfg(dir: &Path, text: &str, split: PairSplit) -> DataConfig {
    std::fs::write(dir.join("log.csv"), text).unwrap();
    DataConfig {
        files: vec!["log.csv".into()],
        loader: mtrec::config::data::Loader::Interactions,
        interactions: Some(InteractionsConfig {
            fields: ["user", "item", "behavior", "time"]
                .map(String::from)
                .to_vec(),
            behaviors: vec!["pv".into(), "buy".into()],
            labels: vec!["click".into(), "buy".into()],
            split,
            valid: 0.15,
            test: 0.15,
            ..InteractionsConfig::default()
        }),
        ..DataConfig::default()
    }
}

fn sets(inter: &Interactions) -> Vec<(String, String, Set, u32)> {
    inter
        .pairs
        .iter()
        .map(|p| {
            (
                inter.users[p.user as usize].clone(),
                inter.items[p.item as usize].clone(),
                p.set,
                p.flags,
            )
        })
        .collect()
}

#[test]
fn pairs_aggregate_behaviours_and_leave_last_out_holds_out_each_users_latest_pairs() {
    let dir = temp_dir("llo");
    let inter = read_interactions(&data_cfg(&dir, LOG, PairSplit::LeaveLastOut), &dir).unwrap();
    assert_eq!(inter.items, ["a", "b", "c", "d", "e"]);
    let s = |u: &str, i: &str, set, flags| (u.to_string(), i.to_string(), set, flags);
    assert_eq!(
        sets(&inter),
        vec![
            s("u1", "a", Set::Train, 1),
            s("u1", "b", Set::Valid, 3), // pv and buy
            s("u1", "c", Set::Test, 1),
            s("u2", "a", Set::Train, 3),
            s("u2", "c", Set::Valid, 1),
            s("u2", "d", Set::Test, 1),
            s("u3", "a", Set::Train, 1), // one pair: training only
            s("u4", "d", Set::Train, 1),
            s("u4", "e", Set::Test, 1), // two pairs: no valid
        ]
    );
}

#[test]
fn the_time_split_is_one_global_cut() {
    let dir = temp_dir("time");
    let inter = read_interactions(&data_cfg(&dir, LOG, PairSplit::Time), &dir).unwrap();
    // 9 pairs: round(0.15·9) = 1 test (the newest, u3-a at 7), 1 valid (u1-c at 5)
    let held: Vec<_> = sets(&inter)
        .into_iter()
        .filter(|x| x.2 != Set::Train)
        .map(|x| (x.0, x.1, x.2))
        .collect();
    assert_eq!(
        held,
        vec![
            ("u1".to_string(), "c".to_string(), Set::Valid),
            ("u3".to_string(), "a".to_string(), Set::Test),
        ]
    );
}

#[test]
fn malformed_lines_are_errors_with_file_and_line_or_skipped_and_counted() {
    let dir = temp_dir("bad");
    let text = "u1,a,pv,1\nu1,b,pv\nu2,a,like,3\nu2,b,pv,x\n";
    let cfg = data_cfg(&dir, text, PairSplit::LeaveLastOut);
    let e = read_interactions(&cfg, &dir).unwrap_err().to_string();
    assert!(e.contains("log.csv:2:"), "{e}");
    assert!(e.contains("3 fields"), "{e}");
    let only = |line: &str| {
        let t = format!("u1,a,pv,1\n{line}\n");
        read_interactions(&data_cfg(&dir, &t, PairSplit::LeaveLastOut), &dir)
            .unwrap_err()
            .to_string()
    };
    let e = only("u2,a,like,3");
    assert!(
        e.contains("log.csv:2:3") && e.contains("`like`") && e.contains("pv, buy"),
        "{e}"
    );
    let e = only("u2,b,pv,x");
    assert!(
        e.contains("log.csv:2:4") && e.contains("whole number"),
        "{e}"
    );
    let e = only("u2,,pv,3");
    assert!(
        e.contains("log.csv:2:2") && e.contains("non-empty id"),
        "{e}"
    );
    // skip: the three bad lines are counted and the good one kept
    let mut cfg = data_cfg(&dir, text, PairSplit::LeaveLastOut);
    cfg.bad_rows = BadRows::Skip;
    let inter = read_interactions(&cfg, &dir).unwrap();
    assert_eq!(inter.skipped.count, 3);
    assert_eq!(inter.pairs.len(), 1);
}

#[test]
fn one_file_per_behaviour_without_a_behavior_field() {
    let dir = temp_dir("files");
    std::fs::write(dir.join("clicks.tsv"), "u1\ta\t1\nu1\tb\t2\n").unwrap();
    std::fs::write(dir.join("buys.tsv"), "u1\tb\t3\n").unwrap();
    let cfg = DataConfig {
        files: vec!["clicks.tsv".into(), "buys.tsv".into()],
        loader: mtrec::config::data::Loader::Interactions,
        delimiter: Some('\t'),
        interactions: Some(InteractionsConfig {
            fields: ["user", "item", "time"].map(String::from).to_vec(),
            behaviors: vec!["click".into(), "buy".into()],
            file_behaviors: vec!["click".into(), "buy".into()],
            ..InteractionsConfig::default()
        }),
        ..DataConfig::default()
    };
    let inter = read_interactions(&cfg, &dir).unwrap();
    let flags: Vec<u32> = inter.pairs.iter().map(|p| p.flags).collect();
    assert_eq!(flags, vec![1, 3]);
    let mut bad = cfg.clone();
    bad.interactions.as_mut().unwrap().file_behaviors.pop();
    let e = read_interactions(&bad, &dir).unwrap_err().to_string();
    assert!(e.contains("file_behaviors"), "{e}");
}

#[test]
fn the_sampler_never_returns_a_known_item_and_is_deterministic_for_a_seed() {
    let known: HashSet<u32> = [0, 2, 4, 6, 8].into_iter().collect();
    for sampler in [
        NegativeSampler::uniform(10),
        NegativeSampler::popularity(&[5, 1, 5, 1, 5, 1, 5, 1, 5, 1], 1.0).unwrap(),
    ] {
        let draw = |seed| {
            sampler
                .negatives(&known, 2000, &mut StdRng::seed_from_u64(seed))
                .unwrap()
        };
        let a = draw(1);
        assert!(a.iter().all(|i| !known.contains(i) && *i < 10));
        assert_eq!(a, draw(1));
        assert_ne!(a, draw(2));
    }
    // every drawable item known: no negative exists
    let all: HashSet<u32> = (0..3).collect();
    let e = NegativeSampler::uniform(3)
        .negatives(&all, 1, &mut StdRng::seed_from_u64(0))
        .unwrap_err();
    assert!(e.to_string().contains("no negative exists"), "{e}");
}

#[test]
fn popularity_sampling_follows_count_to_the_beta() {
    // weights 1^0.5, 4^0.5, 0, 9^0.5 = 1, 2, 0, 3: p = 1/6, 2/6, 0, 3/6
    let s = NegativeSampler::popularity(&[1, 4, 0, 9], 0.5).unwrap();
    let n = 60_000;
    let draws = s
        .negatives(&HashSet::new(), n, &mut StdRng::seed_from_u64(3))
        .unwrap();
    let mut counts = [0usize; 4];
    for d in draws {
        counts[d as usize] += 1;
    }
    let expect = [1.0 / 6.0, 2.0 / 6.0, 0.0, 3.0 / 6.0];
    for (c, p) in counts.iter().zip(expect) {
        // binomial sd ≤ sqrt(0.25/60000) ≈ 0.002; 0.01 is 5 sd
        assert!((*c as f64 / n as f64 - p).abs() < 0.01, "{counts:?}");
    }
    assert_eq!(counts[2], 0);
    // with a known item the rest renormalises: p(3) = 3/4 once item 1 is known
    let known: HashSet<u32> = [1].into_iter().collect();
    let draws = s
        .negatives(&known, n, &mut StdRng::seed_from_u64(4))
        .unwrap();
    let f3 = draws.iter().filter(|&&d| d == 3).count() as f64 / n as f64;
    assert!((f3 - 0.75).abs() < 0.01, "{f3}");
    assert!(NegativeSampler::popularity(&[1], -1.0).is_err());
}

#[test]
fn training_negatives_change_with_the_epoch_and_eval_negatives_do_not() {
    let dir = temp_dir("epochs");
    let inter = read_interactions(&data_cfg(&dir, LOG, PairSplit::LeaveLastOut), &dir).unwrap();
    let neg = NegativesConfig {
        k: 3,
        eval_k: 2,
        sampling: Sampling::Uniform,
        ..NegativesConfig::default()
    };
    let sampler = NegativeSampler::for_interactions(&inter, &neg).unwrap();
    let known = known_items(&inter);
    let train =
        |epoch| negatives_in(&inter, &sampler, &known, Set::Train, 3, neg.seed, epoch).unwrap();
    assert_eq!(train(0), train(0));
    assert_ne!(train(0), train(1));
    assert_eq!(train(1).len(), 4 * 3); // 4 training pairs, 3 each
    for n in train(1) {
        assert!(!known[inter.pairs[n.pair].user as usize].contains(&n.item));
    }
    let eval = |epoch| {
        negatives_for(&inter, &sampler, &neg, epoch)
            .unwrap()
            .into_iter()
            .filter(|n| inter.pairs[n.pair].set != Set::Train)
            .collect::<Vec<_>>()
    };
    assert_eq!(eval(0), eval(5));
    assert_eq!(eval(0).len(), 5 * 2); // 2 valid + 3 test pairs
                                      // the table: positives with their labels, then negatives with all labels 0
    let negs = negatives_for(&inter, &sampler, &neg, 0).unwrap();
    let t = to_table(&inter, &negs, &[]).unwrap();
    assert_eq!(
        t.names,
        ["user_id", "item_id", "click", "buy", "time", "set"]
    );
    assert_eq!(t.num_rows(), 9 + negs.len());
    let buy = t.column("buy").unwrap();
    assert_eq!(buy.get(1), "1"); // u1-b was bought
    assert!(
        (9..t.num_rows()).all(|r| buy.get(r) == "0" && t.column("click").unwrap().get(r) == "0")
    );
}
