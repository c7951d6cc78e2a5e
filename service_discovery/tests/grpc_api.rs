//! `sd.DiscoveryService` through the generated tonic client against a real
//! server: every RPC, and every status code a client can be given.

mod front_end_support;
mod grpc_support;

use std::collections::HashMap;
use std::sync::Arc;

use front_end_support::UnreachableStorage;
use grpc_support::GrpcServer;
use service_discovery::grpc::proto::{
    AddNamedPortsRequest, CreateServiceRequest, Endpoint, GetServiceRequest, ListServicesRequest,
    LookupEndpointsRequest, NamedPort, RegisterEndpointRequest, Service,
};
use service_discovery::storage::MemoryStorage;
use tonic::Code;

async fn empty_server() -> GrpcServer {
    GrpcServer::start(Arc::new(MemoryStorage::new())).await
}

fn port(protocol: &str, port: i32) -> NamedPort {
    NamedPort {
        protocol: protocol.into(),
        port,
    }
}

fn create(name: &str, named_ports: HashMap<String, NamedPort>) -> CreateServiceRequest {
    CreateServiceRequest {
        service: Some(Service {
            name: name.into(),
            attributes: HashMap::from([("team".into(), "web".into())]),
            named_ports,
        }),
    }
}

fn register(service: &str, ip: &str, tags: &[&str]) -> RegisterEndpointRequest {
    RegisterEndpointRequest {
        service_name: service.into(),
        endpoint: Some(Endpoint {
            ip: ip.into(),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            ..Default::default()
        }),
    }
}

fn get(name: &str) -> GetServiceRequest {
    GetServiceRequest {
        service_name: name.into(),
    }
}

fn lookup(name: &str) -> LookupEndpointsRequest {
    LookupEndpointsRequest {
        service_name: name.into(),
    }
}

