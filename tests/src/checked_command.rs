//! Runs a program to its end and hands back its standard output, or an
//! error that names the command line and carries its standard error: the
//! run, check the status, report stderr sequence every caller would
//! otherwise write again.

use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// The standard output of `command`, which must exit 0. Standard input is
/// closed, so a program that would ask a question fails instead of waiting.
pub fn checked_output(command: &mut Command) -> Result<String> {
    let line = command_line(command);
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {line}"))?;
    if !output.status.success() {
        bail!(
            "{line} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn command_line(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|word| word.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_stdout_or_names_the_command_and_its_stderr() {
        let mut echo = Command::new("sh");
        echo.args(["-c", "echo out; echo err >&2"]);
        assert_eq!(checked_output(&mut echo).unwrap(), "out\n");

        let mut failing = Command::new("sh");
        failing.args(["-c", "echo why >&2; exit 3"]);
        let error = checked_output(&mut failing).unwrap_err().to_string();
        assert!(
            error.starts_with("sh -c echo why >&2; exit 3 failed ("),
            "{error}"
        );
        assert!(error.ends_with("): why"), "{error}");
    }
}
