//! The PostgreSQL backend: the original service's storage, for running many
//! stateless replicas on one database.
//!
//! - Nothing is connected when the store is opened: the service starts
//!   whether or not the database answers, `/ready` reports it, and the pool
//!   connects again by itself once the database is back.
//! - Every call is bounded in time, so a database that hangs (paused,
//!   partitioned) turns into a 503 within seconds rather than stuck requests.
//! - Every lookup is one statement, prepared once per connection: one round
//!   trip. Every write is one statement too, so PostgreSQL applies all of it
//!   or none of it; a failed registration leaves nothing behind.
//! - The schema comes from [`migrate`], run by `service_discovery migrate`
//!   before the service starts; readiness fails until it has run.

mod connection;
mod errors;
pub mod migrate;
mod queries;
mod rows;

use std::time::Duration;

use deadpool_postgres::Pool;

use self::connection::Bounded;
use self::errors::{ErrorContext, unavailable};
use super::{Storage, StorageError, StorageResult};
use crate::config::DatabaseConfig;
use crate::model::{Endpoint, NamedPorts, Service, ServiceId, ServiceName};

pub use self::connection::{ConnectFailure, connect_once};

/// The time one storage call may take, connection included.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Readiness is probed often and by clients with short timeouts of their own
/// (Docker's health check gives 3 s): it answers sooner.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

pub struct PostgresStorage {
    pool: Pool,
    context: ErrorContext,
}

impl PostgresStorage {
    /// Prepares the connection pool; no connection is made before the first call.
    pub fn open(config: &DatabaseConfig) -> Self {
        Self {
            pool: connection::pool(config),
            context: ErrorContext::for_server(config),
        }
    }

    fn bounded(&self, limit: Duration) -> Bounded<'_> {
        Bounded::new(&self.pool, &self.context, limit)
    }
}

#[async_trait::async_trait]
impl Storage for PostgresStorage {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> StorageResult<()> {
        let context = &self.context;
        let migrated = self
            .bounded(PING_TIMEOUT)
            .run(async |client| {
                let statement = client.prepare_cached(queries::SCHEMA_IS_CURRENT).await?;
                let row = client
                    .query_one(&statement, &[&migrate::required_version()])
                    .await?;
                Ok(row.get::<_, bool>(0))
            })
            .await?;
        if migrated {
            Ok(())
        } else {
            Err(unavailable(context.schema_behind()))
        }
    }

    async fn create_service(&self, service: Service) -> StorageResult<ServiceId> {
        let ports = rows::PortColumns::from(&service.named_ports);
        let name = service.name.clone();
        self.bounded(CALL_TIMEOUT)
            .run_or(
                async |client| {
                    let statement = client.prepare_cached(queries::CREATE_SERVICE).await?;
                    let row = client
                        .query_one(
                            &statement,
                            &[
                                &service.name.as_str(),
                                &tokio_postgres::types::Json(&service.attributes),
                                &ports.names,
                                &ports.protocols,
                                &ports.numbers,
                            ],
                        )
                        .await?;
                    Ok(row.get::<_, ServiceId>(0))
                },
                |err| errors::is_unique_violation(err).then_some(StorageError::AlreadyExists(name)),
            )
            .await
    }

    async fn get_service(&self, name: &ServiceName) -> StorageResult<Service> {
        let row = self
            .bounded(CALL_TIMEOUT)
            .run(async |client| {
                let statement = client.prepare_cached(queries::GET_SERVICE).await?;
                client.query_opt(&statement, &[&name.as_str()]).await
            })
            .await?;
        match row {
            Some(row) => rows::service(&row),
            None => Err(StorageError::NotFound(name.clone())),
        }
    }

    async fn list_services(&self) -> StorageResult<Vec<Service>> {
        let rows = self
            .bounded(CALL_TIMEOUT)
            .run(async |client| {
                let statement = client.prepare_cached(queries::LIST_SERVICES).await?;
                client.query(&statement, &[]).await
            })
            .await?;
        rows.iter().map(rows::service).collect()
    }

    async fn add_named_ports(&self, name: &ServiceName, ports: NamedPorts) -> StorageResult<()> {
        let ports = rows::PortColumns::from(&ports);
        let found = self
            .bounded(CALL_TIMEOUT)
            .run(async |client| {
                let statement = client.prepare_cached(queries::ADD_NAMED_PORTS).await?;
                let rows = client
                    .query(
                        &statement,
                        &[
                            &name.as_str(),
                            &ports.names,
                            &ports.protocols,
                            &ports.numbers,
                        ],
                    )
                    .await?;
                Ok(!rows.is_empty())
            })
            .await?;
        found
            .then_some(())
            .ok_or_else(|| StorageError::NotFound(name.clone()))
    }

    async fn register_endpoint(&self, endpoint: Endpoint) -> StorageResult<()> {
        let registered = self
            .bounded(CALL_TIMEOUT)
            .run(async |client| {
                let statement = client.prepare_cached(queries::REGISTER_ENDPOINT).await?;
                let count = client
                    .execute(
                        &statement,
                        &[
                            &endpoint.service_name.as_str(),
                            &endpoint.ip,
                            &endpoint.tags,
                        ],
                    )
                    .await?;
                Ok(count > 0)
            })
            .await?;
        registered
            .then_some(())
            .ok_or_else(|| StorageError::NotFound(endpoint.service_name.clone()))
    }

    async fn lookup_endpoints(&self, name: &ServiceName) -> StorageResult<Vec<Endpoint>> {
        let rows = self
            .bounded(CALL_TIMEOUT)
            .run(async |client| {
                let statement = client.prepare_cached(queries::LOOKUP_ENDPOINTS).await?;
                client.query(&statement, &[&name.as_str()]).await
            })
            .await?;
        if rows.is_empty() {
            return Err(StorageError::NotFound(name.clone()));
        }
        rows::endpoints(name, &rows)
    }
}
