//! What makes two images the same image, as the engine shows them: their
//! layers, their creation time and their configuration. The engine's image
//! id covers more: the build's attestation (when and where it ran) and the
//! inline cache record BuildKit writes into the config, which notes how
//! each step was reached, so a build that ran its steps and a rebuild that
//! took them all from the cache get different ids for the same image.

use anyhow::{Context, Result};

/// The identity of `image` (an id or a tag) on the default engine, or on
/// the one `docker_host` names.
pub async fn image_identity(docker_host: Option<&str>, image: &str) -> Result<String> {
    let mut command = tokio::process::Command::new("docker");
    command.args([
        "image",
        "inspect",
        "--format",
        "{{json .RootFS.Layers}} {{.Created}} {{json .Config}}",
        image,
    ]);
    if let Some(host) = docker_host {
        command.env("DOCKER_HOST", host);
    }
    let output = command.output().await.context("cannot run docker")?;
    anyhow::ensure!(
        output.status.success(),
        "docker image inspect {image}: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}
