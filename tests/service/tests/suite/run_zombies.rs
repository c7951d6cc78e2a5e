//! R9: processes started by `docker exec` (health checks included) that
//! leave a child behind hand it to the container's PID 1 when they exit.
//! Unless PID 1 reaps, each ended orphan stays a zombie, holding a slot of
//! the process table. `--init` puts a reaping init in front of the service;
//! the service's own reaper does the same without it.
//!
//! Runs on `runner` only: leaving an orphan takes a shell.

use std::time::Duration;

use anyhow::{Context, Result};
use bollard::models::{HealthConfig, HostConfig};
use integration_suite::builds::project_images::{Target, project_image};
use integration_suite::containers::orphans;
use integration_suite::containers::process_table::zombies;
use integration_suite::containers::service_container::{
    RunOptions, START_TIMEOUT, ServiceContainer,
};
use integration_suite::engine::host::host;

const ORPHANING_EXECS: usize = 50;
/// How long health checks run, and how often, in the health check test.
const HEALTH_CHECKS_FOR: Duration = Duration::from_secs(10);
const HEALTH_INTERVAL: Duration = Duration::from_millis(500);

/// How a container's PID 1 is set up.
#[derive(Debug, Clone, Copy)]
struct Pid1 {
    label: &'static str,
    /// `docker run --init`: the engine's init (tini) runs the service.
    init: bool,
    /// The service's own reaper; on by default when it is PID 1.
    builtin_reaper: bool,
}

const NO_REAPER: Pid1 = Pid1 {
    label: "no --init, REAP_ZOMBIES=off",
    init: false,
    builtin_reaper: false,
};
const DOCKER_INIT: Pid1 = Pid1 {
    label: "--init, REAP_ZOMBIES=off",
    init: true,
    builtin_reaper: false,
};
const BUILTIN_REAPER: Pid1 = Pid1 {
    label: "no --init, built-in reaper (image default)",
    init: false,
    builtin_reaper: true,
};

async fn start(
    image: &str,
    pid1: Pid1,
    healthcheck: Option<HealthConfig>,
) -> Result<ServiceContainer> {
    let host = host().await;
    let options = RunOptions {
        env: if pid1.builtin_reaper {
            Vec::new()
        } else {
            vec!["REAP_ZOMBIES=off".to_owned()]
        },
        healthcheck,
        host_config: HostConfig {
            init: Some(pid1.init),
            ..Default::default()
        },
        ..Default::default()
    };
    ServiceContainer::start(host.docker(), image, options, START_TIMEOUT)
        .await
        .with_context(|| format!("starting the runner with {}", pid1.label))
}

/// Runs the orphaning execs in a fresh container and counts the zombies.
async fn zombies_after_orphaning_execs(image: &str, pid1: Pid1) -> Result<usize> {
    let host = host().await;
    let container = start(image, pid1, None).await?;
    orphans::zombies_after_orphaning_execs(host.docker(), &container.id, ORPHANING_EXECS)
        .await
        .with_context(|| pid1.label)
}

#[tokio::test]
async fn r9_orphans_of_docker_exec_stay_zombies_unless_pid1_reaps() -> Result<()> {
    let image = &project_image(Target::Runner).await?.id;
    let (no_reaper, docker_init, builtin_reaper) = tokio::try_join!(
        zombies_after_orphaning_execs(image, NO_REAPER),
        zombies_after_orphaning_execs(image, DOCKER_INIT),
        zombies_after_orphaning_execs(image, BUILTIN_REAPER),
    )?;
    assert_eq!(no_reaper, ORPHANING_EXECS, "{}", NO_REAPER.label);
    assert_eq!(docker_init, 0, "{}", DOCKER_INIT.label);
    assert_eq!(builtin_reaper, 0, "{}", BUILTIN_REAPER.label);
    let table = [
        (NO_REAPER, no_reaper),
        (DOCKER_INIT, docker_init),
        (BUILTIN_REAPER, builtin_reaper),
    ]
    .map(|(pid1, count)| format!("{}: {count} zombies", pid1.label))
    .join("\n");
    insta::assert_snapshot!("r9_zombies_after_50_orphaning_execs", table);
    Ok(())
}

fn health_check(test: &[&str]) -> HealthConfig {
    let nanos = |duration: Duration| Some(duration.as_nanos() as i64);
    HealthConfig {
        test: Some(test.iter().map(|part| (*part).to_owned()).collect()),
        interval: nanos(HEALTH_INTERVAL),
        timeout: nanos(Duration::from_secs(3)),
        retries: Some(3),
        start_period: nanos(Duration::ZERO),
        start_interval: nanos(HEALTH_INTERVAL),
    }
}

/// Zombies counted halfway through and at the end of a while of health
/// checks in a fresh container; the check must have kept passing.
#[derive(Debug, Clone, Copy)]
struct ZombieGrowth {
    halfway: usize,
    end: usize,
}

async fn zombies_during_health_checks(
    image: &str,
    pid1: Pid1,
    test: &[&str],
) -> Result<ZombieGrowth> {
    let host = host().await;
    let container = start(image, pid1, Some(health_check(test))).await?;
    tokio::time::sleep(HEALTH_CHECKS_FOR / 2).await;
    let halfway = zombies(host.docker(), &container.id).await?.len();
    tokio::time::sleep(HEALTH_CHECKS_FOR / 2).await;
    let end = zombies(host.docker(), &container.id).await?.len();
    container
        .wait_until_healthy(Duration::ZERO)
        .await
        .with_context(|| format!("{}: {test:?}", pid1.label))?;
    Ok(ZombieGrowth { halfway, end })
}

#[tokio::test]
async fn r9_health_checks_leave_no_zombies_unless_they_orphan_and_nothing_reaps() -> Result<()> {
    let image = &project_image(Target::Runner).await?.id;
    // The image's own check (`service_discovery ping`) starts no child.
    let image_check = ["CMD", "/opt/rel/bin/service_discovery", "ping"];
    // A check written as a shell line that backgrounds a command.
    let orphaning_check = [
        "CMD-SHELL",
        "sleep 0.1 & /opt/rel/bin/service_discovery ping",
    ];
    let (image_check_unreaped, orphaning_unreaped, orphaning_reaped) = tokio::try_join!(
        zombies_during_health_checks(image, NO_REAPER, &image_check),
        zombies_during_health_checks(image, NO_REAPER, &orphaning_check),
        zombies_during_health_checks(image, BUILTIN_REAPER, &orphaning_check),
    )?;
    println!(
        "zombies halfway and after {HEALTH_CHECKS_FOR:?} of health checks every \
         {HEALTH_INTERVAL:?}: image check, {}: {image_check_unreaped:?}; orphaning check, {}: \
         {orphaning_unreaped:?}; orphaning check, {}: {orphaning_reaped:?}",
        NO_REAPER.label, NO_REAPER.label, BUILTIN_REAPER.label
    );
    assert_eq!(
        (image_check_unreaped.halfway, image_check_unreaped.end),
        (0, 0),
        "the image's health check, {}",
        NO_REAPER.label
    );
    assert_eq!(
        (orphaning_reaped.halfway, orphaning_reaped.end),
        (0, 0),
        "an orphaning health check, {}",
        BUILTIN_REAPER.label
    );
    // One zombie per run, and runs never stop: the count only grows, until
    // the process table is full.
    assert!(
        0 < orphaning_unreaped.halfway && orphaning_unreaped.halfway < orphaning_unreaped.end,
        "an orphaning health check, {}: {orphaning_unreaped:?}",
        NO_REAPER.label
    );
    Ok(())
}
