//! The runner image with PostgreSQL that is missing, paused or stopped: the
//! service starts anyway, `/ready` and every request answer 503 naming the
//! database, and it recovers by itself when the database returns. A write
//! cut off by the outage is found whole or not at all.

use std::time::Duration;

use anyhow::{Result, anyhow};
use integration_suite::containers::service_container::HTTP_PORT;
use integration_suite::engine::host::host;
use reqwest::StatusCode;
use service_discovery::config::DatabaseConfig;
use service_discovery::storage::postgres::{connect_once, migrate};
use service_suite::postgres_image::{DATABASE, MirroredPostgres, USER, unique_password};
use service_suite::runner_image::{ServiceDiscoveryImage, address};
use service_suite::service_http::{get, put, wait_for_ready_status};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, ImageExt};

/// Longer than the service's own bounds (2 s for readiness, 5 s per call).
const NOTICE: Duration = Duration::from_secs(12);
const RECOVERY: Duration = Duration::from_secs(30);

const WEBAPP: &str =
    r#"{"name": "webapp", "named_ports": {"http": {"protocol": "tcp", "port": 8000}}}"#;
const DURING_OUTAGE: &str = r#"{"name": "during-outage", "attributes": {"a": "1"},
    "named_ports": {"http": {"protocol": "tcp", "port": 80}, "grpc": {"protocol": "tcp", "port": 81}}}"#;

async fn migrate_through_published_port(
    postgres: &ContainerAsync<MirroredPostgres>,
    password: &str,
) -> Result<()> {
    let config = DatabaseConfig {
        host: "127.0.0.1".into(),
        port: postgres
            .get_host_port_ipv4(service_suite::postgres_image::POSTGRES_PORT)
            .await?,
        user: USER.into(),
        name: DATABASE.into(),
        password: Some(password.into()),
        password_file: None,
    };
    let mut client = connect_once(&config)
        .await
        .map_err(|failure| anyhow!(failure.message))?;
    migrate::run(&mut client).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_outage_fails_readiness_and_heals_by_itself() -> Result<()> {
    let host = host().await;
    let password = unique_password();
    let network = format!("sd-suite-outage-{}", std::process::id());
    let database_host = format!("{network}-db");

    // The service first, its database not there yet.
    let service = ServiceDiscoveryImage::runner()
        .await?
        .with_env("DB_HOST", &database_host)
        .with_env("DB_USER", USER)
        .with_env("DB_NAME", DATABASE)
        .with_env("DB_PASSWORD", &password)
        .request()
        .with_network(&network)
        .start()
        .await?;
    let http = address(&service, HTTP_PORT).await?;
    let (not_ready, _) =
        wait_for_ready_status(http, StatusCode::SERVICE_UNAVAILABLE, NOTICE).await?;
    let server = format!("PostgreSQL at {database_host}:5432");
    assert!(not_ready.error().contains(&server), "{}", not_ready.body);
    let refused = put(http, "/service", WEBAPP).await?;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        refused.error().starts_with("storage unavailable: "),
        "{}",
        refused.body
    );
    assert!(refused.error().contains(&server), "{}", refused.body);

    // The database arrives and is migrated: the service becomes ready
    // without a restart.
    let postgres = MirroredPostgres::pinned(&host.base_images().postgres, &password)
        .request()
        .with_network(&network)
        .with_container_name(&database_host)
        .start()
        .await?;
    migrate_through_published_port(&postgres, &password).await?;
    let (_, took) = wait_for_ready_status(http, StatusCode::OK, RECOVERY).await?;
    eprintln!(
        "ready {:.1}s after the schema was migrated",
        took.as_secs_f64()
    );
    assert_eq!(put(http, "/service", WEBAPP).await?.status, StatusCode::OK);
    let register = r#"{"ip": "10.1.2.3", "tags": ["a"]}"#;
    assert_eq!(
        put(http, "/service/webapp/register", register)
            .await?
            .status,
        StatusCode::OK
    );
    let before = get(http, "/service/webapp").await?;

    // Paused: connections hang rather than fail.
    postgres.pause().await?;
    let (paused, took) =
        wait_for_ready_status(http, StatusCode::SERVICE_UNAVAILABLE, NOTICE).await?;
    eprintln!("paused database noticed in {:.1}s", took.as_secs_f64());
    assert!(
        paused.error().contains("did not answer within"),
        "{}",
        paused.body
    );
    let cut_off = put(http, "/service", DURING_OUTAGE).await?;
    assert_eq!(
        cut_off.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        cut_off.body
    );
    postgres.unpause().await?;
    let (_, took) = wait_for_ready_status(http, StatusCode::OK, RECOVERY).await?;
    eprintln!("ready again {:.1}s after unpausing", took.as_secs_f64());
    assert_eq!(get(http, "/service/webapp").await?.body, before.body);
    // The cut-off write reached the server or not; either way it is whole.
    let during = get(http, "/service/during-outage").await?;
    match during.status {
        StatusCode::NOT_FOUND => {}
        StatusCode::OK => assert_eq!(
            during.body["named_ports"]
                .as_object()
                .map(|ports| ports.len()),
            Some(2),
            "{}",
            during.body
        ),
        other => panic!("unexpected {other}: {}", during.body),
    }

    // Stopped: connections are refused or the name stops resolving.
    postgres.stop().await?;
    let (stopped, _) = wait_for_ready_status(http, StatusCode::SERVICE_UNAVAILABLE, NOTICE).await?;
    assert!(stopped.error().contains(&server), "{}", stopped.body);
    let refused = get(http, "/service/webapp").await?;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.body
    );
    postgres.start().await?;
    let (_, took) = wait_for_ready_status(http, StatusCode::OK, RECOVERY).await?;
    eprintln!(
        "ready again {:.1}s after restarting the database",
        took.as_secs_f64()
    );
    assert_eq!(get(http, "/service/webapp").await?.body, before.body);
    let endpoints = get(http, "/service/webapp/endpoints").await?;
    assert_eq!(endpoints.body[0]["ip"], "10.1.2.3", "{}", endpoints.body);

    // The service dropped first: the network goes with the last container.
    drop(service);
    Ok(())
}
