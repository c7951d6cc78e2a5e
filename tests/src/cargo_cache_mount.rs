//! The cargo download cache that docker/Dockerfile's fetching steps share
//! through the cache mount `id=cargo-registry`, reached from a probe build
//! that mounts it the same way.

use anyhow::Result;

use crate::buildx::{ImageBuild, unique_tag};
use crate::host::Host;
use crate::project_images::build_turn;

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
        // A new value each run, so the step runs instead of coming from the cache.
        .build_arg(
            "PROBE",
            format!("{}-{:?}", std::process::id(), std::time::SystemTime::now()),
        );
    // A failed removal fails the step, and the error carries its log.
    let _turn = build_turn().await;
    build.run().await?;
    Ok(())
}
