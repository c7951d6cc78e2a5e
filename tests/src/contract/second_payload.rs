//! The second payload, `examples/hello_service`, adopted into a copy of the
//! repository the way a fork adopts its own service: `ci/rename.sh` gives
//! the copy the payload's name, the payload's sources replace the renamed
//! service's, the service's own test layer leaves the workspace (the
//! pipeline layer stays: it needs nothing of the old service), and the
//! copy's `ci/build_images.sh` builds both runners with the same Dockerfile.
//! Built at most once per run and shared, like the project's images.
//!
//! The cache and rebuild claims are proved on copies of it too
//! ([`PayloadCopy`]): the Dockerfile and the scripts are the same, and the
//! payload's few dependencies cook in a fraction of the service's time.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, anyhow, ensure};
use tokio::sync::OnceCell;

use crate::builds::build_script::{ScriptBuild, ScriptBuildRun};
use crate::builds::project_images::{SUITE_REGISTRY, build_turn};
use crate::checked_command::checked_output;
use crate::contract::checks::Payload;
use crate::contract::service_package::service_package_in;
use crate::repo::copy::RepoCopy;
use crate::repo::edits::commit_all;

/// The service's own test layer, which a fork replaces.
pub const SERVICE_LAYER_DIR: &str = "tests/service";
/// The payload's directory in the repository, a workspace of its own.
pub const SECOND_PAYLOAD_DIR: &str = "examples/hello_service";

/// The stages built for the second payload: both runners, and the test
/// and lint stages, which run the payload's own tests and clippy.
pub const SECOND_PAYLOAD_TARGETS: [&str; 4] = ["runner", "runner-minimal", "tester", "lint"];

/// The line the payload's `version` subcommand prints, as its source spells
/// it: the rebuild tests edit it to see which code an image ships.
pub const SECOND_PAYLOAD_VERSION_LINE: &str = r#"println!("{NAME} {VERSION} ({commit})")"#;
/// The payload's source file holding it, relative to its directory.
pub const SECOND_PAYLOAD_MAIN: &str = "src/main.rs";

/// The second payload's runner images, built on first use.
pub async fn second_payload() -> Result<&'static Payload> {
    Ok(&adopted().await?.payload)
}

/// The build of the second payload's stages, with its progress.
pub async fn second_payload_build() -> Result<&'static ScriptBuildRun> {
    Ok(&adopted().await?.build)
}

/// The payload's images and the build that tagged them: a build removes its
/// tags when dropped, so it lives as long as the fixture, to the run's end.
struct Adopted {
    payload: Payload,
    build: ScriptBuildRun,
}

async fn adopted() -> Result<&'static Adopted> {
    static ADOPTED: OnceCell<Result<Adopted, String>> = OnceCell::const_new();
    ADOPTED
        .get_or_init(|| async {
            adopt_and_build()
                .await
                .map_err(|error| format!("{error:#}"))
        })
        .await
        .as_ref()
        .map_err(|error| anyhow!("adopting {SECOND_PAYLOAD_DIR} failed: {error}"))
}

async fn adopt_and_build() -> Result<Adopted> {
    let copy = adopted_copy()?;
    let build = {
        let _turn = build_turn().await;
        let mut args = vec!["-l"];
        for target in SECOND_PAYLOAD_TARGETS {
            args.extend(["-t", target]);
        }
        args.extend(["-r", SUITE_REGISTRY, "-b", "main"]);
        ScriptBuild::in_repo(copy.path(), &args).run().await?
    };
    let package = service_package_in(copy.path())?;
    let payload = Payload {
        service: package,
        runner: build.image("runner")?.id.clone(),
        runner_minimal: build.image("runner-minimal")?.id.clone(),
    };
    Ok(Adopted { payload, build })
}

