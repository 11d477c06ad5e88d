//! The Open Inference Protocol (KServe v2, REST/JSON) as Triton and KServe clients
//! speak it: health, model metadata and inference.
//!
//! ```text
//! POST /v2/models/{name}/infer
//! {"inputs": [{"name": "user", "shape": [2], "datatype": "BYTES", "data": ["3", "7"]},
//!             {"name": "price", "shape": [2], "datatype": "FP32", "data": [4.5, null]}]}
//! → {"model_name": ..., "outputs": [{"name": "click", "shape": [2], "datatype": "FP32",
//!                                    "data": [0.41, 0.07]}, ...]}
//! ```
//!
//! One input per feature (categorical and multi-hot: `BYTES`, numeric: `FP32`), shape
//! `[N]` or `[N, 1]`; one output per task (probability for binary tasks, value for
//! regression tasks), the numbers `mtrec predict` writes.

use super::errors::{ApiError, ApiResult};
use super::model::{Column, InputKind, Schema};
use super::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;

#[derive(Debug, Deserialize)]
pub struct InferRequest {
    #[serde(default)]
    pub id: Option<String>,
    pub inputs: Vec<InferInput>,
    #[serde(default)]
    pub outputs: Option<Vec<RequestedOutput>>,
}

#[derive(Debug, Deserialize)]
pub struct InferInput {
    pub name: String,
    pub shape: Vec<i64>,
    pub datatype: String,
    pub data: Value,
}

#[derive(Debug, Deserialize)]
pub struct RequestedOutput {
    pub name: String,
}

/// `GET /v2`: server metadata.
pub async fn server_metadata() -> Json<Value> {
    Json(json!({
        "name": "mtrec",
        "version": env!("CARGO_PKG_VERSION"),
        "extensions": [],
    }))
}

/// `GET /v2/health/live` and `/v2/health/ready`: the server answers, and every model is
/// loaded (models load before the port opens).
pub async fn health() -> Json<Value> {
    Json(json!({ "live": true, "ready": true }))
}

/// `GET /v2/models/{name}/ready`.
pub async fn model_ready(
    State(st): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    if !st.seq.contains_key(&name) {
        st.model(&name)?;
    }
    Ok(Json(json!({ "name": name, "ready": true })))
}

/// `GET /v2/models/{name}`: inputs (the feature columns and their datatypes) and
/// outputs (the tasks).
pub async fn model_metadata(
    State(st): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    if let Some(info) = st.seq.get(&name) {
        let info = info.read().unwrap_or_else(|p| p.into_inner());
        return Ok(Json(info.metadata(&name)));
    }
    let schema = st.model(&name)?.schema();
    let inputs: Vec<Value> = schema
        .inputs
        .iter()
        .map(|(n, k)| {
            let mut input = json!({ "name": n, "datatype": k.datatype(), "shape": [-1] });
            if let Some(p) = k.parameters() {
                input["parameters"] = p; // a text input: embedded by the model's encoder
            }
            input
        })
        .collect();
    let outputs: Vec<Value> = schema
        .tasks
        .iter()
        .map(|(n, _)| json!({ "name": n, "datatype": "FP32", "shape": [-1] }))
        .collect();
    Ok(Json(json!({
        "name": schema.name,
        "versions": [],
        "platform": "mtrec",
        "inputs": inputs,
        "outputs": outputs,
        "parameters": { "run": schema.run.display().to_string() },
    })))
}

/// A request body's rejection (over `--max-body-bytes`: 413) as a JSON error.
pub fn body_error(e: BytesRejection, limit: usize) -> ApiError {
    let status = e.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            status,
            format!("request body is larger than {limit} bytes (--max-body-bytes); send fewer rows per request"),
        )
    } else {
        ApiError::new(
            status,
            format!("request body could not be read: {}", e.body_text()),
        )
    }
}

