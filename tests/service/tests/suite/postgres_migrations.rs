//! `service_discovery migrate`'s engine against the mirrored PostgreSQL:
//! idempotent, safe from several replicas at once, all or nothing per
//! migration, and refusing migrations edited after they were applied.

use std::sync::Arc;

use anyhow::{Result, anyhow};
use integration_suite::engine::host::host;
use service_discovery::storage::postgres::migrate::{self, MIGRATIONS, Migration};
use service_discovery::storage::postgres::{ConnectFailure, connect_once};
use service_discovery::storage::{PostgresStorage, Storage, StorageError};
use service_suite::postgres_image::RunningPostgres;

async fn fresh_database(postgres: &RunningPostgres, name: &str) -> Result<tokio_postgres::Client> {
    postgres.create_database(name).await?;
    let config = postgres.service_config(name).await?;
    connect_once(&config)
        .await
        .map_err(|ConnectFailure { message, .. }| anyhow!(message))
}

async fn recorded_versions(client: &tokio_postgres::Client) -> Result<Vec<i64>> {
    Ok(client
        .query(
            "SELECT version FROM schema_migrations ORDER BY version",
            &[],
        )
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect())
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_migrations_behave() -> Result<()> {
    let host = host().await;
    let postgres = RunningPostgres::start(&host.base_images().postgres).await?;
    // One container, a database per scenario: starting PostgreSQL is the
    // slow part.
    migrate_is_idempotent(&postgres).await?;
    concurrent_migrations_apply_each_step_once(&postgres).await?;
    edited_migration_is_refused(&postgres).await?;
    failed_migration_leaves_nothing_behind(&postgres).await?;
    service_is_not_ready_until_migrated(&postgres).await?;
    Ok(())
}

async fn migrate_is_idempotent(postgres: &RunningPostgres) -> Result<()> {
    let mut client = fresh_database(postgres, "idempotent").await?;
    let all: Vec<i64> = MIGRATIONS.iter().map(|m| m.version).collect();

    let first = migrate::run(&mut client).await?;
    assert_eq!(first.applied, all);
    assert_eq!(first.version, migrate::required_version());

    let second = migrate::run(&mut client).await?;
    assert!(
        second.applied.is_empty(),
        "second run applied {:?}",
        second.applied
    );
    assert_eq!(second.version, migrate::required_version());
    assert_eq!(recorded_versions(&client).await?, all);
    Ok(())
}

async fn concurrent_migrations_apply_each_step_once(postgres: &RunningPostgres) -> Result<()> {
    const REPLICAS: usize = 6;
    let observer = fresh_database(postgres, "concurrent").await?;
    let config = Arc::new(postgres.service_config("concurrent").await?);
    let replicas: Vec<_> = (0..REPLICAS)
        .map(|_| {
            let config = config.clone();
            tokio::spawn(async move {
                let mut client = connect_once(&config)
                    .await
                    .map_err(|failure| anyhow!(failure.message))?;
                Ok::<_, anyhow::Error>(migrate::run(&mut client).await?)
            })
        })
        .collect();
    let mut applied = Vec::new();
    for replica in replicas {
        applied.extend(replica.await??.applied);
    }
    applied.sort();
    let all: Vec<i64> = MIGRATIONS.iter().map(|m| m.version).collect();
    assert_eq!(
        applied, all,
        "each migration applied by exactly one replica"
    );
    assert_eq!(recorded_versions(&observer).await?, all);
    Ok(())
}

async fn edited_migration_is_refused(postgres: &RunningPostgres) -> Result<()> {
    let mut client = fresh_database(postgres, "edited").await?;
    migrate::run(&mut client).await?;
    client
        .execute(
            "UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1",
            &[],
        )
        .await?;
    let refused = migrate::run(&mut client).await.unwrap_err().to_string();
    assert!(
        refused
            .starts_with("migration 1 (services_ports_endpoints) was changed after it was applied"),
        "{refused}"
    );
    Ok(())
}

/// A first step that works and a second that fails after doing some work.
static BROKEN: &[Migration] = &[
    Migration {
        version: 1,
        name: "first",
        sql: "CREATE TABLE first_step (id int)",
    },
    Migration {
        version: 2,
        name: "second",
        sql: "CREATE TABLE half_done (id int); SELECT 1 / 0;",
    },
];

async fn failed_migration_leaves_nothing_behind(postgres: &RunningPostgres) -> Result<()> {
    let mut client = fresh_database(postgres, "broken").await?;
    let failed = migrate::run_migrations(&mut client, BROKEN)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        failed,
        "migration 2 (second) failed, nothing of it was applied: division by zero"
    );
    assert_eq!(recorded_versions(&client).await?, [1]);
    let tables: Vec<String> = client
        .query(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = 'public' ORDER BY 1",
            &[],
        )
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(tables, ["first_step", "schema_migrations"]);
    // The lock was released on failure: another run gets it at once.
    let again = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        migrate::run_migrations(&mut client, BROKEN),
    )
    .await
    .expect("the advisory lock is free after a failed run");
    assert!(again.is_err());
    Ok(())
}

async fn service_is_not_ready_until_migrated(postgres: &RunningPostgres) -> Result<()> {
    let mut client = fresh_database(postgres, "unmigrated").await?;
    let store = PostgresStorage::open(&postgres.service_config("unmigrated").await?);

    let Err(StorageError::Unavailable(why)) = store.ping().await else {
        panic!("an empty database is not ready");
    };
    assert!(
        why.ends_with("has no schema yet: run `service_discovery migrate`"),
        "{why}"
    );
    let Err(StorageError::Unavailable(why)) = store.list_services().await else {
        panic!("requests fail on an empty database");
    };
    assert!(why.contains("run `service_discovery migrate`"), "{why}");

    // Only the first step: the schema is behind what the service needs.
    migrate::run_migrations(&mut client, &MIGRATIONS[..1]).await?;
    let Err(StorageError::Unavailable(why)) = store.ping().await else {
        panic!("a schema behind the build is not ready");
    };
    assert!(why.contains("is older than this build"), "{why}");

    migrate::run(&mut client).await?;
    store.ping().await?;
    assert_eq!(store.list_services().await?, Vec::new());
    Ok(())
}
