//! `mtrec export --onnx` without Python: every architecture of `mtrec train` exports, and
//! the file decodes (with the crate's own protobuf reader) into a well-formed ONNX model:
//! IR and opset, inputs named after the feature columns with their types, one output per
//! task, every node input defined before use, initializer sizes matching their dims.
//! Numerical agreement with `mtrec predict` is checked by reference/onnx/check.py
//! (onnxruntime; run by .ci/run).

use mtrec::export::proto::{fields, packed_varints, Value};
use std::collections::HashSet;
use std::path::Path;
use std::process::Command;

mod events_support;
use events_support::{temp_dir, write_events, CLICK_BUY, EVENTS_INPUT, THREE_TASKS};

const BIN: &str = env!("CARGO_BIN_EXE_mtrec");

fn train(dir: &Path, arch: &str) -> std::path::PathBuf {
    let tasks = if arch == "esmm" || arch == "aitm" {
        CLICK_BUY
    } else {
        THREE_TASKS
    };
    let cfg = format!(
        "{EVENTS_INPUT}{tasks}\n[split]\nkind = \"random\"\nseed = 7\n[model]\narch = \"{arch}\"\nnum_experts = 3\nexpert = [8, 6]\ntower = [4]\n[train]\nlr = 0.01\nbatch_size = 64\nepochs = 1\nseed = 3\n[train.early_stopping]\ntask = \"click\"\nmetric = \"auc\"\n"
    );
    let toml = dir.join(format!("{arch}.toml"));
    std::fs::write(&toml, cfg).unwrap();
    let run = dir.join(format!("run_{arch}"));
    let o = Command::new(BIN)
        .args(["train", "--quiet", "--config"])
        .arg(&toml)
        .arg("--data-dir")
        .arg(dir)
        .arg("--out")
        .arg(&run)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    run
}

fn export(run: &Path, onnx: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(["export", "--run"])
        .arg(run)
        .arg("--onnx")
        .arg(onnx)
        .args(extra)
        .output()
        .unwrap()
}

fn bytes<'a>(v: &Value<'a>) -> &'a [u8] {
    match v {
        Value::Bytes(b) => b,
        other => panic!("expected a length-delimited field, got {other:?}"),
    }
}

fn int(v: &Value) -> u64 {
    match v {
        Value::Varint(x) => *x,
        other => panic!("expected a varint, got {other:?}"),
    }
}

fn text(v: &Value) -> String {
    String::from_utf8(bytes(v).to_vec()).unwrap()
}

/// (name, elem_type, number of dims) of a ValueInfoProto.
type Info = (String, u64, usize);

fn value_info(b: &[u8]) -> Info {
    let f = fields(b).unwrap();
    let name = text(&f.iter().find(|(n, _)| *n == 1).unwrap().1);
    let ty = fields(bytes(&f.iter().find(|(n, _)| *n == 2).unwrap().1)).unwrap();
    let tensor = fields(bytes(&ty[0].1)).unwrap();
    let elem = int(&tensor.iter().find(|(n, _)| *n == 1).unwrap().1);
    let shape = fields(bytes(&tensor.iter().find(|(n, _)| *n == 2).unwrap().1)).unwrap();
    (name, elem, shape.len())
}

/// Decodes a ModelProto and checks its structure; returns (inputs, outputs, op types).
fn decode(path: &Path) -> (Vec<Info>, Vec<Info>, Vec<String>) {
    let buf = std::fs::read(path).unwrap();
    let model = fields(&buf).unwrap();
    let get = |n: u32| model.iter().filter(move |(k, _)| *k == n).map(|(_, v)| v);
    assert_eq!(int(get(1).next().unwrap()), 8, "ir_version");
    let opset = fields(bytes(get(8).next().unwrap())).unwrap();
    assert_eq!(
        int(&opset.iter().find(|(n, _)| *n == 2).unwrap().1),
        13,
        "opset"
    );
    let graph = fields(bytes(get(7).next().unwrap())).unwrap();
    let mut defined: HashSet<String> = HashSet::new();
    let (mut inputs, mut outputs, mut ops) = (Vec::new(), Vec::new(), Vec::new());
    for (n, v) in &graph {
        match n {
            5 => {
                let t = fields(bytes(v)).unwrap();
                let dims: Vec<u64> = t
                    .iter()
                    .filter(|(k, _)| *k == 1)
                    .flat_map(|(_, v)| packed_varints(bytes(v)).unwrap())
                    .collect();
                let elem = int(&t.iter().find(|(k, _)| *k == 2).unwrap().1);
                let raw = bytes(&t.iter().find(|(k, _)| *k == 9).unwrap().1);
                let size = if elem == 1 { 4 } else { 8 };
                assert_eq!(
                    raw.len() as u64,
                    dims.iter().product::<u64>() * size,
                    "initializer size"
                );
                defined.insert(text(&t.iter().find(|(k, _)| *k == 8).unwrap().1));
            }
            11 => {
                let vi = value_info(bytes(v));
                defined.insert(vi.0.clone());
                inputs.push(vi);
            }
            12 => outputs.push(value_info(bytes(v))),
            _ => {}
        }
    }
    // Nodes in order: every input produced earlier (topological), every output new.
    for (n, v) in &graph {
        if *n != 1 {
            continue;
        }
        let node = fields(bytes(v)).unwrap();
        let op = text(&node.iter().find(|(k, _)| *k == 4).unwrap().1);
        for (k, v) in &node {
            if *k == 1 {
                let name = text(v);
                assert!(
                    defined.contains(&name),
                    "{op}: input `{name}` used before it is defined"
                );
            }
        }
        for (k, v) in &node {
            if *k == 2 {
                assert!(defined.insert(text(v)), "{op}: output defined twice");
            }
        }
        ops.push(op);
    }
    for (o, _, _) in &outputs {
        assert!(defined.contains(o), "output `{o}` is never computed");
    }
    (inputs, outputs, ops)
}

