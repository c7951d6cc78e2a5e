//! Orphans handed to a container's PID 1: `docker exec` runs a shell that
//! starts a short sleep in the background and exits at once, so the sleep's
//! parent is gone and PID 1 inherits it. Whether it stays a zombie after it
//! ends says whether PID 1 reaps (R9).

use std::time::Duration;

use anyhow::{Result, bail, ensure};
use bollard::Docker;

use crate::containers::exec::exec_output;
use crate::containers::process_table::{processes, zombies};

const EXEC_TIMEOUT: Duration = Duration::from_secs(10);
const LEAVE_AN_ORPHAN: &str = "sleep 0.2 & exit 0";
const ORPHAN_COMMAND: &str = "sleep";
const ORPHANS_END_WITHIN: Duration = Duration::from_secs(10);

/// Runs `execs` orphaning execs in `container` (which needs a shell), waits
/// until every orphan has ended, and returns how many are zombies. Any
/// other zombie is an error: it would not be the orphans' doing.
pub async fn zombies_after_orphaning_execs(
    docker: &Docker,
    container: &str,
    execs: usize,
) -> Result<usize> {
    for _ in 0..execs {
        let output = exec_output(
            docker,
            container,
            &["/bin/sh", "-c", LEAVE_AN_ORPHAN],
            EXEC_TIMEOUT,
        )
        .await?;
        ensure!(output.exit_code == 0, "exec failed: {output:?}");
    }
    wait_for_orphans_to_end(docker, container).await?;
    let zombies = zombies(docker, container).await?;
    ensure!(
        zombies
            .iter()
            .all(|zombie| zombie.command == ORPHAN_COMMAND),
        "zombies that are not the orphans: {zombies:?}"
    );
    Ok(zombies.len())
}

/// Waits until no orphan is still running (each is a zombie or reaped).
async fn wait_for_orphans_to_end(docker: &Docker, container: &str) -> Result<()> {
    let deadline = tokio::time::Instant::now() + ORPHANS_END_WITHIN;
    loop {
        let running: Vec<_> = processes(docker, container)
            .await?
            .into_iter()
            .filter(|process| process.command == ORPHAN_COMMAND && !process.is_zombie())
            .collect();
        if running.is_empty() {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("orphans still running after {ORPHANS_END_WITHIN:?}: {running:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
