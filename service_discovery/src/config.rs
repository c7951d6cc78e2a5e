//! Configuration from environment variables, the container way: the image
//! sets defaults, `docker run -e` and Kubernetes override them, and nothing
//! is read from files baked into the image.
//!
//! Every variable is parsed up front; a bad value stops the process with
//! exit code 2 and one line naming the variable and what it accepts.

use std::ffi::OsString;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::logging::LogLevel;

/// File name of the control socket inside `RUNTIME_DIR`.
pub const CONTROL_SOCKET_NAME: &str = concat!(env!("CARGO_PKG_NAME"), ".sock");

/// Longest path a Unix socket address can hold on Linux (`sun_path` less
/// its terminating NUL).
const MAX_SOCKET_PATH: usize = 107;

#[derive(Debug, Clone)]
pub struct Config {
    /// `None` binds the IPv6 wildcard in dual-stack mode, falling back to
    /// IPv4 only where the kernel has no IPv6.
    pub bind_address: Option<IpAddr>,
    pub http_port: u16,
    pub grpc_port: u16,
    pub dns_port: u16,
    pub dns_zone: String,
    pub logger_level: LogLevel,
    pub runtime_dir: PathBuf,
    /// Upper bound of the whole shutdown, from the signal to the exit.
    pub shutdown_timeout: Duration,
    /// How long the listeners keep accepting after readiness turned 503,
    /// so that load balancers see the 503 before connections are refused.
    pub shutdown_delay: Duration,
    pub reap_zombies: ReapZombies,
    /// Adds `GET /debug/sleep?ms=N`, a deliberately slow request that the
    /// shutdown tests keep in flight. Off unless asked for.
    pub debug_routes: bool,
    /// The PostgreSQL backend's settings; `None` (no `DB_HOST`) means the
    /// in-memory store.
    pub database: Option<DatabaseConfig>,
}

/// When to reap orphaned processes (`REAP_ZOMBIES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReapZombies {
    /// Reap only when running as PID 1, the only place orphans are handed to us.
    Auto,
    /// Always reap; outside PID 1 the process also becomes a child subreaper
    /// so that orphans of its descendants are handed to it.
    On,
    /// Never reap: shows the zombie problem a bare PID 1 has.
    Off,
}

#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseConfig {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub name: String,
    /// `DB_PASSWORD`, or the content of `DB_PASSWORD_FILE` (read when the
    /// configuration is parsed, so an unreadable secret stops the start).
    pub password: Option<String>,
    pub password_file: Option<PathBuf>,
}

impl fmt::Debug for DatabaseConfig {
    // Keeps the password out of logs and panic messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("name", &self.name)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("password_file", &self.password_file)
            .finish()
    }
}

/// A variable that could not be used; displayed as the one line printed
/// before exiting with code 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {variable}={value:?}: {expected}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub value: String,
    pub expected: String,
}

impl Config {
    /// The documented defaults, as if no variable were set.
    pub fn defaults() -> Self {
        Self::from_lookup(|_| None).expect("defaults are valid")
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var_os(name))
    }

    /// Reads variables through `lookup`, so tests need not touch the
    /// process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<OsString>) -> Result<Self, ConfigError> {
        let vars = Vars(&lookup);
        let runtime_dir = vars.parse("RUNTIME_DIR", "/tmp".into(), parse_runtime_dir)?;
        Ok(Self {
            bind_address: vars.parse_optional("BIND_ADDRESS", parse_ip)?,
            http_port: vars.parse("HTTP_PORT", 3000, parse_listen_port)?,
            grpc_port: vars.parse("GRPC_PORT", 8081, parse_listen_port)?,
            dns_port: vars.parse("DNS_PORT", 8053, parse_listen_port)?,
            dns_zone: vars.parse("DNS_ZONE", "svc.cluster.local".into(), parse_zone)?,
            logger_level: vars.parse("LOGGER_LEVEL", LogLevel::default(), parse_level)?,
            runtime_dir,
            shutdown_timeout: vars.parse(
                "SHUTDOWN_TIMEOUT",
                Duration::from_secs(8),
                parse_seconds,
            )?,
            shutdown_delay: vars.parse("SHUTDOWN_DELAY", Duration::from_secs(1), parse_seconds)?,
            reap_zombies: vars.parse("REAP_ZOMBIES", ReapZombies::Auto, parse_reap)?,
            debug_routes: vars.parse("ENABLE_DEBUG_ROUTES", false, parse_bool)?,
            database: database_config(&vars)?,
        })
    }

    pub fn control_socket(&self) -> PathBuf {
        self.runtime_dir.join(CONTROL_SOCKET_NAME)
    }

    /// Addresses to try in order for `port`; the first that binds wins.
    pub fn bind_candidates(&self) -> Vec<IpAddr> {
        match self.bind_address {
            Some(ip) => vec![ip],
            None => vec![
                IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            ],
        }
    }
}

