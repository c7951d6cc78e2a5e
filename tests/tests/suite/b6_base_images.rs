//! B6: base images are pinned by `sha256` digest and mirrored into the
//! project's own registry, so upstream retags or outages change nothing.

use std::time::Duration;

use anyhow::{Context, Result};
use integration_suite::builds::buildx::{ImageBuild, unique_tag};
use integration_suite::containers::run::run_to_completion;
use integration_suite::engine::docker_cli::remove_tag_now;
use integration_suite::engine::host::host;
use integration_suite::registries::registry_api::{delete_manifest, push, tag_digest};

/// Built the way the project's Dockerfiles take their bases: an argument
/// defaulting to the upstream name, set to the pinned mirror by the caller.
const RUNNER_PROBE_DOCKERFILE: &str = r#"ARG RUNNER_IMAGE=debian:bookworm-slim
FROM ${RUNNER_IMAGE}
RUN . /etc/os-release && printf 'built on %s %s\n' "$ID" "$VERSION_CODENAME" > /b6-probe
CMD ["cat", "/b6-probe"]
"#;

const RUN_TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn b6_b1_mirrored_base_builds_runs_and_shares_its_layers() -> Result<()> {
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

/// Stands in for an upstream image that gets retagged: same tag, new content.
const RETAGGED_BASE_DOCKERFILE: &str = r#"ARG BASE
FROM ${BASE}
RUN printf 'retagged upstream\n' > /etc/retagged
"#;

const PROBE_WITH_RETAG_CHECK: &str = r#"ARG RUNNER_IMAGE=debian:bookworm-slim
FROM ${RUNNER_IMAGE}
CMD ["sh", "-c", "if [ -e /etc/retagged ]; then echo retagged base; else echo pinned base; fi"]
"#;

#[tokio::test]
async fn b6_upstream_retag_changes_nothing_for_a_digest_pinned_build() -> Result<()> {
    let host = host().await;
    let runner = &host.base_images().runner;
    let docker = host.docker();

    // A repository of the suite's own plays "upstream"; the tag is this run's.
    let upstream_repo = "localhost:5000/integration-suite/b6-upstream";
    let upstream_tag = format!("{upstream_repo}:run-{}", std::process::id());
    tag_local_image(&runner.reference, &upstream_tag).await?;
    let _local_tag = LocalTag(upstream_tag.clone());
    let original = push(&upstream_tag).await?;
    assert_eq!(
        original,
        runner.digest(),
        "a mirror keeps the digest it copies"
    );
    let pinned = format!("{upstream_tag}@{original}");

    let probe_dir = tempfile::tempdir()?;
    std::fs::write(probe_dir.path().join("Dockerfile"), PROBE_WITH_RETAG_CHECK)?;
    let probe = |name: &str, base: &str| {
        ImageBuild::new(probe_dir.path(), unique_tag(name))
            .build_arg("RUNNER_IMAGE", base)
            .run()
    };
    let before = probe("b6-probe-before-retag", &pinned).await?;

    // Upstream moves the tag to different content.
    let retag_dir = tempfile::tempdir()?;
    std::fs::write(
        retag_dir.path().join("Dockerfile"),
        RETAGGED_BASE_DOCKERFILE,
    )?;
    let retagged = ImageBuild::new(retag_dir.path(), &upstream_tag)
        .build_arg("BASE", &runner.reference)
        .run()
        .await?;
    let moved = push(&retagged.tag).await?;
    assert_ne!(moved, original, "the tag now names other content");

    let after = probe("b6-probe-after-retag", &pinned).await?;
    let unpinned = probe("b6-probe-unpinned", &upstream_tag).await?;

    let run = |image: String| async move {
        let output = run_to_completion(docker, &image, None, RUN_TIMEOUT).await?;
        anyhow::ensure!(
            output.exit_code == 0,
            "{image} exited {}: {}",
            output.exit_code,
            output.stderr
        );
        Ok::<_, anyhow::Error>(output.stdout)
    };
    // Pinned by digest: the same base before and after the retag...
    assert_eq!(run(before.tag.clone()).await?, "pinned base\n");
    assert_eq!(run(after.tag.clone()).await?, "pinned base\n");
    assert_eq!(
        layers(docker, &before.id).await?,
        layers(docker, &after.id).await?
    );
    // ...while a build that follows the tag silently changed its base.
    assert_eq!(run(unpinned.tag.clone()).await?, "retagged base\n");

    for digest in [&original, &moved] {
        delete_manifest(upstream_repo, digest).await?;
    }
    Ok(())
}

async fn tag_local_image(source: &str, target: &str) -> Result<()> {
    let status = tokio::process::Command::new("docker")
        .args(["image", "tag", source, target])
        .status()
        .await
        .context("cannot run docker image tag")?;
    anyhow::ensure!(
        status.success(),
        "docker image tag {source} {target} failed"
    );
    Ok(())
}

/// Removes a local tag when the test ends, however it ends.
struct LocalTag(String);

impl Drop for LocalTag {
    fn drop(&mut self) {
        remove_tag_now(&self.0, None);
    }
}

/// A fresh clone has no lock (it is specific to the host), yet must not
/// rebuild the offline bases: a rebuild would change their digests and turn
/// every build cache keyed on them cold. The registry remembers which recipe
/// built each image, and the mirror script adopts it.
#[tokio::test]
async fn b6_fresh_clone_adopts_the_mirrored_bases_without_rebuilding() -> Result<()> {
    let host = host().await;
    let clone_lock = tempfile::tempdir()?;
    let lock_path = clone_lock.path().join("base-images.lock");

    let output = std::process::Command::new(host.repo_root().join("ci/mirror_base_images.sh"))
        .arg("--offline")
        .env("CI_BASE_IMAGES_LOCK", &lock_path)
        .output()?;
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "mirror failed: {log}");
    assert!(
        !log.contains("building "),
        "a base image was rebuilt instead of adopted: {log}"
    );

    let adopted = integration_suite::images::base_images::BaseImages::load(&lock_path)?;
    let pinned = host.base_images();
    assert_eq!(adopted.rust.reference, pinned.rust.reference);
    assert_eq!(adopted.runner.reference, pinned.runner.reference);
    assert_eq!(adopted.postgres.reference, pinned.postgres.reference);
    Ok(())
}