#[test]
fn every_architecture_exports_a_well_formed_model() {
    let dir = temp_dir("i19onnx-archs");
    write_events(&dir);
    for arch in [
        "single_task",
        "shared_bottom",
        "omoe",
        "mmoe",
        "cgc",
        "ple",
        "esmm",
        "aitm",
    ] {
        let run = train(&dir, arch);
        let onnx = dir.join(format!("{arch}.onnx"));
        let o = export(&run, &onnx, &[]);
        assert!(
            o.status.success(),
            "{arch}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let (inputs, outputs, ops) = decode(&onnx);
        let ins: Vec<_> = inputs
            .iter()
            .map(|(n, e, r)| (n.as_str(), *e, *r))
            .collect();
        // ids int64 (7), a padded id list (batch, len), numerics float (1) (batch, 1)
        assert_eq!(
            ins,
            [
                ("user", 7, 1),
                ("item", 7, 1),
                ("genres", 7, 2),
                ("price", 1, 2)
            ],
            "{arch}"
        );
        let outs: Vec<_> = outputs.iter().map(|(n, _, _)| n.as_str()).collect();
        let want: &[&str] = if arch == "esmm" || arch == "aitm" {
            &["click", "buy"]
        } else {
            &["click", "buy", "watch"]
        };
        assert_eq!(outs, want, "{arch}");
        assert!(
            ops.iter().filter(|o| *o == "Gemm").count() >= 2 * want.len(),
            "{arch}: {ops:?}"
        );
        // binary tasks end in a sigmoid, the regression task in an identity
        assert_eq!(
            ops.iter().filter(|o| *o == "Identity").count(),
            want.len() - 2,
            "{arch}"
        );
        if arch.ends_with("moe") || arch == "cgc" || arch == "ple" {
            assert!(ops.contains(&"Softmax".to_string()), "{arch}: gates");
        }
        let meta: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("{arch}.inputs.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(meta["inputs"].as_array().unwrap().len(), 4);
        assert_eq!(meta["inputs"][3]["kind"], "numeric");
    }
}

#[test]
fn feed_holds_the_encoded_rows_and_existing_files_need_force() {
    let dir = temp_dir("i19onnx-feed");
    write_events(&dir);
    let run = train(&dir, "mmoe");
    let onnx = dir.join("m.onnx");
    let feed = dir.join("feed.json");
    let rows = dir.join("events.csv");
    let args = [
        "--feed",
        rows.to_str().unwrap(),
        "--feed-out",
        feed.to_str().unwrap(),
    ];
    let o = export(&run, &onnx, &args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let f: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&feed).unwrap()).unwrap();
    assert_eq!(f["user"]["shape"], serde_json::json!([600]));
    assert_eq!(f["price"]["shape"], serde_json::json!([600, 1]));
    let g = &f["genres"];
    assert_eq!(g["shape"][1], 2, "the longest list, a|b, has two ids");
    // an empty list is all padding
    let data = g["data"].as_array().unwrap();
    assert!(data.iter().any(|v| v == -1));
    let again = export(&run, &onnx, &[]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    assert!(export(&run, &onnx, &["--force"]).status.success());
}

#[test]
fn a_folder_that_is_not_a_run_is_refused_with_the_file_it_needs() {
    let dir = temp_dir("i19onnx-norun");
    let o = export(&dir, &dir.join("../i19onnx-x.onnx"), &[]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("config.toml"), "{err}");
}
