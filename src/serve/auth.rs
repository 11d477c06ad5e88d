//! Bearer-token authentication: `Authorization: Bearer <token>`, the token compared in
//! constant time (the loop runs over the expected token's bytes whatever was sent, so
//! the reply time does not tell how many leading bytes were right).

use super::errors::ApiError;
use crate::error::{Error, Result};
use axum::http::{HeaderMap, StatusCode};
use std::path::Path;

/// The token in `path` (surrounding whitespace removed). An empty file is refused:
/// it would accept `Authorization: Bearer ` from anyone.
pub fn read_token(path: &Path) -> Result<Vec<u8>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        message: format!("{e}; expected a file holding the bearer token clients must send"),
    })?;
    let token = text.trim();
    if token.len() < 16 {
        return Err(Error::Config {
            what: format!("--token-file {}", path.display()),
            message: format!(
                "holds a token of {} characters; expected at least 16, e.g. `openssl rand -hex 32 > {}`",
                token.len(),
                path.display()
            ),
        });
    }
    Ok(token.as_bytes().to_vec())
}

/// `a == b` in time that depends only on `expected.len()`.
pub fn constant_time_eq(sent: &[u8], expected: &[u8]) -> bool {
    let mut diff = sent.len() ^ expected.len();
    for (i, &e) in expected.iter().enumerate() {
        let s = sent.get(i).copied().unwrap_or(0);
        diff |= std::hint::black_box((s ^ e) as usize);
    }
    diff == 0
}

/// Ok when the headers carry the right bearer token; else 401 saying what is missing.
pub fn check(headers: &HeaderMap, expected: &[u8]) -> std::result::Result<(), ApiError> {
    let unauthorized = |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, m);
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| {
            unauthorized("missing header `Authorization`; expected `Authorization: Bearer <token>`")
        })?;
    let sent = value
        .as_bytes()
        .strip_prefix(b"Bearer ")
        .ok_or_else(|| unauthorized("header `Authorization` is not `Bearer <token>`"))?;
    if constant_time_eq(sent, expected) {
        Ok(())
    } else {
        Err(unauthorized("wrong bearer token"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"abcdefgh", b"abcdefgh"));
        assert!(!constant_time_eq(b"abcdefgX", b"abcdefgh"));
        assert!(!constant_time_eq(b"abcdefg", b"abcdefgh"));
        assert!(!constant_time_eq(b"abcdefghi", b"abcdefgh"));
        assert!(!constant_time_eq(b"", b"abcdefgh"));
        // trailing NULs must not pass for the missing bytes
        assert!(!constant_time_eq(b"ab", b"ab\0"));
    }
}
