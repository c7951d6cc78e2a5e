//! The `docker` command line, for what the engine API client does not cover
//! (`builder prune`, `save` to a stream) or where a test reads as the
//! command a user would type.

use std::process::Stdio;

use anyhow::{Context, Result, bail};

/// Runs `docker ARGS` against `docker_host` (the default engine when
/// `None`) and returns its standard output; a failure carries the
/// command and its standard error.
pub async fn docker_output<S: AsRef<str>>(args: &[S], docker_host: Option<&str>) -> Result<String> {
    let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
    let mut command = tokio::process::Command::new("docker");
    command.args(&args).stdin(Stdio::null());
    if let Some(host) = docker_host {
        command.env("DOCKER_HOST", host);
    }
    let output = command.output().await.context("cannot run docker")?;
    if !output.status.success() {
        bail!(
            "docker {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Removes a container with its anonymous volumes, from a `Drop`: drop
/// cannot be async, and a blocking CLI call is fine at a test's end. A
/// container already gone is no failure, so nothing is reported.
pub fn remove_container_now(id: &str) {
    remove_now(&["rm", "--force", "--volumes", id], None);
}

/// Removes an image tag (the image too, once no other tag holds it), from a
/// `Drop`, on the engine at `docker_host` or the default one.
pub fn remove_tag_now(tag: &str, docker_host: Option<&str>) {
    remove_now(&["image", "rm", "--force", tag], docker_host);
}

fn remove_now(args: &[&str], docker_host: Option<&str>) {
    let mut command = std::process::Command::new("docker");
    command
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(host) = docker_host {
        command.env("DOCKER_HOST", host);
    }
    let _ = command.status();
}
