//! What the service writes (claims M5 and R6): the control socket in
//! `RUNTIME_DIR` and nothing else, removed on exit, and the same under an
//! arbitrary user id that owns nothing on the machine.

mod service_support;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use rustix::process::Signal;
use service_support::instance::{self, Instance};

/// A user and group id that no account uses, as with
/// `docker run --user 54321:54321`.
const ARBITRARY_ID: u32 = 54_321;

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Runs the service from an empty working directory, uses every kind of
/// request, and checks the files present while running and after exit.
fn writes_only_the_control_socket(uid: Option<u32>) {
    let runtime_dir = tempfile::tempdir().unwrap();
    let workdir = tempfile::tempdir().unwrap();
    for dir in [runtime_dir.path(), workdir.path()] {
        // World-writable, as a tmpfs /tmp is, so any user id may write.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
    }
    let mut command = instance::command(runtime_dir.path());
    command
        .current_dir(workdir.path())
        .env("ENABLE_DEBUG_ROUTES", "1");
    if let Some(id) = uid {
        command.uid(id).gid(id);
    }
    let runtime_path = runtime_dir.path().to_owned();
    let mut service = Instance::spawn(command, runtime_dir, Stdio::null());

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        for (path, body) in [
            ("/service", r#"{"name": "webapp"}"#),
            ("/service/webapp/register", r#"{"ip": "127.0.0.1"}"#),
        ] {
            let answer = client
                .put(service.url(path))
                .body(body)
                .send()
                .await
                .unwrap();
            assert!(answer.status().is_success());
        }
        let slow = client
            .get(service.url("/debug/sleep?ms=1"))
            .send()
            .await
            .unwrap();
        assert!(slow.status().is_success());
    });
    let mut console = instance::command(&runtime_path);
    if let Some(id) = uid {
        console.uid(id).gid(id);
    }
    let status = console.arg("ping").stdout(Stdio::null()).status().unwrap();
    assert!(status.success(), "ping as the same user");

    assert_eq!(entries(&runtime_path), ["service_discovery.sock"]);
    assert!(
        entries(workdir.path()).is_empty(),
        "nothing in the working directory"
    );
    let socket_mode = std::fs::metadata(&service.socket)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(
        socket_mode & 0o777,
        0o600,
        "only its own user may use the admin socket"
    );

    service.signal(Signal::TERM);
    assert_eq!(service.wait_exit(Duration::from_secs(10)).code(), Some(0));
    assert!(
        entries(&runtime_path).is_empty(),
        "the socket is removed on exit"
    );
    assert!(entries(workdir.path()).is_empty());
}

#[test]
fn r6_writes_nothing_but_the_control_socket() {
    writes_only_the_control_socket(None);
}

#[test]
fn m5_runs_as_an_arbitrary_user_id() {
    let is_root = rustix::process::geteuid().is_root();
    // As root the id is switched to one that owns nothing; otherwise the
    // test already runs as an ordinary user, which is the same situation.
    writes_only_the_control_socket(is_root.then_some(ARBITRARY_ID));
}
