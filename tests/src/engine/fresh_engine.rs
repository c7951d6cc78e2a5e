//! A second, empty Docker Engine: what a new CI machine (or the project's
//! engine after `docker builder prune -af` and removing every image) looks
//! like, without wiping the build cache every other test relies on.
//!
//! It is a real `dockerd` with its own data and run directories, its own
//! containerd, the containerd image store, and its own network bridge: it
//! never touches the host's `docker0` or firewall rules. Build steps on it
//! reach nothing but their bridge: a routing rule answers anything else
//! with "network unreachable" at once, so a step that should have come from
//! a cache fails fast instead of downloading. That suits the tests that use
//! it: they prove nothing needs to run there because everything comes from
//! a registry. Starting it needs root, like the engine itself.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use tempfile::TempDir;
use tokio::process::Command;
use tokio::sync::{Mutex, MutexGuard};

const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);
/// Its bridge's subnet: 10.199.N.0/24, N picked from the process id so two
/// test runs on one host do not collide.
const SUBNET_PREFIX: &str = "10.199";
/// Before the main routing table (32766), after the local one (0).
const RULE_PRIORITY: &str = "1999";
/// What every private engine's bridge and directory are named after.
const BRIDGE_PREFIX: &str = "sdfresh";
const DIR_PREFIX: &str = "fresh-engine-";

pub struct FreshEngine {
    dir: TempDir,
    process: Child,
    network: IsolatedBridge,
    _turn: MutexGuard<'static, ()>,
}

/// The result of a `docker` command run against the fresh engine.
pub struct CliOutput {
    pub stdout: String,
    pub stderr: String,
}

impl FreshEngine {
    /// Starts an engine with no image and no build cache. One at a time per
    /// test run: each holds a few hundred megabytes of pulled layers.
    pub async fn start() -> Result<Self> {
        static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());
        let turn = ONE_AT_A_TIME.lock().await;
        ensure!(
            is_root()?,
            "a second Docker Engine needs root: run the suite as root (as CI does)"
        );

        let dir = tempfile::Builder::new()
            .prefix(DIR_PREFIX)
            .tempdir()
            .context("cannot create a temporary directory")?;
        let network = IsolatedBridge::create().await?;

