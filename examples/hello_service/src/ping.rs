//! The health command the image's HEALTHCHECK runs: a subcommand of the same
//! binary, so it works in an image with no shell and no curl.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Below the HEALTHCHECK's own timeout, so a hung server yields our message.
const TIMEOUT: Duration = Duration::from_secs(2);

pub async fn check(port: u16) -> Result<(), String> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let status_line = timeout(TIMEOUT, status_line(address))
        .await
        .map_err(|_| format!("ping {address}: no answer within {} s", TIMEOUT.as_secs()))?
        .map_err(|e| format!("ping {address}: {e}"))?;
    let status_line = status_line.trim_end();
    match status_line.split_whitespace().nth(1) {
        Some("200") => Ok(()),
        _ => Err(format!("ping {address}: /healthz answered {status_line:?}")),
    }
}

/// One request, written by hand: an HTTP client crate would cost more build
/// time than the whole service, for a single exchange. HTTP/1.0 means the
/// server closes the connection after answering, so nothing is left open.
async fn status_line(address: SocketAddr) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(address).await?;
    stream
        .write_all(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .await?;
    let mut line = String::new();
    // Bounded, so a stranger on the port cannot make us buffer without end.
    BufReader::new(stream.take(1024))
        .read_line(&mut line)
        .await?;
    Ok(line)
}
