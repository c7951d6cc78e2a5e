//! What the schema itself guarantees, whatever client writes to it:
//! case-insensitive unique names, cascading deletes, `updated_at` kept by
//! the database, and writes that apply whole or not at all.

use std::time::Duration;

use anyhow::{Result, anyhow};
use integration_suite::engine::host::host;
use service_discovery::model::{
    Endpoint, NamedPort, NamedPorts, Port, Protocol, Service, ServiceName,
};
use service_discovery::storage::postgres::{connect_once, migrate};
use service_discovery::storage::{PostgresStorage, Storage};
use service_suite::postgres_image::RunningPostgres;
use tokio_postgres::error::SqlState;

async fn migrated(
    postgres: &RunningPostgres,
    name: &str,
) -> Result<(tokio_postgres::Client, PostgresStorage)> {
    postgres.create_database(name).await?;
    let config = postgres.service_config(name).await?;
    let mut client = connect_once(&config)
        .await
        .map_err(|failure| anyhow!(failure.message))?;
    migrate::run(&mut client).await?;
    Ok((client, PostgresStorage::open(&config)))
}

fn ports(list: &[(&str, i64)]) -> NamedPorts {
    list.iter()
        .map(|(name, number)| {
            let port = NamedPort {
                protocol: Protocol::Tcp,
                port: Port::new(*number).unwrap(),
            };
            (name.to_string(), port)
        })
        .collect()
}

fn webapp(named_ports: NamedPorts) -> Service {
    Service {
        name: ServiceName::parse("webapp").unwrap(),
        attributes: Default::default(),
        named_ports,
    }
}

async fn count(client: &tokio_postgres::Client, table: &str) -> Result<i64> {
    Ok(client
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await?
        .get(0))
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_schema_guarantees() -> Result<()> {
    let host = host().await;
    let postgres = RunningPostgres::start(&host.base_images().postgres).await?;
    names_are_unique_whatever_their_case(&postgres).await?;
    deleting_a_service_deletes_its_ports_and_endpoints(&postgres).await?;
    updated_at_follows_every_change(&postgres).await?;
    a_write_failing_half_way_leaves_nothing(&postgres).await?;
    Ok(())
}

async fn names_are_unique_whatever_their_case(postgres: &RunningPostgres) -> Result<()> {
    let (client, _) = migrated(postgres, "unique_names").await?;
    client
        .execute("INSERT INTO services (name) VALUES ('webapp')", &[])
        .await?;
    let duplicate = client
        .execute("INSERT INTO services (name) VALUES ('WebApp')", &[])
        .await
        .unwrap_err();
    assert_eq!(duplicate.code(), Some(&SqlState::UNIQUE_VIOLATION));
    Ok(())
}

async fn deleting_a_service_deletes_its_ports_and_endpoints(
    postgres: &RunningPostgres,
) -> Result<()> {
    let (client, store) = migrated(postgres, "cascade").await?;
    store
        .create_service(webapp(ports(&[("http", 80), ("grpc", 81)])))
        .await?;
    for ip in ["10.0.0.1", "10.0.0.2"] {
        store
            .register_endpoint(Endpoint {
                service_name: ServiceName::parse("webapp")?,
                ip: ip.parse()?,
                tags: vec![],
            })
            .await?;
    }
    assert_eq!(
        (
            count(&client, "named_ports").await?,
            count(&client, "endpoints").await?
        ),
        (2, 2)
    );
    client
        .execute("DELETE FROM services WHERE name = 'webapp'", &[])
        .await?;
    assert_eq!(
        (
            count(&client, "named_ports").await?,
            count(&client, "endpoints").await?
        ),
        (0, 0)
    );
    Ok(())
}

async fn updated_at_follows_every_change(postgres: &RunningPostgres) -> Result<()> {
    let (client, store) = migrated(postgres, "updated_at").await?;
    let service_times = async || -> Result<(f64, f64)> {
        let row = client
            .query_one(
                "SELECT extract(epoch FROM created_at)::float8, extract(epoch FROM updated_at)::float8 \
                 FROM services WHERE name = 'webapp'",
                &[],
            )
            .await?;
        Ok((row.get(0), row.get(1)))
    };
    store.create_service(webapp(ports(&[("http", 80)]))).await?;
    let (created, first_update) = service_times().await?;
    assert_eq!(created, first_update);

    tokio::time::sleep(Duration::from_millis(20)).await;
    store
        .add_named_ports(&ServiceName::parse("webapp")?, ports(&[("http", 8080)]))
        .await?;
    let (created_again, second_update) = service_times().await?;
    assert_eq!(created_again, created, "created_at never changes");
    assert!(
        second_update > first_update,
        "adding ports touches the service"
    );

    let endpoint = |tags: &[&str]| Endpoint {
        service_name: ServiceName::parse("webapp").unwrap(),
        ip: "10.0.0.1".parse().unwrap(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
    };
    let endpoint_update = async || -> Result<f64> {
        Ok(client
            .query_one(
                "SELECT extract(epoch FROM updated_at)::float8 FROM endpoints",
                &[],
            )
            .await?
            .get(0))
    };
    store.register_endpoint(endpoint(&["old"])).await?;
    let registered = endpoint_update().await?;
    tokio::time::sleep(Duration::from_millis(20)).await;
    store.register_endpoint(endpoint(&["new"])).await?;
    assert!(
        endpoint_update().await? > registered,
        "re-registering touches the endpoint"
    );
    Ok(())
}

/// A trigger makes the port write fail after the service row was written:
/// nothing of the call may remain.
async fn a_write_failing_half_way_leaves_nothing(postgres: &RunningPostgres) -> Result<()> {
    let (client, store) = migrated(postgres, "half_way").await?;
    client
        .batch_execute(
            "CREATE FUNCTION refuse_port_666() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
                 IF NEW.port = 666 THEN RAISE EXCEPTION 'port 666 refused'; END IF;
                 RETURN NEW;
             END $$;
             CREATE TRIGGER refuse_port_666 BEFORE INSERT OR UPDATE ON named_ports
                 FOR EACH ROW EXECUTE FUNCTION refuse_port_666();",
        )
        .await?;

    let failed = store
        .create_service(webapp(ports(&[("http", 80), ("evil", 666)])))
        .await;
    assert!(failed.is_err(), "{failed:?}");
    assert_eq!(
        (
            count(&client, "services").await?,
            count(&client, "named_ports").await?
        ),
        (0, 0)
    );

    store.create_service(webapp(ports(&[("http", 80)]))).await?;
    let before = store.get_service(&ServiceName::parse("webapp")?).await?;
    let failed = store
        .add_named_ports(
            &ServiceName::parse("webapp")?,
            ports(&[("http", 8080), ("admin", 9000), ("evil", 666)]),
        )
        .await;
    assert!(failed.is_err(), "{failed:?}");
    assert_eq!(
        store.get_service(&ServiceName::parse("webapp")?).await?,
        before
    );
    Ok(())
}
