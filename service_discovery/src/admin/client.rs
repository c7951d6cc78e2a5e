//! The client side of the control socket: `remote_console` and `ping`.
//! Blocking std I/O on purpose: these are short-lived commands, and `ping`
//! runs every few seconds as a health check, so it starts no runtime.

use std::io::{self, BufRead, BufReader, IsTerminal, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};

use super::{PROMPT, Reply};

/// How long `ping` waits for the answer before declaring the instance dead.
pub const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Commands like `status` read the store, which may be remote and slow.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Connection {
    path: PathBuf,
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Connection {
    pub fn open(path: &Path, timeout: Duration) -> Result<Self> {
        let stream = UnixStream::connect(path).map_err(|err| {
            anyhow!(
                "cannot reach {} at {}: {err} (is it running, with the same RUNTIME_DIR?)",
                crate::NAME,
                path.display()
            )
        })?;
        let setup = |stream: &UnixStream| {
            stream.set_read_timeout(Some(timeout))?;
            stream.set_write_timeout(Some(timeout))?;
            stream.try_clone()
        };
        let writer = setup(&stream).map_err(|err| anyhow!("control socket: {err}"))?;
        Ok(Self {
            path: path.to_owned(),
            reader: BufReader::new(stream),
            writer,
        })
    }

    /// Sends one command line and waits for its reply.
    pub fn send(&mut self, command: &str) -> Result<Reply> {
        let fail = |err: io::Error| {
            anyhow!(
                "{} at {} stopped answering: {err}",
                crate::NAME,
                self.path.display()
            )
        };
        let line = command.replace('\n', " ");
        self.writer
            .write_all(format!("{line}\n").as_bytes())
            .map_err(fail)?;
        let mut answer = String::new();
        let read = self.reader.read_line(&mut answer).map_err(fail)?;
        if read == 0 {
            return Err(fail(io::ErrorKind::UnexpectedEof.into()));
        }
        serde_json::from_str(&answer)
            .map_err(|err| anyhow!("unexpected answer from the control socket: {err}"))
    }
}

/// Succeeds iff the instance behind `path` answers `pong` in time.
pub fn ping(path: &Path) -> Result<()> {
    let reply = Connection::open(path, PING_TIMEOUT)?.send("ping")?;
    if reply.output == "pong" {
        Ok(())
    } else {
        bail!("unexpected answer to ping: {:?}", reply.output)
    }
}

/// Runs the admin prompt against the instance behind `path` until `quit`
/// or end of input. Leaving never affects the instance.
pub fn remote_console(path: &Path) -> Result<()> {
    let mut connection = Connection::open(path, COMMAND_TIMEOUT)?;
    let interactive = io::stdin().is_terminal();
    let mut stdout = io::stdout().lock();
    if interactive {
        let _ = writeln!(
            stdout,
            "connected to {} at {}; type help for commands, quit to leave",
            crate::NAME,
            path.display()
        );
    }
    let mut lines = io::stdin().lock().lines();
    loop {
        if interactive {
            let _ = write!(stdout, "{PROMPT}");
            let _ = stdout.flush();
        }
        let Some(line) = lines.next() else { break };
        let line = line.context("reading the terminal")?;
        if line.trim().is_empty() {
            continue;
        }
        let reply = connection.send(&line)?;
        if !reply.output.is_empty() {
            let _ = writeln!(stdout, "{}", reply.output);
        }
        if reply.quit {
            break;
        }
    }
    Ok(())
}
