//! The project's runner image as a testcontainers image: built once per
//! test run (see [`integration_suite::project_images`]), ready when the service logs
//! that it is, its ports published on 127.0.0.1 only.

use integration_suite::service_container::START_TIMEOUT;
use std::borrow::Cow;
use std::collections::HashMap;
use std::net::SocketAddr;

use anyhow::{Context, Result, bail};
use bollard::models::PortBinding;
use testcontainers::core::{ContainerPort, WaitFor};
use testcontainers::{ContainerAsync, ContainerRequest, Image, ImageExt};

use integration_suite::container::SUITE_LABEL;
use integration_suite::project_images::{Target, project_image};

pub const HTTP: ContainerPort = ContainerPort::Tcp(3000);
pub const GRPC: ContainerPort = ContainerPort::Tcp(8081);
pub const DNS_UDP: ContainerPort = ContainerPort::Udp(8053);
pub const DNS_TCP: ContainerPort = ContainerPort::Tcp(8053);
const PORTS: [ContainerPort; 4] = [HTTP, GRPC, DNS_UDP, DNS_TCP];

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
        Ok(Self {
            name: name.to_owned(),
            tag: tag.to_owned(),
            env: HashMap::new(),
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
        self.with_label(SUITE_LABEL, "true")
            .with_startup_timeout(START_TIMEOUT)
            .with_host_config_modifier(|host_config| {
                host_config.publish_all_ports = Some(false);
                host_config.port_bindings = Some(
                    PORTS
                        .iter()
                        .map(|port| {
                            let binding = PortBinding {
                                host_ip: Some("127.0.0.1".to_owned()),
                                host_port: None,
                            };
                            (port.to_string(), Some(vec![binding]))
                        })
                        .collect(),
                );
            })
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
        &PORTS
    }
}

/// Where a started service container answers `port` on the host.
pub async fn address(
    container: &ContainerAsync<ServiceDiscoveryImage>,
    port: ContainerPort,
) -> Result<SocketAddr> {
    let host_port = container.get_host_port_ipv4(port).await?;
    Ok(SocketAddr::from(([127, 0, 0, 1], host_port)))
}
