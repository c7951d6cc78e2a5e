//! The benchmark's results: the JSON record, and the markdown page the book
//! includes, with each target of the project checked against the figures.

use std::fmt::Write as _;

use serde::Serialize;

use crate::engine::ImageSizes;
use crate::stats::Summary;
use crate::ways::Way;

#[derive(Debug, Clone, Serialize)]
pub struct BenchResults {
    /// When the run ended (UTC, RFC 3339).
    pub measured_at: String,
    pub machine: Machine,
    pub repetitions: usize,
    pub ways: Vec<WayResults>,
    /// The host's own incremental `cargo build --release` after the same
    /// one-line edit: the floor any image build could reach.
    pub host_incremental_build: Summary,
    pub runtime: Runtime,
    /// Measured when the project's way was built cold at least twice.
    pub reproducibility: Option<Reproducibility>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub memory_gib: f64,
    pub engine: String,
}

/// Build times of one way, in seconds, and the size of what it ships.
#[derive(Debug, Clone, Serialize)]
pub struct WayResults {
    pub way: Way,
    /// Empty build cache, base images present.
    pub cold: Summary,
    /// After a one-line change to one source file.
    pub source_edit: Summary,
    /// After adding one small crate to a manifest and the lockfile.
    pub lockfile_change: Summary,
    /// After adding the same crate to the integration suite's manifest
    /// alone: a lockfile change the service does not depend on.
    pub suite_dependency: Summary,
    /// The cold build's commit again, on a pruned engine, from the way's
    /// registry cache.
    pub registry_cache: Summary,
    pub shipped: ImageSizes,
}

/// This project's runner images, started and stopped on the host's engine.
#[derive(Debug, Clone, Serialize)]
pub struct Runtime {
    /// `true` in a container of the runner's base image, create to exit.
    pub trivial_container: Summary,
    pub runner: RunnerRuntime,
    pub runner_minimal: RunnerRuntime,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunnerRuntime {
    pub start_to_ready: Summary,
    pub stop_to_exit: Summary,
    /// Exit codes after `docker stop`, one per run.
    pub exit_codes: Vec<i64>,
    pub sizes: ImageSizes,
}

/// Whether cold builds of one commit gave one `runner` image.
#[derive(Debug, Clone, Serialize)]
pub struct Reproducibility {
    pub image_ids: Vec<String>,
    pub identical: bool,
    /// The first layer (counted from 1, bottom first) that differs between
    /// the first cold build and a later one, when one does.
    pub first_differing_layer: Option<usize>,
    pub layer_count: usize,
}

/// One target the project sets itself, checked against the figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetCheck {
    pub target: String,
    pub measured: String,
    pub met: bool,
}

const MIB: f64 = 1024.0 * 1024.0;

/// Picks one kind of build out of a way's results.
pub type Pick = fn(&WayResults) -> &Summary;

/// The kinds of build, in the order the table and the chart show them.
pub const BUILDS: [(&str, Pick); 5] = [
    ("cold (empty build cache)", |way| &way.cold),
    ("after a one-line source edit", |way| &way.source_edit),
    ("after adding one crate", |way| &way.lockfile_change),
    ("after adding a crate to the suite only", |way| {
        &way.suite_dependency
    }),
    ("pruned engine, registry cache", |way| &way.registry_cache),
];

impl BenchResults {
    fn way(&self, way: Way) -> Option<&WayResults> {
        self.ways.iter().find(|results| results.way == way)
    }

