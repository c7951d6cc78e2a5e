//! The pinned tools that build and check the book.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

pub const INSTALL_SCRIPT: &str = "ci/install_book_tools.sh";

/// Where `ci/install_book_tools.sh` puts mdbook and lychee: the same
/// per-user cache directory the script defaults to, shared by every clone.
fn tools_bin_dir() -> Result<PathBuf> {
    let env_dir = |name: &str| {
        std::env::var_os(name)
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
    };
    let dir = env_dir("BOOK_TOOLS_DIR")
        .or_else(|| {
            env_dir("XDG_CACHE_HOME").map(|cache| cache.join("service_discovery/book-tools"))
        })
        .or_else(|| env_dir("HOME").map(|home| home.join(".cache/service_discovery/book-tools")));
    match dir {
        Some(dir) => Ok(dir.join("bin")),
        None => bail!("neither BOOK_TOOLS_DIR nor HOME is set: set one and run {INSTALL_SCRIPT}"),
    }
}

/// An executable installed by the install script, or an error naming it.
pub fn book_tool(name: &str) -> Result<PathBuf> {
    let path = tools_bin_dir()?.join(name);
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
