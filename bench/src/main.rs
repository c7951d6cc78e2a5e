//! The build and runtime benchmark: the service built three ways (naive,
//! cargo-chef's layout, this project's docker/Dockerfile) on a private,
//! pruned engine, each timed cold, after a one-line source edit, after one
//! crate is added to the service, after one is added to the integration
//! suite alone, and from its registry cache on a pruned engine; the
//! host's own incremental release build as the reference; this project's
//! runner images started and stopped. Writes bench.json, bench.md and
//! bench.svg.
//!
//! Usage: cargo run -p bench -- \
//!            [--repetitions N] [--ways naive,cargo-chef,project] [--output DIR]
//!
//! Needs the suite's host (ci/bootstrap_host.sh, ci/mirror_base_images.sh),
//! root (it starts its own dockerd), and access to crates.io and Debian's
//! archive: a cold build downloads everything. Three repetitions of the
//! three ways take about two hours on two cores.

use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use bench::chart;
use bench::command_exit::exit_code;
use bench::engine::{BenchEngine, RegistryCache, image_sizes};
use bench::report::{BenchResults, Machine, Reproducibility, RunnerRuntime, Runtime, WayResults};
use bench::stats::Summary;
use bench::ways::{Way, parse_ways};
use integration_suite::builds::project_images::{Target, project_image};
use integration_suite::containers::startup_timing::{time_service, time_trivial_container};
use integration_suite::contract::service_package::service_name;
use integration_suite::engine::host::host;
use integration_suite::repo::copy::RepoCopy;
use integration_suite::repo::edits::{add_dependency, append_comment, commit_all};
use integration_suite::repo::repo_path;

const USAGE: &str =
    "usage: bench [--repetitions N] [--ways naive,cargo-chef,project] [--output DIR]";
/// The file the one-line edit changes, and the crate the lockfile gains:
/// the same changes the cache tests make.
/// Relative to the service's directory.
const EDITED_FILE: &str = "src/model.rs";
const NEW_CRATE: (&str, &str) = ("static_assertions", "1.1.0");
/// The integration suite's manifest, which the service does not depend on.
const SUITE_MANIFEST: &str = "tests/Cargo.toml";
/// Container starts are quick: never fewer runs than this.
const MIN_RUNTIME_RUNS: usize = 5;

struct Options {
    repetitions: usize,
    ways: Vec<Way>,
    output: PathBuf,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options> {
    let mut options = Options {
        repetitions: 3,
        ways: Way::ALL.to_vec(),
        output: repo_path("bench/results"),
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .with_context(|| format!("{name} needs a value; {USAGE}"))
        };
        match arg.as_str() {
            "--repetitions" => {
                let text = value("--repetitions")?;
                options.repetitions =
                    text.parse()
                        .ok()
                        .filter(|count| *count > 0)
                        .with_context(|| {
                            format!("--repetitions {text:?}: expected a number above 0")
                        })?;
            }
            "--ways" => options.ways = parse_ways(&value("--ways")?)?,
            "--output" => options.output = PathBuf::from(value("--output")?),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}; {USAGE}"),
        }
    }
    Ok(options)
}

/// Progress lines, stamped with the time since the start.
struct Progress(Instant);

impl Progress {
    fn say(&self, line: impl AsRef<str>) {
        let elapsed = self.0.elapsed().as_secs();
        eprintln!(
            "[{:>2}:{:02}:{:02}] {}",
            elapsed / 3600,
            elapsed / 60 % 60,
            elapsed % 60,
            line.as_ref()
        );
    }
}

/// The states of the source each way is built from.
struct Commits {
    base: (RepoCopy, String),
    suite_crate: (RepoCopy, String),
    edited: (RepoCopy, String),
    new_crate: (RepoCopy, String),
}

