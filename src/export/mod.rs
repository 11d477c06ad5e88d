//! ONNX export of a `mtrec train` run folder (`mtrec export --run R --onnx model.onnx`).
//!
//! The model's forward pass is recorded once in evaluation mode on the autograd tape and
//! each tape op is lowered to ONNX nodes ([`lower`]); the feature layer is written
//! directly ([`input`]). The protobuf is encoded by hand ([`proto`], [`onnx`]): no
//! code generation, no dependency.
//!
//! Inputs are the **encoded** features, one per feature column (ids as int64 after the
//! run's vocabulary, numerics as float after the run's scaling); `<model>.inputs.json`
//! says how to encode each one. Outputs are one per task, named after it, `(B, 1)`:
//! probabilities for binary tasks, values for regression, as `mtrec predict` writes.
//! A text feature is a float input `(B, D_t)` named after its text column: the text
//! embedded by the run's sentence encoder (the encoder is not part of the graph; the
//! learned adaptor is).
//!
//! `mtrec seq` runs (SASRec) are exported by [`seq`]: the history window in, scores over
//! the catalogue out.

pub mod input;
pub mod lower;
pub mod onnx;
pub mod prior;
pub mod proto;
pub mod seq;

use crate::autograd::{Graph, ParamStore};
use crate::config::{RunConfig, TaskConfig, TaskType};
use crate::data::features::{Encoded, FeatureSpec};
use crate::error::{Error, Result};
use crate::models::MultiTaskModel;
use crate::nn::FeatureInput;
use crate::ops::embed_linear::EmbedLinearMode;
use onnx::{Dim, Elem, OnnxGraph, ValueInfo};
use std::path::Path;

/// A run folder's model, loaded as `mtrec predict` loads it.
pub struct LoadedRun {
    pub cfg: RunConfig,
    pub spec: FeatureSpec,
    pub store: ParamStore,
    pub input: FeatureInput,
    pub model: Box<dyn MultiTaskModel>,
}

