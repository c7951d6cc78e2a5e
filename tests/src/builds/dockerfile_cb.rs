//! `ci/Dockerfile.cb`, the variant for builders without BuildKit (CI3):
//! its build arguments, and a build context that carries the host's CA
//! bundle the way that Dockerfile takes it (a file in `build-ca/`).

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::images::base_images::BaseImages;
use crate::repo::copy::RepoCopy;

pub const DOCKERFILE_CB: &str = "ci/Dockerfile.cb";
/// The directory of the build context whose `*.crt` files the build stages
/// trust; empty in git.
pub const BUILD_CA_DIR: &str = "build-ca";
/// The commit the suite's builds claim. Fixed, so that a rebuild after a
/// commit reuses the compiled layers; the label holding it is redacted
/// wherever contracts are compared.
pub const SUITE_COMMIT: &str = "integration-suite";

/// `BASE_IMAGE`, `RUNNER_IMAGE` and `GIT_COMMIT`, the bases pinned to the
/// project's mirror.
pub fn build_args(base_images: &BaseImages) -> Vec<(String, String)> {
    vec![
        ("BASE_IMAGE".to_owned(), base_images.rust.reference.clone()),
        (
            "RUNNER_IMAGE".to_owned(),
            base_images.runner.reference.clone(),
        ),
        ("GIT_COMMIT".to_owned(), SUITE_COMMIT.to_owned()),
    ]
}

/// The CA bundle fetching steps must trust here (the same one the buildx
/// builds pass as a secret), if the host has one.
pub fn host_ca_bundle() -> Option<PathBuf> {
    let path = std::env::var_os("CA_BUNDLE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/etc/ssl/certs/ca-certificates.crt"));
    path.is_file().then_some(path)
}

/// A copy of the working tree with the host's CA bundle in `build-ca/`.
/// A copy, because a file added to the real tree would change the build
/// context of every other image build running meanwhile.
pub fn build_context() -> Result<RepoCopy> {
    let copy = RepoCopy::new()?;
    if let Some(bundle) = host_ca_bundle() {
        let pem = std::fs::read_to_string(&bundle)
            .with_context(|| format!("cannot read the CA bundle {}", bundle.display()))?;
        copy.write(&format!("{BUILD_CA_DIR}/host-ca-bundle.crt"), &pem)?;
    }
    Ok(copy)
}
