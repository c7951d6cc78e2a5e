//! What earlier runs of the suite left in the engine: containers carrying
//! the suite's label (a run that was killed never removed them), images
//! under the suite's own names, and build cache layers beyond a budget.
//! Every run builds the commit it tests, so without this each commit would
//! leave gigabytes behind. The most recently used layers stay, so fixtures
//! rebuild removed images quickly.
//!
//! The layer budget leaves room below the engine's cache ceiling for one
//! run (ci/bootstrap_host.sh sets 25GB): when the ceiling is reached the
//! engine's collector evicts least recently used records, and the cargo
//! and apt cache mounts can be among them, which would undo what the cache
//! tests measure. Cache mounts themselves are never pruned here.

use anyhow::{Context, Result};
use bollard::Docker;
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListImagesOptionsBuilder, RemoveContainerOptionsBuilder,
    RemoveImageOptionsBuilder,
};

use crate::container::SUITE_LABEL;
use crate::docker_cli::docker_output;

/// Names the suite gives its images: the project's namespaces in the local
/// registry and the unique tags of one-off builds.
const SUITE_IMAGE_PREFIXES: [&str; 2] = ["localhost:5000/integration-suite", "integration-suite/"];

/// Whether `tag` is one the suite made.
pub fn is_suite_tag(tag: &str) -> bool {
    let name = tag.strip_prefix("docker.io/").unwrap_or(tag);
    SUITE_IMAGE_PREFIXES
        .iter()
        .any(|prefix| name.starts_with(prefix))
}

/// How much of the build cache's layers a run starts with at most.
const LAYER_BUDGET: &str = "12GB";

/// Removes the suite's containers and image tags left by earlier runs, and
/// trims the build cache's layers to [`LAYER_BUDGET`].
pub async fn remove_leftovers(docker: &Docker) -> Result<()> {
    let filters = std::collections::HashMap::from([("label", vec![SUITE_LABEL])]);
    let containers = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .context("cannot list containers")?;
    let force = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    for container in containers {
        if let Some(id) = container.id {
            // Gone already is fine: another process may have removed it.
            let _ = docker.remove_container(&id, Some(force.clone())).await;
        }
    }
    let images = docker
        .list_images(Some(ListImagesOptionsBuilder::default().build()))
        .await
        .context("cannot list images")?;
    for tag in images.into_iter().flat_map(|image| image.repo_tags) {
        if is_suite_tag(&tag) {
            // An image a running container uses stays; that is fine too.
            let _ = docker
                .remove_image(
                    &tag,
                    Some(RemoveImageOptionsBuilder::default().build()),
                    None,
                )
                .await;
        }
    }
    trim_build_cache().await
}

/// `docker builder prune` of layer records only, least recently used first.
async fn trim_build_cache() -> Result<()> {
    docker_output(
        &[
            "builder",
            "prune",
            "--force",
            "--filter",
            "type=regular",
            "--keep-storage",
            LAYER_BUDGET,
        ],
        None,
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_suites_own_names_are_removed() {
        assert!(is_suite_tag(
            "localhost:5000/integration-suite/service_discovery:main"
        ));
        assert!(is_suite_tag(
            "localhost:5000/integration-suite-push/service_discovery-runner-minimal:abc"
        ));
        assert!(is_suite_tag(
            "docker.io/integration-suite/apt-cache-probe:run-12"
        ));
        assert!(is_suite_tag("integration-suite/apt-cache-probe:run-12"));
        assert!(!is_suite_tag("localhost:5000/mirror/debian:bookworm-slim"));
        assert!(!is_suite_tag("localhost:5000/service_discovery:main"));
        assert!(!is_suite_tag("docker.io/library/integration-suite:1"));
    }
}