        std::fs::write(
            dir.path().join("daemon.json"),
            r#"{"features":{"containerd-snapshotter":true}}"#,
        )?;
        let log = std::fs::File::create(dir.path().join("dockerd.log"))?;
        let spawned = std::process::Command::new("dockerd")
            .arg("--config-file")
            .arg(dir.path().join("daemon.json"))
            .arg("--data-root")
            .arg(dir.path().join("data"))
            .arg("--exec-root")
            .arg(dir.path().join("exec"))
            .arg("--pidfile")
            .arg(dir.path().join("dockerd.pid"))
            .arg("--host")
            .arg(format!(
                "unix://{}",
                dir.path().join("docker.sock").display()
            ))
            // Its own bridge, and hands off the host's firewall and sysctls.
            .args([
                "--bridge",
                &network.name,
                "--iptables=false",
                "--ip6tables=false",
                "--ip-forward=false",
                "--ip-masq=false",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn();
        // On failure `network` is dropped, which removes it.
        let process = spawned.map_err(|error| {
            anyhow::anyhow!(
                "cannot start dockerd ({error}): install docker.io (ci/bootstrap_host.sh does)"
            )
        })?;
        let engine = Self {
            dir,
            process,
            network,
            _turn: turn,
        };
        engine.wait_until_ready().await?;
        Ok(engine)
    }

    /// The value of `DOCKER_HOST` that reaches this engine.
    pub fn docker_host(&self) -> String {
        format!("unix://{}", self.dir.path().join("docker.sock").display())
    }

    /// Runs `docker ARGS...` against this engine.
    pub async fn docker(&self, args: &[&str]) -> Result<CliOutput> {
        let output = Command::new("docker")
            .args(args)
            .env("DOCKER_HOST", self.docker_host())
            .stdin(Stdio::null())
            .output()
            .await
            .context("cannot run docker")?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        ensure!(
            output.status.success(),
            "docker {} on the fresh engine failed: {}",
            args.join(" "),
            stderr.trim()
        );
        Ok(CliOutput { stdout, stderr })
    }

    /// Empties the engine the way the issue describes a pruned daemon:
    /// every build cache record and every image removed. Then checks that
    /// nothing is left.
    pub async fn prune_everything(&self) -> Result<()> {
        self.docker(&["builder", "prune", "--all", "--force"])
            .await?;
        let images = self
            .docker(&["image", "ls", "--all", "--quiet"])
            .await?
            .stdout;
        let ids: Vec<&str> = images.split_whitespace().collect();
        if !ids.is_empty() {
            let mut args = vec!["image", "rm", "--force"];
            args.extend(&ids);
            self.docker(&args).await?;
        }
        ensure!(
            self.image_count().await? == 0,
            "images left after removing them all"
        );
        ensure!(
            self.build_cache_records().await? == 0,
            "build cache left after docker builder prune -af"
        );
        Ok(())
    }

    pub async fn image_count(&self) -> Result<usize> {
        Ok(self
            .docker(&["image", "ls", "--all", "--quiet"])
            .await?
            .stdout
            .split_whitespace()
            .count())
    }

    /// How many records the engine's build cache holds.
    pub async fn build_cache_records(&self) -> Result<usize> {
        let listing = self.docker(&["buildx", "du", "--verbose"]).await?.stdout;
        Ok(listing
            .lines()
            .filter(|line| line.starts_with("ID:"))
            .count())
    }

    async fn wait_until_ready(&self) -> Result<()> {
        let started = Instant::now();
        loop {
            if self
                .docker(&["version", "--format", "{{.Server.Version}}"])
                .await
                .is_ok()
            {
                return Ok(());
            }
            if started.elapsed() > STARTUP_TIMEOUT {
                bail!(
                    "the fresh engine did not answer within {}s; its log ends with:\n{}",
                    STARTUP_TIMEOUT.as_secs(),
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("dockerd.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    /// Stops dockerd (which stops its containerd), unmounts anything left
    /// under its directories and removes its bridge. Synchronous, for Drop.
    fn stop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.process.id().to_string()])
            .status();
        let deadline = Instant::now() + SHUTDOWN_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.process.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        if let Ok(None) = self.process.try_wait() {
            let _ = self.process.kill();
            let _ = self.process.wait();
        }
        unmount_below(self.dir.path());
        self.network.remove();
    }
}

impl Drop for FreshEngine {
    fn drop(&mut self) {
        self.stop();
    }
}

fn is_root() -> Result<bool> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("cannot read /proc/self/status")?;
    let effective = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .context("no Uid line in /proc/self/status")?;
    Ok(effective == "0")
}

async fn ip(args: &[&str]) -> Result<()> {
    let output = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .context("cannot run ip (iproute2)")?;
    ensure!(
        output.status.success(),
        "ip {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(())
}

fn bridge_name(creator: u32) -> String {
    format!("{BRIDGE_PREFIX}{}", creator % 100_000)
}

/// What an interrupted run of the suite can leave, since no Drop ran: a
/// private `dockerd` whose test process is gone (it was handed to another
/// parent), and bridges with their routing rules that no running private
/// engine uses. Stops and removes those, and only those: an engine another
/// run of the suite is using still has its creator as parent. Returns one
/// line per thing removed.
pub fn remove_stale_private_engines() -> Result<Vec<String>> {
    let mut removed = Vec::new();
    let engines = private_engines()?;
    let mut live_bridges = Vec::new();
    for engine in engines {
        if bridge_name(engine.parent) == engine.bridge {
            live_bridges.push(engine.bridge);
            continue;
        }
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &engine.pid.to_string()])
            .status();
        let deadline = Instant::now() + SHUTDOWN_TIMEOUT;
        while Path::new(&format!("/proc/{}", engine.pid)).exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &engine.pid.to_string()])
            .status();
        unmount_below(&engine.dir);
        let _ = std::fs::remove_dir_all(&engine.dir);
        removed.push(format!(
            "stopped the private engine {} left in {}",
            engine.pid,
            engine.dir.display()
        ));
    }
    for (bridge, table) in private_bridges()? {
        if live_bridges.contains(&bridge) {
            continue;
        }
        IsolatedBridge {
            name: bridge.clone(),
            table: table.unwrap_or_default(),
            removed: false,
        }
        .remove();
        removed.push(format!("removed the bridge {bridge} and its routing rule"));
    }
    Ok(removed)
}

/// A running `dockerd` that [`FreshEngine::start`] started.
struct PrivateEngine {
    pid: u32,
    parent: u32,
    bridge: String,
    dir: PathBuf,
}

fn private_engines() -> Result<Vec<PrivateEngine>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").context("cannot list /proc")? {
        let Some(pid) = entry?
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<u32>().ok())
        else {
            continue;
        };
        // Processes end while being read; what cannot be read is skipped.
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|byte| *byte == 0)
            .map(|arg| String::from_utf8_lossy(arg).into_owned())
            .collect();
        if let Some(engine) = private_engine(pid, &args) {
            found.push(engine);
        }
    }
    Ok(found)
}

fn private_engine(pid: u32, args: &[String]) -> Option<PrivateEngine> {
    let program = Path::new(args.first()?).file_name()?;
    if program != "dockerd" {
        return None;
    }
    let after = |flag: &str| {
        args.iter()
            .position(|arg| arg == flag)
            .and_then(|at| args.get(at + 1))
    };
    let dir = Path::new(after("--data-root")?).parent()?.to_path_buf();
    let bridge = after("--bridge")?.clone();
    let is_ours =
        dir.file_name()?.to_str()?.starts_with(DIR_PREFIX) && bridge.starts_with(BRIDGE_PREFIX);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The parent is the second field after the command name in parentheses.
    let parent = stat
        .rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    is_ours.then_some(PrivateEngine {
        pid,
        parent,
        bridge,
        dir,
    })
}

