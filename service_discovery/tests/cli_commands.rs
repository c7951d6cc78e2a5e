//! The command line itself: help, version, and mistakes on it.

use assert_cmd::Command;

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_service_discovery"));
    command.env_clear();
    command
}

#[test]
fn help_lists_the_subcommands_and_the_environment() {
    let output = binary()
        .arg("--help")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    insta::assert_snapshot!("cli_help", String::from_utf8(output).unwrap());
}

#[test]
fn version_prints_the_version_and_the_build_commit() {
    let output = binary()
        .arg("version")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let line = String::from_utf8(output).unwrap();
    let commit = option_env!("GIT_COMMIT")
        .filter(|c| !c.is_empty())
        .unwrap_or("unknown");
    assert_eq!(
        line,
        format!(
            "service_discovery {} (commit {commit})\n",
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[test]
fn an_unknown_subcommand_exits_2_and_says_what_exists() {
    let assert = binary().arg("start").assert().code(2);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains("unrecognized subcommand 'start'"),
        "{stderr}"
    );
}
