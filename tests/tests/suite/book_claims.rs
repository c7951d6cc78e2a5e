//! Every claim id of the ledger, as published in the book's claims index,
//! has a section that cites it and a test named after it, and the index
//! links the file that holds that test.

use std::collections::BTreeMap;

use anyhow::Result;
use integration_suite::book::claims::{
    CLAIM_PREFIXES, claim_rows, split_id, test_names, test_names_in, test_proves,
};
use integration_suite::book::source_dir;

/// Whether `text` mentions `id` as a word of its own (B1, not B10 or CB1).
fn cites(text: &str, id: &str) -> bool {
    text.match_indices(id).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + id.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

#[test]
fn book_claims_index_lists_each_id_once_without_gaps() -> Result<()> {
    let rows = claim_rows()?;
    let mut numbers: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for row in &rows {
        let (letters, number) = split_id(&row.id).expect("claim_rows only returns valid ids");
        numbers.entry(letters).or_default().push(number);
    }
    for prefix in CLAIM_PREFIXES {
        let mut found = numbers.remove(prefix).unwrap_or_default();
        found.sort_unstable();
        let expected: Vec<u32> = (1..=found.len() as u32).collect();
        assert!(
            !found.is_empty(),
            "the claims index lists no {prefix} claim"
        );
        assert_eq!(
            found, expected,
            "{prefix} claims must run from {prefix}1 without gaps or repeats"
        );
    }
    Ok(())
}

#[test]
fn book_every_claim_has_a_section_citing_it_and_a_test_named_after_it() -> Result<()> {
    let rows = claim_rows()?;
    let all_tests = test_names()?;
    let mut problems = Vec::new();
    for row in &rows {
        if row.sections.is_empty() {
            problems.push(format!("{}: no section linked", row.id));
        }
        for section in &row.sections {
            let file = section.split('#').next().unwrap_or(section);
            match std::fs::read_to_string(source_dir().join(file)) {
                Ok(text) if cites(&text, &row.id) => {}
                Ok(_) => problems.push(format!("{}: {file} does not cite {}", row.id, row.id)),
                Err(error) => problems.push(format!("{}: {file}: {error}", row.id)),
            }
        }
        if !all_tests.iter().any(|name| test_proves(name, &row.id)) {
            problems.push(format!(
                "{}: no test named {}...",
                row.id,
                row.test_prefix()
            ));
        }
        if row.tests.is_empty() {
            problems.push(format!("{}: no test file linked", row.id));
        }
        for test_file in &row.tests {
            match std::fs::read_to_string(source_dir().join(test_file)) {
                Ok(source)
                    if test_names_in(&source)
                        .iter()
                        .any(|name| test_proves(name, &row.id)) => {}
                Ok(_) => problems.push(format!(
                    "{}: {test_file} holds no test named {}...",
                    row.id,
                    row.test_prefix()
                )),
                Err(error) => problems.push(format!("{}: {test_file}: {error}", row.id)),
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
    Ok(())
}

#[test]
fn claim_test_names_are_recognised_with_every_leading_id() {
    assert!(test_proves(
        "m5_m6_runner_contracts_match_their_snapshots",
        "M6"
    ));
    assert!(test_proves("ci3_hadolint_passes_both_dockerfiles", "CI3"));
    assert!(!test_proves("ci_yamllint_passes_every_yaml_file", "C1"));
    assert!(!test_proves("c1_source_edit", "C10"));
    assert!(!test_proves("runner_b2_size", "B2"));
    let cases = test_names_in(
        "#[rstest]\n#[case::c1_c4_new_dependency(Change::New)]\n#[tokio::test]\nasync fn rebuild() {}\n",
    );
    assert_eq!(cases, ["c1_c4_new_dependency", "rebuild"]);
    assert!(cites("claims **B1** and B6", "B1"));
    assert!(!cites("claim B10 only", "B1"));
}