#[tokio::test]
async fn create_service_returns_an_id_and_get_service_returns_what_was_stored() {
    let server = empty_server().await;
    let mut client = server.client().await;

    let ports = HashMap::from([("HTTP".to_owned(), port("TCP", 8000))]);
    let id = client
        .create_service(create("WebApp", ports))
        .await
        .unwrap()
        .into_inner()
        .id;
    assert!(
        uuid::Uuid::parse_str(&id).is_ok(),
        "id {id:?} is not a UUID"
    );

    // Names, port names and protocols are stored in their canonical lower case.
    let service = client
        .get_service(get("webapp"))
        .await
        .unwrap()
        .into_inner()
        .service
        .unwrap();
    assert_eq!(service.name, "webapp");
    assert_eq!(service.attributes["team"], "web");
    assert_eq!(service.named_ports["http"], port("tcp", 8000));

    let upper = client
        .get_service(get("WEBAPP"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(upper.service.unwrap(), service);
}

#[tokio::test]
async fn list_services_returns_every_service() {
    let server = empty_server().await;
    let mut client = server.client().await;
    assert!(
        client
            .list_services(ListServicesRequest {})
            .await
            .unwrap()
            .into_inner()
            .services
            .is_empty()
    );

    for name in ["webapp", "db"] {
        client
            .create_service(create(name, HashMap::new()))
            .await
            .unwrap();
    }
    let mut names: Vec<_> = client
        .list_services(ListServicesRequest {})
        .await
        .unwrap()
        .into_inner()
        .services
        .into_iter()
        .map(|s| s.name)
        .collect();
    names.sort();
    assert_eq!(names, ["db", "webapp"]);
}

#[tokio::test]
async fn add_named_ports_adds_and_replaces_ports() {
    let server = empty_server().await;
    let mut client = server.client().await;
    let ports = HashMap::from([("http".to_owned(), port("tcp", 8000))]);
    client
        .create_service(create("webapp", ports))
        .await
        .unwrap();

    client
        .add_named_ports(AddNamedPortsRequest {
            service_name: "webapp".into(),
            named_ports: HashMap::from([
                ("http".to_owned(), port("tcp", 8080)),
                ("dns".to_owned(), port("udp", 53)),
            ]),
        })
        .await
        .unwrap();

    let service = client
        .get_service(get("webapp"))
        .await
        .unwrap()
        .into_inner()
        .service
        .unwrap();
    assert_eq!(
        service.named_ports,
        HashMap::from([
            ("http".to_owned(), port("tcp", 8080)),
            ("dns".to_owned(), port("udp", 53)),
        ])
    );
}

#[tokio::test]
async fn registered_ipv4_and_ipv6_endpoints_are_looked_up() {
    let server = empty_server().await;
    let mut client = server.client().await;
    client
        .create_service(create("webapp", HashMap::new()))
        .await
        .unwrap();
    assert!(
        client
            .lookup_endpoints(lookup("webapp"))
            .await
            .unwrap()
            .into_inner()
            .endpoints
            .is_empty()
    );

    client
        .register_endpoint(register("webapp", "10.0.0.1", &["blue"]))
        .await
        .unwrap();
    client
        .register_endpoint(register("WebApp", "fd00::1", &[]))
        .await
        .unwrap();
    // Registering an address again replaces its tags.
    client
        .register_endpoint(register("webapp", "10.0.0.1", &["green"]))
        .await
        .unwrap();

    let mut endpoints = client
        .lookup_endpoints(lookup("webapp"))
        .await
        .unwrap()
        .into_inner()
        .endpoints;
    endpoints.sort_by(|a, b| a.ip.cmp(&b.ip));
    let expected = |ip: &str, tags: &[&str]| Endpoint {
        service_name: "webapp".into(),
        ip: ip.into(),
        port: 0,
        port_name: String::new(),
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
    };
    assert_eq!(
        endpoints,
        [expected("10.0.0.1", &["green"]), expected("fd00::1", &[])]
    );
}

/// Each invalid request, the field its INVALID_ARGUMENT message must start with.
#[tokio::test]
async fn invalid_arguments_name_the_field_and_store_nothing() {
    let server = empty_server().await;
    let mut client = server.client().await;
    client
        .create_service(create("webapp", HashMap::new()))
        .await
        .unwrap();

    let creates = [
        (
            CreateServiceRequest { service: None },
            "service: is required",
        ),
        (
            create("", HashMap::new()),
            "service.name: must not be empty",
        ),
        (create("web app", HashMap::new()), "service.name: "),
        (
            create("api", HashMap::from([("http".to_owned(), port("tcp", 0))])),
            "service.named_ports[\"http\"].port: 0 is out of range (1..65535)",
        ),
        (
            create(
                "api",
                HashMap::from([("http".to_owned(), port("tcp", 70000))]),
            ),
            "service.named_ports[\"http\"].port: 70000 is out of range (1..65535)",
        ),
        (
            create(
                "api",
                HashMap::from([("http".to_owned(), port("sctp", 80))]),
            ),
            "service.named_ports[\"http\"].protocol: ",
        ),
        (
            create(
                "api",
                HashMap::from([("_http".to_owned(), port("tcp", 80))]),
            ),
            "service.named_ports[\"_http\"]: ",
        ),
    ];
    for (request, expected) in creates {
        let status = client.create_service(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(
            status.message().starts_with(expected),
            "{:?} does not start with {expected:?}",
            status.message()
        );
    }

    let mut with_port = register("webapp", "10.0.0.1", &[]);
    with_port.endpoint.as_mut().unwrap().port = 8000;
    let mut other_service = register("webapp", "10.0.0.1", &[]);
    other_service.endpoint.as_mut().unwrap().service_name = "db".into();
    let registers = [
        (
            register("webapp", "10.0.0.256", &[]),
            "endpoint.ip: \"10.0.0.256\" is not an IPv4 or IPv6 address",
        ),
        (register("webapp", "", &[]), "endpoint.ip: "),
        (
            register("", "10.0.0.1", &[]),
            "service_name: must not be empty",
        ),
        (
            RegisterEndpointRequest {
                service_name: "webapp".into(),
                endpoint: None,
            },
            "endpoint: is required",
        ),
        (with_port, "endpoint.port: "),
        (other_service, "endpoint.service_name: "),
    ];
    for (request, expected) in registers {
        let status = client.register_endpoint(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(
            status.message().starts_with(expected),
            "{:?} does not start with {expected:?}",
            status.message()
        );
    }

    let status = client
        .add_named_ports(AddNamedPortsRequest {
            service_name: "webapp".into(),
            named_ports: HashMap::from([("http".to_owned(), port("tcp", -1))]),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        status.message(),
        "named_ports[\"http\"].port: -1 is out of range (1..65535)"
    );

    // Nothing of the refused requests was stored.
    let services = client
        .list_services(ListServicesRequest {})
        .await
        .unwrap()
        .into_inner()
        .services;
    assert_eq!(services.len(), 1);
    assert!(services[0].named_ports.is_empty());
    assert!(
        client
            .lookup_endpoints(lookup("webapp"))
            .await
            .unwrap()
            .into_inner()
            .endpoints
            .is_empty()
    );
}

#[tokio::test]
async fn unknown_services_are_not_found() {
    let server = empty_server().await;
    let mut client = server.client().await;

    let statuses = [
        client.get_service(get("ghost")).await.unwrap_err(),
        client.lookup_endpoints(lookup("ghost")).await.unwrap_err(),
        client
            .register_endpoint(register("ghost", "10.0.0.1", &[]))
            .await
            .unwrap_err(),
        client
            .add_named_ports(AddNamedPortsRequest {
                service_name: "ghost".into(),
                named_ports: HashMap::new(),
            })
            .await
            .unwrap_err(),
    ];
    for status in statuses {
        assert_eq!(status.code(), Code::NotFound, "{status:?}");
        assert_eq!(status.message(), "service ghost not found");
    }
}

#[tokio::test]
async fn creating_a_service_twice_is_already_exists_whatever_the_case() {
    let server = empty_server().await;
    let mut client = server.client().await;
    client
        .create_service(create("webapp", HashMap::new()))
        .await
        .unwrap();

    let status = client
        .create_service(create("WebApp", HashMap::new()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);
    assert_eq!(status.message(), "service webapp already exists");
}

#[tokio::test]
async fn every_rpc_is_unavailable_while_storage_is_unreachable() {
    let server = GrpcServer::start(UnreachableStorage::shared()).await;
    let mut client = server.client().await;

    let statuses = [
        client.get_service(get("webapp")).await.unwrap_err(),
        client
            .create_service(create("webapp", HashMap::new()))
            .await
            .unwrap_err(),
        client
            .list_services(ListServicesRequest {})
            .await
            .unwrap_err(),
        client
            .add_named_ports(AddNamedPortsRequest {
                service_name: "webapp".into(),
                named_ports: HashMap::new(),
            })
            .await
            .unwrap_err(),
        client.lookup_endpoints(lookup("webapp")).await.unwrap_err(),
        client
            .register_endpoint(register("webapp", "10.0.0.1", &[]))
            .await
            .unwrap_err(),
    ];
    for status in statuses {
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        assert_eq!(status.message(), "storage unavailable: connection refused");
    }
}
