//! A real gRPC server on 127.0.0.1:0 for each test, and clients for it.

#![allow(dead_code)] // each test crate uses its own subset

use std::net::SocketAddr;

use service_discovery::grpc::proto::discovery_service_client::DiscoveryServiceClient;
use service_discovery::lifecycle::{InFlight, Readiness};
use service_discovery::storage::SharedStorage;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::{Channel, Endpoint};

pub struct GrpcServer {
    pub addr: SocketAddr,
    pub readiness: Readiness,
    pub in_flight: InFlight,
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl GrpcServer {
    pub async fn start(storage: SharedStorage) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let readiness = Readiness::new(storage.clone());
        let in_flight = InFlight::new();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(service_discovery::grpc::serve(
            storage,
            readiness.clone(),
            in_flight.clone(),
            listener,
            async move {
                let _ = stopped.await;
            },
        ));
        Self {
            addr,
            readiness,
            in_flight,
            stop,
            task,
        }
    }

    pub async fn channel(&self) -> Channel {
        Endpoint::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect()
            .await
            .expect("connect to the test gRPC server")
    }

    pub async fn client(&self) -> DiscoveryServiceClient<Channel> {
        DiscoveryServiceClient::new(self.channel().await)
    }

    /// Resolves the server's shutdown future; the task keeps running until
    /// calls in flight are done.
    pub fn begin_stop(self) -> JoinHandle<anyhow::Result<()>> {
        let _ = self.stop.send(());
        self.task
    }
}
