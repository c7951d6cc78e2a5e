//! `docker/compose.yaml` end to end with the project's own images:
//! postgres (healthy) -> migrate (exits 0) -> service_discovery, brought up
//! by `docker compose up --wait`; the original README's curl + dig flow
//! against it; data kept across restarts of the service and of the database.

use std::time::Duration;

use anyhow::Result;
use integration_suite::engine::host::host;
use reqwest::StatusCode;
use service_suite::compose_project::ComposeProject;
use service_suite::postgres_image::unique_password;
use service_suite::readme_flow::{ReadmeAnswers, run_readme_flow};
use service_suite::runner_image::ServiceDiscoveryImage;
use service_suite::service_http::{get, wait_for_ready_status};

const UP_TIMEOUT: Duration = Duration::from_secs(180);
const RECOVERY: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread")]
async fn compose_stack_runs_the_readme_flow_and_keeps_its_data() -> Result<()> {
    let host = host().await;
    let runner = ServiceDiscoveryImage::runner().await?;
    let project = ComposeProject::new(
        "readme",
        &runner.reference(),
        &host.base_images().postgres.reference,
        &unique_password(),
    )?;

    let took = project.up_wait(UP_TIMEOUT).await?;
    eprintln!("docker compose up --wait: {:.1}s", took.as_secs_f64());
    assert_eq!(
        project.states().await?,
        [
            "migrate exited 0",
            "postgres running 0",
            "service_discovery running 0"
        ],
        "the migration ran to completion before the service started"
    );

    let http = project.address("service_discovery", "3000").await?;
    let dns = project.address("service_discovery", "8053/udp").await?;
    let expected = ReadmeAnswers {
        a: vec!["127.0.0.1".into()],
        srv: vec!["1 1 8000 webapp.svc.cluster.local.".into()],
    };
    assert_eq!(run_readme_flow(http, dns).await?, expected);
    let registered = get(http, "/service/webapp").await?;
    assert_eq!(registered.status, StatusCode::OK);

    // A new service container: the data lives in the database.
    project.run(&["restart", "service_discovery"]).await?;
    let http = project.address("service_discovery", "3000").await?;
    wait_for_ready_status(http, StatusCode::OK, RECOVERY).await?;
    assert_eq!(get(http, "/service/webapp").await?.body, registered.body);

    // A restarted database: its volume keeps the data and the service
    // reconnects by itself.
    project.run(&["restart", "postgres"]).await?;
    wait_for_ready_status(http, StatusCode::OK, RECOVERY).await?;
    assert_eq!(get(http, "/service/webapp").await?.body, registered.body);
    let endpoints = get(http, "/service/webapp/endpoints").await?;
    assert_eq!(endpoints.body[0]["ip"], "127.0.0.1", "{}", endpoints.body);
    let dns = project.address("service_discovery", "8053/udp").await?;
    let srv =
        service_suite::readme_flow::dig_short(dns, "SRV", "_http._tcp.webapp.svc.cluster.local")
            .await?;
    assert_eq!(srv, expected.srv);
    Ok(())
}
