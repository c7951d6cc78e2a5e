//! The Dockerfiles and CI definitions pass their validators, at the
//! versions `ci/install_ci_validators.sh` pins. Each validator is first
//! shown a broken file of the same kind, so a validator that checks nothing
//! cannot pass these tests.

use std::path::Path;

use anyhow::Result;
use integration_suite::ci::checkov::{checkov, file_name};
use integration_suite::ci::definitions::{
    CIRCLECI_CONFIG, CLOUDBUILD_CONFIG, github_workflows, relative,
};
use integration_suite::ci::validators::{validate, validate_in};
use integration_suite::repo::repo_root;

#[tokio::test]
async fn ci3_hadolint_passes_both_dockerfiles() -> Result<()> {
    let broken = tempfile::tempdir()?;
    std::fs::write(
        broken.path().join("Dockerfile"),
        "FROM debian:bookworm-slim\nRUN cd /tmp && touch x\n",
    )?;
    let verdict = validate_in(broken.path(), "hadolint", &["Dockerfile"]).await?;
    verdict.assert_rejected("hadolint", "DL3003");

    // Run from the root, so both pick up the project's .hadolint.yaml.
    for dockerfile in ["docker/Dockerfile", "ci/Dockerfile.cb"] {
        validate("hadolint", &[dockerfile])
            .await?
            .assert_passed(dockerfile);
    }
    Ok(())
}

#[tokio::test]
async fn ci_circleci_cloudbuild_and_workflows_match_their_schemas() -> Result<()> {
    let broken = tempfile::tempdir()?;
    std::fs::write(
        broken.path().join("cloudbuild.yaml"),
        "steps:\n  - image: x\n",
    )?;
    let verdict = validate_in(
        broken.path(),
        "check-jsonschema",
        &["--builtin-schema", "vendor.cloudbuild", "cloudbuild.yaml"],
    )
    .await?;
    verdict.assert_rejected("check-jsonschema", "cloudbuild.yaml");

    let mut checks = vec![
        ("vendor.circle-ci", CIRCLECI_CONFIG.to_owned()),
        ("vendor.cloudbuild", CLOUDBUILD_CONFIG.to_owned()),
    ];
    let workflows = github_workflows()?;
    assert!(!workflows.is_empty(), "no GitHub workflows found");
    checks.extend(
        workflows
            .iter()
            .map(|path| ("vendor.github-workflows", relative(path))),
    );
    for (schema, file) in checks {
        let verdict = validate("check-jsonschema", &["--builtin-schema", schema, &file]).await?;
        verdict.assert_passed(&format!("{file} against {schema}"));
    }
    Ok(())
}

#[tokio::test]
async fn ci_actionlint_passes_the_workflows() -> Result<()> {
    let broken = tempfile::tempdir()?;
    let workflows = broken.path().join(".github/workflows");
    std::fs::create_dir_all(&workflows)?;
    std::fs::write(
        workflows.join("broken.yml"),
        "on: push\njobs:\n  build:\n    needs: [tests]\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo\n",
    )?;
    let verdict = validate_in(
        broken.path(),
        "actionlint",
        &[".github/workflows/broken.yml"],
    )
    .await?;
    verdict.assert_rejected("actionlint", "tests");

    // The run: scripts are checked with shellcheck too, when it is installed.
    let workflows: Vec<String> = github_workflows()?
        .iter()
        .map(|path| relative(path))
        .collect();
    assert!(!workflows.is_empty(), "no GitHub workflows found");
    let arguments: Vec<&str> = workflows.iter().map(String::as_str).collect();
    validate("actionlint", &arguments)
        .await?
        .assert_passed("actionlint");
    Ok(())
}

#[tokio::test]
async fn ci_yamllint_passes_every_yaml_file() -> Result<()> {
    let broken = tempfile::tempdir()?;
    std::fs::write(broken.path().join("broken.yml"), "key: 1\nkey: 2\n")?;
    let verdict = validate_in(broken.path(), "yamllint", &["--strict", "broken.yml"]).await?;
    verdict.assert_rejected("yamllint", "duplication of key");

    // Every YAML file of the repository, with the committed .yamllint.yaml.
    validate("yamllint", &["--strict", "."])
        .await?
        .assert_passed("yamllint");
    Ok(())
}

#[tokio::test]
async fn compose_file_matches_the_compose_specification() -> Result<()> {
    let broken = tempfile::tempdir()?;
    std::fs::write(
        broken.path().join("compose.yaml"),
        "services:\n  db:\n    ports: 5432\n",
    )?;
    let verdict = validate_in(
        broken.path(),
        "check-jsonschema",
        &["--builtin-schema", "vendor.compose-spec", "compose.yaml"],
    )
    .await?;
    verdict.assert_rejected("check-jsonschema", "compose.yaml");

    let verdict = validate(
        "check-jsonschema",
        &[
            "--builtin-schema",
            "vendor.compose-spec",
            "docker/compose.yaml",
        ],
    )
    .await?;
    verdict.assert_passed("docker/compose.yaml against vendor.compose-spec");
    Ok(())
}

/// A Dockerfile checkov must refuse: a `latest` base (CKV_DOCKER_7).
const LATEST_BASE_DOCKERFILE: &str = "FROM debian:latest\nUSER 10001\n\
HEALTHCHECK CMD true\nCMD [\"true\"]\n";

/// checkov's policies for Dockerfiles, GitHub workflows and CircleCI, on
/// every such file of the repository. Cloud Build and compose files have
/// no checkov framework; they are held to their schemas above. A skip is
/// only accepted with a reason, and every file must have been checked:
/// checkov leaves out a file it cannot read without saying so (a workflow
/// whose `cancel-in-progress` is an expression, for one).
#[tokio::test]
async fn ci_checkov_passes_the_dockerfiles_and_ci_definitions_with_reasoned_skips() -> Result<()> {
    let broken = tempfile::tempdir()?;
    std::fs::write(broken.path().join("Dockerfile"), LATEST_BASE_DOCKERFILE)?;
    let report = checkov(broken.path(), &["dockerfile"], &["Dockerfile"]).await?;
    assert!(
        !report.verdict.passed && report.failed.iter().any(|f| f.check_id == "CKV_DOCKER_7"),
        "checkov did not report the latest base as CKV_DOCKER_7:\n{}",
        report.verdict.output
    );

    let mut files = vec![
        "docker/Dockerfile".to_owned(),
        "ci/Dockerfile.cb".to_owned(),
        CIRCLECI_CONFIG.to_owned(),
    ];
    files.extend(github_workflows()?.iter().map(|path| relative(path)));
    let targets: Vec<&str> = files.iter().map(String::as_str).collect();
    let report = checkov(
        repo_root(),
        &["dockerfile", "github_actions", "circleci_pipelines"],
        &targets,
    )
    .await?;
    report.assert_clean();
    let unreasoned: Vec<String> = report
        .skipped
        .iter()
        .filter(|f| f.comment.trim().is_empty())
        .map(|f| format!("  {} in {}", f.check_id, f.file))
        .collect();
    assert!(
        unreasoned.is_empty(),
        "skips without a reason:\n{}",
        unreasoned.join("\n")
    );
    for file in &files {
        let name = file_name(Path::new(file));
        assert!(
            report
                .passed
                .iter()
                .chain(&report.skipped)
                .any(|f| f.file == name),
            "checkov checked nothing in {file}:\n{}",
            report.verdict.output
        );
    }
    Ok(())
}
