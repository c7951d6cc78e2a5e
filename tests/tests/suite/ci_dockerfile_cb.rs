//! CI3: `ci/Dockerfile.cb` builds with builders that have no BuildKit, a
//! daemonless one with a registry layer cache (buildah, standing in for
//! Kaniko) and the engine's classic builder, and its runner keeps the same
//! contract as `docker/Dockerfile`'s.

use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use integration_suite::builds::buildah::{
    self, BuildahBuild, LayerSource, clear_local_store, installed_version, steps,
};
use integration_suite::builds::buildx::BuiltImage;
use integration_suite::builds::dockerfile::Dockerfile;
use integration_suite::builds::dockerfile_cb::{DOCKERFILE_CB, build_args, build_context};
use integration_suite::builds::project_images::{
    SUITE_REGISTRY, Target, build_turn, project_image,
};
use integration_suite::contract::runner::{
    assert_keeps_the_container_contract, assert_same_contract,
};
use integration_suite::engine::docker_cli::remove_tag_now;
use integration_suite::engine::host::host;
use integration_suite::registries::registry_api::{delete_manifest, tag_digest};
use integration_suite::repo::repo_path;
use tokio::process::Command;

/// Kept across runs: a rebuild of unchanged steps downloads their layers.
const CACHE_REPOSITORY: &str = "localhost:5000/integration-suite/service_discovery-cb-cache";
const IMAGE_REPOSITORY: &str = "localhost:5000/integration-suite/service_discovery-cb";

#[test]
fn ci3_dockerfile_cb_uses_no_buildkit_only_syntax() -> Result<()> {
    let text = std::fs::read_to_string(repo_path(DOCKERFILE_CB))?;
    let first_line = text
        .lines()
        .next()
        .unwrap_or_default()
        .replace(' ', "")
        .to_lowercase();
    assert!(
        !first_line.starts_with("#syntax="),
        "names a BuildKit frontend: {first_line}"
    );
    let dockerfile = Dockerfile::parse(&text);
    for instruction in dockerfile.all_instructions() {
        let arguments = &instruction.arguments;
        // Mounts, heredocs and the BuildKit-only COPY/ADD options.
        for buildkit_only in [
            "--mount=",
            "--network=",
            "--security=",
            "<<",
            "--link",
            "--chmod=",
            "--exclude=",
            "--parents",
        ] {
            assert!(
                !arguments.contains(buildkit_only),
                "{} {arguments}: {buildkit_only} needs BuildKit",
                instruction.keyword
            );
        }
    }
    Ok(())
}

#[test]
fn ci3_dockerfile_cb_has_the_same_runner_stage_as_docker_dockerfile() -> Result<()> {
    let reference = Dockerfile::load(&repo_path("docker/Dockerfile"))?;
    let variant = Dockerfile::load(&repo_path(DOCKERFILE_CB))?;
    let reference_runner = reference
        .stage("runner")
        .context("docker/Dockerfile has no runner stage")?;
    let variant_runner = variant
        .stage("runner")
        .context("ci/Dockerfile.cb has no runner stage")?;
    assert_eq!(variant_runner.base, reference_runner.base);
    assert_eq!(variant_runner.instructions, reference_runner.instructions);
    // Both take their bases as arguments with the same runner default.
    let runner_default = |dockerfile: &Dockerfile| {
        dockerfile
            .preamble
            .iter()
            .find(|instruction| {
                instruction.keyword == "ARG" && instruction.arguments.starts_with("RUNNER_IMAGE=")
            })
            .map(|instruction| instruction.arguments.clone())
    };
    assert_eq!(runner_default(&variant), runner_default(&reference));
    assert!(
        variant
            .preamble
            .iter()
            .any(|instruction| instruction.arguments.starts_with("BASE_IMAGE=")),
        "ci/Dockerfile.cb takes no BASE_IMAGE argument"
    );
    Ok(())
}

/// The steps of a build that produce a layer or config entry (not `FROM`).
fn cached_steps(log: &str) -> Vec<buildah::Step> {
    steps(log)
        .into_iter()
        .filter(|step| !step.heading.contains(": FROM "))
        .collect()
}

