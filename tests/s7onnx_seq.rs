//! Issue #19 §4, the SASRec scorer of `mtrec seq` as ONNX, without Python: the exported
//! graph, run by the test interpreter (`s7onnx_support`, the ONNX operator semantics in
//! f64), gives the scores of `SasRec` itself for every catalogue item (next item, rating,
//! like, keywords), with ID and text+id item inputs, empty, short, full and over-long
//! histories; a real `mtrec seq` run exports through the CLI, the file decodes to the
//! same graph, its `item.emb` is the checkpoint's, `inputs.json` carries the run's item
//! ids, and the decoded file scores like `mtrec predict`.

use mtrec::autograd::{Graph, ParamStore};
use mtrec::data::sequences::{Holdout, SeqBatch};
use mtrec::export::onnx::{Data, Dim, Elem, OnnxGraph};
use mtrec::export::seq::seq_graph;
use mtrec::models::sasrec::{ItemInput, SasRec, SasRecConfig};
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::process::Command;

mod s7onnx_support;
use s7onnx_support::seq_run::{self, ok, temp_dir};
use s7onnx_support::{decode_model, run, T};

const BIN: &str = env!("CARGO_BIN_EXE_mtrec");

fn config(item_input: ItemInput) -> SasRecConfig {
    SasRecConfig {
        num_items: 9,
        max_len: 5,
        dim: 8,
        blocks: 2,
        heads: 2,
        dropout: 0.3, // never applied in evaluation mode
        item_input,
        text_dim: 6,
        keywords: 4,
        rating_head: true,
        like_head: true,
    }
}

/// A SASRec with every parameter drawn (layer norms too, which start at 1 and 0).
fn model(cfg: &SasRecConfig, seed: u64) -> (SasRec, ParamStore, Option<Vec<f32>>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut store = ParamStore::new();
    let m = SasRec::new(&mut store, cfg, &mut rng).unwrap();
    let ids: Vec<_> = store.ids().collect();
    for id in ids {
        for v in store.value_mut(id) {
            *v += rng.gen_range(-0.3..0.3);
        }
    }
    let text = cfg.item_input.uses_text().then(|| {
        let mut t: Vec<f32> = (0..(cfg.num_items + 1) * cfg.text_dim)
            .map(|_| rng.gen_range(-1.0..1.0))
            .collect();
        t[..cfg.text_dim].fill(0.0); // padding row
        t
    });
    (m, store, text)
}

/// mtrec's scores of `history` for every item 1..=V: (next-item logits, ratings,
/// like probabilities, keyword probabilities).
fn mtrec_scores(
    m: &SasRec,
    store: &ParamStore,
    text: Option<&[f32]>,
    history: &[u32],
) -> [Vec<f64>; 4] {
    let v = m.cfg.num_items;
    let holdouts: Vec<Holdout> = (1..=v as u32)
        .map(|target| Holdout {
            user: 0,
            history: history.to_vec(),
            target,
            rating: None,
        })
        .collect();
    let refs: Vec<&Holdout> = holdouts.iter().collect();
    let batch = SeqBatch::eval(&refs, m.cfg.max_len);
    let mut g = Graph::new(0);
    g.set_training(false);
    let h = m.forward(&mut g, store, &batch.input(), text).unwrap();
    let logits = m.next_item_logits(&mut g, h).unwrap(); // (V, V), all rows equal
    let rating = m.rating(&mut g, store, h, &batch.targets).unwrap().unwrap(); // (V, 1)
    let like = m.like(&mut g, store, h, &batch.targets).unwrap().unwrap(); // (V, 1)
    let kw = m.keywords(&mut g, store, h).unwrap().unwrap(); // (V, K)
    let f = |x: &[f32]| x.iter().map(|&v| v as f64).collect::<Vec<_>>();
    let sig = |x: &[f32]| x.iter().map(|&z| 1.0 / (1.0 + (-z as f64).exp())).collect();
    [
        f(&g.value(logits)[..v]),
        f(g.value(rating)),
        sig(g.value(like)),
        sig(&g.value(kw)[..m.cfg.keywords]),
    ]
}