/// `POST /v2/models/{name}/infer`.
pub async fn infer(
    State(st): State<AppState>,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let body = body.map_err(|e| body_error(e, st.limits.max_body_bytes))?;
    let handle = st.model(&name)?;
    let req: InferRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "request body is not an inference request: {e}; expected {{\"inputs\": [{{\"name\": ..., \"shape\": [N], \"datatype\": ..., \"data\": [...]}}]}}"
        ))
    })?;
    let schema = handle.schema();
    let wanted = requested_outputs(&schema, req.outputs.as_deref())?;
    let (columns, n) = check_inputs(&schema, req.inputs, st.limits.max_rows)?;
    let table = schema.table(columns, n)?;
    let _active = handle.enter();
    let scores = match handle.try_inline(&table, &st.metrics) {
        Some(scores) => scores?,
        None => handle
            .submit(table)?
            .await
            .map_err(|_| ApiError::internal("the model's batcher stopped before answering"))??,
    };
    let outputs: Vec<InferOutput> = scores
        .schema
        .tasks
        .iter()
        .zip(&scores.out)
        .filter(|((task, _), _)| wanted.as_ref().is_none_or(|w| w.contains(task)))
        .map(|((task, _), o)| InferOutput {
            name: task,
            shape: [o.len()],
            datatype: "FP32",
            data: o,
        })
        .collect();
    let reply = InferResponse {
        model_name: &scores.schema.name,
        id: req.id,
        outputs,
    };
    Ok(Json(reply).into_response())
}

/// One output of an inference reply. Serialised from `f32` directly, so each score
/// is written in its shortest round-trip form (`0.48690367`, not the f64 widening).
#[derive(Serialize)]
struct InferOutput<'a> {
    name: &'a str,
    shape: [usize; 1],
    datatype: &'static str,
    data: &'a [f32],
}

#[derive(Serialize)]
struct InferResponse<'a> {
    model_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    outputs: Vec<InferOutput<'a>>,
}

fn requested_outputs(
    schema: &Schema,
    outputs: Option<&[RequestedOutput]>,
) -> ApiResult<Option<Vec<String>>> {
    let Some(outputs) = outputs else {
        return Ok(None);
    };
    let mut wanted = Vec::new();
    for o in outputs {
        if !schema.tasks.iter().any(|(t, _)| *t == o.name) {
            return Err(ApiError::bad_request(format!(
                "unknown output `{}`; expected one of the model's tasks: {}",
                o.name,
                task_list(schema)
            )));
        }
        wanted.push(o.name.clone());
    }
    Ok(Some(wanted))
}

fn task_list(schema: &Schema) -> String {
    let t: Vec<&str> = schema.tasks.iter().map(|(t, _)| t.as_str()).collect();
    t.join(", ")
}

fn input_list(schema: &Schema) -> String {
    let t: Vec<String> = schema
        .inputs
        .iter()
        .map(|(n, k)| format!("{n} ({})", k.datatype()))
        .collect();
    t.join(", ")
}

/// Checks the inputs against the model's features: every feature once, no other name,
/// one shape `[N]` (or `[N, 1]`) with 1 ≤ N ≤ `max_rows`, N values of the right type.
/// Returns the columns as texts (what the fitted pipeline reads) and N.
pub fn check_inputs(
    schema: &Schema,
    inputs: Vec<InferInput>,
    max_rows: usize,
) -> ApiResult<(HashMap<String, Column>, usize)> {
    let bad = ApiError::bad_request;
    if inputs.is_empty() {
        return Err(bad(format!(
            "`inputs` is empty; expected one input per feature: {}",
            input_list(schema)
        )));
    }
    let mut columns: HashMap<String, Column> = HashMap::new();
    let mut rows: Option<(usize, String)> = None;
    for input in inputs {
        let name = input.name.clone();
        let Some((_, kind)) = schema.inputs.iter().find(|(n, _)| *n == name) else {
            return Err(bad(format!(
                "unknown input `{name}`; expected the model's features: {} (GET /v2/models/{} lists them)",
                input_list(schema),
                schema.name
            )));
        };
        if columns.contains_key(&name) {
            return Err(bad(format!(
                "input `{name}` is given twice; expected it once"
            )));
        }
        let n = check_shape(&name, &input.shape, max_rows)?;
        match &rows {
            Some((m, first)) if *m != n => {
                return Err(bad(format!(
                    "input `{name}` has {n} rows; expected {m} like input `{first}` (every input holds one value per row)"
                )))
            }
            None => rows = Some((n, name.clone())),
            _ => {}
        }
        let mut data = Vec::with_capacity(n);
        flatten(input.data, &mut data);
        if data.len() != n {
            return Err(bad(format!(
                "input `{name}` has {} values in `data`; expected {n} (its shape {:?})",
                data.len(),
                input.shape
            )));
        }
        let col = values(&name, kind, &input.datatype, data)?;
        columns.insert(name, col);
    }
    let missing: Vec<String> = schema
        .inputs
        .iter()
        .filter(|(n, _)| !columns.contains_key(n))
        .map(|(n, k)| format!("{n} ({})", k.datatype()))
        .collect();
    if !missing.is_empty() {
        return Err(bad(format!(
            "missing input(s): {}; every feature of the model is required",
            missing.join(", ")
        )));
    }
    let n = rows.map_or(0, |(n, _)| n);
    Ok((columns, n))
}

