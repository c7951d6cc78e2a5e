//! Caches that cross machines through the registry (C7, CI4): images are
//! pushed from the suite's engine, then built again on a fresh, empty
//! engine (a new CI machine; the issue's "pruned daemon": every image and
//! all build cache removed), which must take every step from the registry
//! instead of running it. Steps that run there fail at once: the fresh
//! engine has no network beyond its own bridge.
//!
//! Every build works on one snapshot of the working tree, committed in a
//! copy, shared by the tests of this file: changes made to the repository
//! while they run cannot make the two sides of a test differ. The copy is
//! the second payload's: the same Dockerfile and script, and a dependency
//! layer small enough that pushing it and pulling it back takes seconds.

use std::path::Path;

use anyhow::{Context, Result};
use integration_suite::builds::build_progress::{BuildProgress, StepOutcome};
use integration_suite::builds::build_script::{ScriptBuild, ScriptBuildRun};
use integration_suite::builds::project_images::build_turn;
use integration_suite::contract::second_payload::PayloadCopy;
use integration_suite::engine::fresh_engine::FreshEngine;
use integration_suite::engine::host::host;
use integration_suite::images::identity::image_identity;
use tokio::sync::OnceCell;

/// Each test pushes under a namespace of its own.
const INLINE_NAMESPACE: &str = "localhost:5000/integration-suite-inline-cache";
const FULL_CACHE_NAMESPACE: &str = "localhost:5000/integration-suite-full-cache";
const BY_STAGE_NAMESPACE: &str = "localhost:5000/integration-suite-by-stage";
const OTHER_BRANCH: &str = "feature/empty-engine";

/// The snapshot every test of this file builds (made once per test run,
/// so the compile steps are paid once).
async fn snapshot() -> Result<&'static PayloadCopy> {
    static SNAPSHOT: OnceCell<Result<PayloadCopy, String>> = OnceCell::const_new();
    SNAPSHOT
        .get_or_init(|| async {
            PayloadCopy::new()
                .await
                .map_err(|error| format!("{error:#}"))
        })
        .await
        .as_ref()
        .map_err(|error| anyhow::anyhow!("{error}"))
}

/// Runs the snapshot's build script against the suite's engine.
async fn build_here(tree: &Path, args: &[&str]) -> Result<ScriptBuildRun> {
    let _turn = build_turn().await;
    ScriptBuild::in_repo(tree, args).run().await
}

/// Runs the snapshot's build script against the fresh engine, after removing
/// every image and all build cache from it.
async fn build_there(engine: &FreshEngine, tree: &Path, args: &[&str]) -> Result<ScriptBuildRun> {
    engine.prune_everything().await?;
    ScriptBuild::in_repo(tree, args)
        .env("DOCKER_HOST", engine.docker_host())
        .run()
        .await
}

/// Every Dockerfile step of the build came from a cache: none executed.
fn assert_nothing_ran(progress: &BuildProgress) {
    let executed: Vec<&str> = progress
        .executed()
        .iter()
        .map(|step| step.name.as_str())
        .collect();
    assert!(
        executed.is_empty(),
        "steps ran instead of coming from the registry: {executed:#?}"
    );
}

#[tokio::test]
async fn c7_inline_cache_from_main_rebuilds_the_runner_on_an_empty_engine() -> Result<()> {
    host().await;
    let snapshot = snapshot().await?;
    let tree = snapshot.path();
    let pushed = build_here(tree, &["-p", "-r", INLINE_NAMESPACE, "-b", "main"]).await?;

    let engine = FreshEngine::start().await?;
    let rebuilt = build_there(
        &engine,
        tree,
        &["-l", "-r", INLINE_NAMESPACE, "-b", OTHER_BRANCH],
    )
    .await?;
    eprintln!(
        "runner rebuilt from the registry's inline cache in {:.0}s",
        rebuilt.elapsed.as_secs_f64()
    );

    let progress = rebuilt.target_progress("runner")?;
    // The compile steps are part of the build and reported cached.
    for (stage, step) in [
        ("builder", "cargo chef cook"),
        ("prod_compiled", "cargo build"),
        ("releaser", "install -D"),
    ] {
        assert_eq!(
            progress.outcome(stage, step)?,
            StepOutcome::Cached,
            "{stage}: {step}"
        );
    }
    assert_nothing_ran(progress);
    let here = image_identity(None, &pushed.image("runner")?.tags[0]).await?;
    let there = image_identity(
        Some(&engine.docker_host()),
        &rebuilt.image("runner")?.tags[0],
    )
    .await?;
    assert_eq!(there, here, "the empty engine built another image");
    Ok(())
}

