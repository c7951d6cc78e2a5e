//! P2: a private git dependency fetched over SSH from a real sshd, through
//! the builder's SSH agent (`--ssh default`), with the server's host key
//! pinned (taken once with `ssh-keyscan`) and the manifest's https URL
//! rewritten to SSH (`insteadOf`). No key and no agent socket path reach
//! any layer; a server presenting another host key is refused.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use integration_suite::builds::build_log::step_output;
use integration_suite::builds::buildx::{BuiltImage, ImageBuild, unique_tag};
use integration_suite::builds::project_images::build_turn;
use integration_suite::containers::run::run_to_completion;
use integration_suite::engine::host::{Host, host};
use integration_suite::images::leak_scan::{LeakScanner, Secret};
use integration_suite::registries::git_server::{BuildKey, GitServer, SshAgent};
use integration_suite::repo::fixtures::{copy_fixture, fixture_path};
use tempfile::TempDir;

const RUN_TIMEOUT: Duration = Duration::from_secs(60);
/// The URL prefix the manifest names, which nothing ever connects to.
const HTTPS_BASE: &str = "https://git.acme.invalid/team/";
const DEPENDENCY: &str = "acme_private_git_dep";

struct Setup {
    key: BuildKey,
    agent: SshAgent,
    server: GitServer,
    commit: String,
    project: TempDir,
}

impl Setup {
    async fn new(test_name: &str) -> Result<Self> {
        let key = BuildKey::generate().await?;
        let agent = SshAgent::start().await?;
        agent.add(&key).await?;
        let server = GitServer::start(&key.public_key()?, test_name).await?;
        let commit = server
            .publish_repository(
                DEPENDENCY,
                &fixture_path(&format!("private_deps/git/{DEPENDENCY}")),
            )
            .await?;
        let project = copy_fixture("private_deps/git/app")?;
        // Pinned once, kept with the project.
        std::fs::write(
            project.path().join("known_hosts"),
            server.host_keys().await?,
        )?;
        let setup = Self {
            key,
            agent,
            server,
            commit,
            project,
        };
        setup.lock().await?;
        Ok(setup)
    }

    /// Locks the dependency from a developer's machine: the same rewrite,
    /// agent and pinned key as the build.
    async fn lock(&self) -> Result<()> {
        let home = tempfile::Builder::new()
            .prefix("developer-home-")
            .tempdir()?;
        let git_config = home.path().join("gitconfig");
        std::fs::write(
            &git_config,
            format!(
                "[url \"{}\"]\n\tinsteadOf = {HTTPS_BASE}\n",
                self.server.ssh_base()
            ),
        )?;
        let ssh = format!(
            "ssh -o StrictHostKeyChecking=yes -o UserKnownHostsFile={}",
            self.project.path().join("known_hosts").display()
        );
        let output = tokio::process::Command::new("cargo")
            .arg("generate-lockfile")
            .current_dir(self.project.path())
            .env("CARGO_HOME", home.path().join("cargo"))
            .env("CARGO_NET_GIT_FETCH_WITH_CLI", "true")
            .env("GIT_CONFIG_GLOBAL", &git_config)
            .env("GIT_SSH_COMMAND", ssh)
            .env("SSH_AUTH_SOCK", self.agent.socket())
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

    fn image_build(&self, stage: &str, name: &str, host: &Host) -> ImageBuild {
        ImageBuild::new(self.project.path(), unique_tag(name))
            .dockerfile(self.project.path().join("Dockerfile"))
            .target(stage)
            .build_arg("RUST_IMAGE", &host.base_images().rust.reference)
            .build_arg("RUNNER_IMAGE", &host.base_images().runner.reference)
            .build_arg("GIT_HTTPS_BASE", HTTPS_BASE)
            .build_arg("GIT_SSH_BASE", self.server.ssh_base())
            .option("--network=host")
            .option(format!("--ssh=default={}", self.agent.socket().display()))
    }

    async fn build(&self, stage: &str, name: &str) -> Result<BuiltImage> {
        let host = host().await;
        let build = self.image_build(stage, name, &host);
        let _turn = build_turn().await;
        build.run().await
    }

    /// A build that must fail; returns its whole log.
    async fn failing_build(&self, stage: &str, name: &str) -> Result<String> {
        let host = host().await;
        let build = self.image_build(stage, name, &host);
        let _turn = build_turn().await;
        build.run_expecting_failure().await
    }
}

fn lockfile(project: &Path) -> Result<String> {
    std::fs::read_to_string(project.join("Cargo.lock")).context("no Cargo.lock")
}

#[tokio::test]
async fn p2_private_git_dependency_comes_over_the_ssh_agent_and_leaves_no_key() -> Result<()> {
    let host = host().await;
    let setup = Setup::new("p2-agent").await?;
    // The project names the https URL only; the lockfile keeps it.
    let source = format!(
        "git+{HTTPS_BASE}{DEPENDENCY}.git?branch=main#{}",
        setup.commit
    );
    ensure!(
        lockfile(setup.project.path())?.contains(&source),
        "Cargo.lock does not lock {source}"
    );

    let builder = setup.build("builder", "p2-builder").await?;
    let runner = setup.build("runner", "p2-runner").await?;
    let fetched = step_output(&builder.log, "builder", "cargo fetch");
    let rewritten = format!(
        "From ssh://127.0.0.1:{}/srv/git/{DEPENDENCY}",
        setup.server.port()
    );
    assert!(
        fetched.iter().any(|line| line.contains(&rewritten)),
        "not fetched over SSH from the rewritten URL: {fetched:#?}"
    );
    let output = run_to_completion(host.docker(), &runner.tag, None, RUN_TIMEOUT).await?;
    assert_eq!(output.stdout.trim(), "fetched over ssh");

    let mut secrets: Vec<Secret> = setup
        .key
        .private_key_material()?
        .into_iter()
        .map(|line| Secret::new("private key", line))
        .collect();
    secrets.push(Secret::new(
        "agent socket path",
        setup.agent.socket().display().to_string(),
    ));
    let report = LeakScanner::new(secrets)?
        .scan_local_images(&[&builder.tag, &runner.tag], None)
        .await?;
    ensure!(
        report.files > 1_000,
        "the scan read only {} files",
        report.files
    );
    assert!(
        report.leaks.is_empty(),
        "SSH material in an image: {:#?}",
        report.leaks
    );
    Ok(())
}

#[tokio::test]
async fn p2_a_host_key_other_than_the_pinned_one_is_refused() -> Result<()> {
    host().await;
    let setup = Setup::new("p2-pinning").await?;
    // Another server's key under this server's name, as an impostor would
    // present it.
    let impostor = BuildKey::generate().await?;
    let public = impostor.public_key()?;
    let key_fields: Vec<&str> = public.split_whitespace().take(2).collect();
    std::fs::write(
        setup.project.path().join("known_hosts"),
        format!(
            "[127.0.0.1]:{} {}\n",
            setup.server.port(),
            key_fields.join(" ")
        ),
    )?;
    let log = setup.failing_build("builder", "p2-impostor").await?;
    let fetch = step_output(&log, "builder", "cargo fetch");
    assert!(
        fetch
            .iter()
            .any(|line| line.contains("Host key verification failed")),
        "the fetch failed for another reason: {fetch:#?}"
    );
    Ok(())
}
