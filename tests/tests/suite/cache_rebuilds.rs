//! What a change to the repository costs on rebuild, as one table of cases
//! (C1, C2, C4, C6, and the old way's checksum tag of C7), plus a change to
//! the integration suite's dependencies alone, which the service's
//! dependency layer must not see (its recipe is the service's package
//! only, not the workspace): each case makes
//! one change to a copy of the repository, rebuilds a target with
//! `ci/build_images.sh -s` and checks what BuildKit and cargo report.
//!
//! The copy is the second payload's (the same Dockerfile and script; what
//! is cached depends on them, not on the service), whose dependencies cook
//! in a fraction of the service's time. Before the change, the copy's
//! dependency stage is built once (from the cache the payload's shared
//! images left), which gives the layer and the checksum tag the rebuild is
//! compared with.

use anyhow::{Context, Result, ensure};
use integration_suite::builds::build_progress::{StepOutcome, compiled_crates, downloaded_crates};
use integration_suite::builds::build_script::{ScriptBuild, ScriptBuildRun};
use integration_suite::builds::cargo_cache_mount::{evict_crate, fetch_lockfile};
use integration_suite::builds::dockerfile::Dockerfile;
use integration_suite::builds::project_images::{BuildTurn, Target, build_turn};
use integration_suite::contract::second_payload::PayloadCopy;
use integration_suite::engine::host::host;
use integration_suite::repo::copy::RepoCopy;
use integration_suite::repo::edits::{add_dependency, append_comment, commit_all};
use rstest::rstest;

/// Each case pushes under a namespace of its own (the case's name after
/// it): the cases build the same copy first, and tags they shared would be
/// removed by one case while the other still reads them.
const NAMESPACE: &str = "localhost:5000/integration-suite-rebuilds";
/// A small crate with no dependencies of its own, not in Cargo.lock.
const NEW_CRATE: (&str, &str) = ("static_assertions", "1.1.0");
/// The integration suite's manifest: a workspace member the service does
/// not depend on.
const SUITE_MANIFEST: &str = "tests/Cargo.toml";

/// One change a developer makes.
#[derive(Debug, Clone, Copy)]
enum Change {
    /// A comment added to one source file of the payload.
    SourceFile,
    /// A new dependency of the payload, with its lockfile entry.
    NewDependency,
    /// A new dependency of the integration suite alone, with its lockfile entry.
    SuiteDependency,
}

impl Change {
    fn slug(self) -> &'static str {
        match self {
            Change::SourceFile => "source-file",
            Change::NewDependency => "new-dependency",
            Change::SuiteDependency => "suite-dependency",
        }
    }
}

/// Whether something stays as it was before the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kept {
    Same,
    Changed,
}

/// What the rebuild must show.
#[derive(Debug, Clone)]
struct Expected {
    /// `cargo chef cook`, the step that builds the dependency layer (C1).
    cook: StepOutcome,
    /// The layer that step makes, by digest (C6).
    dependency_layer: Kept,
    /// Every crate downloaded during the rebuild (C4).
    downloads: &'static [&'static str],
    /// Only the workspace's own crates compiled, none of the dependencies.
    compiles_workspace_only: bool,
    /// The old way's `builder-CHECKSUM` tag (C7).
    checksum_tag: Kept,
}

