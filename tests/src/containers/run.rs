//! Running containers through the engine API and collecting what they print.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bollard::Docker;
use bollard::container::LogOutput;
use bollard::errors::Error as DockerError;
use bollard::models::{ContainerCreateBody, ContainerState};
use bollard::query_parameters::{
    LogsOptionsBuilder, RemoveContainerOptionsBuilder, StopContainerOptionsBuilder,
};
use futures_util::{StreamExt, TryStreamExt};

/// Label on every container the suite creates, to find leftovers.
pub const SUITE_LABEL: &str = "integration-suite";

/// `docker stop`'s default grace period before SIGKILL.
pub const STOP_GRACE_SECONDS: i32 = 10;

/// `docker stop`: SIGTERM, then SIGKILL after [`STOP_GRACE_SECONDS`].
/// Returns once the container has exited.
pub async fn stop_gracefully(docker: &Docker, id: &str) -> Result<()> {
    let options = StopContainerOptionsBuilder::default()
        .t(STOP_GRACE_SECONDS)
        .build();
    docker
        .stop_container(id, Some(options))
        .await
        .context("docker stop failed")
}

/// How a container that has exited ended: exit code, OOM kill and so on.
pub async fn exit_state(docker: &Docker, id: &str) -> Result<ContainerState> {
    docker
        .inspect_container(id, None)
        .await
        .context("cannot inspect the container")?
        .state
        .context("the engine recorded no container state")
}

/// What a container printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutput {
    pub exit_code: i64,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `image` (with `command` instead of its CMD when given) until it
/// exits, reads its logs through the API, and removes the container.
pub async fn run_to_completion(
    docker: &Docker,
    image: &str,
    command: Option<&[&str]>,
    timeout: Duration,
) -> Result<RunOutput> {
    let body = ContainerCreateBody {
        image: Some(image.to_owned()),
        cmd: command.map(|parts| parts.iter().map(|part| (*part).to_owned()).collect()),
        ..Default::default()
    };
    run_body_to_completion(docker, body, timeout).await
}

/// Like [`run_to_completion`], for containers that need more settings than
/// a command (an entrypoint, environment, ...). The suite's label is added.
pub async fn run_body_to_completion(
    docker: &Docker,
    mut body: ContainerCreateBody,
    timeout: Duration,
) -> Result<RunOutput> {
    let image = body.image.clone().unwrap_or_default();
    body.labels
        .get_or_insert_with(HashMap::new)
        .insert(SUITE_LABEL.to_owned(), "true".to_owned());
    let created = docker
        .create_container(None, body)
        .await
        .with_context(|| format!("cannot create a container from {image}"))?;
    let outcome = start_wait_and_read(docker, &created.id, timeout).await;
    let removal = docker
        .remove_container(
            &created.id,
            Some(
                RemoveContainerOptionsBuilder::default()
                    .force(true)
                    .v(true)
                    .build(),
            ),
        )
        .await;
    let output = outcome.with_context(|| format!("running a container from {image}"))?;
    removal.with_context(|| format!("cannot remove container {}", created.id))?;
    Ok(output)
}

async fn start_wait_and_read(docker: &Docker, id: &str, timeout: Duration) -> Result<RunOutput> {
    docker
        .start_container(id, None)
        .await
        .context("cannot start the container")?;
    let exit_code = match tokio::time::timeout(timeout, wait_for_exit(docker, id)).await {
        Ok(code) => code?,
        Err(_) => bail!("the container did not exit within {}s", timeout.as_secs()),
    };
    let (stdout, stderr) = read_logs(docker, id).await?;
    Ok(RunOutput {
        exit_code,
        stdout,
        stderr,
    })
}

async fn wait_for_exit(docker: &Docker, id: &str) -> Result<i64> {
    let mut responses = docker.wait_container(id, None);
    match responses.next().await {
        Some(Ok(response)) => Ok(response.status_code),
        // bollard reports a non-zero exit as an error carrying the code.
        Some(Err(DockerError::DockerContainerWaitError { code, .. })) => Ok(code),
        Some(Err(error)) => Err(error).context("waiting for the container failed"),
        None => bail!("the engine ended the wait without an exit code"),
    }
}

/// Stdout and stderr as the engine recorded them (the `docker logs` view).
pub async fn read_logs(docker: &Docker, id: &str) -> Result<(String, String)> {
    let options = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .build();
    let chunks: Vec<LogOutput> = docker
        .logs(id, Some(options))
        .try_collect()
        .await
        .context("cannot read the container's logs")?;
    let (mut stdout, mut stderr) = (String::new(), String::new());
    for chunk in chunks {
        match chunk {
            LogOutput::StdOut { message } => stdout.push_str(&String::from_utf8_lossy(&message)),
            LogOutput::StdErr { message } => stderr.push_str(&String::from_utf8_lossy(&message)),
            LogOutput::Console { message } => stdout.push_str(&String::from_utf8_lossy(&message)),
            LogOutput::StdIn { .. } => {}
        }
    }
    Ok((stdout, stderr))
}