/// A committed copy of the repository whose service is the second payload.
pub fn adopted_copy() -> Result<RepoCopy> {
    let copy = RepoCopy::new()?;
    commit_all(&copy, "fork")?;
    let payload = service_package_in(&copy.join(SECOND_PAYLOAD_DIR))?;
    let name = payload.name.as_str();
    checked_output(
        Command::new(copy.join("ci/rename.sh"))
            .arg(name)
            .current_dir(copy.path()),
    )?;
    let renamed = copy.join(name);
    std::fs::remove_dir_all(&renamed)
        .with_context(|| format!("cannot remove the renamed service in {}", renamed.display()))?;
    copy.rename(SECOND_PAYLOAD_DIR, name)?;
    // The payload is a workspace member now: the workspace's lockfile rules.
    remove_if_present(&copy.join(&format!("{name}/Cargo.lock")))?;
    // The service's own test layer goes, as a fork replaces it with its
    // own; the pipeline layer stays, needing nothing of the old service.
    std::fs::remove_dir_all(copy.join(SERVICE_LAYER_DIR))
        .with_context(|| format!("cannot remove {SERVICE_LAYER_DIR}"))?;
    copy.edit("Cargo.toml", |manifest| {
        let members = manifest
            .lines()
            .find(|line| line.starts_with("members = "))
            .context("no members line")?;
        let layer = format!("\"{SERVICE_LAYER_DIR}\"");
        let kept: Vec<&str> = members
            .trim_start_matches("members = [")
            .trim_end_matches(']')
            .split(", ")
            .filter(|member| *member != layer)
            .collect();
        ensure!(
            kept.len() + 1 == members.split(", ").count(),
            "the workspace members ({members}) do not list {SERVICE_LAYER_DIR}"
        );
        Ok(manifest.replace(members, &format!("members = [{}]", kept.join(", "))))
    })?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    checked_output(
        Command::new(cargo)
            .args(["update", "--offline", "--workspace"])
            .current_dir(copy.path()),
    )?;
    commit_all(&copy, &format!("adopt {name}"))?;
    Ok(copy)
}

/// A fresh adopted copy for a test that changes and rebuilds it. Its
/// builds start from the cache the shared payload build left, as the
/// cache tests of a repository start from its own images.
pub struct PayloadCopy {
    copy: RepoCopy,
    /// The payload's package name, which is also its directory.
    pub service: String,
}

impl PayloadCopy {
    /// Builds the shared payload images first (once per run): the cache
    /// the copy's rebuilds are compared with.
    pub async fn new() -> Result<Self> {
        second_payload().await?;
        let copy = adopted_copy()?;
        let service = service_package_in(copy.path())?.name;
        Ok(Self { copy, service })
    }

    /// The payload's manifest, relative to the copy's root.
    pub fn manifest(&self) -> String {
        format!("{}/Cargo.toml", self.service)
    }

    /// The payload's main source file, relative to the copy's root.
    pub fn main_source(&self) -> String {
        format!("{}/{SECOND_PAYLOAD_MAIN}", self.service)
    }

    /// Replaces the `println!` of the version line with `replacement`.
    pub fn edit_version_line(&self, replacement: &str) -> Result<()> {
        let file = self.main_source();
        self.copy.edit(&file, |text| {
            ensure!(
                text.contains(SECOND_PAYLOAD_VERSION_LINE),
                "{file} no longer contains {SECOND_PAYLOAD_VERSION_LINE}: update SECOND_PAYLOAD_VERSION_LINE"
            );
            Ok(text.replace(SECOND_PAYLOAD_VERSION_LINE, replacement))
        })
    }
}

impl std::ops::Deref for PayloadCopy {
    type Target = RepoCopy;

    fn deref(&self) -> &RepoCopy {
        &self.copy
    }
}

fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            Err(error).with_context(|| format!("cannot remove {}", path.display()))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::repo_path;

    #[test]
    fn the_payload_prints_its_version_with_the_line_the_rebuild_tests_edit() {
        let main = repo_path(&format!("{SECOND_PAYLOAD_DIR}/{SECOND_PAYLOAD_MAIN}"));
        let source = std::fs::read_to_string(&main).unwrap();
        assert_eq!(
            source.matches(SECOND_PAYLOAD_VERSION_LINE).count(),
            1,
            "{}",
            main.display()
        );
    }
}
