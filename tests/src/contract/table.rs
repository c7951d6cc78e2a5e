//! The container contract: what the images and the service-agnostic tests
//! need from a service, read from its manifest's
//! `[package.metadata.container]` table (the comments there say what each
//! key means). This is the only parser of the table; `ci/lib.sh` reads the
//! ports from the same place for the build.

use std::fmt;
use std::str::FromStr;

use anyhow::{Context, Result, bail, ensure};
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerContract {
    pub foreground: String,
    pub health: String,
    pub version: String,
    pub ports: Vec<Port>,
    pub readiness: Readiness,
    pub writable: String,
    pub stop: Stop,
    pub reaps_orphans: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Readiness {
    pub port: u16,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stop {
    pub signal: String,
    pub exit_code: i64,
}

/// A container port as EXPOSE and the engine write it: `3000/tcp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct Port {
    pub number: u16,
    pub protocol: Protocol,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    Tcp,
    Udp,
}

impl ContainerContract {
    /// The contract in a package's cargo metadata (`packages[].metadata`),
    /// checked for consistency; every error names the key to fix.
    pub fn from_metadata(package: &str, metadata: &serde_json::Value) -> Result<Self> {
        let table = &metadata["container"];
        let contract = Self::deserialize(table).with_context(|| {
            format!("{package}'s [package.metadata.container] table is not a container contract")
        })?;
        contract
            .check()
            .with_context(|| format!("{package}'s [package.metadata.container] table"))?;
        Ok(contract)
    }

    fn check(&self) -> Result<()> {
        ensure!(!self.ports.is_empty(), "ports: list at least one port");
        ensure!(
            self.ports.contains(&self.readiness_port()),
            "readiness.port {} is not among ports {:?}: add \"{}/tcp\"",
            self.readiness.port,
            self.expose_words(),
            self.readiness.port
        );
        ensure!(
            self.readiness.path.starts_with('/'),
            "readiness.path {:?} must start with /",
            self.readiness.path
        );
        ensure!(
            self.writable.starts_with('/'),
            "writable {:?} must be an absolute path",
            self.writable
        );
        ensure!(
            self.stop.signal.starts_with("SIG"),
            "stop.signal {:?} must be a signal name such as SIGTERM",
            self.stop.signal
        );
        for (key, subcommand) in [
            ("foreground", &self.foreground),
            ("health", &self.health),
            ("version", &self.version),
        ] {
            ensure!(
                !subcommand.is_empty() && !subcommand.contains(char::is_whitespace),
                "{key} {subcommand:?} must be one subcommand"
            );
        }
        Ok(())
    }

    /// The port readiness is asked on, always TCP.
    pub fn readiness_port(&self) -> Port {
        Port {
            number: self.readiness.port,
            protocol: Protocol::Tcp,
        }
    }

    /// The ports as EXPOSE lists them, in the table's order.
    pub fn expose_words(&self) -> Vec<String> {
        self.ports.iter().map(Port::to_string).collect()
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let protocol = match self.protocol {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        };
        write!(f, "{}/{protocol}", self.number)
    }
}

impl FromStr for Port {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Self> {
        let Some((number, protocol)) = text.split_once('/') else {
            bail!("port {text:?}: write it as NUMBER/tcp or NUMBER/udp");
        };
        let protocol = match protocol {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            _ => bail!("port {text:?}: the protocol must be tcp or udp"),
        };
        let number = number
            .parse()
            .ok()
            .filter(|number| *number != 0)
            .with_context(|| format!("port {text:?}: {number:?} is not a port number (1-65535)"))?;
        Ok(Self { number, protocol })
    }
}

impl TryFrom<String> for Port {
    type Error = anyhow::Error;

    fn try_from(text: String) -> Result<Self> {
        text.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(ports: &str, readiness_port: u16) -> serde_json::Value {
        serde_json::json!({"container": {
            "foreground": "foreground",
            "health": "ping",
            "version": "version",
            "ports": serde_json::from_str::<serde_json::Value>(ports).unwrap(),
            "readiness": {"port": readiness_port, "path": "/ready"},
            "writable": "/tmp",
            "stop": {"signal": "SIGTERM", "exit_code": 0},
            "reaps_orphans": false,
        }})
    }

    fn error(ports: &str, readiness_port: u16) -> String {
        format!(
            "{:#}",
            ContainerContract::from_metadata("svc", &metadata(ports, readiness_port)).unwrap_err()
        )
    }

    #[test]
    fn a_complete_table_is_read_with_its_ports_in_order() {
        let contract =
            ContainerContract::from_metadata("svc", &metadata(r#"["3000/tcp", "53/udp"]"#, 3000))
                .unwrap();
        assert_eq!(contract.expose_words(), ["3000/tcp", "53/udp"]);
        assert_eq!(contract.readiness_port().to_string(), "3000/tcp");
    }

    #[test]
    fn each_mistake_is_named_with_the_key_to_fix() {
        assert!(error(r#"["3000/sctp"]"#, 3000).contains("the protocol must be tcp or udp"));
        assert!(error(r#"["0/tcp"]"#, 3000).contains("is not a port number"));
        assert!(error(r#"["3000"]"#, 3000).contains("NUMBER/tcp"));
        assert!(error(r#"["3000/udp"]"#, 3000).contains("readiness.port 3000 is not among ports"));
        let mut unknown = metadata(r#"["3000/tcp"]"#, 3000);
        unknown["container"]["port"] = 1.into();
        let unknown = ContainerContract::from_metadata("svc", &unknown).unwrap_err();
        assert!(format!("{unknown:#}").contains("unknown field `port`"));
    }
}
