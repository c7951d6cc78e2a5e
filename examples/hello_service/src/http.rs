//! The HTTP server and its graceful stop.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

use crate::settings::Settings;
use crate::{NAME, VERSION};

/// Whether /ready still answers 200; cleared when a stop signal arrives.
type Ready = Arc<AtomicBool>;

pub async fn serve(settings: Settings) -> Result<(), String> {
    // Handlers are installed before binding: a stop signal that arrives while
    // the server starts must still end in a graceful stop, not a kill.
    let mut terminate =
        signal(SignalKind::terminate()).map_err(|e| format!("cannot handle SIGTERM: {e}"))?;
    let mut interrupt =
        signal(SignalKind::interrupt()).map_err(|e| format!("cannot handle SIGINT: {e}"))?;
    let stop_signal = async move {
        tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        }
    };

    let ready = Ready::new(AtomicBool::new(true));
    let app = Router::new()
        .route("/", get(greeting))
        .route("/healthz", get(|| async { "ok" }))
        .route("/ready", get(readiness))
        .with_state(ready.clone());

    let address = SocketAddr::from((Ipv4Addr::UNSPECIFIED, settings.port));
    let listener = TcpListener::bind(address)
        .await
        .map_err(|e| format!("cannot listen on {address}: {e}"))?;
    eprintln!("{NAME}: listening on {address}");

    axum::serve(listener, app)
        .with_graceful_shutdown(drain(stop_signal, ready, settings.shutdown_delay))
        .await
        .map_err(|e| format!("server failed: {e}"))?;
    eprintln!("{NAME}: stopped");
    Ok(())
}

/// Resolves once the server may stop accepting: after the stop signal and
/// the delay during which it keeps serving but reports itself not ready.
/// Axum then waits for the requests in flight.
async fn drain(stop_signal: impl Future<Output = &'static str>, ready: Ready, delay: Duration) {
    let name = stop_signal.await;
    ready.store(false, Ordering::Relaxed);
    eprintln!(
        "{NAME}: stopping on {name}: /ready answers 503 for {} ms, then in-flight requests finish",
        delay.as_millis()
    );
    tokio::time::sleep(delay).await;
}

async fn readiness(State(ready): State<Ready>) -> (StatusCode, &'static str) {
    if ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "stopping")
    }
}

async fn greeting() -> impl IntoResponse {
    // Package names and versions never contain characters JSON must escape,
    // so formatting by hand is exact and spares a serialisation crate.
    let body = format!(r#"{{"service":"{NAME}","version":"{VERSION}"}}"#);
    ([(header::CONTENT_TYPE, "application/json")], body)
}
