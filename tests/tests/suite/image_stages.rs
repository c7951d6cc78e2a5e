//! The build stages of `docker/Dockerfile`, each built on its own with
//! `--target` through `ci/build_images.sh` (M7), and what each must and must
//! not hold: M1 builder, M2 prod_compiled, M3 releaser, M9 tester and lint,
//! with the caching layout they are built for (C5, C6, C9).

use std::time::Duration;

use anyhow::{Context, Result};
use integration_suite::builds::build_log::{StepOutcome, step_outcome, step_output};
use integration_suite::builds::project_images::{Target, project_image};
use integration_suite::containers::run::run_to_completion;
use integration_suite::engine::host::host;
use integration_suite::images::identity::image_identity;

const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// Crates the service links, whose compiled libraries the builder's
/// dependency layer must hold.
const SERVICE_DEPENDENCIES: [&str; 6] = [
    "tokio",
    "axum",
    "tonic",
    "hickory_server",
    "clap",
    "tracing_subscriber",
];

/// Runs a shell script in a container of `image`; returns its stdout.
async fn shell(image: &str, script: &str) -> Result<String> {
    let host = host().await;
    let output = run_to_completion(
        host.docker(),
        image,
        Some(&["sh", "-c", script]),
        RUN_TIMEOUT,
    )
    .await?;
    anyhow::ensure!(
        output.exit_code == 0,
        "script failed ({}): {}",
        output.exit_code,
        output.stderr
    );
    Ok(output.stdout)
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().filter(|line| !line.is_empty()).collect()
}

async fn layers(image: &str) -> Result<Vec<String>> {
    let host = host().await;
    let inspect = host
        .docker()
        .inspect_image(image)
        .await
        .with_context(|| format!("inspect {image}"))?;
    Ok(inspect
        .root_fs
        .and_then(|root_fs| root_fs.layers)
        .unwrap_or_default())
}

#[tokio::test]
async fn m7_every_stage_builds_on_its_own_and_is_loaded() -> Result<()> {
    host().await;
    for target in Target::ALL {
        let image = project_image(target).await?;
        // The build went as far as the stage's own steps, and no further.
        let stage_heading = format!("[{} ", target.stage());
        assert!(
            image.log.contains(&stage_heading),
            "{target:?}: no step of the stage in the log"
        );
        let later = Target::ALL.iter().filter(|other| {
            other.stage() != target.stage() && !image.log.contains(&format!("[{} ", other.stage()))
        });
        assert!(later.count() > 0, "{target:?}: the build ran every stage");
        // -l loaded it: every tag names the same image in the local engine
        // (by content: another test may have rebuilt the commit's tag from
        // the cache since, which changes the id and nothing else).
        let loaded = image_identity(None, &image.id).await?;
        for tag in &image.tags {
            assert_eq!(image_identity(None, tag).await?, loaded, "{tag}");
        }
    }
    Ok(())
}

#[tokio::test]
async fn m1_builder_holds_compiled_dependencies_and_no_project_source() -> Result<()> {
    let builder = project_image(Target::Builder).await?;

    let deps = shell(&builder.id, "ls /app/target/release/deps").await?;
    for dependency in SERVICE_DEPENDENCIES {
        assert!(
            deps.lines()
                .any(|file| file.starts_with(&format!("lib{dependency}-"))
                    && file.ends_with(".rlib")),
            "no compiled {dependency} in the dependency layer"
        );
    }
    // Nothing of the workspace's own crates: no placeholder artifacts for
    // cargo to mistake for the real ones (the stale-build guard).
    let members = lines(&deps)
        .into_iter()
        .filter(|file| file.contains("service_discovery"))
        .collect::<Vec<_>>();
    assert!(
        members.is_empty(),
        "workspace artifacts in the dependency layer: {members:?}"
    );
    let build_scripts = shell(
        &builder.id,
        "ls /app/target/release/build | grep '^service_discovery-' || true",
    )
    .await?;
    assert_eq!(
        build_scripts, "",
        "the service's build script output is in the dependency layer"
    );

    // No source anywhere outside the toolchain and the build output (whose
    // only .rs files are what dependencies' build scripts generate): the
    // recipe is the only project file, and the cook's placeholder tree is gone.
    let sources = shell(
        &builder.id,
        "find / -xdev -path /usr/local/rustup -prune -o -path /app/target -prune -o \
         \\( -name '*.rs' -o -name Cargo.toml -o -name Cargo.lock -o -name '*.proto' \\) -print",
    )
    .await?;
    assert_eq!(
        lines(&sources),
        Vec::<&str>::new(),
        "project files in the builder"
    );
    assert_eq!(
        shell(&builder.id, "ls -A /app; find /app/src -mindepth 1").await?,
        "recipe.json\nsrc\ntarget\n"
    );
    // The OS build dependency and the build tools, which came in with the
    // build tools image rather than being compiled here, are there.
    assert!(
        shell(&builder.id, "protoc --version")
            .await?
            .starts_with("libprotoc ")
    );
    let tools = shell(&builder.id, "cargo chef --version; sccache --version").await?;
    assert!(
        tools.contains("cargo-chef") && tools.contains("sccache "),
        "build tools missing from the builder: {tools}"
    );
    Ok(())
}

