//! What an image holds on disk, read through the engine API: the merged
//! filesystem (`docker export` of a container that never starts) and each
//! layer on its own (`docker save`).

use std::collections::HashMap;
use std::io::Read;

use anyhow::{Context, Result, bail};
use bollard::Docker;
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::RemoveContainerOptionsBuilder;
use futures_util::TryStreamExt;

use crate::containers::run::SUITE_LABEL;

/// Paths the engine itself puts into every container's filesystem: mount
/// points and the files it bind-mounts at run time. `docker export` shows
/// them even for an image built `FROM scratch`.
pub fn is_engine_provided(path: &str) -> bool {
    const FILES: [&str; 6] = [
        "/.dockerenv",
        "/etc",
        "/etc/hostname",
        "/etc/hosts",
        "/etc/mtab",
        "/etc/resolv.conf",
    ];
    const MOUNT_POINTS: [&str; 3] = ["/dev", "/proc", "/sys"];
    FILES.contains(&path)
        || MOUNT_POINTS.iter().any(|mount| {
            path == *mount
                || path
                    .strip_prefix(mount)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
}

/// What kind of file an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Directory,
    Symlink,
    HardLink,
    Other,
}

/// One entry of a filesystem archive, with an absolute path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub kind: Kind,
    /// Permission bits, including setuid/setgid/sticky (e.g. `0o1777`).
    pub mode: u32,
    pub size: u64,
    pub link_target: Option<String>,
}

/// One layer of an image, in order from the base up.
#[derive(Debug, Clone)]
pub struct Layer {
    /// The blob's path in the saved archive, `blobs/sha256/...`.
    pub blob: String,
    pub entries: Vec<Entry>,
}

/// The merged filesystem of `image`, as a container created from it (and
/// never started) exports it. Engine-provided entries are included: filter
/// them with [`is_engine_provided`] where they do not matter.
pub async fn exported_files(docker: &Docker, image: &str) -> Result<Vec<Entry>> {
    let body = ContainerCreateBody {
        image: Some(image.to_owned()),
        labels: Some(HashMap::from([(SUITE_LABEL.to_owned(), "true".to_owned())])),
        ..Default::default()
    };
    let created = docker
        .create_container(None, body)
        .await
        .with_context(|| format!("cannot create a container from {image}"))?;
    let archive = docker
        .export_container(&created.id)
        .map_ok(|chunk| chunk.to_vec())
        .try_concat()
        .await
        .with_context(|| format!("cannot export the filesystem of {image}"));
    docker
        .remove_container(
            &created.id,
            Some(RemoveContainerOptionsBuilder::default().force(true).build()),
        )
        .await
        .with_context(|| format!("cannot remove container {}", created.id))?;
    list_archive(&archive?[..])
}

/// The layers of `image`, from the base up, each listed from its own
/// archive (`docker save`). A file a later layer deletes still shows in the
/// layer that added it, which is what a leak check needs.
pub async fn image_layers(docker: &Docker, image: &str) -> Result<Vec<Layer>> {
    let saved: Vec<u8> = docker
        .export_image(image)
        .map_ok(|chunk| chunk.to_vec())
        .try_concat()
        .await
        .with_context(|| format!("cannot save {image}"))?;
    let mut blobs = read_members(&saved[..])?;
    let manifest: serde_json::Value = serde_json::from_slice(
        blobs
            .get("manifest.json")
            .context("the saved archive has no manifest.json")?,
    )
    .context("the saved archive's manifest.json is not JSON")?;
    let [image_manifest] = manifest.as_array().map(Vec::as_slice).unwrap_or_default() else {
        bail!("expected one image in the saved archive of {image}, found {manifest}");
    };
    let layer_paths = image_manifest["Layers"]
        .as_array()
        .context("manifest.json lists no layers")?
        .iter()
        .map(|path| {
            path.as_str()
                .map(str::to_owned)
                .context("a layer path is not a string")
        })
        .collect::<Result<Vec<_>>>()?;
    layer_paths
        .into_iter()
        .map(|blob| {
            let data = blobs
                .remove(&blob)
                .with_context(|| format!("layer {blob} missing from the archive"))?;
            Ok(Layer {
                entries: list_layer(&data).with_context(|| format!("reading layer {blob}"))?,
                blob,
            })
        })
        .collect()
}

