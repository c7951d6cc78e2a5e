use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use service_discovery::admin::client;
use service_discovery::cli::{Cli, Command, version_line};
use service_discovery::config::{self, Config};
use service_discovery::{NAME, app, logging};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command_or_default() {
        Command::Version => {
            println!("{}", version_line());
            ExitCode::SUCCESS
        }
        Command::Ping => with_control_socket(client::ping, || println!("pong")),
        Command::RemoteConsole => with_control_socket(client::remote_console, || ()),
        Command::Foreground => serve(false),
        Command::Console => serve(true),
        Command::Migrate => migrate(),
    }
}

fn with_control_socket(
    command: fn(&std::path::Path) -> anyhow::Result<()>,
    on_success: impl FnOnce(),
) -> ExitCode {
    let socket = match config::control_socket_from_env() {
        Ok(socket) => socket,
        Err(err) => return config_error(&err),
    };
    match command(&socket) {
        Ok(()) => {
            on_success();
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("{NAME}: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(with_console: bool) -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => return config_error(&err),
    };
    let log = logging::init(config.logger_level);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("{NAME}: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(app::run(config, log, with_console));
    // The console may still be blocked reading the terminal: don't wait for it.
    runtime.shutdown_timeout(Duration::from_millis(100));
    std::process::exit(code)
}

fn migrate() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => return config_error(&err),
    };
    let Some(database) = config.database else {
        eprintln!(
            "{NAME}: migrate needs a database: set DB_HOST (and DB_USER, DB_NAME, DB_PASSWORD or DB_PASSWORD_FILE)"
        );
        return ExitCode::from(2);
    };
    let _log = logging::init(config.logger_level);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("{NAME}: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(app::migrate(&database)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{NAME}: migrate: {err}");
            ExitCode::FAILURE
        }
    }
}

fn config_error(err: &config::ConfigError) -> ExitCode {
    eprintln!("{NAME}: {err}");
    ExitCode::from(2)
}
