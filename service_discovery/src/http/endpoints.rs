//! Endpoints: register an address for a service, list a service's addresses.

use std::net::IpAddr;

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use super::HttpState;
use super::error::ApiError;
use super::json_body::JsonBody;
use super::path::ServicePath;
use super::respond::Pretty;
use crate::model::Endpoint;

/// Body of `PUT /service/{name}/register`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    ip: String,
    #[serde(default)]
    tags: Vec<String>,
}

pub async fn register(
    State(state): State<HttpState>,
    ServicePath(name): ServicePath,
    JsonBody(body): JsonBody<Registration>,
) -> Result<Response, ApiError> {
    let ip: IpAddr = body.ip.trim().parse().map_err(|_| {
        ApiError::unprocessable(format!("ip: {:?} is not an IPv4 or IPv6 address", body.ip))
    })?;
    let endpoint = Endpoint {
        service_name: name,
        ip,
        tags: body.tags,
    };
    state.storage.register_endpoint(endpoint.clone()).await?;
    tracing::info!(service = %endpoint.service_name, %ip, "endpoint registered");
    Ok(Pretty(false).ok(&endpoint))
}

pub async fn list(
    State(state): State<HttpState>,
    ServicePath(name): ServicePath,
    pretty: Pretty,
) -> Result<Response, ApiError> {
    let endpoints = state.storage.lookup_endpoints(&name).await?;
    Ok(pretty.ok(&endpoints))
}
