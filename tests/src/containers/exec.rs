//! `docker exec` without a terminal: run a command in a running container,
//! collect what it printed and the exit code the engine recorded.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use bollard::Docker;
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecResults};
use futures_util::StreamExt;

/// What an exec printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    pub exit_code: i64,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `command` in `container` and waits (at most `timeout`) for it to end.
pub async fn exec_output(
    docker: &Docker,
    container: &str,
    command: &[&str],
    timeout: Duration,
) -> Result<ExecOutput> {
    tokio::time::timeout(timeout, exec_until_done(docker, container, command))
        .await
        .with_context(|| {
            format!(
                "exec {command:?} in {container} did not end within {}s",
                timeout.as_secs_f32()
            )
        })?
}

async fn exec_until_done(docker: &Docker, container: &str, command: &[&str]) -> Result<ExecOutput> {
    let exec = docker
        .create_exec(
            container,
            CreateExecOptions {
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                cmd: Some(command.to_vec()),
                ..Default::default()
            },
        )
        .await
        .with_context(|| format!("cannot create exec {command:?} in {container}"))?;
    let started = docker
        .start_exec(&exec.id, None)
        .await
        .with_context(|| format!("cannot start exec {command:?} in {container}"))?;
    let StartExecResults::Attached { mut output, .. } = started else {
        bail!("the engine started {command:?} detached");
    };
    let (mut stdout, mut stderr) = (String::new(), String::new());
    while let Some(chunk) = output.next().await {
        match chunk.with_context(|| format!("reading the output of {command:?}"))? {
            LogOutput::StdErr { message } => stderr.push_str(&String::from_utf8_lossy(&message)),
            other => stdout.push_str(&String::from_utf8_lossy(&other.into_bytes())),
        }
    }
    let exit_code = exit_code(docker, &exec.id).await?;
    Ok(ExecOutput {
        exit_code,
        stdout,
        stderr,
    })
}

/// The exit code of an exec whose output has ended. The engine may record
/// it a moment after closing the stream, so it is polled briefly.
pub async fn exit_code(docker: &Docker, exec_id: &str) -> Result<i64> {
    const ATTEMPTS: u32 = 50;
    for _ in 0..ATTEMPTS {
        let inspect = docker
            .inspect_exec(exec_id)
            .await
            .with_context(|| format!("cannot inspect exec {exec_id}"))?;
        if inspect.running != Some(true)
            && let Some(code) = inspect.exit_code
        {
            return Ok(code);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bail!("the engine recorded no exit code for exec {exec_id}")
}
