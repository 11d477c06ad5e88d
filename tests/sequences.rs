//! Sequence data, the leave-last-out split, full-ranking metrics and SASRec with its heads.

use mtrec::autograd::{Graph, ParamKind, ParamStore};
use mtrec::data::sequences::{
    leave_last_out, load_beauty, load_movielens, shuffled_ids, Keywords, SeqBatch, SeqData, Split,
    PAD,
};
use mtrec::metrics::FullRanking;
use mtrec::models::sasrec::{ItemInput, SasRec};
use mtrec::optim::{Adam, AdamConfig, Optimizer};
use mtrec::train::seq::{evaluate, fit, record_loss, SeqFitOptions, SeqInputs, SeqRunConfig};
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::SeedableRng;
use std::path::PathBuf;

fn toy(lengths: &[usize]) -> SeqData {
    let users = (0..lengths.len()).map(|u| format!("u{u}")).collect();
    let seqs = lengths
        .iter()
        .enumerate()
        .map(|(u, &n)| {
            (0..n)
                .map(|j| format!("item{:03}", (u * 7 + j) % 40))
                .collect()
        })
        .collect();
    SeqData::from_raw("toy", users, seqs, None, 1).unwrap()
}

#[test]
fn leave_last_out_holds_out_last_two_and_counts_short_users() {
    let data = toy(&[1, 2, 3, 6]);
    let split = leave_last_out(&data).unwrap();
    assert_eq!(split.short_users, 2, "users with 1 and 2 interactions");
    assert_eq!(split.valid.len(), 2);
    assert_eq!(split.test.len(), 2);
    let s = &data.seqs[3];
    let test = split.test.iter().find(|h| h.user == 3).unwrap();
    assert_eq!(test.target, s[5]);
    assert_eq!(test.history, s[..5].to_vec());
    let valid = split.valid.iter().find(|h| h.user == 3).unwrap();
    assert_eq!(valid.target, s[4]);
    assert_eq!(valid.history, s[..4].to_vec());
    let train = split.train.iter().find(|e| e.user == 3).unwrap();
    assert_eq!(
        train.items,
        s[..4].to_vec(),
        "training never sees the held-out items"
    );
    // the 2-interaction user trains on its whole sequence; the 1-interaction one has no target
    assert!(split
        .train
        .iter()
        .any(|e| e.user == 1 && e.items == data.seqs[1]));
    assert!(!split.train.iter().any(|e| e.user == 0));
    // a user of 3 interactions is evaluated but has a 1-item training part: no training target
    assert!(!split.train.iter().any(|e| e.user == 2));
    assert!(split.test.iter().any(|h| h.user == 2));
}

#[test]
fn split_of_only_short_users_is_an_error() {
    let err = leave_last_out(&toy(&[1, 2])).unwrap_err().to_string();
    assert!(err.contains("3 or more"), "{err}");
}

#[test]
fn ids_are_not_in_appearance_order() {
    // keys appear in sorted order of their names: an appearance-order (or sorted) numbering
    // would give ids 1, 2, 3, ... along the sequence
    let keys: Vec<String> = (0..200).map(|i| format!("k{i:04}")).collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let ids = shuffled_ids(&refs, 42);
    let along: Vec<u32> = refs.iter().map(|k| ids[k]).collect();
    let mut all = along.clone();
    all.sort_unstable();
    assert_eq!(
        all,
        (1..=200).collect::<Vec<u32>>(),
        "ids are 1..=V, 0 is padding"
    );
    let in_order = along.windows(2).filter(|w| w[1] == w[0] + 1).count();
    assert!(
        in_order < 10,
        "{in_order} of 199 neighbours have consecutive ids"
    );
    // deterministic per seed, different across seeds, independent of appearance order
    assert_eq!(shuffled_ids(&refs, 42), ids);
    assert_ne!(shuffled_ids(&refs, 43), ids);
    let mut reversed = refs.clone();
    reversed.reverse();
    assert_eq!(shuffled_ids(&reversed, 42), ids);
    let data = toy(&[5, 5]);
    assert!(data.seqs.iter().flatten().all(|&i| i != PAD));
}

