//! Every link of the rendered book resolves, fragments included, checked
//! offline by lychee: links between chapters, to headings, and from
//! chapters to the repository's files (tests, scripts, snapshots).

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use integration_suite::book::render::rendered_book;
use integration_suite::book::tools::book_tool;

struct LinkCheck {
    passed: bool,
    report: String,
}

fn check_links(dir: &Path) -> Result<LinkCheck> {
    let output = Command::new(book_tool("lychee")?)
        .args([
            "--offline",
            "--include-fragments",
            "--no-progress",
            "--format",
            "detailed",
        ])
        // mdBook's 404 page links the site root ("/"): the rendered book is it.
        .arg("--root-dir")
        .arg(dir.canonicalize()?)
        .arg(dir)
        .env("NO_COLOR", "1")
        .output()
        .context("running lychee")?;
    Ok(LinkCheck {
        passed: output.status.success(),
        report: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    })
}

#[test]
fn book_links_and_fragments_resolve_offline() -> Result<()> {
    let book = rendered_book()?;
    let check = check_links(&book.dir)?;
    assert!(
        check.passed,
        "broken links in the rendered book:\n{}",
        check.report
    );
    Ok(())
}

/// The same check on a page with a broken file link and a broken fragment:
/// lychee must reject both, or the test above would prove nothing.
#[test]
fn book_link_check_rejects_a_missing_file_and_a_missing_fragment() -> Result<()> {
    let scratch = tempfile::tempdir()?;
    std::fs::write(
        scratch.path().join("target.html"),
        "<html><body><h2 id=\"present\">Present</h2></body></html>",
    )?;
    std::fs::write(
        scratch.path().join("index.html"),
        "<html><body><a href=\"absent.html\">file</a> <a href=\"target.html#absent\">fragment</a> \
         <a href=\"target.html#present\">fine</a></body></html>",
    )?;
    let check = check_links(scratch.path())?;
    assert!(
        !check.passed,
        "lychee accepted broken links:\n{}",
        check.report
    );
    assert!(
        check.report.contains("absent.html"),
        "missing file not reported:\n{}",
        check.report
    );
    assert!(
        check.report.contains("#absent"),
        "missing fragment not reported:\n{}",
        check.report
    );
    Ok(())
}
