//! Logs are one JSON object per line on stdout, where `docker logs` and
//! every log collector read them; nothing is written to files.
//!
//! The level starts from `LOGGER_LEVEL` and can be changed while running
//! (admin command `log_level`), without a restart.

use std::fmt;
use std::str::FromStr;

use anyhow::Context;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Registry, reload};

/// A log level, as accepted by `LOGGER_LEVEL` and `log_level`.
///
/// Erlang's level names (`notice`, `warning`, `critical`, ...) are accepted
/// too, so environment files written for the original service keep working.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLevel(LevelFilter);

impl LogLevel {
    pub const ACCEPTED: &'static str = "off, error, warn, info, debug or trace";

    pub fn filter(self) -> LevelFilter {
        self.0
    }
}

impl Default for LogLevel {
    fn default() -> Self {
        Self(LevelFilter::INFO)
    }
}

/// A level name none of [`LogLevel::ACCEPTED`] matches.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected one of {}", LogLevel::ACCEPTED)]
pub struct UnknownLevel;

impl FromStr for LogLevel {
    type Err = UnknownLevel;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let filter = match raw.trim().to_ascii_lowercase().as_str() {
            "off" | "none" => LevelFilter::OFF,
            "emergency" | "alert" | "critical" | "error" => LevelFilter::ERROR,
            "warning" | "warn" => LevelFilter::WARN,
            "notice" | "info" => LevelFilter::INFO,
            "debug" => LevelFilter::DEBUG,
            "trace" | "all" => LevelFilter::TRACE,
            _ => return Err(UnknownLevel),
        };
        Ok(Self(filter))
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // LevelFilter prints upper case; the variable is documented lower case.
        f.write_str(&self.0.to_string().to_ascii_lowercase())
    }
}

/// Reads and changes the level of the installed subscriber.
#[derive(Clone)]
pub struct LogControl {
    handle: Option<reload::Handle<LevelFilter, Registry>>,
}

impl LogControl {
    /// A control with no subscriber behind it, for tests that embed the
    /// service without taking over the process's global logger.
    pub fn detached() -> Self {
        Self { handle: None }
    }

    pub fn level(&self) -> Option<LogLevel> {
        let handle = self.handle.as_ref()?;
        handle.clone_current().map(LogLevel)
    }

    pub fn set_level(&self, level: LogLevel) -> anyhow::Result<()> {
        let handle = self
            .handle
            .as_ref()
            .context("logging is not initialised in this process")?;
        handle
            .modify(|filter| *filter = level.filter())
            .context("cannot change the log level")
    }
}

/// The DNS server library logs every query it handles at info level: two
/// lines a query would flood stdout and cost a third of the DNS throughput.
/// Its warnings and errors still come through, whatever `LOGGER_LEVEL` says.
fn quiet_libraries() -> Targets {
    Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_target("hickory_server", LevelFilter::WARN)
        .with_target("hickory_proto", LevelFilter::WARN)
}

/// Installs the global JSON subscriber; call once, before anything logs.
pub fn init(level: LogLevel) -> LogControl {
    let (filter, handle) = reload::Layer::new(level.filter());
    let json = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_writer(std::io::stdout);
    tracing_subscriber::registry()
        .with(filter)
        .with(quiet_libraries())
        .with(json)
        .init();
    LogControl {
        handle: Some(handle),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erlang_level_names_are_accepted() {
        assert_eq!(
            "warning".parse::<LogLevel>().unwrap(),
            "warn".parse().unwrap()
        );
        assert_eq!("notice".parse::<LogLevel>().unwrap(), LogLevel::default());
        assert_eq!("CRITICAL".parse::<LogLevel>().unwrap().to_string(), "error");
    }

    #[test]
    fn unknown_level_lists_what_is_accepted() {
        let err = "loud".parse::<LogLevel>().unwrap_err();
        assert!(err.to_string().contains(LogLevel::ACCEPTED), "{err}");
    }

    #[test]
    fn detached_control_reports_it_cannot_change_anything() {
        let control = LogControl::detached();
        assert_eq!(control.level(), None);
        assert!(control.set_level(LogLevel::default()).is_err());
    }
}
