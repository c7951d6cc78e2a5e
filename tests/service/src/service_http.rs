//! Small HTTP checks against a running service: status and JSON body of a
//! call, and bounded waits for readiness to change.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use reqwest::StatusCode;
use serde_json::Value;

/// How long one call may take; the service bounds its own storage calls
/// to 5 s, so a longer wait here means the service itself hangs.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// A status and the JSON body that came with it (`Null` for no body).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    /// The body as it came, byte for byte (what `curl` would print).
    pub text: String,
}

impl Answer {
    /// The `error` message of a JSON error answer, empty otherwise.
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }
}

pub async fn call(
    method: reqwest::Method,
    http: SocketAddr,
    path: &str,
    body: Option<&str>,
) -> Result<Answer> {
    let mut request = reqwest::Client::new()
        .request(method.clone(), format!("http://{http}{path}"))
        .timeout(CALL_TIMEOUT);
    if let Some(body) = body {
        request = request
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_owned());
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("{method} {path} on {http}"))?;
    let status = response.status();
    let text = response.text().await?;
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).with_context(|| format!("{method} {path}: not JSON: {text}"))?
    };
    Ok(Answer { status, body, text })
}

pub async fn get(http: SocketAddr, path: &str) -> Result<Answer> {
    call(reqwest::Method::GET, http, path, None).await
}

pub async fn put(http: SocketAddr, path: &str, body: &str) -> Result<Answer> {
    call(reqwest::Method::PUT, http, path, Some(body)).await
}

/// A PUT that must succeed: any other status fails with the answer's body.
pub async fn put_ok(http: SocketAddr, path: &str, body: &str) -> Result<Answer> {
    let answer = put(http, path, body).await?;
    if !answer.status.is_success() {
        bail!("PUT {path} answered {}: {}", answer.status, answer.body);
    }
    Ok(answer)
}

/// Polls `/ready` until it answers `expected`; returns the last answer and
/// how long it took.
pub async fn wait_for_ready_status(
    http: SocketAddr,
    expected: StatusCode,
    timeout: Duration,
) -> Result<(Answer, Duration)> {
    let started = tokio::time::Instant::now();
    let mut last = None;
    while started.elapsed() < timeout {
        match get(http, "/ready").await {
            Ok(answer) if answer.status == expected => return Ok((answer, started.elapsed())),
            Ok(answer) => last = Some(format!("{} {}", answer.status, answer.body)),
            Err(err) => last = Some(format!("{err:#}")),
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    bail!(
        "/ready did not answer {expected} within {}s; last answer: {}",
        timeout.as_secs(),
        last.unwrap_or_else(|| "none".into())
    )
}
