//! The Rust examples in the book compile and pass, through `mdbook test`.

use std::process::Command;

use anyhow::{Context, Result};
use integration_suite::book::book_root;
use integration_suite::book::tools::book_tool;

#[test]
fn book_rust_examples_pass_mdbook_test() -> Result<()> {
    let output = Command::new(book_tool("mdbook")?)
        .arg("test")
        .arg(book_root())
        .env("NO_COLOR", "1")
        .output()
        .context("running mdbook test")?;
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "mdbook test failed:\n{log}");
    let errors: Vec<&str> = log.lines().filter(|line| line.contains("ERROR")).collect();
    assert!(
        errors.is_empty(),
        "mdbook test reported errors:\n{}",
        errors.join("\n")
    );
    Ok(())
}
