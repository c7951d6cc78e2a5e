//! DNS answers through hickory's client, over UDP and over TCP, against a
//! real server: the record types, the negative answers and their codes.

mod dns_support;
mod front_end_support;

use dns_support::{DnsServer, TRANSPORTS, Transport};
use front_end_support::{UnreachableStorage, name, seeded_storage};
use hickory_server::proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_server::proto::rr::{Name, RecordType};
use service_discovery::model::Endpoint;

/// Answer records in zone-file form, sorted: easy to read in a failure.
fn answers(message: &Message) -> Vec<String> {
    let mut lines: Vec<_> = message.answers.iter().map(ToString::to_string).collect();
    lines.sort();
    lines
}

fn authority(message: &Message) -> Vec<String> {
    message
        .authorities
        .iter()
        .map(ToString::to_string)
        .collect()
}

const SOA: &str = "svc.cluster.local. 5 IN SOA svc.cluster.local. hostmaster.svc.cluster.local. 1 3600 600 86400 5";

#[tokio::test]
async fn a_and_aaaa_answer_the_endpoint_addresses_authoritatively() {
    let server = DnsServer::start(seeded_storage().await).await;
    for transport in TRANSPORTS {
        let a = server
            .query(transport, "webapp.svc.cluster.local.", RecordType::A)
            .await;
        assert_eq!(a.response_code, ResponseCode::NoError, "{transport:?}");
        assert!(a.authoritative, "{transport:?}: AA flag missing");
        assert_eq!(
            answers(&a),
            ["webapp.svc.cluster.local. 3600 IN A 127.0.0.1"]
        );

        let aaaa = server
            .query(transport, "webapp.svc.cluster.local.", RecordType::AAAA)
            .await;
        assert_eq!(aaaa.response_code, ResponseCode::NoError, "{transport:?}");
        assert!(aaaa.authoritative);
        assert_eq!(
            answers(&aaaa),
            ["webapp.svc.cluster.local. 3600 IN AAAA ::1"]
        );
    }
}

#[tokio::test]
async fn srv_answers_the_named_port_with_the_service_as_target() {
    let server = DnsServer::start(seeded_storage().await).await;
    for transport in TRANSPORTS {
        let srv = server
            .query(
                transport,
                "_http._tcp.webapp.svc.cluster.local.",
                RecordType::SRV,
            )
            .await;
        assert_eq!(srv.response_code, ResponseCode::NoError, "{transport:?}");
        assert!(srv.authoritative);
        assert_eq!(
            answers(&srv),
            ["_http._tcp.webapp.svc.cluster.local. 3600 IN SRV 1 1 8000 webapp.svc.cluster.local."]
        );
    }
}

#[tokio::test]
async fn unknown_names_and_ports_are_nxdomain_with_the_zone_soa() {
    let server = DnsServer::start(seeded_storage().await).await;
    let questions = [
        ("nothing.svc.cluster.local.", RecordType::A),
        ("_grpc._tcp.webapp.svc.cluster.local.", RecordType::SRV),
        // The port exists, but not with this protocol.
        ("_http._udp.webapp.svc.cluster.local.", RecordType::SRV),
        ("_udp.webapp.svc.cluster.local.", RecordType::SRV),
        ("_http._tcp.nothing.svc.cluster.local.", RecordType::SRV),
        ("a.b.c.webapp.svc.cluster.local.", RecordType::A),
        ("not_a_label.svc.cluster.local.", RecordType::A),
    ];
    for transport in TRANSPORTS {
        for (qname, rtype) in questions {
            let reply = server.query(transport, qname, rtype).await;
            assert_eq!(
                reply.response_code,
                ResponseCode::NXDomain,
                "{transport:?} {qname}"
            );
            assert!(reply.authoritative, "{qname}");
            assert!(reply.answers.is_empty());
            assert_eq!(authority(&reply), [SOA], "{qname}");
        }
    }
}

#[tokio::test]
async fn names_that_exist_without_the_asked_type_are_nodata() {
    let server = DnsServer::start(seeded_storage().await).await;
    let questions = [
        ("webapp.svc.cluster.local.", RecordType::SRV),
        ("webapp.svc.cluster.local.", RecordType::TXT),
        ("_http._tcp.webapp.svc.cluster.local.", RecordType::A),
        // Exists as the parent of `_http._tcp.webapp`.
        ("_tcp.webapp.svc.cluster.local.", RecordType::SRV),
        ("svc.cluster.local.", RecordType::A),
    ];
    for (qname, rtype) in questions {
        let reply = server.query(Transport::Udp, qname, rtype).await;
        assert_eq!(
            reply.response_code,
            ResponseCode::NoError,
            "{qname} {rtype}"
        );
        assert!(reply.authoritative);
        assert!(
            reply.answers.is_empty(),
            "{qname} {rtype}: {:?}",
            answers(&reply)
        );
        assert_eq!(authority(&reply), [SOA], "{qname} {rtype}");
    }
}

