//! The service-agnostic layer: the chapter's runtime claims checked on the
//! runner images of any service, knowing nothing of it but its name and
//! its container contract. No HTTP route but readiness, no setting, no
//! console: what holds here holds for a fork's own service.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use bollard::Docker;
use bollard::models::HostConfig;
use bollard::query_parameters::TopOptionsBuilder;

use crate::builds::project_images::{Target, project_image};
use crate::containers::diff::container_diff;
use crate::containers::load_generator::{Load, LoadGenerator, check_readiness_failed_first};
use crate::containers::orphans::zombies_after_orphaning_execs;
use crate::containers::run::{STOP_GRACE_SECONDS, exit_state, run_to_completion, stop_gracefully};
use crate::containers::service_container::{
    HEALTHY_TIMEOUT, RunOptions, START_TIMEOUT, ServiceContainer,
};
use crate::contract::service_package::{ServicePackage, service_package};

/// Where the release puts the binary; the runners' ENTRYPOINT.
pub const RELEASE_BIN: &str = "/opt/rel/bin";
/// The OCI label naming the image.
const TITLE_LABEL: &str = "org.opencontainers.image.title";
/// The kernel keeps this many bytes of a process name (`comm`).
const COMM_BYTES: usize = 15;
/// A user id no image names, in group 0, as platforms that pick one run it.
const ARBITRARY_UID: &str = "12345";
const RUN_TIMEOUT: Duration = Duration::from_secs(30);
/// Readiness polled by a few workers while the stop goes on.
const STOP_LOAD: Load = Load {
    workers: 2,
    pause: Duration::from_millis(20),
    limit: Duration::from_secs(30),
    request_timeout: Duration::from_secs(5),
};
const WARM_UP: Duration = Duration::from_millis(300);
const ORPHANING_EXECS: usize = 20;

/// A service's two runner images and what they promise.
#[derive(Debug, Clone)]
pub struct Payload {
    pub service: ServicePackage,
    pub runner: String,
    pub runner_minimal: String,
}

impl Payload {
    /// This repository's service, from the suite's shared images.
    pub async fn this_service() -> Result<Self> {
        Ok(Self {
            service: service_package()?.clone(),
            runner: project_image(Target::Runner).await?.id.clone(),
            runner_minimal: project_image(Target::RunnerMinimal).await?.id.clone(),
        })
    }

    pub fn name(&self) -> &str {
        &self.service.name
    }

