//! Runs the built binary the way a container runtime does: subcommands,
//! settings from the environment, a stop signal, and exit codes.

use rustix::process::{Pid, Signal, kill_process};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const NAME: &str = env!("CARGO_PKG_NAME");

fn service() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hello_service"));
    command
        .env_remove("HTTP_PORT")
        .env_remove("SHUTDOWN_DELAY_MS");
    command
}

/// A port nothing listens on: the kernel picks it, we release it.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn stderr_lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Status and body of one GET, or None while nothing answers.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Kills the server if a test fails before it stopped on its own.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn version_starts_with_the_package_name() {
    let output = service().arg("version").output().unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.starts_with(&format!("{NAME} {} (", env!("CARGO_PKG_VERSION"))),
        "{stdout:?}"
    );
    assert_eq!(stdout.lines().count(), 1);
}

#[test]
fn an_unknown_command_exits_2_with_one_line() {
    let output = service().arg("serve").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr_lines(&output),
        [format!(
            r#"{NAME}: unknown command "serve"; expected foreground, ping or version"#
        )]
    );
}

#[test]
fn a_bad_port_exits_2_naming_the_variable() {
    for value in ["abc", "0", "65536"] {
        let output = service()
            .arg("foreground")
            .env("HTTP_PORT", value)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "HTTP_PORT={value}");
        assert_eq!(
            stderr_lines(&output),
            [format!(
                r#"{NAME}: HTTP_PORT="{value}" is not a port number (1-65535)"#
            )]
        );
    }
}

#[test]
fn serves_reports_unready_on_sigterm_then_exits_0() {
    let port = free_port();
    let mut server = Running(
        service()
            .arg("foreground")
            .env("HTTP_PORT", port.to_string())
            .env("SHUTDOWN_DELAY_MS", "1500")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    wait_for("/ready to answer 200", Duration::from_secs(10), || {
        assert!(
            server.0.try_wait().unwrap().is_none(),
            "the server exited early"
        );
        get(port, "/ready") == Some((200, "ready".into()))
    });
    assert_eq!(get(port, "/healthz"), Some((200, "ok".into())));
    let greeting = format!(
        r#"{{"service":"{NAME}","version":"{}"}}"#,
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(get(port, "/"), Some((200, greeting)));
    let ping = service()
        .arg("ping")
        .env("HTTP_PORT", port.to_string())
        .output()
        .unwrap();
    assert!(ping.status.success(), "{:?}", stderr_lines(&ping));

    // A signal sent directly: build images have no `kill` program.
    let pid = Pid::from_raw(server.0.id() as i32).expect("a child's pid is positive");
    kill_process(pid, Signal::TERM).unwrap();
    let signalled = Instant::now();
    wait_for("/ready to answer 503", Duration::from_secs(1), || {
        get(port, "/ready") == Some((503, "stopping".into()))
    });
    // Still serving during the delay: load balancers see the 503 first.
    assert_eq!(get(port, "/healthz"), Some((200, "ok".into())));

    wait_for("the server to exit", Duration::from_secs(10), || {
        server.0.try_wait().unwrap().is_some()
    });
    assert!(
        signalled.elapsed() >= Duration::from_millis(1500),
        "stopped before the delay ended"
    );
    let status = server.0.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let mut stderr = String::new();
    server
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let events: Vec<&str> = stderr.lines().collect();
    assert_eq!(events.len(), 3, "{stderr}");
    assert!(
        events[0].starts_with(&format!("{NAME}: listening on 0.0.0.0:{port}")),
        "{stderr}"
    );
    assert!(
        events[1].starts_with(&format!("{NAME}: stopping on SIGTERM")),
        "{stderr}"
    );
    assert_eq!(events[2], format!("{NAME}: stopped"));
}

#[test]
fn ping_with_nothing_listening_exits_1_with_one_line() {
    let output = service()
        .arg("ping")
        .env("HTTP_PORT", free_port().to_string())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let lines = stderr_lines(&output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with(&format!("{NAME}: ping 127.0.0.1:")),
        "{lines:?}"
    );
}
