//! Binding the service's sockets. Without `BIND_ADDRESS`, the IPv6
//! wildcard is bound in dual-stack mode (so IPv4 clients are served too)
//! and plain IPv4 is the fallback on kernels without IPv6.
//!
//! Port 0 picks a free port; DNS then gets the same port for UDP and TCP,
//! as resolvers expect.

use std::io;
use std::net::{IpAddr, SocketAddr};

use rustix::io::Errno;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

const BACKLOG: i32 = 1024;

/// Tries each candidate address in turn, moving on only when the address
/// family is unavailable: a port in use is reported, not worked around.
pub fn bind_tcp(candidates: &[IpAddr], port: u16) -> io::Result<tokio::net::TcpListener> {
    first_family_that_works(candidates, |ip| tcp_listener(SocketAddr::new(ip, port)))
}

pub fn bind_dns(
    candidates: &[IpAddr],
    port: u16,
) -> io::Result<(tokio::net::UdpSocket, tokio::net::TcpListener)> {
    // With port 0 the TCP port chosen may be taken for UDP; a few retries
    // find a port free on both.
    let attempts = if port == 0 { 8 } else { 1 };
    let mut last_error = None;
    for _ in 0..attempts {
        let tcp = bind_tcp(candidates, port)?;
        let addr = tcp.local_addr()?;
        match udp_socket(addr) {
            Ok(udp) => return Ok((udp, tcp)),
            Err(err) => last_error = Some(err),
        }
    }
    Err(last_error.unwrap_or_else(|| io::ErrorKind::AddrInUse.into()))
}

fn first_family_that_works<T>(
    candidates: &[IpAddr],
    bind: impl Fn(IpAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last_error = io::Error::new(io::ErrorKind::InvalidInput, "no address to bind");
    for &ip in candidates {
        match bind(ip) {
            Ok(bound) => return Ok(bound),
            Err(err) if family_unavailable(&err) => last_error = err,
            Err(err) => return Err(err),
        }
    }
    Err(last_error)
}

fn family_unavailable(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::AddrNotAvailable
        || err.raw_os_error() == Some(Errno::AFNOSUPPORT.raw_os_error())
}

fn tcp_listener(addr: SocketAddr) -> io::Result<tokio::net::TcpListener> {
    let socket = socket_for(addr, Type::STREAM, Protocol::TCP)?;
    // A restarted service can bind at once, without waiting for the old
    // connections in TIME_WAIT to expire.
    socket.set_reuse_address(true)?;
    socket.bind(&SockAddr::from(addr))?;
    socket.listen(BACKLOG)?;
    tokio::net::TcpListener::from_std(socket.into())
}

fn udp_socket(addr: SocketAddr) -> io::Result<tokio::net::UdpSocket> {
    let socket = socket_for(addr, Type::DGRAM, Protocol::UDP)?;
    socket.bind(&SockAddr::from(addr))?;
    tokio::net::UdpSocket::from_std(socket.into())
}

fn socket_for(addr: SocketAddr, kind: Type, protocol: Protocol) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), kind, Some(protocol))?;
    if addr.is_ipv6() && addr.ip().is_unspecified() {
        // Dual stack regardless of the host's net.ipv6.bindv6only default.
        socket.set_only_v6(false)?;
    }
    socket.set_nonblocking(true)?;
    Ok(socket)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[tokio::test]
    async fn dns_gets_one_port_for_udp_and_tcp() {
        let (udp, tcp) = bind_dns(&[IpAddr::V4(Ipv4Addr::LOCALHOST)], 0).unwrap();
        let port = tcp.local_addr().unwrap().port();
        assert_ne!(port, 0);
        assert_eq!(udp.local_addr().unwrap().port(), port);
    }

    #[tokio::test]
    async fn a_port_in_use_is_reported_not_worked_around() {
        let first = bind_tcp(&[IpAddr::V4(Ipv4Addr::LOCALHOST)], 0).unwrap();
        let port = first.local_addr().unwrap().port();
        let err = bind_tcp(
            &[
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V4(Ipv4Addr::LOCALHOST),
            ],
            port,
        )
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    }
}