    /// The targets, each checked on medians; those that need a way the
    /// run left out are not listed.
    pub fn targets(&self) -> Vec<TargetCheck> {
        let mut checks = Vec::new();
        let Some(project) = self.way(Way::Project) else {
            return checks;
        };
        let mut against = |target: &str, step: &Summary, reference: (&str, f64), limit: f64| {
            let (name, seconds) = reference;
            let ratio = step.median / seconds;
            checks.push(TargetCheck {
                target: format!("{target} <= {limit:.2} x {name}"),
                measured: format!("{ratio:.2} x ({:.1} s against {seconds:.1} s)", step.median),
                met: ratio <= limit,
            });
        };
        let cold = ("its cold build", project.cold.median);
        if let Some(naive) = self.way(Way::Naive) {
            against(
                "cold build",
                &project.cold,
                ("naive's cold build", naive.cold.median),
                1.1,
            );
        }
        against(
            "source-edit rebuild",
            &project.source_edit,
            (
                "the host's incremental build",
                self.host_incremental_build.median,
            ),
            1.05,
        );
        against(
            "lockfile-change rebuild",
            &project.lockfile_change,
            cold,
            0.35,
        );
        against(
            "suite-only dependency rebuild",
            &project.suite_dependency,
            ("its source-edit rebuild", project.source_edit.median),
            1.1,
        );
        against(
            "rebuild from the registry cache",
            &project.registry_cache,
            cold,
            0.15,
        );
        if let Some(chef) = self.way(Way::CargoChef) {
            let pairs: Vec<(f64, f64)> = project
                .source_edit
                .runs
                .iter()
                .copied()
                .zip(chef.source_edit.runs.iter().copied())
                .collect();
            checks.push(TargetCheck {
                target: "source-edit rebuild below cargo-chef's, median and every repetition"
                    .into(),
                measured: format!(
                    "{:.1} s against {:.1} s; by repetition {}",
                    project.source_edit.median,
                    chef.source_edit.median,
                    pairs
                        .iter()
                        .map(|(ours, theirs)| format!("{ours:.1}/{theirs:.1}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                met: project.source_edit.median < chef.source_edit.median
                    && pairs.iter().all(|(ours, theirs)| ours < theirs),
            });
        }
        let runtime = &self.runtime;
        for (name, runner, allowance) in [
            ("runner", &runtime.runner, 80.0),
            ("runner-minimal", &runtime.runner_minimal, 10.0),
        ] {
            let extra = (runner.sizes.image_bytes as f64 - runner.sizes.binary_bytes as f64) / MIB;
            checks.push(TargetCheck {
                target: format!("{name} <= binary + {allowance:.0} MiB"),
                measured: format!(
                    "binary {:.1} MiB + {extra:.1} MiB",
                    runner.sizes.binary_bytes as f64 / MIB
                ),
                met: extra <= allowance,
            });
        }
        let trivial = runtime.trivial_container.median;
        for (name, runner) in [
            ("runner", &runtime.runner),
            ("runner-minimal", &runtime.runner_minimal),
        ] {
            let ratio = runner.start_to_ready.median / trivial;
            checks.push(TargetCheck {
                target: format!("{name} start to ready <= 1.5 x a trivial container's start"),
                measured: format!(
                    "{ratio:.2} x ({:.0} ms against {:.0} ms)",
                    runner.start_to_ready.median * 1000.0,
                    trivial * 1000.0
                ),
                met: ratio <= 1.5,
            });
            let clean_exits = runner.exit_codes.iter().all(|code| *code == 0);
            checks.push(TargetCheck {
                target: format!("{name} stop <= 1 s, exit 0"),
                measured: format!(
                    "{:.0} ms (slowest {:.0} ms), exit codes {:?}",
                    runner.stop_to_exit.median * 1000.0,
                    runner.stop_to_exit.runs.iter().copied().fold(0.0, f64::max) * 1000.0,
                    runner.exit_codes
                ),
                met: runner
                    .stop_to_exit
                    .runs
                    .iter()
                    .all(|seconds| *seconds <= 1.0)
                    && clean_exits,
            });
        }
        checks
    }

    /// The markdown page: what was measured, then one table per concern.
    pub fn markdown(&self) -> String {
        let mut page = String::new();
        let machine = &self.machine;
        let _ = writeln!(
            page,
            "Measured {} on {} CPUs and {:.0} GiB of memory, Docker Engine {}; \
             {} repetitions, median (minimum) in seconds.\n",
            self.measured_at, machine.cpus, machine.memory_gib, machine.engine, self.repetitions
        );
        page.push_str("| build | ");
        page.push_str(
            &self
                .ways
                .iter()
                .map(|way| way.way.name())
                .collect::<Vec<_>>()
                .join(" | "),
        );
        page.push_str(" |\n|---|");
        page.push_str(&"---:|".repeat(self.ways.len()));
        page.push('\n');
        for (label, pick) in BUILDS {
            let cells: Vec<String> = self
                .ways
                .iter()
                .map(|way| {
                    let summary = pick(way);
                    format!("{:.1} ({:.1})", summary.median, summary.min)
                })
                .collect();
            let _ = writeln!(page, "| {label} | {} |", cells.join(" | "));
        }
        let host = &self.host_incremental_build;
        let _ = writeln!(
            page,
            "\nThe host's own incremental `cargo build --release` after the same edit: \
             {:.1} s ({:.1}).\n",
            host.median, host.min
        );

        page.push_str("| shipped image | unpacked size | binary |\n|---|---:|---:|\n");
        for way in &self.ways {
            let _ = writeln!(
                page,
                "| {} | {:.1} MiB | {:.1} MiB |",
                way.way.name(),
                way.shipped.image_bytes as f64 / MIB,
                way.shipped.binary_bytes as f64 / MIB
            );
        }
        let runtime = &self.runtime;
        let _ = writeln!(
            page,
            "| project, runner-minimal | {:.1} MiB | {:.1} MiB |",
            runtime.runner_minimal.sizes.image_bytes as f64 / MIB,
            runtime.runner_minimal.sizes.binary_bytes as f64 / MIB
        );

        let _ = writeln!(
            page,
            "\n| container | start to ready (ms) | stop to exit (ms) |\n|---|---:|---:|\n\
             | trivial (`true` on the runner's base) | {:.0} ({:.0}) | |",
            runtime.trivial_container.median * 1000.0,
            runtime.trivial_container.min * 1000.0
        );
        for (name, runner) in [
            ("runner", &runtime.runner),
            ("runner-minimal", &runtime.runner_minimal),
        ] {
            let _ = writeln!(
                page,
                "| {name} | {:.0} ({:.0}) | {:.0} ({:.0}) |",
                runner.start_to_ready.median * 1000.0,
                runner.start_to_ready.min * 1000.0,
                runner.stop_to_exit.median * 1000.0,
                runner.stop_to_exit.min * 1000.0
            );
        }

        page.push_str("\n| target | measured | met |\n|---|---|---|\n");
        for check in self.targets() {
            let _ = writeln!(
                page,
                "| {} | {} | {} |",
                check.target,
                check.measured,
                if check.met { "yes" } else { "**no**" }
            );
        }

        let verdict = match &self.reproducibility {
            None => "not measured (it takes two cold builds of the project's way)".into(),
            Some(reproducibility) => reproducibility.verdict(),
        };
        let _ = writeln!(page, "\nReproducible `runner` image: {verdict}.");
        page
    }
}

impl Reproducibility {
    fn verdict(&self) -> String {
        match (self.identical, self.first_differing_layer) {
            (true, _) => format!(
                "yes: {} cold builds of one commit gave one `runner` image",
                self.image_ids.len()
            ),
            (false, Some(layer)) => format!(
                "no: the cold builds' `runner` images differ from layer {layer} of {} on",
                self.layer_count
            ),
            (false, None) => "no: the layers are identical, the image configurations differ".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(median: f64) -> Summary {
        Summary::of(&[median, median, median]).unwrap()
    }

    fn way(way: Way, cold: f64, edit: f64) -> WayResults {
        WayResults {
            way,
            cold: summary(cold),
            source_edit: summary(edit),
            lockfile_change: summary(cold * 0.3),
            suite_dependency: summary(edit),
            registry_cache: summary(cold * 0.1),
            shipped: ImageSizes {
                image_bytes: 100 << 20,
                binary_bytes: 10 << 20,
            },
        }
    }

    fn runner(image_mib: u64, stop: f64, exit_code: i64) -> RunnerRuntime {
        RunnerRuntime {
            start_to_ready: summary(0.5),
            stop_to_exit: summary(stop),
            exit_codes: vec![exit_code; 3],
            sizes: ImageSizes {
                image_bytes: image_mib << 20,
                binary_bytes: 10 << 20,
            },
        }
    }

    fn results() -> BenchResults {
        BenchResults {
            measured_at: "2026-01-01T00:00:00Z".into(),
            machine: Machine {
                cpus: 2,
                memory_gib: 24.0,
                engine: "26.1.5".into(),
            },
            repetitions: 3,
            ways: vec![
                way(Way::Naive, 380.0, 290.0),
                way(Way::CargoChef, 400.0, 60.0),
                way(Way::Project, 400.0, 50.0),
            ],
            host_incremental_build: summary(48.0),
            runtime: Runtime {
                trivial_container: summary(0.4),
                runner: runner(80, 0.3, 0),
                runner_minimal: runner(15, 1.2, 0),
            },
            reproducibility: Some(Reproducibility {
                image_ids: vec!["sha256:a".into(), "sha256:b".into()],
                identical: false,
                first_differing_layer: Some(4),
                layer_count: 4,
            }),
        }
    }

    #[test]
    fn targets_are_checked_on_medians() {
        let checks = results().targets();
        let verdict = |prefix: &str| {
            checks
                .iter()
                .find(|check| check.target.starts_with(prefix))
                .unwrap_or_else(|| panic!("no check for {prefix}: {checks:#?}"))
                .met
        };
        assert!(verdict("cold build <= 1.10 x naive"));
        assert!(verdict("source-edit rebuild <="));
        assert!(verdict("source-edit rebuild below cargo-chef's"));
        assert!(verdict("lockfile-change rebuild"));
        assert!(verdict("suite-only dependency rebuild"));
        assert!(verdict("rebuild from the registry cache"));
        assert!(verdict("runner <= binary"));
        assert!(verdict("runner-minimal <= binary"));
        assert!(verdict("runner start"));
        assert!(verdict("runner stop"));
        assert!(
            !verdict("runner-minimal stop"),
            "a 1.2 s stop misses the 1 s target"
        );
    }

    #[test]
    fn one_slower_repetition_misses_the_cargo_chef_target() {
        let mut results = results();
        let project = results
            .ways
            .iter_mut()
            .find(|way| way.way == Way::Project)
            .unwrap();
        // A median below cargo-chef's 60 s, and one repetition above it.
        project.source_edit = Summary::of(&[50.0, 50.0, 70.0]).unwrap();
        let check = results
            .targets()
            .into_iter()
            .find(|check| check.target.starts_with("source-edit rebuild below"))
            .unwrap();
        assert!(!check.met, "{check:?}");
        assert!(check.measured.contains("70.0/60.0"), "{check:?}");
    }

    #[test]
    fn a_missed_target_is_marked_in_the_page() {
        let page = results().markdown();
        assert!(
            page.contains("| runner-minimal stop <= 1 s, exit 0 | 1200 ms"),
            "{page}"
        );
        assert!(page.contains("| **no** |"), "{page}");
        assert!(
            page.contains(
                "| cold (empty build cache) | 380.0 (380.0) | 400.0 (400.0) | 400.0 (400.0) |"
            ),
            "{page}"
        );
        assert!(page.contains("differ from layer 4 of 4"), "{page}");
    }

    #[test]
    fn targets_needing_a_missing_way_are_left_out() {
        let mut partial = results();
        partial.ways.retain(|way| way.way != Way::CargoChef);
        let checks = partial.targets();
        assert!(
            !checks
                .iter()
                .any(|check| check.target.contains("cargo-chef"))
        );
        assert_eq!(checks.len(), results().targets().len() - 1);
    }
}
