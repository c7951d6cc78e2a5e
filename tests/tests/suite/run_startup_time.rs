//! B3: a container starts like a plain process. From `docker run` to the
//! first `/ready` 200, the service takes about what the engine needs to
//! start any container: the time of a container running `true` on the same
//! base image, measured in the same run, plus little more.
//!
//! `cargo run -p bench --bin bench_runtime` prints the same
//! figures over more runs.

use std::time::Duration;

use anyhow::Result;
use integration_suite::builds::project_images::{Target, project_image};
use integration_suite::containers::startup_timing::{median, time_service, time_trivial_container};
use integration_suite::engine::host::host;

const RUNS: usize = 3;
/// What the service may add to a trivial container's start: binding three
/// listeners and the first readiness poll take milliseconds, so half a
/// second is generous even on a busy machine.
const SERVICE_OVERHEAD_BOUND: Duration = Duration::from_millis(500);

#[tokio::test]
async fn b3_start_to_ready_is_close_to_a_trivial_containers_start() -> Result<()> {
    let host = host().await;
    let runner = project_image(Target::Runner).await?;
    let base = &host.base_images().runner.reference;
    let (mut trivial, mut ready, mut stop) = (Vec::new(), Vec::new(), Vec::new());
    // Interleaved, so both see the same load on the machine.
    for _ in 0..RUNS {
        trivial.push(time_trivial_container(host.docker(), base).await?);
        let service = time_service(host.docker(), &runner.id).await?;
        assert_eq!(service.exit_code, 0, "docker stop ended with {service:?}");
        ready.push(service.start_to_ready);
        stop.push(service.stop_to_exit);
    }
    let (trivial, ready) = (median(&trivial), median(&ready));
    assert!(
        ready <= trivial + SERVICE_OVERHEAD_BOUND,
        "start to ready {ready:?}, a trivial container {trivial:?} (medians of {RUNS})"
    );
    // Stopping without requests in flight takes the shutdown delay (1 s)
    // and little more: never the 10 s after which the engine kills.
    let stop = median(&stop);
    assert!(
        stop < Duration::from_secs(3),
        "docker stop took {stop:?} (median of {RUNS})"
    );
    Ok(())
}
