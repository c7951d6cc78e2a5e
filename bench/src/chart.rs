//! The results as an SVG bar chart for the book: one group of bars per kind
//! of build, one bar per way (its median), and the host's own incremental
//! build as a reference line. The scale is logarithmic: the builds span
//! from under a second to minutes, and on a linear scale the quick ones
//! would be a pixel wide. Plain SVG text: a handful of rectangles does not
//! need a plotting library.

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
/// Where the scale starts: a bar this short or shorter has no length.
const FLOOR_SECONDS: f64 = 0.1;

/// The length of a bar of `seconds` on a logarithmic scale from
/// [`FLOOR_SECONDS`] to `longest`, which fills the plot.
fn bar_width(seconds: f64, longest: f64) -> f64 {
    let decades = (longest / FLOOR_SECONDS).log10();
    PLOT_WIDTH * (seconds.max(FLOOR_SECONDS) / FLOOR_SECONDS).log10() / decades
}

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

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="13">"#
    );
    let _ = writeln!(
        svg,
        r##"<rect width="100%" height="100%" fill="#ffffff"/><text x="10" y="22" font-size="15" font-weight="bold">Image build time, median of {} runs (seconds, logarithmic scale)</text>"##,
        results.repetitions
    );
    // One grid line per power of ten the plot reaches.
    let bottom = TOP + BUILDS.len() as f64 * (group_height + GROUP_GAP) - GROUP_GAP;
    let mut mark = 1.0;
    while mark <= longest {
        let x = LABEL_WIDTH + bar_width(mark, longest);
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{bottom:.1}" stroke="#dddddd"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="#777777" font-size="11">{mark} s</text>"##,
            TOP - 4.0,
            TOP - 6.0
        );
        mark *= 10.0;
    }
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
            let width = bar_width(seconds, longest).max(1.0);
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
    let x = LABEL_WIDTH + bar_width(host, longest);
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
                suite_dependency: summary(cold / 4.0),
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
        assert_eq!(svg.matches("<title>").count(), 10, "{svg}");
        // The longest bar fills the plot; a bar of 100 s ends where the
        // 100 s grid line is, a decade short of 1000 s.
        assert!(
            svg.contains(r##"width="440.0" height="16" fill="#0072b2"><title>project: 440.0 s"##),
            "{svg}"
        );
        let width_of = |title: &str| -> f64 {
            let end = svg.find(&format!("<title>{title}</title>")).unwrap();
            let start = svg[..end].rfind("width=\"").unwrap() + "width=\"".len();
            svg[start..].split('"').next().unwrap().parse().unwrap()
        };
        let decade = 440.0 / (4400.0f64).log10();
        assert!((width_of("naive: 22.0 s") - decade * 220.0f64.log10()).abs() < 0.1);
        // The shortest bar, a twentieth of the longest one's time, still
        // spans more than half the plot, where a linear scale gave it 22 px.
        assert!(width_of("naive: 22.0 s") > 250.0, "{svg}");
        assert!(
            svg.contains(">100 s</text>") && !svg.contains(">1000 s</text>"),
            "{svg}"
        );
        assert!(svg.contains("after the edit: 11.0 s"), "{svg}");
    }
}