/// Only the control socket is needed by `ping` and `remote_console`, which
/// must work even where other variables of the running instance are unset.
pub fn control_socket_from_env() -> Result<PathBuf, ConfigError> {
    let lookup = |name: &str| std::env::var_os(name);
    let vars = Vars(&lookup);
    let dir = vars.parse("RUNTIME_DIR", "/tmp".into(), parse_runtime_dir)?;
    Ok(dir.join(CONTROL_SOCKET_NAME))
}

/// Every `DB_*` variable is checked even without `DB_HOST`, so a typo is
/// reported the day it is made rather than the day PostgreSQL is switched on.
fn database_config(vars: &Vars<'_>) -> Result<Option<DatabaseConfig>, ConfigError> {
    let host = vars.parse_optional("DB_HOST", parse_text)?;
    let port = vars.parse("DB_PORT", 5432, parse_port)?;
    let user = vars.parse("DB_USER", "discovery".into(), parse_text)?;
    let name = vars.parse("DB_NAME", "discovery".into(), parse_text)?;
    let password_file = vars.parse_optional("DB_PASSWORD_FILE", |raw| Ok(PathBuf::from(raw)))?;
    let password = match vars.parse_optional("DB_PASSWORD", parse_text)? {
        Some(_) if password_file.is_some() => {
            return Err(ConfigError {
                variable: "DB_PASSWORD",
                value: "[redacted]".into(),
                expected: "set DB_PASSWORD or DB_PASSWORD_FILE, not both".into(),
            });
        }
        Some(password) => Some(password),
        None => password_file
            .as_deref()
            .map(read_password_file)
            .transpose()?,
    };
    Ok(host.map(|host| DatabaseConfig {
        host,
        port,
        user,
        name,
        password,
        password_file,
    }))
}

/// Reads a Docker or Kubernetes secret; the line break editors and `echo`
/// leave at the end is not part of the password.
fn read_password_file(path: &Path) -> Result<String, ConfigError> {
    let fail = |expected: String| ConfigError {
        variable: "DB_PASSWORD_FILE",
        value: path.display().to_string(),
        expected,
    };
    let content = std::fs::read_to_string(path).map_err(|err| {
        fail(format!(
            "expected a readable file holding the password ({err})"
        ))
    })?;
    let password = content.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        return Err(fail(
            "expected a file holding the password, not an empty one".into(),
        ));
    }
    Ok(password.to_owned())
}

/// What a parser says when it refuses a value; becomes `ConfigError::expected`.
type Expected = String;

struct Vars<'a>(&'a dyn Fn(&str) -> Option<OsString>);

impl Vars<'_> {
    fn parse<T>(
        &self,
        variable: &'static str,
        default: T,
        parse: impl Fn(&str) -> Result<T, Expected>,
    ) -> Result<T, ConfigError> {
        Ok(self.parse_optional(variable, parse)?.unwrap_or(default))
    }

    /// Unset and empty both mean "use the default", as `-e VAR=` in
    /// `docker run` is the usual way to blank out an image default.
    fn parse_optional<T>(
        &self,
        variable: &'static str,
        parse: impl Fn(&str) -> Result<T, Expected>,
    ) -> Result<Option<T>, ConfigError> {
        let Some(raw) = (self.0)(variable) else {
            return Ok(None);
        };
        let fail = |value: String, expected: Expected| ConfigError {
            variable,
            value,
            expected,
        };
        let text = raw.into_string().map_err(|raw| {
            fail(
                raw.to_string_lossy().into_owned(),
                "must be valid UTF-8".into(),
            )
        })?;
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        parse(trimmed)
            .map(Some)
            .map_err(|expected| fail(text.clone(), expected))
    }
}

