//! Reading the book's Markdown sources: the chapters the summary lists, the
//! include directives in them, and their fenced code blocks.

use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::source_dir;

/// A chapter's source file.
#[derive(Debug, Clone)]
pub struct Page {
    /// Relative to the book's source directory, as the summary names it.
    pub name: String,
    /// The book's source directory.
    pub source_dir: PathBuf,
    pub text: String,
}

impl Page {
    /// Reads page `name` of the book whose sources are in `source_dir`.
    pub fn read(source_dir: &Path, name: &str) -> Result<Self> {
        let path = source_dir.join(name);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        Ok(Page {
            name: name.to_owned(),
            source_dir: source_dir.to_path_buf(),
            text,
        })
    }
}

/// The pages `SUMMARY.md` links, in its order.
pub fn pages() -> Result<Vec<Page>> {
    let dir = source_dir();
    let summary =
        std::fs::read_to_string(dir.join("SUMMARY.md")).context("reading book/src/SUMMARY.md")?;
    let mut pages = Vec::new();
    for link in markdown_links(&summary) {
        if !link.ends_with(".md") {
            bail!("SUMMARY.md links {link}, which is not a chapter");
        }
        pages.push(Page::read(&dir, &link)?);
    }
    Ok(pages)
}

/// The targets of the inline Markdown links `[text](target)` in `text`.
pub fn markdown_links(text: &str) -> Vec<String> {
    let mut links = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("](") {
        let after = &rest[start + 2..];
        match after.find(')') {
            Some(end) => {
                links.push(after[..end].to_owned());
                rest = &after[end..];
            }
            None => break,
        }
    }
    links
}

/// One `{{#include path[:selector]}}` directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Include {
    pub page: String,
    /// The directory of the page, which the path is relative to.
    pub base: PathBuf,
    /// 1-based line in the page.
    pub line: usize,
    /// As written.
    pub path: String,
    /// An anchor name, or a line range such as `5:`, when given.
    pub selector: Option<String>,
}

impl Include {
    /// The included file's location on disk.
    pub fn resolved(&self) -> PathBuf {
        normalise(&self.base.join(&self.path))
    }

    /// The first included line, when the selector is a line range `N:` or
    /// `N:M`.
    pub fn first_line(&self) -> Option<usize> {
        let (start, _) = self.selector.as_deref()?.split_once(':')?;
        start.parse().ok()
    }

    /// Why this include shows nothing useful, if it does not: a missing file,
    /// a missing or empty anchor (which mdBook renders as an empty block
    /// without a word of warning), or a line range past the end of the file.
    pub fn problem(&self) -> Option<String> {
        let location = format!("{}:{}: {}", self.page, self.line, self.path);
        let Ok(text) = std::fs::read_to_string(self.resolved()) else {
            return Some(format!("{location}: no such file"));
        };
        let selector = self.selector.as_deref()?;
        if let Some(first) = self.first_line() {
            let lines = text.lines().count();
            return (first == 0 || first > lines)
                .then(|| format!("{location}: starts at line {first} of {lines}"));
        }
        match anchored_lines(&text, selector) {
            None => Some(format!(
                "{location}: no ANCHOR: {selector} ... ANCHOR_END: {selector} in the file"
            )),
            Some(0) => Some(format!("{location}: anchor {selector} encloses nothing")),
            Some(_) => None,
        }
    }
}

/// How many lines anchor `name` encloses in `text`, if it is there.
pub fn anchored_lines(text: &str, name: &str) -> Option<usize> {
    let marks = |kind: &str, line: &str| {
        line.split_once(kind).is_some_and(|(_, rest)| {
            let rest = rest.trim_start();
            rest.strip_prefix(name).is_some_and(|after| {
                !after.starts_with(|c: char| c.is_alphanumeric() || c == '_' || c == '-')
            })
        })
    };
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|line| marks("ANCHOR:", line))?;
    let end = lines[start..]
        .iter()
        .position(|line| marks("ANCHOR_END:", line))?
        + start;
    Some(
        lines[start + 1..end]
            .iter()
            .filter(|line| !line.contains("ANCHOR"))
            .count(),
    )
}

const INCLUDE_START: &str = "{{#include ";

/// Every include directive of `page`.
pub fn includes(page: &Page) -> Vec<Include> {
    let page_path = page.source_dir.join(&page.name);
    let base = page_path.parent().unwrap_or(&page.source_dir).to_path_buf();
    let mut found = Vec::new();
    for (index, line) in page.text.lines().enumerate() {
        let mut rest = line;
        while let Some(start) = rest.find(INCLUDE_START) {
            let after = &rest[start + INCLUDE_START.len()..];
            let Some(end) = after.find("}}") else { break };
            let spec = after[..end].trim();
            let (path, selector) = match spec.split_once(':') {
                Some((path, selector)) => (path, Some(selector.to_owned())),
                None => (spec, None),
            };
            found.push(Include {
                page: page.name.clone(),
                base: base.clone(),
                line: index + 1,
                path: path.to_owned(),
                selector,
            });
            rest = &after[end..];
        }
    }
    found
}

/// A fenced code block.
#[derive(Debug, Clone)]
pub struct CodeBlock {
    pub page: String,
    /// 1-based line of the opening fence.
    pub line: usize,
    /// The info string's first word (`rust` for "rust,ignore"), empty if none.
    pub language: String,
    /// The whole info string ("rust,ignore").
    pub info: String,
    pub body: Vec<String>,
}

/// Every fenced (```) code block of `page`.
pub fn code_blocks(page: &Page) -> Vec<CodeBlock> {
    let mut blocks = Vec::new();
    let mut open: Option<CodeBlock> = None;
    for (index, line) in page.text.lines().enumerate() {
        let fence = line.trim_start().strip_prefix("```");
        match (&mut open, fence) {
            (None, Some(info)) => {
                let language = info.split([',', ' ']).next().unwrap_or("").to_owned();
                open = Some(CodeBlock {
                    page: page.name.clone(),
                    line: index + 1,
                    language,
                    info: info.trim().to_owned(),
                    body: Vec::new(),
                });
            }
            (Some(_), Some(_)) => blocks.extend(open.take()),
            (Some(block), None) => block.body.push(line.to_owned()),
            (None, None) => {}
        }
    }
    blocks
}

/// `path` without `.` and `..` components (the file need not exist).
fn normalise(path: &Path) -> PathBuf {
    let mut result = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                result.pop();
            }
            other => result.push(other),
        }
    }
    result
}
