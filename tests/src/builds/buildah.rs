//! buildah, the daemonless builder that stands in for Kaniko here (CI3):
//! finding it at the version the project's script pins, building with its registry
//! layer cache, and reading from its output where each step's layer came
//! from.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rustix::process::{Resource, getrlimit};
use tokio::process::Command;

use crate::engine::installed_tools::InstallScript;
use crate::repo::repo_path;

/// Knows the buildah version the suite needs (see the script).
static INSTALL_SCRIPT: InstallScript = InstallScript::new("ci/install_buildah.sh");

/// How many lines of output a failure shows.
const FAILURE_LOG_LINES: usize = 40;

/// The installed buildah version, or one line naming the setup command.
pub fn installed_version() -> Result<&'static str> {
    INSTALL_SCRIPT.check()
}

/// buildah's global options that give the suite a store of its own, beside
/// the build output (`cargo clean` removes it): emptying it to play a fresh
/// CI worker touches no image or container of the user's own buildah or
/// podman.
fn store_options() -> [String; 2] {
    let store = repo_path("target/buildah-store");
    [
        format!("--root={}", store.join("root").display()),
        format!("--runroot={}", store.join("run").display()),
    ]
}

fn last_line(text: &str) -> &str {
    text.lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("no output")
}

/// One `buildah build` with a registry layer cache, the way Kaniko's
/// `--cache=true` works: each layer is pushed to `cache_repository` as it
/// is built, and looked up there before it is built.
#[derive(Debug, Clone)]
pub struct BuildahBuild {
    pub context: PathBuf,
    /// Relative to the context.
    pub dockerfile: String,
    pub target: String,
    pub build_args: Vec<(String, String)>,
    pub tag: String,
    pub cache_repository: String,
}

/// A finished build: its output and how long it took.
#[derive(Debug, Clone)]
pub struct BuildahRun {
    pub log: String,
    pub elapsed: Duration,
}

impl BuildahBuild {
    fn arguments(&self) -> Vec<String> {
        let mut arguments: Vec<String> = [
            "build",
            "--layers",
            // The Docker image format keeps HEALTHCHECK; OCI has no field for it.
            "--format=docker",
            // The project's registry speaks plain HTTP on loopback.
            "--tls-verify=false",
            // RUN steps share the host's network, as Kaniko's do.
            "--network=host",
            // No io.buildah.version label: the image carries the same
            // labels whichever builder made it.
            "--identity-label=false",
        ]
        .map(String::from)
        .to_vec();
        // buildah raises the open-file and process limits of RUN steps to
        // its own defaults; a host that caps them (a container, a sandbox)
        // refuses, so the steps keep the limits this process has.
        for (name, resource) in [("nofile", Resource::Nofile), ("nproc", Resource::Nproc)] {
            if let Some(limit) = hard_limit(resource) {
                arguments.push(format!("--ulimit={name}={limit}:{limit}"));
            }
        }
        arguments.extend([
            format!("--file={}", self.dockerfile),
            format!("--target={}", self.target),
            format!("--cache-to={}", self.cache_repository),
            format!("--cache-from={}", self.cache_repository),
            format!("--tag={}", self.tag),
        ]);
        for (name, value) in &self.build_args {
            arguments.push(format!("--build-arg={name}={value}"));
        }
        arguments.push(".".to_owned());
        arguments
    }

    pub async fn run(&self) -> Result<BuildahRun> {
        let started = Instant::now();
        let output = Command::new("buildah")
            .args(store_options())
            .args(self.arguments())
            .current_dir(&self.context)
            .stdin(Stdio::null())
            .output()
            .await
            .context("cannot run buildah build")?;
        let elapsed = started.elapsed();
        // Steps and their cache lines go to stdout, RUN output to both.
        let log = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        if !output.status.success() {
            let lines: Vec<&str> = log.lines().collect();
            let tail = lines[lines.len().saturating_sub(FAILURE_LOG_LINES)..].join("\n");
            bail!(
                "buildah build of {} failed ({}):\n{tail}",
                self.tag,
                output.status
            );
        }
        Ok(BuildahRun { log, elapsed })
    }
}