fn parse_listen_port(raw: &str) -> Result<u16, Expected> {
    raw.parse::<u16>()
        .map_err(|_| "expected a port number 0..65535 (0 picks a free port)".into())
}

fn parse_port(raw: &str) -> Result<u16, Expected> {
    match raw.parse::<u16>() {
        Ok(port) if port != 0 => Ok(port),
        _ => Err("expected a port number 1..65535".into()),
    }
}

fn parse_ip(raw: &str) -> Result<IpAddr, Expected> {
    raw.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .map_err(|_| "expected an IPv4 or IPv6 address such as 0.0.0.0, 127.0.0.1 or ::".into())
}

fn parse_zone(raw: &str) -> Result<String, Expected> {
    let zone = raw.trim_end_matches('.').to_ascii_lowercase();
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if zone.len() <= 253 && zone.split('.').all(label_ok) {
        Ok(zone)
    } else {
        Err("expected a DNS domain such as svc.cluster.local".into())
    }
}

fn parse_level(raw: &str) -> Result<LogLevel, Expected> {
    raw.parse()
        .map_err(|unknown: crate::logging::UnknownLevel| unknown.to_string())
}

fn parse_runtime_dir(raw: &str) -> Result<PathBuf, Expected> {
    let dir = PathBuf::from(raw);
    let socket_len = dir.join(CONTROL_SOCKET_NAME).as_os_str().len();
    if socket_len > MAX_SOCKET_PATH {
        return Err(format!(
            "expected a shorter directory: the control socket path would be {socket_len} bytes, \
             the limit is {MAX_SOCKET_PATH}"
        ));
    }
    Ok(dir)
}

fn parse_seconds(raw: &str) -> Result<Duration, Expected> {
    raw.parse::<f64>()
        .ok()
        .filter(|secs| (0.0..=3600.0).contains(secs))
        .map(Duration::from_secs_f64)
        .ok_or_else(|| "expected a number of seconds from 0 to 3600, such as 10 or 0.5".into())
}

fn parse_bool(raw: &str) -> Result<bool, Expected> {
    match raw.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err("expected true or false (also 1/0, yes/no, on/off)".into()),
    }
}

fn parse_reap(raw: &str) -> Result<ReapZombies, Expected> {
    match raw.to_ascii_lowercase().as_str() {
        "auto" => Ok(ReapZombies::Auto),
        "1" | "true" | "yes" | "on" => Ok(ReapZombies::On),
        "0" | "false" | "no" | "off" => Ok(ReapZombies::Off),
        _ => Err("expected auto (reap when PID 1), on or off".into()),
    }
}

