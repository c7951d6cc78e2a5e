//! The pinned tools that build and check the book.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::repo::repo_path;

pub const INSTALL_SCRIPT: &str = "ci/install_book_tools.sh";

/// Where `ci/install_book_tools.sh` puts mdbook and lychee.
pub fn tools_bin_dir() -> PathBuf {
    std::env::var_os("BOOK_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_path("target/book-tools"))
        .join("bin")
}

/// An executable installed by the install script, or an error naming it.
pub fn book_tool(name: &str) -> Result<PathBuf> {
    let path = tools_bin_dir().join(name);
    if !is_executable(&path) {
        bail!(
            "{name} not found at {}: run {INSTALL_SCRIPT}",
            path.display()
        );
    }
    Ok(path)
}

/// Debian's Chromium, from `PATH` (installed system-wide by the script).
pub fn chromium() -> Result<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("chromium"))
            .find(|candidate| is_executable(candidate))
    });
    match found {
        Some(path) => Ok(path),
        None => bail!("chromium not found on PATH: run {INSTALL_SCRIPT}"),
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}
