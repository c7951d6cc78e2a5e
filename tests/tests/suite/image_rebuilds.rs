//! Rebuilding after the repository changes, in a copy of it: a source edit
//! reuses the dependency layer and ships the new code even when the edited
//! sources carry old modification times (C1 and the stale-build guard); a
//! new and a moved member crate leave the dependency layer working and the
//! project-independent steps cached (M1, C2). The copies are the second
//! payload's: the same Dockerfile, and dependencies that cook in a fraction
//! of the service's time.

use std::time::{Duration, SystemTime};

use anyhow::{Result, ensure};
use integration_suite::builds::build_log::{StepOutcome, step_outcome};
use integration_suite::builds::buildx::{BuiltImage, ImageBuild, unique_tag};
use integration_suite::builds::project_images::{Target, build_turn};
use integration_suite::checked_command::checked_output;
use integration_suite::containers::run::run_to_completion;
use integration_suite::contract::second_payload::PayloadCopy;
use integration_suite::contract::service_package::service_package_in;
use integration_suite::engine::host::host;
use integration_suite::repo::copy::RepoCopy;

const RUN_TIMEOUT: Duration = Duration::from_secs(60);
/// Long before any build: what a fresh clone or an unpacked archive may carry.
const OLD_MTIME_SECS: u64 = 978_307_200; // 2001-01-01

/// Builds the runner from a copy of the repository, the way the scripts
/// build the real one (pinned bases, optional CA secret).
async fn build_runner(copy: &RepoCopy, name: &str) -> Result<BuiltImage> {
    let host = host().await;
    let package = service_package_in(copy.path())?;
    let mut build = ImageBuild::new(copy.path(), unique_tag(name))
        .dockerfile(copy.join("docker/Dockerfile"))
        .target(Target::Runner.stage())
        .build_arg("SERVICE", &package.name)
        .build_arg("PORTS", package.contract.expose_words().join(" "))
        .build_arg("GIT_COMMIT", name);
    for (argument, value) in host.base_images().build_args() {
        build = build.build_arg(argument, value);
    }
    let _turn = build_turn().await;
    build.run().await
}

async fn version_of(image: &str) -> Result<String> {
    let host = host().await;
    let output = run_to_completion(host.docker(), image, Some(&["version"]), RUN_TIMEOUT).await?;
    ensure!(
        output.exit_code == 0,
        "version failed ({}): {}",
        output.exit_code,
        output.stderr
    );
    Ok(output.stdout.trim_end().to_owned())
}

#[tokio::test]
async fn c1_source_edit_reuses_the_dependency_layer_and_ships_the_new_code() -> Result<()> {
    // The dependency layer of the unchanged payload is in the cache.
    let copy = PayloadCopy::new().await?;
    let marker = format!("edited in run {}", std::process::id());
    copy.edit_version_line(&format!(
        r#"println!("{{NAME}} {{VERSION}} ({{commit}}) {marker}")"#
    ))?;
    // Every source file older than the cached artifacts: cargo's mtime check
    // alone would call a leftover placeholder binary fresh.
    copy.set_all_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(OLD_MTIME_SECS))?;

    let image = build_runner(&copy, "c1-source-edit").await?;
    assert_eq!(
        step_outcome(&image.log, "builder", "COPY --from=planner")?,
        StepOutcome::Cached
    );
    assert_eq!(
        step_outcome(&image.log, "builder", "cargo chef cook")?,
        StepOutcome::Cached
    );
    assert_eq!(
        step_outcome(&image.log, "prod_compiled", "cargo build")?,
        StepOutcome::Ran
    );
    assert_eq!(
        version_of(&image.tag).await?,
        format!("{} 0.1.0 (c1-source-edit) {marker}", copy.service)
    );
    Ok(())
}

#[tokio::test]
async fn m1_dependency_layer_follows_added_and_moved_member_crates() -> Result<()> {
    let copy = PayloadCopy::new().await?;
    let service = copy.service.clone();
    // A new member the service depends on, and the suite moved under crates/.
    // Its feature, named for this run, makes the recipe one no earlier run
    // has cooked: the dependency step cannot come from a previous run.
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos();
    copy.write(
        "crates/release_note/Cargo.toml",
        &format!(
            "[package]\nname = \"release_note\"\nversion = \"0.1.0\"\nedition.workspace = true\npublish = false\n\n\
             [features]\nrun-{run} = []\n"
        ),
    )?;
    copy.write(
        "crates/release_note/src/lib.rs",
        "pub const NOTE: &str = \"built with a new member crate\";\n",
    )?;
    copy.rename("tests", "crates/integration_suite")?;
    copy.edit("bench/Cargo.toml", |text| {
        let dependency = r#"path = "../tests""#;
        ensure!(
            text.contains(dependency),
            "the benchmark no longer depends on the suite by path: update this test"
        );
        Ok(text.replace(dependency, r#"path = "../crates/integration_suite""#))
    })?;
    copy.edit("Cargo.toml", |text| {
        let members = format!(r#"members = ["{service}", "tests", "bench"]"#);
        ensure!(
            text.contains(&members),
            "the adopted copy's members are not {members}: update this test"
        );
        Ok(text.replace(
            &members,
            &format!(
                r#"members = ["{service}", "crates/integration_suite", "bench", "crates/release_note"]"#
            ),
        ))
    })?;
    let manifest = copy.manifest();
    copy.edit(&manifest, |text| {
        let section = "[dependencies]\n";
        ensure!(text.contains(section), "no [dependencies] in {manifest}");
        Ok(text.replacen(
            section,
            "[dependencies]\nrelease_note = { path = \"../crates/release_note\" }\n",
            1,
        ))
    })?;
    copy.edit_version_line(r#"println!("{NAME} {VERSION} ({commit}) {}", release_note::NOTE)"#)?;
    update_lockfile(&copy)?;

    let image = build_runner(&copy, "m1-new-member").await?;
    // Steps that do not depend on the project stay cached (C2); the recipe
    // changed, so the dependencies are cooked again, from it alone.
    for step in ["rm -f /etc/apt/apt.conf.d/docker-clean", "apt-get install"] {
        assert_eq!(
            step_outcome(&image.log, "toolchain", step)?,
            StepOutcome::Cached,
            "{step}"
        );
    }
    assert_eq!(
        step_outcome(&image.log, "builder", "cargo chef cook")?,
        StepOutcome::Ran
    );
    assert_eq!(
        version_of(&image.tag).await?,
        format!("{service} 0.1.0 (m1-new-member) built with a new member crate")
    );
    Ok(())
}

/// Records the new member in the copy's Cargo.lock, changing nothing else
/// (every other package is already locked and in the local cache).
fn update_lockfile(copy: &RepoCopy) -> Result<()> {
    let before = std::fs::read_to_string(copy.join("Cargo.lock"))?;
    checked_output(
        std::process::Command::new("cargo")
            .args(["metadata", "--offline", "--format-version", "1"])
            .current_dir(copy.path()),
    )?;
    let after = std::fs::read_to_string(copy.join("Cargo.lock"))?;
    ensure!(
        after.contains("name = \"release_note\""),
        "Cargo.lock does not list the new member"
    );
    let removed: Vec<&str> = before
        .lines()
        .filter(|line| line.starts_with("checksum") && !after.contains(line))
        .collect();
    ensure!(
        removed.is_empty(),
        "updating the lockfile changed locked packages: {removed:?}"
    );
    Ok(())
}
