//! Zombie reaping (claim R9), without being PID 1: this test process
//! becomes a child subreaper, so orphans are handed to it exactly as they
//! are to PID 1 in a container. One test in its own binary, because the
//! reaper collects *any* child of the process.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use service_discovery::lifecycle::reaper::{self, Reaping};

const ORPHAN_MAKERS: usize = 5;

/// Like `docker exec C sh -c 'sleep 0.2 & exit 0'`: the shell exits at
/// once, its background job lives on as an orphan and ends shortly after.
fn make_orphans() {
    for _ in 0..ORPHAN_MAKERS {
        let child = Command::new("sh")
            .args(["-c", "sleep 0.2 & exit 0"])
            .stdin(Stdio::null())
            .spawn()
            .expect("sh runs");
        // Deliberately never waited for: only a reaper collects it.
        drop(child);
    }
}

/// Children of this process in state Z, read from /proc.
fn zombie_children() -> usize {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| std::fs::read_to_string(entry.ok()?.path().join("stat")).ok())
        .filter(|stat| {
            // "pid (comm) state ppid ...": comm may hold spaces, so split
            // after its closing parenthesis.
            let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
            let mut fields = after_comm.split(' ');
            let (state, ppid) = (fields.next(), fields.next());
            state == Some("Z") && ppid == Some(me.as_str())
        })
        .count()
}

fn wait_for_zombies(expected: usize, timeout: Duration) -> usize {
    let deadline = Instant::now() + timeout;
    loop {
        let now = zombie_children();
        if now == expected || Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn r9_orphans_become_zombies_without_a_reaper_and_are_reaped_with_it() {
    reaper::become_subreaper().expect("PR_SET_CHILD_SUBREAPER");

    // Without reaping: every shell and every orphaned sleep stays a zombie.
    make_orphans();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        wait_for_zombies(2 * ORPHAN_MAKERS, Duration::from_secs(5)),
        2 * ORPHAN_MAKERS,
        "shells and their orphans are zombies until someone waits for them"
    );

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _reaper = runtime
        .block_on(async { reaper::start(Reaping::AsSubreaper) })
        .unwrap();

    // Starting the reaper collects the zombies already there...
    assert_eq!(wait_for_zombies(0, Duration::from_secs(5)), 0);

    // ...and every SIGCHLD after that collects the new ones.
    make_orphans();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(wait_for_zombies(0, Duration::from_secs(5)), 0);
}
