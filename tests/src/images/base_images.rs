//! The base images pinned in `ci/base-images.lock` (written by
//! `ci/mirror_base_images.sh`): mirrored names with their `sha256` digests.

use std::path::Path;

use anyhow::{Context, Result, bail};

/// Where `ci/mirror_base_images.sh` writes the pins.
pub const LOCK_FILE: &str = "ci/base-images.lock";

/// A base image as pinned by the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedImage {
    /// The upstream name the Dockerfiles default to, e.g. `debian:bookworm-slim`.
    pub upstream: String,
    /// The mirrored reference, pinned: `localhost:5000/mirror/...@sha256:...`.
    pub reference: String,
    /// Where the mirror came from: `offline`, `upstream`, or `built` (the
    /// build tools, which have no upstream).
    pub source: String,
}

impl PinnedImage {
    /// The `sha256:...` digest the reference is pinned to.
    pub fn digest(&self) -> &str {
        self.reference
            .split_once('@')
            .map(|(_, digest)| digest)
            .expect("pinned references always carry a digest (checked when parsed)")
    }

    /// The mirrored repository without tag or digest, e.g. `localhost:5000/mirror/debian`.
    pub fn repository(&self) -> &str {
        let name = self
            .reference
            .split_once('@')
            .map_or(&*self.reference, |(name, _)| name);
        // A tag follows the last ':' after the last '/' (a port does not).
        match name.rsplit_once('/') {
            Some((prefix, last)) => match last.split_once(':') {
                Some((repo, _)) => &name[..prefix.len() + 1 + repo.len()],
                None => name,
            },
            None => name.split_once(':').map_or(name, |(repo, _)| repo),
        }
    }
}

/// The bases every Dockerfile of the project starts from.
#[derive(Debug, Clone)]
pub struct BaseImages {
    /// `rust:<version>-slim-bookworm`: the builder stages (`RUST_IMAGE`).
    pub rust: PinnedImage,
    /// docker/Dockerfile's `build_tools` stage on that image, built by the
    /// mirror script (`BUILD_TOOLS_IMAGE`).
    pub build_tools: PinnedImage,
    /// `debian:bookworm-slim`: the runner stage (`RUNNER_IMAGE`).
    pub runner: PinnedImage,
    /// `postgres:15-bookworm`: the database in compose setups (`POSTGRES_IMAGE`).
    pub postgres: PinnedImage,
}

impl BaseImages {
    /// Reads and checks the lock file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read {}: run ci/mirror_base_images.sh first",
                path.display()
            )
        })?;
        Self::parse(&text)
    }

    /// Parses the lock's text: comment lines start with `#`; every other
    /// line is `<upstream> <mirrored>@sha256:<digest> <source> <recipe>`
    /// (the recipe hash only matters to the mirror script).
    pub fn parse(text: &str) -> Result<Self> {
        let mut pins = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [upstream, reference, source, _recipe] = fields[..] else {
                bail!(
                    "{LOCK_FILE} line {}: expected 4 fields, found {}",
                    index + 1,
                    fields.len()
                );
            };
            if !reference.contains("@sha256:") {
                bail!(
                    "{LOCK_FILE} line {}: {reference} is not pinned by sha256 digest",
                    index + 1
                );
            }
            pins.push(PinnedImage {
                upstream: upstream.to_owned(),
                reference: reference.to_owned(),
                source: source.to_owned(),
            });
        }
        let take = |repository: &str| {
            pins.iter()
                .find(|pin| pin.upstream.split(':').next() == Some(repository))
                .cloned()
                .with_context(|| {
                    format!("no {repository} image pinned in {LOCK_FILE}: run ci/mirror_base_images.sh first")
                })
        };
        Ok(Self {
            rust: take("rust")?,
            build_tools: take("build-tools")?,
            runner: take("debian")?,
            postgres: take("postgres")?,
        })
    }

    /// Whether every base was mirrored from upstream (a host with internet
    /// access may have done so) rather than built offline; the build tools
    /// are built on every host and do not count.
    pub fn all_from_upstream(&self) -> bool {
        [&self.rust, &self.runner, &self.postgres]
            .iter()
            .all(|pin| pin.source == "upstream")
    }

    /// The build arguments the project's Dockerfiles take, set to the
    /// pinned mirrors (the same ones `ci/lib.sh` passes).
    pub fn build_args(&self) -> [(&'static str, &str); 4] {
        [
            ("RUST_IMAGE", &self.rust.reference),
            ("BUILD_TOOLS_IMAGE", &self.build_tools.reference),
            ("RUNNER_IMAGE", &self.runner.reference),
            ("POSTGRES_IMAGE", &self.postgres.reference),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = "\
# comment
debian:bookworm-slim localhost:5000/mirror/debian:bookworm-slim@sha256:aa offline 0123456789abcdef
rust:1.95-slim-bookworm localhost:5000/mirror/rust:1.95-slim-bookworm@sha256:bb offline fedcba9876543210
build-tools:1.95-slim-bookworm localhost:5000/mirror/build-tools:1.95-slim-bookworm@sha256:dd built 00112233aabbccdd
postgres:15-bookworm localhost:5000/mirror/postgres:15-bookworm@sha256:cc upstream -
";

    #[test]
    fn parses_every_pin() {
        let images = BaseImages::parse(LOCK).unwrap();
        assert_eq!(images.runner.digest(), "sha256:aa");
        assert_eq!(images.runner.repository(), "localhost:5000/mirror/debian");
        assert_eq!(images.rust.upstream, "rust:1.95-slim-bookworm");
        assert_eq!(images.postgres.source, "upstream");
        assert_eq!(images.build_tools.source, "built");
        assert_eq!(
            images.build_args()[1],
            (
                "BUILD_TOOLS_IMAGE",
                "localhost:5000/mirror/build-tools:1.95-slim-bookworm@sha256:dd"
            )
        );
        assert_eq!(
            images.build_args()[2],
            (
                "RUNNER_IMAGE",
                "localhost:5000/mirror/debian:bookworm-slim@sha256:aa"
            )
        );
    }

    #[test]
    fn rejects_a_reference_without_digest() {
        let lock = LOCK.replace("@sha256:bb", "");
        let error = BaseImages::parse(&lock).unwrap_err().to_string();
        assert!(error.contains("not pinned by sha256 digest"), "{error}");
    }

    #[test]
    fn names_the_missing_image() {
        let lock: String = LOCK
            .lines()
            .filter(|line| !line.starts_with("postgres"))
            .map(|l| format!("{l}\n"))
            .collect();
        let error = BaseImages::parse(&lock).unwrap_err().to_string();
        assert!(error.contains("no postgres image pinned"), "{error}");
    }
}
