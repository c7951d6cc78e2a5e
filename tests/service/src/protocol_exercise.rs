//! Everything the service does, over every protocol it speaks: a service
//! created and an endpoint registered over HTTP, another pair over gRPC,
//! and both looked up over HTTP, gRPC and DNS. One run proves a container
//! configuration leaves the service fully working.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use service_discovery::grpc::proto::discovery_service_client::DiscoveryServiceClient;
use service_discovery::grpc::proto::{
    CreateServiceRequest, Endpoint, LookupEndpointsRequest, RegisterEndpointRequest, Service,
};
use tonic::transport::Channel;

use crate::readme_flow::{ZONE, dig_short};
use crate::service_http::put_ok;
use integration_suite::containers::service_container::{
    DNS_UDP_PORT, GRPC_PORT, HTTP_PORT, ServiceContainer,
};

const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Names and addresses (from the documentation range, never contacted)
/// the exercise registers.
const HTTP_SERVICE: &str = "made-over-http";
const HTTP_ENDPOINT: &str = "192.0.2.10";
const GRPC_SERVICE: &str = "made-over-grpc";
const GRPC_ENDPOINT: &str = "192.0.2.20";

/// Where a container's three front ends are published on the host.
#[derive(Debug, Clone, Copy)]
pub struct FrontEnds {
    pub http: SocketAddr,
    pub grpc: SocketAddr,
    pub dns: SocketAddr,
}

impl FrontEnds {
    pub fn of(container: &ServiceContainer) -> Result<Self> {
        Ok(Self {
            http: container.address(HTTP_PORT)?,
            grpc: container.address(GRPC_PORT)?,
            dns: container.address(DNS_UDP_PORT)?,
        })
    }
}

/// Creates, registers and looks up over all three protocols; the error
/// names the first answer that was not the expected one.
pub async fn exercise_all_protocols(front_ends: FrontEnds) -> Result<()> {
    let http = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()?;
    let mut grpc = grpc_client(front_ends.grpc).await?;

    create_over_http(front_ends.http, HTTP_SERVICE, HTTP_ENDPOINT).await?;
    create_over_grpc(&mut grpc, GRPC_SERVICE, GRPC_ENDPOINT).await?;

    for (service, endpoint) in [(HTTP_SERVICE, HTTP_ENDPOINT), (GRPC_SERVICE, GRPC_ENDPOINT)] {
        let over_http = lookup_over_http(&http, front_ends.http, service).await?;
        ensure!(
            over_http == [endpoint],
            "HTTP lookup of {service}: {over_http:?}"
        );
        let over_grpc = lookup_over_grpc(&mut grpc, service).await?;
        ensure!(
            over_grpc == [endpoint],
            "gRPC lookup of {service}: {over_grpc:?}"
        );
        let over_dns = dig_short(front_ends.dns, "A", &format!("{service}.{ZONE}")).await?;
        ensure!(
            over_dns == [endpoint],
            "DNS lookup of {service}: {over_dns:?}"
        );
    }
    Ok(())
}

/// A gRPC client of the service's discovery API at `address`.
pub async fn grpc_client(address: SocketAddr) -> Result<DiscoveryServiceClient<Channel>> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{address}"))?
        .connect_timeout(REQUEST_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .connect()
        .await
        .with_context(|| format!("cannot connect to gRPC at {address}"))?;
    Ok(DiscoveryServiceClient::new(channel))
}

async fn create_over_http(address: SocketAddr, service: &str, endpoint: &str) -> Result<()> {
    let requests = [
        ("/service".to_owned(), format!(r#"{{"name": "{service}"}}"#)),
        (
            format!("/service/{service}/register"),
            format!(r#"{{"ip": "{endpoint}"}}"#),
        ),
    ];
    for (path, body) in requests {
        put_ok(address, &path, &body).await?;
    }
    Ok(())
}

async fn create_over_grpc(
    client: &mut DiscoveryServiceClient<Channel>,
    service: &str,
    endpoint: &str,
) -> Result<()> {
    client
        .create_service(CreateServiceRequest {
            service: Some(Service {
                name: service.to_owned(),
                attributes: HashMap::new(),
                named_ports: HashMap::new(),
            }),
        })
        .await
        .with_context(|| format!("gRPC CreateService {service}"))?;
    client
        .register_endpoint(RegisterEndpointRequest {
            service_name: service.to_owned(),
            endpoint: Some(Endpoint {
                ip: endpoint.to_owned(),
                ..Default::default()
            }),
        })
        .await
        .with_context(|| format!("gRPC RegisterEndpoint {service} {endpoint}"))?;
    Ok(())
}

async fn lookup_over_http(
    client: &reqwest::Client,
    address: SocketAddr,
    service: &str,
) -> Result<Vec<String>> {
    let path = format!("/service/{service}/endpoints");
    let response = client
        .get(format!("http://{address}{path}"))
        .send()
        .await
        .with_context(|| format!("GET {path}"))?;
    let status = response.status();
    let body: serde_json::Value = response
        .json()
        .await
        .with_context(|| format!("GET {path} ({status}) did not answer JSON"))?;
    ensure!(status.is_success(), "GET {path} answered {status}: {body}");
    let ips = body
        .as_array()
        .with_context(|| format!("GET {path} answered {body}, not a list"))?
        .iter()
        .map(|endpoint| endpoint["ip"].as_str().map(str::to_owned))
        .collect::<Option<Vec<_>>>()
        .with_context(|| format!("GET {path}: an endpoint without an ip in {body}"))?;
    Ok(ips)
}

async fn lookup_over_grpc(
    client: &mut DiscoveryServiceClient<Channel>,
    service: &str,
) -> Result<Vec<String>> {
    let response = client
        .lookup_endpoints(LookupEndpointsRequest {
            service_name: service.to_owned(),
        })
        .await
        .with_context(|| format!("gRPC LookupEndpoints {service}"))?;
    Ok(response
        .into_inner()
        .endpoints
        .into_iter()
        .map(|endpoint| endpoint.ip)
        .collect())
}
