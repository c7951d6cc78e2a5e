//! The processes of a container as its own `/proc` shows them, read with a
//! shell inside the container (so only for images that have one): enough
//! to count zombies, which is what PID 1's reaping is about.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use bollard::Docker;

use crate::containers::exec::exec_output;

const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Every process's stat line; processes that end while the glob is
/// expanded make cat complain, which is harmless here.
const READ_STAT: &str = "cat /proc/[0-9]*/stat 2>/dev/null; true";

/// One line of `/proc/PID/stat`, reduced to what the tests look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub pid: u32,
    /// The command name, at most 15 bytes (the kernel's `comm`).
    pub command: String,
    /// `R`, `S`, `D`, `Z`, ...
    pub state: char,
    pub parent: u32,
}

impl Process {
    pub fn is_zombie(&self) -> bool {
        self.state == 'Z'
    }
}

/// The processes running in `container` right now.
pub async fn processes(docker: &Docker, container: &str) -> Result<Vec<Process>> {
    let output = exec_output(
        docker,
        container,
        &["/bin/sh", "-c", READ_STAT],
        READ_TIMEOUT,
    )
    .await?;
    if output.exit_code != 0 {
        bail!(
            "reading /proc in {container} failed with exit code {}: {}",
            output.exit_code,
            output.stderr
        );
    }
    output.stdout.lines().map(parse_stat).collect()
}

/// The zombies among the processes of `container`.
pub async fn zombies(docker: &Docker, container: &str) -> Result<Vec<Process>> {
    Ok(processes(docker, container)
        .await?
        .into_iter()
        .filter(Process::is_zombie)
        .collect())
}

/// Parses `PID (COMM) STATE PPID ...`. The name may hold spaces and
/// parentheses, so it ends at the last `)`.
pub fn parse_stat(line: &str) -> Result<Process> {
    let parse = || -> Option<Process> {
        let (pid, rest) = line.split_once(" (")?;
        let (command, rest) = rest.rsplit_once(") ")?;
        let mut fields = rest.split_whitespace();
        let state = fields.next()?.chars().next()?;
        let parent = fields.next()?.parse().ok()?;
        Some(Process {
            pid: pid.parse().ok()?,
            command: command.to_owned(),
            state,
            parent,
        })
    };
    parse().with_context(|| format!("not a /proc/PID/stat line: {line:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_name_with_spaces_and_parentheses() {
        let process = parse_stat("42 (odd) name) Z 1 42 42 0 -1 4194560").unwrap();
        assert_eq!(
            process,
            Process {
                pid: 42,
                command: "odd) name".to_owned(),
                state: 'Z',
                parent: 1,
            }
        );
        assert!(process.is_zombie());
    }

    #[test]
    fn rejects_a_line_without_a_name() {
        assert!(parse_stat("42 Z 1").is_err());
    }
}
