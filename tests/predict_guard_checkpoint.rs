//! Issue #13, items 11, 12 (train state) and 15 (checkpoint side): a checkpoint that
//! holds NaN/inf, a flipped bit, a cut or foreign file, a folder or a FIFO, and a
//! training state with impossible counters are each refused with a sentence naming the
//! file, never loaded into a model that then scores NaN.

use mtrec::autograd::ParamStore;
use mtrec::checkpoint::*;
use mtrec::optim::{Sgd, SgdConfig};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mtrec-pg-ckpt-{}-{test}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn err_text<T: std::fmt::Debug>(r: mtrec::Result<T>) -> String {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.to_string(),
    }
}

fn store_with(values: Vec<f32>) -> ParamStore {
    let mut s = ParamStore::new();
    s.add_dense("mlp.0.w", 2, 3, values).unwrap();
    s.add_table(
        "emb.user.table",
        4,
        2,
        (0..8).map(|i| i as f32 * 0.5).collect(),
    )
    .unwrap();
    s
}

fn good_store() -> ParamStore {
    store_with(vec![0.1, -0.2, 0.3, 0.25, 1.5, -3.0])
}

#[test]
fn a_model_file_holding_nan_or_inf_is_refused_naming_file_and_tensor() {
    let dir = scratch("nan");
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let path = dir.join("model.safetensors");
        let mut v = vec![0.1, -0.2, 0.3, 0.25, 1.5, -3.0];
        v[4] = bad;
        save_params(&path, &store_with(v), &BTreeMap::new()).unwrap();
        let mut into = good_store();
        let msg = err_text(load_params(&path, &mut into));
        assert!(msg.contains("the checkpoint holds NaN/inf"), "{msg}");
        assert!(msg.contains("`mlp.0.w`"), "{msg}");
        assert!(msg.contains("model.safetensors"), "{msg}");
        // the store is unchanged
        assert_eq!(into.value(into.ids().next().unwrap())[4], 1.5);
    }
}

#[test]
fn every_file_carries_a_checksum_and_a_flipped_bit_is_an_error() {
    let dir = scratch("flip");
    let path = dir.join("model.safetensors");
    save_params(&path, &good_store(), &BTreeMap::new()).unwrap();
    let ckpt = read_safetensors(&path).unwrap();
    let sum = &ckpt.metadata()["mtrec.checksum"];
    assert_eq!(sum.len(), 16, "{sum}");
    // The lowest mantissa bit of the last value: still a finite number, so only the
    // checksum can tell.
    let mut bytes = fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n - 4] ^= 1;
    fs::write(&path, &bytes).unwrap();
    let mut into = good_store();
    let msg = err_text(load_params(&path, &mut into));
    assert!(msg.contains("model.safetensors"), "{msg}");
    assert!(msg.contains("checksum"), "{msg}");
    assert!(msg.contains("damaged"), "{msg}");
}

#[test]
fn a_file_without_the_checksum_key_still_loads() {
    let dir = scratch("old");
    let path = dir.join("model.safetensors");
    save_params(&path, &good_store(), &BTreeMap::new()).unwrap();
    // Rewrite it without `mtrec.checksum`, as an older mtrec wrote it.
    let ckpt = read_safetensors(&path).unwrap();
    let mut meta = ckpt.metadata().clone();
    meta.remove("mtrec.checksum");
    let tensors: Vec<(String, Vec<usize>, Vec<u8>)> = ckpt
        .tensors()
        .iter()
        .map(|(k, t)| {
            let b = t.data.iter().flat_map(|x| x.to_le_bytes()).collect();
            (k.clone(), t.shape.clone(), b)
        })
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
        .iter()
        .map(|(k, s, b)| {
            let v = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                .unwrap();
            (k.clone(), v)
        })
        .collect();
    let meta: std::collections::HashMap<String, String> = meta.into_iter().collect();
    safetensors::serialize_to_file(views, &Some(meta), &path).unwrap();
    let mut into = store_with(vec![0.0; 6]);
    load_params(&path, &mut into).unwrap();
    assert_eq!(into.value(into.ids().next().unwrap())[5], -3.0);
}

