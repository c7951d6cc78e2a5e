//! The order of a graceful shutdown, the same for every signal:
//!
//! 1. readiness fails at once (`/ready` 503, gRPC health NOT_SERVING);
//! 2. the listeners keep accepting for `SHUTDOWN_DELAY`, so that whoever
//!    routes traffic here sees the 503 before any connection is refused;
//! 3. the listeners close; requests in flight run to completion;
//! 4. the process exits 0, at the latest `SHUTDOWN_TIMEOUT` after the
//!    signal, abandoning whatever is still running then.

use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{InFlight, Readiness};

/// Each server task ends with its name and how it ended.
pub type ServerTasks = JoinSet<(&'static str, anyhow::Result<()>)>;

#[derive(Debug, Clone, Copy)]
pub struct ShutdownPlan {
    pub delay: Duration,
    pub timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every request finished and every server stopped in time.
    Drained,
    /// The timeout expired with requests still running.
    TimedOut { abandoned: usize },
}

pub async fn run(
    plan: ShutdownPlan,
    readiness: &Readiness,
    in_flight: &InFlight,
    stop_accepting: &CancellationToken,
    servers: &mut ServerTasks,
) -> Outcome {
    let started = Instant::now();
    let deadline = started + plan.timeout;
    readiness.begin_shutdown();
    tracing::info!(
        delay_ms = plan.delay.as_millis() as u64,
        timeout_ms = plan.timeout.as_millis() as u64,
        in_flight = in_flight.count(),
        "shutdown: readiness now fails, listeners close after the delay"
    );
    tokio::time::sleep_until((started + plan.delay).min(deadline)).await;

    stop_accepting.cancel();
    tracing::info!(
        in_flight = in_flight.count(),
        "shutdown: listeners closed, finishing requests in flight"
    );
    let drained = tokio::time::timeout_at(deadline, async {
        while let Some(joined) = servers.join_next().await {
            match joined {
                Ok((name, Ok(()))) => tracing::debug!(server = name, "server stopped"),
                Ok((name, Err(err))) => {
                    tracing::warn!(server = name, error = %err, "server stopped with an error")
                }
                Err(err) => tracing::warn!(error = %err, "server task failed"),
            }
        }
    })
    .await;

    match drained {
        Ok(()) => {
            tracing::info!(
                took_ms = started.elapsed().as_millis() as u64,
                "shutdown complete"
            );
            Outcome::Drained
        }
        Err(_) => {
            let abandoned = in_flight.count();
            servers.abort_all();
            tracing::warn!(
                abandoned,
                timeout_ms = plan.timeout.as_millis() as u64,
                "shutdown timeout expired; abandoning requests still in flight"
            );
            Outcome::TimedOut { abandoned }
        }
    }
}
