//! `service_discovery migrate` outside a database setup: it says what is
//! missing in one line and exits 2, like any configuration error.

use assert_cmd::Command;

fn migrate(env: &[(&str, &str)]) -> assert_cmd::assert::Assert {
    let mut command = Command::new(env!("CARGO_BIN_EXE_service_discovery"));
    command.env_clear().arg("migrate");
    for (name, value) in env {
        command.env(name, value);
    }
    command.assert()
}

#[test]
fn migrate_without_a_database_says_what_to_set() {
    let assert = migrate(&[]).code(2);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert_eq!(
        stderr,
        "service_discovery: migrate needs a database: set DB_HOST \
         (and DB_USER, DB_NAME, DB_PASSWORD or DB_PASSWORD_FILE)\n"
    );
}

#[test]
fn migrate_checks_the_database_variables_first() {
    let assert = migrate(&[
        ("DB_HOST", "db"),
        ("DB_PASSWORD_FILE", "/nonexistent/secret"),
    ])
    .code(2);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("service_discovery: invalid DB_PASSWORD_FILE=\"/nonexistent/secret\""),
        "{stderr}"
    );
}
