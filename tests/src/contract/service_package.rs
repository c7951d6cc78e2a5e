//! The service the images build and run: the workspace package whose
//! manifest has a `[package.metadata.container]` table (its container
//! contract), found the way `ci_service_package` in `ci/lib.sh` finds it.
//! Its name is the one source of the binary's, the directory's and the
//! images' names.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{Context, Result, anyhow, bail};

use crate::checked_command::checked_output;
use crate::contract::table::ContainerContract;
use crate::repo::repo_root;

/// The service package of this repository: its name and container contract.
#[derive(Debug, Clone)]
pub struct ServicePackage {
    /// The package's name, e.g. `service_discovery`: also the binary's.
    pub name: String,
    pub contract: ContainerContract,
}

/// This repository's service package, read once.
pub fn service_package() -> Result<&'static ServicePackage> {
    static PACKAGE: OnceLock<Result<ServicePackage, String>> = OnceLock::new();
    PACKAGE
        .get_or_init(|| service_package_in(repo_root()).map_err(|error| format!("{error:#}")))
        .as_ref()
        .map_err(|error| anyhow!("{error}"))
}

/// The service package's name in this repository, e.g. `service_discovery`.
pub fn service_name() -> Result<&'static str> {
    Ok(&service_package()?.name)
}

/// The service package's name in the workspace at `root` (a copy of the
/// repository, say), asked afresh.
pub fn service_name_in(root: &Path) -> Result<String> {
    Ok(service_package_in(root)?.name)
}

/// The service package of the workspace at `root`, asked afresh.
pub fn service_package_in(root: &Path) -> Result<ServicePackage> {
    let metadata = workspace_metadata(root)?;
    let packages = service_packages(&metadata);
    let [package] = packages.as_slice() else {
        let names: Vec<_> = packages
            .iter()
            .filter_map(|package| package["name"].as_str())
            .collect();
        bail!(
            "exactly one workspace package must have a [package.metadata.container] table, found {names:?}"
        );
    };
    let name = package["name"]
        .as_str()
        .context("cargo metadata names no package")?
        .to_owned();
    let contract = ContainerContract::from_metadata(&name, &package["metadata"])?;
    Ok(ServicePackage { name, contract })
}

/// `cargo metadata --no-deps` of the workspace at `root`, offline: its
/// members with their manifests' tables and declared dependencies.
pub fn workspace_metadata(root: &Path) -> Result<serde_json::Value> {
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
    serde_json::from_str(&output).context("cargo metadata printed no JSON")
}

fn service_packages(metadata: &serde_json::Value) -> Vec<&serde_json::Value> {
    metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|package| !package["metadata"]["container"].is_null())
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
        let names: Vec<_> = service_packages(&metadata)
            .into_iter()
            .map(|package| &package["name"])
            .collect();
        assert_eq!(names, ["billing-api"]);
    }
}
