//! `docker/compose.yaml` run as a project of its own: a unique project name,
//! the images a test gives it, every port published on a free 127.0.0.1
//! port, and a password secret of its own. `down -v` on drop removes its
//! containers, network and data volume.

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::process::Command;

use integration_suite::repo::repo_path;

pub const COMPOSE_FILE: &str = "docker/compose.yaml";

pub struct ComposeProject {
    name: String,
    env: Vec<(&'static str, String)>,
    _secret_dir: tempfile::TempDir,
}

impl ComposeProject {
    pub fn new(
        label: &str,
        service_image: &str,
        postgres_image: &str,
        password: &str,
    ) -> Result<Self> {
        let secret_dir = tempfile::tempdir()?;
        let secret = secret_dir.path().join("db_password");
        std::fs::write(&secret, format!("{password}\n"))?;
        // Bind-mounted as is: readable by the image's unprivileged users.
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644))?;
        let env = vec![
            ("SERVICE_DISCOVERY_IMAGE", service_image.to_owned()),
            ("POSTGRES_IMAGE", postgres_image.to_owned()),
            ("HTTP_HOST_PORT", String::new()),
            ("GRPC_HOST_PORT", String::new()),
            ("DNS_HOST_PORT", String::new()),
            ("POSTGRES_HOST_PORT", String::new()),
            ("DB_PASSWORD_SECRET_FILE", secret.display().to_string()),
        ];
        Ok(Self {
            name: format!("sd-suite-{label}-{}", std::process::id()),
            env,
            _secret_dir: secret_dir,
        })
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("docker");
        command
            .args(["compose", "--file"])
            .arg(repo_path(COMPOSE_FILE))
            .args(["--project-name", &self.name])
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null());
        command
    }

    /// Runs `docker compose ARGS`, failing with its stderr when it fails.
    pub async fn run(&self, args: &[&str]) -> Result<Output> {
        let output = self
            .command(args)
            .output()
            .await
            .context("cannot run docker compose")?;
        if !output.status.success() {
            bail!(
                "docker compose {} failed ({}):\n{}",
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(output)
    }

    /// `up --wait`, bounded; answers how long it took.
    pub async fn up_wait(&self, timeout: Duration) -> Result<Duration> {
        let started = Instant::now();
        let seconds = timeout.as_secs().to_string();
        let up = self
            .run(&["up", "--wait", "--wait-timeout", &seconds])
            .await;
        if let Err(error) = up {
            let logs = self.run(&["logs", "--no-color"]).await.map(|o| o.stdout);
            bail!(
                "{error:#}\nlogs:\n{}",
                String::from_utf8_lossy(&logs.unwrap_or_default())
            );
        }
        Ok(started.elapsed())
    }

    /// Where `service`'s container port (`3000`, `8053/udp`) is published.
    pub async fn address(&self, service: &str, port: &str) -> Result<SocketAddr> {
        let (number, protocol) = port.split_once('/').unwrap_or((port, "tcp"));
        let output = self
            .run(&["port", "--protocol", protocol, service, number])
            .await?;
        let text = String::from_utf8_lossy(&output.stdout);
        text.trim()
            .parse()
            .with_context(|| format!("docker compose port {service} {port} answered {text:?}"))
    }

    /// One line per container of the project: service, state, exit code.
    pub async fn states(&self) -> Result<Vec<String>> {
        let output = self
            .run(&[
                "ps",
                "--all",
                "--format",
                "{{.Service}} {{.State}} {{.ExitCode}}",
            ])
            .await?;
        let mut lines: Vec<String> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        lines.sort();
        Ok(lines)
    }
}

impl Drop for ComposeProject {
    fn drop(&mut self) {
        // Drop cannot be async; a blocking call is fine at the end of a test.
        let _ = std::process::Command::new("docker")
            .args(["compose", "--file"])
            .arg(repo_path(COMPOSE_FILE))
            .args([
                "--project-name",
                &self.name,
                "down",
                "--volumes",
                "--timeout",
                "5",
            ])
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
