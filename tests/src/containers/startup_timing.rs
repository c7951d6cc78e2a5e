//! How long a container takes to start and to stop, measured the way a user
//! sees it: from `docker run` (create and start through the engine API) to
//! the first readiness answer 200 (the container contract's endpoint), and
//! from `docker stop` until the engine reports the exit. Beside it, the start of a trivial container
//! (`true` on the same base image), the engine's own share of any start.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bollard::Docker;
use bollard::models::ContainerCreateBody;
use futures_util::StreamExt;
use tokio::time::Instant;

use crate::containers::run::{SUITE_LABEL, exit_state, stop_gracefully};
use crate::containers::service_container::{START_TIMEOUT, ServiceContainer};
use crate::engine::docker_cli::remove_container_now;

/// One start and stop of the service.
#[derive(Debug, Clone, Copy)]
pub struct ServiceTimes {
    pub start_to_ready: Duration,
    pub stop_to_exit: Duration,
    pub exit_code: i64,
}

/// Starts `image` as the suite starts every service container (its ports
/// on loopback), waits for readiness, stops it, and removes it.
pub async fn time_service(docker: &Docker, image: &str) -> Result<ServiceTimes> {
    let began = Instant::now();
    let container = ServiceContainer::start_default(docker, image).await?;
    let start_to_ready = began.elapsed();

    let stopping = Instant::now();
    stop_gracefully(docker, &container.id).await?;
    let stop_to_exit = stopping.elapsed();
    let exit_code = exit_state(docker, &container.id)
        .await?
        .exit_code
        .context("the engine recorded no exit code")?;
    Ok(ServiceTimes {
        start_to_ready,
        stop_to_exit,
        exit_code,
    })
}

/// Runs `true` in `image` and returns the time from create to exit.
pub async fn time_trivial_container(docker: &Docker, image: &str) -> Result<Duration> {
    let body = ContainerCreateBody {
        image: Some(image.to_owned()),
        entrypoint: Some(vec!["true".to_owned()]),
        cmd: Some(Vec::new()),
        ..Default::default()
    };
    let began = Instant::now();
    let container = Removed::create(docker, body).await?;
    docker
        .start_container(&container.id, None)
        .await
        .context("cannot start the trivial container")?;
    // The default condition (not running) also answers for a container
    // that has already exited.
    let mut wait = docker.wait_container(&container.id, None);
    match tokio::time::timeout(START_TIMEOUT, wait.next()).await {
        Ok(Some(Ok(response))) if response.status_code == 0 => Ok(began.elapsed()),
        Ok(outcome) => bail!("the trivial container did not exit 0: {outcome:?}"),
        Err(_) => bail!(
            "the trivial container was still running after {}s",
            START_TIMEOUT.as_secs()
        ),
    }
}

/// The median of `times` (the upper one for an even count).
pub fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

/// A container that is force-removed when dropped, even on panic.
struct Removed {
    id: String,
}

impl Removed {
    async fn create(docker: &Docker, mut body: ContainerCreateBody) -> Result<Self> {
        body.labels = Some(HashMap::from([(SUITE_LABEL.to_owned(), "true".to_owned())]));
        let image = body.image.clone().unwrap_or_default();
        let created = docker
            .create_container(None, body)
            .await
            .with_context(|| format!("cannot create a container from {image}"))?;
        Ok(Self { id: created.id })
    }
}

impl Drop for Removed {
    fn drop(&mut self) {
        remove_container_now(&self.id);
    }
}
