//! The report a suite binary prints when it ends, after libtest's summary:
//! how long each test group took and every image build of
//! `ci/build_images.sh`, with how much of it came from the cache, so a
//! user sees where the time went. It is also written to
//! `target/suite-report/PACKAGE.txt`.
//!
//! Tests are timed from their [`crate::engine::host::host`] call to the end of the
//! test (the `Host` value lives that long); the few tests that need no
//! engine are not in it. Figures are printed, never asserted.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use crate::builds::build_progress::BuildProgress;
use crate::repo::repo_path;

#[derive(Default)]
struct Report {
    first_start: Option<Instant>,
    tests: Vec<TestTime>,
    builds: Vec<BuildRecord>,
    /// Where a thread panicked and the first line of what it said: the
    /// report ends with them, so a log cut to its last lines still says
    /// why the run failed.
    panics: Vec<(String, String)>,
}

struct TestTime {
    group: String,
    started: Instant,
    ended: Instant,
}

struct BuildRecord {
    what: String,
    elapsed: Duration,
    /// Per target: instructions run, and instructions found in a cache.
    targets: Vec<(String, usize, usize)>,
}

static REPORT: Mutex<Option<Report>> = Mutex::new(None);

fn with_report(change: impl FnOnce(&mut Report)) {
    static PRINT_AT_EXIT: Once = Once::new();
    PRINT_AT_EXIT.call_once(|| {
        // SAFETY: `print_at_exit` is a plain function that never unwinds
        // across the C boundary (it catches its own panics).
        unsafe {
            libc::atexit(print_at_exit);
        }
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            record_panic(info);
            previous(info);
        }));
    });
    let mut report = REPORT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    change(report.get_or_insert_with(Report::default));
}

/// Times the calling test from now until its thread ends: libtest runs each
/// test on a thread of its own, named after the test (which gives the
/// group, its module), so a test that drops its host early is still timed
/// to its end. A second call in the same test changes nothing.
pub fn time_this_test() {
    thread_local! {
        static TIMER: std::cell::RefCell<Option<TestTimer>> = const { std::cell::RefCell::new(None) };
    }
    TIMER.with(|timer| {
        timer.borrow_mut().get_or_insert_with(TestTimer::start);
    });
}

struct TestTimer {
    group: String,
    started: Instant,
}

impl TestTimer {
    fn start() -> Self {
        let name = std::thread::current()
            .name()
            .unwrap_or("unnamed")
            .to_owned();
        let group = test_group(&name).to_owned();
        let started = Instant::now();
        with_report(|report| {
            report.first_start.get_or_insert(started);
        });
        Self { group, started }
    }
}

impl Drop for TestTimer {
    fn drop(&mut self) {
        let time = TestTime {
            group: std::mem::take(&mut self.group),
            started: self.started,
            ended: Instant::now(),
        };
        with_report(|report| report.tests.push(time));
    }
}

/// Called from the panic hook: never blocks (the panicking thread may hold
/// the report's lock) and never panics itself.
fn record_panic(info: &std::panic::PanicHookInfo<'_>) {
    let Ok(mut report) = REPORT.try_lock() else {
        return;
    };
    let thread = std::thread::current()
        .name()
        .unwrap_or("unnamed thread")
        .to_owned();
    let message = info
        .payload()
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| info.payload().downcast_ref::<String>().cloned())
        .unwrap_or_default();
    let first_line = message.lines().next().unwrap_or_default();
    let location = info
        .location()
        .map(|location| format!(" ({}:{})", location.file(), location.line()))
        .unwrap_or_default();
    report
        .get_or_insert_with(Report::default)
        .panics
        .push((thread, format!("{first_line}{location}")));
}

/// `suite::cache_rebuilds::c1_...` belongs to `cache_rebuilds`.
fn test_group(name: &str) -> &str {
    let mut parts = name.split("::");
    match (parts.next(), parts.next()) {
        (Some(_), Some(group)) => group,
        (Some(only), None) => only,
        _ => name,
    }
}

