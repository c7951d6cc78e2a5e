//! The runner contract (M5, M6) as checks that take any image, so every
//! builder's runner is held to the same promises: the config a deployment
//! relies on, and the container contract kept at run time.

use anyhow::{Context, Result, ensure};
use bollard::Docker;
use serde_json::Value;

use crate::contract::checks::{check_graceful_stop, check_locked_down_run, check_version};
use crate::contract::service_package::service_package;
use crate::images::config::{contract, image_config};

/// The label holding the commit; it differs between any two builds.
pub const REVISION_LABEL: &str = "org.opencontainers.image.revision";

/// The contract of `image` as [`contract`] renders it, with the commit
/// label's value replaced by a placeholder.
pub async fn runner_contract(docker: &Docker, image: &str) -> Result<Value> {
    let config = image_config(docker, image).await?;
    let mut rendered = contract(&config);
    if let Some(revision) = rendered["Labels"].get_mut(REVISION_LABEL) {
        *revision = Value::String("[commit]".to_owned());
    }
    Ok(rendered)
}

/// Fails unless `image` promises exactly what `reference` does.
pub async fn assert_same_contract(docker: &Docker, image: &str, reference: &str) -> Result<()> {
    let actual = runner_contract(docker, image).await?;
    let expected = runner_contract(docker, reference).await?;
    ensure!(
        actual == expected,
        "the contract of {image} differs from {reference}'s:\n{}\nexpected:\n{}",
        serde_json::to_string_pretty(&actual)?,
        serde_json::to_string_pretty(&expected)?
    );
    Ok(())
}

/// Holds a runner built some other way to this service's container
/// contract: its version line, a locked-down run (read-only root, an
/// arbitrary user id, no capability) that becomes ready and healthy, and a
/// graceful stop. What the service answers beyond that is its own layer's
/// business, proved on the reference runner.
pub async fn assert_keeps_the_container_contract(docker: &Docker, image: &str) -> Result<()> {
    let service = service_package()?;
    check_version(docker, service, image)
        .await
        .with_context(|| format!("{image}: version"))?;
    check_locked_down_run(docker, service, image)
        .await
        .with_context(|| format!("{image}: locked-down run"))?;
    check_graceful_stop(docker, service, image)
        .await
        .with_context(|| format!("{image}: docker stop"))
}
