//! Changes the cache tests make to a copy of the repository, each the kind
//! of change a developer makes: edit a source file, add a dependency (with
//! its lockfile entry), commit. The copy becomes a git repository of its
//! own so `ci/build_images.sh` can tag what it builds with a commit.

use std::process::Command;

use anyhow::{Result, bail, ensure};

use crate::checked_command::checked_output;
use crate::repo::copy::RepoCopy;

/// Appends a comment line to a Rust source file: a change to the source
/// and to nothing else.
pub fn append_comment(copy: &RepoCopy, file: &str, text: &str) -> Result<()> {
    copy.edit(file, |source| Ok(format!("{source}\n// {text}\n")))
}

/// Adds `name = "=version"` to a member's `[dependencies]` and records it in
/// `Cargo.lock`, leaving every other locked version as it was. The lockfile
/// update asks the crates.io index, as `cargo add` would.
pub fn add_dependency(copy: &RepoCopy, manifest: &str, name: &str, version: &str) -> Result<()> {
    add_dependency_line(copy, manifest, name, version)?;
    let before = std::fs::read_to_string(copy.join("Cargo.lock"))?;
    checked_output(
        Command::new("cargo")
            .args(["metadata", "--format-version", "1"])
            .current_dir(copy.path()),
    )?;
    let after = std::fs::read_to_string(copy.join("Cargo.lock"))?;
    let added: Vec<&str> = new_packages(&before, &after);
    if added != [name] {
        bail!(
            "adding {name} {version} changed the locked packages by {added:?}, not by {name} alone"
        );
    }
    Ok(())
}

/// Adds `name = "=version"` to a member's `[dependencies]`, and nothing else.
pub fn add_dependency_line(
    copy: &RepoCopy,
    manifest: &str,
    name: &str,
    version: &str,
) -> Result<()> {
    copy.edit(manifest, |text| {
        let section = "[dependencies]\n";
        ensure!(text.contains(section), "no [dependencies] in {manifest}");
        Ok(text.replacen(section, &format!("{section}{name} = \"={version}\"\n"), 1))
    })
}

/// Names of the packages `after` locks and `before` does not.
fn new_packages<'a>(before: &str, after: &'a str) -> Vec<&'a str> {
    let old = locked_packages(before);
    locked_packages(after)
        .into_iter()
        .filter(|package| !old.contains(package))
        .map(|(name, _)| name)
        .collect()
}

/// Every `(name, version)` a lockfile records.
fn locked_packages(lock: &str) -> Vec<(&str, &str)> {
    let lines: Vec<&str> = lock.lines().collect();
    lines
        .windows(2)
        .filter_map(|pair| {
            let name = pair[0].strip_prefix("name = \"")?.strip_suffix('"')?;
            let version = pair[1].strip_prefix("version = \"")?.strip_suffix('"')?;
            Some((name, version))
        })
        .collect()
}

/// Makes the copy a git repository with everything committed, as a clone
/// would be; returns the commit id.
pub fn commit_all(copy: &RepoCopy, message: &str) -> Result<String> {
    if !copy.join(".git").exists() {
        git(copy, &["init", "--quiet", "--initial-branch=main"])?;
    }
    git(copy, &["add", "--all"])?;
    git(
        copy,
        &["commit", "--quiet", "--allow-empty", "--message", message],
    )?;
    git(copy, &["rev-parse", "HEAD"])
}

/// When every copy's commits are dated: the same tree committed by two
/// runs is then the same commit, so build steps that take the commit as an
/// argument (the version line's `GIT_COMMIT`) stay cached from one run of
/// the suite to the next.
const COMMIT_DATE: &str = "2001-01-01T00:00:00Z";

/// Runs `git ARGS` in the copy, with an identity and a date of its own for
/// commits, and returns its trimmed output.
pub fn git(copy: &RepoCopy, args: &[&str]) -> Result<String> {
    let output = checked_output(
        Command::new("git")
            .args([
                "-c",
                "user.name=Cache Test",
                "-c",
                "user.email=cache-test@example.invalid",
            ])
            .args(args)
            .env("GIT_AUTHOR_DATE", COMMIT_DATE)
            .env("GIT_COMMITTER_DATE", COMMIT_DATE)
            .current_dir(copy.path()),
    )?;
    Ok(output.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_packages_a_lockfile_gained() {
        let before = "[[package]]\nname = \"itoa\"\nversion = \"1.0.0\"\n";
        let after = "[[package]]\nname = \"itoa\"\nversion = \"1.0.0\"\n\n[[package]]\nname = \"static_assertions\"\nversion = \"1.1.0\"\n";
        assert_eq!(new_packages(before, after), ["static_assertions"]);
        assert!(new_packages(after, after).is_empty());
    }
}
