//! The pinned tools that build and check the book.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::engine::installed_tools::{InstallScript, SETUP_SCRIPT};

/// Knows the book tools' pins and where they live.
static INSTALL_SCRIPT: InstallScript = InstallScript::new("ci/install_book_tools.sh");

/// An executable the install script put in place, or one line naming the
/// setup command.
pub fn book_tool(name: &str) -> Result<PathBuf> {
    Ok(Path::new(INSTALL_SCRIPT.check()?).join(name))
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
        None => bail!("chromium not found on PATH: run {SETUP_SCRIPT}"),
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}
