//! The service the images build and run: the workspace package whose
//! manifest has a `[package.metadata.container]` table, found the way
//! `ci_service_name` in `ci/lib.sh` finds it. Its name is the one source of
//! the binary's, the directory's and the images' names.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{Context, Result, anyhow, bail};

use crate::checked_command::checked_output;
use crate::repo::repo_root;

/// The service package's name in this repository, e.g. `service_discovery`.
pub fn service_name() -> Result<&'static str> {
    static NAME: OnceLock<Result<String, String>> = OnceLock::new();
    NAME.get_or_init(|| service_name_in(repo_root()).map_err(|error| format!("{error:#}")))
        .as_deref()
        .map_err(|error| anyhow!("{error}"))
}

/// The service package's name in the workspace at `root` (a copy of the
/// repository, say), asked afresh.
pub fn service_name_in(root: &Path) -> Result<String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = checked_output(
        Command::new(cargo)
            .args([
                "metadata",
                "--no-deps",
                "--offline",
                "--format-version",
                "1",
            ])
            .arg("--manifest-path")
            .arg(root.join("Cargo.toml"))
            .current_dir(root),
    )?;
    let metadata: serde_json::Value =
        serde_json::from_str(&output).context("cargo metadata printed no JSON")?;
    let names = service_names(&metadata);
    match names.as_slice() {
        [name] => Ok((*name).to_owned()),
        _ => bail!(
            "exactly one workspace package must have a [package.metadata.container] table, found {names:?}"
        ),
    }
}

fn service_names(metadata: &serde_json::Value) -> Vec<&str> {
    metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|package| !package["metadata"]["container"].is_null())
        .filter_map(|package| package["name"].as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_package_with_a_container_table_counts() {
        let metadata = serde_json::json!({"packages": [
            {"name": "integration_suite", "metadata": null},
            {"name": "billing-api", "metadata": {"container": {}}},
            {"name": "other", "metadata": {"docs": {}}},
        ]});
        assert_eq!(service_names(&metadata), ["billing-api"]);
    }
}
