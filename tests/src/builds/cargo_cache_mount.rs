//! The cargo download cache that docker/Dockerfile's fetching steps share
//! through the cache mount `id=cargo-registry`, reached from a probe build
//! that mounts it the same way.
//!
//! Both functions take the caller's build turn: what they leave in the mount
//! only holds until another build runs, because a `--no-cache` build (the
//! refresh of C8) starts every cache mount it uses from empty. The caller
//! keeps the turn until the build that relies on the mount has run.

use std::path::Path;

use anyhow::{Result, bail};

use crate::builds::buildx::{ImageBuild, unique_tag};
use crate::builds::project_images::BuildTurn;
use crate::engine::host::Host;

/// Downloads every crate `workspace`'s lockfile names into the mount, as
/// the project's fetching steps would: afterwards the mount holds them all,
/// whatever the builder's garbage collector removed since they last ran.
pub async fn fetch_lockfile(host: &Host, workspace: &Path, _turn: &BuildTurn) -> Result<()> {
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
    build.run().await?;
    Ok(())
}

/// Removes one crate's archive and unpacked source from the mount, so the
/// next build that needs it has to download it: what a test needs before it
/// can watch a new dependency arrive, whatever earlier runs left behind.
pub async fn evict_crate(host: &Host, name: &str, version: &str, _turn: &BuildTurn) -> Result<()> {
    let files = format!("{MOUNT}/cache/*/{name}-{version}.crate {MOUNT}/src/*/{name}-{version}");
    // A failed removal fails the step, and the error carries its log.
    in_mount(
        host,
        "cargo-cache-eviction",
        &format!(
            "rm -rf {files} && if ls -d {files} 2>/dev/null; then echo still there; exit 1; fi"
        ),
    )
    .await?;
    Ok(())
}

/// Leaves a file of its own in the mount and returns its name, for
/// [`holds_mark`] to look for after other builds have run.
pub async fn leave_mark(host: &Host, _turn: &BuildTurn) -> Result<String> {
    let mark = format!(
        "mark-{}",
        run_marker().replace(|c: char| !c.is_ascii_alphanumeric(), "-")
    );
    in_mount(host, "cargo-cache-mark", &format!("touch {MOUNT}/{mark}")).await?;
    Ok(mark)
}

/// Whether the mount still holds the file [`leave_mark`] left.
pub async fn holds_mark(host: &Host, mark: &str, _turn: &BuildTurn) -> Result<bool> {
    let log = in_mount(
        host,
        "cargo-cache-mark-check",
        // The answer is put together at run time: the log also shows the
        // command itself, which must not read as an answer.
        &format!(
            "echo \"mark is $(if [ -e {MOUNT}/{mark} ]; then echo present; else echo absent; fi)\""
        ),
    )
    .await?;
    match (
        log.contains("mark is present"),
        log.contains("mark is absent"),
    ) {
        (true, false) => Ok(true),
        (false, true) => Ok(false),
        _ => bail!("the mark check printed no answer:\n{log}"),
    }
}

/// Where the project's steps mount the cargo registry cache.
const MOUNT: &str = "/usr/local/cargo/registry";

/// Runs `script` in a probe build step that mounts the cache as the
/// project's steps do, and returns the build's log.
async fn in_mount(host: &Host, name: &str, script: &str) -> Result<String> {
    let probe = tempfile::tempdir()?;
    std::fs::write(
        probe.path().join("Dockerfile"),
        format!(
            "ARG RUST_IMAGE\n\
             FROM ${{RUST_IMAGE}}\n\
             ARG PROBE\n\
             RUN --mount=type=cache,id=cargo-registry,target={MOUNT},sharing=locked \\\n    \
                 echo \"probe ${{PROBE}}\" && {script}\n"
        ),
    )?;
    let build = ImageBuild::new(probe.path(), unique_tag(name))
        .build_arg("RUST_IMAGE", &host.base_images().rust.reference)
        .build_arg("PROBE", run_marker());
    Ok(build.run().await?.log.clone())
}

/// A new value each run, so a probe's step runs instead of coming from the
/// cache.
fn run_marker() -> String {
    format!("{}-{:?}", std::process::id(), std::time::SystemTime::now())
}
