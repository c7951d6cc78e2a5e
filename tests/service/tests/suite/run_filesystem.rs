//! R6, R7: the service writes nothing but its runtime files, and only under
//! `/tmp`; with `--read-only --tmpfs /tmp` nothing at all reaches the
//! container's layer, and the service still does everything.

use std::collections::HashMap;

use anyhow::{Context, Result};
use bollard::models::HostConfig;
use integration_suite::builds::project_images::{Target, project_image};
use integration_suite::containers::diff::container_diff;
use integration_suite::containers::service_container::{
    RunOptions, START_TIMEOUT, ServiceContainer,
};
use integration_suite::engine::host::host;
use service_suite::full_exercise::exercise_everything;

#[tokio::test]
async fn r6_container_diff_shows_only_the_runtime_files_under_tmp() -> Result<()> {
    let host = host().await;
    let mut diffs = Vec::new();
    for target in Target::RUNNERS {
        let image = project_image(target).await?;
        let container = ServiceContainer::start_default(host.docker(), &image.id)
            .await
            .with_context(|| format!("starting {target:?}"))?;
        exercise_everything(host.docker(), &container)
            .await
            .with_context(|| format!("{target:?}"))?;
        diffs.push(container_diff(host.docker(), &container.id).await?);
    }
    assert_eq!(diffs[0], diffs[1], "runner and runner-minimal write alike");
    insta::assert_snapshot!("r6_container_diff_after_serving", diffs[0].join("\n"));
    Ok(())
}

#[tokio::test]
async fn r7_read_only_root_with_tmpfs_leaves_an_empty_diff_and_serves_everything() -> Result<()> {
    let host = host().await;
    for target in Target::RUNNERS {
        let image = project_image(target).await?;
        let options = RunOptions {
            host_config: HostConfig {
                readonly_rootfs: Some(true),
                tmpfs: Some(HashMap::from([("/tmp".to_owned(), String::new())])),
                ..Default::default()
            },
            ..Default::default()
        };
        let container = ServiceContainer::start(host.docker(), &image.id, options, START_TIMEOUT)
            .await
            .with_context(|| format!("starting {target:?} with --read-only --tmpfs /tmp"))?;
        exercise_everything(host.docker(), &container)
            .await
            .with_context(|| format!("{target:?}"))?;
        let diff = container_diff(host.docker(), &container.id).await?;
        assert!(diff.is_empty(), "{target:?} wrote to its layer: {diff:#?}");
    }
    Ok(())
}
