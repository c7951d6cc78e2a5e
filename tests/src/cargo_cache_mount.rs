//! The cargo download cache that docker/Dockerfile's fetching steps share
//! through the cache mount `id=cargo-registry`, reached from a probe build
//! that mounts it the same way.

use std::path::Path;

use anyhow::Result;

use crate::buildx::{ImageBuild, unique_tag};
use crate::host::Host;
use crate::project_images::build_turn;

/// Downloads every crate `workspace`'s lockfile names into the mount, as
/// the project's fetching steps would: afterwards the mount holds them all,
/// whatever the builder's garbage collector removed since they last ran.
pub async fn fetch_lockfile(host: &Host, workspace: &Path) -> Result<()> {
    let probe = tempfile::tempdir()?;
    std::fs::write(
        probe.path().join("Dockerfile"),
        "ARG RUST_IMAGE\n\
         FROM ${RUST_IMAGE}\n\
         ARG PROBE\n\
         RUN --mount=type=bind,target=/src,readonly \\\n    \
             --mount=type=cache,id=cargo-registry,target=/usr/local/cargo/registry,sharing=locked \\\n    \
             --mount=type=cache,id=cargo-git,target=/usr/local/cargo/git,sharing=locked \\\n    \
             --mount=type=secret,id=ca_bundle,required=false \\\n    \
             echo \"probe ${PROBE}\" \\\n    \
             && if [ -s /run/secrets/ca_bundle ]; then export CARGO_HTTP_CAINFO=/run/secrets/ca_bundle; fi \\\n    \
             && cd /src && cargo fetch --locked\n",
    )?;
    let build = ImageBuild::new(workspace, unique_tag("cargo-cache-fetch"))
        .dockerfile(probe.path().join("Dockerfile"))
        .build_arg("RUST_IMAGE", &host.base_images().rust.reference)
        .build_arg("PROBE", run_marker());
    let _turn = build_turn().await;
    build.run().await?;
    Ok(())
}

/// Removes one crate's archive and unpacked source from the mount, so the
/// next build that needs it has to download it: what a test needs before it
/// can watch a new dependency arrive, whatever earlier runs left behind.
pub async fn evict_crate(host: &Host, name: &str, version: &str) -> Result<()> {
    let probe = tempfile::tempdir()?;
    let files = format!(
        "/usr/local/cargo/registry/cache/*/{name}-{version}.crate \
         /usr/local/cargo/registry/src/*/{name}-{version}"
    );
    std::fs::write(
        probe.path().join("Dockerfile"),
        format!(
            "ARG RUST_IMAGE\n\
             FROM ${{RUST_IMAGE}}\n\
             ARG PROBE\n\
             RUN --mount=type=cache,id=cargo-registry,target=/usr/local/cargo/registry,sharing=locked \\\n    \
                 echo \"probe ${{PROBE}}\" && rm -rf {files} \\\n    \
                 && if ls -d {files} 2>/dev/null; then echo still there; exit 1; fi\n"
        ),
    )?;
    let build = ImageBuild::new(probe.path(), unique_tag("cargo-cache-eviction"))
        .build_arg("RUST_IMAGE", &host.base_images().rust.reference)
        .build_arg("PROBE", run_marker());
    // A failed removal fails the step, and the error carries its log.
    let _turn = build_turn().await;
    build.run().await?;
    Ok(())
}

/// A new value each run, so a probe's step runs instead of coming from the
/// cache.
fn run_marker() -> String {
    format!("{}-{:?}", std::process::id(), std::time::SystemTime::now())
}
