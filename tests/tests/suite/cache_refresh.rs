//! C8: the periodic refresh (`ci/build_images.sh -n`) runs every step again
//! from freshly pulled bases, so OS packages are installed anew on the
//! toolchain just pulled. It is shown on the planner stage: the toolchain
//! stage, which holds the OS packages, and the first step that downloads
//! crates, which keeps the test to a minute or two. The same build shows
//! the CA-bundle secret of the fetching step reaching no layer: it runs with
//! a bundle holding one extra certificate made for this test, whose text is
//! then searched for.
//! And it shows the price: the cache mounts of the steps it runs start from
//! empty, so the cargo download cache loses a file left in it before.

use std::process::Stdio;

use anyhow::{Context, Result, ensure};
use integration_suite::builds::build_progress::StepOutcome;
use integration_suite::builds::build_script::ScriptBuild;
use integration_suite::builds::cargo_cache_mount::{holds_mark, leave_mark};
use integration_suite::builds::project_images::build_turn;
use integration_suite::engine::host::host;
use integration_suite::images::leak_scan::{LeakScanner, Secret};
use tempfile::TempDir;

const NAMESPACE: &str = "localhost:5000/integration-suite-refresh";
const HOST_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// The host's CA bundle plus a self-signed certificate of this run: the
/// proxy's CA still verifies, and the extra certificate's lines exist
/// nowhere else.
struct MarkedBundle {
    dir: TempDir,
    marker_lines: Vec<String>,
}

impl MarkedBundle {
    async fn new() -> Result<Self> {
        let dir = tempfile::Builder::new().prefix("ca-bundle-").tempdir()?;
        let certificate = dir.path().join("marker.pem");
        let output = tokio::process::Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
            ])
            .args([
                "-keyout",
                "/dev/null",
                "-days",
                "1",
                "-subj",
                "/CN=build secret marker",
            ])
            .arg("-out")
            .arg(&certificate)
            .stdin(Stdio::null())
            .output()
            .await
            .context("cannot run openssl")?;
        ensure!(
            output.status.success(),
            "openssl failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
        let marker = std::fs::read_to_string(&certificate)?;
        let host_bundle = std::fs::read_to_string(
            std::env::var("CA_BUNDLE").unwrap_or_else(|_| HOST_BUNDLE.into()),
        )
        .unwrap_or_default();
        let marker_lines: Vec<String> = marker
            .lines()
            .filter(|line| {
                !line.starts_with("-----") && line.len() >= 32 && !host_bundle.contains(*line)
            })
            .map(str::to_owned)
            .collect();
        ensure!(
            !marker_lines.is_empty(),
            "the marker certificate has no line of its own"
        );
        std::fs::write(
            dir.path().join("bundle.pem"),
            format!("{host_bundle}\n{marker}"),
        )?;
        Ok(Self { dir, marker_lines })
    }

    fn path(&self) -> String {
        self.dir.path().join("bundle.pem").display().to_string()
    }
}

#[tokio::test]
async fn c8_refresh_reruns_every_step_and_the_ca_bundle_reaches_no_layer() -> Result<()> {
    let host = host().await;
    let bundle = MarkedBundle::new().await?;
    let (run, mark_kept) = {
        let turn = build_turn().await;
        let mark = leave_mark(&host, &turn).await?;
        let run = ScriptBuild::new(&[
            "-n", "-l", "-t", "planner", "-r", NAMESPACE, "-b", "refresh",
        ])
        .env("CA_BUNDLE", bundle.path())
        .run()
        .await?;
        (run, holds_mark(&host, &mark, &turn).await?)
    };
    eprintln!(
        "planner stage built without any cache in {:.0}s",
        run.elapsed.as_secs_f64()
    );

    let progress = run.target_progress("planner")?;
    // Every command ran again; only FROM (the freshly pulled base) and
    // WORKDIR (no command) may be reported as found.
    let runs: Vec<_> = progress
        .instructions()
        .filter(|step| step.is_run())
        .collect();
    assert!(runs.len() >= 3, "too few RUN steps seen: {runs:#?}");
    let cached: Vec<&str> = runs
        .iter()
        .filter(|step| step.cached)
        .map(|step| step.name.as_str())
        .collect();
    assert!(
        cached.is_empty(),
        "a refresh took RUN steps from the cache: {cached:#?}"
    );
    for (stage, step) in [
        ("toolchain", "rm -f /etc/apt/apt.conf.d/docker-clean"),
        ("toolchain", "apt-get install"),
        ("planner", "cargo chef prepare"),
    ] {
        assert_eq!(
            progress.outcome(stage, step)?,
            StepOutcome::Ran,
            "{stage}: {step}"
        );
    }

    // BuildKit counts cache mounts as cache too: the refresh started the
    // cargo download cache from empty (what the book's security updates
    // page warns about).
    assert!(
        !mark_kept,
        "the cargo cache mount kept a file across a --no-cache build"
    );

    let secrets = bundle
        .marker_lines
        .iter()
        .map(|line| Secret::new("CA bundle", line))
        .collect();
    let image = &run.image("planner")?.id;
    let report = LeakScanner::new(secrets)?
        .scan_local_images(&[image], None)
        .await?;
    ensure!(
        report.files > 1_000,
        "the scan read only {} files",
        report.files
    );
    assert!(
        report.leaks.is_empty(),
        "the CA bundle reached the image: {:#?}",
        report.leaks
    );
    Ok(())
}
