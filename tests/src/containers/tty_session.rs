//! A terminal session with a container, as `docker run -ti` / `docker attach`
//! or `docker exec -ti` give one: write lines, read until an expected text
//! shows up. Every read has a deadline, and everything received is kept so
//! a failure can show the whole exchange.

use std::pin::Pin;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bollard::Docker;
use bollard::container::LogOutput;
use bollard::errors::Error as DockerError;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::query_parameters::AttachContainerOptionsBuilder;
use futures_util::{Stream, StreamExt};
use tokio::io::{AsyncWrite, AsyncWriteExt};

type Output = Pin<Box<dyn Stream<Item = Result<LogOutput, DockerError>> + Send>>;
type Input = Pin<Box<dyn AsyncWrite + Send>>;

pub struct TtySession {
    output: Output,
    input: Input,
    /// Everything received so far, without carriage returns.
    transcript: String,
    /// Where the next [`TtySession::read_until`] starts looking.
    unread_from: usize,
    /// Set when the stream ended: the process behind the terminal is gone.
    ended: bool,
}

impl TtySession {
    /// Attaches to the terminal of a container created with `tty` and
    /// `open_stdin`. What the container printed before is replayed first,
    /// so nothing is missed by attaching after the start.
    pub async fn attach(docker: &Docker, container: &str) -> Result<Self> {
        let options = AttachContainerOptionsBuilder::default()
            .stdin(true)
            .stdout(true)
            .stderr(true)
            .stream(true)
            .logs(true)
            .build();
        let attached = docker
            .attach_container(container, Some(options))
            .await
            .with_context(|| format!("cannot attach to container {container}"))?;
        Ok(Self::new(attached.output, attached.input))
    }

    /// Starts `command` in a running container with a terminal, like
    /// `docker exec -ti CONTAINER COMMAND...`. Returns the session and the
    /// exec's id, whose exit code the engine reports once it ends.
    pub async fn exec(
        docker: &Docker,
        container: &str,
        command: &[&str],
    ) -> Result<(Self, String)> {
        let exec = docker
            .create_exec(
                container,
                CreateExecOptions {
                    attach_stdin: Some(true),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    tty: Some(true),
                    cmd: Some(command.to_vec()),
                    ..Default::default()
                },
            )
            .await
            .with_context(|| format!("cannot create exec {command:?} in {container}"))?;
        let started = docker
            .start_exec(
                &exec.id,
                Some(StartExecOptions {
                    tty: true,
                    ..Default::default()
                }),
            )
            .await
            .with_context(|| format!("cannot start exec {command:?} in {container}"))?;
        match started {
            StartExecResults::Attached { output, input } => Ok((Self::new(output, input), exec.id)),
            StartExecResults::Detached => bail!("the engine started {command:?} detached"),
        }
    }

    fn new(output: Output, input: Input) -> Self {
        Self {
            output,
            input,
            transcript: String::new(),
            unread_from: 0,
            ended: false,
        }
    }

    /// Types `line` and Enter.
    pub async fn send_line(&mut self, line: &str) -> Result<()> {
        self.input
            .write_all(format!("{line}\n").as_bytes())
            .await
            .with_context(|| format!("cannot type {line:?}: {}", self.shown()))?;
        self.input
            .flush()
            .await
            .context("cannot flush the terminal")
    }

    /// Reads until `expected` appears after the previous match, and returns
    /// the text up to and including it.
    pub async fn read_until(&mut self, expected: &str, timeout: Duration) -> Result<String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(found) = self.transcript[self.unread_from..].find(expected) {
                let end = self.unread_from + found + expected.len();
                let text = self.transcript[self.unread_from..end].to_owned();
                self.unread_from = end;
                return Ok(text);
            }
            if self.ended {
                bail!(
                    "the terminal closed before {expected:?} appeared: {}",
                    self.shown()
                );
            }
            match tokio::time::timeout_at(deadline, self.output.next()).await {
                Ok(chunk) => self.receive(chunk)?,
                Err(_) => bail!(
                    "{expected:?} did not appear within {}s: {}",
                    timeout.as_secs_f32(),
                    self.shown()
                ),
            }
        }
    }

    /// Reads until the process behind the terminal ends.
    pub async fn read_to_end(&mut self, timeout: Duration) -> Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.ended {
            match tokio::time::timeout_at(deadline, self.output.next()).await {
                Ok(chunk) => self.receive(chunk)?,
                Err(_) => bail!(
                    "the terminal stayed open for {}s: {}",
                    timeout.as_secs_f32(),
                    self.shown()
                ),
            }
        }
        Ok(())
    }

    /// Everything received so far.
    pub fn transcript(&self) -> &str {
        &self.transcript
    }

    fn receive(&mut self, chunk: Option<Result<LogOutput, DockerError>>) -> Result<()> {
        match chunk {
            None => self.ended = true,
            Some(Ok(output)) => {
                let bytes = output.into_bytes();
                // A terminal ends lines with CR LF, possibly split across
                // chunks; the tests match on `\n` alone.
                let text = String::from_utf8_lossy(&bytes).replace('\r', "");
                self.transcript.push_str(&text);
            }
            Some(Err(error)) => {
                return Err(error)
                    .with_context(|| format!("terminal read failed: {}", self.shown()));
            }
        }
        Ok(())
    }

    fn shown(&self) -> String {
        format!("received so far:\n{}", self.transcript)
    }
}
