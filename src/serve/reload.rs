//! Hot reload: `SIGHUP` reloads every model from its run folder; the authenticated
//! `POST /v1/admin/reload` reloads one model or all, optionally from a new run folder.
//! Each model's batcher swaps the model between two batches, so no request is dropped;
//! a run folder that does not load leaves the old model serving, and the reason is
//! logged (stderr) and returned.

use super::errors::{ApiError, ApiResult};
use super::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::PathBuf;

/// The body of `POST /v1/admin/reload` (empty body: every model from its folder).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReloadRequest {
    /// The model to reload (default: all).
    #[serde(default)]
    pub model: Option<String>,
    /// A new run folder for `model` (default: the folder it was loaded from).
    #[serde(default)]
    pub run: Option<PathBuf>,
}

/// Reloads `names` (`run` = the new folder of a single model). Returns, per model,
/// the folder now serving, or the first failure.
pub async fn reload(
    st: &AppState,
    names: Vec<String>,
    run: Option<PathBuf>,
) -> ApiResult<Vec<Value>> {
    let mut done = Vec::new();
    for name in names {
        let handle = st.model(&name)?.clone();
        let folder = run.clone().unwrap_or_else(|| handle.schema().run.clone());
        let result = tokio::task::spawn_blocking(move || handle.reload_blocking(folder))
            .await
            .map_err(|e| ApiError::internal(format!("reload task failed: {e}")))?;
        match result {
            Ok(schema) => {
                done.push(json!({ "model": name, "run": schema.run.display().to_string() }))
            }
            Err(reason) => return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, reason)),
        }
    }
    Ok(done)
}

/// `POST /v1/admin/reload`.
pub async fn admin_reload(
    State(st): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let body = body.map_err(|e| super::kserve::body_error(e, st.limits.max_body_bytes))?;
    let req: ReloadRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ReloadRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(format!(
                "request body is not a reload request: {e}; expected {{\"model\": NAME, \"run\": FOLDER}} (both optional)"
            ))
        })?
    };
    let names = match &req.model {
        Some(m) => vec![m.clone()],
        None if req.run.is_some() => {
            return Err(ApiError::bad_request(
                "`run` given without `model`; expected the model the new run folder is for",
            ))
        }
        None => st.models.keys().cloned().collect(),
    };
    let done = reload(&st, names, req.run).await?;
    Ok(Json(json!({ "reloaded": done })))
}

/// Reloads every model on each SIGHUP, until the server stops.
pub async fn on_sighup(st: AppState, mut hup: tokio::signal::unix::Signal) {
    while hup.recv().await.is_some() {
        eprintln!("serve: SIGHUP: reloading every model");
        let names: Vec<String> = st.models.keys().cloned().collect();
        for name in names {
            // a failure is logged by the batcher and leaves the old model serving
            let _ = reload(&st, vec![name], None).await;
        }
    }
}
