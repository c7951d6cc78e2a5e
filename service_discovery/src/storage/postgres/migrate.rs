//! Schema migrations, embedded in the binary and applied by
//! `service_discovery migrate`: the job a Flyway container does for the
//! original service.
//!
//! - Idempotent: applied migrations are recorded in `schema_migrations` and
//!   skipped; running it on a current schema changes nothing.
//! - Safe from several replicas at once: the whole run holds a session-level
//!   advisory lock, so concurrent runs wait for each other and the later
//!   ones find nothing left to do.
//! - Each migration and its record commit together or not at all.
//! - A migration edited after it was applied is refused (checksums), since
//!   the schema it describes is not the one the database has.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};
use tokio_postgres::Client;

/// One step of the schema, from `service_discovery/migrations/`.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

impl Migration {
    /// Hex SHA-256 of the SQL text, recorded when the migration is applied.
    pub fn checksum(&self) -> String {
        Sha256::digest(self.sql.as_bytes()).iter().fold(
            String::with_capacity(64),
            |mut hex, byte| {
                let _ = write!(hex, "{byte:02x}");
                hex
            },
        )
    }
}

/// Every migration, in order. A new file in `migrations/` is added here; a
/// unit test checks that the two lists agree.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "services_ports_endpoints",
        sql: include_str!("../../../migrations/0001_services_ports_endpoints.sql"),
    },
    Migration {
        version: 2,
        name: "updated_at_trigger",
        sql: include_str!("../../../migrations/0002_updated_at_trigger.sql"),
    },
];

/// The schema version this build reads and writes.
pub const fn required_version() -> i64 {
    MIGRATIONS[MIGRATIONS.len() - 1].version
}

/// Key of the advisory lock every run takes: any fixed number, the same in
/// every build. These are the ASCII codes of "sd-migr".
const LOCK_KEY: i64 = 0x0073_642d_6d69_6772;

const CREATE_HISTORY: &str = "\
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     bigint      PRIMARY KEY,
    name        text        NOT NULL,
    checksum    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)";

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Versions applied by this run, in order; empty when already current.
    pub applied: Vec<i64>,
    /// The highest version recorded in the database after the run.
    pub version: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(
        "migration {version} ({name}) was changed after it was applied: restore it and add a new migration instead"
    )]
    Changed { version: i64, name: &'static str },
    #[error("migration {version} ({name}) failed, nothing of it was applied: {reason}")]
    Failed {
        version: i64,
        name: &'static str,
        reason: String,
    },
    #[error("{0}")]
    Database(String),
}

impl From<tokio_postgres::Error> for MigrateError {
    fn from(err: tokio_postgres::Error) -> Self {
        Self::Database(describe(&err))
    }
}

fn describe(err: &tokio_postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => super::errors::with_causes(err),
    }
}

/// Applies every pending migration of [`MIGRATIONS`].
pub async fn run(client: &mut Client) -> Result<Report, MigrateError> {
    run_migrations(client, MIGRATIONS).await
}

/// Applies `migrations`; public for the tests that check the locking and
/// the refusals with migrations of their own.
pub async fn run_migrations(
    client: &mut Client,
    migrations: &'static [Migration],
) -> Result<Report, MigrateError> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&LOCK_KEY])
        .await?;
    let outcome = apply_pending(client, migrations).await;
    // Closing the connection would release the lock too; unlocking keeps a
    // connection that lives on clean.
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY])
        .await;
    let report = outcome?;
    unlocked?;
    Ok(report)
}

async fn apply_pending(
    client: &mut Client,
    migrations: &'static [Migration],
) -> Result<Report, MigrateError> {
    client.batch_execute(CREATE_HISTORY).await?;
    let recorded: Vec<(i64, String)> = client
        .query("SELECT version, checksum FROM schema_migrations", &[])
        .await?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();

    let mut applied = Vec::new();
    for migration in migrations {
        match recorded
            .iter()
            .find(|(version, _)| *version == migration.version)
        {
            Some((_, checksum)) if *checksum == migration.checksum() => continue,
            Some(_) => {
                return Err(MigrateError::Changed {
                    version: migration.version,
                    name: migration.name,
                });
            }
            None => {}
        }
        apply(client, migration).await?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "migration applied"
        );
        applied.push(migration.version);
    }

    let version = client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            &[],
        )
        .await?
        .get(0);
    Ok(Report { applied, version })
}

async fn apply(client: &mut Client, migration: &Migration) -> Result<(), MigrateError> {
    let failed = |err: tokio_postgres::Error| MigrateError::Failed {
        version: migration.version,
        name: migration.name,
        reason: describe(&err),
    };
    let transaction = client.transaction().await?;
    transaction
        .batch_execute(migration.sql)
        .await
        .map_err(failed)?;
    transaction
        .execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            &[&migration.version, &migration.name, &migration.checksum()],
        )
        .await?;
    transaction.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_increase_from_one_without_gaps() {
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version, index as i64 + 1, "{}", migration.name);
        }
        assert_eq!(required_version(), MIGRATIONS.len() as i64);
    }

    #[test]
    fn every_file_in_the_migrations_folder_is_embedded() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        files.sort();
        let embedded: Vec<String> = MIGRATIONS
            .iter()
            .map(|m| format!("{:04}_{}.sql", m.version, m.name))
            .collect();
        assert_eq!(files, embedded);
        for migration in MIGRATIONS {
            let on_disk = std::fs::read_to_string(
                folder.join(format!("{:04}_{}.sql", migration.version, migration.name)),
            )
            .unwrap();
            assert_eq!(on_disk, migration.sql);
        }
    }

    #[test]
    fn checksums_are_hex_sha256_of_the_sql() {
        let migration = Migration {
            version: 1,
            name: "x",
            sql: "abc",
        };
        assert_eq!(
            migration.checksum(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
