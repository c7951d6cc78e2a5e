//! What surrounds the API on the gRPC port: the standard health service,
//! reflection, and graceful shutdown with calls in flight (R8).

mod front_end_support;
mod grpc_support;

use std::collections::HashMap;
use std::time::Duration;

use front_end_support::{SlowStorage, SwitchableStorage, UnreachableStorage, seeded_storage};
use grpc_support::GrpcServer;
use service_discovery::grpc::proto::{CreateServiceRequest, GetServiceRequest, Service};
use service_discovery::storage::MemoryStorage;
use tokio_stream::StreamExt;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

const DISCOVERY: &str = "sd.DiscoveryService";
/// Long enough to notice a wait that should not happen, short enough for CI.
const PATIENCE: Duration = Duration::from_secs(5);

fn health_of(service: &str) -> HealthCheckRequest {
    HealthCheckRequest {
        service: service.into(),
    }
}

async fn status_of(
    client: &mut HealthClient<tonic::transport::Channel>,
    service: &str,
) -> ServingStatus {
    client
        .check(health_of(service))
        .await
        .unwrap()
        .into_inner()
        .status()
}

#[tokio::test]
async fn health_is_serving_then_not_serving_once_shutdown_begins() {
    let server = GrpcServer::start(seeded_storage().await).await;
    let mut health = HealthClient::new(server.channel().await);

    let mut watch = health.watch(health_of("")).await.unwrap().into_inner();
    let first = tokio::time::timeout(PATIENCE, watch.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first.status(), ServingStatus::Serving);
    assert_eq!(
        status_of(&mut health, DISCOVERY).await,
        ServingStatus::Serving
    );

    server.readiness.begin_shutdown();

    // The change is pushed to watchers without waiting for a storage re-check.
    let next = tokio::time::timeout(Duration::from_millis(500), watch.next())
        .await
        .expect("NOT_SERVING pushed at once")
        .unwrap()
        .unwrap();
    assert_eq!(next.status(), ServingStatus::NotServing);
    assert_eq!(status_of(&mut health, "").await, ServingStatus::NotServing);
    assert_eq!(
        status_of(&mut health, DISCOVERY).await,
        ServingStatus::NotServing
    );
}

#[tokio::test]
async fn health_is_not_serving_while_storage_is_unreachable() {
    let server = GrpcServer::start(UnreachableStorage::shared()).await;
    let mut health = HealthClient::new(server.channel().await);

    // Checked before the server takes its first call.
    assert_eq!(
        status_of(&mut health, DISCOVERY).await,
        ServingStatus::NotServing
    );
    assert_eq!(status_of(&mut health, "").await, ServingStatus::NotServing);
}

#[tokio::test]
async fn health_follows_storage_going_down_and_coming_back() {
    let storage = SwitchableStorage::new();
    let server = GrpcServer::start(storage.clone()).await;
    let mut health = HealthClient::new(server.channel().await);
    let mut watch = health
        .watch(health_of(DISCOVERY))
        .await
        .unwrap()
        .into_inner();
    let mut next_status = async || {
        let update = tokio::time::timeout(PATIENCE, watch.next()).await;
        update
            .expect("a status change within the re-check period")
            .unwrap()
            .unwrap()
            .status()
    };
    assert_eq!(next_status().await, ServingStatus::Serving);

    storage.set_down(true);
    assert_eq!(next_status().await, ServingStatus::NotServing);

    storage.set_down(false);
    assert_eq!(next_status().await, ServingStatus::Serving);
}

#[tokio::test]
async fn health_of_an_unknown_service_is_not_found() {
    let server = GrpcServer::start(seeded_storage().await).await;
    let mut health = HealthClient::new(server.channel().await);
    let status = health.check(health_of("sd.Nothing")).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
}

#[tokio::test]
async fn reflection_lists_the_discovery_and_health_services() {
    let server = GrpcServer::start(seeded_storage().await).await;
    let mut reflection = ServerReflectionClient::new(server.channel().await);

    let requests = [
        MessageRequest::ListServices(String::new()),
        MessageRequest::FileContainingSymbol(DISCOVERY.into()),
    ]
    .map(|request| ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    });
    let mut responses = reflection
        .server_reflection_info(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();

    let listed = responses.next().await.unwrap().unwrap().message_response;
    let Some(MessageResponse::ListServicesResponse(listed)) = listed else {
        panic!("expected a service list, got {listed:?}");
    };
    let mut names: Vec<_> = listed.service.into_iter().map(|s| s.name).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            DISCOVERY
        ]
    );

    let file = responses.next().await.unwrap().unwrap().message_response;
    let Some(MessageResponse::FileDescriptorResponse(file)) = file else {
        panic!("expected the descriptor of discovery.proto, got {file:?}");
    };
    assert_eq!(file.file_descriptor_proto.len(), 1);
}

#[tokio::test]
async fn r8_grpc_call_in_flight_completes_after_shutdown_is_signalled() {
    let storage = SlowStorage::shared(MemoryStorage::new(), Duration::from_millis(800));
    let server = GrpcServer::start(storage).await;
    let mut client = server.client().await;
    client
        .create_service(CreateServiceRequest {
            service: Some(Service {
                name: "webapp".into(),
                attributes: HashMap::new(),
                named_ports: HashMap::new(),
            }),
        })
        .await
        .unwrap();

    let in_flight = server.in_flight.clone();
    let slow_call = tokio::spawn(async move {
        client
            .get_service(GetServiceRequest {
                service_name: "webapp".into(),
            })
            .await
    });
    // Wait until the call has reached the server, then stop it.
    tokio::time::timeout(PATIENCE, async {
        while in_flight.count() == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the slow call reaches the server");
    let addr = server.addr;
    let stopped = server.begin_stop();

    // New connections are refused once shutdown has begun...
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "listener still accepting during shutdown"
    );
    // ...but the call in flight gets its full answer, and the server then stops cleanly.
    let answer = slow_call.await.unwrap().expect("in-flight call completes");
    assert_eq!(answer.into_inner().service.unwrap().name, "webapp");
    tokio::time::timeout(PATIENCE, stopped)
        .await
        .expect("server stops once the call is done")
        .unwrap()
        .unwrap();
    assert_eq!(in_flight.count(), 0);
}
