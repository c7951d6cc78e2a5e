//! The runner contract (M5, M6) as checks that take any image, so every
//! builder's runner is held to the same promises: the config a deployment
//! relies on, and the service answering as a user id the image never named.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use bollard::Docker;
use serde_json::Value;

use crate::image_config::{contract, image_config};
use crate::readme_flow::run_readme_flow;
use crate::service_container::{DNS_UDP_PORT, HTTP_PORT, RunOptions, ServiceContainer};

/// The label holding the commit; it differs between any two builds.
pub const REVISION_LABEL: &str = "org.opencontainers.image.revision";

const START_TIMEOUT: Duration = Duration::from_secs(30);
const HEALTHY_TIMEOUT: Duration = Duration::from_secs(30);
/// A user id no image of the project names.
const ARBITRARY_USER: &str = "12345:0";

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

/// Starts `image` as an arbitrary user id, runs the README walk-through
/// against it and waits for its health check to pass.
pub async fn assert_serves_as_arbitrary_user(docker: &Docker, image: &str) -> Result<()> {
    let options = RunOptions {
        user: Some(ARBITRARY_USER.to_owned()),
        ..Default::default()
    };
    let container = ServiceContainer::start(docker, image, options, START_TIMEOUT)
        .await
        .with_context(|| format!("starting {image} as {ARBITRARY_USER}"))?;
    let answers = run_readme_flow(
        container.address(HTTP_PORT)?,
        container.address(DNS_UDP_PORT)?,
    )
    .await
    .with_context(|| format!("README flow against {image}"))?;
    ensure!(
        answers.a == ["127.0.0.1"],
        "{image}: A records {:?}",
        answers.a
    );
    ensure!(
        answers.srv == ["1 1 8000 webapp.svc.cluster.local."],
        "{image}: SRV records {:?}",
        answers.srv
    );
    container
        .wait_until_healthy(HEALTHY_TIMEOUT)
        .await
        .with_context(|| format!("{image} as {ARBITRARY_USER}"))
}
