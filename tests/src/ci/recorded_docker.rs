//! A `docker` command that records how it is called and builds nothing,
//! placed first on `PATH` for a script under test: what the script asks
//! buildx to do (the options each flag turns into) is checked in
//! milliseconds, while other tests run the same script for real.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, Result};
use tempfile::TempDir;

use crate::builds::build_script::BUILD_SCRIPT;
use crate::images::base_images::LOCK_FILE;
use crate::repo::repo_path;

/// Answers `docker info`, writes image digests where `--metadata-file` asks
/// and an image id for `docker image inspect`, and appends every
/// invocation's arguments, one per line, to the record file, followed by an
/// end marker.
const SCRIPT: &str = r#"#!/usr/bin/env bash
record=${RECORDED_DOCKER_LOG:?}
{ printf '%s\n' "$@"; printf '%s\n' '--end-of-call--'; } >>"$record"
if [[ ${1:-} == image && ${2:-} == inspect ]]; then
    printf 'sha256:%064d\n' 0
fi
while (($# > 0)); do
    if [[ $1 == --metadata-file ]]; then
        printf '{"containerimage.config.digest": "sha256:%064d", "containerimage.digest": "sha256:%064d"}\n' 0 0 >"$2"
    fi
    shift
done
"#;

const END_OF_CALL: &str = "--end-of-call--";

pub struct RecordedDocker {
    dir: TempDir,
}

impl RecordedDocker {
    pub fn new() -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("recorded-docker-")
            .tempdir()?;
        let program = dir.path().join("bin/docker");
        std::fs::create_dir_all(program.parent().expect("bin/docker has a parent"))?;
        std::fs::write(&program, SCRIPT)?;
        let mut permissions = std::fs::metadata(&program)?.permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
        std::fs::set_permissions(&program, permissions)?;
        Ok(Self { dir })
    }

    /// `PATH` with the recording `docker` first.
    pub fn path_variable(&self) -> String {
        let rest = std::env::var("PATH").unwrap_or_default();
        format!("{}:{rest}", self.dir.path().join("bin").display())
    }

    /// Where the calls are recorded (`RECORDED_DOCKER_LOG`).
    pub fn record_file(&self) -> PathBuf {
        self.dir.path().join("calls")
    }

    /// Every call so far, each as its list of arguments.
    pub fn calls(&self) -> Result<Vec<Vec<String>>> {
        read_calls(&self.record_file())
    }

    /// Runs the build script of the tree at `root` (the repository or a copy
    /// of it) with this `docker` first on `PATH`, and the repository's base
    /// image pins: they are specific to the host, not part of any copy.
    pub fn run_script(&self, root: &Path, args: &[&str]) -> Result<Output> {
        Command::new(root.join(BUILD_SCRIPT))
            .args(args)
            .current_dir(root)
            .env("PATH", self.path_variable())
            .env("RECORDED_DOCKER_LOG", self.record_file())
            .env("CI_BASE_IMAGES_LOCK", repo_path(LOCK_FILE))
            .output()
            .with_context(|| format!("cannot run {BUILD_SCRIPT}"))
    }

    /// The calls of `docker buildx build`.
    pub fn builds(&self) -> Result<Vec<Vec<String>>> {
        Ok(self
            .calls()?
            .into_iter()
            .filter(|call| call.len() > 1 && call[0] == "buildx" && call[1] == "build")
            .collect())
    }
}

fn read_calls(file: &Path) -> Result<Vec<Vec<String>>> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let mut calls = Vec::new();
    let mut current = Vec::new();
    for line in text.lines() {
        if line == END_OF_CALL {
            calls.push(std::mem::take(&mut current));
        } else {
            current.push(line.to_owned());
        }
    }
    Ok(calls)
}

/// The values a build call gives an option, e.g. every `--cache-from`.
pub fn option_values<'a>(call: &'a [String], option: &str) -> Vec<&'a str> {
    call.windows(2)
        .filter(|pair| pair[0] == option)
        .map(|pair| pair[1].as_str())
        .collect()
}

/// Whether a build call carries a switch, e.g. `--no-cache`.
pub fn has_switch(call: &[String], switch: &str) -> bool {
    call.iter().any(|argument| argument == switch)
}

/// A build call as a reader would type it: `docker buildx build`, then one
/// option with its value per line, then the build context.
pub fn command_line(call: &[String]) -> String {
    let quoted = |word: &String| shell_words::quote(word).into_owned();
    let first_option = call
        .iter()
        .position(|word| word.starts_with("--"))
        .unwrap_or(call.len());
    let (command, rest) = call.split_at(first_option);
    // The last word is the build context, even after a switch.
    let (options, context) = match rest.split_last() {
        Some((last, options)) if !last.starts_with("--") => (options, Some(last)),
        _ => (rest, None),
    };
    let mut lines = vec![format!(
        "docker {}",
        command.iter().map(quoted).collect::<Vec<_>>().join(" ")
    )];
    let mut words = options.iter().peekable();
    while let Some(word) = words.next() {
        let value = words.next_if(|next| !next.starts_with("--"));
        lines.push(match value {
            Some(value) => format!("{} {}", quoted(word), quoted(value)),
            None => quoted(word),
        });
    }
    lines.extend(context.map(quoted));
    lines.join(" \\\n    ")
}

/// The stage a build call targets.
pub fn target_of(call: &[String]) -> Result<&str> {
    option_values(call, "--target")
        .first()
        .copied()
        .context("a build call without --target")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_line_has_one_option_per_line_and_the_context_last() {
        let call: Vec<String> = [
            "buildx",
            "build",
            "--file",
            "docker/Dockerfile",
            "--load",
            "--tag",
            "r/x:a b",
            ".",
        ]
        .map(str::to_owned)
        .to_vec();
        assert_eq!(
            command_line(&call),
            "docker buildx build \\\n    --file docker/Dockerfile \\\n    --load \\\n    --tag 'r/x:a b' \\\n    ."
        );
    }
}
