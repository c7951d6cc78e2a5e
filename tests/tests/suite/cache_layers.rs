//! What the layers of the project's images hold, and what they must not:
//! no source text (C5: the source is bind-mounted, never copied) and no
//! downloaded Debian packages, which stay in apt's cache mounts (C9).
//!
//! Every image of every stage is searched in one pass (`docker save` of
//! them all, each shared layer once), shared by the tests below.

use anyhow::{Context, Result, anyhow, ensure};
use integration_suite::builds::buildx::{ImageBuild, unique_tag};
use integration_suite::builds::dockerfile::anchored;
use integration_suite::builds::project_images::{Target, build_turn, project_image};
use integration_suite::engine::host::host;
use integration_suite::images::leak_scan::{LeakScanner, ScanReport, Secret};
use integration_suite::repo::repo_path;
use tokio::sync::OnceCell;

/// The source file the C5 marker is taken from.
const MARKED_SOURCE: &str = "service_discovery/src/model.rs";
/// Packages the project's apt steps install (toolchain and tester stages).
const INSTALLED_PACKAGES: [&str; 2] = ["protobuf-compiler", "dnsutils"];
/// What the toolchain stage's apt step (the `apt_cache` anchor) installs.
const TOOLCHAIN_PACKAGES: [&str; 1] = ["protobuf-compiler"];

const SOURCE_MARKER: &str = "source text";

/// The longest plain `//` comment of the source file: the compiler drops
/// it, so it can only reach a layer if the source file itself does. (Doc
/// comments would not do: they are kept in a library's metadata.)
fn source_marker() -> Result<String> {
    let source = std::fs::read_to_string(repo_path(MARKED_SOURCE))?;
    source
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("// ") && line.len() >= 30)
        .max_by_key(|line| line.len())
        .map(str::to_owned)
        .with_context(|| format!("{MARKED_SOURCE} has no plain comment of 30 characters or more"))
}

/// A path inside a layer's tar (no leading `/`) under apt's archive cache.
fn archive_path(package: &str) -> String {
    format!("var/cache/apt/archives/{package}_")
}

/// One scan of every project image, for every test of this file.
async fn every_image_scanned() -> Result<&'static ScanReport> {
    static SCAN: OnceCell<Result<ScanReport, String>> = OnceCell::const_new();
    let scan = SCAN
        .get_or_init(|| async {
            scan_every_image()
                .await
                .map_err(|error| format!("{error:#}"))
        })
        .await;
    scan.as_ref()
        .map_err(|error| anyhow!("scanning the project's images failed: {error}"))
}

async fn scan_every_image() -> Result<ScanReport> {
    let mut images = Vec::new();
    for target in Target::ALL {
        images.push(project_image(target).await?.id.clone());
    }
    let mut secrets = vec![Secret::new(SOURCE_MARKER, source_marker()?)];
    for package in INSTALLED_PACKAGES {
        secrets.push(Secret::new(package, archive_path(package)));
    }
    let names: Vec<&str> = images.iter().map(String::as_str).collect();
    let report = LeakScanner::new(secrets)?
        .scan_local_images(&names, None)
        .await?;
    eprintln!(
        "scanned {} blobs, {} files, {} MB of every project image",
        report.documents,
        report.files,
        report.bytes / 1_000_000
    );
    Ok(report)
}

#[tokio::test]
async fn c5_no_layer_of_any_image_holds_source_text() -> Result<()> {
    host().await;
    let report = every_image_scanned().await?;
    // The scan read real layers: the images hold thousands of files.
    ensure!(report.files > 1_000, "only {} files scanned", report.files);
    let leaks: Vec<_> = report
        .leaks
        .iter()
        .filter(|leak| leak.secret == SOURCE_MARKER)
        .collect();
    assert!(
        leaks.is_empty(),
        "source text of {MARKED_SOURCE} found in: {leaks:#?}"
    );
    Ok(())
}

#[tokio::test]
async fn c9_no_layer_holds_downloaded_debian_packages() -> Result<()> {
    host().await;
    let report = every_image_scanned().await?;
    let leaks: Vec<_> = report
        .leaks
        .iter()
        .filter(|leak| INSTALLED_PACKAGES.contains(&leak.secret.as_str()))
        .collect();
    assert!(
        leaks.is_empty(),
        "downloaded packages in a layer: {leaks:#?}"
    );
    Ok(())
}

/// The project's own apt step (docker/Dockerfile's `apt_cache` lines, read
/// from the file) run in a probe after a step that changes every run, so it
/// runs rather than coming from the cache; a last step lists the cache
/// mounts it used: the packages it fetched are there, not in a layer.
#[tokio::test]
async fn c9_apt_cache_mounts_hold_the_downloaded_packages() -> Result<()> {
    let host = host().await;
    let dockerfile = std::fs::read_to_string(repo_path("docker/Dockerfile"))?;
    let apt_step =
        anchored(&dockerfile, "apt_cache").context("no apt_cache anchor in docker/Dockerfile")?;
    let probe = tempfile::tempdir()?;
    std::fs::write(
        probe.path().join("Dockerfile"),
        format!(
            "ARG RUST_IMAGE\n\
             FROM ${{RUST_IMAGE}}\n\
             SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\n\
             ARG PROBE\n\
             RUN echo \"probe ${{PROBE}}\"\n\
             {apt_step}\
             RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \\\n    \
                 --mount=type=cache,target=/var/lib/apt,sharing=locked \\\n    \
                 ls /var/cache/apt/archives /var/lib/apt/lists\n"
        ),
    )?;
    let build = ImageBuild::new(probe.path(), unique_tag("apt-cache-probe"))
        .build_arg("RUST_IMAGE", &host.base_images().rust.reference)
        // A new value each run, so the steps after it run instead of coming from the cache.
        .build_arg(
            "PROBE",
            format!("{}-{:?}", std::process::id(), std::time::SystemTime::now()),
        );
    let image = {
        let _turn = build_turn().await;
        build.run().await?
    };
    for package in TOOLCHAIN_PACKAGES {
        assert!(
            image
                .log
                .lines()
                .any(|line| line.contains(&format!(" {package}_")) && line.ends_with(".deb")),
            "{package} .deb not in apt's archive cache mount:\n{}",
            image.log
        );
    }
    assert!(
        image.log.lines().any(|line| line.contains("_Packages")),
        "no package lists in apt's lists cache mount:\n{}",
        image.log
    );
    Ok(())
}
