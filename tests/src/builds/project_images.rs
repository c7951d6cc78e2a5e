//! The project's images, one per stage of `docker/Dockerfile`, built through
//! `ci/build_images.sh -l` at most once per test run and shared by every
//! test that needs them. Builds run one at a time (see [`build_turn`]), and
//! each later stage reuses the layers of the earlier ones.

use anyhow::{Result, anyhow};
use tokio::sync::{Mutex, MutexGuard, OnceCell};

use crate::builds::build_script::{ScriptBuild, ScriptImage};

/// The suite's images are named under their own namespace of the project's
/// registry, so they never replace a user's `localhost:5000/service_discovery`
/// tags. The fixture only loads them; nothing is pushed.
pub const SUITE_REGISTRY: &str = "localhost:5000/integration-suite";

/// A stage of `docker/Dockerfile` that is an image of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    Builder,
    ProdCompiled,
    Releaser,
    Runner,
    RunnerMinimal,
    Tester,
    Lint,
}

impl Target {
    pub const ALL: [Target; 7] = [
        Target::Builder,
        Target::ProdCompiled,
        Target::Releaser,
        Target::Runner,
        Target::RunnerMinimal,
        Target::Tester,
        Target::Lint,
    ];

    /// The images meant to be deployed; they share one contract.
    pub const RUNNERS: [Target; 2] = [Target::Runner, Target::RunnerMinimal];

    /// The stage name, as `--target` takes it.
    pub fn stage(self) -> &'static str {
        match self {
            Target::Builder => "builder",
            Target::ProdCompiled => "prod_compiled",
            Target::Releaser => "releaser",
            Target::Runner => "runner",
            Target::RunnerMinimal => "runner-minimal",
            Target::Tester => "tester",
            Target::Lint => "lint",
        }
    }

    fn slot(self) -> usize {
        Target::ALL
            .iter()
            .position(|target| *target == self)
            .expect("every target is in ALL")
    }
}

/// An image of the project as the build script produced it.
#[derive(Debug, Clone)]
pub struct ProjectImage {
    pub target: Target,
    /// The image id, usable wherever the engine takes an image name.
    pub id: String,
    pub tags: Vec<String>,
    /// The build log of the script run that produced the image.
    pub log: String,
}

/// The image of `target`, built on first use. A failed build is reported to
/// every test that asks for the target, without building it again.
pub async fn project_image(target: Target) -> Result<&'static ProjectImage> {
    static IMAGES: [OnceCell<Result<ProjectImage, String>>; Target::ALL.len()] =
        [const { OnceCell::const_new() }; Target::ALL.len()];
    let built = IMAGES[target.slot()]
        .get_or_init(|| async move { build(target).await.map_err(|error| format!("{error:#}")) })
        .await;
    built
        .as_ref()
        .map_err(|error| anyhow!("building the {} image failed: {error}", target.stage()))
}

/// The right to build, held by one build (or one sequence of builds) at a
/// time; see [`build_turn`].
pub type BuildTurn = MutexGuard<'static, ()>;

/// Waits until no other image build of the suite runs. Builds share two
/// cores; one at a time finishes each sooner and keeps timings readable.
pub async fn build_turn() -> BuildTurn {
    static ONE_BUILD_AT_A_TIME: Mutex<()> = Mutex::const_new(());
    ONE_BUILD_AT_A_TIME.lock().await
}

async fn build(target: Target) -> Result<ProjectImage> {
    let _turn = build_turn().await;
    let run = ScriptBuild::new(&["-l", "-t", target.stage(), "-r", SUITE_REGISTRY])
        .run_plain()
        .await?;
    let [
        ScriptImage {
            target: stage,
            id,
            tags,
        },
    ] = <[ScriptImage; 1]>::try_from(run.images)
        .map_err(|images| anyhow!("expected one image, the script reported {images:?}"))?;
    if stage != target.stage() {
        return Err(anyhow!(
            "asked for {}, the script built {stage}",
            target.stage()
        ));
    }
    Ok(ProjectImage {
        target,
        id,
        tags,
        log: run.log,
    })
}
