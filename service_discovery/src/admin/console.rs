//! `service_discovery console`: the service plus the admin prompt on this
//! process's own terminal (`docker run -ti IMAGE console`).

use std::io::IsTerminal;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::{Admin, PROMPT};

/// Reads commands from stdin until `quit` or end of input. Either way only
/// the prompt ends: the service keeps running until it is signalled, so a
/// container started without `-i` (stdin closed at once) still serves.
pub async fn run(admin: Admin) {
    let interactive = std::io::stdin().is_terminal();
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut stdout = tokio::io::stdout();
    loop {
        if interactive {
            let _ = stdout.write_all(PROMPT.as_bytes()).await;
            let _ = stdout.flush().await;
        }
        let line = match lines.next_line().await {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(err) => {
                tracing::warn!(error = %err, "console input failed");
                break;
            }
        };
        let reply = admin.execute(&line).await;
        if !reply.output.is_empty() {
            let _ = stdout
                .write_all(format!("{}\n", reply.output).as_bytes())
                .await;
            let _ = stdout.flush().await;
        }
        if reply.quit {
            break;
        }
    }
    tracing::info!("console closed; the service keeps running");
}