    /// Both runners, named for messages.
    pub fn runners(&self) -> [(&'static str, &str); 2] {
        [
            ("runner", &self.runner),
            ("runner-minimal", &self.runner_minimal),
        ]
    }
}

fn binary(service: &ServicePackage) -> String {
    format!("{RELEASE_BIN}/{}", service.name)
}

async fn start(
    docker: &Docker,
    service: &ServicePackage,
    image: &str,
    options: RunOptions,
) -> Result<ServiceContainer> {
    ServiceContainer::start_payload(docker, image, &service.contract, options, START_TIMEOUT)
        .await
        .with_context(|| format!("starting {} ({image})", service.name))
}

/// M4, M6: the image config says what the contract says: the binary as
/// ENTRYPOINT, the foreground subcommand as CMD, the health subcommand as
/// HEALTHCHECK, exactly the contract's ports, a numeric non-root user in
/// group 0, the service's name as title, and the contract's stop signal.
pub async fn check_image_config(
    docker: &Docker,
    service: &ServicePackage,
    image: &str,
) -> Result<()> {
    let inspect = docker.inspect_image(image).await?;
    let config = inspect.config.context("the image has no config")?;
    let binary = binary(service);
    let contract = &service.contract;
    ensure!(
        config.entrypoint == Some(vec![binary.clone()]),
        "ENTRYPOINT {:?}, expected [{binary:?}]",
        config.entrypoint
    );
    ensure!(
        config.cmd == Some(vec![contract.foreground.clone()]),
        "CMD {:?}, expected [{:?}] (the contract's foreground)",
        config.cmd,
        contract.foreground
    );
    let health = config.healthcheck.and_then(|check| check.test);
    ensure!(
        health == Some(vec!["CMD".to_owned(), binary, contract.health.clone()]),
        "HEALTHCHECK {health:?}, expected the contract's health subcommand {:?}",
        contract.health
    );
    let mut exposed: Vec<String> = config
        .exposed_ports
        .unwrap_or_default()
        .into_iter()
        .collect();
    let mut listed = contract.expose_words();
    exposed.sort();
    listed.sort();
    ensure!(
        exposed == listed,
        "EXPOSE {exposed:?}, the contract lists {listed:?}"
    );
    let user = config.user.unwrap_or_default();
    let (uid, group) = user.split_once(':').unwrap_or((&user, ""));
    ensure!(
        uid.parse::<u32>().is_ok_and(|uid| uid != 0) && group == "0",
        "USER {user:?}: expected a numeric non-root user in group 0"
    );
    let title = config.labels.unwrap_or_default().get(TITLE_LABEL).cloned();
    ensure!(
        title.as_deref() == Some(service.name.as_str()),
        "{TITLE_LABEL} {title:?}, expected {:?}",
        service.name
    );
    let signal = config.stop_signal.unwrap_or_else(|| "SIGTERM".to_owned());
    ensure!(
        signal == contract.stop.signal,
        "the image stops with {signal}, the contract says {}",
        contract.stop.signal
    );
    Ok(())
}

/// The version subcommand prints one line starting with the service's name.
pub async fn check_version(docker: &Docker, service: &ServicePackage, image: &str) -> Result<()> {
    let version = &service.contract.version;
    let output = run_to_completion(docker, image, Some(&[version]), RUN_TIMEOUT).await?;
    ensure!(
        output.exit_code == 0 && output.stdout.starts_with(&format!("{} ", service.name)),
        "`{} {version}`: {output:?}",
        service.name
    );
    Ok(())
}

/// R6: run as `docker run IMAGE` does, the service changes nothing in its
/// container's layer outside the contract's writable directory. Returns
/// what it changed, for the record.
pub async fn check_writes_only_its_directory(
    docker: &Docker,
    service: &ServicePackage,
    image: &str,
) -> Result<Vec<String>> {
    let container = start(docker, service, image, RunOptions::default()).await?;
    container.wait_until_healthy(HEALTHY_TIMEOUT).await?;
    let diff = container_diff(docker, &container.id).await?;
    let writable = service.contract.writable.trim_end_matches('/');
    let outside: Vec<&String> = diff
        .iter()
        .filter(|line| {
            let path = line.split_once(' ').map_or(line.as_str(), |(_, path)| path);
            path != writable && !path.starts_with(&format!("{writable}/"))
        })
        .collect();
    ensure!(
        outside.is_empty(),
        "changes outside {writable}: {outside:?}"
    );
    Ok(diff)
}

/// R7, M5: a read-only root with a tmpfs on the writable directory, an
/// arbitrary user id, no capability and no privilege escalation: the
/// service becomes ready and healthy, runs as that user under its own
/// name, and its layer stays empty.
pub async fn check_locked_down_run(
    docker: &Docker,
    service: &ServicePackage,
    image: &str,
) -> Result<()> {
    let options = RunOptions {
        user: Some(format!("{ARBITRARY_UID}:0")),
        host_config: HostConfig {
            readonly_rootfs: Some(true),
            tmpfs: Some(HashMap::from([(
                service.contract.writable.clone(),
                String::new(),
            )])),
            cap_drop: Some(vec!["ALL".to_owned()]),
            security_opt: Some(vec!["no-new-privileges".to_owned()]),
            ..Default::default()
        },
        ..Default::default()
    };
    let container = start(docker, service, image, options).await?;
    container.wait_until_healthy(HEALTHY_TIMEOUT).await?;
    check_runs_as(docker, &container.id, ARBITRARY_UID, &service.name).await?;
    let diff = container_diff(docker, &container.id).await?;
    ensure!(diff.is_empty(), "wrote to its read-only layer: {diff:?}");
    Ok(())
}

/// Every process of `container` runs as `uid`, and one of them is the
/// service, under its name as the kernel keeps it. The engine's view
/// (`docker top`, which needs a PID column) needs nothing in the image.
pub async fn check_runs_as(docker: &Docker, container: &str, uid: &str, name: &str) -> Result<()> {
    let top = docker
        .top_processes(
            container,
            Some(
                TopOptionsBuilder::default()
                    .ps_args("-o pid,uid,comm")
                    .build(),
            ),
        )
        .await?;
    let processes = top.processes.unwrap_or_default();
    let comm: String = name.chars().take(COMM_BYTES).collect();
    ensure!(
        processes.iter().all(|row| row[1] == uid) && processes.iter().any(|row| row[2] == comm),
        "expected every process as uid {uid} and one named {comm:?} (pid, uid, command): {processes:?}"
    );
    Ok(())
}

// ANCHOR: graceful_stop
/// R8: `docker stop` while readiness is polled: readiness fails before the
/// exit, nothing is refused before it does, and the process exits with the
/// contract's code long before the engine would kill it.
pub async fn check_graceful_stop(
    docker: &Docker,
    service: &ServicePackage,
    image: &str,
) -> Result<()> {
    let container = start(docker, service, image, RunOptions::default()).await?;
    let readiness = container.address(&service.contract.readiness_port().to_string())?;
    let ready = service.contract.readiness.path.as_str();
    let load = LoadGenerator::start(readiness, &[ready], STOP_LOAD)?;
    tokio::time::sleep(WARM_UP).await;
    let stop_sent = load.elapsed();
    stop_gracefully(docker, &container.id).await?;
    let exited = load.elapsed();
    let samples = load.finish().await?;
    let state = exit_state(docker, &container.id).await?;
    ensure!(
        state.exit_code == Some(service.contract.stop.exit_code) && state.oom_killed == Some(false),
        "exit code {:?} (OOM killed: {:?}), the contract says {}\n{}",
        state.exit_code,
        state.oom_killed,
        service.contract.stop.exit_code,
        container.logs().await
    );
    let took = exited - stop_sent;
    ensure!(
        took < Duration::from_secs(STOP_GRACE_SECONDS as u64 / 2),
        "docker stop took {took:?}, close to the kill at {STOP_GRACE_SECONDS}s"
    );
    check_readiness_failed_first(&samples, ready, stop_sent, exited)
}
// ANCHOR_END: graceful_stop

/// R9, on the runner (leaving an orphan takes a shell): with `--init` no
/// orphan stays a zombie; without it, every orphan does unless the
/// contract says the service reaps them.
pub async fn check_orphans(docker: &Docker, payload: &Payload) -> Result<()> {
    for init in [false, true] {
        let options = RunOptions {
            host_config: HostConfig {
                init: Some(init),
                ..Default::default()
            },
            ..Default::default()
        };
        let container = start(docker, &payload.service, &payload.runner, options).await?;
        let zombies = zombies_after_orphaning_execs(docker, &container.id, ORPHANING_EXECS).await?;
        let expected = if init || payload.service.contract.reaps_orphans {
            0
        } else {
            ORPHANING_EXECS
        };
        ensure!(
            zombies == expected,
            "--init {init}, reaps_orphans {}: {zombies} zombies after {ORPHANING_EXECS} orphaning execs, expected {expected}",
            payload.service.contract.reaps_orphans
        );
    }
    Ok(())
}
