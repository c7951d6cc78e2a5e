//! Runs `ci/build_images.sh` and reads what it reports: one line per image,
//! `TARGET IMAGE_ID TAG...`, on stdout; the build log on stderr.

use std::process::Stdio;

use anyhow::{Context, Result, bail};
use tokio::process::Command;

use crate::repo::{repo_path, repo_root};
use crate::run_report::record_plain_build;

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

/// Runs the script with `args` from the repository root; a failure carries
/// the end of its log.
pub async fn run_build_script(args: &[&str]) -> Result<ScriptRun> {
    let started = std::time::Instant::now();
    let output = Command::new(repo_path(BUILD_SCRIPT))
        .args(args)
        .current_dir(repo_root())
        // Plain progress: one line per event, the format the log helpers read.
        .env("BUILDKIT_PROGRESS", "plain")
        .stdin(Stdio::null())
        .output()
        .await
        .with_context(|| format!("cannot run {BUILD_SCRIPT}"))?;
    let log = String::from_utf8_lossy(&output.stderr).into_owned();
    if !output.status.success() {
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(FAILURE_LOG_LINES)..].join("\n");
        bail!(
            "{BUILD_SCRIPT} {} failed ({}):\n{tail}",
            args.join(" "),
            output.status
        );
    }
    record_plain_build(
        format!("{} (repository)", args.join(" ")),
        started.elapsed(),
        &log,
    );
    let stdout = String::from_utf8(output.stdout).context("the script printed non-UTF-8 output")?;
    let images = parse_images(&stdout)?;
    Ok(ScriptRun { images, log })
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
}