/// Records one run of the build script: what it built, from where, how
/// long it took, and per target how many instructions ran or were cached.
pub fn record_build(what: String, elapsed: Duration, per_target: &[(String, BuildProgress)]) {
    let targets = per_target
        .iter()
        .map(|(target, progress)| {
            (
                target.clone(),
                progress.executed().len(),
                progress.cached().len(),
            )
        })
        .collect();
    with_report(|report| {
        report.builds.push(BuildRecord {
            what,
            elapsed,
            targets,
        })
    });
}

/// [`record_build`] for a build whose progress is BuildKit's plain text:
/// instruction steps (`#N [stage i/n] ...`) that ended `DONE` ran, those
/// marked `CACHED` came from a cache. The targets are counted together.
pub fn record_plain_build(what: String, elapsed: Duration, log: &str) {
    let mut instructions = std::collections::BTreeSet::new();
    let mut cached = std::collections::BTreeSet::new();
    let mut done = std::collections::BTreeSet::new();
    for line in log.lines() {
        let Some((id, rest)) = line.split_once(' ') else {
            continue;
        };
        if !id.starts_with('#') {
            continue;
        }
        if is_instruction_step(rest) {
            instructions.insert(id.to_owned());
        } else if rest == "CACHED" {
            cached.insert(id.to_owned());
        } else if rest.starts_with("DONE") {
            done.insert(id.to_owned());
        }
    }
    let ran = instructions
        .iter()
        .filter(|id| done.contains(*id) && !cached.contains(*id))
        .count();
    let from_cache = instructions
        .iter()
        .filter(|id| cached.contains(*id))
        .count();
    let targets = vec![("all targets".to_owned(), ran, from_cache)];
    with_report(|report| {
        report.builds.push(BuildRecord {
            what,
            elapsed,
            targets,
        })
    });
}

/// `[builder 2/5] RUN ...` is a Dockerfile instruction; `[internal] load
/// metadata for registry/name` is BuildKit's own work.
fn is_instruction_step(text: &str) -> bool {
    let Some(label) = text
        .strip_prefix('[')
        .and_then(|rest| rest.split(']').next())
    else {
        return false;
    };
    label
        .rsplit(' ')
        .next()
        .and_then(|position| position.split_once('/'))
        .is_some_and(|(step, of)| {
            !step.is_empty()
                && step.chars().all(|c| c.is_ascii_digit())
                && !of.is_empty()
                && of.chars().all(|c| c.is_ascii_digit())
        })
}

extern "C" fn print_at_exit() {
    let _ = std::panic::catch_unwind(|| {
        let report = REPORT
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(report) = report.as_ref() else {
            return;
        };
        let text = render(report);
        let mut stderr = std::io::stderr();
        let _ = writeln!(stderr, "\n{text}");
        let package = std::env::var("CARGO_PKG_NAME").unwrap_or_else(|_| "suite".to_owned());
        let dir = repo_path("target/suite-report");
        if std::fs::create_dir_all(&dir).is_ok() {
            let _ = std::fs::write(dir.join(format!("{package}.txt")), &text);
        }
    });
}

