//! SIGTERM and SIGINT, handled explicitly. As PID 1 of a container the
//! kernel applies no default action to them: without a handler,
//! `docker stop` would wait out its timeout and then SIGKILL the service.

use std::io;

use tokio::signal::unix::{Signal, SignalKind, signal};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownSignal {
    Terminate,
    Interrupt,
}

impl ShutdownSignal {
    pub fn name(self) -> &'static str {
        match self {
            ShutdownSignal::Terminate => "SIGTERM",
            ShutdownSignal::Interrupt => "SIGINT",
        }
    }

    /// Exit code when a second signal cuts the shutdown short, following
    /// the shell convention of 128 + signal number.
    pub fn forced_exit_code(self) -> i32 {
        match self {
            ShutdownSignal::Terminate => 128 + 15,
            ShutdownSignal::Interrupt => 128 + 2,
        }
    }
}

pub struct ShutdownSignals {
    terminate: Signal,
    interrupt: Signal,
}

// ANCHOR: handlers
impl ShutdownSignals {
    /// Installs the handlers; from here on the signals no longer kill the
    /// process but are delivered to [`ShutdownSignals::recv`].
    pub fn install() -> io::Result<Self> {
        Ok(Self {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    pub async fn recv(&mut self) -> ShutdownSignal {
        tokio::select! {
            _ = self.terminate.recv() => ShutdownSignal::Terminate,
            _ = self.interrupt.recv() => ShutdownSignal::Interrupt,
        }
    }
}
// ANCHOR_END: handlers