#[test]
fn full_ranking_counts_ties_against_the_target() {
    let mut r = FullRanking::new(&[1, 5, 10]).unwrap();
    // target 2 ties with items 0 and 4, one item scores higher: rank = 1 + 1 + 2 = 4
    let rank = r.add_scores(2, &[0.5, 0.9, 0.5, 0.1, 0.5, 0.0]).unwrap();
    assert_eq!(rank, 4);
    // a constant scorer gets the worst rank, whatever the target's id
    assert_eq!(r.add_scores(0, &[1.0; 6]).unwrap(), 6);
    r.add_rank(1);
    assert_eq!(r.users(), 3);
    assert!((r.hit_rate(5).unwrap() - 2.0 / 3.0).abs() < 1e-12);
    assert!((r.hit_rate(1).unwrap() - 1.0 / 3.0).abs() < 1e-12);
    let ndcg5 = (1.0 / 5f64.log2() + 0.0 + 1.0) / 3.0;
    assert!((r.ndcg(5).unwrap() - ndcg5).abs() < 1e-12);
    assert!(
        (r.ndcg(10).unwrap() - (1.0 / 5f64.log2() + 1.0 / 7f64.log2() + 1.0) / 3.0).abs() < 1e-12
    );
    assert_eq!(r.hit_rate(3), None, "3 is not a cut-off");
    assert!(r.add_scores(6, &[0.0; 6]).is_err());
    assert!(r.add_scores(0, &[f32::NAN, 0.0]).is_err());
}

#[test]
fn train_batch_targets_every_next_item_and_keeps_the_last_max_len() {
    let data = toy(&[8, 4]);
    let split = leave_last_out(&data).unwrap();
    let ex: Vec<_> = split.train.iter().collect(); // training parts of 6 and 2 items
    let b = SeqBatch::train(&ex, 3);
    assert_eq!((b.b, b.t), (2, 3));
    assert_eq!(b.lens, vec![3, 1]);
    let s0 = &ex[0].items;
    assert_eq!(&b.ids[..3], &s0[2..5], "last 3 inputs");
    assert_eq!(b.ids[4], PAD);
    assert_eq!(b.rows, vec![0, 1, 2, 3]);
    assert_eq!(&b.targets[..3], &s0[3..6]);
    assert_eq!(b.targets[3], ex[1].items[1]);
    let refs: Vec<_> = split.test.iter().collect();
    let e = SeqBatch::eval(&refs, 50);
    assert_eq!(e.rows, vec![6, (e.t + 2) as u32]);
}

/// Users walk a fixed cycle through 12 items; the next item is a function of the last.
fn cycle_data(users: usize, ratings: bool) -> SeqData {
    let mut seqs = Vec::new();
    let mut rs = Vec::new();
    for u in 0..users {
        let n = 6 + u % 5;
        seqs.push((0..n).map(|j| format!("c{:02}", (u + j) % 12)).collect());
        rs.push((0..n).map(|j| ((u + j) % 5 + 1) as f32).collect());
    }
    let users = (0..users).map(|u| format!("u{u}")).collect();
    let mut d = SeqData::from_raw("cycle", users, seqs, ratings.then_some(rs), 3).unwrap();
    d.item_text = d
        .item_keys
        .iter()
        .map(|k| {
            if k == "<pad>" {
                String::new()
            } else {
                format!("word{k} common extra")
            }
        })
        .collect();
    d
}

/// Model inputs without item texts.
fn id_only<'a>(data: &'a SeqData, split: &'a Split) -> SeqInputs<'a> {
    SeqInputs {
        data,
        split,
        text: None,
        text_dim: 0,
    }
}

