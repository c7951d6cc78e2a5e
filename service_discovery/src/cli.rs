//! The command line: the subcommands a release start script offers in the
//! Erlang world, built into the binary itself so the image needs no shell.

use clap::{Parser, Subcommand};

/// Git commit the binary was built from, given at build time through the
/// `GIT_COMMIT` environment variable (a build argument in the image).
pub const GIT_COMMIT: &str = match option_env!("GIT_COMMIT") {
    Some(commit) if !commit.is_empty() => commit,
    _ => "unknown",
};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Service registry answering over HTTP, gRPC and DNS.
///
/// Configuration comes from environment variables: HTTP_PORT (3000),
/// GRPC_PORT (8081), DNS_PORT (8053), DNS_ZONE (svc.cluster.local),
/// LOGGER_LEVEL (info), RUNTIME_DIR (/tmp), SHUTDOWN_TIMEOUT (8 seconds),
/// SHUTDOWN_DELAY (1 second), REAP_ZOMBIES (auto), BIND_ADDRESS (all).
#[derive(Debug, Parser)]
#[command(name = "service_discovery", disable_version_flag = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Run the service in the foreground, logging to stdout (the default)
    Foreground,
    /// Run the service with an admin prompt on this terminal
    Console,
    /// Attach an admin prompt to the instance running with the same RUNTIME_DIR
    #[command(name = "remote_console", visible_alias = "remote-console")]
    RemoteConsole,
    /// Print "pong" and exit 0 if the running instance answers, 1 otherwise
    Ping,
    /// Print the version and the git commit it was built from
    Version,
}

impl Cli {
    pub fn command_or_default(&self) -> Command {
        self.command.unwrap_or(Command::Foreground)
    }
}

pub fn version_line() -> String {
    format!("service_discovery {VERSION} (commit {GIT_COMMIT})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn foreground_is_the_default() {
        let cli = Cli::try_parse_from(["service_discovery"]).unwrap();
        assert_eq!(cli.command_or_default(), Command::Foreground);
    }

    #[test]
    fn remote_console_is_spelled_as_in_the_chapter() {
        for spelling in ["remote_console", "remote-console"] {
            let cli = Cli::try_parse_from(["service_discovery", spelling]).unwrap();
            assert_eq!(cli.command_or_default(), Command::RemoteConsole);
        }
    }
}
