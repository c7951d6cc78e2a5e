//! The suite's fixture projects under `tests/fixtures/`, copied into a
//! temporary directory before a test changes or builds them.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tempfile::TempDir;

use crate::repo::repo_path;

/// Where a fixture lives in the repository, e.g. `private_deps/registry/app`.
pub fn fixture_path(relative: &str) -> PathBuf {
    repo_path("tests/fixtures").join(relative)
}

/// A throw-away copy of a fixture directory.
pub fn copy_fixture(relative: &str) -> Result<TempDir> {
    let copy = tempfile::Builder::new()
        .prefix("fixture-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    copy_tree(&fixture_path(relative), copy.path())?;
    Ok(copy)
}

/// Copies a directory tree (regular files and directories only).
pub fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    for entry in
        std::fs::read_dir(from).with_context(|| format!("cannot list {}", from.display()))?
    {
        let entry = entry?;
        let destination = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &destination)?;
        } else {
            std::fs::copy(entry.path(), &destination)
                .with_context(|| format!("cannot copy {}", entry.path().display()))?;
        }
    }
    Ok(())
}
