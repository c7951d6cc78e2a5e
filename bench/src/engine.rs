//! The engine the benchmark builds on: a private `dockerd` (see
//! [`FreshEngine`]) that can be pruned between measurements without
//! touching the build cache of the host's engine. Its build steps use the
//! host's network, so a cold build downloads crates and packages the way a
//! build on a fresh CI machine does; its pulls come from the project's
//! registry, where the mirrored base images live.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use serde::Serialize;

use crate::ways::Way;
use integration_suite::builds::buildx::ca_bundle;
use integration_suite::engine::fresh_engine::FreshEngine;
use integration_suite::engine::host::REGISTRY;
use integration_suite::images::base_images::BaseImages;

pub struct BenchEngine {
    engine: FreshEngine,
    /// The pinned base images every way builds from, pulled after each prune.
    bases: Vec<String>,
    build_args: Vec<String>,
    ca_bundle: Option<PathBuf>,
    logs: PathBuf,
}

/// Whether a build reads or writes the way's registry cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryCache {
    Unused,
    /// `--cache-to type=registry,mode=max`: every stage's layers.
    Export,
    /// `--cache-from type=registry`.
    Import,
}

/// One timed build.
pub struct BuildRun {
    pub seconds: f64,
    pub image_id: String,
}

/// What a way's shipped image weighs.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ImageSizes {
    /// The unpacked filesystem: every regular file of the image.
    pub image_bytes: u64,
    /// The service's binary alone.
    pub binary_bytes: u64,
}

impl BenchEngine {
    /// Starts the private engine; build logs go to `logs`.
    pub async fn start(bases: &BaseImages, logs: &Path) -> Result<Self> {
        std::fs::create_dir_all(logs)
            .with_context(|| format!("cannot create {}", logs.display()))?;
        let pins = [
            ("RUST_IMAGE", &bases.rust),
            ("BUILD_TOOLS_IMAGE", &bases.build_tools),
            ("RUNNER_IMAGE", &bases.runner),
        ];
        let build_args = pins
            .iter()
            .map(|(name, pin)| format!("{name}={}", pin.reference))
            .collect();
        Ok(Self {
            engine: FreshEngine::start().await?,
            bases: pins.iter().map(|(_, pin)| pin.reference.clone()).collect(),
            build_args,
            ca_bundle: ca_bundle(),
            logs: logs.to_owned(),
        })
    }

    /// Back to a cold daemon: no build cache and no image but the bases,
    /// which a CI machine's pull would fetch before any build.
    pub async fn reset(&self) -> Result<()> {
        self.engine.prune_everything().await?;
        for base in &self.bases {
            self.engine.docker(&["pull", "--quiet", base]).await?;
        }
        Ok(())
    }

