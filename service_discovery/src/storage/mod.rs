//! The storage boundary: every protocol goes through [`Storage`], never a
//! backend directly, so the same HTTP, gRPC and DNS code runs on memory and
//! PostgreSQL alike, and one contract suite checks every backend.

#[cfg(any(test, feature = "storage-contract"))]
pub mod contract;
mod memory;
pub mod postgres;

use std::sync::Arc;

pub use memory::MemoryStorage;
pub use postgres::PostgresStorage;

use crate::model::{Endpoint, NamedPorts, Service, ServiceId, ServiceName};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    #[error("service {0} not found")]
    NotFound(ServiceName),
    #[error("service {0} already exists")]
    AlreadyExists(ServiceName),
    /// The backend cannot be reached; callers answer 503 / UNAVAILABLE and
    /// readiness fails until it returns.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

pub type StorageResult<T> = Result<T, StorageError>;

#[async_trait::async_trait]
pub trait Storage: Send + Sync + 'static {
    /// Short backend name shown by `status` (`memory`, `postgres`).
    fn backend(&self) -> &'static str;

    /// Cheap round trip used by readiness.
    async fn ping(&self) -> StorageResult<()>;

    async fn create_service(&self, service: Service) -> StorageResult<ServiceId>;
    async fn get_service(&self, name: &ServiceName) -> StorageResult<Service>;
    async fn list_services(&self) -> StorageResult<Vec<Service>>;
    /// Adds or replaces the given named ports; other ports are kept.
    async fn add_named_ports(&self, name: &ServiceName, ports: NamedPorts) -> StorageResult<()>;
    /// Registers an address; registering the same address again replaces
    /// its tags rather than adding a duplicate.
    async fn register_endpoint(&self, endpoint: Endpoint) -> StorageResult<()>;
    async fn lookup_endpoints(&self, name: &ServiceName) -> StorageResult<Vec<Endpoint>>;
}

pub type SharedStorage = Arc<dyn Storage>;
