//! What the service says when PostgreSQL fails: one line naming the server
//! and what to do, carried by [`StorageError::Unavailable`] (HTTP 503, gRPC
//! UNAVAILABLE, DNS SERVFAIL, `/ready` failing).

use std::time::Duration;

use deadpool_postgres::PoolError;
use tokio_postgres::error::SqlState;

use super::migrate;
use crate::config::DatabaseConfig;
use crate::storage::StorageError;

pub fn unavailable(message: String) -> StorageError {
    StorageError::Unavailable(message)
}

pub fn is_unique_violation(err: &tokio_postgres::Error) -> bool {
    err.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

/// The error and its causes on one line: the driver's own message ("error
/// connecting to server") says little without the OS error beneath it.
pub fn with_causes(err: &dyn std::error::Error) -> String {
    let mut line = err.to_string();
    let mut cause = err.source();
    while let Some(inner) = cause {
        line.push_str(": ");
        line.push_str(&inner.to_string());
        cause = inner.source();
    }
    line
}

/// Which server the messages name (never the password).
#[derive(Debug, Clone)]
pub struct ErrorContext {
    server: String,
}

impl ErrorContext {
    pub fn for_server(config: &DatabaseConfig) -> Self {
        let server = if config.host.contains(':') {
            format!("[{}]:{}", config.host, config.port)
        } else {
            format!("{}:{}", config.host, config.port)
        };
        Self { server }
    }

    pub fn timed_out(&self, limit: Duration) -> StorageError {
        unavailable(format!(
            "PostgreSQL at {} did not answer within {}s",
            self.server,
            limit.as_secs_f32()
        ))
    }

    pub fn pool_error(&self, err: PoolError) -> StorageError {
        match err {
            PoolError::Backend(err) => self.query_error(&err),
            other => unavailable(format!(
                "no connection to PostgreSQL at {}: {other}",
                self.server
            )),
        }
    }

    pub fn query_error(&self, err: &tokio_postgres::Error) -> StorageError {
        unavailable(self.describe(err))
    }

    pub fn describe(&self, err: &tokio_postgres::Error) -> String {
        match err.as_db_error() {
            Some(db) if *db.code() == SqlState::UNDEFINED_TABLE => self.schema_missing(),
            Some(db) => format!("PostgreSQL at {} answered: {}", self.server, db.message()),
            // Connection-level: refused, reset, name not resolved, closed.
            None => format!(
                "cannot reach PostgreSQL at {} ({})",
                self.server,
                with_causes(err)
            ),
        }
    }

    pub fn schema_missing(&self) -> String {
        format!(
            "the database at {} has no schema yet: run `{} migrate`",
            self.server,
            crate::NAME
        )
    }

    pub fn schema_behind(&self) -> String {
        format!(
            "the database schema at {} is older than this build (which needs migration {}): \
             run `{} migrate`",
            self.server,
            migrate::required_version(),
            crate::NAME
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(host: &str) -> ErrorContext {
        ErrorContext::for_server(&DatabaseConfig {
            host: host.into(),
            port: 6432,
            user: "u".into(),
            name: "n".into(),
            password: Some("secret".into()),
            password_file: None,
        })
    }

    #[test]
    fn messages_name_the_server_and_never_the_password() {
        let timed_out = context("db").timed_out(Duration::from_secs(5)).to_string();
        assert_eq!(
            timed_out,
            "storage unavailable: PostgreSQL at db:6432 did not answer within 5s"
        );
        assert!(
            context("fd00::5")
                .schema_missing()
                .contains("at [fd00::5]:6432")
        );
        let behind = context("db").schema_behind();
        assert!(
            behind.ends_with(&format!("run `{} migrate`", crate::NAME)),
            "{behind}"
        );
        assert!(!format!("{:?}{timed_out}{behind}", context("db")).contains("secret"));
    }
}
