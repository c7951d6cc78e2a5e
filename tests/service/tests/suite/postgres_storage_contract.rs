//! The storage contract against PostgreSQL in the mirrored image: the same
//! case bodies the memory store passes as unit tests
//! (`service_discovery::storage::contract`), each on a fresh, migrated
//! database of one container.

use std::sync::Arc;

use anyhow::{Result, anyhow};
use integration_suite::engine::host::host;
use service_discovery::storage::contract::CASES;
use service_discovery::storage::postgres::{connect_once, migrate};
use service_discovery::storage::{PostgresStorage, SharedStorage};
use service_suite::postgres_image::RunningPostgres;

#[tokio::test(flavor = "multi_thread")]
async fn postgres_passes_the_storage_contract() -> Result<()> {
    let host = host().await;
    let postgres = RunningPostgres::start(&host.base_images().postgres).await?;

    let mut failures = Vec::new();
    for (index, case) in CASES.iter().enumerate() {
        let database = format!("contract_{index}");
        postgres.create_database(&database).await?;
        let config = postgres.service_config(&database).await?;
        let mut client = connect_once(&config)
            .await
            .map_err(|failure| anyhow!(failure.message))?;
        migrate::run(&mut client).await?;
        let store: SharedStorage = Arc::new(PostgresStorage::open(&config));
        // A task of its own, so a failed case is reported by name and the
        // others still run.
        if let Err(failure) = tokio::spawn((case.run)(store)).await {
            failures.push(format!("{}: {}", case.name, panic_message(failure)));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} contract cases failed on PostgreSQL:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
    Ok(())
}

fn panic_message(failure: tokio::task::JoinError) -> String {
    match failure.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panicked".into()),
        Err(failure) => failure.to_string(),
    }
}
