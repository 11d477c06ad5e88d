//! Hot reload: `SIGHUP` reloads every model from its run folder; the authenticated
//! `POST /v1/admin/reload` reloads one model or all, optionally from a new run folder.
//! Each model's batcher swaps the model between two batches, so no request is dropped
//! (a seq model: each recommender thread before its next request for it, `lists::SeqReloads`);
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
        if let Some(info) = st.seq.get(&name) {
            done.push(reload_seq(st, &name, info, run.clone()).await?);
            continue;
        }
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

/// Reloads the seq model `name` through the recommend hook (which holds it).
async fn reload_seq(
    st: &AppState,
    name: &str,
    info: &std::sync::RwLock<super::seq::SeqInfo>,
    run: Option<PathBuf>,
) -> ApiResult<Value> {
    let folder = run.unwrap_or_else(|| info.read().unwrap_or_else(|p| p.into_inner()).run.clone());
    let Some(hook) = st.recommend.clone() else {
        return Err(ApiError::bad_request(format!(
            "model `{name}`: no recommender serves it, so there is nothing to reload"
        )));
    };
    let (n, f) = (name.to_string(), folder.clone());
    let result = tokio::task::spawn_blocking(move || hook.reload_seq(&n, &f))
        .await
        .map_err(|e| ApiError::internal(format!("reload task failed: {e}")))?;
    match result {
        None => Err(ApiError::bad_request(format!(
            "model `{name}` is a sequence model and its recommender cannot reload it"
        ))),
        Some(Err(reason)) => {
            st.metrics.reloads(false);
            eprintln!("serve: {reason}");
            Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, reason))
        }
        Some(Ok(())) => {
            st.metrics.reloads(true);
            // the folder loaded, so its metadata reads; keep the old one if not
            if let Ok(new) = super::seq::SeqInfo::read(folder.clone()) {
                *info.write().unwrap_or_else(|p| p.into_inner()) = new;
            }
            eprintln!("serve: model `{name}` reloaded from {}", folder.display());
            Ok(json!({ "model": name, "run": folder.display().to_string() }))
        }
    }
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
        None => st.models.keys().chain(st.seq.keys()).cloned().collect(),
    };
    let done = reload(&st, names, req.run).await?;
    Ok(Json(json!({ "reloaded": done })))
}

/// Reloads every model on each SIGHUP, until the server stops.
pub async fn on_sighup(st: AppState, mut hup: tokio::signal::unix::Signal) {
    while hup.recv().await.is_some() {
        eprintln!("serve: SIGHUP: reloading every model");
        let names: Vec<String> = st.models.keys().chain(st.seq.keys()).cloned().collect();
        for name in names {
            // a failure is logged by the batcher and leaves the old model serving
            let _ = reload(&st, vec![name], None).await;
        }
    }
}