/// The `history` input: the last max_len ids, right-padded with 0.
fn feed(histories: &[Vec<u32>], max_len: usize) -> T {
    let mut data = vec![0.0; histories.len() * max_len];
    for (b, h) in histories.iter().enumerate() {
        let w = &h[h.len().saturating_sub(max_len)..];
        for (t, &id) in w.iter().enumerate() {
            data[b * max_len + t] = id as f64;
        }
    }
    T::new(vec![histories.len(), max_len], data)
}

fn close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (j, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(
            (a - b).abs() <= 2e-5 * (1.0 + b.abs()),
            "{what}[{j}]: onnx {a} vs mtrec {b}"
        );
    }
}

fn check_graph_equals_model(item_input: ItemInput) {
    let cfg = config(item_input);
    let (m, store, text) = model(&cfg, 11);
    let mut g = Graph::new(0);
    let items = m.items(&mut g, &store, text.as_deref()).unwrap();
    let og = seq_graph(&cfg, &store, g.value(items)).unwrap();
    let histories: Vec<Vec<u32>> = vec![
        vec![],                       // reads only padding
        vec![3],                      // one item
        vec![5, 2, 7],                // shorter than max_len
        vec![1, 2, 3, 4, 5],          // exactly max_len
        vec![9, 8, 7, 6, 5, 4, 3, 2], // longer: its last max_len items
        vec![4, 4, 4],                // repeats
    ];
    let out = run(&og, &[("history", feed(&histories, cfg.max_len))]);
    let v = cfg.num_items;
    for (b, h) in histories.iter().enumerate() {
        let want = mtrec_scores(&m, &store, text.as_deref(), h);
        let row = |name: &str, w: usize| out[name].data[b * w..(b + 1) * w].to_vec();
        close(&format!("{h:?} next_item"), &row("next_item", v), &want[0]);
        close(&format!("{h:?} rating"), &row("rating", v), &want[1]);
        close(&format!("{h:?} like"), &row("like", v), &want[2]);
        let k = cfg.keywords;
        close(&format!("{h:?} keywords"), &row("keywords", k), &want[3]);
    }
    // one input, four outputs, scores over the catalogue
    assert_eq!(og.inputs.len(), 1);
    assert_eq!(og.inputs[0].name, "history");
    assert_eq!(og.inputs[0].elem, Elem::I64);
    assert_eq!(og.inputs[0].dims[1], Dim::Fixed(cfg.max_len as i64));
    let outs: Vec<(&str, &Dim)> = og
        .outputs
        .iter()
        .map(|o| (o.name.as_str(), &o.dims[1]))
        .collect();
    assert_eq!(
        outs,
        [
            ("next_item", &Dim::Fixed(9)),
            ("rating", &Dim::Fixed(9)),
            ("like", &Dim::Fixed(9)),
            ("keywords", &Dim::Fixed(4))
        ]
    );
}

#[test]
fn s7onnx_sasrec_graph_scores_like_the_model_with_id_items() {
    check_graph_equals_model(ItemInput::Id);
}

#[test]
fn s7onnx_sasrec_graph_scores_like_the_model_with_text_and_id_items() {
    check_graph_equals_model(ItemInput::TextId);
    check_graph_equals_model(ItemInput::Text);
}

#[test]
fn s7onnx_sasrec_graph_constants_are_the_parameters() {
    let cfg = config(ItemInput::Id);
    let (m, store, _) = model(&cfg, 4);
    let mut g = Graph::new(0);
    let items = m.items(&mut g, &store, None).unwrap();
    let og = seq_graph(&cfg, &store, g.value(items)).unwrap();
    let mut params = 0;
    for t in &og.initializers {
        let Some(id) = store.find(&t.name) else {
            continue; // axes, shapes, the causal mask, scalars
        };
        params += 1;
        let info = store.info(id);
        assert_eq!(t.dims, [info.rows as i64, info.cols as i64], "{}", t.name);
        assert_eq!(t.data, Data::F32(store.value(id).to_vec()), "{}", t.name);
    }
    // every parameter once (item.text is not in an ID model)
    assert_eq!(params, store.len(), "every parameter is a constant");
    let mask = og
        .initializers
        .iter()
        .find(|t| t.name == "causal_mask")
        .unwrap();
    let Data::F32(c) = &mask.data else { panic!() };
    for i in 0..cfg.max_len {
        for j in 0..cfg.max_len {
            assert_eq!(c[i * cfg.max_len + j] == 0.0, j <= i, "({i}, {j})");
        }
    }
    // a wrong item matrix is refused with its sizes
    let err = seq_graph(&cfg, &store, &[0.0; 3]).unwrap_err().to_string();
    assert!(err.contains("(10, 8)"), "{err}");
}

