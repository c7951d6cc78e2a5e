//! Translation between protobuf messages and the domain model. Requests are
//! validated here through `model`, so every refusal names the request field
//! the client has to fix, in the request's own terms.

use std::net::IpAddr;

use tonic::Status;

use super::proto;
use crate::model::{
    Endpoint, NamedPort, NamedPorts, Port, Service, ServiceName, ValidationError,
    validate_port_name,
};

fn invalid(path: impl std::fmt::Display, error: ValidationError) -> Status {
    Status::invalid_argument(format!("{path}: {}", error.reason))
}

fn missing(path: &str) -> Status {
    Status::invalid_argument(format!("{path}: is required"))
}

pub(super) fn service_name(path: &str, raw: &str) -> Result<ServiceName, Status> {
    ServiceName::parse(raw).map_err(|e| invalid(path, e))
}

pub(super) fn named_ports(
    path: &str,
    raw: impl IntoIterator<Item = (String, proto::NamedPort)>,
) -> Result<NamedPorts, Status> {
    raw.into_iter()
        .map(|(name, port)| {
            let entry = format!("{path}[{name:?}]");
            let name = validate_port_name(&name).map_err(|e| invalid(&entry, e))?;
            let protocol = port
                .protocol
                .parse()
                .map_err(|e| invalid(format_args!("{entry}.protocol"), e))?;
            let port = Port::new(port.port.into())
                .map_err(|e| invalid(format_args!("{entry}.port"), e))?;
            Ok((name, NamedPort { protocol, port }))
        })
        .collect()
}

pub(super) fn service(raw: Option<proto::Service>) -> Result<Service, Status> {
    let raw = raw.ok_or_else(|| missing("service"))?;
    Ok(Service {
        name: service_name("service.name", &raw.name)?,
        attributes: raw.attributes.into_iter().collect(),
        named_ports: named_ports("service.named_ports", raw.named_ports)?,
    })
}

pub(super) fn endpoint(
    service_name: ServiceName,
    raw: Option<proto::Endpoint>,
) -> Result<Endpoint, Status> {
    let raw = raw.ok_or_else(|| missing("endpoint"))?;
    if !raw.service_name.is_empty() && !raw.service_name.eq_ignore_ascii_case(service_name.as_str())
    {
        return Err(Status::invalid_argument(format!(
            "endpoint.service_name: {:?} does not match service_name {:?}",
            raw.service_name,
            service_name.as_str()
        )));
    }
    if raw.port != 0 || !raw.port_name.is_empty() {
        return Err(Status::invalid_argument(
            "endpoint.port: endpoints carry no port; declare ports on the service with AddNamedPorts",
        ));
    }
    let ip: IpAddr = raw.ip.parse().map_err(|_| {
        Status::invalid_argument(format!(
            "endpoint.ip: {:?} is not an IPv4 or IPv6 address",
            raw.ip
        ))
    })?;
    Ok(Endpoint {
        service_name,
        ip,
        tags: raw.tags,
    })
}

pub(super) fn service_to_proto(service: Service) -> proto::Service {
    proto::Service {
        name: service.name.as_str().to_owned(),
        attributes: service.attributes.into_iter().collect(),
        named_ports: service
            .named_ports
            .into_iter()
            .map(|(name, port)| {
                let port = proto::NamedPort {
                    protocol: port.protocol.as_str().to_owned(),
                    port: port.port.get().into(),
                };
                (name, port)
            })
            .collect(),
    }
}

pub(super) fn endpoint_to_proto(endpoint: Endpoint) -> proto::Endpoint {
    proto::Endpoint {
        service_name: endpoint.service_name.as_str().to_owned(),
        ip: endpoint.ip.to_string(),
        port: 0,
        port_name: String::new(),
        tags: endpoint.tags,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(protocol: &str, port: i32) -> proto::NamedPort {
        proto::NamedPort {
            protocol: protocol.into(),
            port,
        }
    }

    #[test]
    fn port_errors_name_the_entry_and_field() {
        let err =
            named_ports("named_ports", [("http".to_owned(), port("tcp", 70000))]).unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
        assert_eq!(
            err.message(),
            "named_ports[\"http\"].port: 70000 is out of range (1..65535)"
        );

        let err = named_ports("named_ports", [("http".to_owned(), port("sctp", 80))]).unwrap_err();
        assert!(
            err.message()
                .starts_with("named_ports[\"http\"].protocol: ")
        );
    }

    #[test]
    fn port_names_and_protocols_are_case_insensitive() {
        let ports = named_ports("named_ports", [("HTTP".to_owned(), port("TCP", 8000))]).unwrap();
        let http = &ports["http"];
        assert_eq!(http.port.get(), 8000);
        assert_eq!(http.protocol.as_str(), "tcp");
    }

    #[test]
    fn endpoint_refuses_a_mismatched_service_name() {
        let name = ServiceName::parse("webapp").unwrap();
        let raw = proto::Endpoint {
            service_name: "other".into(),
            ip: "127.0.0.1".into(),
            ..Default::default()
        };
        let err = endpoint(name, Some(raw)).unwrap_err();
        assert!(err.message().starts_with("endpoint.service_name: "));
    }
}
