//! The pinned tools the suite calls (buildah, the validators, the book
//! tools), found through their install scripts' `--check` mode: the script
//! is the one place that knows each pin and where it lives, and `--check`
//! installs nothing. Installing is `ci/setup.sh`'s job, never a test's.

use std::process::{Command, Stdio};
use std::sync::OnceLock;

use anyhow::{Result, anyhow};

use crate::ci::script_error::script_reason;
use crate::repo::{repo_path, repo_root};

/// Prepares the host, tools included; README command 1 runs it.
pub const SETUP_SCRIPT: &str = "ci/setup.sh";

/// An install script that knows how to check its own pins.
pub struct InstallScript {
    path: &'static str,
    answer: OnceLock<Result<String, String>>,
}

impl InstallScript {
    pub const fn new(path: &'static str) -> Self {
        Self {
            path,
            answer: OnceLock::new(),
        }
    }

    /// What the script prints when its tools are installed at their pins
    /// (a directory or a version), asked once per test binary. Missing
    /// tools give the script's own one-line reason, which names
    /// [`SETUP_SCRIPT`].
    pub fn check(&self) -> Result<&str> {
        self.answer
            .get_or_init(|| check(self.path))
            .as_deref()
            .map_err(|reason| anyhow!("{reason}"))
    }
}

fn check(script: &str) -> Result<String, String> {
    let output = Command::new(repo_path(script))
        .arg("--check")
        .current_dir(repo_root())
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("cannot run {script} --check ({error}): run {SETUP_SCRIPT}"))?;
    if !output.status.success() {
        return Err(script_reason(&output.stderr).unwrap_or_else(|| {
            format!(
                "{script} --check failed ({}): run {SETUP_SCRIPT}",
                output.status
            )
        }));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}
