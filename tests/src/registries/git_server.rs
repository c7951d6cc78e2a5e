//! A private git host reachable over SSH only: Debian's sshd in a
//! container on 127.0.0.1, serving bare repositories to one key; plus the
//! client side, a generated key held by an `ssh-agent` of the test's own.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use tempfile::TempDir;
use tokio::process::Command;

use crate::builds::buildx::BuiltImage;
use crate::images::leak_scan::random_secret;
use crate::registries::fixture_server::{FixtureServer, ServerSpec, build_server_image};
use crate::repo::fixtures::{copy_tree, fixture_path};

const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// The account the server lets in, and where its repositories live.
const GIT_USER: &str = "git";
const REPOSITORIES: &str = "/srv/git";

/// An SSH key pair made for one test, never written anywhere else.
pub struct BuildKey {
    dir: TempDir,
}

impl BuildKey {
    pub async fn generate() -> Result<Self> {
        let dir = tempfile::Builder::new().prefix("build-key-").tempdir()?;
        run(
            "ssh-keygen",
            &["-q", "-t", "ed25519", "-N", "", "-C", "build key", "-f"],
            Some(&dir.path().join("id_build")),
        )
        .await?;
        Ok(Self { dir })
    }

    pub fn private_key_path(&self) -> PathBuf {
        self.dir.path().join("id_build")
    }

    pub fn private_key(&self) -> Result<String> {
        std::fs::read_to_string(self.private_key_path()).context("cannot read the private key")
    }

    pub fn public_key(&self) -> Result<String> {
        std::fs::read_to_string(self.dir.path().join("id_build.pub"))
            .context("cannot read the public key")
    }

    /// The lines of the key's body that are unique to it: the first line of
    /// an OpenSSH key is the same for every key of its kind.
    pub fn private_key_material(&self) -> Result<Vec<String>> {
        let key = self.private_key()?;
        let body: Vec<String> = key
            .lines()
            .filter(|line| !line.starts_with("-----"))
            .map(str::to_owned)
            .collect();
        ensure!(body.len() > 2, "unexpected private key format");
        Ok(body[1..]
            .iter()
            .filter(|line| line.len() >= 16)
            .cloned()
            .collect())
    }
}

/// An `ssh-agent` started for one test, holding keys on a socket of its own.
pub struct SshAgent {
    dir: TempDir,
    pid: u32,
}

impl SshAgent {
    pub async fn start() -> Result<Self> {
        let dir = tempfile::Builder::new().prefix("ssh-agent-").tempdir()?;
        let socket = dir.path().join("agent.sock");
        let output = Command::new("ssh-agent")
            .arg("-s")
            .arg("-a")
            .arg(&socket)
            .stdin(Stdio::null())
            .output()
            .await
            .context("cannot run ssh-agent (openssh-client)")?;
        ensure!(
            output.status.success(),
            "ssh-agent failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
        let text = String::from_utf8_lossy(&output.stdout);
        let pid = text
            .split(';')
            .find_map(|part| part.trim().strip_prefix("SSH_AGENT_PID="))
            .and_then(|pid| pid.parse().ok())
            .with_context(|| format!("ssh-agent printed no pid: {text}"))?;
        Ok(Self { dir, pid })
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("agent.sock")
    }

    pub async fn add(&self, key: &BuildKey) -> Result<()> {
        let output = Command::new("ssh-add")
            .arg(key.private_key_path())
            .env("SSH_AUTH_SOCK", self.socket())
            .stdin(Stdio::null())
            .output()
            .await
            .context("cannot run ssh-add")?;
        ensure!(
            output.status.success(),
            "ssh-add failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
        Ok(())
    }
}

impl Drop for SshAgent {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .arg(self.pid.to_string())
            .stderr(Stdio::null())
            .status();
    }
}

pub struct GitServer {
    content: TempDir,
    server: FixtureServer,
    _image: BuiltImage,
}

impl GitServer {
    /// Starts sshd letting in the holder of `authorized_key` as `git`.
    pub async fn start(authorized_key: &str, test_name: &str) -> Result<Self> {
        let image = build_server_image("git_server", test_name).await?;
        let content = tempfile::Builder::new().prefix("git-server-").tempdir()?;
        std::fs::copy(
            fixture_path("private_deps/git/sshd_config"),
            content.path().join("sshd_config"),
        )?;
        std::fs::create_dir_all(content.path().join("authorized_keys"))?;
        std::fs::write(
            content.path().join("authorized_keys").join(GIT_USER),
            authorized_key,
        )?;
        std::fs::create_dir_all(content.path().join("repositories"))?;
        let server = FixtureServer::start(&ServerSpec {
            image: image.id.clone(),
            container_port: "2222/tcp".into(),
            mounts: vec![
                (
                    content.path().join("sshd_config"),
                    "/etc/ssh/git_server.conf".into(),
                ),
                (
                    content.path().join("authorized_keys"),
                    "/etc/ssh/authorized_keys".into(),
                ),
                (content.path().join("repositories"), REPOSITORIES.into()),
            ],
        })
        .await?;
        let git_server = Self {
            content,
            server,
            _image: image,
        };
        git_server
            .server
            .wait_until(READY_TIMEOUT, || git_server.host_keys_once())
            .await?;
        Ok(git_server)
    }

