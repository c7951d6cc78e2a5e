//! Rows into model values and model values into statement parameters.

use std::net::IpAddr;

use tokio_postgres::Row;
use tokio_postgres::types::Json;

use crate::model::{Attributes, Endpoint, NamedPorts, Service, ServiceName};
use crate::storage::{StorageError, StorageResult};

/// Named ports as the three parallel arrays the write statements `unnest`.
pub struct PortColumns {
    pub names: Vec<String>,
    pub protocols: Vec<&'static str>,
    pub numbers: Vec<i32>,
}

impl From<&NamedPorts> for PortColumns {
    fn from(ports: &NamedPorts) -> Self {
        Self {
            names: ports.keys().cloned().collect(),
            protocols: ports.values().map(|p| p.protocol.as_str()).collect(),
            numbers: ports.values().map(|p| i32::from(p.port.get())).collect(),
        }
    }
}

/// A row of `GET_SERVICE` or `LIST_SERVICES`.
pub fn service(row: &Row) -> StorageResult<Service> {
    let name: String = row.try_get(0).map_err(unexpected)?;
    let Json(attributes): Json<Attributes> = row.try_get(1).map_err(unexpected)?;
    let Json(named_ports): Json<NamedPorts> = row.try_get(2).map_err(unexpected)?;
    Ok(Service {
        name: ServiceName::parse(&name).map_err(unexpected)?,
        attributes,
        named_ports,
    })
}

/// The rows of `LOOKUP_ENDPOINTS` for an existing service.
pub fn endpoints(service: &ServiceName, rows: &[Row]) -> StorageResult<Vec<Endpoint>> {
    let mut endpoints = Vec::with_capacity(rows.len());
    for row in rows {
        let ip: Option<IpAddr> = row.try_get(0).map_err(unexpected)?;
        let Some(ip) = ip else { continue };
        endpoints.push(Endpoint {
            service_name: service.clone(),
            ip,
            tags: row.try_get(1).map_err(unexpected)?,
        });
    }
    Ok(endpoints)
}

/// Only rows written by something else than this service, against the
/// schema's checks, can fail to decode.
fn unexpected(err: impl std::fmt::Display) -> StorageError {
    StorageError::Unavailable(format!("unexpected data in the database: {err}"))
}