#[tokio::test]
async fn ci3_buildah_rebuild_from_an_empty_store_takes_every_layer_from_the_registry_cache()
-> Result<()> {
    let host = host().await;
    let version = installed_version()?;
    let context = build_context()?;
    let tag = format!("{IMAGE_REPOSITORY}:run-{}", std::process::id());
    let build = BuildahBuild {
        context: context.path().to_owned(),
        dockerfile: DOCKERFILE_CB.to_owned(),
        target: "runner".to_owned(),
        build_args: build_args(host.base_images()),
        tag: tag.clone(),
        cache_repository: CACHE_REPOSITORY.to_owned(),
    };

    let (first, second) = {
        let _turn = build_turn().await;
        // Both builds start from an empty local store, as a fresh CI worker
        // does: whatever is reused comes from the registry.
        clear_local_store().await?;
        let first = build.run().await?;
        clear_local_store().await?;
        let second = build.run().await?;
        (first, second)
    };
    eprintln!(
        "buildah {version}: first build {:.0?}, rebuild from the registry cache {:.0?}",
        first.elapsed, second.elapsed
    );

    // The first build either built a layer and pushed it to the cache, or
    // found it there from an earlier run with the same inputs. buildah
    // leaves some steps out of the cache (a COPY --from of a stage it has
    // just rebuilt); those are cheap and listed on failure.
    let first_steps = cached_steps(&first.log);
    let in_cache: Vec<&str> = first_steps
        .iter()
        .filter(|step| {
            matches!(
                step.source,
                LayerSource::BuiltAndPushed | LayerSource::PulledFromRegistryCache
            )
        })
        .map(|step| step.heading.as_str())
        .collect();
    assert!(
        in_cache.len() > 10,
        "too few steps in the registry cache:\n{}",
        first.log
    );
    for compile_step in ["cargo chef cook", "cargo build --release"] {
        assert!(
            in_cache
                .iter()
                .any(|heading| heading.contains(compile_step)),
            "the step running {compile_step} is not in the registry cache: {first_steps:#?}"
        );
    }
    // From an empty store, every RUN step among them comes from the
    // registry. (A COPY --from is left out: whether buildah finds one in
    // the cache depends on how it came by the stage it copies from, and a
    // copy costs nothing next to a compile.)
    let second_steps = cached_steps(&second.log);
    for heading in in_cache.iter().filter(|heading| heading.contains(": RUN ")) {
        let step = second_steps
            .iter()
            .find(|step| step.heading == *heading)
            .with_context(|| format!("the rebuild has no step {heading}"))?;
        assert_eq!(
            step.source,
            LayerSource::PulledFromRegistryCache,
            "{heading}"
        );
    }
    assert!(
        !second.log.contains("Compiling "),
        "the rebuild compiled something:\n{}",
        second.log
    );

    buildah::push(&tag).await?;
    let image = PulledImage::pull(&tag).await?;
    let reference = project_image(Target::Runner).await?;
    assert_same_contract(host.docker(), &image.0, &reference.id).await?;
    assert_keeps_the_container_contract(host.docker(), &image.0).await?;

    let digest = tag_digest(IMAGE_REPOSITORY, &format!("run-{}", std::process::id()))
        .await?
        .context("the pushed tag is gone")?;
    delete_manifest(IMAGE_REPOSITORY, &digest).await?;
    clear_local_store().await
}

/// An image pulled into the engine, removed again when dropped.
struct PulledImage(String);

impl PulledImage {
    async fn pull(reference: &str) -> Result<Self> {
        let status = Command::new("docker")
            .args(["pull", "--quiet", reference])
            .stdout(Stdio::null())
            .status()
            .await
            .context("cannot run docker pull")?;
        ensure!(status.success(), "docker pull {reference} failed");
        Ok(Self(reference.to_owned()))
    }
}

impl Drop for PulledImage {
    fn drop(&mut self) {
        remove_tag_now(&self.0, None);
    }
}

const CLASSIC_BUILD_TIMEOUT: Duration = Duration::from_secs(40 * 60);

#[tokio::test]
async fn ci3_classic_builder_builds_dockerfile_cb_and_its_runner_keeps_the_contract() -> Result<()>
{
    let host = host().await;
    let context = build_context()?;
    let tag = format!(
        "{SUITE_REGISTRY}/service_discovery-cb-classic:run-{}",
        std::process::id()
    );
    let mut arguments = vec![
        "build".to_owned(),
        format!("--file={DOCKERFILE_CB}"),
        "--target=runner".to_owned(),
        format!("--tag={tag}"),
    ];
    for (name, value) in build_args(host.base_images()) {
        arguments.push(format!("--build-arg={name}={value}"));
    }
    arguments.push(".".to_owned());

    let output = {
        let _turn = build_turn().await;
        let command = Command::new("docker")
            .args(&arguments)
            .current_dir(context.path())
            // The engine's classic builder: no BuildKit, no buildx.
            .env("DOCKER_BUILDKIT", "0")
            .stdin(Stdio::null())
            .output();
        tokio::time::timeout(CLASSIC_BUILD_TIMEOUT, command)
            .await
            .context("the classic build did not finish in time")?
            .context("cannot run docker build")?
    };
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let image = BuiltImage {
        tag: tag.clone(),
        id: tag.clone(),
        log,
    };
    assert!(
        output.status.success(),
        "DOCKER_BUILDKIT=0 docker build failed:\n{}",
        image.log
    );
    // "Step N/M :" is how only the classic builder reports progress.
    assert!(
        image.log.contains("Step 1/"),
        "not the classic builder's output:\n{}",
        image.log
    );

    let reference = project_image(Target::Runner).await?;
    assert_same_contract(host.docker(), &image.tag, &reference.id).await?;
    assert_keeps_the_container_contract(host.docker(), &image.tag).await?;
    Ok(())
}

/// Both Dockerfiles compile cargo-chef (docker/Dockerfile in its
/// `build_tools` stage, the variant in its toolchain), so both pin it, and
/// to one version: their recipes must be read by the same cargo-chef.
#[test]
fn ci3_dockerfile_cb_pins_the_same_cargo_chef_as_docker_dockerfile() -> Result<()> {
    let pin = |path: &str| -> Result<String> {
        Dockerfile::load(&repo_path(path))?
            .all_instructions()
            .find_map(|instruction| {
                (instruction.keyword == "ARG")
                    .then(|| instruction.arguments.strip_prefix("CARGO_CHEF_VERSION="))
                    .flatten()
                    .map(str::to_owned)
            })
            .with_context(|| format!("{path} has no ARG CARGO_CHEF_VERSION=..."))
    };
    let reference = pin("docker/Dockerfile")?;
    assert_eq!(pin(DOCKERFILE_CB)?, reference);
    assert!(
        reference.split('.').all(|part| part.parse::<u32>().is_ok()),
        "cargo-chef is pinned to an exact version, not {reference:?}"
    );
    Ok(())
}
