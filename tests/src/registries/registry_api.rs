//! Questions to the project's registry over its HTTP API (distribution v2).

use anyhow::{Context, Result, bail};

use crate::engine::host::REGISTRY;

/// Every manifest kind, so the registry reports the digest of what it
/// stores instead of converting it.
const MANIFEST_TYPES: &str = "application/vnd.oci.image.index.v1+json, \
     application/vnd.oci.image.manifest.v1+json, \
     application/vnd.docker.distribution.manifest.list.v2+json, \
     application/vnd.docker.distribution.manifest.v2+json";

/// The digest the registry serves for `localhost:5000/<repository>:<tag>`,
/// or `None` when the tag does not exist.
pub async fn tag_digest(repository: &str, tag: &str) -> Result<Option<String>> {
    let repository = repository
        .strip_prefix(&format!("{REGISTRY}/"))
        .unwrap_or(repository);
    let url = format!("http://{REGISTRY}/v2/{repository}/manifests/{tag}");
    let response = reqwest::Client::new()
        .head(&url)
        .header(reqwest::header::ACCEPT, MANIFEST_TYPES)
        .send()
        .await
        .with_context(|| format!("HEAD {url}"))?;
    if response.status() == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !response.status().is_success() {
        bail!("HEAD {url} answered {}", response.status());
    }
    let digest = response
        .headers()
        .get("docker-content-digest")
        .and_then(|value| value.to_str().ok())
        .with_context(|| format!("HEAD {url} carried no Docker-Content-Digest"))?;
    Ok(Some(digest.to_owned()))
}

/// Pushes a local image tag to the registry it names and returns the digest
/// the registry now serves for that tag.
pub async fn push(reference: &str) -> Result<String> {
    let output = tokio::process::Command::new("docker")
        .args(["push", "--quiet", reference])
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .context("cannot run docker push")?;
    if !output.status.success() {
        bail!(
            "docker push {reference} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let (repository, tag) = reference
        .rsplit_once(':')
        .context("push needs a tagged reference")?;
    tag_digest(repository, tag)
        .await?
        .with_context(|| format!("{reference} is not in the registry after pushing it"))
}

/// Removes one manifest from one repository of the registry (its blobs stay
/// until the registry's garbage collection; other repositories are untouched).
pub async fn delete_manifest(repository: &str, digest: &str) -> Result<()> {
    let repository = repository
        .strip_prefix(&format!("{REGISTRY}/"))
        .unwrap_or(repository);
    let url = format!("http://{REGISTRY}/v2/{repository}/manifests/{digest}");
    let response = reqwest::Client::new()
        .delete(&url)
        .send()
        .await
        .with_context(|| format!("DELETE {url}"))?;
    if !response.status().is_success() && response.status() != reqwest::StatusCode::NOT_FOUND {
        bail!("DELETE {url} answered {}", response.status());
    }
    Ok(())
}