#[tokio::test]
async fn the_zone_apex_answers_its_soa() {
    let server = DnsServer::start(seeded_storage().await).await;
    let reply = server
        .query(Transport::Udp, "svc.cluster.local.", RecordType::SOA)
        .await;
    assert_eq!(reply.response_code, ResponseCode::NoError);
    assert_eq!(answers(&reply), [SOA]);
}

#[tokio::test]
async fn names_outside_the_zone_are_refused() {
    let server = DnsServer::start(seeded_storage().await).await;
    for transport in TRANSPORTS {
        for qname in [
            "example.com.",
            "cluster.local.",
            "webapp.svc.cluster.local.example.",
        ] {
            let reply = server.query(transport, qname, RecordType::A).await;
            assert_eq!(
                reply.response_code,
                ResponseCode::Refused,
                "{transport:?} {qname}"
            );
            assert!(!reply.authoritative, "{qname}");
            assert!(reply.answers.is_empty());
        }
    }
}

/// hickory's client reports owner names in lower case, so answers are
/// compared case-insensitively here; `dns_dig` checks the spelling.
#[tokio::test]
async fn queries_are_case_insensitive() {
    let server = DnsServer::start(seeded_storage().await).await;
    let lower = |message: &Message| -> Vec<String> {
        answers(message)
            .iter()
            .map(|a| a.to_ascii_lowercase())
            .collect()
    };
    for transport in TRANSPORTS {
        let a = server
            .query(transport, "WebApp.SVC.Cluster.Local.", RecordType::A)
            .await;
        assert_eq!(lower(&a), ["webapp.svc.cluster.local. 3600 in a 127.0.0.1"]);

        let srv = server
            .query(
                transport,
                "_HTTP._TCP.WEBAPP.svc.cluster.local.",
                RecordType::SRV,
            )
            .await;
        assert_eq!(
            lower(&srv),
            ["_http._tcp.webapp.svc.cluster.local. 3600 in srv 1 1 8000 webapp.svc.cluster.local."]
        );
    }
}

#[tokio::test]
async fn registrations_are_answered_by_the_very_next_query() {
    let storage = seeded_storage().await;
    let server = DnsServer::start(storage.clone()).await;
    let query = || server.query(Transport::Udp, "webapp.svc.cluster.local.", RecordType::A);
    assert_eq!(answers(&query().await).len(), 1);

    storage
        .register_endpoint(Endpoint {
            service_name: name("webapp"),
            ip: "10.1.2.3".parse().unwrap(),
            tags: Vec::new(),
        })
        .await
        .unwrap();
    assert_eq!(
        answers(&query().await),
        [
            "webapp.svc.cluster.local. 3600 IN A 10.1.2.3",
            "webapp.svc.cluster.local. 3600 IN A 127.0.0.1"
        ]
    );
}

#[tokio::test]
async fn any_answers_every_address() {
    let server = DnsServer::start(seeded_storage().await).await;
    let reply = server
        .query(Transport::Tcp, "webapp.svc.cluster.local.", RecordType::ANY)
        .await;
    assert_eq!(
        answers(&reply),
        [
            "webapp.svc.cluster.local. 3600 IN A 127.0.0.1",
            "webapp.svc.cluster.local. 3600 IN AAAA ::1"
        ]
    );
}

#[tokio::test]
async fn storage_unavailable_is_servfail_never_a_negative_answer() {
    let server = DnsServer::start(UnreachableStorage::shared()).await;
    for transport in TRANSPORTS {
        for (qname, rtype) in [
            ("webapp.svc.cluster.local.", RecordType::A),
            ("_http._tcp.webapp.svc.cluster.local.", RecordType::SRV),
        ] {
            let reply = server.query(transport, qname, rtype).await;
            assert_eq!(
                reply.response_code,
                ResponseCode::ServFail,
                "{transport:?} {qname}"
            );
            assert!(
                reply.authorities.is_empty(),
                "a SERVFAIL must not carry a cacheable SOA"
            );
        }
    }
}