    /// Builds `way`'s shipped image from `context` and times it. `label`
    /// names the build log.
    pub async fn build(
        &self,
        way: Way,
        context: &Path,
        commit: &str,
        cache: RegistryCache,
        label: &str,
    ) -> Result<BuildRun> {
        let tag = format!("bench/{way}:{label}");
        let cache_ref = format!("{REGISTRY}/bench/{way}:buildcache");
        let mut args: Vec<String> = vec![
            "buildx".into(),
            "build".into(),
            "--progress=plain".into(),
            // Provenance records the build's start and end times; without it
            // an image's id depends on its inputs only.
            "--provenance=false".into(),
            "--network=host".into(),
            "--file".into(),
            context.join(way.dockerfile()).display().to_string(),
            "--build-arg".into(),
            format!("GIT_COMMIT={commit}"),
            "--tag".into(),
            tag.clone(),
        ];
        if let Some(target) = way.target() {
            args.extend(["--target".into(), target.into()]);
        }
        for build_arg in &self.build_args {
            args.extend(["--build-arg".into(), build_arg.clone()]);
        }
        if let Some(bundle) = &self.ca_bundle {
            args.extend([
                "--secret".into(),
                format!("id=ca_bundle,src={}", bundle.display()),
            ]);
        }
        match cache {
            RegistryCache::Unused => {}
            RegistryCache::Export => args.extend([
                "--cache-to".into(),
                format!("type=registry,ref={cache_ref},mode=max"),
            ]),
            RegistryCache::Import => args.extend([
                "--cache-from".into(),
                format!("type=registry,ref={cache_ref}"),
            ]),
        }
        // The project's release images are built as ci/build_images.sh
        // builds them: dated by the commit, with every file's time clamped
        // to it, through an OCI archive that the engine then loads.
        let archive = tempfile::NamedTempFile::new().context("cannot create a temporary file")?;
        if way == Way::Project {
            args.extend([
                "--build-arg".into(),
                format!("SOURCE_DATE_EPOCH={}", commit_time(context)?),
                "--output".into(),
                format!(
                    "type=oci,dest={},rewrite-timestamp=true",
                    archive.path().display()
                ),
            ]);
        } else {
            args.push("--load".into());
        }
        args.push(context.display().to_string());

        let log_path = self.logs.join(format!("{way}-{label}.log"));
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("cannot create {}", log_path.display()))?;
        let started = Instant::now();
        let status = tokio::process::Command::new("docker")
            .args(&args)
            .env("DOCKER_HOST", self.engine.docker_host())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .status()
            .await
            .context("cannot run docker buildx")?;
        if !status.success() {
            bail!(
                "building {way} ({label}) failed; the log ends with:\n{}",
                log_tail(&log_path)
            );
        }
        if way == Way::Project {
            let archive = archive.path().display().to_string();
            self.engine
                .docker(&["load", "--quiet", "--input", &archive])
                .await?;
        }
        let seconds = started.elapsed().as_secs_f64();
        let image_id = self
            .engine
            .docker(&["image", "inspect", "--format", "{{.Id}}", &tag])
            .await?
            .stdout
            .trim()
            .to_owned();
        Ok(BuildRun { seconds, image_id })
    }

    /// See [`image_sizes`].
    pub fn sizes(&self, image: &str, binary_path: &str) -> Result<ImageSizes> {
        image_sizes(Some(&self.engine.docker_host()), image, binary_path)
    }

    /// The image's layers (uncompressed digests), bottom first: where two
    /// builds of the same commit part ways.
    pub async fn layers(&self, image: &str) -> Result<Vec<String>> {
        let inspect = self
            .engine
            .docker(&[
                "image",
                "inspect",
                "--format",
                "{{json .RootFS.Layers}}",
                image,
            ])
            .await?
            .stdout;
        serde_json::from_str(inspect.trim()).context("unexpected docker image inspect output")
    }
}

/// The committer date of `context`'s HEAD, in seconds since the epoch.
fn commit_time(context: &Path) -> Result<u64> {
    let output = Command::new("git")
        .args(["log", "-1", "--format=%ct"])
        .current_dir(context)
        .stdin(Stdio::null())
        .output()
        .context("cannot run git")?;
    ensure!(
        output.status.success(),
        "git log failed in {}",
        context.display()
    );
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .with_context(|| format!("git log printed no commit time in {}", context.display()))
}

/// The unpacked size of an image and of the binary at `binary_path`, read
/// from `docker export` of a container made from it (which works for an
/// image without a shell too). `docker_host`: another engine than the
/// default one.
pub fn image_sizes(
    docker_host: Option<&str>,
    image: &str,
    binary_path: &str,
) -> Result<ImageSizes> {
    let docker = |args: &[&str]| {
        let mut command = Command::new("docker");
        command.args(args).stdin(Stdio::null());
        if let Some(host) = docker_host {
            command.env("DOCKER_HOST", host);
        }
        command
    };
    let created = docker(&["create", image])
        .output()
        .context("cannot run docker create")?;
    ensure!(
        created.status.success(),
        "docker create {image} failed: {}",
        String::from_utf8_lossy(&created.stderr).trim()
    );
    let container = String::from_utf8_lossy(&created.stdout).trim().to_owned();
    let sizes = exported_sizes(docker(&["export", &container]), &container, binary_path);
    let _ = docker(&["rm", "--force", &container])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    sizes
}

