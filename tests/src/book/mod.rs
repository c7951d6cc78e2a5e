//! The book under `book/`: where its tools are, one rendering of it per test
//! run, and the checks mdBook does not make itself. The tools are installed
//! by `ci/install_book_tools.sh`, which `ci/setup.sh` (README command 1)
//! runs; the suite never installs anything, it says what to run instead.

pub mod browser;
pub mod claims;
pub mod render;
pub mod sources;
pub mod stage_graph;
pub mod tools;

use std::path::PathBuf;

use crate::repo::repo_path;

/// The book's root, holding `book.toml`.
pub fn book_root() -> PathBuf {
    repo_path("book")
}

/// The chapters' sources.
pub fn source_dir() -> PathBuf {
    repo_path("book/src")
}
