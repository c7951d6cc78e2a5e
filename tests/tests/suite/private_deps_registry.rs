//! P1: a crate from a private cargo registry that demands a token. The
//! token reaches the one RUN that downloads, as a BuildKit secret, and
//! nothing else: no layer of any stage, no history, no image config, not
//! the pushed image, not the exported build cache. The contrast test shows
//! the same scan finding the token when a Dockerfile copies it in.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use integration_suite::builds::build_log::step_output;
use integration_suite::builds::buildx::{BuiltImage, ImageBuild};
use integration_suite::builds::project_images::build_turn;
use integration_suite::containers::run::run_to_completion;
use integration_suite::engine::host::{REGISTRY, host};
use integration_suite::images::leak_scan::{LeakScanner, ScanReport, Secret, random_secret};
use integration_suite::registries::private_cargo::{PrivateRegistry, REGISTRY_NAME};
use integration_suite::registries::registry_api::push;
use integration_suite::repo::fixtures::{copy_fixture, fixture_path};
use tempfile::TempDir;

const RUN_TIMEOUT: Duration = Duration::from_secs(60);
/// Where the images and the build cache of these tests are pushed.
const REPOSITORY: &str = "integration-suite-private-deps/uses_private_crate";

/// The registry with the crate published, and the project using it.
struct Setup {
    token: String,
    registry: PrivateRegistry,
    project: TempDir,
    /// The token in a file of its own, outside the build context.
    token_file: TempDir,
}

impl Setup {
    async fn new(test_name: &str) -> Result<Self> {
        let token = random_secret("acme-registry-token-")?;
        let registry = PrivateRegistry::start(&token, test_name).await?;
        let published = registry
            .publish(&fixture_path("private_deps/registry/acme_greeting"))
            .await?;
        ensure!(published.name == "acme_greeting", "published {published:?}");

        let project = copy_fixture("private_deps/registry/app")?;
        std::fs::create_dir_all(project.path().join(".cargo"))?;
        std::fs::write(
            project.path().join(".cargo/config.toml"),
            registry.cargo_config(),
        )?;
        lock(project.path(), &token).await?;

        let token_file = tempfile::Builder::new()
            .prefix("registry-token-")
            .tempdir()?;
        std::fs::write(token_file.path().join("token"), &token)?;
        Ok(Self {
            token,
            registry,
            project,
            token_file,
        })
    }

    fn token_path(&self) -> PathBuf {
        self.token_file.path().join("token")
    }

    /// One stage of the project, built with the registry reachable on the
    /// host's loopback (`--network=host`) and the token as a secret.
    async fn build(
        &self,
        dockerfile: &str,
        stage: &str,
        tag: String,
        extra: &[String],
    ) -> Result<BuiltImage> {
        let host = host().await;
        let mut build = ImageBuild::new(self.project.path(), tag)
            .dockerfile(self.project.path().join(dockerfile))
            .target(stage)
            .build_arg("RUST_IMAGE", &host.base_images().rust.reference)
            .build_arg("RUNNER_IMAGE", &host.base_images().runner.reference)
            .option("--network=host")
            .option(format!(
                "--secret=id=cargo_registry_token,src={}",
                self.token_path().display()
            ));
        for option in extra {
            build = build.option(option.clone());
        }
        let _turn = build_turn().await;
        build.run().await
    }

    fn scanner(&self) -> Result<LeakScanner> {
        LeakScanner::new(vec![Secret::new("registry token", &self.token)])
    }
}

