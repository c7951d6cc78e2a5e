//! M8 for the cache flags of `ci/build_images.sh`: `-c CACHE` (a full
//! registry cache, CI4), `-n` (refresh, C8) and `-s` (stage by stage, the
//! old way of C7), their help lines and error cases, and the buildx options
//! each turns into, read from a recording `docker` that builds nothing.
//! Other tests run the same flags for real.

use std::process::{Command, Output};

use anyhow::{Context, Result};
use assert_cmd::prelude::*;
use integration_suite::builds::build_script::BUILD_SCRIPT;
use integration_suite::ci::recorded_docker::{
    RecordedDocker, has_switch, option_values, target_of,
};
use integration_suite::engine::host::host;
use integration_suite::repo::copy::RepoCopy;
use integration_suite::repo::edits::{add_dependency_line, commit_all};
use integration_suite::repo::repo_root;
use rstest::rstest;

const REGISTRY: &str = "registry.example.invalid/team";
const CACHE: &str = "registry.example.invalid/team/service_discovery-cache";

/// Runs the script of `copy` (or of the repository) with the recording docker.
fn run_recorded(docker: &RecordedDocker, copy: Option<&RepoCopy>, args: &[&str]) -> Output {
    let root = copy.map_or_else(|| repo_root(), RepoCopy::path);
    docker.run_script(root, args).expect("the script runs")
}

fn script() -> Command {
    let root = repo_root();
    let mut command = Command::new(root.join(BUILD_SCRIPT));
    command.current_dir(root);
    command
}

#[test]
fn m8_help_documents_the_cache_flags() {
    let output = script().arg("-h").output().unwrap();
    output.clone().assert().success();
    let help = String::from_utf8_lossy(&output.stdout);
    for line_start in ["-c CACHE ", "-n ", "-s "] {
        assert!(
            help.lines()
                .any(|line| line.trim_start().starts_with(line_start)),
            "no help line for {line_start}:\n{help}"
        );
    }
}

#[rstest]
#[case::cache_without_value(&["-c"], "error: option -c needs a value")]
#[case::cache_empty(&["-c", ""], "error: -c needs a repository")]
#[case::cache_with_tag(&["-c", "localhost:5000/cache:main"], "error: -c takes a repository without tag or digest")]
#[case::cache_with_digest(&["-c", "localhost:5000/cache@sha256:00"], "error: -c takes a repository without tag or digest")]
#[case::refresh_takes_no_value(&["-n", "now"], "error: unexpected argument now")]
fn m8_bad_cache_flags_exit_1_with_one_line_saying_why(
    #[case] args: &[&str],
    #[case] first_line: &str,
) {
    let output = script().args(args).output().unwrap();
    output.clone().assert().code(1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with(first_line), "{args:?}: {stderr}");
    assert!(
        output.stdout.is_empty(),
        "{args:?} printed an image although it failed"
    );
}

