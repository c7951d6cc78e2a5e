//! The Dockerfile's inputs and hygiene: what the build context holds
//! (C3, P3) and hadolint's verdict with the project's reasoned settings.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use integration_suite::builds::buildx::{ImageBuild, unique_tag};
use integration_suite::builds::dockerfile::Dockerfile;
use integration_suite::builds::project_images::build_turn;
use integration_suite::ci::validators::validators_dir;
use integration_suite::containers::run::run_to_completion;
use integration_suite::contract::service_package::{service_name, workspace_metadata};
use integration_suite::engine::host::host;
use integration_suite::repo::{repo_path, repo_root};

const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// Lists the build context exactly as the project's Dockerfile receives it
/// (same root, same .dockerignore), without copying it into a layer.
const CONTEXT_PROBE_DOCKERFILE: &str = r#"ARG RUNNER_IMAGE=debian:bookworm-slim
FROM ${RUNNER_IMAGE}
RUN --mount=type=bind,target=/context \
    cd /context && find . -maxdepth 3 -not -name . | sort > /context-listing
CMD ["cat", "/context-listing"]
"#;

#[tokio::test]
async fn c3_p3_build_context_holds_neither_git_nor_target_nor_unread_files() -> Result<()> {
    let host = host().await;
    // The probe's Dockerfile lives outside the context, as docker/Dockerfile
    // is excluded from it.
    let probe_dir = tempfile::tempdir()?;
    std::fs::write(
        probe_dir.path().join("Dockerfile"),
        CONTEXT_PROBE_DOCKERFILE,
    )?;
    let probe = {
        let _turn = build_turn().await;
        ImageBuild::new(repo_root(), unique_tag("c3-context-probe"))
            .dockerfile(probe_dir.path().join("Dockerfile"))
            .build_arg("RUNNER_IMAGE", &host.base_images().runner.reference)
            .run()
            .await?
    };
    let output = run_to_completion(host.docker(), &probe.tag, None, RUN_TIMEOUT).await?;
    ensure!(output.exit_code == 0, "probe failed: {}", output.stderr);
    let listing: Vec<&str> = output
        .stdout
        .lines()
        .map(|line| line.trim_start_matches("./"))
        .collect();

    // What the builds read: the workspace's root files, every member's
    // directory (cargo reads them all to load the workspace), and what the
    // Dockerfiles COPY from the context.
    let read = context_read_by_the_builds()?;
    for needed in &read {
        assert!(
            listing.contains(&needed.as_str()),
            "{needed} missing from the context: {listing:#?}"
        );
    }
    let unread: Vec<&str> = listing
        .iter()
        .copied()
        .filter(|entry| {
            !read.iter().any(|path| {
                entry == path
                    || entry.starts_with(&format!("{path}/"))
                    || path.starts_with(&format!("{entry}/"))
            })
        })
        .collect();
    assert!(
        unread.is_empty(),
        "in the build context but read by no build step (add them to .dockerignore): {unread:?}"
    );
    for excluded in [".git", "target", "tests/target", "tests/fixtures"] {
        assert!(
            !listing.contains(&excluded),
            "{excluded} is in the build context"
        );
    }
    Ok(())
}

/// Paths relative to the context that some build step reads.
fn context_read_by_the_builds() -> Result<Vec<String>> {
    let root = repo_root();
    let mut read: Vec<String> = ["Cargo.toml", "Cargo.lock", "rust-toolchain.toml"]
        .map(str::to_owned)
        .to_vec();
    let metadata = workspace_metadata(root)?;
    for package in metadata["packages"].as_array().context("no packages")? {
        let manifest = package["manifest_path"]
            .as_str()
            .context("no manifest path")?;
        let dir = std::path::Path::new(manifest)
            .parent()
            .and_then(|dir| dir.strip_prefix(root).ok())
            .context("a member outside the workspace")?;
        read.push(dir.display().to_string());
    }
    let service = service_name()?;
    for file in ["docker/Dockerfile", "ci/Dockerfile.cb"] {
        for instruction in Dockerfile::load(&root.join(file))?.all_instructions() {
            let words: Vec<&str> = instruction.arguments.split_whitespace().collect();
            if instruction.keyword != "COPY" || words.iter().any(|word| word.starts_with("--")) {
                continue;
            }
            for source in &words[..words.len().saturating_sub(1)] {
                let source = source.replace("${SERVICE}", service);
                let source = source.trim_end_matches('/').trim_start_matches("./");
                if !source.is_empty() && !read.iter().any(|path| path == source) {
                    read.push(source.to_owned());
                }
            }
        }
    }
    Ok(read)
}

#[test]
fn hadolint_passes_and_every_ignored_rule_has_a_reason() -> Result<()> {
    let lint = std::process::Command::new(validators_dir()?.join("hadolint"))
        .args(["--config", ".hadolint.yaml", "docker/Dockerfile"])
        .current_dir(repo_root())
        .output()
        .context("cannot run hadolint")?;
    assert!(
        lint.status.success(),
        "hadolint found problems:\n{}{}",
        String::from_utf8_lossy(&lint.stdout),
        String::from_utf8_lossy(&lint.stderr)
    );

    // Every `- RULE` under `ignored:` follows a comment explaining it.
    let config = std::fs::read_to_string(repo_path(".hadolint.yaml"))?;
    let lines: Vec<&str> = config.lines().map(str::trim).collect();
    let ignored_at = lines
        .iter()
        .position(|line| *line == "ignored:")
        .context("no ignored: list")?;
    let mut rules = 0;
    for (index, line) in lines.iter().enumerate().skip(ignored_at + 1) {
        let Some(rule) = line.strip_prefix("- ") else {
            continue;
        };
        rules += 1;
        assert!(
            lines[index - 1].starts_with('#'),
            "ignored rule {rule} has no comment saying why"
        );
    }
    assert!(rules > 0, "the ignored: list is empty; drop it instead");
    Ok(())
}
