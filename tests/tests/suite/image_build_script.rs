//! `ci/build_images.sh` (M7, M8): its flags, the tags it gives (commit and
//! branch, never `latest`, B5), pushing to the registry, and the inline
//! cache it writes into what it pushes (C7).

use std::process::Command;

use anyhow::{Context, Result};
use assert_cmd::prelude::*;
use integration_suite::builds::build_script::{BUILD_SCRIPT, ScriptBuild};
use integration_suite::builds::project_images::{SUITE_REGISTRY, Target, project_image};
use integration_suite::ci::recorded_docker::{RecordedDocker, command_line};
use integration_suite::engine::host::{REGISTRY, host};
use integration_suite::images::config::image_config;
use integration_suite::images::identity::image_identity;
use integration_suite::registries::registry_api::tag_digest;
use integration_suite::repo::{repo_path, repo_root};

fn script() -> Command {
    let mut command = Command::new(repo_path(BUILD_SCRIPT));
    command.current_dir(repo_root());
    command
}

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The commit the script tags with: HEAD, marked when the tree has changes.
fn expected_commit_tag() -> Result<String> {
    let git = |args: &[&str]| -> Result<String> {
        let output = Command::new("git")
            .args(args)
            .current_dir(repo_root())
            .output()?;
        anyhow::ensure!(output.status.success(), "git {args:?} failed");
        Ok(String::from_utf8(output.stdout)?.trim().to_owned())
    };
    let commit = git(&["rev-parse", "HEAD"])?;
    let dirty = !git(&["status", "--porcelain"])?.is_empty();
    Ok(if dirty {
        format!("{commit}-dirty")
    } else {
        commit
    })
}

#[test]
fn m8_help_prints_usage_and_exits_0() {
    let output = script().arg("-h").output().unwrap();
    output.clone().assert().success();
    let usage = String::from_utf8_lossy(&output.stdout);
    for flag in ["-l", "-p", "-t TARGET", "-r REGISTRY", "-b BRANCH"] {
        assert!(
            usage.contains(flag),
            "usage does not mention {flag}:\n{usage}"
        );
    }
}

#[test]
fn m8_bad_invocations_exit_1_with_one_line_saying_why_then_usage() {
    let cases: [(&[&str], &str); 5] = [
        (&["-x"], "error: unknown option -x"),
        (&["-t"], "error: option -t needs a value"),
        (
            &["-t", "no_such_stage"],
            "error: unknown target no_such_stage (stages: ",
        ),
        (&["-l", "extra"], "error: unexpected argument extra"),
        (&["-r", ""], "error: -r needs a registry"),
    ];
    for (args, first_line) in cases {
        let output = script().args(args).output().unwrap();
        output.clone().assert().code(1);
        let stderr = stderr_of(&output);
        assert!(stderr.starts_with(first_line), "{args:?}: {stderr}");
        assert!(
            stderr.contains("Usage: ci/build_images.sh"),
            "{args:?}: no usage in {stderr}"
        );
        assert!(
            output.stdout.is_empty(),
            "{args:?}: printed images although it failed"
        );
    }
}

#[test]
fn m7_unknown_target_lists_the_dockerfile_stages() {
    let output = script().args(["-t", "runnr"]).output().unwrap();
    let stderr = stderr_of(&output);
    for target in Target::ALL {
        assert!(
            stderr.contains(&format!(" {} ", target.stage())),
            "{} missing from: {stderr}",
            target.stage()
        );
    }
}

/// What `ci/build_images.sh -l -t runner -b feature/x` asks of buildx, as
/// the book shows it: one command, every option the script adds. Only what
/// differs between hosts and commits is redacted.
#[tokio::test]
async fn m8_b5_a_feature_branch_build_is_one_buildx_command() -> Result<()> {
    // The script reads the base image pins the host fixture writes.
    host().await;
    let docker = RecordedDocker::new()?;
    let output = docker.run_script(repo_root(), &["-l", "-t", "runner", "-b", "feature/x"])?;
    output.clone().assert().success();
    let [build] = &docker.builds()?[..] else {
        panic!("expected one build: {:?}", docker.builds())
    };
    let root = repo_root().display().to_string();
    insta::with_settings!({
        filters => vec![
            (root.as_str(), "."),
            (r"\b[0-9a-f]{40}(-dirty)?\b", "<commit>"),
            (r"sha256:[0-9a-f]{64}", "sha256:<digest>"),
            (r"src=[^ ,']+", "src=<host CA bundle>"),
            (r"/tmp/[^ ',]+", "<temporary file>"),
            (r"SOURCE_DATE_EPOCH=[0-9]+", "SOURCE_DATE_EPOCH=<commit time>"),
        ]
    }, {
        insta::assert_snapshot!("feature_branch_buildx_command", command_line(build));
    });
    Ok(())
}