fn parse_text(raw: &str) -> Result<String, Expected> {
    Ok(raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_with(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: Vec<(String, OsString)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        Config::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn defaults_match_the_documentation() {
        let config = Config::defaults();
        assert_eq!(config.http_port, 3000);
        assert_eq!(config.grpc_port, 8081);
        assert_eq!(config.dns_port, 8053);
        assert_eq!(config.dns_zone, "svc.cluster.local");
        assert_eq!(config.logger_level, LogLevel::default());
        assert_eq!(config.runtime_dir, PathBuf::from("/tmp"));
        assert_eq!(
            config.control_socket(),
            PathBuf::from("/tmp/service_discovery.sock")
        );
        assert_eq!(config.shutdown_timeout, Duration::from_secs(8));
        assert_eq!(config.shutdown_delay, Duration::from_secs(1));
        assert_eq!(config.reap_zombies, ReapZombies::Auto);
        assert!(!config.debug_routes);
        assert!(config.database.is_none());
        assert_eq!(config.bind_address, None);
    }

    #[test]
    fn values_are_parsed() {
        let config = config_with(&[
            ("HTTP_PORT", "0"),
            ("BIND_ADDRESS", "[::1]"),
            ("DNS_ZONE", "Example.COM."),
            ("SHUTDOWN_TIMEOUT", "2.5"),
            ("REAP_ZOMBIES", "off"),
            ("ENABLE_DEBUG_ROUTES", "yes"),
            ("DB_HOST", "db"),
            ("DB_PASSWORD", "secret"),
        ])
        .unwrap();
        assert_eq!(config.http_port, 0);
        assert_eq!(config.bind_address, Some("::1".parse().unwrap()));
        assert_eq!(config.dns_zone, "example.com");
        assert_eq!(config.shutdown_timeout, Duration::from_millis(2500));
        assert_eq!(config.reap_zombies, ReapZombies::Off);
        assert!(config.debug_routes);
        let db = config.database.unwrap();
        assert_eq!((db.host.as_str(), db.port), ("db", 5432));
        assert!(!format!("{db:?}").contains("secret"));
    }

    #[test]
    fn empty_values_mean_default() {
        let config = config_with(&[("HTTP_PORT", ""), ("DB_HOST", " ")]).unwrap();
        assert_eq!(config.http_port, 3000);
        assert!(config.database.is_none());
    }

    #[test]
    fn errors_name_the_variable_and_what_is_accepted() {
        let cases = [
            ("HTTP_PORT", "70000", "port number"),
            ("GRPC_PORT", "http", "port number"),
            ("DNS_PORT", "-1", "port number"),
            ("DNS_ZONE", "bad..zone", "DNS domain"),
            ("LOGGER_LEVEL", "loud", "debug"),
            ("SHUTDOWN_TIMEOUT", "-3", "seconds"),
            ("SHUTDOWN_DELAY", "soon", "seconds"),
            ("REAP_ZOMBIES", "maybe", "auto"),
            ("ENABLE_DEBUG_ROUTES", "2", "true or false"),
            ("BIND_ADDRESS", "localhost", "IPv4 or IPv6"),
            ("RUNTIME_DIR", &"/x".repeat(60), "shorter directory"),
        ];
        for (variable, value, hint) in cases {
            let err = config_with(&[(variable, value)]).unwrap_err();
            assert_eq!(err.variable, variable);
            let line = err.to_string();
            assert!(line.starts_with(&format!("invalid {variable}=")), "{line}");
            assert!(line.contains(hint), "{variable}: {line}");
            assert!(!line.contains('\n'));
        }
    }

    #[test]
    fn the_password_comes_from_a_file_without_its_line_break() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("db_password");
        std::fs::write(&file, "s3cret\n").unwrap();
        let config = config_with(&[
            ("DB_HOST", "db"),
            ("DB_PASSWORD_FILE", file.to_str().unwrap()),
        ])
        .unwrap();
        let db = config.database.unwrap();
        assert_eq!(db.password.as_deref(), Some("s3cret"));
        assert_eq!(db.password_file.as_deref(), Some(file.as_path()));
    }

    #[test]
    fn password_file_errors_say_what_to_fix() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        for (file, hint) in [(&missing, "readable file"), (&empty, "not an empty one")] {
            let err = config_with(&[("DB_PASSWORD_FILE", file.to_str().unwrap())]).unwrap_err();
            assert_eq!(err.variable, "DB_PASSWORD_FILE");
            assert!(err.to_string().contains(hint), "{err}");
        }
        let file = dir.path().join("db_password");
        std::fs::write(&file, "s3cret").unwrap();
        let err = config_with(&[
            ("DB_PASSWORD", "other"),
            ("DB_PASSWORD_FILE", file.to_str().unwrap()),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("not both"), "{err}");
        assert!(
            !err.to_string().contains("other"),
            "the password stays out: {err}"
        );
    }

    #[test]
    fn db_variables_are_checked_even_without_a_host() {
        let err = config_with(&[("DB_PORT", "0")]).unwrap_err();
        assert_eq!(err.variable, "DB_PORT");
        assert!(
            config_with(&[("DB_PORT", "6432")])
                .unwrap()
                .database
                .is_none()
        );
    }
}