/// Locks the project's dependencies, asking the registry with the token as
/// a developer's machine would.
async fn lock(project: &Path, token: &str) -> Result<()> {
    let cargo_home = tempfile::Builder::new().prefix("cargo-home-").tempdir()?;
    let output = tokio::process::Command::new("cargo")
        .arg("generate-lockfile")
        .current_dir(project)
        .env("CARGO_HOME", cargo_home.path())
        .env(
            format!("CARGO_REGISTRIES_{}_TOKEN", REGISTRY_NAME.to_uppercase()),
            token,
        )
        .stdin(Stdio::null())
        .output()
        .await
        .context("cannot run cargo generate-lockfile")?;
    ensure!(
        output.status.success(),
        "cargo generate-lockfile failed: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(())
}

fn tag(name: &str) -> String {
    format!("{REGISTRY}/{REPOSITORY}:{name}-{}", std::process::id())
}

fn assert_no_leak(report: &ScanReport, what: &str) {
    assert!(
        report.leaks.is_empty(),
        "the token leaked into {what}: {:#?}",
        report.leaks
    );
}

#[tokio::test]
async fn p1_registry_token_reaches_only_the_downloading_step() -> Result<()> {
    let host = host().await;
    let setup = Setup::new("p1-secret").await?;
    let cache = tag("cache");

    let builder = setup
        .build("Dockerfile", "builder", tag("builder"), &[])
        .await?;
    let runner = setup
        .build(
            "Dockerfile",
            "runner",
            tag("runner"),
            &[format!("--cache-to=type=registry,ref={cache},mode=max")],
        )
        .await?;

    // The crate really came from the registry, with the token.
    let fetched = step_output(&builder.log, "builder", "cargo fetch");
    assert!(
        fetched
            .iter()
            .any(|line| line.contains("Downloaded acme_greeting v0.1.0 (registry `acme`)")),
        "the private crate was not downloaded: {fetched:#?}"
    );
    let output = run_to_completion(host.docker(), &runner.tag, None, RUN_TIMEOUT).await?;
    assert_eq!(output.stdout.trim(), "hello from the private registry");
    // Without the token the registry refuses, so the download above used it.
    let refused = reqwest::get(format!("{}/index/config.json", setup.registry.url())).await?;
    assert_eq!(refused.status(), reqwest::StatusCode::UNAUTHORIZED);

    let scanner = setup.scanner()?;
    let local = scanner
        .scan_local_images(&[&builder.tag, &runner.tag], None)
        .await?;
    ensure!(
        local.files > 1_000,
        "the scan read only {} files",
        local.files
    );
    assert_no_leak(&local, "a local image, its history or its config");

    push(&runner.tag).await?;
    let (_, runner_tag) = runner.tag.rsplit_once(':').context("a tagged image")?;
    assert_no_leak(
        &scanner.scan_registry(REPOSITORY, runner_tag).await?,
        "the pushed image",
    );
    let (_, cache_tag) = cache.rsplit_once(':').context("a tagged cache")?;
    let exported = scanner.scan_registry(REPOSITORY, cache_tag).await?;
    ensure!(exported.files > 0, "the exported cache held no layer");
    assert_no_leak(&exported, "the exported build cache");
    Ok(())
}

#[tokio::test]
async fn p1_contrast_a_copied_credentials_file_leaks_and_the_scan_finds_it() -> Result<()> {
    host().await;
    let setup = Setup::new("p1-contrast").await?;
    std::fs::write(
        setup.project.path().join("credentials.toml"),
        format!(
            "[registries.{REGISTRY_NAME}]\ntoken = \"{}\"\n",
            setup.token
        ),
    )?;
    let builder = setup
        .build("leaky.Dockerfile", "builder", tag("leaky-builder"), &[])
        .await?;
    let runner = setup
        .build("leaky.Dockerfile", "runner", tag("leaky-runner"), &[])
        .await?;

    let scanner = setup.scanner()?;
    let report = scanner.scan_local_images(&[&builder.tag], None).await?;
    assert!(
        report
            .leaks
            .iter()
            .any(|leak| leak.place.ends_with("usr/local/cargo/credentials.toml")),
        "the scan missed the copied credentials file: {:#?}",
        report.leaks
    );
    // The runner copies only the release: the leak stays in the builder stage.
    assert_no_leak(
        &scanner.scan_local_images(&[&runner.tag], None).await?,
        "the runner",
    );
    Ok(())
}