fn check_shape(name: &str, shape: &[i64], max_rows: usize) -> ApiResult<usize> {
    let bad = ApiError::bad_request;
    let ok = matches!(shape, [_] | [_, 1]);
    if !ok {
        return Err(bad(format!(
            "input `{name}` has shape {shape:?}; expected [N] or [N, 1], one value per row"
        )));
    }
    let n = shape[0];
    if n <= 0 {
        return Err(bad(format!(
            "input `{name}` has shape {shape:?}: an empty batch; expected at least 1 row"
        )));
    }
    if n as u64 > max_rows as u64 {
        return Err(bad(format!(
            "input `{name}` has {n} rows; expected at most {max_rows} rows per request (--max-rows): split the batch"
        )));
    }
    Ok(n as usize)
}

/// Row-major flattening of nested arrays (`[[1], [2]]` for shape `[2, 1]`).
fn flatten(v: Value, out: &mut Vec<Value>) {
    match v {
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Array(_) => flatten(item, out),
                    other => out.push(other),
                }
            }
        }
        other => out.push(other),
    }
}

fn describe(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

/// The values of one input as texts (`None` = missing, from a JSON `null`).
fn values(name: &str, kind: &InputKind, datatype: &str, data: Vec<Value>) -> ApiResult<Column> {
    let bad = ApiError::bad_request;
    let numeric = matches!(datatype, "FP32" | "FP64" | "INT32" | "INT64");
    let accepted = match kind {
        InputKind::Numeric => numeric,
        _ => matches!(datatype, "BYTES" | "INT32" | "INT64"),
    };
    if !accepted {
        let what = match kind {
            InputKind::Numeric => "FP32 (a numeric feature; FP64, INT32 and INT64 are read too)",
            InputKind::Categorical => "BYTES (a categorical feature: one string per row; INT32 and INT64 ids are read too)",
            InputKind::MultiHot { .. } => "BYTES (a multi-hot feature: one string of items per row)",
            InputKind::Text { .. } => "BYTES (a text feature: one string per row, embedded by the model's encoder)",
        };
        return Err(bad(format!(
            "input `{name}` has datatype `{datatype}`; expected {what}"
        )));
    }
    let integer = matches!(datatype, "INT32" | "INT64");
    data.into_iter()
        .enumerate()
        .map(|(i, v)| match (&v, kind) {
            (Value::Null, _) => Ok(None),
            (Value::String(s), k) if datatype == "BYTES" && *k != InputKind::Numeric => Ok(Some(s.clone())),
            (Value::Number(x), _) if numeric => {
                if integer && !(x.is_i64() || x.is_u64()) {
                    return Err(bad(format!(
                        "input `{name}`, data[{i}] is {x}; expected an integer ({datatype})"
                    )));
                }
                match kind {
                    InputKind::Numeric => {
                        let f = x.as_f64().map(|f| f as f32).filter(|f| f.is_finite());
                        let f = f.ok_or_else(|| {
                            bad(format!(
                                "input `{name}`, data[{i}] is {x}; expected a finite number within the range of FP32"
                            ))
                        })?;
                        Ok(Some(f.to_string()))
                    }
                    _ => Ok(Some(x.to_string())),
                }
            }
            _ => {
                let expected = if datatype == "BYTES" {
                    "a string (BYTES) or null".to_string()
                } else if integer {
                    format!("an integer ({datatype}) or null")
                } else {
                    format!("a finite number ({datatype}) or null; JSON has no NaN")
                };
                Err(bad(format!(
                    "input `{name}`, data[{i}] is {}; expected {expected}",
                    describe(&v)
                )))
            }
        })
        .collect()
}
