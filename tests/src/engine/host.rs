//! The container host every test needs: a reachable Docker Engine, the
//! project's registry and the mirrored base images, prepared once per test
//! run. When the host is not usable the run ends at once with one line saying
//! what to do, instead of every test failing with its own backtrace.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use bollard::Docker;
use tokio::process::Command;
use tokio::sync::OnceCell;

use crate::ci::script_error::script_reason;
use crate::engine::disk_space::{WrittenDirectory, check_free_space, needed_gib};
use crate::engine::leftovers::remove_leftovers;
use crate::images::base_images::{BaseImages, LOCK_FILE};
use crate::repo::{repo_path, repo_root};
use crate::run_report::time_this_test;

/// The project's registry, where the base images are mirrored.
pub const REGISTRY: &str = "localhost:5000";

const ENGINE_TIMEOUT: Duration = Duration::from_secs(10);
const REGISTRY_TIMEOUT: Duration = Duration::from_secs(5);
const MIRROR_SCRIPT: &str = "ci/mirror_base_images.sh";
const BOOTSTRAP_HINT: &str = "run ci/bootstrap_host.sh";

/// What a test gets from the fixture.
pub struct Host {
    docker: Docker,
    base_images: &'static BaseImages,
}

impl Host {
    /// A client of the local engine, owned by the calling test: clients are
    /// not shared between tests because each test has a runtime of its own.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// The mirrored base images, pinned by digest.
    pub fn base_images(&self) -> &BaseImages {
        self.base_images
    }

    /// The repository root.
    pub fn repo_root(&self) -> &Path {
        repo_root()
    }
}

/// Makes sure the host is ready (checks run once per test binary) and hands
/// out a fresh engine client.
pub async fn host() -> Host {
    static BASE_IMAGES: OnceCell<BaseImages> = OnceCell::const_new();
    let base_images = BASE_IMAGES
        .get_or_init(|| async { prepare().await.unwrap_or_else(|error| abort_run(&error)) })
        .await;
    let docker = connect().unwrap_or_else(|error| abort_run(&error));
    time_this_test();
    Host {
        docker,
        base_images,
    }
}

/// Ends the whole test run with one line on stderr. It is written to the
/// process's stderr directly because libtest's capture would hold back
/// `eprintln!` output, which is lost on exit.
fn abort_run(error: &anyhow::Error) -> ! {
    let _ = writeln!(std::io::stderr(), "error: {error}");
    std::process::exit(1)
}

async fn prepare() -> Result<BaseImages> {
    check_engine().await?;
    check_registry().await?;
    check_disk_space().await?;
    remove_leftovers(&connect()?).await?;
    mirror_base_images().await?;
    BaseImages::load(&repo_path(LOCK_FILE))
}

fn engine_address() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".to_owned())
}

fn connect() -> Result<Docker> {
    Docker::connect_with_local_defaults().map_err(|error| {
        anyhow!(
            "Docker engine not reachable ({}: {error}): {BOOTSTRAP_HINT}",
            engine_address()
        )
    })
}

async fn check_engine() -> Result<()> {
    let docker = connect()?;
    match tokio::time::timeout(ENGINE_TIMEOUT, docker.ping()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => {
            bail!(
                "Docker engine not reachable ({}: {error}): {BOOTSTRAP_HINT}",
                engine_address()
            )
        }
        Err(_) => bail!(
            "Docker engine at {} did not answer within {}s: {BOOTSTRAP_HINT}",
            engine_address(),
            ENGINE_TIMEOUT.as_secs()
        ),
    }
}

/// The engine's store, the temporary directory (private engines, copies of
/// the repository) and the build output all grow during a run.
async fn check_disk_space() -> Result<()> {
    let info = connect()?.info().await.map_err(|error| {
        anyhow!("cannot read the engine's settings ({error}): {BOOTSTRAP_HINT}")
    })?;
    let store = info
        .docker_root_dir
        .ok_or_else(|| anyhow!("the engine does not report its data directory"))?;
    check_free_space(
        &[
            WrittenDirectory {
                role: "the engine's store",
                path: store.into(),
            },
            WrittenDirectory {
                role: "private engines and copies",
                path: std::env::temp_dir(),
            },
            WrittenDirectory {
                role: "build output",
                path: repo_path("target"),
            },
        ],
        needed_gib(),
    )
}

async fn check_registry() -> Result<()> {
    let url = format!("http://{REGISTRY}/v2/");
    let answer = reqwest::Client::new()
        .get(&url)
        .timeout(REGISTRY_TIMEOUT)
        .send()
        .await;
    match answer {
        Ok(response) if response.status().is_success() => Ok(()),
        Ok(response) => {
            bail!(
                "registry at {url} answered {}: {BOOTSTRAP_HINT}",
                response.status()
            )
        }
        Err(error) => bail!("registry not reachable at {url} ({error}): {BOOTSTRAP_HINT}"),
    }
}

/// Keeps the source the host's mirror already uses (a user with internet
/// access may have mirrored from upstream); offline otherwise, and when
/// there is no usable lock yet.
fn mirror_source_option() -> &'static str {
    match BaseImages::load(&repo_path(LOCK_FILE)) {
        Ok(pins) if pins.all_from_upstream() => "--from-upstream",
        _ => "--offline",
    }
}

/// Runs the mirror script; on a warm host it only checks digests and takes
/// well under a second.
async fn mirror_base_images() -> Result<()> {
    let option = mirror_source_option();
    let output = Command::new(repo_path(MIRROR_SCRIPT))
        .arg(option)
        .current_dir(repo_root())
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|error| anyhow!("cannot run {MIRROR_SCRIPT} ({error})"))?;
    if output.status.success() {
        return Ok(());
    }
    let reason =
        script_reason(&output.stderr).unwrap_or_else(|| format!("exit status {}", output.status));
    bail!("{MIRROR_SCRIPT} {option} failed: {reason}")
}
