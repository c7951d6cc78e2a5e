//! `ARCHITECTURE.md`'s table of claims, tests and book pages is derived
//! from the claims index and the tests' names, and this test fails when it
//! drifts from them; its message holds the table as it should read.

use anyhow::{Context, Result};
use integration_suite::book::claims::{claim_rows, test_proves, tests_by_file};
use integration_suite::repo::repo_path;

const ARCHITECTURE: &str = "ARCHITECTURE.md";
const TABLE_HEADER: &str = "| claim | test(s) | book |\n|---|---|---|\n";
/// Tests listed per claim; the rest are counted.
const LISTED: usize = 3;

/// The table as the claims index and the tests say it must be.
fn expected_table() -> Result<String> {
    let tests = tests_by_file()?;
    let mut table = String::from(TABLE_HEADER);
    for row in claim_rows()? {
        let proving: Vec<String> = tests
            .iter()
            .flat_map(|(file, names)| names.iter().map(move |name| (file, name)))
            .filter(|(_, name)| test_proves(name, &row.id))
            .map(|(file, name)| format!("`{name}` ({file})"))
            .collect();
        let mut cell = proving
            .iter()
            .take(LISTED)
            .cloned()
            .collect::<Vec<_>>()
            .join("<br>");
        if proving.len() > LISTED {
            cell.push_str(&format!("<br>and {} more", proving.len() - LISTED));
        }
        if cell.is_empty() {
            cell = "**none yet**".to_owned();
        }
        let mut pages: Vec<String> = Vec::new();
        for section in &row.sections {
            let page = section.split('#').next().unwrap_or(section).to_owned();
            if !pages.contains(&page) {
                pages.push(page);
            }
        }
        let book = pages
            .iter()
            .map(|page| format!("[{page}](book/src/{page})"))
            .collect::<Vec<_>>()
            .join(", ");
        table.push_str(&format!("| {} | {cell} | {book} |\n", row.id));
    }
    Ok(table)
}

#[test]
fn architecture_claim_table_follows_the_claims_index_and_the_tests() -> Result<()> {
    let text = std::fs::read_to_string(repo_path(ARCHITECTURE))?;
    let start = text
        .find(TABLE_HEADER)
        .with_context(|| format!("{ARCHITECTURE} has no claims table"))?;
    let rest = &text[start..];
    let end = rest.find("\n\n").map_or(rest.len(), |blank| blank + 1);
    let expected = expected_table()?;
    assert!(
        rest[..end] == expected,
        "{ARCHITECTURE}'s claims table is stale; it should read:\n\n{expected}"
    );
    Ok(())
}
