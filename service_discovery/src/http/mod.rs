//! The HTTP front end (axum): the original service's JSON API plus
//! `/healthz` and `/ready`. Handlers only translate between HTTP and the
//! [`Storage`](crate::storage::Storage) trait; validation lives in
//! [`crate::model`], status codes in [`error`].

mod debug;
mod endpoints;
pub mod error;
mod health;
mod json_body;
mod path;
mod request_log;
mod respond;
mod services;

use std::future::Future;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, put};

use crate::lifecycle::{InFlight, Readiness};
use crate::storage::SharedStorage;

pub use error::ApiError;

/// Largest request body accepted. The biggest legitimate body, a service
/// with its attributes and ports, is a few kilobytes.
pub const BODY_LIMIT: usize = 64 * 1024;

#[derive(Clone)]
pub struct HttpState {
    pub storage: SharedStorage,
    pub readiness: Readiness,
}

pub struct RouterOptions {
    pub debug_routes: bool,
}

pub fn router(state: HttpState, in_flight: &InFlight, options: RouterOptions) -> Router {
    let mut router = Router::new()
        .route("/services", get(services::list))
        .route("/service", put(services::create))
        .route("/service/{name}", get(services::get))
        .route("/service/{name}/ports", put(services::add_ports))
        .route("/service/{name}/port", put(services::add_ports))
        .route("/service/{name}/register", put(endpoints::register))
        .route("/service/{name}/endpoints", get(endpoints::list))
        .route("/healthz", get(health::healthz))
        .route("/ready", get(health::ready));
    if options.debug_routes {
        router = router.route("/debug/sleep", get(debug::sleep));
    }
    router
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(request_log::log_request))
        .layer(in_flight.layer())
        .with_state(state)
}

/// Serves until `stop_accepting` resolves, then lets requests in flight
/// finish; returns once every connection is closed.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    stop_accepting: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(stop_accepting)
        .await
}

async fn unknown_route(req: Request) -> Response {
    let message = format!("no route for {} {}", req.method(), req.uri().path());
    axum::response::IntoResponse::into_response(ApiError::new(StatusCode::NOT_FOUND, message))
}

async fn wrong_method(req: Request) -> Response {
    let message = format!(
        "method {} is not allowed on {}",
        req.method(),
        req.uri().path()
    );
    axum::response::IntoResponse::into_response(ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        message,
    ))
}
