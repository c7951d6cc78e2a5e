//! Runs `ci/build_images.sh` and reads what it reports: one line per image,
//! `TARGET IMAGE_ID TAG...`, on stdout; the build log on stderr. One
//! builder for every caller: the shared project images run it from the
//! repository with plain progress and keep their tags; the cache tests run
//! it from any copy of the repository, against any engine (`DOCKER_HOST`),
//! with a chosen CA bundle, reading BuildKit's rawjson progress, and the
//! tags go when the run is dropped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::process::Command;

use crate::builds::build_progress::BuildProgress;
use crate::engine::docker_cli::remove_tag_now;
use crate::images::base_images::LOCK_FILE;
use crate::repo::{repo_path, repo_root};
use crate::run_report::{record_build, record_plain_build};

/// The script, relative to the repository root.
pub const BUILD_SCRIPT: &str = "ci/build_images.sh";

/// How many lines of the build log a failure shows.
const FAILURE_LOG_LINES: usize = 40;

/// One image the script built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptImage {
    /// The Dockerfile stage, e.g. `runner`.
    pub target: String,
    /// The image id (`sha256:...`) buildx reported.
    pub id: String,
    /// Every tag the image received, e.g. `REGISTRY/service_discovery:COMMIT`.
    pub tags: Vec<String>,
}

/// A successful run of the script.
#[derive(Debug, Clone)]
pub struct ScriptRun {
    pub images: Vec<ScriptImage>,
    /// The plain-progress build log and the script's own messages.
    pub log: String,
}

/// One run of the build script. The tags it gave are removed from the
/// engine when the value is dropped; the build cache stays.
#[derive(Debug)]
pub struct ScriptBuildRun {
    pub images: Vec<ScriptImage>,
    /// Progress of every build the script started, in order.
    pub progress: BuildProgress,
    /// Progress of each build on its own, by target, in the order built.
    pub per_target: Vec<(String, BuildProgress)>,
    /// Everything the script wrote to stderr.
    pub log: String,
    pub elapsed: Duration,
    docker_host: Option<String>,
}

impl Drop for ScriptBuildRun {
    fn drop(&mut self) {
        for tag in self.images.iter().flat_map(|image| &image.tags) {
            remove_tag_now(tag, self.docker_host.as_deref());
        }
    }
}

impl ScriptBuildRun {
    /// The progress of the build of `target` (the last one, if it was built
    /// more than once).
    pub fn target_progress(&self, target: &str) -> Result<&BuildProgress> {
        self.per_target
            .iter()
            .rev()
            .find(|(built, _)| built == target)
            .map(|(_, progress)| progress)
            .with_context(|| format!("the script built no {target}: {:?}", self.images))
    }

    pub fn image(&self, target: &str) -> Result<&ScriptImage> {
        self.images
            .iter()
            .rev()
            .find(|image| image.target == target)
            .with_context(|| format!("the script reported no {target} image: {:?}", self.images))
    }
}

/// The script, with where it runs from and what it talks to.
#[derive(Debug, Clone)]
pub struct ScriptBuild {
    root: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl ScriptBuild {
    /// The repository's own script.
    pub fn new<S: AsRef<str>>(args: &[S]) -> Self {
        Self::in_repo(repo_root(), args)
    }

    /// The script of a copy of the repository (it builds that copy), with
    /// the repository's base image pins: they are specific to the host and
    /// not part of any copy.
    pub fn in_repo<S: AsRef<str>>(root: &Path, args: &[S]) -> Self {
        Self {
            root: root.to_owned(),
            args: args.iter().map(|arg| arg.as_ref().to_owned()).collect(),
            env: vec![(
                "CI_BASE_IMAGES_LOCK".to_owned(),
                repo_path(LOCK_FILE).display().to_string(),
            )],
        }
    }

    /// An environment variable for the script, e.g. `DOCKER_HOST` or `CA_BUNDLE`.
    pub fn env(mut self, name: &str, value: impl Into<String>) -> Self {
        self.env.push((name.to_owned(), value.into()));
        self
    }

    /// Runs the script; a failure carries the end of its log and the
    /// progress read so far is lost with it.
    pub async fn run(&self) -> Result<ScriptBuildRun> {
        let output = self.output().await?;
        if !output.status.success() {
            let log = String::from_utf8_lossy(&output.stderr);
            bail!(
                "{BUILD_SCRIPT} {} failed ({}):\n{}",
                self.args.join(" "),
                output.status,
                readable_tail(&log)
            );
        }
        self.read(output)
    }

    /// Runs the script expecting it to fail; returns its stderr.
    pub async fn run_failing(&self) -> Result<String> {
        let output = self.output().await?;
        if output.status.success() {
            bail!(
                "{BUILD_SCRIPT} {} succeeded although it should not have",
                self.args.join(" ")
            );
        }
        Ok(String::from_utf8_lossy(&output.stderr).into_owned())
    }

    /// Runs the script with plain progress, the format the plain-log
    /// helpers read, and keeps the tags it gave: the shared project images.
    pub async fn run_plain(&self) -> Result<ScriptRun> {
        let output = self.output_with("plain").await?;
        let log = String::from_utf8_lossy(&output.stderr).into_owned();
        if !output.status.success() {
            let lines: Vec<&str> = log.lines().collect();
            let tail = lines[lines.len().saturating_sub(FAILURE_LOG_LINES)..].join("\n");
            bail!(
                "{BUILD_SCRIPT} {} failed ({}):\n{tail}",
                self.args.join(" "),
                output.status
            );
        }
        record_plain_build(
            format!("{} ({})", self.args.join(" "), self.origin()),
            output.elapsed,
            &log,
        );
        let stdout =
            String::from_utf8(output.stdout).context("the script printed non-UTF-8 output")?;
        let images = parse_images(&stdout)?;
        Ok(ScriptRun { images, log })
    }

    fn origin(&self) -> &'static str {
        if self.root == repo_root() {
            "repository"
        } else {
            "a copy"
        }
    }

