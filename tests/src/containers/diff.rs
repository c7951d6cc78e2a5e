//! `docker container diff`: what a container changed in its own writable
//! layer, one `KIND PATH` line per change as the CLI prints it (`A` added,
//! `C` changed, `D` deleted). Mounts, tmpfs included, are not part of it.

use anyhow::{Context, Result};
use bollard::Docker;
use bollard::models::ChangeType;

/// The changes of `container`, sorted by path.
pub async fn container_diff(docker: &Docker, container: &str) -> Result<Vec<String>> {
    let mut changes = docker
        .container_changes(container)
        .await
        .with_context(|| format!("cannot read the changes of container {container}"))?
        .unwrap_or_default();
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(changes
        .into_iter()
        .map(|change| {
            let kind = match change.kind {
                ChangeType::_0 => 'C',
                ChangeType::_1 => 'A',
                ChangeType::_2 => 'D',
            };
            format!("{kind} {}", change.path)
        })
        .collect())
}
