//! Storage doubles and fixtures shared by the gRPC and DNS front-end tests.

#![allow(dead_code)] // each test crate uses its own subset

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use service_discovery::model::{
    Endpoint, NamedPort, NamedPorts, Port, Protocol, Service, ServiceId, ServiceName,
};
use service_discovery::storage::{
    MemoryStorage, SharedStorage, Storage, StorageError, StorageResult,
};

pub fn name(raw: &str) -> ServiceName {
    ServiceName::parse(raw).expect("valid service name in test")
}

/// `webapp` with the named port `http` (tcp 8000) and one IPv4 and one IPv6
/// endpoint: the example of the original README.
pub async fn seeded_storage() -> SharedStorage {
    let storage: SharedStorage = Arc::new(MemoryStorage::new());
    let mut ports = NamedPorts::new();
    ports.insert(
        "http".into(),
        NamedPort {
            protocol: Protocol::Tcp,
            port: Port::new(8000).unwrap(),
        },
    );
    storage
        .create_service(Service {
            name: name("webapp"),
            attributes: BTreeMap::from([("team".into(), "web".into())]),
            named_ports: ports,
        })
        .await
        .unwrap();
    for ip in ["127.0.0.1", "::1"] {
        storage
            .register_endpoint(Endpoint {
                service_name: name("webapp"),
                ip: ip.parse().unwrap(),
                tags: vec!["blue".into()],
            })
            .await
            .unwrap();
    }
    storage
}

/// A backend whose database is gone: every call fails as unavailable.
pub struct UnreachableStorage;

impl UnreachableStorage {
    pub fn shared() -> SharedStorage {
        Arc::new(Self)
    }

    fn down<T>() -> StorageResult<T> {
        Err(StorageError::Unavailable("connection refused".into()))
    }
}

#[async_trait::async_trait]
impl Storage for UnreachableStorage {
    fn backend(&self) -> &'static str {
        "unreachable"
    }
    async fn ping(&self) -> StorageResult<()> {
        Self::down()
    }
    async fn create_service(&self, _: Service) -> StorageResult<ServiceId> {
        Self::down()
    }
    async fn get_service(&self, _: &ServiceName) -> StorageResult<Service> {
        Self::down()
    }
    async fn list_services(&self) -> StorageResult<Vec<Service>> {
        Self::down()
    }
    async fn add_named_ports(&self, _: &ServiceName, _: NamedPorts) -> StorageResult<()> {
        Self::down()
    }
    async fn register_endpoint(&self, _: Endpoint) -> StorageResult<()> {
        Self::down()
    }
    async fn lookup_endpoints(&self, _: &ServiceName) -> StorageResult<Vec<Endpoint>> {
        Self::down()
    }
}

/// Memory storage whose `get_service` takes `delay`: a request that is
/// reliably still in flight when a test starts shutting down.
pub struct SlowStorage {
    inner: MemoryStorage,
    delay: Duration,
}

impl SlowStorage {
    pub fn shared(inner: MemoryStorage, delay: Duration) -> SharedStorage {
        Arc::new(Self { inner, delay })
    }
}

#[async_trait::async_trait]
impl Storage for SlowStorage {
    fn backend(&self) -> &'static str {
        "slow-memory"
    }
    async fn ping(&self) -> StorageResult<()> {
        self.inner.ping().await
    }
    async fn create_service(&self, service: Service) -> StorageResult<ServiceId> {
        self.inner.create_service(service).await
    }
    async fn get_service(&self, name: &ServiceName) -> StorageResult<Service> {
        tokio::time::sleep(self.delay).await;
        self.inner.get_service(name).await
    }
    async fn list_services(&self) -> StorageResult<Vec<Service>> {
        self.inner.list_services().await
    }
    async fn add_named_ports(&self, name: &ServiceName, ports: NamedPorts) -> StorageResult<()> {
        self.inner.add_named_ports(name, ports).await
    }
    async fn register_endpoint(&self, endpoint: Endpoint) -> StorageResult<()> {
        self.inner.register_endpoint(endpoint).await
    }
    async fn lookup_endpoints(&self, name: &ServiceName) -> StorageResult<Vec<Endpoint>> {
        self.inner.lookup_endpoints(name).await
    }
}

/// Memory storage that can be taken down and brought back, like a database
/// restarting under a running service.
pub struct SwitchableStorage {
    inner: MemoryStorage,
    down: std::sync::atomic::AtomicBool,
}

impl SwitchableStorage {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            inner: MemoryStorage::new(),
            down: Default::default(),
        })
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, std::sync::atomic::Ordering::SeqCst);
    }

    fn check(&self) -> StorageResult<()> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            Err(StorageError::Unavailable("connection refused".into()))
        } else {
            Ok(())
        }
    }
}

#[async_trait::async_trait]
impl Storage for SwitchableStorage {
    fn backend(&self) -> &'static str {
        "switchable-memory"
    }
    async fn ping(&self) -> StorageResult<()> {
        self.check()
    }
    async fn create_service(&self, service: Service) -> StorageResult<ServiceId> {
        self.check()?;
        self.inner.create_service(service).await
    }
    async fn get_service(&self, name: &ServiceName) -> StorageResult<Service> {
        self.check()?;
        self.inner.get_service(name).await
    }
    async fn list_services(&self) -> StorageResult<Vec<Service>> {
        self.check()?;
        self.inner.list_services().await
    }
    async fn add_named_ports(&self, name: &ServiceName, ports: NamedPorts) -> StorageResult<()> {
        self.check()?;
        self.inner.add_named_ports(name, ports).await
    }
    async fn register_endpoint(&self, endpoint: Endpoint) -> StorageResult<()> {
        self.check()?;
        self.inner.register_endpoint(endpoint).await
    }
    async fn lookup_endpoints(&self, name: &ServiceName) -> StorageResult<Vec<Endpoint>> {
        self.check()?;
        self.inner.lookup_endpoints(name).await
    }
}