    async fn output(&self) -> Result<TimedOutput> {
        self.output_with("rawjson").await
    }

    async fn output_with(&self, progress: &str) -> Result<TimedOutput> {
        let started = Instant::now();
        let output = Command::new(self.root.join(BUILD_SCRIPT))
            .args(&self.args)
            .current_dir(&self.root)
            .env("BUILDKIT_PROGRESS", progress)
            .envs(self.env.iter().map(|(name, value)| (name, value)))
            .stdin(Stdio::null())
            .output()
            .await
            .with_context(|| format!("cannot run {BUILD_SCRIPT}"))?;
        Ok(TimedOutput {
            status: output.status,
            stdout: output.stdout,
            stderr: output.stderr,
            elapsed: started.elapsed(),
        })
    }

    fn read(&self, output: TimedOutput) -> Result<ScriptBuildRun> {
        let log = String::from_utf8_lossy(&output.stderr).into_owned();
        let stdout =
            String::from_utf8(output.stdout).context("the script printed non-UTF-8 output")?;
        let images = parse_images(&stdout)?;
        let per_target = split_by_target(&log)?;
        record_build(
            format!("{} ({})", self.args.join(" "), self.origin()),
            output.elapsed,
            &per_target,
        );
        let docker_host = self
            .env
            .iter()
            .find(|(name, _)| name == "DOCKER_HOST")
            .map(|(_, value)| value.clone());
        Ok(ScriptBuildRun {
            images,
            progress: BuildProgress::parse(&log)?,
            per_target,
            log,
            elapsed: output.elapsed,
            docker_host,
        })
    }
}

struct TimedOutput {
    status: std::process::ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    elapsed: Duration,
}

/// The script announces each build with `build_images: building TARGET as
/// TAG...`; the progress up to the next announcement belongs to it.
fn split_by_target(log: &str) -> Result<Vec<(String, BuildProgress)>> {
    const ANNOUNCEMENT: &str = "build_images: building ";
    let mut sections: Vec<(String, String)> = Vec::new();
    for line in log.lines() {
        if let Some(rest) = line.strip_prefix(ANNOUNCEMENT) {
            let target = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
            sections.push((target, String::new()));
        } else if let Some((_, text)) = sections.last_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    sections
        .into_iter()
        .map(|(target, text)| Ok((target, BuildProgress::parse(&text)?)))
        .collect()
}

/// The end of a rawjson log is unreadable; the script's own lines, BuildKit's
/// errors and the failed steps' output tell what went wrong.
fn readable_tail(log: &str) -> String {
    let progress = BuildProgress::parse(log).unwrap_or_default();
    let mut lines: Vec<String> = log
        .lines()
        .filter(|line| {
            let trimmed = line.trim_start();
            !(trimmed.is_empty() || trimmed.starts_with(['{', '}', '"', '[', ']']))
        })
        .map(str::to_owned)
        .collect();
    for step in progress.steps().iter().filter(|step| step.error.is_some()) {
        lines.push(format!("failed step: {}", step.name));
        lines.extend(step.lines().map(str::to_owned));
    }
    lines[lines.len().saturating_sub(FAILURE_LOG_LINES)..].join("\n")
}

/// Parses the script's stdout, one `TARGET IMAGE_ID TAG...` line per image.
pub fn parse_images(stdout: &str) -> Result<Vec<ScriptImage>> {
    stdout
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let mut fields = line.split_whitespace().map(str::to_owned);
            let (Some(target), Some(id)) = (fields.next(), fields.next()) else {
                bail!("unexpected line from {BUILD_SCRIPT}: {line:?}");
            };
            if !id.starts_with("sha256:") {
                bail!("{BUILD_SCRIPT} reported {id:?} as the image id of {target}");
            }
            Ok(ScriptImage {
                target,
                id,
                tags: fields.collect(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_one_line_per_image() {
        let images = parse_images(
            "runner sha256:ab r/service_discovery:c0ffee r/service_discovery:main\n\
             lint sha256:cd r/service_discovery-lint:c0ffee\n",
        )
        .unwrap();
        assert_eq!(images.len(), 2);
        assert_eq!(images[0].target, "runner");
        assert_eq!(
            images[0].tags,
            ["r/service_discovery:c0ffee", "r/service_discovery:main"]
        );
        assert_eq!(images[1].id, "sha256:cd");
    }

    #[test]
    fn refuses_a_line_without_an_image_id() {
        let error = parse_images("runner r/service_discovery:c0ffee\n").unwrap_err();
        assert!(
            error.to_string().contains("as the image id of runner"),
            "{error}"
        );
    }

    #[test]
    fn splits_the_log_at_each_announced_build() {
        let log = "build_images: stage by stage: the builder stage is r/x:builder-1\n\
                   build_images: building builder as r/x:builder-1\n\
                   {\"vertexes\":[{\"digest\":\"a\",\"name\":\"[builder 2/2] RUN cook\",\"cached\":true}]}\n\
                   build_images: building runner as r/x:c0ffee\n\
                   {\"vertexes\":[{\"digest\":\"b\",\"name\":\"[runner 2/2] COPY /opt/rel\",\"completed\":\"t\"}]}\n";
        let sections = split_by_target(log).unwrap();
        let targets: Vec<&str> = sections.iter().map(|(target, _)| target.as_str()).collect();
        assert_eq!(targets, ["builder", "runner"]);
        assert_eq!(sections[0].1.steps().len(), 1);
        assert_eq!(sections[1].1.steps()[0].name, "[runner 2/2] COPY /opt/rel");
    }
}
