//! Readiness is the first thing to change on shutdown: load balancers and
//! Kubernetes stop sending traffic before any listener closes.

use tokio::sync::watch;

use crate::storage::{SharedStorage, StorageError};

/// Shared view of "should traffic be sent here?", cheap to clone.
#[derive(Clone)]
pub struct Readiness {
    draining: watch::Sender<bool>,
    storage: SharedStorage,
}

/// Why the instance is not ready, shown in the 503 body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotReady {
    ShuttingDown,
    StorageUnavailable(String),
}

impl std::fmt::Display for NotReady {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotReady::ShuttingDown => f.write_str("shutting down"),
            NotReady::StorageUnavailable(why) => write!(f, "storage unavailable: {why}"),
        }
    }
}

impl Readiness {
    pub fn new(storage: SharedStorage) -> Self {
        Self {
            draining: watch::Sender::new(false),
            storage,
        }
    }

    /// Marks the instance as draining; irreversible.
    pub fn begin_shutdown(&self) {
        self.draining.send_replace(true);
    }

    pub fn is_shutting_down(&self) -> bool {
        *self.draining.borrow()
    }

    /// Resolves once shutdown has begun; for servers' graceful-stop futures.
    pub async fn shutting_down(&self) {
        let mut rx = self.draining.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = rx.wait_for(|draining| *draining).await;
    }

    /// Full check used by `/ready` and the gRPC health service.
    pub async fn check(&self) -> Result<(), NotReady> {
        if self.is_shutting_down() {
            return Err(NotReady::ShuttingDown);
        }
        self.storage.ping().await.map_err(|e| match e {
            // Keeps the reason alone: Display adds "storage unavailable".
            StorageError::Unavailable(why) => NotReady::StorageUnavailable(why),
            other => NotReady::StorageUnavailable(other.to_string()),
        })
    }

    pub fn storage(&self) -> &SharedStorage {
        &self.storage
    }
}
