//! The claims index (`book/src/claims.md`) and the tests named after the
//! claims. The index is the published form of the claims ledger: one table
//! row per claim id, linking the section that explains it and the test file
//! that proves it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::source_dir;
use super::sources::markdown_links;
use crate::repo::repo_path;

pub const CLAIMS_PAGE: &str = "claims.md";

/// The letters claim ids start with, in the ledger's order.
pub const CLAIM_PREFIXES: [&str; 6] = ["B", "P", "C", "M", "R", "CI"];

/// One row of the claims index.
#[derive(Debug, Clone)]
pub struct ClaimRow {
    /// As in the ledger: `B1`, `CI3`.
    pub id: String,
    /// Link targets of the "explained in" cell, relative to `book/src`.
    pub sections: Vec<String>,
    /// Link targets of the "proved by" cell, relative to `book/src`.
    pub tests: Vec<String>,
}

impl ClaimRow {
    /// The prefix a test proving this claim starts its name with (`b1_`).
    pub fn test_prefix(&self) -> String {
        format!("{}_", self.id.to_lowercase())
    }
}

/// Splits a claim id into its letters and number (`CI3` -> `CI`, 3).
pub fn split_id(id: &str) -> Option<(&str, u32)> {
    let digits = id.find(|c: char| c.is_ascii_digit())?;
    let (letters, number) = id.split_at(digits);
    let number = number.parse().ok()?;
    CLAIM_PREFIXES
        .contains(&letters)
        .then_some((letters, number))
}

/// The rows of the claims index, in page order.
pub fn claim_rows() -> Result<Vec<ClaimRow>> {
    let path = source_dir().join(CLAIMS_PAGE);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut rows = Vec::new();
    for line in text.lines().filter(|line| line.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // Leading and trailing pipes give empty first and last cells.
        if cells.len() != 6 {
            bail!(
                "claims.md row has {} cells instead of 4: {line}",
                cells.len() - 2
            );
        }
        let id = cells[1].trim_matches('`').to_owned();
        if split_id(&id).is_none() {
            bail!("claims.md row does not start with a claim id: {line}");
        }
        rows.push(ClaimRow {
            id,
            sections: markdown_links(cells[3]),
            tests: markdown_links(cells[4]),
        });
    }
    Ok(rows)
}

/// The names of every test function in the workspace's Rust sources (the
/// service's unit and integration tests, and this suite).
pub fn test_names() -> Result<BTreeSet<String>> {
    Ok(tests_by_file()?
        .into_iter()
        .flat_map(|(_, names)| names)
        .collect())
}

/// The same tests with the file that holds them, relative to the
/// repository root, files in path order and tests in source order.
pub fn tests_by_file() -> Result<Vec<(String, Vec<String>)>> {
    let mut found = Vec::new();
    for root in ["service_discovery", "tests", "bench"] {
        for file in rust_files(&repo_path(root))? {
            let names = test_names_in(&std::fs::read_to_string(&file)?);
            if names.is_empty() {
                continue;
            }
            let relative = file
                .strip_prefix(repo_path(""))
                .unwrap_or(&file)
                .display()
                .to_string();
            found.push((relative, names));
        }
    }
    Ok(found)
}

/// The tests defined in one Rust source: test functions, and the named
/// cases of parameterised (rstest) tests, which run as tests of their own.
pub fn test_names_in(source: &str) -> Vec<String> {
    let lines: Vec<&str> = source.lines().collect();
    let mut names = Vec::new();
    for line in &lines {
        if let Some(case) = line.trim_start().strip_prefix("#[case::") {
            let end = case
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(case.len());
            names.push(case[..end].to_owned());
        }
    }
    for (index, line) in lines.iter().enumerate() {
        let Some(name) = function_name(line) else {
            continue;
        };
        // The attributes right above the function, up to a blank line or code.
        let is_test = lines[..index]
            .iter()
            .rev()
            .take_while(|above| {
                above.trim_start().starts_with("#[") || above.trim_start().starts_with("//")
            })
            .any(|above| {
                above.contains("test]") || above.contains("test(") || above.contains("::test")
            });
        if is_test {
            names.push(name.to_owned());
        }
    }
    names
}

/// Whether `name` carries claim `id` among its leading claim ids
/// (`m5_m6_runner_contracts` carries both M5 and M6).
pub fn test_proves(name: &str, id: &str) -> bool {
    let wanted = id.to_lowercase();
    for word in name.split('_') {
        if word == wanted {
            return true;
        }
        if split_id(&word.to_uppercase()).is_none() {
            return false;
        }
    }
    false
}

fn function_name(line: &str) -> Option<&str> {
    let trimmed = line.trim_start();
    let after = trimmed
        .strip_prefix("async fn ")
        .or_else(|| trimmed.strip_prefix("fn "))
        .or_else(|| trimmed.strip_prefix("pub fn "))
        .or_else(|| trimmed.strip_prefix("pub async fn "))?;
    let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
    Some(&after[..end])
}

fn rust_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in
            std::fs::read_dir(&current).with_context(|| format!("listing {}", current.display()))?
        {
            let path = entry?.path();
            let name = path
                .file_name()
                .and_then(|name| name.to_str())
                .unwrap_or("");
            if path.is_dir() {
                if name != "target" && !name.starts_with('.') {
                    pending.push(path);
                }
            } else if name.ends_with(".rs") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}
