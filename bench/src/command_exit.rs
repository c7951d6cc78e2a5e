//! How the suite's example commands end: exit 0, or one line on stderr
//! saying what went wrong and exit 1.

use std::process::ExitCode;

pub fn exit_code(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
