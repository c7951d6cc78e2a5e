//! The mirrored PostgreSQL image (built offline from Debian's packages)
//! keeps the official image's contract that compose files and Kubernetes
//! manifests rely on: POSTGRES_USER, POSTGRES_PASSWORD or
//! POSTGRES_PASSWORD_FILE, POSTGRES_DB, a data volume, `pg_isready`.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use anyhow::{Context, Result};
use integration_suite::engine::host::host;
use service_suite::postgres_image::{MirroredPostgres, POSTGRES_PORT, unique_password};
use testcontainers::core::wait::ExitWaitStrategy;
use testcontainers::core::{ExecCommand, Mount, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, ImageExt};
use tokio_postgres::error::SqlState;

const DATA_DIRECTORY: &str = "/var/lib/postgresql/data";

async fn login(
    container: &ContainerAsync<MirroredPostgres>,
    user: &str,
    password: &str,
    database: &str,
) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let port = container
        .get_host_port_ipv4(POSTGRES_PORT)
        .await
        .expect("the port is published");
    let (client, connection) = tokio_postgres::Config::new()
        .host("127.0.0.1")
        .port(port)
        .user(user)
        .password(password)
        .dbname(database)
        .connect_timeout(Duration::from_secs(5))
        .connect(tokio_postgres::NoTls)
        .await?;
    tokio::spawn(connection);
    Ok(client)
}

#[tokio::test(flavor = "multi_thread")]
async fn mirrored_postgres_keeps_the_official_image_contract() -> Result<()> {
    let host = host().await;
    let pinned = &host.base_images().postgres;

    // The password from a file (a secret), user and database of our choice.
    let password = unique_password();
    let secrets = tempfile::tempdir()?;
    let secret = secrets.path().join("password");
    std::fs::write(&secret, format!("{password}\n"))?;
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600))?;
    let container = MirroredPostgres::pinned(pinned, "unused")
        .with_setting("POSTGRES_PASSWORD", None)
        .with_setting("POSTGRES_PASSWORD_FILE", Some("/run/secrets/password"))
        .with_setting("POSTGRES_USER", Some("alice"))
        .with_setting("POSTGRES_DB", Some("inventory"))
        .request()
        .with_mount(Mount::bind_mount(
            secret.display().to_string(),
            "/run/secrets/password",
        ))
        .start()
        .await?;

    let client = login(&container, "alice", &password, "inventory").await?;
    let row = client
        .query_one("SELECT current_user::text, current_database()::text", &[])
        .await?;
    assert_eq!(
        (row.get::<_, String>(0), row.get::<_, String>(1)),
        ("alice".into(), "inventory".into())
    );
    let Err(refused) = login(&container, "alice", "wrong", "inventory").await else {
        panic!("a wrong password must be refused");
    };
    assert_eq!(refused.code(), Some(&SqlState::INVALID_PASSWORD));

    let mut ready = container
        .exec(ExecCommand::new([
            "pg_isready",
            "--host=127.0.0.1",
            "--username=alice",
            "--dbname=inventory",
        ]))
        .await?;
    let said = String::from_utf8(ready.stdout_to_vec().await?)?;
    assert_eq!(ready.exit_code().await?, Some(0), "{said}");
    assert_eq!(said.trim(), "127.0.0.1:5432 - accepting connections");

    // The data directory is a volume, so data outlives the container.
    let image = host
        .docker()
        .inspect_image(&pinned.reference)
        .await
        .context("inspecting the mirrored image")?;
    let volumes = image
        .config
        .and_then(|config| config.volumes)
        .unwrap_or_default();
    assert!(volumes.contains(&DATA_DIRECTORY.to_owned()), "{volumes:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn mirrored_postgres_without_a_password_stops_saying_so() -> Result<()> {
    let host = host().await;
    let container = MirroredPostgres::pinned(&host.base_images().postgres, "unused")
        .with_setting("POSTGRES_PASSWORD", None)
        .request()
        .with_ready_conditions(vec![WaitFor::exit(
            ExitWaitStrategy::new().with_exit_code(1),
        )])
        .start()
        .await?;
    let stderr = String::from_utf8(container.stderr_to_vec().await?)?;
    assert_eq!(
        stderr.trim_end(),
        "error: the database is uninitialised and POSTGRES_PASSWORD is not set: \
         set it (or POSTGRES_HOST_AUTH_METHOD=trust for throwaway test databases)"
    );
    Ok(())
}
