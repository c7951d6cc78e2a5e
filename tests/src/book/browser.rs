//! Opening rendered pages in headless Chromium, one process per page, with
//! a screenshot of each and the page's console output captured from
//! Chromium's log. The log does not say which console level a message had,
//! so any console message counts: a book page has no reason to print one,
//! and an uncaught exception shows up as one too.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::tools::chromium;

/// Longest a page may take to load and render.
const PAGE_TIMEOUT: Duration = Duration::from_secs(60);

/// Marks the lines of Chromium's log that carry a page's console output.
const CONSOLE_MARKER: &str = ":CONSOLE";

/// What Chromium saw while opening one page.
#[derive(Debug)]
pub struct PageVisit {
    pub page: PathBuf,
    pub screenshot: PathBuf,
    /// The page's console messages, as Chromium logged them.
    pub console: Vec<String>,
}

/// Opens `page` (an HTML file) headless, saves a screenshot to
/// `screenshot`, and returns the console messages.
pub fn visit(page: &Path, screenshot: &Path) -> Result<PageVisit> {
    let profile = tempfile::tempdir().context("creating a browser profile directory")?;
    if let Some(parent) = screenshot.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let _ = std::fs::remove_file(screenshot);
    let url = format!(
        "file://{}",
        page.canonicalize()
            .with_context(|| format!("{}", page.display()))?
            .display()
    );
    let output = Command::new("timeout")
        .arg(PAGE_TIMEOUT.as_secs().to_string())
        .arg(chromium()?)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            "--window-size=1280,1600",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg(&url)
        .output()
        .context("running chromium")?;
    let log = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!(
            "chromium failed on {url} ({}): {}",
            output.status,
            last_lines(&log, 5)
        );
    }
    if !screenshot.is_file() {
        bail!(
            "chromium wrote no screenshot of {url}: {}",
            last_lines(&log, 5)
        );
    }
    Ok(PageVisit {
        page: page.to_path_buf(),
        screenshot: screenshot.to_path_buf(),
        console: console_messages(&log),
    })
}

/// The console messages in a Chromium log.
pub fn console_messages(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|line| {
            let marker = line.find(CONSOLE_MARKER)?;
            let message = line[marker..]
                .split_once("] ")
                .map_or(line, |(_, message)| message);
            Some(message.trim().to_owned())
        })
        .collect()
}

fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    lines[lines.len().saturating_sub(count)..].join(" | ")
}