fn io(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Reads `config.toml`, `spec.json` and `model.safetensors` of a `mtrec train` run.
pub fn load_run(run: &Path) -> Result<LoadedRun> {
    if crate::recommend::seq::is_seq_run(run)? {
        return Err(Error::Config {
            what: "mtrec export --run".into(),
            message: format!(
                "{} is a `mtrec seq` run (SASRec): export it with `seq::load_seq_run` (what `mtrec export` does for it)",
                run.display()
            ),
        });
    }
    let cfg = RunConfig::from_file(run.join("config.toml"), &[])?;
    let spec_path = run.join("spec.json");
    let text = std::fs::read_to_string(&spec_path).map_err(|e| io(&spec_path, e))?;
    let spec = FeatureSpec::from_json_str(&text)?;
    let mut store = ParamStore::new();
    let mut rng =
        <ndarray_rand::rand::rngs::StdRng as ndarray_rand::rand::SeedableRng>::seed_from_u64(
            cfg.train.seed,
        );
    let input = FeatureInput::new(&mut store, "input", &spec, &mut rng)?;
    let model = crate::train::run::build::build_model(
        &cfg.model,
        input.d_in(),
        &cfg.tasks,
        &mut store,
        &mut rng,
    )?;
    let _ = crate::train::run::build::build_balancer(&cfg.train, &cfg.tasks, &mut store)?;
    crate::checkpoint::load_params(run.join("model.safetensors"), &mut store)?;
    Ok(LoadedRun {
        cfg,
        spec,
        store,
        input,
        model,
    })
}

/// The ONNX graph of a loaded run: feature inputs → one output per task.
pub fn build_graph(run: &LoadedRun) -> Result<OnnxGraph> {
    let mut og = OnnxGraph::new(&format!("mtrec_{}", run.model.name()));
    og.doc = format!(
        "mtrec {} model; inputs are encoded features (see <model>.inputs.json), outputs one per task",
        run.model.name()
    );
    let x_name = input::feature_layer(&mut og, &run.spec, &run.input, &run.store)?;
    // Record one evaluation-mode forward pass on a dummy batch of two rows.
    let mut g = Graph::new(0);
    g.set_training(false);
    g.set_embed_linear(EmbedLinearMode::Off);
    let d_in = run.input.d_in();
    let x = g.input_slice(2, d_in, &vec![0.0; 2 * d_in])?; // (B, D_in)
    let outs = run.model.forward(&mut g, &run.store, x)?; // K × (B, 1)
    let names = lower::lower_tape(&g, &run.store, x, &x_name, &outs, &mut og)?;
    for (t, z) in run.cfg.tasks.iter().zip(&names) {
        let op = match t.kind {
            TaskType::Binary => "Sigmoid",
            TaskType::Regression => "Identity",
        };
        og.op_named(op, &[z], vec![], &t.name);
        og.outputs.push(ValueInfo {
            name: t.name.clone(),
            elem: Elem::F32,
            dims: vec![Dim::Named("batch".into()), Dim::Fixed(1)],
        });
    }
    Ok(og)
}

/// `<model>.inputs.json`: each graph input, its type and how to encode it, and each
/// output.
pub fn inputs_json(spec: &FeatureSpec, tasks: &[TaskConfig]) -> Result<serde_json::Value> {
    use serde_json::json;
    let to = |v: serde_json::Result<serde_json::Value>| {
        v.map_err(|e| Error::Config {
            what: "inputs.json".into(),
            message: format!("cannot be written ({e}); please report this"),
        })
    };
    let mut inputs = Vec::new();
    for c in &spec.categorical {
        inputs.push(json!({
            "name": c.name, "kind": "categorical", "dtype": "int64", "shape": ["batch"],
            "encoding": "id of the value in `spec` (vocabulary: 1 + its index; hashed: 1 + bucket); 0 = missing or not in the vocabulary",
            "spec": to(serde_json::to_value(c))?,
        }));
    }
    for b in &spec.multi_hot {
        inputs.push(json!({
            "name": b.name, "kind": "multi_hot", "dtype": "int64", "shape": ["batch", format!("{}_len", b.name)],
            "encoding": "ids as for a categorical feature, one per list element, rows padded with -1; the model takes their mean embedding",
            "spec": to(serde_json::to_value(b))?,
        }));
    }
    for n in &spec.numeric {
        inputs.push(json!({
            "name": n.name, "kind": "numeric", "dtype": "float32", "shape": ["batch", 1],
            "encoding": "the value after the run's scaling (`spec`: missing values take `fill`; then `scale` with `center` and `spread`, as data::features::numeric)",
            "spec": to(serde_json::to_value(n))?,
        }));
    }
    for t in &spec.text {
        inputs.push(json!({
            "name": input::text_input_name(spec, &t.name), "kind": "text", "dtype": "float32", "shape": ["batch", t.d_text],
            "encoding": format!("the row's `{}` text (trimmed) embedded by the run's sentence encoder `{}` (mean-pooled, L2-normalised MiniLM vectors, as mtrec predict computes them); the caller embeds the text", t.column, t.encoder),
            "spec": to(serde_json::to_value(t))?,
        }));
    }
    let outputs: Vec<_> = tasks
        .iter()
        .map(|t| {
            json!({
                "name": t.name, "dtype": "float32", "shape": ["batch", 1],
                "value": match t.kind { TaskType::Binary => "probability", TaskType::Regression => "value" },
            })
        })
        .collect();
    Ok(json!({ "format": "mtrec onnx export 1", "inputs": inputs, "outputs": outputs }))
}

/// Encoded rows as a feed for the exported graph: `{name: {dtype, shape, data}}`.
pub fn feed_json(spec: &FeatureSpec, enc: &Encoded) -> serde_json::Value {
    use serde_json::json;
    let n = enc.len();
    let mut feed = serde_json::Map::new();
    let fc = spec.categorical.len();
    for (f, c) in spec.categorical.iter().enumerate() {
        let data: Vec<i64> = (0..n).map(|r| i64::from(enc.cat[r * fc + f])).collect();
        feed.insert(
            c.name.clone(),
            json!({"dtype": "int64", "shape": [n], "data": data}),
        );
    }
    for (b, bags) in spec.multi_hot.iter().zip(&enc.bags) {
        let len = (0..n)
            .map(|r| (bags.offsets[r + 1] - bags.offsets[r]) as usize)
            .max()
            .unwrap_or(0)
            .max(1);
        let mut data = vec![-1i64; n * len];
        for r in 0..n {
            let ids = &bags.ids[bags.offsets[r] as usize..bags.offsets[r + 1] as usize];
            for (j, &id) in ids.iter().enumerate() {
                data[r * len + j] = i64::from(id);
            }
        }
        feed.insert(
            b.name.clone(),
            json!({"dtype": "int64", "shape": [n, len], "data": data}),
        );
    }
    let fnum = spec.numeric.len();
    for (f, s) in spec.numeric.iter().enumerate() {
        let data: Vec<f32> = (0..n).map(|r| enc.num[r * fnum + f]).collect();
        feed.insert(
            s.name.clone(),
            json!({"dtype": "float32", "shape": [n, 1], "data": data}),
        );
    }
    for (t, rows) in spec.text.iter().zip(&enc.text) {
        let data: Vec<f32> = rows
            .ids
            .iter()
            .flat_map(|&i| {
                rows.table[i as usize * rows.dim..(i as usize + 1) * rows.dim]
                    .iter()
                    .copied()
            })
            .collect();
        feed.insert(
            input::text_input_name(spec, &t.name),
            json!({"dtype": "float32", "shape": [n, rows.dim], "data": data}),
        );
    }
    serde_json::Value::Object(feed)
}
