//! The validators of the Dockerfiles and CI definitions (hadolint,
//! check-jsonschema, actionlint, yamllint), at the versions
//! `ci/install_ci_validators.sh` pins.

use std::path::Path;
use std::process::Stdio;

use anyhow::{Result, anyhow};
use tokio::process::Command;

use crate::engine::installed_tools::InstallScript;
use crate::repo::repo_root;

/// Knows the validators' pins and where they live.
static INSTALL_SCRIPT: InstallScript = InstallScript::new("ci/install_ci_validators.sh");

/// The directory holding the validators' executables, or one line naming
/// the setup command.
pub fn validators_dir() -> Result<&'static Path> {
    INSTALL_SCRIPT.check().map(Path::new)
}

/// How a validator run ended.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub passed: bool,
    /// Stdout and stderr together: the findings.
    pub output: String,
}

impl Verdict {
    /// Fails with the validator's findings unless it passed `what`.
    pub fn assert_passed(&self, what: &str) {
        assert!(self.passed, "{what} failed:\n{}", self.output);
    }

    /// Fails unless the validator rejected `what` (a file broken on
    /// purpose) with findings that mention `finding`: a validator that
    /// checks nothing cannot pass the tests that use it.
    pub fn assert_rejected(&self, what: &str, finding: &str) {
        assert!(
            !self.passed,
            "{what} accepted a broken file:\n{}",
            self.output
        );
        assert!(
            self.output.contains(finding),
            "{what} said:\n{}",
            self.output
        );
    }
}

/// Runs validator `tool` with `arguments` from `dir`.
pub async fn validate_in(dir: &Path, tool: &str, arguments: &[&str]) -> Result<Verdict> {
    let executable = validators_dir()?.join(tool);
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