fn render(report: &Report) -> String {
    let mut text = String::new();
    let start = report.first_start.unwrap_or_else(Instant::now);
    let end = report
        .tests
        .iter()
        .map(|test| test.ended)
        .max()
        .unwrap_or(start);
    let _ = writeln!(
        text,
        "run report: {} tests that use the engine, {:.0} s from the first to the last",
        report.tests.len(),
        (end - start).as_secs_f64()
    );
    let mut groups: BTreeMap<&str, (usize, Instant, Instant, Duration)> = BTreeMap::new();
    for test in &report.tests {
        let entry =
            groups
                .entry(&test.group)
                .or_insert((0, test.started, test.ended, Duration::ZERO));
        entry.0 += 1;
        entry.1 = entry.1.min(test.started);
        entry.2 = entry.2.max(test.ended);
        entry.3 += test.ended - test.started;
    }
    let mut rows: Vec<_> = groups.into_iter().collect();
    rows.sort_by_key(|(_, (_, first, last, _))| std::cmp::Reverse(*last - *first));
    let _ = writeln!(
        text,
        "{:<28} {:>5} {:>9} {:>9}",
        "test group", "tests", "wall s", "sum s"
    );
    for (group, (count, first, last, sum)) in rows {
        let _ = writeln!(
            text,
            "{group:<28} {count:>5} {:>9.1} {:>9.1}",
            (last - first).as_secs_f64(),
            sum.as_secs_f64()
        );
    }
    let total: Duration = report.builds.iter().map(|build| build.elapsed).sum();
    let _ = writeln!(
        text,
        "\nimage builds through ci/build_images.sh: {}, {:.0} s in all",
        report.builds.len(),
        total.as_secs_f64()
    );
    for build in &report.builds {
        let targets: Vec<String> = build
            .targets
            .iter()
            .map(|(target, ran, cached)| {
                let kind = match (ran, cached) {
                    (0, _) => "cached",
                    (_, 0) => "cold",
                    _ => "partly cached",
                };
                format!("{target} {kind} ({ran} run, {cached} cached)")
            })
            .collect();
        let _ = writeln!(
            text,
            "{:>7.1} s  {}: {}",
            build.elapsed.as_secs_f64(),
            build.what,
            targets.join("; ")
        );
    }
    if !report.panics.is_empty() {
        let _ = writeln!(
            text,
            "\npanics, first line each (a test's whole output is above, under its name):"
        );
        for (thread, message) in &report.panics {
            let _ = writeln!(text, "  {thread}: {message}");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_progress_counts_run_and_cached_instructions() {
        let log = "#1 [internal] load metadata for localhost:5000/mirror/debian\n#1 DONE 0.1s\n#5 [builder 1/2] RUN cook\n#5 CACHED\n#6 [runner 2/2] COPY /opt/rel\n#6 DONE 0.3s\n#7 exporting to image\n#7 DONE 1.0s\n";
        record_plain_build("-l -t runner".to_owned(), Duration::from_secs(3), log);
        let report = REPORT.lock().unwrap();
        let build = report.as_ref().unwrap().builds.last().unwrap();
        assert_eq!(build.targets, [("all targets".to_owned(), 1, 1)]);
    }

    #[test]
    fn tests_are_grouped_by_their_module() {
        assert_eq!(
            test_group("suite::cache_rebuilds::c1_source_edit"),
            "cache_rebuilds"
        );
        assert_eq!(
            test_group("suite::contract_payloads::r8_contract::case_2_second_payload"),
            "contract_payloads"
        );
        assert_eq!(test_group("main"), "main");
    }

    #[test]
    fn groups_are_listed_longest_first_with_each_build() {
        let start = Instant::now();
        let at = |seconds| start + Duration::from_secs(seconds);
        let report = Report {
            first_start: Some(start),
            tests: vec![
                TestTime {
                    group: "quick".to_owned(),
                    started: at(0),
                    ended: at(2),
                },
                TestTime {
                    group: "slow".to_owned(),
                    started: at(1),
                    ended: at(30),
                },
            ],
            builds: vec![BuildRecord {
                what: "-l -t runner (repository)".to_owned(),
                elapsed: Duration::from_secs(12),
                targets: vec![("runner".to_owned(), 0, 9)],
            }],
            panics: Vec::new(),
        };
        let text = render(&report);
        let slow = text.find("slow").unwrap();
        let quick = text.find("quick").unwrap();
        assert!(slow < quick, "{text}");
        assert!(text.contains("runner cached (0 run, 9 cached)"), "{text}");
        assert!(text.contains("2 tests that use the engine, 30 s"), "{text}");
        assert!(!text.contains("panics"), "{text}");
    }

    #[test]
    fn a_panic_is_recorded_with_its_thread_and_ends_the_report() {
        // The hook is installed with the report.
        with_report(|_| {});
        let name = "suite::run_report::the_panicking_test";
        let outcome = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(|| panic!("the layer digest changed\nsecond line"))
            .unwrap()
            .join();
        assert!(outcome.is_err());
        let mut report = REPORT.lock().unwrap();
        let text = render(report.as_ref().unwrap());
        // Not a failure of this run: the report printed at exit leaves it out.
        report
            .as_mut()
            .unwrap()
            .panics
            .retain(|(thread, _)| thread != name);
        let last = text.lines().last().unwrap();
        assert!(
            last.starts_with(&format!(
                "  {name}: the layer digest changed (tests/src/run_report.rs:"
            )),
            "{text}"
        );
    }
}