impl Commits {
    fn prepare() -> Result<Self> {
        let service = service_name()?;
        let edited_file = format!("{service}/{EDITED_FILE}");
        let base = RepoCopy::new()?;
        let base_commit = commit_all(&base, "as the working tree is")?;
        let suite_crate = RepoCopy::new()?;
        add_dependency(&suite_crate, SUITE_MANIFEST, NEW_CRATE.0, NEW_CRATE.1)?;
        let suite_crate_commit = commit_all(&suite_crate, "one crate added to the suite")?;
        let edited = RepoCopy::new()?;
        append_comment(&edited, &edited_file, "one line changed for the benchmark")?;
        let edited_commit = commit_all(&edited, "one-line edit")?;
        let new_crate = RepoCopy::new()?;
        append_comment(
            &new_crate,
            &edited_file,
            "one line changed for the benchmark",
        )?;
        add_dependency(
            &new_crate,
            &format!("{service}/Cargo.toml"),
            NEW_CRATE.0,
            NEW_CRATE.1,
        )?;
        let new_crate_commit = commit_all(&new_crate, "one crate added")?;
        Ok(Self {
            base: (base, base_commit),
            suite_crate: (suite_crate, suite_crate_commit),
            edited: (edited, edited_commit),
            new_crate: (new_crate, new_crate_commit),
        })
    }
}

#[derive(Default)]
struct WayRuns {
    cold: Vec<f64>,
    source_edit: Vec<f64>,
    lockfile_change: Vec<f64>,
    suite_dependency: Vec<f64>,
    registry_cache: Vec<f64>,
    shipped: Option<bench::engine::ImageSizes>,
    /// Each cold build's image id and layers, read before the next prune.
    cold_images: Vec<(String, Vec<String>)>,
}

async fn build_runs(
    options: &Options,
    engine: &BenchEngine,
    commits: &Commits,
    progress: &Progress,
) -> Result<Vec<(Way, WayRuns)>> {
    let mut runs: Vec<(Way, WayRuns)> = options
        .ways
        .iter()
        .map(|way| (*way, WayRuns::default()))
        .collect();
    for repetition in 1..=options.repetitions {
        // Ways take turns within a repetition, so a slow spell of the
        // machine does not fall on one way alone.
        for (way, record) in &mut runs {
            let way = *way;
            let step = |name: &str| format!("{name}-{repetition}");
            let say = |what: &str, seconds: f64| {
                progress.say(format!(
                    "repetition {repetition}/{}: {way}: {what} {seconds:.1} s",
                    options.repetitions
                ))
            };
            let (base, base_commit) = (&commits.base.0, &commits.base.1);

            progress.say(format!(
                "repetition {repetition}: {way}: pruning the engine, cold build"
            ));
            engine.reset().await?;
            let cold = engine
                .build(
                    way,
                    base.path(),
                    base_commit,
                    RegistryCache::Unused,
                    &step("cold"),
                )
                .await?;
            say("cold build", cold.seconds);
            record.cold.push(cold.seconds);
            if record.shipped.is_none() {
                record.shipped =
                    Some(engine.sizes(&cold.image_id, &way.binary_path(service_name()?))?);
            }
            let layers = engine.layers(&cold.image_id).await?;
            record.cold_images.push((cold.image_id, layers));

            // Untimed: the same build again, every step cached, writing the
            // registry cache the last measurement reads.
            engine
                .build(
                    way,
                    base.path(),
                    base_commit,
                    RegistryCache::Export,
                    &step("cache-export"),
                )
                .await?;

            // From the cold build's state: only the suite's manifest and
            // the lockfile differ.
            let (suite_crate, suite_crate_commit) =
                (&commits.suite_crate.0, &commits.suite_crate.1);
            let suite = engine
                .build(
                    way,
                    suite_crate.path(),
                    suite_crate_commit,
                    RegistryCache::Unused,
                    &step("suite-dependency"),
                )
                .await?;
            say("rebuild after adding a crate to the suite", suite.seconds);
            record.suite_dependency.push(suite.seconds);

            let (edited, edited_commit) = (&commits.edited.0, &commits.edited.1);
            let edit = engine
                .build(
                    way,
                    edited.path(),
                    edited_commit,
                    RegistryCache::Unused,
                    &step("source-edit"),
                )
                .await?;
            say("rebuild after the source edit", edit.seconds);
            record.source_edit.push(edit.seconds);

            let (new_crate, new_crate_commit) = (&commits.new_crate.0, &commits.new_crate.1);
            let lockfile = engine
                .build(
                    way,
                    new_crate.path(),
                    new_crate_commit,
                    RegistryCache::Unused,
                    &step("lockfile"),
                )
                .await?;
            say("rebuild after adding a crate", lockfile.seconds);
            record.lockfile_change.push(lockfile.seconds);

            engine.reset().await?;
            let cached = engine
                .build(
                    way,
                    base.path(),
                    base_commit,
                    RegistryCache::Import,
                    &step("registry-cache"),
                )
                .await?;
            say("pruned engine, from the registry cache", cached.seconds);
            record.registry_cache.push(cached.seconds);
        }
    }
    Ok(runs)
}

