//! B6: base images are pinned by `sha256` digest and mirrored into the
//! project's own registry, so upstream retags or outages change nothing.

use std::time::Duration;

use anyhow::{Context, Result};
use integration_suite::buildx::{ImageBuild, unique_tag};
use integration_suite::container::run_to_completion;
use integration_suite::host::host;
use integration_suite::registry::tag_digest;

/// Built the way the project's Dockerfiles take their bases: an argument
/// defaulting to the upstream name, set to the pinned mirror by the caller.
const RUNNER_PROBE_DOCKERFILE: &str = r#"ARG RUNNER_IMAGE=debian:bookworm-slim
FROM ${RUNNER_IMAGE}
RUN . /etc/os-release && printf 'built on %s %s\n' "$ID" "$VERSION_CODENAME" > /b6-probe
CMD ["cat", "/b6-probe"]
"#;

const RUN_TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn b6_mirrored_runner_base_builds_and_runs() -> Result<()> {
    let host = host().await;
    let runner = &host.base_images().runner;

    // The lock pins exactly what the project's registry serves under the tag.
    let (tagged, _) = runner
        .reference
        .split_once('@')
        .context("pinned reference")?;
    let (repository, tag) = tagged
        .rsplit_once(':')
        .context("mirrored reference has a tag")?;
    assert!(
        repository.starts_with("localhost:5000/mirror/"),
        "not mirrored: {repository}"
    );
    assert_eq!(
        tag_digest(repository, tag).await?.as_deref(),
        Some(runner.digest())
    );

    let context = tempfile::tempdir()?;
    std::fs::write(context.path().join("Dockerfile"), RUNNER_PROBE_DOCKERFILE)?;
    let image = ImageBuild::new(context.path(), unique_tag("b6-runner-probe"))
        .build_arg("RUNNER_IMAGE", &runner.reference)
        .run()
        .await?;

    let output = run_to_completion(host.docker(), &image.tag, None, RUN_TIMEOUT).await?;
    assert_eq!(output.exit_code, 0, "stderr: {}", output.stderr);
    assert_eq!(output.stdout, "built on debian bookworm\n");

    // The built image sits on the pinned base: its layers are the base's
    // layers (content-addressed) plus the one RUN above.
    let base_layers = layers(host.docker(), &format!("{repository}@{}", runner.digest())).await?;
    let built_layers = layers(host.docker(), &image.id).await?;
    assert!(!base_layers.is_empty());
    assert_eq!(
        built_layers.len(),
        base_layers.len() + 1,
        "{built_layers:?}"
    );
    assert_eq!(built_layers[..base_layers.len()], base_layers[..]);
    Ok(())
}

async fn layers(docker: &bollard::Docker, image: &str) -> Result<Vec<String>> {
    let inspect = docker
        .inspect_image(image)
        .await
        .with_context(|| format!("inspect {image}"))?;
    Ok(inspect
        .root_fs
        .and_then(|root_fs| root_fs.layers)
        .unwrap_or_default())
}