#[rstest]
#[case::c1_c6_source_edit_reuses_the_dependency_layer(
    Target::Runner,
    Change::SourceFile,
    Expected {
        cook: StepOutcome::Cached,
        dependency_layer: Kept::Same,
        downloads: &[],
        compiles_workspace_only: true,
        checksum_tag: Kept::Same,
    }
)]
#[case::c1_c4_new_dependency_rebuilds_the_layer_downloading_only_the_new_crate(
    Target::Builder,
    Change::NewDependency,
    Expected {
        cook: StepOutcome::Ran,
        dependency_layer: Kept::Changed,
        downloads: &["static_assertions 1.1.0"],
        compiles_workspace_only: false,
        checksum_tag: Kept::Changed,
    }
)]
#[case::suite_only_dependency_keeps_the_dependency_layer(
    Target::Runner,
    Change::SuiteDependency,
    Expected {
        cook: StepOutcome::Cached,
        dependency_layer: Kept::Same,
        // The planner reads the whole workspace's graph, so it fetches the
        // new crate; nothing after it changes.
        downloads: &["static_assertions 1.1.0"],
        compiles_workspace_only: true,
        // The old way's checksum covers every manifest, members or not.
        checksum_tag: Kept::Changed,
    }
)]
#[tokio::test]
async fn c2_steps_before_the_project_stay_cached_after_a_change(
    #[case] target: Target,
    #[case] change: Change,
    #[case] expected: Expected,
) -> Result<()> {
    let host = host().await;
    // The dependency layer of the unchanged payload is in the cache, and so
    // is every crate it downloaded.
    let copy = PayloadCopy::new().await?;
    let namespace = format!("{NAMESPACE}-{}", change.slug());
    let before = build(&copy, &namespace, Target::Builder, build_turn().await).await?;
    // Read now: the next run may move the dependency image's tags.
    let layer_before = top_layer(host.docker(), &before, "builder").await?;

    // One turn from here to the rebuild: no other build may touch the cargo
    // cache mount in between (a --no-cache build would empty it).
    let turn = build_turn().await;
    if let Change::NewDependency | Change::SuiteDependency = change {
        // The cache mount holds every crate the lockfile had before the
        // change (the builder may have garbage-collected it since the
        // cached dependency step last ran), and not the new one, which
        // earlier runs of this test downloaded into it.
        fetch_lockfile(&host, copy.path(), &turn).await?;
        evict_crate(&host, NEW_CRATE.0, NEW_CRATE.1, &turn).await?;
    }
    make(&copy, change)?;
    commit_all(&copy, "the change under test")?;
    let after = build(&copy, &namespace, target, turn).await?;
    eprintln!(
        "{change:?}: {} rebuilt in {:.0}s",
        target.stage(),
        after.elapsed.as_secs_f64()
    );

    // What the build log says of each step, build by build (`-s` builds the
    // dependency stage first), as the book shows it; the commit of the copy
    // is the only thing that differs between runs.
    let dockerfile = Dockerfile::load(&copy.join("docker/Dockerfile"))?;
    let outline: String = after
        .per_target
        .iter()
        .map(|(built, progress)| {
            format!(
                "building {built}:\n{}",
                progress.outline(&dockerfile.stage_names())
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    insta::with_settings!({
        filters => vec![(r#"GIT_COMMIT="[^"]*""#, r#"GIT_COMMIT="<commit>""#)]
    }, {
        insta::assert_snapshot!(format!("rebuild_steps_{}", change.slug()), outline);
    });

    // Nothing before the first project file changes with the project (C2).
    let builder = after.target_progress("builder")?;
    for step in ["rm -f /etc/apt/apt.conf.d/docker-clean", "apt-get install"] {
        assert_eq!(
            builder.outcome("toolchain", step)?,
            StepOutcome::Cached,
            "{step}"
        );
    }
    assert_eq!(
        builder.outcome("builder", "cargo chef cook")?,
        expected.cook
    );

    let layer_after = top_layer(host.docker(), &after, "builder").await?;
    assert_eq!(
        kept(layer_before == layer_after),
        expected.dependency_layer,
        "dependency layer {layer_before} before, {layer_after} after"
    );

    let downloads = every_download(&after);
    assert_eq!(
        downloads, expected.downloads,
        "crates downloaded: {downloads:?}, expected {:?}",
        expected.downloads
    );

    if expected.compiles_workspace_only {
        let compile = after
            .target_progress(target.stage())?
            .step("prod_compiled", "cargo build")?;
        assert_eq!(compile.outcome(), StepOutcome::Ran);
        let compiled = compiled_crates(compile.lines());
        ensure!(
            !compiled.is_empty()
                && compiled
                    .iter()
                    .all(|krate| krate.starts_with(&format!("{} ", copy.service))),
            "compiled more than the workspace: {compiled:?}"
        );
    }

    assert_eq!(
        kept(checksum_tag(&before)? == checksum_tag(&after)?),
        expected.checksum_tag,
        "{} before, {} after",
        checksum_tag(&before)?,
        checksum_tag(&after)?
    );
    Ok(())
}

fn make(copy: &PayloadCopy, change: Change) -> Result<()> {
    match change {
        Change::SourceFile => append_comment(
            copy,
            &copy.main_source(),
            &format!("edited by a cache test, run {}", std::process::id()),
        ),
        Change::NewDependency => add_novel_dependency(copy, &copy.manifest()),
        Change::SuiteDependency => add_novel_dependency(copy, SUITE_MANIFEST),
    }
}

/// Adds the new crate to `manifest`, plus a feature no build enables, named
/// for this run: the workspace is then one no earlier run has seen, so a
/// cached dependency step cannot be a previous run's.
fn add_novel_dependency(copy: &PayloadCopy, manifest: &str) -> Result<()> {
    add_dependency(copy, manifest, NEW_CRATE.0, NEW_CRATE.1)?;
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos();
    copy.edit(manifest, |text| {
        let feature = format!("rebuild-check-{nonce} = []\n");
        Ok(match text.find("[features]\n") {
            Some(at) => {
                let (head, tail) = text.split_at(at + "[features]\n".len());
                format!("{head}{feature}{tail}")
            }
            None => format!("{text}\n[features]\n{feature}"),
        })
    })
}

/// Builds `target` of the copy stage by stage (`-s`): the dependency stage
/// first, tagged by the manifests' checksum, then the target. The turn ends
/// with the build.
async fn build(
    copy: &RepoCopy,
    namespace: &str,
    target: Target,
    _turn: BuildTurn,
) -> Result<ScriptBuildRun> {
    ScriptBuild::in_repo(
        copy.path(),
        &[
            "-s",
            "-l",
            "-t",
            target.stage(),
            "-r",
            namespace,
            "-b",
            "cache-rebuilds",
        ],
    )
    .run()
    .await
}

fn kept(same: bool) -> Kept {
    if same { Kept::Same } else { Kept::Changed }
}

/// Every crate any step of any build of the run downloaded, as `NAME
/// VERSION`. Read build by build: with `-s` the planner runs in the
/// dependency stage's build and is reported cached in the target's.
fn every_download(run: &ScriptBuildRun) -> Vec<String> {
    run.per_target
        .iter()
        .flat_map(|(_, progress)| progress.executed())
        .flat_map(|step| downloaded_crates(step.lines()))
        .collect()
}

/// The `builder-CHECKSUM` tag the run gave the dependency image.
fn checksum_tag(run: &ScriptBuildRun) -> Result<String> {
    run.image("builder")?
        .tags
        .iter()
        .find_map(|tag| {
            tag.rsplit_once(':')
                .map(|(_, tag)| tag)
                .filter(|tag| tag.starts_with("builder-"))
        })
        .map(str::to_owned)
        .context("no builder-CHECKSUM tag on the dependency image")
}

/// The last layer of the image a run built for `stage` (for the builder
/// stage: the compiled dependencies), by its uncompressed digest.
async fn top_layer(docker: &bollard::Docker, run: &ScriptBuildRun, stage: &str) -> Result<String> {
    let image = run.image(stage)?;
    let tag = image.tags.last().context("an image without tags")?;
    let inspect = docker
        .inspect_image(tag)
        .await
        .with_context(|| format!("cannot inspect {tag}"))?;
    inspect
        .root_fs
        .and_then(|root| root.layers)
        .and_then(|layers| layers.last().cloned())
        .with_context(|| format!("{tag} has no layers"))
}
