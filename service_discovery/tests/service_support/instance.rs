//! The real `service_discovery` binary as a child process, on ephemeral
//! loopback ports and its own `RUNTIME_DIR`, with its JSON log collected.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};
use serde_json::Value;

pub const BINARY: &str = env!("CARGO_BIN_EXE_service_discovery");

/// Start-up of a debug build on a loaded two-core machine; far above the
/// usual few milliseconds.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A command for the binary with no inherited environment, so the
/// developer's own variables never change what a test sees.
pub fn command(runtime_dir: &Path) -> Command {
    let mut command = Command::new(BINARY);
    command
        .env_clear()
        .env("RUNTIME_DIR", runtime_dir)
        .env("BIND_ADDRESS", "127.0.0.1")
        .env("HTTP_PORT", "0")
        .env("GRPC_PORT", "0")
        .env("DNS_PORT", "0");
    command
}

#[derive(Clone, Default)]
struct Log(Arc<(Mutex<Vec<Value>>, Condvar)>);

impl Log {
    fn push(&self, line: Value) {
        let (lines, changed) = &*self.0;
        lines.lock().unwrap().push(line);
        changed.notify_all();
    }

    fn wait_for(&self, matches: impl Fn(&Value) -> bool, timeout: Duration) -> Option<Value> {
        let (lines, changed) = &*self.0;
        let deadline = Instant::now() + timeout;
        let mut guard = lines.lock().unwrap();
        loop {
            if let Some(found) = guard.iter().find(|l| matches(l)) {
                return Some(found.clone());
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            guard = changed.wait_timeout(guard, left).unwrap().0;
        }
    }
}

pub struct Instance {
    child: Child,
    log: Log,
    pub http: SocketAddr,
    pub grpc: SocketAddr,
    pub dns: SocketAddr,
    pub socket: PathBuf,
    pub runtime_dir: tempfile::TempDir,
}

impl Instance {
    /// Starts `foreground` with extra environment variables and waits
    /// until it logs that it is listening.
    pub fn start(env: &[(&str, &str)]) -> Self {
        Self::start_command("foreground", env, Stdio::null())
    }

    pub fn start_command(subcommand: &str, env: &[(&str, &str)], stdin: Stdio) -> Self {
        let runtime_dir = tempfile::tempdir().unwrap();
        let mut command = command(runtime_dir.path());
        command.arg(subcommand).envs(env.iter().copied());
        Self::spawn(command, runtime_dir, stdin)
    }

    pub fn spawn(mut command: Command, runtime_dir: tempfile::TempDir, stdin: Stdio) -> Self {
        let mut child = command
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the service binary starts");
        let log = Log::default();
        let stdout = child.stdout.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // The console's own output shares stdout with the log.
                let value = serde_json::from_str(&line).unwrap_or(Value::String(line));
                sink.push(value);
            }
        });
        let Some(listening) = log.wait_for(|l| l["message"] == "listening", START_TIMEOUT) else {
            let _ = child.kill();
            panic!("the service did not log \"listening\" within {START_TIMEOUT:?}");
        };
        let addr = |key: &str| -> SocketAddr { listening[key].as_str().unwrap().parse().unwrap() };
        Self {
            http: addr("http"),
            grpc: addr("grpc"),
            dns: addr("dns"),
            socket: PathBuf::from(listening["control_socket"].as_str().unwrap()),
            log,
            child,
            runtime_dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn signal(&self, signal: Signal) {
        let pid = Pid::from_raw(self.child.id() as i32).unwrap();
        rustix::process::kill_process(pid, signal).expect("signal delivered");
    }

    pub fn stdin(&mut self) -> &mut std::process::ChildStdin {
        self.child
            .stdin
            .as_mut()
            .expect("started with a piped stdin")
    }

    /// Waits for the process to exit; panics (after killing it) if it
    /// is still running when `timeout` expires.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the service was still running {timeout:?} after being asked to stop");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Waits for a log record with this message.
    pub fn wait_for_log(&self, message: &str, timeout: Duration) -> Option<Value> {
        self.log.wait_for(|l| l["message"] == message, timeout)
    }

    /// Waits for a line of plain text (not a log record) on stdout, as the
    /// local console prints.
    pub fn wait_for_text(&self, text: &str, timeout: Duration) -> bool {
        self.log
            .wait_for(|l| l.as_str() == Some(text), timeout)
            .is_some()
    }

    pub fn log_lines(&self) -> Vec<Value> {
        self.log.0.0.lock().unwrap().clone()
    }

    /// Runs another subcommand of the binary against this instance.
    pub fn run(&self, subcommand: &str, stdin: &str) -> std::process::Output {
        use std::io::Write;
        let mut child = command(self.runtime_dir.path())
            .arg(subcommand)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if self.is_running() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
