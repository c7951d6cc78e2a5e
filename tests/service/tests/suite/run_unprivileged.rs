//! M5: the runners need no root, no capability and no privilege escalation:
//! `--user 12345:0 --cap-drop ALL --security-opt no-new-privileges`, and
//! everything still works; as a user id the image never named, the
//! original README walk-through gets its answers.

use anyhow::{Context, Result};
use bollard::models::HostConfig;
use integration_suite::builds::project_images::{Target, project_image};
use integration_suite::containers::service_container::{
    DNS_UDP_PORT, HEALTHY_TIMEOUT, HTTP_PORT, RunOptions, START_TIMEOUT, ServiceContainer,
};
use integration_suite::contract::checks::check_runs_as;
use integration_suite::contract::service_package::service_name;
use integration_suite::engine::host::host;
use service_suite::full_exercise::exercise_everything;
use service_suite::readme_flow::run_readme_flow;

/// A user id no image of the project names, in group 0 as platforms that
/// pick arbitrary user ids run it.
const ARBITRARY_UID: &str = "12345";

#[tokio::test]
async fn m5_arbitrary_uid_without_capabilities_or_new_privileges_serves_everything() -> Result<()> {
    let host = host().await;
    for target in Target::RUNNERS {
        let image = project_image(target).await?;
        let options = RunOptions {
            user: Some(format!("{ARBITRARY_UID}:0")),
            host_config: HostConfig {
                cap_drop: Some(vec!["ALL".to_owned()]),
                security_opt: Some(vec!["no-new-privileges".to_owned()]),
                ..Default::default()
            },
            ..Default::default()
        };
        let container = ServiceContainer::start(host.docker(), &image.id, options, START_TIMEOUT)
            .await
            .with_context(|| format!("starting {target:?} unprivileged"))?;
        exercise_everything(host.docker(), &container)
            .await
            .with_context(|| format!("{target:?}"))?;

        // A health check's `ping` may be running too; it is the same user.
        let name = service_name()?;
        check_runs_as(host.docker(), &container.id, ARBITRARY_UID, name)
            .await
            .with_context(|| format!("{target:?}"))?;
    }
    Ok(())
}

#[tokio::test]
async fn m5_runners_serve_the_readme_flow_as_an_arbitrary_uid() -> Result<()> {
    let host = host().await;
    for target in Target::RUNNERS {
        let image = project_image(target).await?;
        let options = RunOptions {
            user: Some(format!("{ARBITRARY_UID}:0")),
            ..Default::default()
        };
        let container = ServiceContainer::start(host.docker(), &image.id, options, START_TIMEOUT)
            .await
            .with_context(|| format!("starting {target:?}"))?;
        let answers = run_readme_flow(
            container.address(HTTP_PORT)?,
            container.address(DNS_UDP_PORT)?,
        )
        .await
        .with_context(|| format!("README flow against {target:?}"))?;
        assert_eq!(answers.a, ["127.0.0.1"], "{target:?}");
        assert_eq!(
            answers.srv,
            ["1 1 8000 webapp.svc.cluster.local."],
            "{target:?}"
        );
        // The health check (`ping` over the control socket in /tmp) passes
        // for a UID the image has never heard of.
        container
            .wait_until_healthy(HEALTHY_TIMEOUT)
            .await
            .with_context(|| format!("{target:?}"))?;
    }
    Ok(())
}
