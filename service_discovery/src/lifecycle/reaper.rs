//! Zombie reaping for PID 1. Orphaned processes (say, the background job
//! of a `docker exec sh -c '... &'`) are re-parented to PID 1 when their
//! parent exits; once they end, they stay zombies, each holding a slot of
//! the process table, until PID 1 collects their exit status. A service
//! that is PID 1 must do what an init system would: wait for any child on
//! every SIGCHLD.
//!
//! This waits for *any* child, so it must not run in a process that
//! spawns children of its own and waits for them: the service spawns none.

use std::io;

use rustix::io::Errno;
use rustix::process::{WaitOptions, WaitStatus};
use tokio::signal::unix::{SignalKind, signal};
use tokio::task::JoinHandle;

use crate::config::ReapZombies;

/// What the reaper does, decided from `REAP_ZOMBIES` and the process's PID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaping {
    Disabled,
    /// PID 1: orphans come to us by themselves.
    AsInit,
    /// Not PID 1 but asked to reap: become a child subreaper, so orphans
    /// of our descendants come to us instead of to the real PID 1.
    AsSubreaper,
}

impl Reaping {
    pub fn decide(setting: ReapZombies, is_pid1: bool) -> Self {
        match (setting, is_pid1) {
            (ReapZombies::Off, _) => Reaping::Disabled,
            (ReapZombies::Auto | ReapZombies::On, true) => Reaping::AsInit,
            (ReapZombies::Auto, false) => Reaping::Disabled,
            (ReapZombies::On, false) => Reaping::AsSubreaper,
        }
    }

    pub fn for_this_process(setting: ReapZombies) -> Self {
        Self::decide(setting, rustix::process::getpid().is_init())
    }
}

// ANCHOR: reap_loop
/// Starts reaping in the background; `None` when reaping is disabled.
pub fn start(reaping: Reaping) -> io::Result<Option<JoinHandle<()>>> {
    if reaping == Reaping::Disabled {
        return Ok(None);
    }
    if reaping == Reaping::AsSubreaper {
        become_subreaper()?;
    }
    // Subscribe before the first sweep, so a child that ends in between
    // still raises a signal we will see.
    let mut sigchld = signal(SignalKind::child())?;
    Ok(Some(tokio::spawn(async move {
        loop {
            reap_exited_children();
            if sigchld.recv().await.is_none() {
                break;
            }
        }
    })))
}

pub fn become_subreaper() -> io::Result<()> {
    rustix::process::set_child_subreaper(Some(rustix::process::getpid())).map_err(io::Error::from)
}

/// Collects every child that has ended, without blocking; returns how many.
/// SIGCHLD is not queued (several exits may raise one signal), hence the loop.
pub fn reap_exited_children() -> usize {
    let mut reaped = 0;
    loop {
        match rustix::process::wait(WaitOptions::NOHANG) {
            Ok(Some((pid, status))) => {
                reaped += 1;
                tracing::debug!(pid = pid.as_raw_nonzero().get(), status = %describe(status), "reaped child");
            }
            // Children exist but none has ended, or there are none at all.
            Ok(None) | Err(Errno::CHILD) => return reaped,
            Err(Errno::INTR) => continue,
            Err(err) => {
                tracing::warn!(error = %err, "waiting for children failed");
                return reaped;
            }
        }
    }
}
// ANCHOR_END: reap_loop

fn describe(status: WaitStatus) -> String {
    if let Some(code) = status.exit_status() {
        format!("exited with {code}")
    } else if let Some(signal) = status.terminating_signal() {
        format!("killed by signal {signal}")
    } else {
        format!("{status:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r9_reaping_is_on_for_pid1_and_switchable_off() {
        assert_eq!(Reaping::decide(ReapZombies::Auto, true), Reaping::AsInit);
        assert_eq!(Reaping::decide(ReapZombies::Off, true), Reaping::Disabled);
        assert_eq!(Reaping::decide(ReapZombies::Auto, false), Reaping::Disabled);
        assert_eq!(
            Reaping::decide(ReapZombies::On, false),
            Reaping::AsSubreaper
        );
    }
}