#[tokio::test]
async fn ci4_cache_flag_exports_every_stage_and_reads_this_target_and_the_runner() -> Result<()> {
    // The script reads the base image pins the host fixture writes.
    host().await;
    let docker = RecordedDocker::new()?;
    let output = run_recorded(
        &docker,
        None,
        &[
            "-t",
            "tester",
            "-r",
            REGISTRY,
            "-b",
            "feature/x",
            "-c",
            CACHE,
        ],
    );
    output.clone().assert().success();
    let [build] = &docker.builds()?[..] else {
        panic!("expected one build: {:?}", docker.builds())
    };
    assert_eq!(
        option_values(build, "--cache-to"),
        [
            "type=inline".to_owned(),
            format!("type=registry,ref={CACHE}:tester-feature-x,mode=max")
        ]
    );
    let sources = option_values(build, "--cache-from");
    for expected in [
        "tester-feature-x",
        "tester-main",
        "runner-feature-x",
        "runner-main",
    ] {
        let source = format!("type=registry,ref={CACHE}:{expected}");
        assert!(
            sources.contains(&source.as_str()),
            "{source} missing from {sources:?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn c8_refresh_reads_no_cache_and_pulls_the_bases_again() -> Result<()> {
    // The script reads the base image pins the host fixture writes.
    host().await;
    let docker = RecordedDocker::new()?;
    run_recorded(
        &docker,
        None,
        &[
            "-n", "-t", "runner", "-t", "lint", "-r", REGISTRY, "-c", CACHE,
        ],
    )
    .assert()
    .success();
    let builds = docker.builds()?;
    assert_eq!(builds.len(), 2);
    for build in &builds {
        assert!(
            has_switch(build, "--no-cache") && has_switch(build, "--pull"),
            "{build:?}"
        );
        assert!(
            option_values(build, "--cache-from").is_empty(),
            "a refresh read a cache: {build:?}"
        );
        // What it builds still becomes the cache of the next builds.
        assert!(
            option_values(build, "--cache-to").contains(&"type=inline"),
            "{build:?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn c7_by_stage_builds_the_dependency_stage_first_and_reads_it_everywhere() -> Result<()> {
    // The script reads the base image pins the host fixture writes.
    host().await;
    let docker = RecordedDocker::new()?;
    let output = run_recorded(
        &docker,
        None,
        &[
            "-s", "-t", "runner", "-t", "tester", "-r", REGISTRY, "-b", "main",
        ],
    );
    output.clone().assert().success();
    let builds = docker.builds()?;
    let targets: Vec<&str> = builds
        .iter()
        .map(|build| target_of(build))
        .collect::<Result<_>>()?;
    assert_eq!(targets, ["builder", "runner", "tester"]);
    let dependency_tag = option_values(&builds[0], "--tag")
        .into_iter()
        .find(|tag| tag.starts_with(&format!("{REGISTRY}/service_discovery:builder-")))
        .context("the dependency image has no builder-CHECKSUM tag")?
        .to_owned();
    for build in &builds {
        let source = format!("type=registry,ref={dependency_tag}");
        assert!(
            option_values(build, "--cache-from").contains(&source.as_str()),
            "{build:?}"
        );
    }
    // The script reports the dependency image first, under that tag.
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout
            .lines()
            .next()
            .is_some_and(|line| line.starts_with("builder ") && line.contains(&dependency_tag)),
        "{stdout}"
    );
    Ok(())
}

#[tokio::test]
async fn c7_checksum_tag_follows_the_manifests_and_nothing_else() -> Result<()> {
    // The script reads the base image pins the host fixture writes.
    host().await;
    let copy = RepoCopy::new()?;
    commit_all(&copy, "as the working tree is")?;
    let tag_now = |docker: &RecordedDocker| -> Result<String> {
        run_recorded(
            docker,
            Some(&copy),
            &["-s", "-t", "builder", "-r", REGISTRY],
        )
        .assert()
        .success();
        let builds = docker.builds()?;
        let last = builds.last().context("no build")?;
        option_values(last, "--tag")
            .into_iter()
            .find(|tag| tag.contains(":builder-"))
            .map(str::to_owned)
            .context("no builder-CHECKSUM tag")
    };
    let docker = RecordedDocker::new()?;
    let original = tag_now(&docker)?;

    copy.edit("service_discovery/src/model.rs", |text| {
        Ok(format!("{text}\n// a source change\n"))
    })?;
    commit_all(&copy, "source only")?;
    assert_eq!(
        tag_now(&docker)?,
        original,
        "a source change renamed the dependency image"
    );

    add_dependency_line(
        &copy,
        "service_discovery/Cargo.toml",
        "static_assertions",
        "1.1.0",
    )?;
    commit_all(&copy, "a new dependency in a manifest")?;
    assert_ne!(
        tag_now(&docker)?,
        original,
        "a manifest change kept the dependency image's name"
    );
    Ok(())
}
