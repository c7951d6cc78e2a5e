//! R3: `docker exec -ti C service_discovery remote_console` attaches an
//! admin prompt to the running instance; leaving it does not stop the
//! service.

use anyhow::{Context, Result};
use integration_suite::builds::project_images::{Target, project_image};
use integration_suite::containers::service_container::ServiceContainer;
use integration_suite::engine::host::host;
use service_suite::protocol_exercise::{FrontEnds, exercise_all_protocols};
use service_suite::remote_console::visit_remote_console;

#[tokio::test]
async fn r3_remote_console_attaches_and_quitting_leaves_the_service_running() -> Result<()> {
    let host = host().await;
    let mut transcripts = Vec::new();
    for target in Target::RUNNERS {
        let image = project_image(target).await?;
        let container = ServiceContainer::start_default(host.docker(), &image.id)
            .await
            .with_context(|| format!("starting {target:?}"))?;
        let visit = visit_remote_console(host.docker(), &container.id)
            .await
            .with_context(|| format!("remote_console in {target:?}"))?;
        assert_eq!(visit.exit_code, 0, "{target:?}: {}", visit.transcript);
        assert_eq!(
            visit.greeting,
            "connected to service_discovery at /tmp/service_discovery.sock; \
             type help for commands, quit to leave",
            "{target:?}"
        );
        assert!(
            visit.status.contains("state:     ready"),
            "{target:?}: {}",
            visit.transcript
        );

        // Still running, and still serving every protocol.
        let inspect = host.docker().inspect_container(&container.id, None).await?;
        assert_eq!(
            inspect.state.and_then(|state| state.running),
            Some(true),
            "{target:?}: the container stopped when the console quit"
        );
        exercise_all_protocols(FrontEnds::of(&container)?)
            .await
            .with_context(|| format!("{target:?} after remote_console quit"))?;
        transcripts.push(visit.transcript);
    }
    // The exchange as a user sees it, for the book; uptime and commit vary.
    insta::with_settings!({filters => vec![
        (r"\(commit [^)]+\)", "(commit [commit])"),
        (r"uptime:    \S+", "uptime:    [uptime]"),
    ]}, {
        insta::assert_snapshot!("r3_remote_console_session", transcripts[0]);
    });
    Ok(())
}
