//! A throw-away copy of the repository for tests that change it: the files
//! git would commit (tracked, plus untracked ones that are not ignored), so
//! the copy builds exactly what the working tree builds, without `target/`
//! or `.git`.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result, bail};
use tempfile::TempDir;

use crate::repo::repo_root;

pub struct RepoCopy {
    dir: TempDir,
}

impl RepoCopy {
    pub fn new() -> Result<Self> {
        let listing = std::process::Command::new("git")
            .args([
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ])
            .current_dir(repo_root())
            .output()
            .context("cannot run git ls-files")?;
        if !listing.status.success() {
            bail!(
                "git ls-files failed: {}",
                String::from_utf8_lossy(&listing.stderr)
            );
        }
        let dir = tempfile::Builder::new()
            .prefix("repo-copy-")
            .tempdir()
            .context("cannot create a temporary directory")?;
        for relative in listing
            .stdout
            .split(|byte| *byte == 0)
            .filter(|path| !path.is_empty())
        {
            let relative = Path::new(
                std::str::from_utf8(relative).context("non-UTF-8 path in the repository")?,
            );
            let source = repo_root().join(relative);
            // Tracked files deleted in the working tree are not part of it.
            if !source.exists() {
                continue;
            }
            let destination = dir.path().join(relative);
            if let Some(parent) = destination.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            std::fs::copy(&source, &destination)
                .with_context(|| format!("cannot copy {}", relative.display()))?;
        }
        Ok(Self { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// Rewrites one file; `change` gets the current text and returns the new one.
    pub fn edit(&self, relative: &str, change: impl FnOnce(&str) -> Result<String>) -> Result<()> {
        let path = self.join(relative);
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("cannot read {relative}"))?;
        let changed = change(&text).with_context(|| format!("cannot change {relative}"))?;
        std::fs::write(&path, changed).with_context(|| format!("cannot write {relative}"))
    }

    /// Creates (or replaces) a file, with its directories.
    pub fn write(&self, relative: &str, contents: &str) -> Result<()> {
        let path = self.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, contents).with_context(|| format!("cannot write {relative}"))
    }

    /// Moves a file or directory inside the copy.
    pub fn rename(&self, from: &str, to: &str) -> Result<()> {
        let destination = self.join(to);
        if let Some(parent) = destination.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::rename(self.join(from), destination)
            .with_context(|| format!("cannot move {from} to {to}"))
    }

    /// Sets the modification time of every file in the copy, e.g. to a date
    /// long before any build, as a checkout or an unpacked archive may.
    pub fn set_all_modified(&self, time: SystemTime) -> Result<()> {
        set_modified_below(self.path(), time)
    }
}

fn set_modified_below(dir: &Path, time: SystemTime) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            set_modified_below(&path, time)?;
        } else {
            let file = std::fs::File::options().write(true).open(&path)?;
            file.set_modified(time)
                .with_context(|| format!("cannot set the time of {}", path.display()))?;
        }
    }
    Ok(())
}
