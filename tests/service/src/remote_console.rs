//! `docker exec -ti CONTAINER service_discovery remote_console`, typed as a
//! person would: wait for the prompt, ask for `status`, leave with `quit`.

use std::time::Duration;

use anyhow::{Context, Result};
use bollard::Docker;

use integration_suite::containers::exec::exit_code;
use integration_suite::containers::tty_session::TtySession;

/// The admin prompt of the service (`service_discovery::admin::PROMPT`).
pub const PROMPT: &str = "service_discovery> ";
/// The reply to `quit`: the console ends, the service does not.
pub const FAREWELL: &str = "bye; the service keeps running";
/// The command exactly as a user types it: found through the image's PATH.
pub const REMOTE_CONSOLE: [&str; 2] = ["service_discovery", "remote_console"];

const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// What one visit to the remote console showed.
#[derive(Debug, Clone)]
pub struct ConsoleVisit {
    /// The line printed on connecting, before the first prompt.
    pub greeting: String,
    /// The reply to `status`, without the echoed command and the prompt.
    pub status: String,
    /// The exit code of the `remote_console` process.
    pub exit_code: i64,
    /// The whole exchange, for error messages.
    pub transcript: String,
}

/// Opens the remote console in `container`, asks for `status` and quits.
pub async fn visit_remote_console(docker: &Docker, container: &str) -> Result<ConsoleVisit> {
    let (mut session, exec_id) = TtySession::exec(docker, container, &REMOTE_CONSOLE).await?;
    let greeting = session.read_until(PROMPT, ANSWER_TIMEOUT).await?;
    let status = ask(&mut session, "status").await?;
    session.send_line("quit").await?;
    session.read_until(FAREWELL, ANSWER_TIMEOUT).await?;
    session.read_to_end(ANSWER_TIMEOUT).await?;
    let exit_code = exit_code(docker, &exec_id)
        .await
        .context("remote_console's exit code")?;
    Ok(ConsoleVisit {
        greeting: greeting.trim_end_matches(PROMPT).trim().to_owned(),
        status,
        exit_code,
        transcript: session.transcript().to_owned(),
    })
}

/// Types `command` at a prompt and returns the reply printed before the
/// next prompt. The terminal echoes what is typed; the echo is dropped.
pub async fn ask(session: &mut TtySession, command: &str) -> Result<String> {
    session.send_line(command).await?;
    let answer = session.read_until(PROMPT, ANSWER_TIMEOUT).await?;
    let reply = answer.trim_end_matches(PROMPT);
    let reply = reply
        .strip_prefix(command)
        .map(|rest| rest.strip_prefix('\n').unwrap_or(rest))
        .unwrap_or(reply);
    Ok(reply.trim_end().to_owned())
}
