//! The original project's README walk-through, against a running service:
//! three `curl -X PUT` calls (create a service, register an endpoint, name
//! a port), then `dig` for the A record and the SRV record.

use std::net::SocketAddr;
use std::process::Stdio;

use anyhow::{Context, Result, bail};
use tokio::process::Command;

use crate::service_http::put_ok;

/// The service the walk-through registers, in the image's default zone.
pub const SERVICE: &str = "webapp";
pub const ZONE: &str = "svc.cluster.local";
/// The endpoint address and the named port it registers.
pub const ENDPOINT_IP: &str = "127.0.0.1";
pub const HTTP_PORT_NUMBER: u16 = 8000;

/// What `dig +short` answered, and the whole walk-through as a terminal
/// would show it.
#[derive(Debug, Clone)]
pub struct ReadmeFlow {
    pub answers: ReadmeAnswers,
    /// Each command, as typed against the image's own ports (3000, 8053),
    /// followed by what it printed.
    pub transcript: String,
}

/// What `dig +short` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadmeAnswers {
    /// `dig A webapp.svc.cluster.local`, e.g. `["127.0.0.1"]`.
    pub a: Vec<String>,
    /// `dig SRV _http._tcp.webapp.svc.cluster.local`, e.g.
    /// `["1 1 8000 webapp.svc.cluster.local."]` (priority weight port target).
    pub srv: Vec<String>,
}

/// Runs the walk-through: PUTs through `http`, queries over UDP at `dns`.
pub async fn run_readme_flow(http: SocketAddr, dns: SocketAddr) -> Result<ReadmeAnswers> {
    Ok(readme_flow(http, dns).await?.answers)
}

/// [`run_readme_flow`], with its transcript.
pub async fn readme_flow(http: SocketAddr, dns: SocketAddr) -> Result<ReadmeFlow> {
    let puts = [
        (
            "/service".to_owned(),
            format!(r#"{{"name": "{SERVICE}", "attributes": {{"attr-1": "value-1"}}}}"#),
        ),
        (
            format!("/service/{SERVICE}/register"),
            format!(r#"{{"ip": "{ENDPOINT_IP}", "tags": []}}"#),
        ),
        (
            format!("/service/{SERVICE}/port"),
            format!(r#"{{"http": {{"protocol": "tcp", "port": {HTTP_PORT_NUMBER}}}}}"#),
        ),
    ];
    let mut transcript = String::new();
    for (path, body) in puts {
        let answer = put_ok(http, &path, &body).await?;
        transcript.push_str(&format!(
            "$ curl -XPUT http://localhost:3000{path} -d '{body}'\n{}\n",
            answer.text
        ));
    }
    let a = dig_step(&mut transcript, dns, "A", &format!("{SERVICE}.{ZONE}")).await?;
    let srv = dig_step(
        &mut transcript,
        dns,
        "SRV",
        &format!("_http._tcp.{SERVICE}.{ZONE}"),
    )
    .await?;
    Ok(ReadmeFlow {
        answers: ReadmeAnswers { a, srv },
        transcript,
    })
}

/// One `dig +short` of the walk-through, written to the transcript.
async fn dig_step(
    transcript: &mut String,
    dns: SocketAddr,
    record_type: &str,
    name: &str,
) -> Result<Vec<String>> {
    let answers = dig_short(dns, record_type, name).await?;
    transcript.push_str(&format!(
        "$ dig +short -p8053 @127.0.0.1 {name} {record_type}\n{}\n",
        answers.join("\n")
    ));
    Ok(answers)
}

/// `dig @ADDR -p PORT +short NAME TYPE`, one answer per line.
pub async fn dig_short(server: SocketAddr, record_type: &str, name: &str) -> Result<Vec<String>> {
    let output = Command::new("dig")
        .arg(format!("@{}", server.ip()))
        .args([
            "-p",
            &server.port().to_string(),
            "+short",
            "+tries=3",
            "+time=2",
            name,
            record_type,
        ])
        .stdin(Stdio::null())
        .output()
        .await
        .context("cannot run dig: install Debian's dnsutils (ci/bootstrap_host.sh does)")?;
    if !output.status.success() {
        bail!(
            "dig {name} {record_type} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect())
}
