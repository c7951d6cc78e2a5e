//! The results as an SVG bar chart for the book: one group of bars per kind
//! of build, one bar per way (its median), and the host's own incremental
//! build as a reference line. Plain SVG text: a handful of rectangles does
//! not need a plotting library.

use std::fmt::Write as _;

use crate::report::{BUILDS, BenchResults};
use crate::ways::Way;

const WIDTH: f64 = 760.0;
const LABEL_WIDTH: f64 = 230.0;
const PLOT_WIDTH: f64 = 440.0;
const BAR_HEIGHT: f64 = 16.0;
const BAR_GAP: f64 = 4.0;
const GROUP_GAP: f64 = 22.0;
const TOP: f64 = 64.0;

fn colour(way: Way) -> &'static str {
    match way {
        Way::Naive => "#b0b0b0",
        Way::CargoChef => "#e69f00",
        Way::Project => "#0072b2",
    }
}

/// The chart as a standalone SVG document.
pub fn svg(results: &BenchResults) -> String {
    let ways = &results.ways;
    let group_height = ways.len() as f64 * (BAR_HEIGHT + BAR_GAP);
    let height = TOP + BUILDS.len() as f64 * (group_height + GROUP_GAP) + 40.0;
    let longest = BUILDS
        .iter()
        .flat_map(|(_, pick)| ways.iter().map(|way| pick(way).median))
        .chain([results.host_incremental_build.median])
        .fold(1.0, f64::max);
    let scale = PLOT_WIDTH / longest;

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="13">"#
    );
    let _ = writeln!(
        svg,
        r##"<rect width="100%" height="100%" fill="#ffffff"/><text x="10" y="22" font-size="15" font-weight="bold">Image build time, median of {} runs (seconds)</text>"##,
        results.repetitions
    );
    for (index, way) in ways.iter().enumerate() {
        let x = LABEL_WIDTH + index as f64 * 140.0;
        let _ = writeln!(
            svg,
            r#"<rect x="{x}" y="36" width="12" height="12" fill="{}"/><text x="{}" y="46">{}</text>"#,
            colour(way.way),
            x + 18.0,
            way.way.name()
        );
    }

    let mut y = TOP;
    for (label, pick) in BUILDS {
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="end">{label}</text>"#,
            LABEL_WIDTH - 10.0,
            y + group_height / 2.0 + 4.0
        );
        for way in ways {
            let seconds = pick(way).median;
            let width = (seconds * scale).max(1.0);
            let _ = writeln!(
                svg,
                r#"<rect x="{LABEL_WIDTH}" y="{y}" width="{width:.1}" height="{BAR_HEIGHT}" fill="{}"><title>{}: {seconds:.1} s</title></rect><text x="{:.1}" y="{:.1}">{seconds:.1}</text>"#,
                colour(way.way),
                way.way.name(),
                LABEL_WIDTH + width + 6.0,
                y + BAR_HEIGHT - 3.0
            );
            y += BAR_HEIGHT + BAR_GAP;
        }
        y += GROUP_GAP;
    }

    let host = results.host_incremental_build.median;
    let x = LABEL_WIDTH + host * scale;
    let _ = writeln!(
        svg,
        r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#cc0000" stroke-dasharray="4 3"/><text x="{:.1}" y="{:.1}" fill="#cc0000">host's incremental cargo build --release after the edit: {host:.1} s</text>"##,
        y - GROUP_GAP,
        LABEL_WIDTH,
        y + 6.0
    );
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ImageSizes;
    use crate::report::{Machine, RunnerRuntime, Runtime, WayResults};
    use crate::stats::Summary;

    fn summary(median: f64) -> Summary {
        Summary::of(&[median]).unwrap()
    }

    #[test]
    fn one_bar_per_way_and_build_scaled_to_the_longest() {
        let sizes = ImageSizes {
            image_bytes: 1,
            binary_bytes: 1,
        };
        let runner = RunnerRuntime {
            start_to_ready: summary(0.1),
            stop_to_exit: summary(0.1),
            exit_codes: vec![0],
            sizes,
        };
        let ways = [(Way::Naive, 220.0), (Way::Project, 440.0)]
            .map(|(way, cold)| WayResults {
                way,
                cold: summary(cold),
                source_edit: summary(cold / 4.0),
                lockfile_change: summary(cold / 2.0),
                registry_cache: summary(cold / 10.0),
                shipped: sizes,
            })
            .to_vec();
        let results = BenchResults {
            measured_at: String::new(),
            machine: Machine {
                cpus: 2,
                memory_gib: 1.0,
                engine: String::new(),
            },
            repetitions: 1,
            ways,
            host_incremental_build: summary(11.0),
            runtime: Runtime {
                trivial_container: summary(0.1),
                runner: runner.clone(),
                runner_minimal: runner,
            },
            reproducibility: None,
        };
        let svg = svg(&results);
        assert!(svg.starts_with("<svg ") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<title>").count(), 8, "{svg}");
        // The longest bar fills the plot; the others are to scale.
        assert!(
            svg.contains(r##"width="440.0" height="16" fill="#0072b2"><title>project: 440.0 s"##),
            "{svg}"
        );
        assert!(
            svg.contains(r##"width="220.0" height="16" fill="#b0b0b0"><title>naive: 220.0 s"##),
            "{svg}"
        );
        assert!(svg.contains("after the edit: 11.0 s"), "{svg}");
    }
}
