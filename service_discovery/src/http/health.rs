//! Liveness and readiness, for Docker's `HEALTHCHECK`, Kubernetes probes
//! and load balancers.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::HttpState;
use super::respond;

/// The process answers: nothing else is checked, so a slow store never
/// gets a live instance restarted.
pub async fn healthz() -> Response {
    respond::json(StatusCode::OK, &json!({ "status": "alive" }), false)
}

/// 503 as soon as shutdown begins, and while the store is unreachable.
/// Built directly rather than as an [`ApiError`](super::ApiError): a 503
/// here is an expected answer, not worth a warning per probe.
pub async fn ready(State(state): State<HttpState>) -> Response {
    match state.readiness.check().await {
        Ok(()) => respond::json(StatusCode::OK, &json!({ "status": "ready" }), false),
        Err(why) => {
            let body = json!({ "error": format!("not ready: {why}") });
            respond::json(StatusCode::SERVICE_UNAVAILABLE, &body, false)
        }
    }
}
