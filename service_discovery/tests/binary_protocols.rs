//! The released binary wires the three front ends to one store: what is
//! registered over HTTP is seen at once over gRPC and DNS, on the ports
//! it reports; and a shutdown fails readiness on HTTP and gRPC alike.

mod service_support;

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::{Duration, Instant};

use hickory_server::net::client::{Client, ClientHandle};
use hickory_server::net::runtime::TokioRuntimeProvider;
use hickory_server::net::tcp::TcpClientStream;
use hickory_server::net::udp::UdpClientStream;
use hickory_server::proto::op::{Message, ResponseCode};
use hickory_server::proto::rr::{DNSClass, Name, RData, RecordType};
use reqwest::StatusCode;
use rustix::process::Signal;
use service_discovery::grpc::proto::discovery_service_client::DiscoveryServiceClient;
use service_discovery::grpc::proto::{GetServiceRequest, LookupEndpointsRequest};
use service_support::instance::Instance;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

async fn dns_query(server: SocketAddr, tcp: bool, name: &str, rtype: RecordType) -> Message {
    let provider = TokioRuntimeProvider::default();
    let mut client = if tcp {
        let (connect, sender) = TcpClientStream::new(server, None, None, provider);
        let (client, background) =
            Client::<TokioRuntimeProvider>::new(connect.await.unwrap(), sender);
        tokio::spawn(background);
        client
    } else {
        let stream = UdpClientStream::builder(server, provider).build();
        let (client, background) = Client::<TokioRuntimeProvider>::from_sender(stream);
        tokio::spawn(background);
        client
    };
    client
        .query(Name::from_str(name).unwrap(), DNSClass::IN, rtype)
        .await
        .unwrap()
        .into_message()
}

async fn channel(addr: SocketAddr) -> Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

async fn readme_flow(service: &Instance) {
    let client = reqwest::Client::new();
    for (path, body) in [
        (
            "/service",
            r#"{"name": "webapp", "attributes": {"attr-1": "value-1"}}"#,
        ),
        (
            "/service/webapp/register",
            r#"{"ip": "127.0.0.1", "tags": []}"#,
        ),
        (
            "/service/webapp/port",
            r#"{"http": {"protocol": "tcp", "port": 8000}}"#,
        ),
    ] {
        let answer = client
            .put(service.url(path))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn registrations_over_http_are_answered_over_grpc_and_dns() {
    let service = Instance::start(&[]);
    readme_flow(&service).await;

    let mut grpc = DiscoveryServiceClient::new(channel(service.grpc).await);
    let found = grpc
        .get_service(GetServiceRequest {
            service_name: "webapp".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .service
        .unwrap();
    assert_eq!(found.attributes["attr-1"], "value-1");
    assert_eq!(found.named_ports["http"].port, 8000);
    let endpoints = grpc
        .lookup_endpoints(LookupEndpointsRequest {
            service_name: "webapp".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .endpoints;
    assert_eq!(endpoints.len(), 1);
    assert_eq!(endpoints[0].ip, "127.0.0.1");

    for tcp in [false, true] {
        let srv = dns_query(
            service.dns,
            tcp,
            "_http._tcp.webapp.svc.cluster.local.",
            RecordType::SRV,
        )
        .await;
        assert_eq!(srv.response_code, ResponseCode::NoError);
        let RData::SRV(record) = &srv.answers[0].data else {
            panic!("an SRV answer: {srv:?}");
        };
        assert_eq!(
            record.to_string(),
            "1 1 8000 webapp.svc.cluster.local.",
            "the original README's answer"
        );
        let a = dns_query(service.dns, tcp, "webapp.svc.cluster.local.", RecordType::A).await;
        let RData::A(ip) = &a.answers[0].data else {
            panic!("an A answer: {a:?}");
        };
        assert_eq!(ip.to_string(), "127.0.0.1");
    }

    let library_lines: Vec<_> = service
        .log_lines()
        .into_iter()
        .filter(|l| {
            l["target"]
                .as_str()
                .is_some_and(|t| t.starts_with("hickory"))
        })
        .collect();
    assert!(
        library_lines.is_empty(),
        "DNS queries must not log a line each at info level: {library_lines:?}"
    );
}

#[tokio::test]
async fn r8_shutdown_fails_readiness_over_http_and_grpc_before_listeners_close() {
    let mut service = Instance::start(&[("SHUTDOWN_DELAY", "2")]);
    let mut health = HealthClient::new(channel(service.grpc).await);
    let check = || HealthCheckRequest {
        service: String::new(),
    };
    let serving = health.check(check()).await.unwrap().into_inner().status();
    assert_eq!(serving, ServingStatus::Serving);

    service.signal(Signal::TERM);
    // "shutdown requested" is logged before readiness flips; this line after.
    service
        .wait_for_log(
            "shutdown: readiness now fails, listeners close after the delay",
            Duration::from_secs(5),
        )
        .unwrap();
    let http = reqwest::get(service.url("/ready")).await.unwrap();
    assert_eq!(http.status(), StatusCode::SERVICE_UNAVAILABLE);
    // gRPC health follows readiness from a task of its own: it must flip
    // well within the delay, while every listener is still open.
    let flips_within = Instant::now() + Duration::from_millis(500);
    let grpc = loop {
        let status = health.check(check()).await.unwrap().into_inner().status();
        if status == ServingStatus::NotServing || Instant::now() >= flips_within {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(grpc, ServingStatus::NotServing);
    let dns = dns_query(
        service.dns,
        false,
        "webapp.svc.cluster.local.",
        RecordType::A,
    )
    .await;
    assert_eq!(
        dns.response_code,
        ResponseCode::NXDomain,
        "DNS still answers while draining"
    );

    let status = tokio::task::spawn_blocking(move || service.wait_exit(Duration::from_secs(10)))
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0));
}
