//! The gRPC front end: `sd.DiscoveryService`, `grpc.health.v1.Health` and
//! server reflection (v1) on one listener.

mod convert;
mod discovery;
mod health;
pub mod proto;
mod status;

use std::future::Future;

use anyhow::Context as _;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;

use self::discovery::Discovery;
use self::proto::discovery_service_server::DiscoveryServiceServer;
use crate::lifecycle::{InFlight, Readiness};
use crate::storage::SharedStorage;

/// Serves gRPC on `listener` until `shutdown` resolves; then stops accepting
/// and returns once the calls in flight have finished. Bounding that wait
/// is the caller's business (`SHUTDOWN_TIMEOUT`).
pub async fn serve(
    storage: SharedStorage,
    readiness: Readiness,
    in_flight: InFlight,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (reporter, health_service) = tonic_health::server::health_reporter();
    let initial = health::publish_initial(&reporter, &readiness).await;
    let health_task = tokio::spawn(health::follow_readiness(reporter, readiness, initial));

    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .context("building the gRPC reflection service")?;

    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let served = Server::builder()
        .layer(in_flight.layer())
        .add_service(DiscoveryServiceServer::new(Discovery::new(storage)))
        .add_service(health_service)
        .add_service(reflection)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await;

    health_task.abort();
    served.context("gRPC server failed")
}
