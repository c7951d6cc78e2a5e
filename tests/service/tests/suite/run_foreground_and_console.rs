//! R1, R2: `docker run IMAGE` runs `foreground`, logging JSON lines to
//! stdout that the engine's logs API hands back; `docker run -ti IMAGE
//! console` gives the admin prompt on the container's terminal.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use integration_suite::builds::project_images::{Target, project_image};
use integration_suite::containers::run::read_logs;
use integration_suite::containers::service_container::{
    HTTP_PORT, RunOptions, START_TIMEOUT, ServiceContainer,
};
use integration_suite::containers::tty_session::TtySession;
use integration_suite::engine::host::host;
use serde_json::Value;
use service_suite::remote_console::{FAREWELL, PROMPT};

const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
const RELEASE_BINARY: &str = "/opt/rel/bin/service_discovery";

/// The logs up to the `ready` line, which may follow the first `/ready`
/// 200 by a moment.
async fn logs_through_ready(container: &ServiceContainer) -> Result<(String, String)> {
    let host = host().await;
    let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
    loop {
        let (stdout, stderr) = read_logs(host.docker(), &container.id).await?;
        if stdout.contains(r#""message":"ready""#) {
            return Ok((stdout, stderr));
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "no ready line in the logs:\n{stdout}{stderr}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn r1_r2_plain_run_is_foreground_logging_json_to_stdout() -> Result<()> {
    let host = host().await;
    let mut startups: Vec<Vec<Value>> = Vec::new();
    for target in Target::RUNNERS {
        let image = project_image(target).await?;
        let container = ServiceContainer::start_default(host.docker(), &image.id)
            .await
            .with_context(|| format!("starting {target:?}"))?;
        let inspect = host.docker().inspect_container(&container.id, None).await?;
        assert_eq!(
            (inspect.path.as_deref(), inspect.args.as_deref()),
            (Some(RELEASE_BINARY), Some(&["foreground".to_owned()][..])),
            "{target:?}: what `docker run IMAGE` started"
        );

        let (stdout, stderr) = logs_through_ready(&container).await?;
        assert_eq!(stderr, "", "{target:?}: nothing goes to stderr");
        let lines: Vec<Value> = stdout
            .lines()
            .map(|line| {
                serde_json::from_str(line)
                    .with_context(|| format!("{target:?}: not a JSON log line: {line:?}"))
            })
            .collect::<Result<_>>()?;
        assert!(!lines.is_empty(), "{target:?}: no log lines");
        for line in &lines {
            assert!(
                line["level"].is_string() && line["message"].is_string(),
                "{target:?}: a log line without level or message: {line}"
            );
        }
        startups.push(lines);
    }
    // What the service says while starting, as `docker logs` shows it.
    let redacted = |mut lines: Vec<Value>| {
        for line in &mut lines {
            for (field, placeholder) in [("timestamp", "[time]"), ("commit", "[commit]")] {
                if line.get(field).is_some() {
                    line[field] = Value::from(placeholder);
                }
            }
        }
        lines
    };
    let [runner, minimal] = <[Vec<Value>; 2]>::try_from(startups).expect("two runners");
    let runner = redacted(runner);
    assert_eq!(
        runner,
        redacted(minimal),
        "runner and runner-minimal log alike"
    );
    insta::assert_json_snapshot!("r2_startup_log", runner);
    Ok(())
}

#[tokio::test]
async fn r1_console_over_a_tty_shows_the_prompt_and_answers_status() -> Result<()> {
    let host = host().await;
    for target in Target::RUNNERS {
        let image = project_image(target).await?;
        let options = RunOptions {
            command: Some(vec!["console".to_owned()]),
            interactive_tty: true,
            ..Default::default()
        };
        let container = ServiceContainer::start(host.docker(), &image.id, options, START_TIMEOUT)
            .await
            .with_context(|| format!("starting {target:?} console"))?;
        let mut session = TtySession::attach(host.docker(), &container.id).await?;
        // The first prompt ends no line, and the engine replays only whole
        // lines to an attach that comes after it; an attach that comes
        // before sees it live. Either way the reply to `status` is known by
        // its own text, not by counting prompts.
        session.send_line("status").await?;
        session
            .read_until("state:     ready", ANSWER_TIMEOUT)
            .await
            .with_context(|| format!("{target:?}: the reply to status"))?;
        session.read_until(PROMPT, ANSWER_TIMEOUT).await?;
        session.send_line("quit").await?;
        session.read_until(FAREWELL, ANSWER_TIMEOUT).await?;

        // Leaving the prompt ends the prompt only: the service still serves.
        let inspect = host.docker().inspect_container(&container.id, None).await?;
        ensure!(
            inspect.state.and_then(|state| state.running) == Some(true),
            "{target:?}: the container stopped after quit: {}",
            session.transcript()
        );
        let ready = reqwest::get(format!("http://{}/ready", container.address(HTTP_PORT)?)).await?;
        assert_eq!(ready.status(), 200, "{target:?}: /ready after quit");
    }
    Ok(())
}
