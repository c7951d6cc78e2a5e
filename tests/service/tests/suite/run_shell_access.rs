//! R4, R5: a shell in a running container (`docker exec -ti C /bin/sh`) and
//! in an image whose service will not start (`docker run -ti --entrypoint
//! /bin/sh IMAGE`). The runner has one; runner-minimal has none, and both
//! commands fail there with an error that says so.

use std::time::Duration;

use anyhow::{Context, Result};
use bollard::models::ContainerCreateBody;
use integration_suite::builds::project_images::{Target, project_image};
use integration_suite::containers::exec::{exec_output, exit_code};
use integration_suite::containers::run::run_body_to_completion;
use integration_suite::containers::service_container::ServiceContainer;
use integration_suite::containers::tty_session::TtySession;
use integration_suite::engine::host::host;

const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
const RUN_TIMEOUT: Duration = Duration::from_secs(30);
/// A setting that stops the service at start: it exits 2 with one line.
const BROKEN_SETTING: &str = "HTTP_PORT=not-a-port";
/// What the engine answers when the program to run is not in the image.
const NO_SHELL: &str = "\"/bin/sh\": stat /bin/sh: no such file or directory";

#[tokio::test]
async fn r4_exec_ti_gives_a_shell_in_the_running_runner() -> Result<()> {
    let host = host().await;
    let image = project_image(Target::Runner).await?;
    let container = ServiceContainer::start_default(host.docker(), &image.id).await?;
    let (mut shell, exec_id) = TtySession::exec(host.docker(), &container.id, &["/bin/sh"]).await?;
    shell.read_until("$ ", ANSWER_TIMEOUT).await?;
    // The shell sees the service as PID 1, and runs as the image's user.
    shell
        .send_line(r#"echo "pid1=$(cat /proc/1/comm) uid=$(id -u)""#)
        .await?;
    shell
        .read_until("pid1=service_discove uid=10001", ANSWER_TIMEOUT)
        .await?;
    shell.send_line("exit").await?;
    shell.read_to_end(ANSWER_TIMEOUT).await?;
    assert_eq!(
        exit_code(host.docker(), &exec_id).await?,
        0,
        "{}",
        shell.transcript()
    );
    Ok(())
}

#[tokio::test]
async fn r5_shell_entrypoint_inspects_a_runner_whose_service_will_not_start() -> Result<()> {
    let host = host().await;
    let image = project_image(Target::Runner).await?;

    let broken = run_body_to_completion(
        host.docker(),
        ContainerCreateBody {
            image: Some(image.id.clone()),
            env: Some(vec![BROKEN_SETTING.to_owned()]),
            ..Default::default()
        },
        RUN_TIMEOUT,
    )
    .await?;
    assert_eq!(broken.exit_code, 2, "{broken:?}");

    // The same image and setting, with a shell instead of the service.
    let inspected = run_body_to_completion(
        host.docker(),
        ContainerCreateBody {
            image: Some(image.id.clone()),
            env: Some(vec![BROKEN_SETTING.to_owned()]),
            entrypoint: Some(vec!["/bin/sh".to_owned()]),
            cmd: Some(vec![
                "-c".to_owned(),
                "echo \"HTTP_PORT=$HTTP_PORT\"; ls /opt/rel/bin".to_owned(),
            ]),
            ..Default::default()
        },
        RUN_TIMEOUT,
    )
    .await?;
    assert_eq!(
        (inspected.exit_code, inspected.stdout.as_str()),
        (0, "HTTP_PORT=not-a-port\nservice_discovery\n"),
        "{inspected:?}"
    );
    Ok(())
}

#[tokio::test]
async fn r4_r5_runner_minimal_has_no_shell_and_the_engine_says_so() -> Result<()> {
    let host = host().await;
    let image = project_image(Target::RunnerMinimal).await?;

    let container = ServiceContainer::start_default(host.docker(), &image.id).await?;
    let exec = exec_output(
        host.docker(),
        &container.id,
        &["/bin/sh", "-c", "true"],
        RUN_TIMEOUT,
    )
    .await;
    let exec_error = match exec {
        Ok(output) => format!(
            "exit code {}: {}{}",
            output.exit_code, output.stdout, output.stderr
        ),
        Err(error) => format!("{error:#}"),
    };
    assert!(
        exec_error.contains(NO_SHELL),
        "docker exec /bin/sh in runner-minimal: {exec_error}"
    );

    let run = run_body_to_completion(
        host.docker(),
        ContainerCreateBody {
            image: Some(image.id.clone()),
            entrypoint: Some(vec!["/bin/sh".to_owned()]),
            cmd: Some(vec!["-c".to_owned(), "true".to_owned()]),
            ..Default::default()
        },
        RUN_TIMEOUT,
    )
    .await;
    let run_error = format!(
        "{:#}",
        run.err()
            .context("--entrypoint /bin/sh started in runner-minimal")?
    );
    assert!(
        run_error.contains(NO_SHELL),
        "docker run --entrypoint /bin/sh runner-minimal: {run_error}"
    );
    Ok(())
}
