//! Issue #19 §4, text features in the ONNX export of `mtrec train` runs, without Python:
//! a run with a text feature (trained in-process with a deterministic test encoder) exports
//! (it was refused before); the text is a float input named after its text column,
//! `(batch, D_t)`, after the id and numeric inputs; the graph, run by the test
//! interpreter, gives the model's outputs for given ids and text vectors, for the linear
//! and the MoE (UniSRec) adaptor; `inputs.json` says that the caller embeds the text.

use mtrec::autograd::Graph;
use mtrec::config::TaskType;
use mtrec::data::features::{fnv1a64, splitmix64, TextEmbedder, TextSpec};
use mtrec::export::onnx::{Dim, Elem};
use mtrec::nn::batch::EncodedBatch;
use mtrec::train::run::{train_with, RunOptions};
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};

mod s7onnx_support;
use s7onnx_support::{run, T};

const D_TEXT: usize = 12;

/// Word-hashing vectors: deterministic, no model files.
struct TestEncoder;

impl TextEmbedder for TestEncoder {
    fn key(&self) -> String {
        "s7onnx-test-encoder".into()
    }

    fn embed(&self, texts: &[String]) -> mtrec::Result<(usize, Vec<f32>)> {
        let mut out = Vec::with_capacity(texts.len() * D_TEXT);
        for t in texts {
            let mut v = vec![0f32; D_TEXT];
            for w in t.split_whitespace() {
                let mut s = fnv1a64(w.as_bytes());
                for x in v.iter_mut() {
                    s = splitmix64(s);
                    *x += (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
                }
            }
            out.extend(v);
        }
        Ok((D_TEXT, out))
    }
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mtrec-s7onnx-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write_data(dir: &Path) {
    let words = ["space", "love", "war", "robot"];
    let mut s = String::from("user,item,title,price,click,rating\n");
    let mut x = 7u64;
    for _ in 0..400 {
        x = splitmix64(x);
        let (u, it) = (x % 12, (x >> 8) % 20);
        let w = words[(it % 4) as usize];
        let price = ((x >> 20) % 100) as f64 / 10.0;
        let click = u64::from(it % 4 < 2);
        s.push_str(&format!(
            "{u},{it},a {w} film {it},{price},{click},{}\n",
            1.0 + (it % 5) as f64
        ));
    }
    std::fs::write(dir.join("rows.csv"), s).unwrap();
}

fn train(dir: &Path, adaptor: &str) -> PathBuf {
    let cfg = format!(
        "[data]\nfiles = [\"rows.csv\"]\nheader = true\n\
[[features]]\nname = \"user\"\nkind = \"categorical\"\ndim = 3\n\
[[features]]\nname = \"item\"\nkind = \"categorical\"\ndim = 4\n\
[features.text]\ncolumn = \"title\"\nmode = \"text+id\"\nencoder = \"test\"\nadaptor = \"{adaptor}\"\nexperts = 2\ndim = 5\n\
[[features]]\nname = \"price\"\nkind = \"numeric\"\n\
[[tasks]]\nname = \"click\"\ntype = \"binary\"\ncolumn = \"click\"\n\
[[tasks]]\nname = \"rating\"\ntype = \"regression\"\ncolumn = \"rating\"\n\
[split]\nkind = \"random\"\nseed = 3\n\
[model]\narch = \"mmoe\"\nnum_experts = 2\nexpert = [6]\ntower = [3]\nactivation = \"gelu\"\n\
[train]\nlr = 0.02\nbatch_size = 64\nepochs = 2\nseed = 1\n\
[train.early_stopping]\ntask = \"click\"\nmetric = \"auc\"\n"
    );
    let path = dir.join(format!("{adaptor}.toml"));
    std::fs::write(&path, cfg).unwrap();
    let provider =
        |_: &TextSpec| -> mtrec::Result<Box<dyn TextEmbedder>> { Ok(Box::new(TestEncoder)) };
    let out = dir.join(format!("run-{adaptor}"));
    let opts = RunOptions {
        config: path,
        models_dir: None,
        data_dir: dir.to_path_buf(),
        out: out.clone(),
        overrides: vec![],
        resume: false,
        overwrite: false,
        allow_config_change: false,
        progress: false,
        stop_after: None,
        device: Default::default(),
    };
    train_with(&opts, &provider).unwrap();
    out
}

fn check(adaptor: &str) {
    let dir = temp_dir(&format!("text-{adaptor}"));
    write_data(&dir);
    let run_dir = train(&dir, adaptor);
    let loaded = mtrec::export::load_run(&run_dir).unwrap();
    let og = mtrec::export::build_graph(&loaded).unwrap();
    let ins: Vec<(&str, Elem, &[Dim])> = og
        .inputs
        .iter()
        .map(|v| (v.name.as_str(), v.elem, v.dims.as_slice()))
        .collect();
    let batch = || Dim::Named("batch".into());
    assert_eq!(
        ins,
        [
            ("user", Elem::I64, &[batch()][..]),
            ("item", Elem::I64, &[batch()][..]),
            ("price", Elem::F32, &[batch(), Dim::Fixed(1)][..]),
            (
                "title",
                Elem::F32,
                &[batch(), Dim::Fixed(D_TEXT as i64)][..]
            ),
        ]
    );
    // random ids (0 = unseen), prices and text vectors through the graph and the model
    let b = 7;
    let mut rng = StdRng::seed_from_u64(2);
    let users: Vec<u32> = (0..b).map(|_| rng.gen_range(0..13)).collect();
    let items: Vec<u32> = (0..b).map(|_| rng.gen_range(0..21)).collect();
    let price: Vec<f32> = (0..b).map(|_| rng.gen_range(-2.0..2.0)).collect();
    let text: Vec<f32> = (0..b * D_TEXT).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let f = |v: &[u32]| v.iter().map(|&x| x as f64).collect::<Vec<_>>();
    let out = run(
        &og,
        &[
            ("user", T::new(vec![b], f(&users))),
            ("item", T::new(vec![b], f(&items))),
            (
                "price",
                T::new(vec![b, 1], price.iter().map(|&x| x as f64).collect()),
            ),
            (
                "title",
                T::new(vec![b, D_TEXT], text.iter().map(|&x| x as f64).collect()),
            ),
        ],
    );
    let enc = EncodedBatch {
        rows: b,
        n_num: 1,
        cat: vec![users, items],
        num: price,
        bags: vec![],
        labels: vec![],
        mask: vec![],
        text: vec![text],
    };
    let mut g = Graph::new(0);
    g.set_training(false);
    let x = loaded.input.forward(&mut g, &loaded.store, &enc).unwrap();
    let zs = loaded.model.forward(&mut g, &loaded.store, x).unwrap();
    for (t, z) in loaded.cfg.tasks.iter().zip(zs) {
        let got = &out[&t.name].data;
        for (r, &zv) in g.value(z).iter().enumerate() {
            let want = match t.kind {
                TaskType::Binary => 1.0 / (1.0 + (-zv as f64).exp()),
                TaskType::Regression => zv as f64,
            };
            assert!(
                (got[r] - want).abs() <= 1e-5 * (1.0 + want.abs()),
                "{adaptor} {} row {r}: onnx {} vs mtrec {want}",
                t.name,
                got[r]
            );
        }
    }
    let meta = mtrec::export::inputs_json(&loaded.spec, &loaded.cfg.tasks).unwrap();
    let title = &meta["inputs"][3];
    assert_eq!(title["name"], "title");
    assert_eq!(title["kind"], "text");
    assert_eq!(title["shape"][1], D_TEXT);
    assert!(title["encoding"]
        .as_str()
        .unwrap()
        .contains("the caller embeds the text"));
}

#[test]
fn s7onnx_text_feature_run_with_linear_adaptor_exports_and_scores_like_the_model() {
    check("linear");
}

#[test]
fn s7onnx_text_feature_run_with_moe_adaptor_exports_and_scores_like_the_model() {
    check("moe");
}
