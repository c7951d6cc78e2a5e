//! Image builds through `docker buildx build`: the path the build scripts
//! take, with the same optional CA-bundle secret for TLS-intercepting proxies.

use std::path::PathBuf;
use std::process::Stdio;

use crate::engine::docker_cli::remove_tag_now;
use anyhow::{Context, Result, bail};
use tokio::process::Command;

/// How many lines of build output a failure shows.
const FAILURE_LOG_LINES: usize = 40;

/// A tag no other test run uses, under the suite's own namespace.
pub fn unique_tag(name: &str) -> String {
    format!("integration-suite/{name}:run-{}", std::process::id())
}

/// The host CA bundle the build scripts pass as the `ca_bundle` secret.
pub fn ca_bundle() -> Option<PathBuf> {
    let path = std::env::var_os("CA_BUNDLE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/etc/ssl/certs/ca-certificates.crt"));
    path.is_file().then_some(path)
}

/// One `docker buildx build` invocation, loaded into the local engine.
#[derive(Debug, Clone)]
pub struct ImageBuild {
    context: PathBuf,
    tag: String,
    dockerfile: Option<PathBuf>,
    target: Option<String>,
    build_args: Vec<(String, String)>,
    options: Vec<String>,
}

impl ImageBuild {
    pub fn new(context: impl Into<PathBuf>, tag: impl Into<String>) -> Self {
        Self {
            context: context.into(),
            tag: tag.into(),
            dockerfile: None,
            target: None,
            build_args: Vec::new(),
            options: Vec::new(),
        }
    }

    pub fn dockerfile(mut self, path: impl Into<PathBuf>) -> Self {
        self.dockerfile = Some(path.into());
        self
    }

    pub fn target(mut self, stage: impl Into<String>) -> Self {
        self.target = Some(stage.into());
        self
    }

    pub fn build_arg(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.build_args.push((name.into(), value.into()));
        self
    }

    /// Any other `docker buildx build` option, e.g. `--no-cache`.
    pub fn option(mut self, option: impl Into<String>) -> Self {
        self.options.push(option.into());
        self
    }

    fn command_args(&self, iid_file: &std::path::Path) -> Vec<String> {
        let mut args: Vec<String> = ["buildx", "build", "--load", "--progress=plain"]
            .map(String::from)
            .to_vec();
        args.extend(["--iidfile".into(), iid_file.display().to_string()]);
        args.extend(["--tag".into(), self.tag.clone()]);
        if let Some(dockerfile) = &self.dockerfile {
            args.extend(["--file".into(), dockerfile.display().to_string()]);
        }
        if let Some(target) = &self.target {
            args.extend(["--target".into(), target.clone()]);
        }
        for (name, value) in &self.build_args {
            args.extend(["--build-arg".into(), format!("{name}={value}")]);
        }
        if let Some(bundle) = ca_bundle() {
            args.extend([
                "--secret".into(),
                format!("id=ca_bundle,src={}", bundle.display()),
            ]);
        }
        args.extend(self.options.iter().cloned());
        args.push(self.context.display().to_string());
        args
    }

    /// Builds the image; a failure carries the end of the build log.
    pub async fn run(self) -> Result<BuiltImage> {
        let iid_dir = tempfile::tempdir().context("cannot create a temporary directory")?;
        let iid_file = iid_dir.path().join("image-id");
        let output = Command::new("docker")
            .args(self.command_args(&iid_file))
            .stdin(Stdio::null())
            .output()
            .await
            .context("cannot run docker buildx build")?;
        // buildx writes its progress to stderr.
        let log = String::from_utf8_lossy(&output.stderr).into_owned();
        if !output.status.success() {
            let lines: Vec<&str> = log.lines().collect();
            let tail = lines[lines.len().saturating_sub(FAILURE_LOG_LINES)..].join("\n");
            bail!(
                "docker buildx build of {} failed ({}):\n{tail}",
                self.tag,
                output.status
            );
        }
        let id = std::fs::read_to_string(&iid_file)
            .with_context(|| format!("buildx wrote no image id for {}", self.tag))?
            .trim()
            .to_owned();
        Ok(BuiltImage {
            tag: self.tag,
            id,
            log,
        })
    }

    /// Runs a build that must fail and returns its whole log, for tests
    /// that check why it failed (a failure of [`ImageBuild::run`] shows
    /// only the end of the log).
    pub async fn run_expecting_failure(self) -> Result<String> {
        let iid_dir = tempfile::tempdir().context("cannot create a temporary directory")?;
        let output = Command::new("docker")
            .args(self.command_args(&iid_dir.path().join("image-id")))
            .stdin(Stdio::null())
            .output()
            .await
            .context("cannot run docker buildx build")?;
        if output.status.success() {
            // Built after all: the tag must not stay behind.
            drop(BuiltImage {
                tag: self.tag.clone(),
                id: String::new(),
                log: String::new(),
            });
            bail!(
                "docker buildx build of {} succeeded although it should have failed",
                self.tag
            );
        }
        Ok(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// An image a test built. Its tag is removed when the value is dropped, so
/// test runs leave no tags behind; the build cache stays for the next run.
#[derive(Debug)]
pub struct BuiltImage {
    pub tag: String,
    /// The image id (`sha256:...`) buildx reported.
    pub id: String,
    /// The plain-progress build log.
    pub log: String,
}

impl Drop for BuiltImage {
    fn drop(&mut self) {
        remove_tag_now(&self.tag, None);
    }
}
