//! R8: `docker stop` (SIGTERM, then SIGKILL after the grace period) while
//! traffic flows and a slow request is in flight: readiness fails first,
//! no request is refused before that, the slow request completes, and the
//! process exits 0 on its own, long before the engine would kill it.

use std::time::Duration;

use anyhow::{Context, Result};
use integration_suite::builds::project_images::{Target, project_image};
use integration_suite::containers::load_generator::{
    Load, LoadGenerator, check_readiness_failed_first,
};
use integration_suite::containers::run::{STOP_GRACE_SECONDS, exit_state, stop_gracefully};
use integration_suite::containers::service_container::{
    HTTP_PORT, RunOptions, START_TIMEOUT, ServiceContainer,
};
use integration_suite::contract::service_package::service_package;
use integration_suite::engine::host::host;
use tokio::time::Instant;

/// Longer than the image's one-second shutdown delay, so the request is
/// still running when the listeners close.
const SLOW_REQUEST_MS: u64 = 3_000;
const LOAD: Load = Load {
    workers: 4,
    pause: Duration::from_millis(20),
    limit: Duration::from_secs(30),
    request_timeout: Duration::from_secs(5),
};
/// Traffic before the stop, so the load is known to be flowing.
const WARM_UP: Duration = Duration::from_millis(500);

#[tokio::test]
async fn r8_docker_stop_fails_readiness_first_finishes_in_flight_requests_and_exits_0() -> Result<()>
{
    let host = host().await;
    for target in Target::RUNNERS {
        let image = project_image(target).await?;
        let options = RunOptions {
            env: vec!["ENABLE_DEBUG_ROUTES=true".to_owned()],
            ..Default::default()
        };
        let container = ServiceContainer::start(host.docker(), &image.id, options, START_TIMEOUT)
            .await
            .with_context(|| format!("starting {target:?}"))?;
        let http = container.address(HTTP_PORT)?;

        // Readiness and the registry's listing, in turn.
        let ready = service_package()?.contract.readiness.path.as_str();
        let load = LoadGenerator::start(http, &[ready, "/services"], LOAD)?;
        let slow = tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()?;
            let response = client
                .get(format!("http://{http}/debug/sleep?ms={SLOW_REQUEST_MS}"))
                .send()
                .await?;
            let status = response.status().as_u16();
            let body = response.text().await?;
            anyhow::Ok((status, body, Instant::now()))
        });
        tokio::time::sleep(WARM_UP).await;

        let stop_sent = load.elapsed();
        let stopping = Instant::now();
        stop_gracefully(host.docker(), &container.id).await?;
        let stop_took = stopping.elapsed();
        let exited = load.elapsed();
        let samples = load.finish().await?;
        let (slow_status, slow_body, slow_finished) = slow.await??;

        let state = exit_state(host.docker(), &container.id).await?;
        assert_eq!(
            (state.exit_code, state.oom_killed),
            (Some(0), Some(false)),
            "{target:?}: exit code and OOMKilled\n{}",
            container.logs().await
        );
        assert!(
            stop_took < Duration::from_secs(STOP_GRACE_SECONDS as u64 / 2),
            "{target:?}: docker stop took {stop_took:?}, close to the kill at {STOP_GRACE_SECONDS}s"
        );

        // The slow request was running when the signal came, and finished.
        assert_eq!(
            (slow_status, slow_body.as_str()),
            (200, r#"{"slept_ms":3000}"#),
            "{target:?}: the request in flight"
        );
        assert!(
            slow_finished > stopping,
            "{target:?}: the slow request ended before the stop"
        );

        check_readiness_failed_first(&samples, ready, stop_sent, exited)
            .with_context(|| format!("{target:?}"))?;
    }
    Ok(())
}
