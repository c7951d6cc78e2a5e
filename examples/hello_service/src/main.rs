//! A deliberately small HTTP service that meets the repository's container
//! contract (`[package.metadata.container]` in Cargo.toml): the same binary
//! runs the server, answers the image's health check and reports its version.

mod http;
mod ping;
mod settings;

use std::process::ExitCode;

use settings::Settings;

// Every message and greeting takes the name from the manifest, so renaming
// the package (ci/rename.sh) needs no change to the sources.
const NAME: &str = env!("CARGO_PKG_NAME");
const VERSION: &str = env!("CARGO_PKG_VERSION");

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [command] if command == "version" => {
            // The image build greps this line for "<name> ": keep the name first.
            let commit = option_env!("GIT_COMMIT").unwrap_or("unknown");
            println!("{NAME} {VERSION} ({commit})");
            ExitCode::SUCCESS
        }
        [command] if command == "foreground" => run(multi_thread(), http::serve),
        // A health check makes one request: a single thread starts faster.
        [command] if command == "ping" => {
            run(current_thread(), |settings| ping::check(settings.port))
        }
        [] => usage("no command"),
        [command] => usage(&format!("unknown command {command:?}")),
        [command, extra, ..] => fail(&format!("{command} takes no argument (got {extra:?})"), 2),
    }
}

/// Reads the settings first, so that a misconfigured container fails with
/// exit code 2 before it binds anything, then runs the command to its end.
fn run<F>(
    runtime: std::io::Result<tokio::runtime::Runtime>,
    command: impl FnOnce(Settings) -> F,
) -> ExitCode
where
    F: Future<Output = Result<(), String>>,
{
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(message) => return fail(&message, 2),
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(error) => return fail(&format!("cannot start the async runtime: {error}"), 1),
    };
    match runtime.block_on(command(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => fail(&message, 1),
    }
}

fn multi_thread() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

fn current_thread() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

fn usage(problem: &str) -> ExitCode {
    fail(
        &format!("{problem}; expected foreground, ping or version"),
        2,
    )
}

/// One line on stderr per failure: container logs keep it whole.
fn fail(message: &str, code: u8) -> ExitCode {
    eprintln!("{NAME}: {message}");
    ExitCode::from(code)
}
