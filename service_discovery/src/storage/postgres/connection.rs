//! Connections: the pool the service uses, the single connection `migrate`
//! uses, and the time bound every storage call runs under.

use std::time::Duration;

use deadpool_postgres::{ClientWrapper, Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio::time::{Instant, timeout_at};
use tokio_postgres::NoTls;

use super::errors::ErrorContext;
use crate::config::DatabaseConfig;
use crate::storage::{StorageError, StorageResult};

/// How long opening one connection may take, TCP and authentication included.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Unacknowledged data older than this closes the connection, so one that
/// lost its server (a host gone, a network cut) is noticed and replaced.
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(10);
const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);

fn client_config(config: &DatabaseConfig) -> tokio_postgres::Config {
    let mut pg = tokio_postgres::Config::new();
    pg.host(&config.host)
        .port(config.port)
        .user(&config.user)
        .dbname(&config.name)
        .application_name(crate::NAME)
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_user_timeout(TCP_USER_TIMEOUT)
        .keepalives(true)
        .keepalives_idle(KEEPALIVE_IDLE);
    if let Some(password) = &config.password {
        pg.password(password);
    }
    pg
}

/// A pool that connects on demand. Its size is deadpool's default, four
/// connections per CPU the process may use, which follows the container's
/// CPU limit.
pub fn pool(config: &DatabaseConfig) -> Pool {
    let manager = Manager::from_config(
        client_config(config),
        NoTls,
        ManagerConfig {
            // A connection is checked only for being closed when it is handed
            // out: a stale one fails one call and is replaced, where a test
            // query would add a round trip to every call.
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .build()
        .expect("a pool without timeouts of its own needs no runtime")
}

/// Why [`connect_once`] failed, and whether trying again may help.
#[derive(Debug)]
pub struct ConnectFailure {
    pub message: String,
    /// The server could not be reached (as opposed to refusing us, a wrong
    /// password for example): it may still be starting.
    pub retryable: bool,
}

/// One connection outside the pool, for `migrate`; its driver runs on a
/// task of its own and stops when the client is dropped.
pub async fn connect_once(
    config: &DatabaseConfig,
) -> Result<tokio_postgres::Client, ConnectFailure> {
    let context = ErrorContext::for_server(config);
    let (client, connection) =
        client_config(config)
            .connect(NoTls)
            .await
            .map_err(|err| ConnectFailure {
                message: context.describe(&err),
                retryable: err.as_db_error().is_none(),
            })?;
    tokio::spawn(async move {
        if let Err(err) = connection.await {
            tracing::debug!(error = %err, "migration connection closed");
        }
    });
    Ok(client)
}

/// One storage call with a deadline covering both getting a connection and
/// using it.
pub struct Bounded<'a> {
    pool: &'a Pool,
    context: &'a ErrorContext,
    limit: Duration,
}

impl<'a> Bounded<'a> {
    pub fn new(pool: &'a Pool, context: &'a ErrorContext, limit: Duration) -> Self {
        Self {
            pool,
            context,
            limit,
        }
    }

    pub async fn run<T>(
        self,
        work: impl AsyncFnOnce(&ClientWrapper) -> Result<T, tokio_postgres::Error>,
    ) -> StorageResult<T> {
        self.run_or(work, |_| None).await
    }

    /// Like [`Bounded::run`], with `expected` turning the database errors
    /// the caller anticipates (a duplicate name) into their own answers.
    pub async fn run_or<T>(
        self,
        work: impl AsyncFnOnce(&ClientWrapper) -> Result<T, tokio_postgres::Error>,
        expected: impl FnOnce(&tokio_postgres::Error) -> Option<StorageError>,
    ) -> StorageResult<T> {
        let deadline = Instant::now() + self.limit;
        let client = match timeout_at(deadline, self.pool.get()).await {
            Ok(Ok(client)) => client,
            Ok(Err(err)) => return Err(self.context.pool_error(err)),
            Err(_) => return Err(self.context.timed_out(self.limit)),
        };
        match timeout_at(deadline, work(&client)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(expected(&err).unwrap_or_else(|| self.context.query_error(&err))),
            Err(_) => {
                // The connection may still be waiting for the answer: it is
                // closed rather than handed to the next caller.
                drop(Object::take(client));
                Err(self.context.timed_out(self.limit))
            }
        }
    }
}
