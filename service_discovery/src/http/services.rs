//! Services: create, list, look up, and add named ports.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use super::HttpState;
use super::error::ApiError;
use super::json_body::JsonBody;
use super::path::ServicePath;
use super::respond::Pretty;
use crate::model::{Attributes, NamedPort, NamedPorts, Service, ServiceName, validate_port_name};

/// Body of `PUT /service`; only `name` is required.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewService {
    name: ServiceName,
    #[serde(default)]
    attributes: Attributes,
    #[serde(default)]
    named_ports: BTreeMap<String, NamedPort>,
}

pub async fn create(
    State(state): State<HttpState>,
    JsonBody(body): JsonBody<NewService>,
) -> Result<Response, ApiError> {
    let service = Service {
        name: body.name,
        attributes: body.attributes,
        named_ports: port_names(body.named_ports, "named_ports")?,
    };
    let name = service.name.clone();
    let id = state.storage.create_service(service).await?;
    tracing::info!(service = %name, %id, "service created");
    Ok(Pretty(false).ok(&serde_json::json!({ "id": id })))
}

pub async fn list(State(state): State<HttpState>, pretty: Pretty) -> Result<Response, ApiError> {
    let services = state.storage.list_services().await?;
    Ok(pretty.ok(&services))
}

pub async fn get(
    State(state): State<HttpState>,
    ServicePath(name): ServicePath,
    pretty: Pretty,
) -> Result<Response, ApiError> {
    let service = state.storage.get_service(&name).await?;
    Ok(pretty.ok(&service))
}

/// `PUT /service/{name}/ports` (and `/port`, the original README's
/// spelling): adds or replaces the given ports, answers the whole service.
pub async fn add_ports(
    State(state): State<HttpState>,
    ServicePath(name): ServicePath,
    JsonBody(body): JsonBody<BTreeMap<String, NamedPort>>,
) -> Result<Response, ApiError> {
    if body.is_empty() {
        return Err(ApiError::unprocessable(
            "expected at least one named port, such as {\"http\": {\"protocol\": \"tcp\", \"port\": 8000}}",
        ));
    }
    let ports = port_names(body, "")?;
    state.storage.add_named_ports(&name, ports).await?;
    tracing::info!(service = %name, "named ports added");
    let service = state.storage.get_service(&name).await?;
    Ok(Pretty(false).ok(&service))
}

/// Port names become SRV labels (`_http._tcp`), so they follow the same
/// rules as service names.
fn port_names(raw: BTreeMap<String, NamedPort>, field: &str) -> Result<NamedPorts, ApiError> {
    raw.into_iter()
        .map(|(name, port)| {
            validate_port_name(&name)
                .map(|name| (name, port))
                .map_err(|e| {
                    let at = if field.is_empty() {
                        name.clone()
                    } else {
                        format!("{field}.{name}")
                    };
                    ApiError::unprocessable(format!("{at}: {}", e.reason))
                })
        })
        .collect()
}