#[tokio::test]
async fn the_zone_is_configurable() {
    let server = DnsServer::start_in_zone(seeded_storage().await, "Discovery.Example").await;
    let srv = server
        .query(
            Transport::Udp,
            "_http._tcp.webapp.discovery.example.",
            RecordType::SRV,
        )
        .await;
    assert_eq!(
        answers(&srv),
        ["_http._tcp.webapp.discovery.example. 3600 IN SRV 1 1 8000 webapp.discovery.example."]
    );
    let default_zone = server
        .query(Transport::Udp, "webapp.svc.cluster.local.", RecordType::A)
        .await;
    assert_eq!(default_zone.response_code, ResponseCode::Refused);
}

#[tokio::test]
async fn an_invalid_zone_is_an_error_not_a_silent_server() {
    let storage = seeded_storage().await;
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let error =
        service_discovery::dns::serve(storage, "bad..zone", udp, tcp, std::future::pending())
            .await
            .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("DNS zone \"bad..zone\" is not a valid domain name"),
        "{error}"
    );
}

#[tokio::test]
async fn shutdown_stops_the_server_promptly_even_with_an_idle_tcp_client() {
    let server = DnsServer::start(seeded_storage().await).await;
    let idle = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let stopped = server.begin_stop();
    tokio::time::timeout(std::time::Duration::from_secs(2), stopped)
        .await
        .expect("DNS server stops within 2 s")
        .unwrap()
        .unwrap();
    drop(idle);
}

#[tokio::test]
async fn answers_return_as_soon_as_storage_does() {
    let storage = front_end_support::SwitchableStorage::new();
    let server = DnsServer::start(storage.clone()).await;
    let query = || server.query(Transport::Udp, "webapp.svc.cluster.local.", RecordType::A);

    storage.set_down(true);
    assert_eq!(query().await.response_code, ResponseCode::ServFail);
    storage.set_down(false);
    assert_eq!(query().await.response_code, ResponseCode::NXDomain);
}

/// Many endpoints do not fit one UDP datagram: the UDP reply is cut to the
/// client's size with TC set, and TCP carries the whole answer.
#[tokio::test]
async fn large_answers_are_truncated_over_udp_and_complete_over_tcp() {
    let storage = seeded_storage().await;
    for i in 0..100u8 {
        let endpoint = Endpoint {
            service_name: name("webapp"),
            ip: std::net::Ipv4Addr::new(10, 0, 1, i).into(),
            tags: Vec::new(),
        };
        storage.register_endpoint(endpoint).await.unwrap();
    }
    let server = DnsServer::start(storage).await;

    // Without EDNS a client can only take 512 bytes.
    let mut query = Message::new(21, MessageType::Query, OpCode::Query);
    query.add_query(Query::query(
        Name::from_ascii("webapp.svc.cluster.local.").unwrap(),
        RecordType::A,
    ));
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket
        .send_to(&query.to_vec().unwrap(), server.addr)
        .await
        .unwrap();
    let mut buffer = [0; 4096];
    let len = tokio::time::timeout(std::time::Duration::from_secs(2), socket.recv(&mut buffer))
        .await
        .unwrap()
        .unwrap();
    assert!(
        len <= 512,
        "UDP reply of {len} bytes to a client without EDNS"
    );
    let reply = Message::from_vec(&buffer[..len]).unwrap();
    assert!(reply.truncation, "TC flag missing");
    assert!(reply.answers.len() < 101);

    // A client offering 4096 bytes still gets at most 1232, unfragmented.
    let mut edns = Edns::new();
    edns.set_max_payload(4096);
    query.set_edns(edns);
    socket
        .send_to(&query.to_vec().unwrap(), server.addr)
        .await
        .unwrap();
    let len = tokio::time::timeout(std::time::Duration::from_secs(2), socket.recv(&mut buffer))
        .await
        .unwrap()
        .unwrap();
    assert!(len <= 1232, "UDP reply of {len} bytes");
    let reply = Message::from_vec(&buffer[..len]).unwrap();
    assert!(reply.truncation, "TC flag missing");
    assert_eq!(reply.edns.map(|e| e.max_payload()), Some(1232));

    let whole = server
        .query(Transport::Tcp, "webapp.svc.cluster.local.", RecordType::A)
        .await;
    assert!(!whole.truncation);
    assert_eq!(whole.answers.len(), 101);
}
