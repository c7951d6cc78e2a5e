//! Keeps `grpc.health.v1.Health` in step with readiness: NOT_SERVING the
//! moment shutdown begins (so gRPC-aware balancers drain this instance
//! before its listener closes) and while storage cannot be reached.

use std::time::Duration;

use tonic::server::NamedService;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use super::discovery::Discovery;
use super::proto::discovery_service_server::DiscoveryServiceServer;
use crate::lifecycle::Readiness;

/// How often storage reachability is re-checked. Shutdown is not polled:
/// it is observed as soon as it begins.
const STORAGE_RECHECK: Duration = Duration::from_secs(2);

/// The discovery service and the server as a whole (`""`) share one status,
/// since the discovery service is all this server does. The overall status
/// is published last, so whoever sees it change can rely on the rest.
const REPORTED: [&str; 2] = [
    <DiscoveryServiceServer<Discovery> as NamedService>::NAME,
    "",
];

/// Publishes the current status; call before serving so that no client can
/// find the discovery service unregistered.
pub(super) async fn publish_initial(
    reporter: &HealthReporter,
    readiness: &Readiness,
) -> ServingStatus {
    let status = current_status(readiness).await;
    publish(reporter, status).await;
    status
}

/// Runs until shutdown begins, publishing every change of status.
pub(super) async fn follow_readiness(
    reporter: HealthReporter,
    readiness: Readiness,
    mut published: ServingStatus,
) {
    let shutdown = readiness.shutting_down();
    tokio::pin!(shutdown);
    let mut recheck = tokio::time::interval(STORAGE_RECHECK);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    recheck.reset(); // the initial status was just published
    loop {
        let status = tokio::select! {
            () = &mut shutdown => ServingStatus::NotServing,
            _ = recheck.tick() => current_status(&readiness).await,
        };
        // Only changes are published: every publish wakes `Watch` streams.
        if status != published {
            publish(&reporter, status).await;
            published = status;
        }
        if readiness.is_shutting_down() {
            return;
        }
    }
}

async fn current_status(readiness: &Readiness) -> ServingStatus {
    match readiness.check().await {
        Ok(()) => ServingStatus::Serving,
        Err(_) => ServingStatus::NotServing,
    }
}

async fn publish(reporter: &HealthReporter, status: ServingStatus) {
    for service in REPORTED {
        reporter.set_service_status(service, status).await;
    }
}
