//! The book renders, and everything it shows comes from the repository:
//! every include resolves to a file and a non-empty anchor, every
//! Dockerfile, script, CI and Rust excerpt is an include of the real file,
//! and every output shown is an insta snapshot or a file the benchmark
//! writes.

use anyhow::Result;
use integration_suite::book::render::{INCLUDE_OPENER, render, rendered_book, unexpanded_includes};
use integration_suite::book::sources::{Page, code_blocks, includes, pages};

/// Code blocks typed out in the book: commands for the reader to run. Every
/// other block shows a repository file or an output and must only include
/// it, so it cannot drift from what it shows.
const TYPED_LANGUAGES: [&str; 1] = ["sh"];
/// Info strings of blocks that show output: only snapshots and benchmark
/// results may fill them. (Dockerfile excerpts are `text,dockerfile`: the
/// book's highlighter has no Dockerfile grammar and would log a warning.)
const OUTPUT_INFO: [&str; 2] = ["text", "json"];
const SNAPSHOT_EXTENSION: &str = ".snap";
const BENCH_RESULTS_DIR: &str = "bench/results/";
/// The line that opens and closes an insta snapshot's metadata header.
const SNAPSHOT_HEADER_MARK: &str = "---";

#[test]
fn book_renders_without_errors_or_unexpanded_includes() -> Result<()> {
    let book = rendered_book()?;
    assert!(book.succeeded, "mdbook build failed:\n{}", book.log);
    let errors = book.error_lines();
    assert!(
        errors.is_empty(),
        "mdbook reported errors:\n{}",
        errors.join("\n")
    );
    let leftovers = unexpanded_includes(&book.dir)?;
    assert!(
        leftovers.is_empty(),
        "rendered pages still hold {INCLUDE_OPENER}:\n{}",
        leftovers.join("\n")
    );
    Ok(())
}

/// mdBook renders an include of a missing anchor as an empty block and says
/// nothing, so each anchor is looked up here. Line ranges shift silently when
/// a file is edited, so only snapshots (whose header length is checked
/// below) may be included by line; everything else goes by anchor.
#[test]
fn book_every_include_names_an_existing_file_and_a_non_empty_anchor() -> Result<()> {
    let mut problems = Vec::new();
    for include in pages()?.iter().flat_map(includes) {
        problems.extend(include.problem());
        if include.first_line().is_some() && !include.path.ends_with(SNAPSHOT_EXTENSION) {
            problems.push(format!(
                "{}:{}: {} is included by line numbers: add ANCHOR comments to it instead",
                include.page, include.line, include.path
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

/// mdBook exits 0 whatever is wrong with an include, so the checks in this
/// file are what fail the build. Shown on a scratch book with a missing file
/// (an ERROR and the raw directive left in the page) and a missing anchor
/// (nothing at all, except the source check).
#[test]
fn book_checks_catch_a_missing_file_and_a_missing_anchor_that_mdbook_lets_pass() -> Result<()> {
    let scratch = tempfile::tempdir()?;
    let root = scratch.path().join("book");
    let src = root.join("src");
    std::fs::create_dir_all(&src)?;
    std::fs::write(root.join("book.toml"), "[book]\ntitle = \"scratch\"\n")?;
    std::fs::write(
        src.join("SUMMARY.md"),
        "# Summary\n\n- [Chapter](chapter.md)\n",
    )?;
    std::fs::write(src.join("present.sh"), "echo present\n")?;
    std::fs::write(
        src.join("chapter.md"),
        "# Chapter\n\n```bash\n{{#include absent.sh}}\n```\n\n```bash\n{{#include present.sh:no_such_anchor}}\n```\n",
    )?;

    let rendering = render(&root, &scratch.path().join("html"))?;
    assert!(
        !rendering.error_lines().is_empty(),
        "no ERROR for a missing file:\n{}",
        rendering.log
    );
    let leftovers = unexpanded_includes(&rendering.dir)?;
    assert!(
        leftovers.iter().any(|line| line.contains("absent.sh")),
        "the missing file left no trace in the page: {leftovers:?}"
    );

    let chapter = Page::read(&src, "chapter.md")?;
    let problems: Vec<String> = includes(&chapter)
        .iter()
        .filter_map(|include| include.problem())
        .collect();
    assert!(
        problems.iter().any(|problem| problem.contains("absent.sh")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|problem| problem.contains("no_such_anchor")),
        "{problems:?}"
    );
    Ok(())
}

#[test]
fn book_excerpts_and_outputs_are_included_from_the_repository() -> Result<()> {
    let mut problems = Vec::new();
    for page in pages()? {
        for block in code_blocks(&page) {
            let language = block.language.as_str();
            if TYPED_LANGUAGES.contains(&language) {
                continue;
            }
            let location = format!("{}:{}: a ```{} block", block.page, block.line, block.info);
            let typed: Vec<&str> = block
                .body
                .iter()
                .map(|line| line.trim())
                // rustdoc's hidden lines (`# ...`) may set up a doctest.
                .filter(|line| {
                    !(line.is_empty()
                        || line.starts_with("{{#include ")
                        || language == "rust" && line.starts_with("# "))
                })
                .collect();
            if !typed.is_empty() {
                problems.push(format!(
                    "{location} must only include a repository file: {typed:?}"
                ));
            }
            let included: Vec<&String> = block
                .body
                .iter()
                .filter(|line| line.contains("{{#include "))
                .collect();
            if included.is_empty() {
                problems.push(format!("{location} includes nothing"));
            }
            if OUTPUT_INFO.contains(&block.info.as_str()) {
                for line in included {
                    if !(line.contains(SNAPSHOT_EXTENSION) || line.contains(BENCH_RESULTS_DIR)) {
                        problems.push(format!(
                            "{location} shows output, which must come from a snapshot or {BENCH_RESULTS_DIR}: {line}"
                        ));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

/// A snapshot is included from the line after its metadata header, so the
/// reader sees exactly what the test compares; a header that grows or
/// shrinks fails this test instead of garbling the page.
#[test]
fn book_snapshot_includes_start_right_after_the_header() -> Result<()> {
    let mut problems = Vec::new();
    for page in pages()? {
        for include in includes(&page)
            .into_iter()
            .filter(|include| include.path.ends_with(SNAPSHOT_EXTENSION))
        {
            let location = format!("{}:{}: {}", include.page, include.line, include.path);
            let Some(first) = include.first_line() else {
                problems.push(format!(
                    "{location}: include it from the line after the header, as FILE:N:"
                ));
                continue;
            };
            let Ok(text) = std::fs::read_to_string(include.resolved()) else {
                problems.push(format!("{location}: cannot be read"));
                continue;
            };
            let marks: Vec<usize> = text
                .lines()
                .enumerate()
                .filter(|(_, line)| *line == SNAPSHOT_HEADER_MARK)
                .map(|(index, _)| index + 1)
                .take(2)
                .collect();
            if marks.first() != Some(&1) || marks.get(1) != Some(&(first - 1)) {
                problems.push(format!(
                    "{location}: starts at line {first}, but the header ends at line {:?}",
                    marks.get(1)
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}
