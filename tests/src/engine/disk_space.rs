//! Free disk space, checked once before the first test. A run writes many
//! gigabytes (cold builds in the engine's store, private engines and copies
//! of the repository in the temporary directory), and a disk that fills
//! half-way through shows up as build steps and engines failing in tests
//! that have nothing to do with space.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

/// What one run of the pipeline suite writes at its peak, on top of what the
/// engine already holds, with a margin: in a run from a fresh clone (the
/// base images there, the service's stages built anew) the free space went
/// down by 15 GiB.
pub const NEEDED_GIB: u64 = 20;
/// What a test binary of another crate on the same host fixture needs (the
/// service's layer): it builds at most the runner image and starts
/// containers. It runs after the pipeline suite in `cargo test
/// --workspace`, on the space that one left.
pub const OTHER_BINARY_NEEDED_GIB: u64 = 5;

/// The need of the test binary running now: cargo names its package in
/// `CARGO_PKG_NAME`; a binary started some other way is held to the full
/// need.
pub fn needed_gib() -> u64 {
    match std::env::var("CARGO_PKG_NAME") {
        Ok(package) if package != env!("CARGO_PKG_NAME") => OTHER_BINARY_NEEDED_GIB,
        _ => NEEDED_GIB,
    }
}

const GIB: u64 = 1 << 30;

/// A directory the suite writes to, and what it is to the reader.
pub struct WrittenDirectory {
    pub role: &'static str,
    pub path: PathBuf,
}

/// Fails with one line naming the filesystem that has too little space and
/// what the run keeps there. Directories on one filesystem share its space.
pub fn check_free_space(directories: &[WrittenDirectory], needed_gib: u64) -> Result<()> {
    let mut filesystems: Vec<(u64, u64, Vec<&WrittenDirectory>)> = Vec::new();
    for directory in directories {
        let stats = rustix::fs::statvfs(&directory.path).with_context(|| {
            format!(
                "cannot read the free space of {} ({})",
                directory.path.display(),
                directory.role
            )
        })?;
        let available = stats.f_bavail.saturating_mul(stats.f_frsize);
        match filesystems.iter_mut().find(|(id, ..)| *id == stats.f_fsid) {
            Some((_, _, sharing)) => sharing.push(directory),
            None => filesystems.push((stats.f_fsid, available, vec![directory])),
        }
    }
    for (_, available, sharing) in &filesystems {
        enough_space(*available, needed_gib, sharing)?;
    }
    Ok(())
}

fn enough_space(available: u64, needed_gib: u64, sharing: &[&WrittenDirectory]) -> Result<()> {
    if available >= needed_gib * GIB {
        return Ok(());
    }
    let held: Vec<String> = sharing
        .iter()
        .map(|directory| format!("{} ({})", directory.role, directory.path.display()))
        .collect();
    bail!(
        "only {:.1} GiB free where the run keeps {}; it needs about {needed_gib} GiB: \
         free some (old images, `docker builder prune --filter until=24h`) or set TMPDIR \
         to a larger disk, then rerun",
        available as f64 / GIB as f64,
        held.join(" and ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory(role: &'static str, path: &str) -> WrittenDirectory {
        WrittenDirectory {
            role,
            path: PathBuf::from(path),
        }
    }

    #[test]
    fn enough_space_passes_and_too_little_names_every_directory_on_the_disk() {
        let store = directory("the engine's store", "/var/lib/docker");
        let temporary = directory("temporary copies", "/tmp");
        enough_space(NEEDED_GIB * GIB, NEEDED_GIB, &[&store]).expect("exactly the need is enough");

        let error = enough_space(12 * GIB + GIB / 2, NEEDED_GIB, &[&store, &temporary])
            .expect_err("less than the need must fail");
        assert_eq!(
            error.to_string(),
            "only 12.5 GiB free where the run keeps the engine's store (/var/lib/docker) \
             and temporary copies (/tmp); it needs about 20 GiB: free some (old images, \
             `docker builder prune --filter until=24h`) or set TMPDIR to a larger disk, then rerun"
        );
    }

    #[test]
    fn the_pipeline_suite_needs_the_full_figure_and_other_binaries_less() {
        // Unit tests run in this package, so the need is the full one.
        assert_eq!(needed_gib(), NEEDED_GIB);
        const { assert!(OTHER_BINARY_NEEDED_GIB < NEEDED_GIB) };
    }

    #[test]
    fn a_directory_that_cannot_be_read_is_named() {
        let missing = directory("the engine's store", "/nonexistent/docker-root");
        let error = check_free_space(&[missing], NEEDED_GIB)
            .expect_err("a missing directory has no free space");
        assert_eq!(
            error.to_string(),
            "cannot read the free space of /nonexistent/docker-root (the engine's store)"
        );
    }
}
