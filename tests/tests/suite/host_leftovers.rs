//! A run of the suite removes what earlier runs of it left and nothing
//! else. Proved on a private engine, so that removing the suite's own
//! names cannot touch the images this run is using: an image under the
//! suite's name goes, while an unrelated image keeps its tag and its build
//! cache records (no prune of the engine's cache).

use anyhow::{Context, Result};
use bollard::Docker;
use integration_suite::engine::fresh_engine::FreshEngine;
use integration_suite::engine::host::host;
use integration_suite::engine::leftovers::remove_leftovers;

const UNRELATED: &str = "unrelated/probe:1";
const SUITE_NAMED: &str = "localhost:5000/integration-suite/leftover-probe:1";

#[tokio::test]
async fn leftovers_of_the_suite_go_and_an_unrelated_image_keeps_its_tag_and_build_cache()
-> Result<()> {
    let _host = host().await;
    let engine = FreshEngine::start().await?;
    let context = tempfile::tempdir()?;
    std::fs::write(
        context.path().join("Dockerfile"),
        "FROM scratch\nCOPY probe.txt /probe.txt\n",
    )?;
    std::fs::write(context.path().join("probe.txt"), "not the suite's\n")?;
    let directory = context.path().to_str().context("a UTF-8 temporary path")?;
    engine
        .docker(&["buildx", "build", "--load", "--tag", UNRELATED, directory])
        .await?;
    engine.docker(&["tag", UNRELATED, SUITE_NAMED]).await?;
    let records_before = engine.build_cache_records().await?;
    assert!(records_before > 0, "the build left no cache record");

    let docker = Docker::connect_with_unix(
        engine.docker_host().trim_start_matches("unix://"),
        120,
        bollard::API_DEFAULT_VERSION,
    )?;
    remove_leftovers(&docker).await?;

    let tags = engine
        .docker(&["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"])
        .await?
        .stdout;
    let tags: Vec<&str> = tags.lines().collect();
    assert_eq!(tags, [UNRELATED], "the tags after the suite's cleanup");
    assert_eq!(
        engine.build_cache_records().await?,
        records_before,
        "the suite's cleanup changed the build cache"
    );
    Ok(())
}
