//! Questions to the project's registry over its HTTP API (distribution v2).

use anyhow::{Context, Result, bail};

use crate::host::REGISTRY;

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
