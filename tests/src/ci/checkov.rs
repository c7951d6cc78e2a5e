//! checkov, the policy scanner the suite holds the Dockerfiles, the CI
//! definitions and the Kubernetes manifests to, run offline and read from
//! its JSON report.

use std::path::Path;

use anyhow::{Context, Result, anyhow};

use crate::ci::validators::{Verdict, validate_in};

/// How a [`Finding`] names its file: the name alone, since checkov's paths
/// depend on how it was called.
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// One result checkov reports.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    pub check_id: String,
    /// What the check asks, e.g. "Image should use digest".
    pub check_name: String,
    /// The file's name, without directory.
    pub file: String,
    pub resource: String,
    /// A skip's reason; empty for other results.
    pub comment: String,
}

/// What checkov said about a directory.
#[derive(Debug, Clone)]
pub struct CheckovReport {
    pub verdict: Verdict,
    pub passed: Vec<Finding>,
    pub failed: Vec<Finding>,
    pub skipped: Vec<Finding>,
    pub parsing_errors: Vec<String>,
}

impl CheckovReport {
    /// Panics, listing every failed check and unparsed file, unless checkov
    /// passed everything it was given.
    pub fn assert_clean(&self) {
        let failed: Vec<String> = self
            .failed
            .iter()
            .map(|f| {
                format!(
                    "  {} {}: {} ({})",
                    f.check_id, f.check_name, f.resource, f.file
                )
            })
            .collect();
        assert!(
            failed.is_empty() && self.parsing_errors.is_empty() && self.verdict.passed,
            "checkov failed:\n{}\ncould not parse {:?}\n{}",
            failed.join("\n"),
            self.parsing_errors,
            self.verdict.output
        );
    }
}

/// Runs checkov's checks of `frameworks` on `targets` (files or
/// directories, relative to `dir`), from `dir` and offline:
/// `--skip-download` keeps it from asking the platform for guidelines,
/// severities and policies. The findings come from its JSON report, the
/// console output is kept for messages.
pub async fn checkov(dir: &Path, frameworks: &[&str], targets: &[&str]) -> Result<CheckovReport> {
    let output = tempfile::tempdir()?;
    let report_path = output.path().join("checkov.json");
    let output_paths = format!("console,{}", report_path.display());
    let mut arguments = vec!["--skip-download", "--compact"];
    for framework in frameworks {
        arguments.extend(["--framework", framework]);
    }
    arguments.extend([
        "--output",
        "cli",
        "--output",
        "json",
        "--output-file-path",
        &output_paths,
    ]);
    for target in targets {
        let kind = if dir.join(target).is_dir() {
            "--directory"
        } else {
            "--file"
        };
        arguments.extend([kind, target]);
    }
    let verdict = validate_in(dir, "checkov", &arguments).await?;
    let text = std::fs::read_to_string(&report_path).map_err(|error| {
        anyhow!(
            "checkov wrote no JSON report ({error}):\n{}",
            verdict.output
        )
    })?;
    let report: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("checkov's JSON report does not parse:\n{text}"))?;
    // One report per framework that found something: an array when there
    // are several.
    let reports: Vec<&serde_json::Value> = match report.as_array() {
        Some(reports) => reports.iter().collect(),
        None => vec![&report],
    };
    let all = |key: &str| {
        reports
            .iter()
            .flat_map(|report| report["results"][key].as_array().into_iter().flatten())
            .collect::<Vec<_>>()
    };
    let findings = |key: &str| -> Vec<Finding> {
        let mut found: Vec<Finding> = all(key)
            .into_iter()
            .map(|result| {
                let text = |field: &str| result[field].as_str().unwrap_or_default().to_owned();
                Finding {
                    check_id: text("check_id"),
                    check_name: text("check_name"),
                    file: file_name(Path::new(&text("file_path"))),
                    resource: text("resource"),
                    comment: result["check_result"]["suppress_comment"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                }
            })
            .collect();
        found.sort();
        found
    };
    let parsing_errors = all("parsing_errors")
        .into_iter()
        .map(|error| {
            error
                .as_str()
                .map_or_else(|| error.to_string(), str::to_owned)
        })
        .collect();
    Ok(CheckovReport {
        passed: findings("passed_checks"),
        failed: findings("failed_checks"),
        skipped: findings("skipped_checks"),
        parsing_errors,
        verdict,
    })
}
