//! Configuration from the environment: a bad value stops the binary before
//! it binds anything, with exit code 2 and one line naming the variable
//! and what it accepts.

use assert_cmd::Command;

fn with_env(variable: &str, value: &str, subcommand: &str) -> assert_cmd::assert::Assert {
    let runtime_dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_service_discovery"))
        .env_clear()
        .env("RUNTIME_DIR", runtime_dir.path())
        .env("BIND_ADDRESS", "127.0.0.1")
        .env("HTTP_PORT", "0")
        .env("GRPC_PORT", "0")
        .env("DNS_PORT", "0")
        .env(variable, value)
        .arg(subcommand)
        .timeout(std::time::Duration::from_secs(10))
        .assert()
}

#[test]
fn invalid_values_exit_2_with_one_line_naming_the_variable() {
    let cases = [
        (
            "HTTP_PORT",
            "70000",
            "invalid HTTP_PORT=\"70000\": expected a port number 0..65535 (0 picks a free port)",
        ),
        (
            "GRPC_PORT",
            "grpc",
            "invalid GRPC_PORT=\"grpc\": expected a port number 0..65535 (0 picks a free port)",
        ),
        (
            "DNS_PORT",
            "-53",
            "invalid DNS_PORT=\"-53\": expected a port number 0..65535 (0 picks a free port)",
        ),
        (
            "DNS_ZONE",
            "svc..local",
            "invalid DNS_ZONE=\"svc..local\": expected a DNS domain such as svc.cluster.local",
        ),
        (
            "LOGGER_LEVEL",
            "verbose",
            "invalid LOGGER_LEVEL=\"verbose\": expected one of off, error, warn, info, debug or trace",
        ),
        (
            "SHUTDOWN_TIMEOUT",
            "10s",
            "invalid SHUTDOWN_TIMEOUT=\"10s\": expected a number of seconds from 0 to 3600, such as 10 or 0.5",
        ),
        (
            "SHUTDOWN_DELAY",
            "-1",
            "invalid SHUTDOWN_DELAY=\"-1\": expected a number of seconds from 0 to 3600, such as 10 or 0.5",
        ),
        (
            "REAP_ZOMBIES",
            "sometimes",
            "invalid REAP_ZOMBIES=\"sometimes\": expected auto (reap when PID 1), on or off",
        ),
        (
            "ENABLE_DEBUG_ROUTES",
            "enabled",
            "invalid ENABLE_DEBUG_ROUTES=\"enabled\": expected true or false (also 1/0, yes/no, on/off)",
        ),
        (
            "BIND_ADDRESS",
            "localhost",
            "invalid BIND_ADDRESS=\"localhost\": expected an IPv4 or IPv6 address such as 0.0.0.0, 127.0.0.1 or ::",
        ),
        (
            "DB_PORT",
            "0",
            "invalid DB_PORT=\"0\": expected a port number 1..65535",
        ),
    ];
    for (variable, value, line) in cases {
        let assert = with_env(variable, value, "foreground").code(2);
        let output = assert.get_output();
        let stderr = String::from_utf8(output.stderr.clone()).unwrap();
        assert_eq!(stderr, format!("service_discovery: {line}\n"), "{variable}");
        assert!(
            output.stdout.is_empty(),
            "{variable}: nothing logged before the check"
        );
    }
}

#[test]
fn console_checks_the_environment_the_same_way() {
    with_env("HTTP_PORT", "http", "console").code(2);
}

#[test]
fn ping_checks_runtime_dir_only() {
    // ping must work inside a container whatever else is set, so only the
    // variable it needs is checked.
    let assert = with_env("HTTP_PORT", "not-a-port", "ping").code(1);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains("cannot reach service_discovery"),
        "{stderr}"
    );

    let long_dir = format!("/{}", "d".repeat(120));
    let assert = Command::new(env!("CARGO_BIN_EXE_service_discovery"))
        .env_clear()
        .env("RUNTIME_DIR", &long_dir)
        .arg("ping")
        .assert()
        .code(2);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert_eq!(stderr.lines().count(), 1);
    assert!(
        stderr.starts_with("service_discovery: invalid RUNTIME_DIR="),
        "{stderr}"
    );
}