/// The hard limit of `resource` for this process; none when unlimited.
fn hard_limit(resource: Resource) -> Option<u64> {
    getrlimit(resource).maximum
}

/// Runs `buildah ARGS...`, failing with its last line of output.
pub async fn buildah(arguments: &[&str]) -> Result<String> {
    let output = Command::new("buildah")
        .args(store_options())
        .args(arguments)
        .stdin(Stdio::null())
        .output()
        .await
        .context("cannot run buildah")?;
    if !output.status.success() {
        bail!(
            "buildah {} failed: {}",
            arguments.join(" "),
            last_line(&String::from_utf8_lossy(&output.stderr))
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Pushes a built image to the registry its tag names.
pub async fn push(tag: &str) -> Result<()> {
    buildah(&["push", "--tls-verify=false", tag])
        .await
        .map(drop)
}

/// Empties the suite's buildah store: working containers first, then every
/// image, base images included. A build after this starts from nothing
/// local, as a fresh CI worker does.
pub async fn clear_local_store() -> Result<()> {
    buildah(&["rm", "--all"]).await?;
    buildah(&["rmi", "--all", "--force"]).await?;
    let left = buildah(&["images", "--quiet", "--all"]).await?;
    if !left.trim().is_empty() {
        bail!("buildah still lists images after rmi --all: {left}");
    }
    Ok(())
}

/// Where a step's layer came from, as buildah reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerSource {
    /// Built here, then pushed to the cache repository.
    BuiltAndPushed,
    /// Found in the cache repository and downloaded.
    PulledFromRegistryCache,
    /// Found in the local store.
    LocalCache,
    /// Built here, no cache involved (e.g. a `FROM` step).
    Other,
}

/// One step of a build: `[2/6] STEP 3/4: COPY ...` and where its layer
/// came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub heading: String,
    pub source: LayerSource,
}

/// The steps of a `buildah build` log, in order.
pub fn steps(log: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    for line in log.lines() {
        if is_step_heading(line) {
            steps.push(Step {
                heading: line.to_owned(),
                source: LayerSource::Other,
            });
            continue;
        }
        let Some(step) = steps.last_mut() else {
            continue;
        };
        // A remote hit is also reported as a local one right after it.
        if line.starts_with("--> Cache pulled from remote ") {
            step.source = LayerSource::PulledFromRegistryCache;
        } else if line.starts_with("--> Pushing cache ") {
            step.source = LayerSource::BuiltAndPushed;
        } else if line.starts_with("--> Using cache ") && step.source == LayerSource::Other {
            step.source = LayerSource::LocalCache;
        }
    }
    steps
}

/// `STEP 2/8: ...`, optionally after a stage counter like `[1/6] `.
fn is_step_heading(line: &str) -> bool {
    let rest = match line.strip_prefix('[') {
        Some(staged) => staged.split_once("] ").map_or("", |(_, rest)| rest),
        None => line,
    };
    rest.starts_with("STEP ") && rest.contains(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "\
[1/2] STEP 1/3: FROM localhost:5000/mirror/rust@sha256:aa AS toolchain
Trying to pull localhost:5000/mirror/rust@sha256:aa...
[1/2] STEP 2/3: COPY build-ca/ /usr/local/share/ca-certificates/build-ca/
--> Cache pulled from remote localhost:5000/cache:60b7:60b7
--> Using cache 2ecf18ac8c01
--> 2ecf18ac8c01
[1/2] STEP 3/3: RUN cargo build
   Compiling serde v1.0.228
--> Pushing cache localhost:5000/cache:b193
--> 76325b18673
[2/2] STEP 1/2: FROM debian
[2/2] STEP 2/2: USER 10001:0
--> Using cache 5b71e232427c
";

    #[test]
    fn tells_where_each_layer_came_from() {
        let sources: Vec<LayerSource> = steps(LOG).iter().map(|step| step.source).collect();
        assert_eq!(
            sources,
            [
                LayerSource::Other,
                LayerSource::PulledFromRegistryCache,
                LayerSource::BuiltAndPushed,
                LayerSource::Other,
                LayerSource::LocalCache,
            ]
        );
        assert_eq!(steps(LOG)[2].heading, "[1/2] STEP 3/3: RUN cargo build");
    }
}
