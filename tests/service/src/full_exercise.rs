//! Everything a container configuration must leave working: the three
//! protocols, the remote console, and the image's health check (which, like
//! the console, goes through the control socket in the runtime directory).

use anyhow::{Context, Result, ensure};
use bollard::Docker;

use crate::protocol_exercise::{FrontEnds, exercise_all_protocols};
use crate::remote_console::visit_remote_console;
use integration_suite::containers::service_container::{HEALTHY_TIMEOUT, ServiceContainer};

/// Fails with the first thing that did not work in `container`.
pub async fn exercise_everything(docker: &Docker, container: &ServiceContainer) -> Result<()> {
    exercise_all_protocols(FrontEnds::of(container)?)
        .await
        .context("the protocols")?;
    let visit = visit_remote_console(docker, &container.id)
        .await
        .context("remote_console")?;
    ensure!(
        visit.exit_code == 0 && visit.status.contains("state:     ready"),
        "remote_console: {}",
        visit.transcript
    );
    container
        .wait_until_healthy(HEALTHY_TIMEOUT)
        .await
        .context("the health check")
}