#[tokio::test]
async fn c7_inline_cache_holds_only_the_image_so_the_builder_stage_must_run() -> Result<()> {
    host().await;
    let snapshot = snapshot().await?;
    let tree = snapshot.path();
    let _pushed = build_here(tree, &["-p", "-r", INLINE_NAMESPACE, "-b", "main"]).await?;

    let engine = FreshEngine::start().await?;
    engine.prune_everything().await?;
    // The builder target's only cache sources are images with inline
    // cache; the runner's holds none of the builder's layers, so its steps
    // run, and fail at once on the engine's isolated network.
    let log = ScriptBuild::in_repo(
        tree,
        &[
            "-l",
            "-t",
            "builder",
            "-r",
            INLINE_NAMESPACE,
            "-b",
            OTHER_BRANCH,
        ],
    )
    .env("DOCKER_HOST", engine.docker_host())
    .run_failing()
    .await?;
    let progress = BuildProgress::parse(&log)?;
    assert_eq!(
        progress.outcome("toolchain", "rm -f /etc/apt/apt.conf.d/docker-clean")?,
        StepOutcome::Ran
    );
    assert_eq!(
        progress.outcome("toolchain", "apt-get install")?,
        StepOutcome::Failed
    );
    Ok(())
}

#[tokio::test]
async fn ci4_full_registry_cache_brings_the_intermediate_stages_to_an_empty_engine() -> Result<()> {
    host().await;
    let snapshot = snapshot().await?;
    let tree = snapshot.path();
    let cache = format!("{FULL_CACHE_NAMESPACE}/{}-cache", snapshot.service);
    // CI pushes the runner only, with the cache of every stage beside it.
    let _pushed = build_here(
        tree,
        &["-p", "-r", FULL_CACHE_NAMESPACE, "-b", "main", "-c", &cache],
    )
    .await?;

    let engine = FreshEngine::start().await?;
    let rebuilt = build_there(
        &engine,
        tree,
        &[
            "-l",
            "-t",
            "builder",
            "-r",
            FULL_CACHE_NAMESPACE,
            "-b",
            OTHER_BRANCH,
            "-c",
            &cache,
        ],
    )
    .await?;
    eprintln!(
        "builder stage rebuilt from the registry's full cache in {:.0}s",
        rebuilt.elapsed.as_secs_f64()
    );
    let progress = rebuilt.target_progress("builder")?;
    for (stage, step) in [
        ("toolchain", "apt-get install"),
        ("planner", "cargo chef prepare"),
        ("builder", "cargo chef cook"),
    ] {
        assert_eq!(
            progress.outcome(stage, step)?,
            StepOutcome::Cached,
            "{stage}: {step}"
        );
    }
    assert_nothing_ran(progress);
    Ok(())
}

#[tokio::test]
async fn c7_by_stage_the_checksum_tagged_builder_image_serves_an_empty_engine() -> Result<()> {
    host().await;
    let snapshot = snapshot().await?;
    let tree = snapshot.path();
    // The runner, stage by stage: the dependency image is pushed under its
    // checksum tag only (builder is no target of its own here).
    let pushed = build_here(
        tree,
        &[
            "-s",
            "-p",
            "-t",
            "runner",
            "-r",
            BY_STAGE_NAMESPACE,
            "-b",
            "main",
        ],
    )
    .await?;
    let dependency_tag = pushed
        .image("builder")?
        .tags
        .iter()
        .find(|tag| tag.contains(":builder-"))
        .cloned()
        .context("-s tags the dependency image builder-CHECKSUM")?;

    let engine = FreshEngine::start().await?;
    // Another branch, and no builder image of any branch in the registry:
    // the dependency image is found by the manifests' checksum alone.
    let rebuilt = build_there(
        &engine,
        tree,
        &[
            "-s",
            "-l",
            "-t",
            "builder",
            "-r",
            BY_STAGE_NAMESPACE,
            "-b",
            OTHER_BRANCH,
        ],
    )
    .await?;
    assert!(
        rebuilt.image("builder")?.tags.contains(&dependency_tag),
        "{:?}",
        rebuilt.images
    );
    let progress = rebuilt.target_progress("builder")?;
    assert_eq!(
        progress.outcome("builder", "cargo chef cook")?,
        StepOutcome::Cached
    );
    assert_nothing_ran(progress);
    Ok(())
}
