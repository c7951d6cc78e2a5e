//! The second payload, `examples/hello_service`, adopted into a copy of the
//! repository the way a fork adopts its own service: `ci/rename.sh` gives
//! the copy the payload's name, the payload's sources replace the renamed
//! service's, the service's own test layer leaves the workspace (the
//! pipeline layer stays: it needs nothing of the old service), and the
//! copy's `ci/build_images.sh` builds both runners with the same Dockerfile.
//! Built at most once per run and shared, like the project's images.

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

fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            Err(error).with_context(|| format!("cannot remove {}", path.display()))
        }
        _ => Ok(()),
    }
}
