//! A service image running in the background, the ports its container
//! contract lists published on 127.0.0.1 only (ephemeral host ports), ready
//! when the contract's readiness endpoint answers 200. The container is
//! removed when the value is dropped.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bollard::Docker;
use bollard::models::{
    ContainerCreateBody, HealthConfig, HealthStatusEnum, HostConfig, PortBinding,
};

use crate::containers::run::{SUITE_LABEL, read_logs};
use crate::contract::service_package::service_package;
use crate::contract::table::ContainerContract;
use crate::engine::docker_cli::remove_container_now;

/// What each of this service's ports is for; the contract lists them all
/// (a test below holds the two together).
pub const HTTP_PORT: &str = "3000/tcp";
pub const GRPC_PORT: &str = "8081/tcp";
pub const DNS_UDP_PORT: &str = "8053/udp";
pub const DNS_TCP_PORT: &str = "8053/tcp";
/// How long the suite waits for a container to become ready.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the suite waits for an image's health check to pass.
pub const HEALTHY_TIMEOUT: Duration = Duration::from_secs(30);

const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Readiness is polled often enough that a measured start time is off by
/// no more than a few milliseconds (the startup benchmark reads it).
const READY_POLL: Duration = Duration::from_millis(5);

/// How a container is started; the defaults are the image's own.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// `--user`, e.g. `12345:0`.
    pub user: Option<String>,
    /// Extra `--env` settings, `NAME=value`.
    pub env: Vec<String>,
    /// Arguments replacing the image's CMD, e.g. `["console"]`.
    pub command: Option<Vec<String>>,
    /// `-ti`: a terminal, and stdin kept open for whoever attaches.
    pub interactive_tty: bool,
    /// A health check replacing the image's.
    pub healthcheck: Option<HealthConfig>,
    /// Engine settings such as `--read-only`, `--tmpfs`, `--cap-drop`,
    /// `--security-opt` or `--init`; its port bindings are replaced by the
    /// loopback-only ones.
    pub host_config: HostConfig,
}

/// A running service container.
pub struct ServiceContainer {
    docker: Docker,
    pub id: String,
    ports: HashMap<String, SocketAddr>,
    readiness_url_path: String,
    readiness_port: String,
}

impl ServiceContainer {
    /// Creates and starts a container of `image`, an image of this
    /// repository's service, then waits until it is ready (or `timeout`
    /// passes, or it exits).
    pub async fn start(
        docker: &Docker,
        image: &str,
        options: RunOptions,
        timeout: Duration,
    ) -> Result<Self> {
        let contract = &service_package()?.contract;
        Self::start_payload(docker, image, contract, options, timeout).await
    }

    /// [`Self::start`] for an image of any service, held to `contract`.
    pub async fn start_payload(
        docker: &Docker,
        image: &str,
        contract: &ContainerContract,
        options: RunOptions,
        timeout: Duration,
    ) -> Result<Self> {
        let bindings = contract
            .expose_words()
            .into_iter()
            .map(|port| {
                let binding = PortBinding {
                    host_ip: Some(Ipv4Addr::LOCALHOST.to_string()),
                    host_port: None,
                };
                (port, Some(vec![binding]))
            })
            .collect();
        let tty = options.interactive_tty.then_some(true);
        let body = ContainerCreateBody {
            image: Some(image.to_owned()),
            user: options.user,
            env: (!options.env.is_empty()).then_some(options.env),
            cmd: options.command,
            tty,
            open_stdin: tty,
            attach_stdin: tty,
            attach_stdout: tty,
            attach_stderr: tty,
            healthcheck: options.healthcheck,
            labels: Some(HashMap::from([(SUITE_LABEL.to_owned(), "true".to_owned())])),
            host_config: Some(HostConfig {
                port_bindings: Some(bindings),
                ..options.host_config
            }),
            ..Default::default()
        };
        let created = docker
            .create_container(None, body)
            .await
            .with_context(|| format!("cannot create a container from {image}"))?;
        // From here on, dropping `container` removes it, whatever fails next.
        let mut container = Self {
            docker: docker.clone(),
            id: created.id,
            ports: HashMap::new(),
            readiness_url_path: contract.readiness.path.clone(),
            readiness_port: contract.readiness_port().to_string(),
        };
        docker
            .start_container(&container.id, None)
            .await
            .context("cannot start the container")?;
        container.ports = container.published_ports(contract).await?;
        container.wait_until_ready(timeout).await?;
        Ok(container)
    }

