//! The control socket: a Unix socket in `RUNTIME_DIR` that `remote_console`
//! and `ping` connect to. It is the only file the service creates, which
//! is why a read-only root filesystem with a tmpfs on `/tmp` is enough.
//!
//! Protocol: the client sends one command per line; the service answers
//! each with one JSON line, an [`admin::Reply`](crate::admin::Reply).

use std::future::Future;
use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use anyhow::{Result, anyhow, bail};

use super::{Admin, Reply};

/// Longest command line accepted; admin commands are a few words.
const MAX_LINE: u64 = 4096;

pub struct ControlSocket {
    listener: UnixListener,
    file: SocketFile,
}

impl ControlSocket {
    /// Binds `path`, replacing a stale socket left by an instance that was
    /// killed, but never one that still answers.
    pub fn bind(path: &Path) -> Result<Self> {
        let describe = |err: io::Error| {
            anyhow!(
                "cannot create the control socket {}: {err} (set RUNTIME_DIR to a writable directory)",
                path.display()
            )
        };
        match std::fs::symlink_metadata(path) {
            Ok(meta) if !meta.file_type().is_socket() => {
                bail!(
                    "{} exists and is not a socket; remove it or choose another RUNTIME_DIR",
                    path.display()
                );
            }
            Ok(_) => {
                if std::os::unix::net::UnixStream::connect(path).is_ok() {
                    bail!(
                        "another instance is already running with the control socket {}",
                        path.display()
                    );
                }
                std::fs::remove_file(path).map_err(describe)?;
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(describe(err)),
        }
        let listener = UnixListener::bind(path).map_err(describe)?;
        let file = SocketFile(path.to_owned());
        // The admin prompt can change the log level: only our own user
        // (the one `docker exec` runs as by default) may connect.
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(describe)?;
        Ok(Self { listener, file })
    }

    pub fn path(&self) -> &Path {
        &self.file.0
    }

    /// Answers connections until `stop` resolves; the socket file is
    /// removed when this returns.
    pub async fn serve(self, admin: Admin, stop: impl Future<Output = ()>) {
        let ControlSocket { listener, file } = self;
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        tokio::spawn(answer(admin.clone(), stream));
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "control socket accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                },
            }
        }
        drop(listener);
        drop(file);
    }
}

/// Removes the socket file when dropped. A killed process leaves it
/// behind; the next start replaces it (see [`ControlSocket::bind`]).
struct SocketFile(PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

async fn answer(admin: Admin, stream: UnixStream) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut line = String::new();
    loop {
        line.clear();
        let reply = match (&mut reader).take(MAX_LINE).read_line(&mut line).await {
            Ok(0) => return,
            Ok(_) if !line.ends_with('\n') && line.len() as u64 >= MAX_LINE => Reply {
                output: format!("command longer than {MAX_LINE} bytes; closing"),
                quit: true,
            },
            Ok(_) => admin.execute(line.trim_end()).await,
            Err(err) => {
                tracing::debug!(error = %err, "control socket read failed");
                return;
            }
        };
        let mut encoded = serde_json::to_vec(&reply).expect("replies serialise");
        encoded.push(b'\n');
        if write.write_all(&encoded).await.is_err() || reply.quit {
            return;
        }
    }
}
