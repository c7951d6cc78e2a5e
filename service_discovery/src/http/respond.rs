//! JSON responses, compact by default and indented with `?pretty=true` as
//! in the original service.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::error::ApiError;

pub fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T, pretty: bool) -> Response {
    let encoded = if pretty {
        serde_json::to_vec_pretty(value).map(|mut body| {
            // Pretty output is for terminals, where a final newline keeps
            // the shell prompt on its own line.
            body.push(b'\n');
            body
        })
    } else {
        serde_json::to_vec(value)
    };
    match encoded {
        Ok(body) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response(),
        // Our types always serialise; this only guards against a future change.
        Err(err) => (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response(),
    }
}

/// `?pretty`, `?pretty=true` or `?pretty=1` asks for indented JSON.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pretty(pub bool);

#[derive(Deserialize)]
struct PrettyQuery {
    pretty: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Pretty {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(query) = Query::<PrettyQuery>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(format!("query string: {}", e.body_text())))?;
        match query.pretty.as_deref() {
            None | Some("false" | "0") => Ok(Pretty(false)),
            Some("" | "true" | "1") => Ok(Pretty(true)),
            Some(other) => Err(ApiError::bad_request(format!(
                "pretty: expected true or false, got {other:?}"
            ))),
        }
    }
}

impl Pretty {
    pub fn ok<T: Serialize + ?Sized>(self, value: &T) -> Response {
        json(StatusCode::OK, value, self.0)
    }
}