#[tokio::test]
async fn b5_tags_follow_commit_and_branch_never_latest() -> Result<()> {
    let host = host().await;
    // The fixture's build makes this one a cache hit: only the tags are new.
    let built = project_image(Target::RunnerMinimal).await?;
    let run = ScriptBuild::new(&[
        "-l",
        "-t",
        "runner-minimal",
        "-r",
        SUITE_REGISTRY,
        "-b",
        "feature/Image tags",
    ])
    .run_plain()
    .await?;
    let [image] = &run.images[..] else {
        panic!("expected one image: {:?}", run.images)
    };
    assert_eq!(
        image_identity(None, &image.id).await?,
        image_identity(None, &built.id).await?,
        "same inputs, same image"
    );

    let name = format!("{SUITE_REGISTRY}/service_discovery-runner-minimal");
    let commit = expected_commit_tag()?;
    assert_eq!(
        image.tags,
        [
            format!("{name}:{commit}"),
            format!("{name}:feature-Image-tags")
        ]
    );
    assert!(!image.tags.iter().any(|tag| tag.ends_with(":latest")));
    for tag in &image.tags {
        let inspect = host
            .docker()
            .inspect_image(tag)
            .await
            .with_context(|| format!("inspect {tag}"))?;
        assert_eq!(inspect.id.as_deref(), Some(image.id.as_str()), "{tag}");
    }
    // The binary and the image label name the same commit as the tag.
    let config = image_config(host.docker(), &image.id).await?;
    let labels = config.labels.unwrap_or_default();
    assert_eq!(
        labels.get("org.opencontainers.image.revision"),
        Some(&commit)
    );
    Ok(())
}

#[tokio::test]
async fn m8_push_sends_both_tags_with_inline_cache() -> Result<()> {
    host().await;
    project_image(Target::RunnerMinimal).await?;
    let namespace = format!("{REGISTRY}/integration-suite-push");
    let run = ScriptBuild::new(&[
        "-p",
        "-t",
        "runner-minimal",
        "-r",
        &namespace,
        "-b",
        "push-check",
    ])
    .run_plain()
    .await?;
    let [image] = &run.images[..] else {
        panic!("expected one image: {:?}", run.images)
    };
    let repository = "integration-suite-push/service_discovery-runner-minimal";
    let commit = expected_commit_tag()?;

    let by_commit = tag_digest(repository, &commit)
        .await?
        .context("commit tag not in the registry")?;
    let by_branch = tag_digest(repository, "push-check")
        .await?
        .context("branch tag not in the registry")?;
    assert_eq!(by_commit, by_branch, "both tags name one manifest");
    assert_eq!(
        by_commit, image.id,
        "the registry holds the image the script reported"
    );

    // Inline cache: the pushed image config carries the cache metadata that
    // lets a later --cache-from use its layers (C7).
    let config = registry_image_config(repository, &commit).await?;
    assert!(
        config.get("moby.buildkit.cache.v0").is_some(),
        "no inline cache in {config}"
    );
    Ok(())
}

/// The image config blob behind a tag, read over the registry API.
async fn registry_image_config(repository: &str, tag: &str) -> Result<serde_json::Value> {
    let client = reqwest::Client::new();
    let get = |url: String, accept: &'static str| {
        let client = client.clone();
        async move {
            let response = client
                .get(&url)
                .header(reqwest::header::ACCEPT, accept)
                .send()
                .await?;
            anyhow::ensure!(
                response.status().is_success(),
                "GET {url} answered {}",
                response.status()
            );
            Ok::<serde_json::Value, anyhow::Error>(response.json().await?)
        }
    };
    let base = format!("http://{REGISTRY}/v2/{repository}");
    let mut manifest = get(
        format!("{base}/manifests/{tag}"),
        "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, \
         application/vnd.docker.distribution.manifest.list.v2+json, \
         application/vnd.docker.distribution.manifest.v2+json",
    )
    .await?;
    // An index (image plus attestations): follow the image's manifest.
    if let Some(manifests) = manifest["manifests"].as_array() {
        let digest = manifests
            .iter()
            .find(|entry| entry["platform"]["os"] != "unknown")
            .and_then(|entry| entry["digest"].as_str())
            .context("no image manifest in the index")?
            .to_owned();
        manifest = get(
            format!("{base}/manifests/{digest}"),
            "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
        )
        .await?;
    }
    let config_digest = manifest["config"]["digest"]
        .as_str()
        .context("manifest without config")?;
    get(format!("{base}/blobs/{config_digest}"), "*/*").await
}
