//! The service as PID 1 of its own PID namespace, as in a container but
//! without a container engine: `unshare` starts it as PID 1, and `nsenter`
//! runs commands inside like `docker exec` does. Shows that signals work
//! although the kernel gives PID 1 no default actions (R8) and that
//! orphans are reaped, or left as zombies when reaping is off (R9).
//!
//! Needs util-linux's `unshare` and `nsenter` and user namespaces (root
//! has them always); the namespace's root is mapped to the caller.

mod service_support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};
use service_support::instance::{self, Instance};

const ORPHAN_MAKERS: usize = 5;

struct Pid1 {
    /// `unshare`, which exits with the service's status.
    instance: Instance,
    /// The service's PID as seen from outside its namespace.
    host_pid: i32,
}

impl Pid1 {
    fn start(env: &[(&str, &str)]) -> Self {
        let runtime_dir = tempfile::tempdir().unwrap();
        let service = instance::command(runtime_dir.path());
        let mut command = Command::new("unshare");
        command
            .args([
                "--user",
                "--map-root-user",
                "--pid",
                "--fork",
                "--mount-proc",
                "--kill-child",
            ])
            .arg(service.get_program())
            .env_clear()
            .envs(service.get_envs().filter_map(|(k, v)| Some((k, v?))))
            .envs(env.iter().copied());
        let instance = Instance::spawn(command, runtime_dir, Stdio::null());
        let unshare = instance.pid();
        let children = std::fs::read_to_string(format!("/proc/{unshare}/task/{unshare}/children"))
            .expect("unshare's children are listed");
        let host_pid = children
            .trim()
            .parse()
            .expect("unshare runs exactly the service");
        let ready = instance
            .wait_for_log("ready", Duration::from_secs(5))
            .expect("the service logs ready");
        assert_eq!(ready["pid"], 1, "the service is PID 1 in its namespace");
        Self { instance, host_pid }
    }

    /// Like `docker exec C sh -c 'sleep 0.2 & exit 0'`: the shell's
    /// parent is outside the namespace, so its orphan goes to PID 1.
    fn exec_leaving_an_orphan(&self) {
        let status = Command::new("nsenter")
            .args([
                "--target",
                &self.host_pid.to_string(),
                "--user",
                "--pid",
                "--preserve-credentials",
            ])
            .args(["sh", "-c", "sleep 0.2 & exit 0"])
            .status()
            .expect("nsenter runs");
        assert!(status.success());
    }

    fn zombie_children(&self) -> usize {
        let parent = self.host_pid.to_string();
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("stat")).ok())
            .filter(|stat| {
                let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
                let mut fields = after_comm.split(' ');
                fields.next() == Some("Z") && fields.next() == Some(parent.as_str())
            })
            .count()
    }

    /// Leaves orphans behind, waits until they have all ended, and
    /// counts the zombies PID 1 holds then.
    fn zombies_after_orphans(&self) -> usize {
        for _ in 0..ORPHAN_MAKERS {
            self.exec_leaving_an_orphan();
        }
        let settled = Instant::now() + Duration::from_secs(3);
        std::thread::sleep(Duration::from_millis(600));
        let mut zombies = self.zombie_children();
        while zombies != 0 && zombies != ORPHAN_MAKERS && Instant::now() < settled {
            std::thread::sleep(Duration::from_millis(50));
            zombies = self.zombie_children();
        }
        zombies
    }

    fn signal(&self, signal: Signal) {
        rustix::process::kill_process(Pid::from_raw(self.host_pid).unwrap(), signal).unwrap();
    }
}

#[test]
fn r9_as_pid1_orphans_are_reaped_by_default() {
    let pid1 = Pid1::start(&[]);
    assert_eq!(pid1.zombies_after_orphans(), 0);
}

#[test]
fn r9_as_pid1_with_reaping_off_orphans_stay_zombies() {
    let pid1 = Pid1::start(&[("REAP_ZOMBIES", "off")]);
    assert_eq!(pid1.zombies_after_orphans(), ORPHAN_MAKERS);
}

#[test]
fn r8_as_pid1_sigterm_still_shuts_down_gracefully() {
    let mut pid1 = Pid1::start(&[("SHUTDOWN_DELAY", "0")]);
    pid1.signal(Signal::TERM);
    let status = pid1.instance.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
    assert!(
        pid1.instance
            .wait_for_log("shutdown complete", Duration::ZERO)
            .is_some()
    );
}
