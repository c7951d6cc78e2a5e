//! Everything the project's registry holds under one tag: the manifests
//! (an index, the image manifests it lists, attestations) and every blob
//! they reference (configs, layers, a build cache's config). A build cache
//! exported with `--cache-to type=registry` is an index whose entries are
//! the cached layers themselves, so the same walk covers it.

use std::collections::HashSet;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::engine::host::REGISTRY;

const MANIFEST_TYPES: [&str; 4] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// One thing the registry serves.
#[derive(Debug, Clone)]
pub enum RegistryItem {
    Manifest {
        digest: String,
        body: Vec<u8>,
    },
    Blob {
        digest: String,
        media_type: String,
        body: Vec<u8>,
    },
}

/// Every manifest and blob reachable from `repository:reference` (a tag or
/// a digest), each fetched once. `repository` may carry the registry prefix.
pub async fn reachable_content(repository: &str, reference: &str) -> Result<Vec<RegistryItem>> {
    let repository = repository
        .strip_prefix(&format!("{REGISTRY}/"))
        .unwrap_or(repository);
    let client = reqwest::Client::new();
    let mut items = Vec::new();
    let mut seen = HashSet::new();
    let mut manifests = vec![reference.to_owned()];
    while let Some(reference) = manifests.pop() {
        let (digest, body) = fetch_manifest(&client, repository, &reference).await?;
        if !seen.insert(digest.clone()) {
            continue;
        }
        let document: Value = serde_json::from_slice(&body)
            .with_context(|| format!("manifest {digest} of {repository} is not JSON"))?;
        items.push(RegistryItem::Manifest {
            digest: digest.clone(),
            body,
        });
        let mut descriptors: Vec<&Value> = Vec::new();
        descriptors.extend(document["manifests"].as_array().into_iter().flatten());
        descriptors.extend(document.get("config"));
        descriptors.extend(document["layers"].as_array().into_iter().flatten());
        for descriptor in descriptors {
            let child = descriptor["digest"]
                .as_str()
                .context("a descriptor without digest")?
                .to_owned();
            let media_type = descriptor["mediaType"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if MANIFEST_TYPES.contains(&media_type.as_str()) {
                manifests.push(child);
            } else if seen.insert(child.clone()) {
                let body = fetch_blob(&client, repository, &child).await?;
                items.push(RegistryItem::Blob {
                    digest: child,
                    media_type,
                    body,
                });
            }
        }
    }
    Ok(items)
}

async fn fetch_manifest(
    client: &reqwest::Client,
    repository: &str,
    reference: &str,
) -> Result<(String, Vec<u8>)> {
    let url = format!("http://{REGISTRY}/v2/{repository}/manifests/{reference}");
    let response = client
        .get(&url)
        .header(reqwest::header::ACCEPT, MANIFEST_TYPES.join(", "))
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    if !response.status().is_success() {
        bail!("GET {url} answered {}", response.status());
    }
    let digest = response
        .headers()
        .get("docker-content-digest")
        .and_then(|value| value.to_str().ok())
        .unwrap_or(reference)
        .to_owned();
    let body = response
        .bytes()
        .await
        .with_context(|| format!("reading {url}"))?;
    Ok((digest, body.to_vec()))
}

async fn fetch_blob(client: &reqwest::Client, repository: &str, digest: &str) -> Result<Vec<u8>> {
    let url = format!("http://{REGISTRY}/v2/{repository}/blobs/{digest}");
    let response = client
        .get(&url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    if !response.status().is_success() {
        bail!("GET {url} answered {}", response.status());
    }
    Ok(response
        .bytes()
        .await
        .with_context(|| format!("reading {url}"))?
        .to_vec())
}
