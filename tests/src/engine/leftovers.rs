//! What earlier runs of the suite left on the host, and only that:
//! containers carrying the suite's label (a run that was killed never
//! removed them), images under the suite's own names, and private engines
//! an interrupted run could not stop (see
//! [`remove_stale_private_engines`]).
//!
//! The build cache is left alone: its records carry no owner, so no prune
//! could tell the suite's from another project's. The engine's own
//! collector bounds it (ci/bootstrap_host.sh sets a 25GB ceiling on an
//! engine that has none), and the layers of the removed images are the
//! least recently used, so they go first.

use anyhow::{Context, Result};
use bollard::Docker;
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListImagesOptionsBuilder, RemoveContainerOptionsBuilder,
    RemoveImageOptionsBuilder,
};

use crate::containers::run::SUITE_LABEL;
use crate::engine::fresh_engine::remove_stale_private_engines;

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

/// Removes the suite's containers, image tags and private engines left by
/// earlier runs.
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
    for line in remove_stale_private_engines()? {
        eprintln!("leftovers: {line}");
    }
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
