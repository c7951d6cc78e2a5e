//! The admin prompt: `console` on the service's own stdin (R1),
//! `remote_console` over the control socket (R3), and `ping`.

mod service_support;

use std::io::{Read, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

use rustix::process::Signal;
use service_support::instance::{self, Instance};

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

#[test]
fn r3_remote_console_answers_status_and_quit_leaves_the_service_running() {
    let mut service = Instance::start(&[]);
    let output = service.run("remote_console", "status\nquit\n");
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    for expected in [
        "state:     ready",
        "backend:   memory",
        "services:  0",
        "endpoints: 0",
        "in_flight: 0",
        "log_level: info",
        "bye; the service keeps running",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    assert!(
        service.is_running(),
        "quit left the console, not the service"
    );
    let ping = service.run("ping", "");
    assert_eq!(stdout(&ping), "pong\n");
}

#[test]
fn r3_end_of_input_leaves_the_console_too() {
    let mut service = Instance::start(&[]);
    let output = service.run("remote_console", "status\n");
    assert!(output.status.success());
    assert!(service.is_running());
}

#[test]
fn admin_help_lists_every_command() {
    let service = Instance::start(&[]);
    let output = service.run("remote_console", "help\n");
    insta::assert_snapshot!("admin_help", stdout(&output));
}

#[test]
fn services_lists_ports_and_endpoints() {
    let service = Instance::start(&[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        for (path, body) in [
            ("/service", r#"{"name": "webapp"}"#),
            ("/service", r#"{"name": "db"}"#),
            ("/service/webapp/register", r#"{"ip": "127.0.0.1"}"#),
            ("/service/webapp/register", r#"{"ip": "::1"}"#),
            (
                "/service/webapp/ports",
                r#"{"http": {"protocol": "tcp", "port": 8000}}"#,
            ),
        ] {
            let answer = client
                .put(service.url(path))
                .body(body)
                .send()
                .await
                .unwrap();
            assert!(answer.status().is_success());
        }
    });
    let output = service.run("remote_console", "services\nstatus\n");
    let text = stdout(&output);
    insta::assert_snapshot!(
        "admin_services",
        text.lines().take(2).collect::<Vec<_>>().join("\n")
    );
    assert!(text.contains("services:  2\nendpoints: 2"), "{text}");
}

#[test]
fn log_level_changes_the_level_at_runtime() {
    let service = Instance::start(&[("LOGGER_LEVEL", "info")]);
    // Reads the whole answer: a client that hangs up after sending can have
    // its request dropped before the handler runs, and so never logged.
    let probe = || {
        let mut stream = std::net::TcpStream::connect(service.http).unwrap();
        stream.write_all(b"GET /healthz HTTP/1.0\r\n\r\n").unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.0 200"), "{answer}");
    };
    probe();
    let output = service.run("remote_console", "log_level\nlog_level debug\nlog_level\n");
    assert_eq!(stdout(&output), "info\nlog level is now debug\ndebug\n");
    probe();
    let logged = service
        .wait_for_log("http request", Duration::from_secs(5))
        .expect("debug request lines appear once the level is debug");
    assert_eq!(logged["level"], "DEBUG");
    assert_eq!(logged["path"], "/healthz");
    let requests = service
        .log_lines()
        .iter()
        .filter(|l| l["message"] == "http request")
        .count();
    assert_eq!(requests, 1, "the request made at info level was not logged");
}

#[test]
fn mistakes_at_the_prompt_are_explained() {
    let service = Instance::start(&[]);
    let output = service.run(
        "remote_console",
        "stauts\nlog_level loud\nstatus now\nquit\n",
    );
    let text = stdout(&output);
    assert!(
        text.contains("unknown command \"stauts\"; type help for the list"),
        "{text}"
    );
    assert!(
        text.contains("log_level: expected one of off, error, warn, info, debug or trace"),
        "{text}"
    );
    assert!(text.contains("status takes no arguments"), "{text}");
}

#[test]
fn r1_console_serves_and_answers_on_its_own_stdin() {
    let mut service = Instance::start_command("console", &[], Stdio::piped());
    service.stdin().write_all(b"status\n").unwrap();
    assert!(
        service.wait_for_text("state:     ready", Duration::from_secs(5)),
        "the console printed the status"
    );
    service.stdin().write_all(b"quit\n").unwrap();
    assert!(service.wait_for_text("bye; the service keeps running", Duration::from_secs(5)));
    service
        .wait_for_log(
            "console closed; the service keeps running",
            Duration::from_secs(5),
        )
        .expect("quit closes the console");
    assert!(service.is_running());
    assert_eq!(service.run("ping", "").status.code(), Some(0));
    service.signal(Signal::TERM);
    assert_eq!(service.wait_exit(Duration::from_secs(10)).code(), Some(0));
}

#[test]
fn console_without_input_keeps_serving() {
    // `docker run IMAGE console` without -i: stdin is closed at once.
    let mut service = Instance::start_command("console", &[], Stdio::null());
    service
        .wait_for_log(
            "console closed; the service keeps running",
            Duration::from_secs(5),
        )
        .expect("end of input closes the console");
    assert_eq!(service.run("ping", "").status.code(), Some(0));
    assert!(service.is_running());
}

#[test]
fn ping_answers_pong_quickly_and_fails_with_one_line_when_nobody_answers() {
    let mut service = Instance::start(&[]);
    let started = Instant::now();
    let ping = service.run("ping", "");
    let took = started.elapsed();
    assert_eq!(
        (ping.status.code(), stdout(&ping).as_str()),
        (Some(0), "pong\n")
    );
    assert!(took < Duration::from_secs(1), "ping took {took:?}");

    service.signal(Signal::TERM);
    assert_eq!(service.wait_exit(Duration::from_secs(10)).code(), Some(0));
    let ping = service.run("ping", "");
    assert_eq!(ping.status.code(), Some(1));
    assert_eq!(stdout(&ping), "");
    let message = stderr(&ping);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.contains(&service.socket.display().to_string()),
        "{message}"
    );
    assert!(
        message.contains("is it running, with the same RUNTIME_DIR?"),
        "{message}"
    );
}

#[test]
fn a_second_instance_on_the_same_runtime_dir_is_refused() {
    let service = Instance::start(&[]);
    let output = instance::command(service.runtime_dir.path())
        .arg("foreground")
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.contains("another instance is already running"),
        "{message}"
    );
    assert_eq!(
        service.run("ping", "").status.code(),
        Some(0),
        "the first one is untouched"
    );
}

#[test]
fn a_stale_socket_from_a_killed_instance_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let stale = dir.path().join("service_discovery.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    assert!(stale.exists());
    let service = Instance::spawn(instance::command(dir.path()), dir, Stdio::null());
    assert_eq!(service.run("ping", "").status.code(), Some(0));
}

#[test]
fn an_unusable_runtime_dir_stops_the_start_with_one_line() {
    let output = instance::command(std::path::Path::new("/nonexistent/runtime"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.contains(
            "cannot create the control socket /nonexistent/runtime/service_discovery.sock"
        ),
        "{message}"
    );
    assert!(
        message.contains("set RUNTIME_DIR to a writable directory"),
        "{message}"
    );
}
