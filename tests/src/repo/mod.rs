//! The repository: where it lives (found from this crate's own location),
//! throw-away copies of it for tests that change it, the changes those
//! tests make, and the fixture projects under `tests/fixtures/`.

pub mod copy;
pub mod edits;
pub mod fixtures;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The repository root (the directory holding `ci/`, `docker/` and the
/// workspace manifest).
pub fn repo_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        manifest_dir
            .parent()
            .expect("the suite crate lives one level below the repository root")
            .to_path_buf()
    })
}

/// A path inside the repository, from its `/`-separated relative form.
pub fn repo_path(relative: &str) -> PathBuf {
    repo_root().join(relative)
}