#[test]
fn cut_and_foreign_files_get_a_sentence_not_an_error_code() {
    let dir = scratch("cut");
    let path = dir.join("model.safetensors");
    save_params(&path, &good_store(), &BTreeMap::new()).unwrap();
    let bytes = fs::read(&path).unwrap();
    for (what, content) in [
        ("cut in the data", bytes[..bytes.len() - 3].to_vec()),
        ("cut in the header", bytes[..20].to_vec()),
        ("shorter than 8 bytes", bytes[..5].to_vec()),
        ("text", b"user,item,click\n1,2,0\n".to_vec()),
        ("empty", Vec::new()),
    ] {
        fs::write(&path, &content).unwrap();
        let msg = err_text(read_safetensors(&path));
        assert!(
            msg.contains("the file is not a safetensors file or is cut off"),
            "{what}: {msg}"
        );
        for code in [
            "HeaderTooLarge",
            "HeaderTooSmall",
            "InvalidHeaderDeserialization",
            "MetadataIncompleteBuffer",
            "InvalidHeaderLength",
        ] {
            assert!(!msg.contains(code), "{what}: {msg}");
        }
    }
}

#[test]
fn missing_folder_and_fifo_paths_are_refused_without_opening() {
    let dir = scratch("kinds");
    let mut into = good_store();
    let msg = err_text(load_params(dir.join("nope.safetensors"), &mut into));
    assert!(msg.contains("does not exist"), "{msg}");
    let msg = err_text(load_params(&dir, &mut into));
    assert!(msg.contains("is a folder"), "{msg}");
    let fifo = dir.join("fifo.safetensors");
    let ok = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "mkfifo is needed for this test");
    // Opening a FIFO without a writer blocks; the check must come first.
    let (tx, rx) = std::sync::mpsc::channel();
    let f2 = fifo.clone();
    std::thread::spawn(move || {
        let mut s = good_store();
        let _ = tx.send(
            load_params(&f2, &mut s)
                .map(|_| ())
                .map_err(|e| e.to_string()),
        );
    });
    let got = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("loading a FIFO hung");
    let msg = got.unwrap_err();
    assert!(msg.contains("not a regular file"), "{msg}");
}

fn save_state(path: &Path, state: &TrainState, store: &ParamStore) {
    let opt = Sgd::new(SgdConfig::default()).unwrap();
    save_train_state(path, store, &opt, state, None).unwrap();
}

fn load_state(path: &Path) -> mtrec::Result<Resumed> {
    let mut store = good_store();
    let mut opt = Sgd::new(SgdConfig::default()).unwrap();
    load_train_state(path, &mut store, &mut opt)
}

#[test]
fn a_training_state_with_impossible_counters_is_refused() {
    let dir = scratch("counters");
    let path = state_path(&dir);
    let ok = TrainState {
        epoch: 3,
        global_step: 30,
        best_metric: Some(0.7),
        best_epoch: Some(2),
        epochs_without_improvement: 0,
        ..Default::default()
    };
    save_state(&path, &ok, &good_store());
    assert_eq!(load_state(&path).unwrap().state, ok);
    let cases = [
        (
            "epoch",
            TrainState {
                epoch: usize::MAX,
                ..ok.clone()
            },
        ),
        (
            "best_epoch",
            TrainState {
                best_epoch: Some(3),
                ..ok.clone()
            },
        ),
        (
            "epochs_without_improvement",
            TrainState {
                epochs_without_improvement: 4,
                ..ok.clone()
            },
        ),
        (
            "best_metric",
            TrainState {
                best_metric: Some(f64::NAN),
                ..ok.clone()
            },
        ),
        (
            "best_metric",
            TrainState {
                best_epoch: None,
                ..ok.clone()
            },
        ),
    ];
    for (key, st) in cases {
        save_state(&path, &st, &good_store());
        let msg = err_text(load_state(&path));
        assert!(msg.contains(&format!("`{key}`")), "{key}: {msg}");
        assert!(msg.contains("state.safetensors"), "{key}: {msg}");
    }
    // against the config: more epochs done than train.epochs
    let msg = err_text(ok.check_epochs(&path, 2));
    assert!(msg.contains("train.epochs is 2"), "{msg}");
    ok.check_epochs(&path, 3).unwrap();
}

#[test]
fn a_training_state_holding_nan_is_refused() {
    let dir = scratch("state_nan");
    let path = state_path(&dir);
    let st = TrainState {
        epoch: 1,
        global_step: 1,
        ..Default::default()
    };
    save_state(
        &path,
        &st,
        &store_with(vec![0.0, 1.0, f32::NAN, 0.0, 0.0, 0.0]),
    );
    let msg = err_text(load_state(&path));
    assert!(msg.contains("the checkpoint holds NaN/inf"), "{msg}");
    assert!(msg.contains("`param/mlp.0.w`"), "{msg}");
}
