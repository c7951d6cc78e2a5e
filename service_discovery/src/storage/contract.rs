//! The storage contract: what every backend promises, written once as test
//! bodies and run against each backend. The memory store runs them as unit
//! tests (at the end of this file); the integration suite runs the same
//! [`CASES`] against PostgreSQL in a container.
//!
//! Every case starts from an empty store and panics when the backend breaks
//! the contract. Compiled for tests, and for other crates with the
//! `storage-contract` feature.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use super::{SharedStorage, StorageError};
use crate::model::{
    Attributes, Endpoint, NamedPort, NamedPorts, Port, Protocol, Service, ServiceName,
};

/// One contract case: a name to report and the body to run on a fresh store.
pub struct Case {
    pub name: &'static str,
    pub run: fn(SharedStorage) -> Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// Lists the cases once: as [`CASES`] for any backend, and as one unit test
/// per case for the memory store.
macro_rules! contract_cases {
    ($($case:ident),* $(,)?) => {
        pub const CASES: &[Case] = &[
            $(Case { name: stringify!($case), run: |store| Box::pin($case(store)) },)*
        ];

        #[cfg(test)]
        mod memory_backend {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(std::sync::Arc::new(crate::storage::MemoryStorage::new())).await;
                }
            )*
        }
    };
}

contract_cases!(
    ping_answers,
    created_service_reads_back_whole,
    create_refuses_a_taken_name_whatever_its_case,
    failed_create_leaves_the_first_service_untouched,
    create_answers_distinct_ids,
    unknown_service_is_not_found_by_any_call,
    empty_store_lists_nothing,
    list_is_sorted_by_name_byte_wise,
    named_ports_are_added_or_replaced_and_others_kept,
    adding_no_ports_to_a_service_succeeds,
    endpoints_come_back_in_registration_order,
    registering_an_address_again_replaces_its_tags_in_place,
    service_without_endpoints_has_none,
    endpoints_belong_to_their_service_only,
    concurrent_creates_of_one_name_let_exactly_one_win,
    concurrent_registrations_all_land,
);

fn name(raw: &str) -> ServiceName {
    ServiceName::parse(raw).expect("test names are valid")
}

fn port(protocol: Protocol, number: i64) -> NamedPort {
    NamedPort {
        protocol,
        port: Port::new(number).expect("test ports are valid"),
    }
}

fn ports(list: &[(&str, NamedPort)]) -> NamedPorts {
    list.iter()
        .map(|(name, port)| (name.to_string(), *port))
        .collect()
}

