//! A fixture server in a container: one port published on 127.0.0.1 (an
//! ephemeral host port), read-only bind mounts for its configuration and
//! content, removed when the value is dropped.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::process::Command;

use crate::builds::buildx::{BuiltImage, ImageBuild, unique_tag};
use crate::builds::project_images::build_turn;
use crate::containers::run::SUITE_LABEL;
use crate::engine::docker_cli::docker_output;
use crate::engine::docker_cli::remove_container_now;
use crate::engine::host::host;
use crate::repo::fixtures::fixture_path;

/// The Dockerfile of the fixture servers, one stage each.
const SERVERS_DOCKERFILE: &str = "private_deps/servers.Dockerfile";

pub struct FixtureServer {
    pub id: String,
    /// The host port the container port is published on.
    pub port: u16,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    pub image: String,
    /// The container port, e.g. `8080/tcp`.
    pub container_port: String,
    /// `(host path, container path)`, mounted read-only.
    pub mounts: Vec<(PathBuf, String)>,
}

impl FixtureServer {
    pub async fn start(spec: &ServerSpec) -> Result<Self> {
        let mut args: Vec<String> = vec![
            "run".into(),
            "--detach".into(),
            "--label".into(),
            format!("{SUITE_LABEL}=true"),
            "--publish".into(),
            format!("127.0.0.1::{}", spec.container_port),
        ];
        for (host, container) in &spec.mounts {
            args.push("--volume".into());
            args.push(format!("{}:{container}:ro", host.display()));
        }
        args.push(spec.image.clone());
        let id = docker_output(&args, None)
            .await
            .with_context(|| format!("cannot start a container of {}", spec.image))?;
        let mut server = Self {
            id: id.trim().to_owned(),
            port: 0,
        };
        let published = match docker_output(&["port", &server.id, &spec.container_port], None).await
        {
            Ok(published) => published,
            // Usually the server exited at once: its logs say why.
            Err(error) => bail!("{error:#}; the server's logs:\n{}", server.logs().await),
        };
        server.port = published
            .lines()
            .find_map(|line| line.strip_prefix("127.0.0.1:"))
            .and_then(|port| port.trim().parse().ok())
            .with_context(|| {
                format!(
                    "{} is not published on 127.0.0.1: {published}",
                    spec.container_port
                )
            })?;
        Ok(server)
    }

    /// Polls `check` until it succeeds; on time-out the error carries the
    /// server's logs.
    pub async fn wait_until<F, Fut>(&self, timeout: Duration, mut check: F) -> Result<()>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<()>>,
    {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let attempt = check().await;
            match attempt {
                Ok(()) => return Ok(()),
                Err(error) if tokio::time::Instant::now() >= deadline => {
                    bail!(
                        "the fixture server is not ready after {}s ({error:#}); its logs:\n{}",
                        timeout.as_secs(),
                        self.logs().await
                    )
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    /// Everything the server printed so far.
    pub async fn logs(&self) -> String {
        match Command::new("docker")
            .args(["logs", &self.id])
            .stdin(Stdio::null())
            .output()
            .await
        {
            Ok(output) => format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
            Err(error) => format!("(cannot read the logs: {error})"),
        }
    }
}

impl Drop for FixtureServer {
    fn drop(&mut self) {
        remove_container_now(&self.id);
    }
}

/// The image of one fixture server (a stage of the servers' Dockerfile),
/// built from the mirrored Debian base, tagged for the calling test alone
/// so no other test's clean-up removes it.
pub async fn build_server_image(stage: &str, test_name: &str) -> Result<BuiltImage> {
    let host = host().await;
    let dockerfile = fixture_path(SERVERS_DOCKERFILE);
    let context = dockerfile
        .parent()
        .context("the servers' Dockerfile has a directory")?
        .to_owned();
    let build = ImageBuild::new(
        context,
        unique_tag(&format!("{stage}-{test_name}").replace('_', "-")),
    )
    .dockerfile(dockerfile)
    .target(stage)
    .build_arg("DEBIAN_IMAGE", &host.base_images().runner.reference);
    let _turn = build_turn().await;
    build.run().await
}