/// The host's incremental `cargo build --release` after the same one-line
/// edit, once per repetition, after one untimed build that warms the target
/// directory: the repository's own, so a host that has built the release
/// before starts warm.
fn host_incremental_builds(repetitions: usize, progress: &Progress) -> Result<Vec<f64>> {
    let copy = RepoCopy::new()?;
    let target_dir = repo_path("target");
    let service = service_name()?;
    let cargo_build = || -> Result<f64> {
        let started = Instant::now();
        let status = std::process::Command::new("cargo")
            .args(["build", "--release", "--locked", "--quiet", "-p", service])
            .env("CARGO_TARGET_DIR", &target_dir)
            .current_dir(copy.path())
            .stdin(Stdio::null())
            .status()
            .context("cannot run cargo")?;
        ensure!(status.success(), "cargo build --release failed on the host");
        Ok(started.elapsed().as_secs_f64())
    };
    progress.say("host: warming the release build");
    cargo_build()?;
    let mut times = Vec::new();
    for repetition in 1..=repetitions {
        append_comment(
            &copy,
            &format!("{service}/{EDITED_FILE}"),
            &format!("host edit {repetition}"),
        )?;
        let seconds = cargo_build()?;
        progress.say(format!(
            "host: incremental release build after the edit {seconds:.1} s"
        ));
        times.push(seconds);
    }
    Ok(times)
}

async fn runner_runtime(target: Target, runs: usize, progress: &Progress) -> Result<RunnerRuntime> {
    let docker = host().await.docker().clone();
    let image = &project_image(target).await?.id;
    let (mut ready, mut stop, mut exit_codes) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let times = time_service(&docker, image).await?;
        ready.push(times.start_to_ready.as_secs_f64());
        stop.push(times.stop_to_exit.as_secs_f64());
        exit_codes.push(times.exit_code);
    }
    let runtime = RunnerRuntime {
        start_to_ready: summary(&ready)?,
        stop_to_exit: summary(&stop)?,
        exit_codes,
        sizes: image_sizes(None, image, &Way::Project.binary_path(service_name()?))?,
    };
    progress.say(format!(
        "{}: start to ready {:.0} ms, stop to exit {:.0} ms (medians)",
        target.stage(),
        runtime.start_to_ready.median * 1000.0,
        runtime.stop_to_exit.median * 1000.0
    ));
    Ok(runtime)
}

async fn runtime(runs: usize, progress: &Progress) -> Result<Runtime> {
    let host = host().await;
    let base = &host.base_images().runner.reference;
    let mut trivial = Vec::new();
    for _ in 0..runs {
        trivial.push(
            time_trivial_container(host.docker(), base)
                .await?
                .as_secs_f64(),
        );
    }
    Ok(Runtime {
        trivial_container: summary(&trivial)?,
        runner: runner_runtime(Target::Runner, runs, progress).await?,
        runner_minimal: runner_runtime(Target::RunnerMinimal, runs, progress).await?,
    })
}

