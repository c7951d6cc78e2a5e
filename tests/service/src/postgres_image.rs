//! The mirrored PostgreSQL image as a testcontainers image: pinned by digest
//! from `ci/base-images.lock`, ready when the server says so, its port
//! published on 127.0.0.1 only.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use testcontainers::core::{ContainerPort, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, ContainerRequest, Image};

use integration_suite::images::base_images::PinnedImage;

use crate::suite_request::suite_request;

pub const POSTGRES_PORT: ContainerPort = ContainerPort::Tcp(5432);
pub const USER: &str = "discovery";
pub const DATABASE: &str = "discovery";

/// Printed once per server start: the image's own first-start set-up runs a
/// private server whose log goes nowhere, so this line means the real one.
const READY_LINE: &str = "database system is ready to accept connections";
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// `localhost:5000/mirror/postgres:15-bookworm@sha256:...`, with the
/// official image's settings.
#[derive(Debug, Clone)]
pub struct MirroredPostgres {
    name: String,
    /// The tag and the digest (`15-bookworm@sha256:...`): testcontainers
    /// joins name and tag with `:`, which yields the pinned reference.
    tag: String,
    env: HashMap<String, String>,
}

impl MirroredPostgres {
    pub fn pinned(postgres: &PinnedImage, password: &str) -> Self {
        let (name, tag) = postgres
            .reference
            .rsplit_once('@')
            .and_then(|(named, digest)| {
                let (name, tag) = named.rsplit_once(':')?;
                Some((name.to_owned(), format!("{tag}@{digest}")))
            })
            .expect("pinned references are name:tag@sha256:digest");
        let env = HashMap::from([
            ("POSTGRES_USER".to_owned(), USER.to_owned()),
            ("POSTGRES_DB".to_owned(), DATABASE.to_owned()),
            ("POSTGRES_PASSWORD".to_owned(), password.to_owned()),
        ]);
        Self { name, tag, env }
    }

    /// Sets (or, with `None`, removes) one of the image's settings.
    pub fn with_setting(mut self, name: &str, value: Option<&str>) -> Self {
        match value {
            Some(value) => self.env.insert(name.to_owned(), value.to_owned()),
            None => self.env.remove(name),
        };
        self
    }

    /// A container request publishing 5432 on 127.0.0.1, labelled as the
    /// suite's; further settings go through
    /// [`testcontainers::ImageExt`].
    pub fn request(self) -> ContainerRequest<Self> {
        suite_request(self, &[POSTGRES_PORT], START_TIMEOUT)
    }
}

impl Image for MirroredPostgres {
    fn name(&self) -> &str {
        &self.name
    }

    fn tag(&self) -> &str {
        &self.tag
    }

    fn ready_conditions(&self) -> Vec<WaitFor> {
        vec![WaitFor::message_on_stderr(READY_LINE)]
    }

    fn env_vars(
        &self,
    ) -> impl IntoIterator<Item = (impl Into<Cow<'_, str>>, impl Into<Cow<'_, str>>)> {
        &self.env
    }

    fn expose_ports(&self) -> &[ContainerPort] {
        &[POSTGRES_PORT]
    }
}

/// A started database and how to reach it from the host.
pub struct RunningPostgres {
    pub container: ContainerAsync<MirroredPostgres>,
    pub password: String,
}

impl RunningPostgres {
    pub async fn start(postgres: &PinnedImage) -> Result<Self> {
        let password = unique_password();
        let container = MirroredPostgres::pinned(postgres, &password)
            .request()
            .start()
            .await
            .context("starting the mirrored PostgreSQL image")?;
        Ok(Self {
            container,
            password,
        })
    }

    pub async fn host_port(&self) -> Result<u16> {
        Ok(self.container.get_host_port_ipv4(POSTGRES_PORT).await?)
    }

    /// A connection to `database` as the superuser the image created.
    pub async fn connect(&self, database: &str) -> Result<tokio_postgres::Client> {
        let port = self.host_port().await?;
        let (client, connection) = tokio_postgres::Config::new()
            .host("127.0.0.1")
            .port(port)
            .user(USER)
            .password(&self.password)
            .dbname(database)
            .connect(tokio_postgres::NoTls)
            .await
            .with_context(|| format!("connecting to PostgreSQL on 127.0.0.1:{port}"))?;
        tokio::spawn(connection);
        Ok(client)
    }

    /// The service's database settings for a server on 127.0.0.1.
    pub async fn service_config(
        &self,
        database: &str,
    ) -> Result<service_discovery::config::DatabaseConfig> {
        Ok(service_discovery::config::DatabaseConfig {
            host: "127.0.0.1".to_owned(),
            port: self.host_port().await?,
            user: USER.to_owned(),
            name: database.to_owned(),
            password: Some(self.password.clone()),
            password_file: None,
        })
    }

    /// Creates an empty database, for a test (or a case) of its own.
    pub async fn create_database(&self, name: &str) -> Result<()> {
        self.connect(DATABASE)
            .await?
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
            .with_context(|| format!("creating database {name}"))
    }
}

/// Different in every test, so no test passes by a default password.
pub fn unique_password() -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    format!(
        "pw-{}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default()
    )
}