    /// A container of `image` with nothing set, as a plain `docker run IMAGE`
    /// starts it, ready within [`START_TIMEOUT`].
    pub async fn start_default(docker: &Docker, image: &str) -> Result<Self> {
        Self::start(docker, image, RunOptions::default(), START_TIMEOUT).await
    }

    /// The host address a container port (e.g. [`HTTP_PORT`]) is published on.
    pub fn address(&self, port: &str) -> Result<SocketAddr> {
        self.ports
            .get(port)
            .copied()
            .with_context(|| format!("container port {port} is not published"))
    }

    /// The engine's view of the health check, `None` when the image has none.
    pub async fn health(&self) -> Result<Option<HealthStatusEnum>> {
        let inspect = self
            .docker
            .inspect_container(&self.id, None)
            .await
            .context("cannot inspect the container")?;
        Ok(inspect
            .state
            .and_then(|state| state.health)
            .and_then(|health| health.status))
    }

    /// Waits until the health check reports `healthy`.
    pub async fn wait_until_healthy(&self, timeout: Duration) -> Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let status = self.health().await?;
            match status {
                Some(HealthStatusEnum::HEALTHY) => return Ok(()),
                Some(HealthStatusEnum::UNHEALTHY) => {
                    bail!("the health check failed: {}", self.logs().await)
                }
                None | Some(HealthStatusEnum::NONE) => bail!("the image defines no health check"),
                _ if tokio::time::Instant::now() >= deadline => {
                    bail!(
                        "not healthy after {}s (status {status:?})",
                        timeout.as_secs()
                    )
                }
                _ => tokio::time::sleep(POLL_INTERVAL).await,
            }
        }
    }

    /// Stdout and stderr so far, for error messages.
    pub async fn logs(&self) -> String {
        match read_logs(&self.docker, &self.id).await {
            Ok((stdout, stderr)) => format!("stdout:\n{stdout}\nstderr:\n{stderr}"),
            Err(error) => format!("(logs unavailable: {error:#})"),
        }
    }

    async fn published_ports(
        &self,
        contract: &ContainerContract,
    ) -> Result<HashMap<String, SocketAddr>> {
        let inspect = self
            .docker
            .inspect_container(&self.id, None)
            .await
            .context("cannot inspect the container")?;
        let ports = inspect
            .network_settings
            .and_then(|settings| settings.ports)
            .unwrap_or_default();
        contract
            .expose_words()
            .into_iter()
            .map(|port| {
                let host_port = ports
                    .get(&port)
                    .and_then(|bindings| bindings.as_ref()?.first()?.host_port.clone())
                    .with_context(|| format!("the engine published no host port for {port}"))?;
                let host_port: u16 = host_port
                    .parse()
                    .with_context(|| format!("bad host port {host_port:?}"))?;
                Ok((port, SocketAddr::from((Ipv4Addr::LOCALHOST, host_port))))
            })
            .collect()
    }

    async fn wait_until_ready(&self, timeout: Duration) -> Result<()> {
        let url = format!(
            "http://{}{}",
            self.address(&self.readiness_port)?,
            self.readiness_url_path
        );
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Ok(response) = client.get(&url).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            let inspect = self.docker.inspect_container(&self.id, None).await?;
            if inspect.state.as_ref().and_then(|state| state.running) == Some(false) {
                bail!(
                    "the container exited before it was ready:\n{}",
                    self.logs().await
                );
            }
            if tokio::time::Instant::now() >= deadline {
                bail!(
                    "{url} did not answer 200 within {}s:\n{}",
                    timeout.as_secs(),
                    self.logs().await
                );
            }
            tokio::time::sleep(READY_POLL).await;
        }
    }
}

impl Drop for ServiceContainer {
    fn drop(&mut self) {
        remove_container_now(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_named_ports_are_the_contracts_ports_and_readiness_is_on_http() {
        let contract = &service_package().unwrap().contract;
        let mut named = [HTTP_PORT, GRPC_PORT, DNS_UDP_PORT, DNS_TCP_PORT].map(str::to_owned);
        let mut listed = contract.expose_words();
        named.sort();
        listed.sort();
        assert_eq!(named.as_slice(), listed.as_slice());
        assert_eq!(contract.readiness_port().to_string(), HTTP_PORT);
    }
}
