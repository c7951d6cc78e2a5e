//! The zone this server is authoritative for, and what a name inside it
//! can refer to. Pure functions over names: no storage, no sockets.

use hickory_server::proto::rr::rdata::SOA;
use hickory_server::proto::rr::{Name, RData, Record};

use crate::model::{Protocol, ServiceName, validate_port_name};

/// Negative answers (NXDOMAIN, NODATA) may be cached this long, per the SOA
/// MINIMUM field (RFC 2308). Kept short: a service registered right after
/// a miss must become visible within seconds.
const NEGATIVE_TTL: u32 = 5;

#[derive(Debug, thiserror::Error)]
#[error("DNS zone {zone:?} is not a valid domain name: {reason}")]
pub struct ZoneError {
    zone: String,
    reason: String,
}

/// What a queried name inside or outside the zone stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Not in this zone: the server does not answer for it.
    Outside,
    /// The zone's own name: holds the SOA record.
    Apex,
    /// `NAME.ZONE`: the service's endpoint addresses (A / AAAA).
    Service(ServiceName),
    /// `_PROTO.NAME.ZONE`: exists, without records of its own, when the
    /// service has a port with that protocol (an empty non-terminal).
    Protocol {
        service: ServiceName,
        protocol: Protocol,
    },
    /// `_PORT._PROTO.NAME.ZONE`: the SRV record of a named port.
    Port {
        service: ServiceName,
        protocol: Protocol,
        port_name: String,
    },
    /// Inside the zone, but no registration can ever create this name.
    Nowhere,
}

#[derive(Debug, Clone)]
pub struct Zone {
    origin: Name,
    soa: Record,
}

impl Zone {
    pub fn parse(raw: &str) -> Result<Self, ZoneError> {
        let error = |reason: String| ZoneError {
            zone: raw.to_owned(),
            reason,
        };
        let mut origin = Name::from_ascii(raw)
            .map_err(|e| error(e.to_string()))?
            .to_lowercase();
        origin.set_fqdn(true);
        if origin.is_root() {
            return Err(error("the root zone cannot be served".into()));
        }
        let soa = soa_record(&origin).map_err(|e| error(e.to_string()))?;
        Ok(Self { origin, soa })
    }

    pub fn origin(&self) -> &Name {
        &self.origin
    }

    pub fn soa(&self) -> &Record {
        &self.soa
    }

    /// The absolute name of a service, as used for SRV targets.
    pub fn service_name(&self, service: &ServiceName) -> Name {
        Name::from_labels([service.as_str()])
            .and_then(|name| name.append_domain(&self.origin))
            .expect("a service name is one valid DNS label and the zone leaves room for it")
    }

    /// Classifies `name`, which must already be lower-case (queries reach
    /// the handler lower-cased, which is what makes lookups
    /// case-insensitive).
    pub fn classify(&self, name: &Name) -> Target {
        if !self.origin.zone_of(name) {
            return Target::Outside;
        }
        let labels: Vec<&[u8]> = name.iter().collect();
        let relative = &labels[..labels.len() - self.origin.iter().count()];
        match relative {
            [] => Target::Apex,
            [service] => parse_service(service).map_or(Target::Nowhere, Target::Service),
            [protocol, service] => match (parse_protocol(protocol), parse_service(service)) {
                (Some(protocol), Some(service)) => Target::Protocol { service, protocol },
                _ => Target::Nowhere,
            },
            [port, protocol, service] => {
                match (
                    parse_port_name(port),
                    parse_protocol(protocol),
                    parse_service(service),
                ) {
                    (Some(port_name), Some(protocol), Some(service)) => Target::Port {
                        service,
                        protocol,
                        port_name,
                    },
                    _ => Target::Nowhere,
                }
            }
            _ => Target::Nowhere,
        }
    }
}

fn soa_record(origin: &Name) -> Result<Record, hickory_server::proto::ProtoError> {
    // There is no separate name server host: the apex names itself as the
    // primary, so the SOA points at nothing a service could later shadow.
    let soa = SOA::new(
        origin.clone(),
        Name::from_labels(["hostmaster"])?.append_domain(origin)?,
        1,
        3600,
        600,
        86400,
        NEGATIVE_TTL,
    );
    Ok(Record::from_rdata(
        origin.clone(),
        NEGATIVE_TTL,
        RData::SOA(soa),
    ))
}

fn parse_service(label: &[u8]) -> Option<ServiceName> {
    ServiceName::parse(std::str::from_utf8(label).ok()?).ok()
}

/// `_tcp` / `_udp`, the underscore form SRV names use (RFC 2782).
fn parse_protocol(label: &[u8]) -> Option<Protocol> {
    std::str::from_utf8(label.strip_prefix(b"_")?)
        .ok()?
        .parse()
        .ok()
}

fn parse_port_name(label: &[u8]) -> Option<String> {
    validate_port_name(std::str::from_utf8(label.strip_prefix(b"_")?).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone() -> Zone {
        Zone::parse("svc.cluster.local").unwrap()
    }

    fn classify(name: &str) -> Target {
        zone().classify(&Name::from_ascii(name).unwrap().to_lowercase())
    }

    fn service(name: &str) -> ServiceName {
        ServiceName::parse(name).unwrap()
    }

    #[test]
    fn names_map_to_what_they_stand_for() {
        assert_eq!(classify("svc.cluster.local."), Target::Apex);
        assert_eq!(
            classify("webapp.svc.cluster.local."),
            Target::Service(service("webapp"))
        );
        assert_eq!(
            classify("_tcp.webapp.svc.cluster.local."),
            Target::Protocol {
                service: service("webapp"),
                protocol: Protocol::Tcp
            }
        );
        assert_eq!(
            classify("_http._tcp.webapp.svc.cluster.local."),
            Target::Port {
                service: service("webapp"),
                protocol: Protocol::Tcp,
                port_name: "http".into()
            }
        );
    }

    #[test]
    fn case_does_not_matter() {
        assert_eq!(
            classify("_HTTP._Tcp.WebApp.SVC.cluster.LOCAL."),
            classify("_http._tcp.webapp.svc.cluster.local.")
        );
    }

    #[test]
    fn names_outside_the_zone_are_outside() {
        assert_eq!(classify("example.com."), Target::Outside);
        assert_eq!(classify("cluster.local."), Target::Outside);
        assert_eq!(classify("webapp.svc.cluster.local.evil."), Target::Outside);
        assert_eq!(classify("."), Target::Outside);
    }

    #[test]
    fn shapes_no_registration_can_create_are_nowhere() {
        for name in [
            "a.b.c.d.svc.cluster.local.",
            "http._tcp.webapp.svc.cluster.local.",
            "_http.tcp.webapp.svc.cluster.local.",
            "_http._sctp.webapp.svc.cluster.local.",
            "_webapp.svc.cluster.local.",
            "_tcp._tcp.svc.cluster.local.",
            "web_app.svc.cluster.local.",
        ] {
            assert_eq!(classify(name), Target::Nowhere, "{name}");
        }
    }

    #[test]
    fn zone_is_normalised_and_validated() {
        let zone = Zone::parse("Example.COM.").unwrap();
        assert_eq!(zone.origin().to_ascii(), "example.com.");
        assert!(Zone::parse("bad..zone").is_err());
        assert!(Zone::parse(".").is_err());
    }

    #[test]
    fn srv_target_is_the_absolute_service_name() {
        assert_eq!(
            zone().service_name(&service("webapp")).to_ascii(),
            "webapp.svc.cluster.local."
        );
    }
}
