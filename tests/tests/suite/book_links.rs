//! Every link of the rendered book resolves, fragments included, checked
//! offline by lychee: links between chapters, to headings, and from
//! chapters to the repository's files (tests, scripts, snapshots), which
//! the book renders as links to the hosted repository. No link leaves the
//! book for anywhere else.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use integration_suite::book::render::{
    HOSTED_BRANCH, HOSTED_REPOSITORY, html_files, rendered_book,
};
use integration_suite::book::tools::book_tool;
use integration_suite::repo::repo_root;

struct LinkCheck {
    passed: bool,
    report: String,
}

fn check_links(dir: &Path) -> Result<LinkCheck> {
    // The hosted repository's files are this checkout's.
    let remap = format!(
        "^{}/blob/{HOSTED_BRANCH}/(.*)$ file://{}/$1",
        regex_escaped(HOSTED_REPOSITORY),
        repo_root().display()
    );
    let output = Command::new(book_tool("lychee")?)
        .args([
            "--offline",
            "--include-fragments",
            "--no-progress",
            "--format",
            "detailed",
            "--remap",
            &remap,
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

fn regex_escaped(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$".contains(c);
            special.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

/// Every `href` and `src` of the rendered book that names a scheme: only
/// the hosted repository's files, and figures the book embeds.
#[test]
fn book_links_leave_the_book_only_for_the_repository_files() -> Result<()> {
    let book = rendered_book()?;
    let repository = format!("{HOSTED_REPOSITORY}/blob/{HOSTED_BRANCH}/");
    let mut leaving = Vec::new();
    let mut to_repository = 0;
    for page in html_files(&book.dir)? {
        let text = std::fs::read_to_string(&page)?;
        for attribute in ["href=\"", "src=\""] {
            for (start, _) in text.match_indices(attribute) {
                let value = &text[start + attribute.len()..];
                let value = &value[..value.find('"').unwrap_or(value.len())];
                if value.starts_with(&repository) {
                    to_repository += 1;
                } else if value.contains("://") && !value.starts_with("data:") {
                    let name = page.strip_prefix(&book.dir).unwrap_or(&page).display();
                    leaving.push(format!("{name}: {value}"));
                }
            }
        }
    }
    assert!(
        leaving.is_empty(),
        "links leaving the book:\n{}",
        leaving.join("\n")
    );
    assert!(
        to_repository > 0,
        "no link points at the hosted repository: is the preprocessor in book.toml?"
    );
    Ok(())
}
