//! An image's run-time contract, as the engine records it in the image
//! config: user, entrypoint, command, environment, ports, health check and
//! labels, rendered in a stable form for snapshots.

use anyhow::{Context, Result};
use bollard::Docker;
use bollard::models::ImageConfig;
use serde_json::{Value, json};

const NANOS_PER_SECOND: i64 = 1_000_000_000;

/// The config of `image` (an id or a tag).
pub async fn image_config(docker: &Docker, image: &str) -> Result<ImageConfig> {
    let inspect = docker
        .inspect_image(image)
        .await
        .with_context(|| format!("cannot inspect {image}"))?;
    inspect
        .config
        .with_context(|| format!("{image} has no config"))
}

/// The parts of `config` a deployment relies on, with lists sorted and
/// durations in seconds, so equal contracts render equally.
pub fn contract(config: &ImageConfig) -> Value {
    let sorted = |list: &Option<Vec<String>>| {
        let mut list = list.clone().unwrap_or_default();
        list.sort();
        list
    };
    let labels: std::collections::BTreeMap<_, _> = config
        .labels
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let healthcheck = config.healthcheck.as_ref().map(|check| {
        let seconds = |nanos: Option<i64>| {
            nanos.map(|nanos| format!("{}s", nanos as f64 / NANOS_PER_SECOND as f64))
        };
        json!({
            "Test": check.test,
            "Interval": seconds(check.interval),
            "Timeout": seconds(check.timeout),
            "StartPeriod": seconds(check.start_period),
            "StartInterval": seconds(check.start_interval),
            "Retries": check.retries,
        })
    });
    json!({
        "User": config.user,
        "Entrypoint": config.entrypoint,
        "Cmd": config.cmd,
        "Env": sorted(&config.env),
        "ExposedPorts": sorted(&config.exposed_ports),
        "Healthcheck": healthcheck,
        "WorkingDir": config.working_dir,
        "StopSignal": config.stop_signal,
        "Labels": labels,
    })
}

/// The value of environment variable `name` in `config`.
pub fn env_value<'a>(config: &'a ImageConfig, name: &str) -> Option<&'a str> {
    config
        .env
        .as_ref()?
        .iter()
        .find_map(|entry| entry.strip_prefix(name)?.strip_prefix('='))
}
