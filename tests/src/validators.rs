//! The validators of the Dockerfiles and CI definitions (hadolint,
//! check-jsonschema, actionlint, yamllint), installed at pinned versions by
//! `ci/install_ci_validators.sh` once per test run.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Result, anyhow};
use tokio::process::Command;
use tokio::sync::OnceCell;

use crate::repo::{repo_path, repo_root};

pub const INSTALL_SCRIPT: &str = "ci/install_ci_validators.sh";

/// The directory holding the validators' executables.
pub async fn validators_dir() -> Result<&'static Path> {
    static DIR: OnceCell<Result<PathBuf, String>> = OnceCell::const_new();
    let dir = DIR
        .get_or_init(|| async {
            let output = Command::new(repo_path(INSTALL_SCRIPT))
                .current_dir(repo_root())
                .stdin(Stdio::null())
                .output()
                .await
                .map_err(|error| format!("cannot run {INSTALL_SCRIPT}: {error}"))?;
            let stderr = String::from_utf8_lossy(&output.stderr);
            if !output.status.success() {
                let reason = stderr.lines().rev().find(|line| !line.trim().is_empty());
                return Err(format!(
                    "{INSTALL_SCRIPT} failed: {}",
                    reason.unwrap_or("no output")
                ));
            }
            Ok(PathBuf::from(
                String::from_utf8_lossy(&output.stdout).trim(),
            ))
        })
        .await;
    dir.as_deref().map_err(|error| anyhow!("{error}"))
}

/// How a validator run ended.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub passed: bool,
    /// Stdout and stderr together: the findings.
    pub output: String,
}

/// Runs validator `tool` with `arguments` from `dir`.
pub async fn validate_in(dir: &Path, tool: &str, arguments: &[&str]) -> Result<Verdict> {
    let executable = validators_dir().await?.join(tool);
    let output = Command::new(&executable)
        .args(arguments)
        .current_dir(dir)
        // Plain text findings, whatever terminal runs the suite.
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|error| anyhow!("cannot run {}: {error}", executable.display()))?;
    Ok(Verdict {
        passed: output.status.success(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    })
}

/// Runs validator `tool` from the repository root.
pub async fn validate(tool: &str, arguments: &[&str]) -> Result<Verdict> {
    validate_in(repo_root(), tool, arguments).await
}
