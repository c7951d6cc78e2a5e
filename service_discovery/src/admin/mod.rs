//! The admin prompt: one command interpreter, served on the terminal by
//! `console` and over the control socket to `remote_console` and `ping`.

pub mod client;
pub mod console;
pub mod control_socket;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::cli;
use crate::lifecycle::{InFlight, Readiness};
use crate::logging::{LogControl, LogLevel};
use crate::storage::{SharedStorage, StorageError};

pub const PROMPT: &str = concat!(env!("CARGO_PKG_NAME"), "> ");

pub const HELP: &str = "\
commands:
  status           uptime, backend, counts, requests in flight, log level
  services         every service with its ports and endpoints
  log_level        show the current log level
  log_level LEVEL  change the log level (off, error, warn, info, debug, trace)
  help             this list
  quit             leave this prompt; the service keeps running";

/// What a command printed, and whether the prompt should end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub output: String,
    #[serde(default)]
    pub quit: bool,
}

impl Reply {
    fn text(output: impl Into<String>) -> Self {
        Self {
            output: output.into(),
            quit: false,
        }
    }
}

#[derive(Clone)]
pub struct Admin {
    storage: SharedStorage,
    readiness: Readiness,
    in_flight: InFlight,
    log: LogControl,
    started: Instant,
}

impl Admin {
    pub fn new(readiness: Readiness, in_flight: InFlight, log: LogControl) -> Self {
        Self {
            storage: readiness.storage().clone(),
            readiness,
            in_flight,
            log,
            started: Instant::now(),
        }
    }

    pub async fn execute(&self, line: &str) -> Reply {
        let mut words = line.split_whitespace();
        let Some(command) = words.next() else {
            return Reply::text("");
        };
        let args: Vec<&str> = words.collect();
        match (command, args.as_slice()) {
            ("help" | "?", []) => Reply::text(HELP),
            ("status", []) => Reply::text(self.status().await),
            ("services", []) => Reply::text(self.services().await),
            ("log_level", []) => Reply::text(self.current_level()),
            ("log_level", [level]) => Reply::text(self.set_level(level)),
            ("quit" | "exit", []) => Reply {
                output: "bye; the service keeps running".into(),
                quit: true,
            },
            // Not listed in help: the probe `service_discovery ping` sends.
            ("ping", []) => Reply::text("pong"),
            ("help" | "status" | "services" | "quit" | "exit" | "ping", _) => Reply::text(format!(
                "{command} takes no arguments; type help for the list"
            )),
            ("log_level", _) => Reply::text("usage: log_level [LEVEL]"),
            _ => Reply::text(format!(
                "unknown command {command:?}; type help for the list"
            )),
        }
    }

    async fn status(&self) -> String {
        let state = match self.readiness.check().await {
            Ok(()) => "ready".to_owned(),
            Err(why) => format!("not ready ({why})"),
        };
        let counts = match self.counts().await {
            Ok((services, endpoints)) => format!("services:  {services}\nendpoints: {endpoints}"),
            Err(err) => format!("services:  unknown ({err})\nendpoints: unknown"),
        };
        format!(
            "version:   {}\nstate:     {state}\nuptime:    {}\nbackend:   {}\n{counts}\nin_flight: {}\nlog_level: {}",
            cli::version_line(),
            human_duration(self.started.elapsed()),
            self.storage.backend(),
            self.in_flight.count(),
            self.current_level(),
        )
    }

    async fn counts(&self) -> Result<(usize, usize), StorageError> {
        let services = self.storage.list_services().await?;
        let mut endpoints = 0;
        for service in &services {
            endpoints += self.storage.lookup_endpoints(&service.name).await?.len();
        }
        Ok((services.len(), endpoints))
    }

    async fn services(&self) -> String {
        let services = match self.storage.list_services().await {
            Ok(services) => services,
            Err(err) => return err.to_string(),
        };
        if services.is_empty() {
            return "no services".into();
        }
        let mut out = String::new();
        for service in services {
            let ports: Vec<String> = service
                .named_ports
                .iter()
                .map(|(name, p)| format!("{name}={}/{}", p.protocol.as_str(), p.port.get()))
                .collect();
            let endpoints = match self.storage.lookup_endpoints(&service.name).await {
                Ok(list) => list
                    .iter()
                    .map(|e| e.ip.to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
                Err(err) => err.to_string(),
            };
            let _ = writeln!(
                out,
                "{}  ports: {}  endpoints: {}",
                service.name,
                or_none(&ports.join(" ")),
                or_none(&endpoints),
            );
        }
        out.pop();
        out
    }

    fn current_level(&self) -> String {
        match self.log.level() {
            Some(level) => level.to_string(),
            None => "unknown (logging not initialised)".into(),
        }
    }

    fn set_level(&self, raw: &str) -> String {
        let level = match raw.parse::<LogLevel>() {
            Ok(level) => level,
            Err(expected) => return format!("log_level: {expected}"),
        };
        match self.log.set_level(level) {
            Ok(()) => {
                tracing::info!(%level, "log level changed from the admin prompt");
                format!("log level is now {level}")
            }
            Err(err) => format!("log_level: {err:#}"),
        }
    }
}

fn or_none(text: &str) -> &str {
    if text.is_empty() { "none" } else { text }
}

fn human_duration(elapsed: Duration) -> String {
    let secs = elapsed.as_secs();
    let (days, hours, minutes, seconds) =
        (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{seconds}s"),
        (0, 0, _) => format!("{minutes}m {seconds}s"),
        (0, _, _) => format!("{hours}h {minutes}m {seconds}s"),
        _ => format!("{days}d {hours}h {minutes}m {seconds}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_uptime() {
        assert_eq!(human_duration(Duration::from_secs(5)), "5s");
        assert_eq!(human_duration(Duration::from_secs(65)), "1m 5s");
        assert_eq!(human_duration(Duration::from_secs(3725)), "1h 2m 5s");
        assert_eq!(human_duration(Duration::from_secs(90_061)), "1d 1h 1m 1s");
    }
}
