//! Resolves one question against storage. Every query reads storage, so a
//! registration is visible to the very next query.

use std::net::IpAddr;

use hickory_server::proto::rr::rdata::{A, AAAA, SRV};
use hickory_server::proto::rr::{Name, RData, Record, RecordType};

use super::zone::{Target, Zone};
use crate::storage::{Storage, StorageError};

/// TTL of positive answers, as in the original service.
pub const ANSWER_TTL: u32 = 3600;

/// SRV priority and weight: every port has a single target, so the values
/// carry no meaning; 1 and 1 are what the original service answered.
const SRV_PRIORITY: u16 = 1;
const SRV_WEIGHT: u16 = 1;

#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// NOERROR; no records means NODATA (the name exists, not that type).
    Answer(Vec<Record>),
    NxDomain,
    /// Outside the zone: this server is no resolver.
    Refused,
    /// Storage could not be asked.
    ServFail,
}

/// `owner` is the question's name as the client spelled it, used as the
/// owner of the answer records; `name` is its lower-case form.
pub async fn resolve(
    storage: &dyn Storage,
    zone: &Zone,
    owner: &Name,
    name: &Name,
    qtype: RecordType,
) -> Outcome {
    let wants = |rtype: RecordType| qtype == rtype || qtype == RecordType::ANY;
    match zone.classify(name) {
        Target::Outside => Outcome::Refused,
        Target::Nowhere => Outcome::NxDomain,
        Target::Apex => {
            let records = wants(RecordType::SOA).then(|| zone.soa().clone());
            Outcome::Answer(records.into_iter().collect())
        }
        Target::Service(service) => match storage.lookup_endpoints(&service).await {
            Ok(endpoints) => Outcome::Answer(
                endpoints
                    .iter()
                    .filter_map(|endpoint| address_record(owner, endpoint.ip, &wants))
                    .collect(),
            ),
            Err(error) => failed(error),
        },
        Target::Protocol { service, protocol } => match storage.get_service(&service).await {
            Ok(found) if found.named_ports.values().any(|p| p.protocol == protocol) => {
                Outcome::Answer(Vec::new())
            }
            Ok(_) => Outcome::NxDomain,
            Err(error) => failed(error),
        },
        Target::Port {
            service,
            protocol,
            port_name,
        } => match storage.get_service(&service).await {
            Ok(found) => match found.named_ports.get(&port_name) {
                Some(port) if port.protocol == protocol => {
                    let records = wants(RecordType::SRV).then(|| {
                        let srv = SRV::new(
                            SRV_PRIORITY,
                            SRV_WEIGHT,
                            port.port.get(),
                            zone.service_name(&service),
                        );
                        Record::from_rdata(owner.clone(), ANSWER_TTL, RData::SRV(srv))
                    });
                    Outcome::Answer(records.into_iter().collect())
                }
                _ => Outcome::NxDomain,
            },
            Err(error) => failed(error),
        },
    }
}

fn address_record(owner: &Name, ip: IpAddr, wants: &impl Fn(RecordType) -> bool) -> Option<Record> {
    let data = match ip {
        IpAddr::V4(v4) if wants(RecordType::A) => RData::A(A(v4)),
        IpAddr::V6(v6) if wants(RecordType::AAAA) => RData::AAAA(AAAA(v6)),
        _ => return None,
    };
    Some(Record::from_rdata(owner.clone(), ANSWER_TTL, data))
}

/// Reads fail either because the service does not exist or because storage
/// is down; anything else would be a backend bug, which the client must not
/// take for a negative (and cacheable) answer either.
fn failed(error: StorageError) -> Outcome {
    match error {
        StorageError::NotFound(_) => Outcome::NxDomain,
        StorageError::Unavailable(_) | StorageError::AlreadyExists(_) => Outcome::ServFail,
    }
}