// ---- a real `mtrec seq` run through the CLI ----

fn sequences() -> Vec<(String, Vec<String>)> {
    seq_run::sequences(3)
}

fn seq_run(dir: &Path) -> PathBuf {
    seq_run::seq_run(
        dir,
        &sequences(),
        "max_len = 4\n[model]\ndim = 8\nblocks = 1\nheads = 2\ndropout = 0.0\n[train]\nepochs = 2\nbatch_size = 16\nlr = 0.01\npatience = 0\nseed = 3\n",
    )
}

#[test]
fn s7onnx_seq_run_exports_and_the_file_scores_like_mtrec_predict() {
    let dir = temp_dir("s7onnx", "cli");
    let run = seq_run(&dir);
    let onnx = dir.join("sasrec.onnx");
    ok(Command::new(BIN)
        .args(["export", "--run"])
        .arg(&run)
        .arg("--onnx")
        .arg(&onnx)
        .output()
        .unwrap());
    let og: OnnxGraph = decode_model(&std::fs::read(&onnx).unwrap());
    assert_eq!(og.inputs.len(), 1);
    assert_eq!(
        (og.inputs[0].name.as_str(), og.inputs[0].elem),
        ("history", Elem::I64)
    );
    assert_eq!(
        og.inputs[0].dims,
        [Dim::Named("batch".into()), Dim::Fixed(4)]
    );
    let outs: Vec<&str> = og.outputs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(outs, ["next_item"], "no heads in this run");
    // the item table is the checkpoint's
    let ckpt = mtrec::checkpoint::read_safetensors(&run.join("model.safetensors")).unwrap();
    let emb = og
        .initializers
        .iter()
        .find(|t| t.name == "item.emb")
        .unwrap();
    let want = ckpt.get("item.emb").unwrap();
    assert_eq!(emb.dims, [want.shape[0] as i64, want.shape[1] as i64]);
    assert_eq!(emb.data, Data::F32(want.data.clone()));
    // inputs.json: the model ids are the indices of ids.json's items
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("sasrec.inputs.json")).unwrap())
            .unwrap();
    let ids: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("ids.json")).unwrap()).unwrap();
    assert_eq!(meta["items"], ids["items"]);
    let items: Vec<String> = meta["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let index = |k: &str| items.iter().position(|i| i == k).unwrap() as u32;

    // the test users' histories through the decoded file and through mtrec predict
    let seqs = sequences();
    let hist: Vec<Vec<String>> = seqs
        .iter()
        .map(|(_, s)| s[..s.len() - 1].to_vec())
        .collect();
    let model_ids: Vec<Vec<u32>> = hist
        .iter()
        .map(|h| h.iter().map(|k| index(k)).collect())
        .collect();
    let out = run_graph(&og, &model_ids, 4);
    let scored = seq_run::predict_pairs(&run, &dir, &hist, &items);
    let v = items.len() - 1;
    let mut n = 0;
    for (r, line) in scored.lines().skip(1).enumerate() {
        let logit: f64 = line.split(',').nth(3).unwrap().parse().unwrap();
        let (b, j) = (r / v, r % v);
        let got = out.data[b * v + j];
        assert!(
            (got - logit).abs() <= 2e-5,
            "user {b} item {}: onnx {got} vs predict {logit}",
            items[j + 1]
        );
        n += 1;
    }
    assert_eq!(n, seqs.len() * v);

    // --feed is for mtrec train runs
    let o = Command::new(BIN)
        .args(["export", "--force", "--run"])
        .arg(&run)
        .arg("--onnx")
        .arg(&onnx)
        .arg("--feed")
        .arg(dir.join("pairs.csv"))
        .arg("--feed-out")
        .arg(dir.join("feed.json"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("history"));
}

fn run_graph(og: &OnnxGraph, histories: &[Vec<u32>], max_len: usize) -> T {
    run(og, &[("history", feed(histories, max_len))])["next_item"].clone()
}