/// A layer blob is a tar archive, gzip-compressed or not.
fn list_layer(data: &[u8]) -> Result<Vec<Entry>> {
    if data.starts_with(&[0x1f, 0x8b]) {
        let mut unpacked = Vec::new();
        flate2::read::GzDecoder::new(data)
            .read_to_end(&mut unpacked)
            .context("bad gzip data")?;
        list_archive(&unpacked[..])
    } else {
        list_archive(data)
    }
}

/// The contents of every regular file of a (small) archive, by path.
fn read_members(archive: &[u8]) -> Result<HashMap<String, Vec<u8>>> {
    let mut members = HashMap::new();
    let mut reader = tar::Archive::new(archive);
    for entry in reader.entries().context("not a tar archive")? {
        let mut entry = entry.context("bad tar entry")?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .context("bad path in tar entry")?
            .to_string_lossy()
            .into_owned();
        let mut data = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
        entry
            .read_to_end(&mut data)
            .with_context(|| format!("cannot read {path}"))?;
        members.insert(path, data);
    }
    Ok(members)
}

fn list_archive(archive: &[u8]) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    let mut reader = tar::Archive::new(archive);
    for entry in reader.entries().context("not a tar archive")? {
        let entry = entry.context("bad tar entry")?;
        let header = entry.header();
        let raw_path = entry
            .path()
            .context("bad path in tar entry")?
            .to_string_lossy()
            .into_owned();
        let Some(path) = absolute(&raw_path) else {
            continue;
        };
        let kind = match header.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => Kind::File,
            tar::EntryType::Directory => Kind::Directory,
            tar::EntryType::Symlink => Kind::Symlink,
            tar::EntryType::Link => Kind::HardLink,
            _ => Kind::Other,
        };
        let link_target = entry
            .link_name()
            .context("bad link name in tar entry")?
            .map(|target| target.to_string_lossy().into_owned());
        entries.push(Entry {
            path,
            kind,
            mode: header.mode().context("bad mode in tar entry")? & 0o7777,
            size: header.size().context("bad size in tar entry")?,
            link_target,
        });
    }
    Ok(entries)
}

/// `./usr/bin/` and `usr/bin` both become `/usr/bin`; the root itself is skipped.
fn absolute(raw: &str) -> Option<String> {
    let trimmed = raw.trim_start_matches("./").trim_matches('/');
    (!trimmed.is_empty() && trimmed != ".").then(|| format!("/{trimmed}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(entries: &[(&str, tar::EntryType, u32, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, kind, mode, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(*kind);
            header.set_mode(*mode);
            header.set_size(data.len() as u64);
            header.set_cksum();
            builder.append_data(&mut header, path, *data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn lists_paths_as_absolute_with_kind_and_mode() {
        let data = archive(&[
            ("tmp/", tar::EntryType::Directory, 0o1777, b""),
            (
                "opt/rel/bin/service_discovery",
                tar::EntryType::Regular,
                0o755,
                b"\x7fELF",
            ),
        ]);
        let entries = list_layer(&data).unwrap();
        assert_eq!(entries[0].path, "/tmp");
        assert_eq!(
            (entries[0].kind, entries[0].mode),
            (Kind::Directory, 0o1777)
        );
        assert_eq!(entries[1].path, "/opt/rel/bin/service_discovery");
        assert_eq!((entries[1].kind, entries[1].size), (Kind::File, 4));
    }

    #[test]
    fn reads_gzip_compressed_layers() {
        let data = archive(&[("app/recipe.json", tar::EntryType::Regular, 0o644, b"{}")]);
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut encoder, &data).unwrap();
        let entries = list_layer(&encoder.finish().unwrap()).unwrap();
        assert_eq!(entries[0].path, "/app/recipe.json");
    }

    #[test]
    fn tells_engine_mounts_from_image_files() {
        for path in ["/.dockerenv", "/dev/shm", "/proc", "/etc/mtab"] {
            assert!(is_engine_provided(path), "{path}");
        }
        for path in ["/etc/passwd", "/devices", "/opt/rel/bin/service_discovery"] {
            assert!(!is_engine_provided(path), "{path}");
        }
    }

    #[test]
    fn normalises_paths() {
        assert_eq!(absolute("./usr/bin/").as_deref(), Some("/usr/bin"));
        assert_eq!(absolute("./"), None);
        assert_eq!(absolute("etc/passwd").as_deref(), Some("/etc/passwd"));
    }
}
