//! `POST /v1/models/{name}/recommend`: the hook through which a recommender (the
//! `mtrec recommend` machinery) answers over HTTP. Until one is plugged in with
//! [`super::ServeOptions::recommend`], the route answers 501 with a JSON error.

use super::errors::{ApiError, ApiResult};
use super::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::Value;

/// Answers recommendation requests for the models of a server. Called off the async
/// runtime (`spawn_blocking`), so it may run the model directly.
pub trait RecommendHook: Send + Sync + 'static {
    /// The reply to `request` (the JSON body) for the model called `model`; an
    /// [`ApiError`] (e.g. 400 naming the bad field, 404 for an unknown model) otherwise.
    fn recommend(&self, model: &str, request: Value) -> ApiResult<Value>;
}

/// `POST /v1/models/{name}/recommend`.
pub async fn recommend(
    State(st): State<AppState>,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let body = body.map_err(|e| super::kserve::body_error(e, st.limits.max_body_bytes))?;
    let Some(hook) = st.recommend.clone() else {
        return Err(ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "recommendations are not served by this build yet; use `POST /v2/models/{name}/infer` to score rows",
        ));
    };
    let request: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("request body is not JSON: {e}")))?;
    let reply = tokio::task::spawn_blocking(move || hook.recommend(&name, request))
        .await
        .map_err(|e| ApiError::internal(format!("the recommender failed: {e}")))??;
    Ok(Json(reply))
}