fn exported_sizes(mut export: Command, container: &str, binary_path: &str) -> Result<ImageSizes> {
    let mut export = export
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run docker export")?;
    let stdout = export
        .stdout
        .take()
        .context("docker export has no output")?;
    let sizes = regular_file_sizes(stdout, binary_path);
    let mut stderr = String::new();
    if let Some(mut pipe) = export.stderr.take() {
        pipe.read_to_string(&mut stderr)?;
    }
    let status = export.wait()?;
    ensure!(
        status.success(),
        "docker export {container} failed: {}",
        stderr.trim()
    );
    let (image_bytes, binary_bytes) = sizes?;
    let binary_bytes =
        binary_bytes.with_context(|| format!("{binary_path} is not in the image"))?;
    Ok(ImageSizes {
        image_bytes,
        binary_bytes,
    })
}

/// The total size of the regular files in a tar stream, and the size of the
/// one at `path` when present.
fn regular_file_sizes(stream: impl Read, path: &str) -> Result<(u64, Option<u64>)> {
    let wanted = Path::new(path.trim_start_matches('/'));
    let mut archive = tar::Archive::new(stream);
    let mut total = 0;
    let mut sizes: HashMap<PathBuf, u64> = HashMap::new();
    // Cargo hard-links the binary it leaves in target/release to its copy in
    // target/release/deps, and a tar stores the second name as a link.
    let mut wanted_links_to = None;
    for entry in archive.entries().context("unreadable export")? {
        let entry = entry.context("unreadable export entry")?;
        let entry_path = entry.path()?.into_owned();
        match entry.header().entry_type() {
            tar::EntryType::Regular => {
                let size = entry.header().size()?;
                total += size;
                sizes.insert(entry_path, size);
            }
            tar::EntryType::Link if entry_path == wanted => {
                wanted_links_to = entry.link_name()?.map(|name| name.into_owned());
            }
            _ => {}
        }
    }
    // The reader stops at the first end-of-archive block; the writer may
    // still be sending the rest, and a closed pipe would fail the export.
    std::io::copy(&mut archive.into_inner(), &mut std::io::sink()).context("unreadable export")?;
    let found = sizes
        .get(wanted_links_to.as_deref().unwrap_or(wanted))
        .copied();
    Ok((total, found))
}

fn log_tail(path: &Path) -> String {
    let log = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_count_regular_files_and_find_the_binary() {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, size) in [("opt/rel/bin/service_discovery", 40), ("etc/os-release", 2)] {
            let mut header = tar::Header::new_gnu();
            header.set_size(size);
            header.set_mode(0o755);
            builder
                .append_data(&mut header, path, &vec![0u8; size as usize][..])
                .unwrap();
        }
        let mut link = tar::Header::new_gnu();
        link.set_entry_type(tar::EntryType::Symlink);
        link.set_size(0);
        builder
            .append_link(
                &mut link,
                "bin/service_discovery",
                "/opt/rel/bin/service_discovery",
            )
            .unwrap();
        let archive = builder.into_inner().unwrap();

        let sizes = regular_file_sizes(&archive[..], "/opt/rel/bin/service_discovery").unwrap();
        assert_eq!(sizes, (42, Some(40)));
        let missing = regular_file_sizes(&archive[..], "/usr/local/bin/service_discovery").unwrap();
        assert_eq!(missing, (42, None));
    }

    #[test]
    fn a_hard_linked_binary_counts_once_and_is_found_by_either_name() {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(40);
        header.set_mode(0o755);
        builder
            .append_data(
                &mut header,
                "app/target/release/deps/service_discovery-0123",
                &[0u8; 40][..],
            )
            .unwrap();
        let mut link = tar::Header::new_gnu();
        link.set_entry_type(tar::EntryType::Link);
        link.set_size(0);
        builder
            .append_link(
                &mut link,
                "app/target/release/service_discovery",
                "app/target/release/deps/service_discovery-0123",
            )
            .unwrap();
        let archive = builder.into_inner().unwrap();

        let sizes =
            regular_file_sizes(&archive[..], "/app/target/release/service_discovery").unwrap();
        assert_eq!(sizes, (40, Some(40)));
    }
}