/// Compares the project's cold `runner` images, layer by layer.
fn reproducibility(images: &[(String, Vec<String>)]) -> Option<Reproducibility> {
    if images.len() < 2 {
        return None;
    }
    let first = images
        .first()
        .map(|(_, layers)| layers.clone())
        .unwrap_or_default();
    let first_differing_layer = images
        .iter()
        .skip(1)
        .filter_map(|(_, other)| {
            let shared = first.iter().zip(other).take_while(|(a, b)| a == b).count();
            (shared < first.len().max(other.len())).then_some(shared + 1)
        })
        .min();
    Some(Reproducibility {
        identical: images.windows(2).all(|pair| pair[0].0 == pair[1].0),
        image_ids: images.iter().map(|(id, _)| id.clone()).collect(),
        first_differing_layer,
        layer_count: first.len(),
    })
}

fn summary(runs: &[f64]) -> Result<Summary> {
    Summary::of(runs).context("no runs to summarise")
}

fn machine(engine_version: String) -> Result<Machine> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").context("cannot read /proc/meminfo")?;
    let kib: f64 = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
        .context("no MemTotal in /proc/meminfo")?;
    Ok(Machine {
        cpus: std::thread::available_parallelism().map_or(1, |count| count.get()),
        memory_gib: kib / (1024.0 * 1024.0),
        engine: engine_version,
    })
}

fn command_output(program: &str, args: &[&str]) -> Result<String> {
    let output = std::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {program}"))?;
    ensure!(output.status.success(), "{program} {args:?} failed");
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

fn write(output: &Path, results: &BenchResults) -> Result<()> {
    std::fs::create_dir_all(output)
        .with_context(|| format!("cannot create {}", output.display()))?;
    let files = [
        ("bench.json", serde_json::to_string_pretty(results)? + "\n"),
        ("bench.md", results.markdown()),
        ("bench.svg", chart::svg(results)),
    ];
    for (name, contents) in files {
        let path = output.join(name);
        std::fs::write(&path, contents)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

async fn bench(options: Options) -> Result<()> {
    let progress = Progress(Instant::now());
    let host = host().await;
    progress.say(format!(
        "{} repetition(s) of {}; build logs in target/bench-logs",
        options.repetitions,
        options
            .ways
            .iter()
            .map(|way| way.name())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    // The short measurements first: a problem with them shows in minutes,
    // not after the builds.
    let host_builds = host_incremental_builds(options.repetitions, &progress)?;
    let runtime = runtime(options.repetitions.max(MIN_RUNTIME_RUNS), &progress).await?;

    let commits = Commits::prepare()?;
    let engine = BenchEngine::start(host.base_images(), &repo_path("target/bench-logs")).await?;
    let runs = build_runs(&options, &engine, &commits, &progress).await?;
    drop(engine);
    let project_images = runs
        .iter()
        .find(|(way, _)| *way == Way::Project)
        .map(|(_, record)| record.cold_images.as_slice())
        .unwrap_or_default();
    let reproducibility = reproducibility(project_images);

    let mut ways = Vec::new();
    for (way, record) in runs {
        ways.push(WayResults {
            way,
            cold: summary(&record.cold)?,
            source_edit: summary(&record.source_edit)?,
            lockfile_change: summary(&record.lockfile_change)?,
            suite_dependency: summary(&record.suite_dependency)?,
            registry_cache: summary(&record.registry_cache)?,
            shipped: record.shipped.context("no cold build recorded a size")?,
        });
    }
    let results = BenchResults {
        measured_at: command_output("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"])?,
        machine: machine(command_output(
            "docker",
            &["version", "--format", "{{.Server.Version}}"],
        )?)?,
        repetitions: options.repetitions,
        ways,
        host_incremental_build: summary(&host_builds)?,
        runtime,
        reproducibility,
    };
    write(&options.output, &results)?;
    println!("{}", results.markdown());
    progress.say(format!("results written to {}", options.output.display()));
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    exit_code(match parse(std::env::args().skip(1)) {
        Ok(options) => bench(options).await,
        Err(error) => Err(error),
    })
}
