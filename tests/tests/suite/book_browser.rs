//! Every chapter of the rendered book opens in headless Chromium without a
//! console message, and leaves a screenshot under `target/book-screenshots/`
//! for a person (or a CI artifact upload) to look at.

use std::path::PathBuf;

use anyhow::{Context, Result};
use integration_suite::book::browser::{PageVisit, visit};
use integration_suite::book::render::rendered_book;
use integration_suite::book::sources::pages;
use integration_suite::repo::repo_path;

const SCREENSHOT_DIR: &str = "target/book-screenshots";
/// Pages opened at once: each is a whole browser.
const PARALLEL_VISITS: usize = 3;

fn screenshot_path(page: &str) -> PathBuf {
    repo_path(SCREENSHOT_DIR).join(page.replace('/', "_").replace(".md", ".png"))
}

#[test]
fn book_pages_open_in_chromium_without_console_errors() -> Result<()> {
    let book = rendered_book()?;
    let names: Vec<String> = pages()?.into_iter().map(|page| page.name).collect();
    let mut visits: Vec<Result<PageVisit>> = Vec::new();
    for batch in names.chunks(PARALLEL_VISITS) {
        let results: Vec<Result<PageVisit>> = std::thread::scope(|scope| {
            let handles: Vec<_> = batch
                .iter()
                .map(|name| {
                    let html = book.dir.join(name.replace(".md", ".html"));
                    let screenshot = screenshot_path(name);
                    scope.spawn(move || visit(&html, &screenshot))
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().expect("visit thread panicked"))
                .collect()
        });
        visits.extend(results);
    }
    let mut problems = Vec::new();
    for (name, visit) in names.iter().zip(visits) {
        let visit = visit.with_context(|| format!("opening {name}"))?;
        if !visit.console.is_empty() {
            problems.push(format!("{name}: {}", visit.console.join(" | ")));
        }
        let size = std::fs::metadata(&visit.screenshot)?.len();
        assert!(
            size > 10_000,
            "{name}: a {size}-byte screenshot cannot show a rendered page"
        );
    }
    assert!(
        problems.is_empty(),
        "console messages:\n{}",
        problems.join("\n")
    );
    Ok(())
}

/// The same check on a page whose script fails: the error must be caught,
/// or the test above would prove nothing.
#[test]
fn book_browser_check_catches_a_script_error() -> Result<()> {
    let scratch = tempfile::tempdir()?;
    let page = scratch.path().join("broken.html");
    std::fs::write(
        &page,
        "<html><body><p>broken</p><script>notDefinedAnywhere();</script></body></html>",
    )?;
    let visit = visit(&page, &scratch.path().join("broken.png"))?;
    assert!(
        visit
            .console
            .iter()
            .any(|message| message.contains("notDefinedAnywhere")),
        "the uncaught error was not captured: {:?}",
        visit.console
    );
    Ok(())
}