fn attributes(list: &[(&str, &str)]) -> Attributes {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn service(raw_name: &str) -> Service {
    Service {
        name: name(raw_name),
        attributes: Attributes::new(),
        named_ports: NamedPorts::new(),
    }
}

fn endpoint(service: &str, ip: &str, tags: &[&str]) -> Endpoint {
    Endpoint {
        service_name: name(service),
        ip: ip.parse::<IpAddr>().expect("test addresses are valid"),
        tags: tags.iter().map(|t| t.to_string()).collect(),
    }
}

async fn ping_answers(store: SharedStorage) {
    store.ping().await.expect("a reachable store answers ping");
}

async fn created_service_reads_back_whole(store: SharedStorage) {
    let created = Service {
        name: name("webapp"),
        attributes: attributes(&[
            ("attr-1", "value-1"),
            ("empty", ""),
            ("ünïcode", "✓ \"quoted\""),
        ]),
        named_ports: ports(&[
            ("http", port(Protocol::Tcp, 8000)),
            ("dns", port(Protocol::Udp, 53)),
            ("highest", port(Protocol::Tcp, 65535)),
        ]),
    };
    store.create_service(created.clone()).await.unwrap();
    assert_eq!(store.get_service(&name("webapp")).await.unwrap(), created);
    assert_eq!(store.list_services().await.unwrap(), vec![created]);
}

async fn create_refuses_a_taken_name_whatever_its_case(store: SharedStorage) {
    store.create_service(service("webapp")).await.unwrap();
    let again = store.create_service(service("WebApp")).await;
    assert_eq!(again, Err(StorageError::AlreadyExists(name("webapp"))));
    assert_eq!(
        store.get_service(&name("WEBAPP")).await.unwrap().name,
        name("webapp")
    );
    assert_eq!(store.list_services().await.unwrap().len(), 1);
}

async fn failed_create_leaves_the_first_service_untouched(store: SharedStorage) {
    let first = Service {
        attributes: attributes(&[("owner", "first")]),
        named_ports: ports(&[("http", port(Protocol::Tcp, 80))]),
        ..service("webapp")
    };
    store.create_service(first.clone()).await.unwrap();
    let second = Service {
        attributes: attributes(&[("owner", "second")]),
        named_ports: ports(&[
            ("http", port(Protocol::Tcp, 8080)),
            ("grpc", port(Protocol::Tcp, 8081)),
        ]),
        ..service("webapp")
    };
    assert!(store.create_service(second).await.is_err());
    assert_eq!(store.get_service(&name("webapp")).await.unwrap(), first);
}

async fn create_answers_distinct_ids(store: SharedStorage) {
    let a = store.create_service(service("a")).await.unwrap();
    let b = store.create_service(service("b")).await.unwrap();
    assert_ne!(a, b);
}

async fn unknown_service_is_not_found_by_any_call(store: SharedStorage) {
    store.create_service(service("known")).await.unwrap();
    let missing = name("missing");
    let not_found = StorageError::NotFound(missing.clone());
    assert_eq!(store.get_service(&missing).await.unwrap_err(), not_found);
    assert_eq!(
        store.lookup_endpoints(&missing).await.unwrap_err(),
        not_found
    );
    let http = ports(&[("http", port(Protocol::Tcp, 80))]);
    assert_eq!(
        store.add_named_ports(&missing, http).await.unwrap_err(),
        not_found
    );
    let stray = endpoint("missing", "10.0.0.1", &[]);
    assert_eq!(store.register_endpoint(stray).await.unwrap_err(), not_found);
    // Nothing was created on the way.
    assert_eq!(store.list_services().await.unwrap().len(), 1);
}

async fn empty_store_lists_nothing(store: SharedStorage) {
    assert_eq!(store.list_services().await.unwrap(), Vec::new());
}

async fn list_is_sorted_by_name_byte_wise(store: SharedStorage) {
    for raw in ["b", "ab", "a1", "a-b", "a"] {
        store.create_service(service(raw)).await.unwrap();
    }
    let names: Vec<String> = store
        .list_services()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(names, ["a", "a-b", "a1", "ab", "b"]);
}

async fn named_ports_are_added_or_replaced_and_others_kept(store: SharedStorage) {
    let webapp = Service {
        named_ports: ports(&[
            ("http", port(Protocol::Tcp, 80)),
            ("metrics", port(Protocol::Tcp, 9090)),
        ]),
        ..service("webapp")
    };
    store.create_service(webapp).await.unwrap();
    let update = ports(&[
        ("http", port(Protocol::Tcp, 8000)),
        ("dns", port(Protocol::Udp, 53)),
    ]);
    store
        .add_named_ports(&name("webapp"), update)
        .await
        .unwrap();
    let expected = ports(&[
        ("dns", port(Protocol::Udp, 53)),
        ("http", port(Protocol::Tcp, 8000)),
        ("metrics", port(Protocol::Tcp, 9090)),
    ]);
    assert_eq!(
        store
            .get_service(&name("webapp"))
            .await
            .unwrap()
            .named_ports,
        expected
    );
}

async fn adding_no_ports_to_a_service_succeeds(store: SharedStorage) {
    store.create_service(service("webapp")).await.unwrap();
    store
        .add_named_ports(&name("webapp"), NamedPorts::new())
        .await
        .expect("an existing service with nothing to add is not an error");
    assert!(
        store
            .get_service(&name("webapp"))
            .await
            .unwrap()
            .named_ports
            .is_empty()
    );
}

async fn endpoints_come_back_in_registration_order(store: SharedStorage) {
    store.create_service(service("webapp")).await.unwrap();
    let registered = [
        endpoint("webapp", "10.0.0.9", &["zone-b", "canary"]),
        endpoint("webapp", "2001:db8::1", &[]),
        endpoint("webapp", "10.0.0.1", &["zone-a"]),
        endpoint("webapp", "::ffff:192.0.2.1", &["mapped"]),
    ];
    for e in &registered {
        store.register_endpoint(e.clone()).await.unwrap();
    }
    assert_eq!(
        store.lookup_endpoints(&name("webapp")).await.unwrap(),
        registered
    );
}

async fn registering_an_address_again_replaces_its_tags_in_place(store: SharedStorage) {
    store.create_service(service("webapp")).await.unwrap();
    for e in [
        endpoint("webapp", "10.0.0.1", &["old"]),
        endpoint("webapp", "10.0.0.2", &[]),
        endpoint("webapp", "10.0.0.1", &["new", "tags"]),
    ] {
        store.register_endpoint(e).await.unwrap();
    }
    assert_eq!(
        store.lookup_endpoints(&name("webapp")).await.unwrap(),
        [
            endpoint("webapp", "10.0.0.1", &["new", "tags"]),
            endpoint("webapp", "10.0.0.2", &[]),
        ]
    );
}

async fn service_without_endpoints_has_none(store: SharedStorage) {
    store.create_service(service("webapp")).await.unwrap();
    assert_eq!(
        store.lookup_endpoints(&name("webapp")).await.unwrap(),
        Vec::<Endpoint>::new()
    );
}

async fn endpoints_belong_to_their_service_only(store: SharedStorage) {
    store.create_service(service("web")).await.unwrap();
    store.create_service(service("db")).await.unwrap();
    // The same address may serve two services.
    for e in [
        endpoint("web", "10.0.0.1", &["web"]),
        endpoint("db", "10.0.0.1", &["db"]),
        endpoint("db", "10.0.0.2", &[]),
    ] {
        store.register_endpoint(e).await.unwrap();
    }
    assert_eq!(
        store.lookup_endpoints(&name("web")).await.unwrap(),
        [endpoint("web", "10.0.0.1", &["web"])]
    );
    assert_eq!(
        store.lookup_endpoints(&name("db")).await.unwrap(),
        [
            endpoint("db", "10.0.0.1", &["db"]),
            endpoint("db", "10.0.0.2", &[])
        ]
    );
}

async fn concurrent_creates_of_one_name_let_exactly_one_win(store: SharedStorage) {
    const RACERS: usize = 8;
    let racers: Vec<_> = (0..RACERS)
        .map(|i| {
            let store = store.clone();
            let racer = Service {
                attributes: attributes(&[("racer", &i.to_string())]),
                ..service("contested")
            };
            tokio::spawn(async move { store.create_service(racer).await })
        })
        .collect();
    let mut won = 0;
    for racer in racers {
        match racer.await.unwrap() {
            Ok(_) => won += 1,
            Err(err) => assert_eq!(err, StorageError::AlreadyExists(name("contested"))),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(store.list_services().await.unwrap().len(), 1);
}

async fn concurrent_registrations_all_land(store: SharedStorage) {
    const ADDRESSES: u8 = 20;
    store.create_service(service("webapp")).await.unwrap();
    let registrations: Vec<_> = (1..=ADDRESSES)
        .map(|i| {
            let store = store.clone();
            let e = endpoint("webapp", &format!("10.0.1.{i}"), &[]);
            tokio::spawn(async move { store.register_endpoint(e).await })
        })
        .collect();
    for registration in registrations {
        registration.await.unwrap().unwrap();
    }
    let mut found: Vec<IpAddr> = store
        .lookup_endpoints(&name("webapp"))
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.ip)
        .collect();
    found.sort();
    let expected: Vec<IpAddr> = (1..=ADDRESSES)
        .map(|i| format!("10.0.1.{i}").parse().unwrap())
        .collect();
    assert_eq!(found, expected);
}