/// An empty run folder in the temp dir, unique to this test process, and fit options
/// that write there.
fn fresh_run(name: &str) -> (PathBuf, SeqFitOptions) {
    let out = std::env::temp_dir().join(format!("mtrec-seq-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let opts = SeqFitOptions {
        out: Some(out.clone()),
        ..SeqFitOptions::default()
    };
    (out, opts)
}

fn run_config(extra: &str) -> SeqRunConfig {
    let text = format!(
        "[data]\ndataset = \"ml-100k\"\ndir = \"x\"\nmax_len = 8\n[model]\ndim = 16\nblocks = 1\nheads = 2\ndropout = 0.0\n{extra}\n[train]\nepochs = 60\nbatch_size = 16\nlr = 0.01\npatience = 100\n"
    );
    SeqRunConfig::parse(&text, "test config", &[]).unwrap()
}

#[test]
fn tiny_sasrec_overfits_a_cycle() {
    let data = cycle_data(40, false);
    let split = leave_last_out(&data).unwrap();
    let cfg = run_config("");
    let inputs = id_only(&data, &split);
    let fitted = fit(&cfg, &inputs, &SeqFitOptions::default()).unwrap();
    assert!(
        fitted.test.hr5 > 0.99,
        "test HR@5 {} on a deterministic cycle",
        fitted.test.hr5
    );
    assert!(
        fitted.test.ndcg10 > 0.9,
        "test NDCG@10 {}",
        fitted.test.ndcg10
    );
    // an untrained model of the same shape does far worse
    let mut store = ParamStore::new();
    let mcfg = mtrec::train::seq::model_config(&cfg, &data, 0).unwrap();
    let fresh = SasRec::new(&mut store, &mcfg, &mut StdRng::seed_from_u64(5)).unwrap();
    let m = evaluate(&fresh, &store, &mut Graph::new(0), &split.test, None, 64).unwrap();
    assert!(m.ndcg10 < 0.6, "untrained NDCG@10 {}", m.ndcg10);
}

#[test]
fn gradients_reach_every_head_and_the_shared_encoder() {
    let data = cycle_data(12, true);
    let split = leave_last_out(&data).unwrap();
    let cfg =
        run_config("item_input = \"text+id\"\nkeywords = 4\nrating_head = true\nlike_head = true");
    let text: Vec<f32> = (0..(data.num_items + 1) * 5)
        .map(|i| ((i * 37 % 11) as f32 - 5.0) / 5.0)
        .collect();
    let mcfg = mtrec::train::seq::model_config(&cfg, &data, 5).unwrap();
    assert_eq!(mcfg.item_input, ItemInput::TextId);
    let mut store = ParamStore::new();
    let model = SasRec::new(&mut store, &mcfg, &mut StdRng::seed_from_u64(1)).unwrap();
    let kw = Keywords::from_texts(&data.item_text, 4);
    assert_eq!(kw.len(), 4);
    let ex: Vec<_> = split.train.iter().collect();
    let batch = SeqBatch::train(&ex, 8);
    let mut g = Graph::new(0);
    let (total, losses) =
        record_loss(&mut g, &store, &model, &cfg, &batch, Some(&text), Some(&kw)).unwrap();
    assert_eq!(losses.len(), 4, "next item, rating, like, keywords");
    store.zero_grad();
    g.backward(total, &mut store).unwrap();
    for id in store.ids() {
        let info = store.info(id);
        assert_eq!(info.kind, ParamKind::Dense);
        let norm: f32 = store.grad(id).unwrap().iter().map(|x| x * x).sum();
        assert!(norm > 0.0, "no gradient reaches `{}`", info.name);
    }
    // each head's loss alone reaches the shared encoder
    let shared = store.find("block0.wq.w").unwrap();
    for (k, &l) in losses.iter().enumerate() {
        store.zero_grad();
        g.backward(l, &mut store).unwrap();
        let norm: f32 = store.grad(shared).unwrap().iter().map(|x| x * x).sum();
        assert!(norm > 0.0, "loss {k} does not reach the encoder");
    }
    // and one optimiser step changes the loss
    let before = g.scalar(total);
    store.zero_grad();
    g.backward(total, &mut store).unwrap();
    let mut opt = Adam::new(AdamConfig::default()).unwrap();
    opt.step(&mut store, 0.01).unwrap();
    g.reset();
    let (after, _) =
        record_loss(&mut g, &store, &model, &cfg, &batch, Some(&text), Some(&kw)).unwrap();
    assert!(g.scalar(after) < before);
}

#[test]
fn run_folder_holds_model_and_summary() {
    let data = cycle_data(20, true);
    let split = leave_last_out(&data).unwrap();
    let mut cfg = run_config("rating_head = true\nlike_head = true");
    cfg.train.epochs = 2;
    let (out, opts) = fresh_run("run");
    let inputs = id_only(&data, &split);
    let fitted = fit(&cfg, &inputs, &opts).unwrap();
    for f in [
        "config.toml",
        "metrics.jsonl",
        "model.safetensors",
        "summary.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["test"]["users"], 20);
    assert!(fitted.test.rating_rmse.unwrap().is_finite());
    assert!(fitted.test.like_auc.is_some());
    assert!(
        fit(&cfg, &inputs, &opts).is_err(),
        "refuses to overwrite a run"
    );
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn transfer_copies_the_encoder_but_not_the_id_table_or_heads() {
    let data = cycle_data(20, true);
    let split = leave_last_out(&data).unwrap();
    let mut cfg = run_config("rating_head = true");
    cfg.train.epochs = 1;
    let (out, opts) = fresh_run("transfer");
    let inputs = id_only(&data, &split);
    let pre = fit(&cfg, &inputs, &opts).unwrap();
    // a different catalogue: the ID table has another shape and is left as initialised
    let other = toy(&[6, 7, 8]);
    let mut mcfg = mtrec::train::seq::model_config(&cfg, &other, 0).unwrap();
    mcfg.rating_head = true;
    let mut store = ParamStore::new();
    let _model = SasRec::new(&mut store, &mcfg, &mut StdRng::seed_from_u64(9)).unwrap();
    let before_emb = store.value(store.find("item.emb").unwrap()).to_vec();
    let before_head = store.value(store.find("head.rating.0.w").unwrap()).to_vec();
    let copied = mtrec::train::seq::init_from(&mut store, &out.join("model.safetensors")).unwrap();
    assert!(copied.iter().any(|n| n == "block0.wq.w"));
    assert!(!copied
        .iter()
        .any(|n| n.starts_with("item.emb") || n.starts_with("head.")));
    let name = "block0.ffn1.w";
    assert_eq!(
        store.value(store.find(name).unwrap()),
        pre.store.value(pre.store.find(name).unwrap())
    );
    assert_eq!(
        store.value(store.find("item.emb").unwrap()),
        &before_emb[..]
    );
    assert_eq!(
        store.value(store.find("head.rating.0.w").unwrap()),
        &before_head[..]
    );
    // another width cannot take the encoder
    mcfg.dim = 8;
    let mut small = ParamStore::new();
    let _m = SasRec::new(&mut small, &mcfg, &mut StdRng::seed_from_u64(9)).unwrap();
    let err = mtrec::train::seq::init_from(&mut small, &out.join("model.safetensors")).unwrap_err();
    assert!(err.to_string().contains("model.dim"), "{err}");
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn config_overrides_and_errors() {
    let cfg = SeqRunConfig::from_file(
        "configs/beauty_sasrec.toml".as_ref(),
        &["model.item_input=text+id".into(), "train.lr=0.01".into()],
    )
    .unwrap();
    assert_eq!(cfg.model.item_input, "text+id");
    assert!((cfg.train.lr - 0.01).abs() < 1e-9);
    let err = SeqRunConfig::from_file(
        "configs/beauty_sasrec.toml".as_ref(),
        &["model.rating_head=true".into()],
    )
    .unwrap_err();
    assert!(err.to_string().contains("ml-100k"), "{err}");
    let err = SeqRunConfig::from_file(
        "configs/beauty_sasrec.toml".as_ref(),
        &["model.item_input=pictures".into()],
    )
    .unwrap_err();
    assert!(err.to_string().contains("text+id"), "{err}");
}

#[test]
fn every_sasrec_preset_parses() {
    let mut n = 0;
    for entry in std::fs::read_dir("configs").unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().contains("sasrec") {
            if let Err(e) = SeqRunConfig::from_file(&path, &[]) {
                panic!("{}: {e}", path.display());
            }
            n += 1;
        }
    }
    assert!(n >= 2, "found only {n} sasrec presets in configs/");
}

fn data_dir() -> PathBuf {
    let dir = std::env::var_os("MTREC_DATA")
        .map(PathBuf::from)
        .expect("set MTREC_DATA to the shared data folder (../shared/data) to run this test");
    assert!(
        dir.is_dir(),
        "MTREC_DATA = {} is not a folder",
        dir.display()
    );
    dir
}

#[test]
#[ignore = "needs ../shared/data"]
fn beauty_loader_counts_users_items_interactions() {
    let d = load_beauty(&data_dir().join("amazon-beauty"), 42).unwrap();
    assert_eq!(d.seqs.len(), 22_363);
    assert_eq!(d.num_items, 12_101);
    assert_eq!(d.num_interactions(), 198_502);
    assert!(
        d.item_text.iter().skip(1).filter(|t| t.is_empty()).count() < 10,
        "item text joined by ASIN"
    );
    let split = leave_last_out(&d).unwrap();
    assert_eq!(split.short_users, 0, "a 5-core file");
    assert_eq!(split.test.len(), 22_363);
}

#[test]
#[ignore = "needs ../shared/data"]
fn movielens_sequences_are_in_time_order_with_ratings() {
    let dir = data_dir().join("ml-100k");
    let d = load_movielens(&dir, 42).unwrap();
    assert_eq!(
        (d.seqs.len(), d.num_items, d.num_interactions()),
        (943, 1682, 100_000)
    );
    let r = d.ratings.as_ref().unwrap();
    assert!(r.iter().flatten().all(|&x| (1.0..=5.0).contains(&x)));
    // user 1's first interaction by time, from u.data directly
    let text = std::fs::read_to_string(dir.join("u.data")).unwrap();
    let mut rows: Vec<(u64, u64)> = text
        .lines()
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|f| f[0] == "1")
        .map(|f| (f[3].parse().unwrap(), f[1].parse().unwrap()))
        .collect();
    rows.sort_unstable();
    let u = d.users.iter().position(|u| u == "1").unwrap();
    assert_eq!(d.item_keys[d.seqs[u][0] as usize], rows[0].1.to_string());
    assert!(
        !d.item_text[d.seqs[u][0] as usize].is_empty(),
        "titles from u.item"
    );
}

#[test]
fn fine_tuning_keeps_frozen_groups_bit_identical() {
    let data = cycle_data(20, false);
    let split = leave_last_out(&data).unwrap();
    let mut cfg = run_config("");
    cfg.train.epochs = 1;
    let (out, opts) = fresh_run("freeze");
    let inputs = id_only(&data, &split);
    let pre = fit(&cfg, &inputs, &opts).unwrap();
    let mut tune = cfg.clone();
    tune.train.epochs = 2;
    tune.train.init_from = out.join("model.safetensors").display().to_string();
    tune.train.freeze = vec!["block0".into()];
    let tuned = fit(&tune, &inputs, &SeqFitOptions::default()).unwrap();
    let same = |name: &str| {
        tuned.store.value(tuned.store.find(name).unwrap())
            == pre.store.value(pre.store.find(name).unwrap())
    };
    for name in ["block0.wq.w", "block0.ffn1.w", "block0.ln_attn.gamma"] {
        assert!(same(name), "{name} is frozen but changed");
    }
    assert!(
        !same("ln_out.gamma"),
        "an unfrozen, transferred parameter did not train"
    );
    // a group that matches nothing is an error that lists the groups there are
    tune.train.freeze = vec!["experts".into()];
    let err = match fit(&tune, &inputs, &SeqFitOptions::default()) {
        Ok(_) => panic!("freezing an unknown group trained anyway"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("experts") && err.contains("block0"), "{err}");
    std::fs::remove_dir_all(&out).unwrap();
}
