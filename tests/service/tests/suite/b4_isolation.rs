//! B4: isolation removes chores. Two containers of the same runner image
//! start side by side with no configuration at all, each on the image's
//! fixed ports inside its own network namespace, and each with its own
//! state: nothing to install, edit or name uniquely per instance.

use anyhow::{Context, Result};
use integration_suite::builds::project_images::{Target, project_image};
use integration_suite::containers::service_container::{DNS_UDP_PORT, HTTP_PORT, ServiceContainer};
use integration_suite::engine::host::host;
use reqwest::StatusCode;
use service_suite::readme_flow::readme_flow;

#[tokio::test]
async fn b4_identical_containers_run_side_by_side_unconfigured_on_fixed_ports() -> Result<()> {
    let host = host().await;
    let image = project_image(Target::Runner).await?;
    let start = || ServiceContainer::start_default(host.docker(), &image.id);
    let first = start().await.context("first container")?;
    let second = start().await.context("second container")?;

    // Both listen on the same container port (3000, from the image); the
    // engine maps each to a different free host port.
    let (first_http, second_http) = (first.address(HTTP_PORT)?, second.address(HTTP_PORT)?);
    assert_ne!(first_http.port(), second_http.port());

    let flow = readme_flow(first_http, first.address(DNS_UDP_PORT)?).await?;
    assert_eq!(flow.answers.srv, ["1 1 8000 webapp.svc.cluster.local."]);
    // The walk-through as the book shows it; only the new service's id
    // differs between runs.
    insta::with_settings!({
        filters => vec![(r#""id":"[^"]*""#, r#""id":"[id]""#)]
    }, {
        insta::assert_snapshot!("readme_flow_transcript", flow.transcript);
    });

    // The second instance shares nothing with the first: no state, no name.
    let status = reqwest::get(format!("http://{second_http}/service/webapp"))
        .await?
        .status();
    assert_eq!(status, StatusCode::NOT_FOUND);
    Ok(())
}