    pub fn port(&self) -> u16 {
        self.server.port
    }

    /// The base URL of its repositories: `ssh://git@127.0.0.1:PORT/srv/git/`.
    pub fn ssh_base(&self) -> String {
        format!("ssh://{GIT_USER}@127.0.0.1:{}{REPOSITORIES}/", self.port())
    }

    /// The server's ed25519 host key as `ssh-keyscan` reports it: a
    /// known_hosts line.
    pub async fn host_keys(&self) -> Result<String> {
        let output = Command::new("ssh-keyscan")
            .args(["-t", "ed25519", "-p", &self.port().to_string(), "127.0.0.1"])
            .stdin(Stdio::null())
            .output()
            .await
            .context("cannot run ssh-keyscan")?;
        let keys = String::from_utf8_lossy(&output.stdout).into_owned();
        ensure!(
            keys.contains("ssh-ed25519"),
            "ssh-keyscan found no host key on port {}",
            self.port()
        );
        Ok(keys)
    }

    async fn host_keys_once(&self) -> Result<()> {
        self.host_keys().await.map(|_| ())
    }

    /// Creates the bare repository `NAME.git` holding one commit of the
    /// files in `source` on branch main; returns the commit id.
    pub async fn publish_repository(&self, name: &str, source: &Path) -> Result<String> {
        let bare = self
            .content
            .path()
            .join("repositories")
            .join(format!("{name}.git"));
        run(
            "git",
            &["init", "--quiet", "--bare", "--initial-branch=main"],
            Some(&bare),
        )
        .await?;
        let work = tempfile::Builder::new().prefix("git-work-").tempdir()?;
        copy_tree(source, work.path())?;
        let git = |args: &[&str]| {
            let mut full = vec![
                "-C",
                work.path().to_str().expect("temporary paths are UTF-8"),
            ];
            full.extend_from_slice(args);
            full.iter()
                .map(|arg| (*arg).to_owned())
                .collect::<Vec<String>>()
        };
        // A message of its own makes the commit id unique, so a build never
        // finds it in a download cache filled by another test.
        let message = format!("First version ({})", random_secret("publication-")?);
        for args in [
            git(&["init", "--quiet", "--initial-branch=main"]),
            git(&["add", "--all"]),
            git(&[
                "-c",
                "user.name=Build Fixture",
                "-c",
                "user.email=fixture@acme.invalid",
                "commit",
                "--quiet",
                "--message",
                &message,
            ]),
        ] {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run("git", &args, None).await?;
        }
        let bare_arg = bare.to_str().context("temporary paths are UTF-8")?;
        run(
            "git",
            &git(&["push", "--quiet", bare_arg, "main"])
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            None,
        )
        .await?;
        let output = Command::new("git")
            .args(git(&["rev-parse", "HEAD"]))
            .output()
            .await?;
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }
}

/// Runs a program, with `last` as its final argument when given.
async fn run(program: &str, args: &[&str], last: Option<&Path>) -> Result<()> {
    let mut command = Command::new(program);
    command.args(args).stdin(Stdio::null());
    if let Some(path) = last {
        command.arg(path);
    }
    let output = command
        .output()
        .await
        .with_context(|| format!("cannot run {program}"))?;
    if !output.status.success() {
        bail!(
            "{program} {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}
