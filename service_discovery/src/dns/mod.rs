//! The DNS front end: A, AAAA and SRV answers for the services of one zone,
//! read from storage on every query, over UDP and TCP.
//!
//! hickory-server provides the transports and the wire format; its catalog
//! and zone handlers serve zones held as record sets, which would mean
//! mirroring storage into DNS records. A request handler that asks storage
//! directly keeps one source of truth.

mod answer;
mod handler;
mod responder;
mod zone;

use std::future::Future;
use std::time::Duration;

use anyhow::Context as _;
use hickory_server::Server;

pub use self::answer::ANSWER_TTL;
use self::handler::Handler;
pub use self::responder::Responder;
pub use self::zone::{Target, Zone, ZoneError};
use crate::storage::SharedStorage;

/// A TCP client that sends nothing for this long is disconnected, so idle
/// connections cannot pile up.
const TCP_IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Responses queued per TCP connection before the connection's task waits.
const TCP_RESPONSE_BUFFER: usize = 32;

/// Answers DNS over `udp` and `tcp` for names under `zone` until `shutdown`
/// resolves. Queries being answered then are abandoned: DNS clients retry.
pub async fn serve(
    storage: SharedStorage,
    zone: &str,
    udp: tokio::net::UdpSocket,
    tcp: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let zone = Zone::parse(zone)?;
    let mut server = Server::new(Handler::new(storage, zone));
    server.register_socket(udp);
    server.register_listener(tcp, TCP_IDLE_TIMEOUT, TCP_RESPONSE_BUFFER);

    let stop = server.shutdown_token().clone();
    let trigger = tokio::spawn(async move {
        shutdown.await;
        stop.cancel();
    });
    let served = server.block_until_done().await;
    // If a transport failed on its own, the shutdown future is still pending.
    trigger.abort();
    served.context("DNS server failed")
}
