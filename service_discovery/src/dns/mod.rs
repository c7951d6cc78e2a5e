//! The DNS front end: A, AAAA and SRV answers for the services of one zone,
//! read from storage on every query.

use std::future::Future;

use crate::storage::SharedStorage;

/// Answers DNS over `udp` and `tcp` for names under `zone` until `shutdown`
/// resolves.
pub async fn serve(
    storage: SharedStorage,
    zone: &str,
    udp: tokio::net::UdpSocket,
    tcp: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    // Interface placeholder: the real server replaces this body.
    let _ = (storage, zone, udp, tcp);
    shutdown.await;
    Ok(())
}
