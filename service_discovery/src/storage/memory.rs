//! The embedded default backend, so `docker run IMAGE` works with nothing
//! else running. One lock over the whole map keeps every write atomic.

use std::collections::BTreeMap;

use tokio::sync::RwLock;

use super::{Storage, StorageError, StorageResult};
use crate::model::{Endpoint, NamedPorts, Service, ServiceId, ServiceName};

#[derive(Default)]
pub struct MemoryStorage {
    services: RwLock<BTreeMap<ServiceName, Entry>>,
}

struct Entry {
    service: Service,
    endpoints: Vec<Endpoint>,
}

impl MemoryStorage {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait::async_trait]
impl Storage for MemoryStorage {
    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn ping(&self) -> StorageResult<()> {
        Ok(())
    }

    async fn create_service(&self, service: Service) -> StorageResult<ServiceId> {
        let mut services = self.services.write().await;
        if services.contains_key(&service.name) {
            return Err(StorageError::AlreadyExists(service.name));
        }
        services.insert(
            service.name.clone(),
            Entry {
                service,
                endpoints: Vec::new(),
            },
        );
        Ok(uuid::Uuid::new_v4())
    }

    async fn get_service(&self, name: &ServiceName) -> StorageResult<Service> {
        let services = self.services.read().await;
        services
            .get(name)
            .map(|e| e.service.clone())
            .ok_or_else(|| StorageError::NotFound(name.clone()))
    }

    async fn list_services(&self) -> StorageResult<Vec<Service>> {
        let services = self.services.read().await;
        Ok(services.values().map(|e| e.service.clone()).collect())
    }

    async fn add_named_ports(&self, name: &ServiceName, ports: NamedPorts) -> StorageResult<()> {
        let mut services = self.services.write().await;
        let entry = services
            .get_mut(name)
            .ok_or_else(|| StorageError::NotFound(name.clone()))?;
        entry.service.named_ports.extend(ports);
        Ok(())
    }

    async fn register_endpoint(&self, endpoint: Endpoint) -> StorageResult<()> {
        let mut services = self.services.write().await;
        let entry = services
            .get_mut(&endpoint.service_name)
            .ok_or_else(|| StorageError::NotFound(endpoint.service_name.clone()))?;
        match entry.endpoints.iter_mut().find(|e| e.ip == endpoint.ip) {
            Some(existing) => existing.tags = endpoint.tags,
            None => entry.endpoints.push(endpoint),
        }
        Ok(())
    }

    async fn lookup_endpoints(&self, name: &ServiceName) -> StorageResult<Vec<Endpoint>> {
        let services = self.services.read().await;
        services
            .get(name)
            .map(|e| e.endpoints.clone())
            .ok_or_else(|| StorageError::NotFound(name.clone()))
    }
}
