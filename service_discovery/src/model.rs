//! Domain types shared by every protocol and every storage backend.
//!
//! Values are validated once, when they enter the service, so protocol
//! handlers and backends can trust what they are given. Each constructor
//! returns a [`ValidationError`] whose message names the offending field.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a value was refused; the message is shown to the client as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ValidationError {
    pub field: String,
    pub reason: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// A service name: one DNS label, stored lower-case so that lookups over
/// HTTP, gRPC and DNS are case-insensitive alike.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct ServiceName(String);

impl ServiceName {
    pub const MAX_LEN: usize = 63;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let name = raw.to_ascii_lowercase();
        if name.is_empty() {
            return Err(ValidationError::new("name", "must not be empty"));
        }
        if name.len() > Self::MAX_LEN {
            return Err(ValidationError::new(
                "name",
                format!("must be at most {} characters", Self::MAX_LEN),
            ));
        }
        let valid_chars = name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid_chars || name.starts_with('-') || name.ends_with('-') {
            return Err(ValidationError::new(
                "name",
                format!("{raw:?} is not a DNS label (letters, digits and inner hyphens only)"),
            ));
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ServiceName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        // The deserialiser's error path already names the field.
        Self::parse(&raw).map_err(|e| serde::de::Error::custom(e.reason))
    }
}

/// Transport protocol of a named port, as used in SRV names (`_http._tcp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

impl FromStr for Protocol {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Ok(Protocol::Tcp),
            "udp" => Ok(Protocol::Udp),
            other => Err(ValidationError::new(
                "protocol",
                format!("{other:?} is not supported (tcp or udp)"),
            )),
        }
    }
}

/// A TCP/UDP port number, 1..=65535.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Port(u16);

impl Port {
    pub fn new(value: i64) -> Result<Self, ValidationError> {
        match u16::try_from(value) {
            Ok(p) if p != 0 => Ok(Self(p)),
            _ => Err(ValidationError::new(
                "port",
                format!("{value} is out of range (1..65535)"),
            )),
        }
    }

    pub fn get(self) -> u16 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Port {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_i64(PortVisitor)
    }
}

/// Says "expected a port number" rather than serde's "expected i64".
struct PortVisitor;

impl serde::de::Visitor<'_> for PortVisitor {
    type Value = Port;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a port number 1..65535")
    }

    fn visit_i64<E: serde::de::Error>(self, raw: i64) -> Result<Port, E> {
        // The deserialiser's error path already names the field.
        Port::new(raw).map_err(|e| E::custom(e.reason))
    }

    fn visit_u64<E: serde::de::Error>(self, raw: u64) -> Result<Port, E> {
        Port::new(i64::try_from(raw).unwrap_or(i64::MAX)).map_err(|e| E::custom(e.reason))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedPort {
    pub protocol: Protocol,
    pub port: Port,
}

/// Port names become DNS labels in SRV queries (`_NAME._PROTO.service`).
pub fn validate_port_name(name: &str) -> Result<String, ValidationError> {
    ServiceName::parse(name)
        .map(|n| n.0)
        .map_err(|e| ValidationError::new("named_ports", format!("port name {}", e.reason)))
}

pub type Attributes = BTreeMap<String, String>;
pub type NamedPorts = BTreeMap<String, NamedPort>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Service {
    pub name: ServiceName,
    pub attributes: Attributes,
    pub named_ports: NamedPorts,
}

/// One address registered for a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    pub service_name: ServiceName,
    pub ip: IpAddr,
    pub tags: Vec<String>,
}

/// Identifier handed back when a service is created.
pub type ServiceId = uuid::Uuid;
