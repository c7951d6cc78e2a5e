//! Rendering the book with mdBook, once per test run, and reading what
//! mdBook reports. mdBook exits 0 when an include target or anchor is
//! missing: it logs an ERROR and leaves the raw include in the page. Both
//! traces are looked for here, since the exit code alone proves nothing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{Context, Result, anyhow};

use super::book_root;
use super::tools::book_tool;
use crate::repo::repo_path;

/// Where the suite renders the book.
pub const RENDER_DIR: &str = "target/book-suite";

/// The suite renders the book as a hosted copy is rendered: links to the
/// repository's files point at this address (`book/repository_links.py`),
/// which the link check maps back to the checkout.
pub const HOSTED_REPOSITORY: &str = "https://repository.example/service_discovery";
pub const HOSTED_BRANCH: &str = "main";

/// What opens an include directive in a source page.
pub const INCLUDE_OPENER: &str = "{{#";

/// One run of `mdbook build`.
#[derive(Debug)]
pub struct Rendering {
    pub dir: PathBuf,
    pub succeeded: bool,
    /// Everything mdBook printed, stdout and stderr.
    pub log: String,
}

impl Rendering {
    /// The lines of mdBook's output that report an error.
    pub fn error_lines(&self) -> Vec<&str> {
        self.log
            .lines()
            .filter(|line| line.contains("ERROR"))
            .collect()
    }
}

/// Renders the book at `root` into `dest` (replaced if present).
pub fn render(root: &Path, dest: &Path) -> Result<Rendering> {
    if dest.exists() {
        std::fs::remove_dir_all(dest).with_context(|| format!("removing {}", dest.display()))?;
    }
    let output = Command::new(book_tool("mdbook")?)
        .arg("build")
        .arg(root)
        .arg("--dest-dir")
        .arg(dest)
        // Plain text, so the ERROR level is findable whatever runs the suite.
        .env("NO_COLOR", "1")
        .env("BOOK_REPOSITORY_URL", HOSTED_REPOSITORY)
        .env("BOOK_REPOSITORY_BRANCH", HOSTED_BRANCH)
        .env_remove("RUST_LOG")
        .env_remove("MDBOOK_LOG")
        .output()
        .context("running mdbook build")?;
    Ok(Rendering {
        dir: dest.to_path_buf(),
        succeeded: output.status.success(),
        log: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    })
}

/// The project's book, rendered once per test run into [`RENDER_DIR`].
pub fn rendered_book() -> Result<&'static Rendering> {
    static RENDERING: OnceLock<Result<Rendering, String>> = OnceLock::new();
    RENDERING
        .get_or_init(|| {
            render(&book_root(), &repo_path(RENDER_DIR)).map_err(|error| format!("{error:#}"))
        })
        .as_ref()
        .map_err(|error| anyhow!("{error}"))
}

/// Every rendered HTML file below `dir`.
pub fn html_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in
            std::fs::read_dir(&current).with_context(|| format!("listing {}", current.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "html") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// `file:line: text` for every line of the rendered HTML that still holds an
/// include directive, i.e. one mdBook could not expand.
pub fn unexpanded_includes(dir: &Path) -> Result<Vec<String>> {
    let mut found = Vec::new();
    for page in html_files(dir)? {
        let text = std::fs::read_to_string(&page)
            .with_context(|| format!("reading {}", page.display()))?;
        for (number, line) in text.lines().enumerate() {
            if line.contains(INCLUDE_OPENER) {
                let name = page.strip_prefix(dir).unwrap_or(&page).display();
                found.push(format!("{name}:{}: {}", number + 1, line.trim()));
            }
        }
    }
    Ok(found)
}