/// Every private engine's bridge on the host, with the routing table its
/// rule points at (when the rule is still there).
fn private_bridges() -> Result<Vec<(String, Option<String>)>> {
    let links = std::process::Command::new("ip")
        .args(["-o", "link", "show", "type", "bridge"])
        .output()
        .context("cannot run ip (iproute2)")?;
    let rules = std::process::Command::new("ip")
        .args(["rule", "show"])
        .output()
        .context("cannot run ip (iproute2)")?;
    let rules = String::from_utf8_lossy(&rules.stdout).into_owned();
    Ok(String::from_utf8_lossy(&links.stdout)
        .lines()
        .filter_map(|line| line.split(": ").nth(1))
        .map(|name| name.split('@').next().unwrap_or(name).to_owned())
        .filter(|name| name.starts_with(BRIDGE_PREFIX))
        .map(|name| {
            let table = rules
                .lines()
                .find(|rule| rule.split_whitespace().any(|word| word == name))
                .and_then(|rule| {
                    rule.split_whitespace()
                        .skip_while(|word| *word != "lookup")
                        .nth(1)
                })
                .map(str::to_owned);
            (name, table)
        })
        .collect())
}

/// The fresh engine's bridge: its own subnet, and a routing rule that
/// makes everything beyond it unreachable for packets coming from it.
struct IsolatedBridge {
    name: String,
    table: String,
    removed: bool,
}

impl Drop for IsolatedBridge {
    fn drop(&mut self) {
        self.remove();
    }
}

impl IsolatedBridge {
    /// Names and numbers come from the process id, so two test runs on one
    /// host do not collide; leftovers of an interrupted run are replaced.
    async fn create() -> Result<Self> {
        let id = std::process::id();
        let mut bridge = Self {
            name: bridge_name(id),
            table: (20_000 + id % 10_000).to_string(),
            removed: false,
        };
        bridge.remove();
        bridge.removed = false;
        let address = format!("{SUBNET_PREFIX}.{}.1/24", id % 200 + 20);
        ip(&["link", "add", &bridge.name, "type", "bridge"]).await?;
        ip(&["addr", "add", &address, "dev", &bridge.name]).await?;
        ip(&[
            "route",
            "add",
            "unreachable",
            "default",
            "table",
            &bridge.table,
        ])
        .await?;
        ip(&[
            "rule",
            "add",
            "iif",
            &bridge.name,
            "priority",
            RULE_PRIORITY,
            "table",
            &bridge.table,
        ])
        .await?;
        ip(&["link", "set", &bridge.name, "up"]).await?;
        Ok(bridge)
    }

    fn remove(&mut self) {
        if self.removed {
            return;
        }
        let mut steps = vec![
            vec![
                "rule",
                "delete",
                "iif",
                &self.name,
                "priority",
                RULE_PRIORITY,
                "table",
                &self.table,
            ],
            vec!["route", "flush", "table", &self.table],
            vec!["link", "delete", &self.name, "type", "bridge"],
        ];
        if self.table.is_empty() {
            // A leftover whose rule is gone already: only the link is left.
            steps.drain(..2);
        }
        for args in steps {
            let _ = std::process::Command::new("ip")
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        self.removed = true;
    }
}

/// Mounts dockerd or containerd may leave when stopped abruptly; the
/// directory cannot be removed while they exist.
fn unmount_below(dir: &Path) {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let mut points: Vec<PathBuf> = mounts
        .lines()
        .filter_map(|line| line.split_whitespace().nth(1))
        .map(PathBuf::from)
        .filter(|point| point.starts_with(dir))
        .collect();
    // Deepest first.
    points.sort_by_key(|point| std::cmp::Reverse(point.components().count()));
    for point in points {
        let _ = std::process::Command::new("umount")
            .arg("--lazy")
            .arg(&point)
            .status();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn only_the_suites_own_engines_are_recognised() {
        let ours = args(
            "dockerd --config-file /tmp/fresh-engine-ab/daemon.json --data-root /tmp/fresh-engine-ab/data --bridge sdfresh4242",
        );
        let engine = private_engine(std::process::id(), &ours).expect("the suite's engine");
        assert_eq!(engine.bridge, "sdfresh4242");
        assert_eq!(engine.dir, PathBuf::from("/tmp/fresh-engine-ab"));
        let host_engine =
            args("/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock");
        assert!(private_engine(std::process::id(), &host_engine).is_none());
        let other = args("dockerd --data-root /var/lib/other/data --bridge sdfresh1");
        assert!(private_engine(std::process::id(), &other).is_none());
    }
}
