//! The command line: the subcommands a release start script offers in the
//! Erlang world, built into the binary itself so the image needs no shell.

use clap::{Parser, Subcommand};

// ANCHOR: git_commit
/// Git commit the binary was built from, given at build time through the
/// `GIT_COMMIT` environment variable (a build argument in the image).
pub const GIT_COMMIT: &str = match option_env!("GIT_COMMIT") {
    Some(commit) if !commit.is_empty() => commit,
    _ => "unknown",
};
// ANCHOR_END: git_commit

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The environment variables, with their defaults, shown by `--help`;
/// parsed by [`crate::config`].
const ENVIRONMENT_HELP: &str = "\
Environment (default in brackets):
  HTTP_PORT            HTTP API port, 0 picks a free one [3000]
  GRPC_PORT            gRPC port [8081]
  DNS_PORT             DNS port, UDP and TCP [8053]
  DNS_ZONE             zone answered over DNS [svc.cluster.local]
  BIND_ADDRESS         address to listen on [all, IPv6 and IPv4]
  LOGGER_LEVEL         off, error, warn, info, debug or trace [info]
  RUNTIME_DIR          directory of the control socket [/tmp]
  SHUTDOWN_DELAY       seconds /ready fails before listeners close [1]
  SHUTDOWN_TIMEOUT     seconds a shutdown may take at most [8]
  REAP_ZOMBIES         reap orphans: auto (when PID 1), on or off [auto]
  ENABLE_DEBUG_ROUTES  add GET /debug/sleep?ms=N, for tests [false]
  DB_HOST              PostgreSQL host; unset stores in memory [unset]
  DB_PORT, DB_USER, DB_NAME
                       PostgreSQL port, user and database [5432, discovery, discovery]
  DB_PASSWORD, DB_PASSWORD_FILE
                       PostgreSQL password, or a file holding it (a secret)";

/// Service registry answering over HTTP, gRPC and DNS
#[derive(Debug, Parser)]
#[command(
    name = crate::NAME,
    disable_version_flag = true,
    after_help = ENVIRONMENT_HELP
)]
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
    /// Bring the PostgreSQL schema up to date and exit; safe to run from several replicas at once
    Migrate,
}

impl Cli {
    pub fn command_or_default(&self) -> Command {
        self.command.unwrap_or(Command::Foreground)
    }
}

pub fn version_line() -> String {
    format!("{} {VERSION} (commit {GIT_COMMIT})", crate::NAME)
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
        let cli = Cli::try_parse_from([crate::NAME]).unwrap();
        assert_eq!(cli.command_or_default(), Command::Foreground);
    }

    #[test]
    fn remote_console_is_spelled_as_in_the_chapter() {
        for spelling in ["remote_console", "remote-console"] {
            let cli = Cli::try_parse_from([crate::NAME, spelling]).unwrap();
            assert_eq!(cli.command_or_default(), Command::RemoteConsole);
        }
    }
}
