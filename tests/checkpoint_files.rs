//! Checkpoint files (src/checkpoint): bit-exact round trips, clear errors, atomic writes,
//! files that are not f32 safetensors and reserved metadata keys.

mod checkpoint_support;

use checkpoint_support::*;
use mtrec::autograd::ParamStore;
use mtrec::checkpoint::*;
use std::collections::BTreeMap;
use std::fs;

#[test]
fn params_round_trip_bit_exact_with_dense_and_table() {
    let dir = scratch("round_trip");
    let path = dir.join("model.safetensors");
    let saved = awkward_store(f32::NAN);
    let meta: BTreeMap<String, String> = [("model".to_string(), "tiny".to_string())].into();
    save_params(&path, &saved, &meta).unwrap();

    let mut loaded = awkward_store(0.0);
    let got_meta = load_params(&path, &mut loaded).unwrap();
    assert_stores_bit_equal(&saved, &loaded);
    assert_eq!(got_meta["model"], "tiny");
    assert_eq!(got_meta[META_KIND], KIND_PARAMS);

    // On disk: plain parameter names, 2-D shapes, tables as (V, D).
    let ckpt = read_safetensors(&path).unwrap();
    let shapes: Vec<(&str, &[usize])> = ckpt
        .tensors()
        .iter()
        .map(|(k, t)| (k.as_str(), t.shape.as_slice()))
        .collect();
    assert_eq!(
        shapes,
        vec![
            ("emb.user.table", &[7usize, 3][..]),
            ("head.0.w", &[4, 1][..]),
            ("mlp.0.b", &[1, 4][..]),
            ("mlp.0.w", &[3, 4][..]),
        ]
    );
}

#[test]
fn shape_mismatch_names_the_file_and_the_tensor() {
    let dir = scratch("shape");
    let path = dir.join("model.safetensors");
    let mut trained = ParamStore::new();
    trained
        .add_dense("mmoe.gate.0.w", 242, 8, vec![0.5; 242 * 8])
        .unwrap();
    save_params(&path, &trained, &BTreeMap::new()).unwrap();

    let mut model = ParamStore::new();
    let id = model
        .add_dense("mmoe.gate.0.w", 242, 4, vec![1.0; 242 * 4])
        .unwrap();
    let msg = err_text(load_params(&path, &mut model));
    assert!(msg.starts_with(&path.display().to_string()), "{msg}");
    assert!(
        msg.contains("tensor `mmoe.gate.0.w` has shape [242, 8] in the checkpoint but [242, 4] in the model; was it trained with another config?"),
        "{msg}"
    );
    assert!(model.value(id).iter().all(|&v| v == 1.0), "store changed");
}

#[test]
fn missing_and_unexpected_names_are_all_listed_in_one_message() {
    let dir = scratch("names");
    let path = dir.join("model.safetensors");
    let mut trained = ParamStore::new();
    for name in ["a.w", "b.w", "c.w"] {
        trained.add_dense(name, 1, 2, vec![1.0, 2.0]).unwrap();
    }
    save_params(&path, &trained, &BTreeMap::new()).unwrap();

    let mut model = ParamStore::new();
    for name in ["a.w", "d.w", "e.w"] {
        model.add_dense(name, 1, 2, vec![0.0, 0.0]).unwrap();
    }
    let msg = err_text(load_params(&path, &mut model));
    assert!(
        msg.contains("2 missing from the checkpoint: `d.w`, `e.w`"),
        "{msg}"
    );
    assert!(
        msg.contains("2 in the checkpoint but not in the model: `b.w`, `c.w`"),
        "{msg}"
    );
    assert_eq!(model.value(model.find("a.w").unwrap()), &[0.0, 0.0]);
}

