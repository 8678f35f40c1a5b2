//! Every error the API answers, as JSON: `{"error": "..."}` with the status that fits.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::store::StoreError;

/// An error response: a status and a message a client can act on.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong, and what to do.
    pub message: String,
}

impl ApiError {
    /// An error with this status and message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    /// 400: the request itself is wrong.
    pub fn bad(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404, for a path or a switched-off endpoint.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.message });
        (self.status, Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        let status = match &e {
            StoreError::IssueNotFound(_) | StoreError::RunNotFound(_) => StatusCode::NOT_FOUND,
            StoreError::Transition(_) => StatusCode::CONFLICT,
            StoreError::Invalid(_) | StoreError::BadQuery { .. } => StatusCode::BAD_REQUEST,
            StoreError::Locked { .. } => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.to_string())
    }
}

/// A request body the global limit refused, a body that is not the JSON asked for: each its
/// own status, and always JSON.
impl From<axum::extract::rejection::BytesRejection> for ApiError {
    fn from(e: axum::extract::rejection::BytesRejection) -> ApiError {
        let status = e.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            format!(
                "the request body is larger than {} bytes (nothing was changed)",
                super::BODY_LIMIT
            )
        } else {
            e.body_text()
        };
        ApiError::new(status, message)
    }
}

/// The JSON body of a request, read into `T`: malformed JSON, a missing field, a wrong type
/// and an unknown field are all 400 (the types refuse unknown fields).
pub fn json_body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad(format!(
            "the body is not the JSON expected: {e} (nothing was changed)"
        ))
    })
}