#[tokio::test]
async fn c9_apt_caches_stay_out_of_the_builder_layers() -> Result<()> {
    let builder = project_image(Target::Builder).await?;
    let report = shell(
        &builder.id,
        "ls /etc/apt/apt.conf.d; echo ---; \
         find /var/lib/apt/lists /var/cache/apt -type f -not -name lock; echo ---; \
         command -v protoc",
    )
    .await?;
    let sections: Vec<&str> = report.split("---\n").collect();
    let [apt_config, cached_files, protoc] = sections[..] else {
        panic!("unexpected report: {report}");
    };
    assert!(
        !apt_config.lines().any(|file| file == "docker-clean"),
        "docker-clean still installed: {apt_config}"
    );
    // Lists and archives lived in cache mounts, so the layers hold none
    // (apt's empty lock files may come with the base image).
    assert_eq!(cached_files, "", "apt lists or archives in the image");
    assert_eq!(protoc.trim(), "/usr/bin/protoc");
    Ok(())
}

#[tokio::test]
async fn c6_layers_are_dependencies_then_project_with_no_source_layer() -> Result<()> {
    let host = host().await;
    let builder = project_image(Target::Builder).await?;
    let compiled = project_image(Target::ProdCompiled).await?;

    // prod_compiled is the builder plus exactly one layer: the compiled project.
    let builder_layers = layers(&builder.id).await?;
    let compiled_layers = layers(&compiled.id).await?;
    assert_eq!(compiled_layers.len(), builder_layers.len() + 1);
    assert_eq!(compiled_layers[..builder_layers.len()], builder_layers[..]);

    // History, newest first: the compile step, then the cook and the recipe
    // copy; no instruction copies the source (C3, C5).
    let history = host.docker().image_history(&compiled.id).await?;
    let commands: Vec<&str> = history
        .iter()
        .map(|entry| entry.created_by.as_str())
        .collect();
    assert!(
        commands[0].contains("cargo build --release"),
        "{}",
        commands[0]
    );
    const RECIPE_COPY: &str = "COPY /app/recipe.json /app/recipe.json";
    let cook = commands
        .iter()
        .position(|command| command.contains("cargo chef cook --release"));
    let recipe = commands
        .iter()
        .position(|command| command.starts_with(RECIPE_COPY));
    assert!(
        matches!((cook, recipe), (Some(cook), Some(recipe)) if cook < recipe),
        "{commands:#?}"
    );
    // The recipe is the only file ever copied in: the source is only mounted.
    let copies: Vec<&&str> = commands
        .iter()
        .filter(|command| command.starts_with("COPY ") || command.starts_with("ADD "))
        .collect();
    assert_eq!(copies, [&format!("{RECIPE_COPY} # buildkit").as_str()]);

    // The build output sits outside the source tree, which the image lacks.
    let tree = shell(&compiled.id, "ls -A /app; find /app/src -mindepth 1").await?;
    assert_eq!(tree, "recipe.json\nsrc\ntarget\n");
    shell(
        &compiled.id,
        "test -x /app/target/release/service_discovery",
    )
    .await?;
    Ok(())
}

/// M2: the project is compiled with the release profile, outside the
/// (bind-mounted) source tree, and only the release profile is built.
#[tokio::test]
async fn m2_prod_compiled_holds_the_release_build_of_the_service() -> Result<()> {
    let compiled = project_image(Target::ProdCompiled).await?;
    let profiles = shell(&compiled.id, "ls /app/target").await?;
    assert!(
        lines(&profiles).contains(&"release"),
        "no release profile output: {profiles}"
    );
    assert!(
        !lines(&profiles).contains(&"debug"),
        "a debug build in prod_compiled: {profiles}"
    );
    let version = shell(
        &compiled.id,
        "/app/target/release/service_discovery version",
    )
    .await?;
    assert!(
        version.starts_with("service_discovery "),
        "the release binary answers version: {version}"
    );
    Ok(())
}

#[tokio::test]
async fn m3_releaser_assembles_the_explicit_release_list() -> Result<()> {
    let releaser = project_image(Target::Releaser).await?;
    let listing = shell(
        &releaser.id,
        "cd /opt/rel && find . -mindepth 1 -printf '%y %m %P\\n' | sort -k3",
    )
    .await?;
    insta::assert_snapshot!("releaser_opt_rel_listing", listing);
    let version = shell(&releaser.id, "/opt/rel/bin/service_discovery version").await?;
    assert!(version.starts_with("service_discovery "), "{version}");
    Ok(())
}

/// The test stage ran in this build, or was reused from a build with the
/// same inputs: a failing RUN is never cached, so either way it passed.
fn assert_step_passed(log: &str, stage: &str, needle: &str, success_line: &str) -> Result<()> {
    match step_outcome(log, stage, needle)? {
        StepOutcome::Cached => {}
        StepOutcome::Ran => {
            let output = step_output(log, stage, needle);
            assert!(
                output.iter().any(|line| line.contains(success_line)),
                "{output:#?}"
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn m9_tester_runs_the_workspace_tests_from_the_same_dockerfile() -> Result<()> {
    let tester = project_image(Target::Tester).await?;
    assert_step_passed(
        &tester.log,
        "tester",
        "cargo test --locked -p",
        "test result: ok",
    )?;
    // The tests ran from the bind-mounted source: the image holds none.
    assert_eq!(shell(&tester.id, "find /app/src -mindepth 1").await?, "");
    Ok(())
}

#[tokio::test]
async fn m9_lint_runs_clippy_and_rustfmt_from_the_same_dockerfile() -> Result<()> {
    let lint = project_image(Target::Lint).await?;
    assert_step_passed(&lint.log, "lint", "cargo clippy", "Finished")?;
    Ok(())
}
