//! Every error the HTTP API returns is JSON, `{"error": "..."}`, with a
//! message that names what to fix and a status chosen as follows:
//!
//! | status | when |
//! |---|---|
//! | 400 | malformed JSON, an invalid service name in the path, a bad query parameter |
//! | 404 | unknown service, unknown route |
//! | 405 | known route, wrong method |
//! | 409 | the service already exists |
//! | 413 | the body is over [`super::BODY_LIMIT`] |
//! | 415 | a body that is declared as something other than JSON |
//! | 422 | well-formed JSON with a missing, unknown or wrongly typed field, or an invalid value (IP, port, name) |
//! | 503 | the store cannot be reached, or `/ready` while shutting down |

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::model::ValidationError;
use crate::storage::StorageError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }
}

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        let status = match &err {
            StorageError::NotFound(_) => StatusCode::NOT_FOUND,
            StorageError::AlreadyExists(_) => StatusCode::CONFLICT,
            StorageError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        Self::new(status, err.to_string())
    }
}

impl From<ValidationError> for ApiError {
    fn from(err: ValidationError) -> Self {
        Self::unprocessable(err.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::warn!(status = self.status.as_u16(), error = %self.message, "request failed");
        }
        let body = serde_json::json!({ "error": self.message });
        super::respond::json(self.status, &body, false)
    }
}
