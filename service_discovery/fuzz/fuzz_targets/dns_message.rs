//! Any bytes, answered the way the DNS server answers a datagram: no panic,
//! and every reply is a well-formed response to the message it answers.

#![no_main]

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use hickory_proto::op::{Message, MessageType, ResponseCode};
use libfuzzer_sys::fuzz_target;
use service_discovery::dns::{Responder, Zone};
use service_discovery::model::{Endpoint, NamedPort, Port, Protocol, Service, ServiceName};
use service_discovery::storage::{MemoryStorage, Storage};
use tokio::runtime::Runtime;

struct Fixture {
    runtime: Runtime,
    responder: Responder,
}

/// One registered service with a port and both address families, so that
/// inputs can reach every kind of answer, not only NXDOMAIN.
static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let storage = Arc::new(MemoryStorage::new());
    runtime.block_on(async {
        let name = ServiceName::parse("webapp").unwrap();
        let port = NamedPort {
            protocol: Protocol::Tcp,
            port: Port::new(8000).unwrap(),
        };
        let service = Service {
            name: name.clone(),
            attributes: BTreeMap::new(),
            named_ports: BTreeMap::from([("http".to_owned(), port)]),
        };
        storage.create_service(service).await.unwrap();
        for ip in ["10.0.0.1", "fd00::1"] {
            let endpoint = Endpoint {
                service_name: name.clone(),
                ip: ip.parse().unwrap(),
                tags: Vec::new(),
            };
            storage.register_endpoint(endpoint).await.unwrap();
        }
    });
    let zone = Zone::parse("svc.cluster.local").unwrap();
    Fixture {
        runtime,
        responder: Responder::new(storage, zone),
    }
});

fuzz_target!(|packet: &[u8]| {
    let fixture = &*FIXTURE;
    let Some(reply) = fixture.runtime.block_on(fixture.responder.respond(packet)) else {
        return;
    };
    let reply = Message::from_vec(&reply).expect("every reply decodes");
    assert_eq!(reply.message_type, MessageType::Response);
    assert_eq!(reply.id, u16::from_be_bytes([packet[0], packet[1]]));
    if !reply.answers.is_empty() {
        assert_eq!(reply.response_code, ResponseCode::NoError);
        assert!(reply.authoritative, "answers are authoritative");
    }
});
