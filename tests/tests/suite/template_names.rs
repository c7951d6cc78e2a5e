//! One name, one place: the service's name comes from its package. Files
//! that cannot read `Cargo.toml` (exec-form ENTRYPOINT and HEALTHCHECK, the
//! build argument defaults, the CI definitions, the compose file) hold a
//! literal copy, which `ci/rename.sh` rewrites; this test fails as soon as a
//! copy differs from the package name, so a hand edit cannot drift. The
//! Kubernetes manifests' object names, which take the name in kebab-case,
//! are held to it by `deploy_manifests.rs`.

use anyhow::Result;
use integration_suite::contract::service_package::{
    service_name, service_package, workspace_metadata,
};
use integration_suite::repo::{repo_path, repo_root};

/// Where a literal copy of the name stands: in `file`, between `before` and
/// the next `after` on the same line. Each place must match at least once,
/// so a place that stops matching fails instead of passing unchecked.
struct Copy {
    file: &'static str,
    before: &'static str,
    after: &'static str,
}

const fn copy(file: &'static str, before: &'static str, after: &'static str) -> Copy {
    Copy {
        file,
        before,
        after,
    }
}

const COPIES: &[Copy] = &[
    copy("Cargo.toml", "members = [\"", "\""),
    copy("tests/service/Cargo.toml", "path = \"../../", "\""),
    copy("docker/Dockerfile", "ARG SERVICE=", "\n"),
    copy("docker/Dockerfile", "[\"/opt/rel/bin/", "\""),
    copy("ci/Dockerfile.cb", "ARG SERVICE=", "\n"),
    copy("ci/Dockerfile.cb", "[\"/opt/rel/bin/", "\""),
    copy("bench/naive.Dockerfile", "ARG SERVICE=", "\n"),
    copy("bench/naive.Dockerfile", "[\"/app/target/release/", "\""),
    copy("bench/cargo-chef.Dockerfile", "ARG SERVICE=", "\n"),
    copy("bench/cargo-chef.Dockerfile", "[\"/usr/local/bin/", "\""),
    copy("docker/compose.yaml", ":-localhost:5000/", ":main}"),
    copy("docker/compose.yaml", "\nname: ", "\n"),
    copy("cloudbuild.yaml", "${_REGISTRY}/", ":${COMMIT_SHA}"),
    copy("cloudbuild.yaml", "${_REGISTRY}/", "-cache"),
    copy(".github/workflows/ci.yml", "\"$registry/", "-cache\""),
    copy(".dockerignore", "\n", "/fuzz\n"),
    copy(
        "deploy/kubernetes/deployment.yaml",
        " localhost:5000/",
        ":main",
    ),
    copy(
        "deploy/kubernetes/migrate-job.yaml",
        " localhost:5000/",
        ":main",
    ),
];

/// Every text between `before` and the next `after` that stays on one line.
fn between<'a>(text: &'a str, before: &str, after: &str) -> Vec<&'a str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(before) {
        rest = &rest[start + before.len()..];
        let line_end = rest.find('\n').unwrap_or(rest.len());
        let search_end = (line_end + after.len()).min(rest.len());
        if let Some(end) = rest[..search_end].find(after) {
            found.push(&rest[..end]);
        }
    }
    found
}

#[test]
fn template_every_literal_copy_of_the_service_name_is_the_package_name() -> Result<()> {
    let name = service_name()?;
    let mut problems = Vec::new();
    for place in COPIES {
        let text = std::fs::read_to_string(repo_path(place.file))?;
        let found = between(&text, place.before, place.after);
        if found.is_empty() {
            problems.push(format!(
                "{}: nothing between {:?} and {:?}: update this test's list of copies",
                place.file, place.before, place.after
            ));
        }
        for value in found.into_iter().filter(|value| *value != name) {
            problems.push(format!(
                "{}: {:?}{value}{:?} should name {name} (run ci/rename.sh, or fix it by hand)",
                place.file, place.before, place.after
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

/// The crate of the service's own test layer (`tests/service`).
const SERVICE_LAYER_PACKAGE: &str = "service_suite";

/// The Dockerfiles whose runners hold copies of the container contract.
const RUNNER_DOCKERFILES: [&str; 2] = ["docker/Dockerfile", "ci/Dockerfile.cb"];

/// The same for the contract: the exec-form CMD and HEALTHCHECK cannot read
/// it, the PORTS argument's default stands in for a build without the
/// script. `ci/build_images.sh` passes the ports; the rest a fork edits.
#[test]
fn template_the_dockerfiles_copies_of_the_container_contract_are_the_contract() -> Result<()> {
    let package = service_package()?;
    let contract = &package.contract;
    let expected = [
        ("ARG PORTS=\"", "\"\n", contract.expose_words().join(" ")),
        ("\nCMD [\"", "\"]", contract.foreground.clone()),
        (
            &*format!("CMD [\"/opt/rel/bin/{}\", \"", package.name),
            "\"]",
            contract.health.clone(),
        ),
    ];
    let mut problems = Vec::new();
    for file in RUNNER_DOCKERFILES {
        let text = std::fs::read_to_string(repo_path(file))?;
        for (before, after, value) in &expected {
            let found = between(&text, before, after);
            if found.is_empty() {
                problems.push(format!("{file}: nothing between {before:?} and {after:?}"));
            }
            for other in found.into_iter().filter(|found| found != value) {
                problems.push(format!(
                    "{file}: {before:?}{other}{after:?} should be {value:?}, as [package.metadata.container] says"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

#[test]
fn between_finds_each_copy_on_its_own_line() {
    let text = "a ${_REGISTRY}/x:${COMMIT_SHA}\nb ${_REGISTRY}/y-cache\n";
    assert_eq!(between(text, "${_REGISTRY}/", ":${COMMIT_SHA}"), ["x"]);
    assert_eq!(between(text, "${_REGISTRY}/", "-cache"), ["y"]);
}

/// The two layers stay apart: the pipeline layer (this crate) declares no
/// dependency on the service's package, so a fork's own service compiles
/// it; only the service's own layer does.
#[test]
fn template_the_pipeline_layer_does_not_depend_on_the_service() -> Result<()> {
    let name = service_name()?;
    let metadata = workspace_metadata(repo_root())?;
    let depends_on_service = |package: &str| -> Option<bool> {
        let found = metadata["packages"]
            .as_array()?
            .iter()
            .find(|candidate| candidate["name"] == package)?;
        Some(
            found["dependencies"]
                .as_array()?
                .iter()
                .any(|dependency| dependency["name"] == name),
        )
    };
    assert_eq!(
        depends_on_service(env!("CARGO_PKG_NAME")),
        Some(false),
        "the pipeline layer must not depend on {name}"
    );
    assert_eq!(
        depends_on_service(SERVICE_LAYER_PACKAGE),
        Some(true),
        "the service's own layer is {SERVICE_LAYER_PACKAGE}"
    );
    Ok(())
}