#[test]
fn atomic_write_replaces_the_target_and_leaves_no_temp_file() {
    let dir = scratch("atomic");
    let path = dir.join("model.safetensors");
    let old = [1.0f32, 2.0];
    let new = [3.0f32, 4.0, 5.0];
    write_safetensors(
        &path,
        &[TensorOut::new("x", vec![2], &old)],
        &BTreeMap::new(),
    )
    .unwrap();
    write_safetensors(
        &path,
        &[TensorOut::new("x", vec![3], &new)],
        &BTreeMap::new(),
    )
    .unwrap();
    assert_eq!(read_safetensors(&path).unwrap().get("x").unwrap().data, new);
    assert_eq!(temp_files(&dir), Vec::<String>::new());

    // A write that fails before any byte is written keeps the old file whole.
    let bad = [TensorOut::new("x", vec![2, 2], &old)];
    let msg = err_text(write_safetensors(&path, &bad, &BTreeMap::new()));
    assert!(
        msg.contains("tensor `x` has shape [2, 2] (4 values) but 2 values were given"),
        "{msg}"
    );
    assert_eq!(read_safetensors(&path).unwrap().get("x").unwrap().data, new);

    // A write that fails at the rename (the target is a non-empty folder) removes its
    // temporary file and leaves the target as it was.
    let blocked = dir.join("blocked.safetensors");
    fs::create_dir_all(blocked.join("inside")).unwrap();
    let msg = err_text(write_safetensors(
        &blocked,
        &[TensorOut::new("x", vec![2], &old)],
        &BTreeMap::new(),
    ));
    assert!(
        msg.contains("cannot replace it with the new checkpoint"),
        "{msg}"
    );
    assert!(blocked.join("inside").is_dir());
    assert_eq!(temp_files(&dir), Vec::<String>::new());

    // The missing folder of a new checkpoint is created.
    let nested = dir.join("run/a/model.safetensors");
    write_safetensors(
        &nested,
        &[TensorOut::new("x", vec![2], &old)],
        &BTreeMap::new(),
    )
    .unwrap();
    assert_eq!(
        read_safetensors(&nested).unwrap().get("x").unwrap().data,
        old
    );
}

#[test]
fn files_that_are_not_f32_safetensors_are_rejected_with_the_reason() {
    let dir = scratch("bad_files");
    let garbage = dir.join("garbage.safetensors");
    fs::write(&garbage, b"certainly not a safetensors file").unwrap();
    let msg = err_text(read_safetensors(&garbage));
    assert!(
        msg.contains("is not a safetensors file or is cut off"),
        "{msg}"
    );
    assert!(msg.contains("garbage.safetensors"), "{msg}");

    // Truncated: a valid file with its last bytes cut off.
    let good = dir.join("good.safetensors");
    save_params(&good, &awkward_store(1.5), &BTreeMap::new()).unwrap();
    let bytes = fs::read(&good).unwrap();
    let cut = dir.join("cut.safetensors");
    fs::write(&cut, &bytes[..bytes.len() - 5]).unwrap();
    assert!(err_text(read_safetensors(&cut)).contains("is not a safetensors file or is cut off"));

    // F64 tensor, written with the safetensors crate directly.
    let f64_path = dir.join("f64.safetensors");
    let data: Vec<u8> = [1.0f64, 2.0].iter().flat_map(|x| x.to_le_bytes()).collect();
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::F64, vec![1, 2], &data).unwrap();
    safetensors::serialize_to_file([("mlp.0.w", view)], &None, &f64_path).unwrap();
    let msg = err_text(read_safetensors(&f64_path));
    assert!(
        msg.contains("tensor `mlp.0.w` has dtype F64; mtrec reads F32 only"),
        "{msg}"
    );

    let missing = dir.join("nope.safetensors");
    assert!(err_text(read_safetensors(&missing)).contains("the checkpoint does not exist"));
}

#[test]
fn reserved_metadata_keys_are_refused() {
    let dir = scratch("reserved");
    let meta: BTreeMap<String, String> = [("mtrec.kind".to_string(), "x".to_string())].into();
    let msg = err_text(save_params(
        dir.join("m.safetensors"),
        &awkward_store(1.0),
        &meta,
    ));
    assert!(
        msg.contains("metadata key `mtrec.kind` is reserved"),
        "{msg}"
    );
}
