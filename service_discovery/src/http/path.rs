//! The `{name}` segment of `/service/{name}/...`, validated on the way in.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;

use super::error::ApiError;
use crate::model::ServiceName;

pub struct ServicePath(pub ServiceName);

impl<S: Send + Sync> FromRequestParts<S> for ServicePath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| {
                ApiError::bad_request(format!("service name in path: {}", e.body_text()))
            })?;
        ServiceName::parse(&raw)
            .map(ServicePath)
            .map_err(|e| ApiError::bad_request(format!("service name in path: {}", e.reason)))
    }
}
