//! The gRPC front end: `sd.DiscoveryService`, `grpc.health.v1.Health` and
//! server reflection on one listener.

use std::future::Future;

use crate::lifecycle::{InFlight, Readiness};
use crate::storage::SharedStorage;

/// Serves gRPC on `listener` until `shutdown` resolves, then lets calls in
/// flight finish before returning.
pub async fn serve(
    storage: SharedStorage,
    readiness: Readiness,
    in_flight: InFlight,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    // Interface placeholder: the real server replaces this body.
    let _ = (storage, readiness, in_flight, listener);
    shutdown.await;
    Ok(())
}
