//! The project's runner image as a testcontainers image, for the tests that
//! put it on a network beside PostgreSQL: built once per test run (see
//! [`integration_suite::builds::project_images`]), ready when the service
//! logs that it is, the ports its container contract lists published on
//! 127.0.0.1 only. Tests that need no network of their own start the
//! runner as the pipeline layer does, with
//! [`integration_suite::containers::service_container::ServiceContainer`].

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::SocketAddr;

use anyhow::{Context, Result, bail};
use testcontainers::core::{ContainerPort, WaitFor};
use testcontainers::{ContainerAsync, ContainerRequest, Image};

use integration_suite::builds::project_images::{Target, project_image};
use integration_suite::containers::service_container::START_TIMEOUT;
use integration_suite::contract::service_package::service_package;

use crate::suite_request::{container_port, suite_request};

/// The service logs one JSON object per line; this one once it listens.
/// Readiness over HTTP cannot be the condition: with the database down,
/// `/ready` answers 503 by design.
const READY_LOG: &str = r#""message":"ready""#;

/// The runner image with the environment a test gives it.
#[derive(Debug, Clone)]
pub struct ServiceDiscoveryImage {
    name: String,
    tag: String,
    env: HashMap<String, String>,
    ports: Vec<ContainerPort>,
}

impl ServiceDiscoveryImage {
    /// The runner built from the working tree (built on first use).
    pub async fn runner() -> Result<Self> {
        let image = project_image(Target::Runner).await?;
        let reference = image
            .tags
            .first()
            .with_context(|| format!("the runner image {} has no tag", image.id))?;
        let Some((name, tag)) = reference.rsplit_once(':') else {
            bail!("runner tag {reference} has no tag part");
        };
        let ports = service_package()?
            .contract
            .ports
            .iter()
            .copied()
            .map(container_port)
            .collect();
        Ok(Self {
            name: name.to_owned(),
            tag: tag.to_owned(),
            env: HashMap::new(),
            ports,
        })
    }

    /// `name:tag`, for tools other than testcontainers (compose).
    pub fn reference(&self) -> String {
        format!("{}:{}", self.name, self.tag)
    }

    pub fn with_env(mut self, name: &str, value: impl Into<String>) -> Self {
        self.env.insert(name.to_owned(), value.into());
        self
    }

    /// A container request publishing every port on 127.0.0.1.
    pub fn request(self) -> ContainerRequest<Self> {
        let ports = self.ports.clone();
        suite_request(self, &ports, START_TIMEOUT)
    }
}

impl Image for ServiceDiscoveryImage {
    fn name(&self) -> &str {
        &self.name
    }

    fn tag(&self) -> &str {
        &self.tag
    }

    fn ready_conditions(&self) -> Vec<WaitFor> {
        vec![WaitFor::message_on_stdout(READY_LOG)]
    }

    fn env_vars(
        &self,
    ) -> impl IntoIterator<Item = (impl Into<Cow<'_, str>>, impl Into<Cow<'_, str>>)> {
        &self.env
    }

    fn expose_ports(&self) -> &[ContainerPort] {
        &self.ports
    }
}

/// Where a started service container answers `port` (as the contract
/// writes it, e.g. [`integration_suite::containers::service_container::HTTP_PORT`])
/// on the host.
pub async fn address(
    container: &ContainerAsync<ServiceDiscoveryImage>,
    port: &str,
) -> Result<SocketAddr> {
    let host_port = container
        .get_host_port_ipv4(container_port(port.parse()?))
        .await?;
    Ok(SocketAddr::from(([127, 0, 0, 1], host_port)))
}
