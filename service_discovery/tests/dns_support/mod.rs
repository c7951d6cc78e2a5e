//! A real DNS server on 127.0.0.1 (UDP and TCP on one ephemeral port) for
//! each test, and hickory's DNS client to query it.

#![allow(dead_code)] // each test crate uses its own subset

use std::net::SocketAddr;
use std::str::FromStr;

use hickory_server::net::client::{Client, ClientHandle};
use hickory_server::net::runtime::TokioRuntimeProvider;
use hickory_server::net::tcp::TcpClientStream;
use hickory_server::net::udp::UdpClientStream;
use hickory_server::proto::op::Message;
use hickory_server::proto::rr::{DNSClass, Name, RecordType};
use service_discovery::storage::SharedStorage;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const ZONE: &str = "svc.cluster.local";

#[derive(Debug, Clone, Copy)]
pub enum Transport {
    Udp,
    Tcp,
}

pub const TRANSPORTS: [Transport; 2] = [Transport::Udp, Transport::Tcp];

pub struct DnsServer {
    pub addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

/// UDP and TCP on the same port, as `dig -p PORT` (with and without +tcp)
/// expects. An ephemeral TCP port is usually free for UDP too; retry if not.
async fn bind_pair() -> (UdpSocket, TcpListener) {
    for _ in 0..20 {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        if let Ok(udp) = UdpSocket::bind(addr).await {
            return (udp, tcp);
        }
    }
    panic!("no port free for both UDP and TCP on 127.0.0.1");
}

impl DnsServer {
    pub async fn start(storage: SharedStorage) -> Self {
        Self::start_in_zone(storage, ZONE).await
    }

    pub async fn start_in_zone(storage: SharedStorage, zone: &str) -> Self {
        let (udp, tcp) = bind_pair().await;
        let addr = tcp.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let zone = zone.to_owned();
        let task = tokio::spawn(async move {
            service_discovery::dns::serve(storage, &zone, udp, tcp, async move {
                let _ = stopped.await;
            })
            .await
        });
        Self { addr, stop, task }
    }

    pub async fn query(&self, transport: Transport, name: &str, rtype: RecordType) -> Message {
        let mut client = self.client(transport).await;
        client
            .query(Name::from_str(name).unwrap(), DNSClass::IN, rtype)
            .await
            .unwrap_or_else(|e| panic!("{transport:?} query {name} {rtype} failed: {e}"))
            .into_message()
    }

    pub async fn client(&self, transport: Transport) -> Client<TokioRuntimeProvider> {
        let provider = TokioRuntimeProvider::default();
        match transport {
            Transport::Udp => {
                let stream = UdpClientStream::builder(self.addr, provider).build();
                let (client, background) = Client::<TokioRuntimeProvider>::from_sender(stream);
                tokio::spawn(background);
                client
            }
            Transport::Tcp => {
                let (connect, sender) = TcpClientStream::new(self.addr, None, None, provider);
                let stream = connect.await.expect("TCP connection to the DNS server");
                let (client, background) = Client::<TokioRuntimeProvider>::new(stream, sender);
                tokio::spawn(background);
                client
            }
        }
    }

    pub fn begin_stop(self) -> JoinHandle<anyhow::Result<()>> {
        let _ = self.stop.send(());
        self.task
    }
}
