//! The server's error replies: a status code and `{"error": "..."}`, the message naming
//! the field or value at fault and what was expected.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// A handler's result.
pub type ApiResult<T> = Result<T, ApiError>;

/// An error reply. Every handler returns `Result<_, ApiError>`; nothing else reaches
/// the client, so every failure is JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    /// 400: the request itself is wrong.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404: no model (or route) of that name.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// 500: a failure of the server, not of the request.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status.as_u16(), self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.message });
        let mut r = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        r
    }
}

/// A library error met while serving a request: an input error (a value the fitted
/// pipeline cannot use, e.g. an unknown category of a feature with `missing = "error"`)
/// is the client's (400, with the row); anything else is the server's (500).
pub fn from_lib(e: crate::error::Error) -> ApiError {
    match e {
        crate::error::Error::Input {
            line,
            what,
            seen,
            expected,
            ..
        } => ApiError::bad_request(format!(
            "input {what}, row {} (0-based): {seen}; expected {expected}",
            line.saturating_sub(1)
        )),
        other => ApiError::internal(other.to_string()),
    }
}
