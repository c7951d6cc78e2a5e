//! Searching images for secrets: every blob `docker save` writes (each
//! layer's tar, the image config with its history, the manifests), `docker
//! history` and `docker image inspect`, and everything a registry holds
//! under a tag (a pushed image or an exported build cache).
//!
//! Blobs are streamed: layers are decompressed on the fly and every file in
//! them is searched, names included, so a file a later layer deletes is
//! still found in the layer that added it.

use std::io::{Cursor, Read};
use std::process::Stdio;

use aho_corasick::AhoCorasick;
use anyhow::{Context, Result, bail};

use crate::engine::docker_cli::docker_output;
use crate::registries::content::{RegistryItem, reachable_content};

/// A value that must never reach an image, with a name for reports.
#[derive(Debug, Clone)]
pub struct Secret {
    pub name: String,
    pub needle: Vec<u8>,
}

impl Secret {
    pub fn new(name: impl Into<String>, needle: impl AsRef<[u8]>) -> Self {
        Self {
            name: name.into(),
            needle: needle.as_ref().to_vec(),
        }
    }
}

/// Where a secret was found: `layer sha256:... /usr/local/cargo/credentials.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leak {
    pub secret: String,
    pub place: String,
}

/// What a scan looked at and what it found.
#[derive(Debug, Clone, Default)]
pub struct ScanReport {
    pub leaks: Vec<Leak>,
    /// Blobs (layers, configs, manifests) and other documents searched.
    pub documents: usize,
    /// Files inside layer archives searched.
    pub files: usize,
    /// Bytes searched, after decompression.
    pub bytes: u64,
}

impl ScanReport {
    fn absorb(&mut self, other: ScanReport) {
        self.leaks.extend(other.leaks);
        self.documents += other.documents;
        self.files += other.files;
        self.bytes += other.bytes;
    }

    /// The names of the secrets found, each once.
    pub fn leaked_secrets(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.leaks.iter().map(|leak| leak.secret.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

pub struct LeakScanner {
    secrets: Vec<Secret>,
    matcher: AhoCorasick,
}

impl LeakScanner {
    pub fn new(secrets: Vec<Secret>) -> Result<Self> {
        if secrets.is_empty() || secrets.iter().any(|secret| secret.needle.len() < 8) {
            bail!("every secret needs at least 8 bytes to search for, or the scan proves nothing");
        }
        let matcher = AhoCorasick::new(secrets.iter().map(|secret| &secret.needle))
            .context("cannot build the matcher")?;
        Ok(Self { secrets, matcher })
    }

    /// Searches a document held in memory.
    pub fn scan_bytes(&self, place: &str, data: &[u8]) -> ScanReport {
        let mut report = ScanReport {
            documents: 1,
            bytes: data.len() as u64,
            ..ScanReport::default()
        };
        report.leaks = self.matches_in(place, data);
        report
    }

    fn matches_in(&self, place: &str, data: &[u8]) -> Vec<Leak> {
        let mut leaks: Vec<Leak> = self
            .matcher
            .find_iter(data)
            .map(|found| Leak {
                secret: self.secrets[found.pattern().as_usize()].name.clone(),
                place: place.to_owned(),
            })
            .collect();
        leaks.dedup();
        leaks
    }

    fn scan_stream(&self, place: &str, reader: impl Read) -> Result<(Vec<Leak>, u64)> {
        let mut counting = CountingReader {
            inner: reader,
            count: 0,
        };
        let mut leaks = Vec::new();
        for found in self.matcher.stream_find_iter(&mut counting) {
            let found = found.with_context(|| format!("reading {place}"))?;
            let leak = Leak {
                secret: self.secrets[found.pattern().as_usize()].name.clone(),
                place: place.to_owned(),
            };
            if !leaks.contains(&leak) {
                leaks.push(leak);
            }
        }
        Ok((leaks, counting.count))
    }

    /// Searches one blob: gzip-compressed or not, a tar archive (then every
    /// member's name and content) or any other document.
    pub fn scan_blob(&self, place: &str, reader: impl Read) -> Result<ScanReport> {
        let (head, reader) = peek(reader, 512)?;
        if head.starts_with(&[0x1f, 0x8b]) {
            let decoded = flate2::read::MultiGzDecoder::new(Cursor::new(head).chain(reader));
            let (head, decoded) = peek(decoded, 512)?;
            return self.scan_decoded(place, head, decoded);
        }
        self.scan_decoded(place, head, reader)
    }

    /// A blob's first bytes (`head`, to tell what it is) and the rest.
    fn scan_decoded(&self, place: &str, head: Vec<u8>, reader: impl Read) -> Result<ScanReport> {
        if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            bail!("{place} is zstd-compressed, which this scanner does not read");
        }
        let mut report = ScanReport {
            documents: 1,
            ..ScanReport::default()
        };
        let stream = Cursor::new(head.clone()).chain(reader);
        if !is_tar(&head) {
            let (leaks, bytes) = self.scan_stream(place, stream)?;
            report.leaks = leaks;
            report.bytes = bytes;
            return Ok(report);
        }
        let mut archive = tar::Archive::new(stream);
        for entry in archive
            .entries()
            .with_context(|| format!("{place} is not a tar archive"))?
        {
            let mut entry = entry.with_context(|| format!("bad tar entry in {place}"))?;
            let path = entry.path_bytes().into_owned();
            let file_place = format!("{place} {}", String::from_utf8_lossy(&path));
            report.leaks.extend(self.matches_in(&file_place, &path));
            if let Some(target) = entry.link_name_bytes() {
                report.leaks.extend(self.matches_in(&file_place, &target));
            }
            let (leaks, bytes) = self.scan_stream(&file_place, &mut entry)?;
            report.leaks.extend(leaks);
            report.bytes += bytes;
            report.files += 1;
        }
        Ok(report)
    }

    /// Searches images in an engine (`docker_host`, or the default one):
    /// every blob of one `docker save` of them all (a layer the images
    /// share is searched once), plus `docker history` and `docker image
    /// inspect` of each as the engine prints them.
    pub async fn scan_local_images(
        &self,
        images: &[&str],
        docker_host: Option<&str>,
    ) -> Result<ScanReport> {
        let mut report = self.scan_saved_images(images, docker_host).await?;
        for image in images {
            for (what, args) in [
                (
                    "docker history",
                    vec!["history", "--no-trunc", "--format", "{{json .}}", image],
                ),
                ("docker image inspect", vec!["image", "inspect", image]),
            ] {
                let text = docker_output(&args, docker_host).await?;
                report.absorb(self.scan_bytes(&format!("{what} {image}"), text.as_bytes()));
            }
        }
        Ok(report)
    }

    async fn scan_saved_images(
        &self,
        images: &[&str],
        docker_host: Option<&str>,
    ) -> Result<ScanReport> {
        let mut command = std::process::Command::new("docker");
        command
            .arg("save")
            .args(images)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(host) = docker_host {
            command.env("DOCKER_HOST", host);
        }
        let names = images.join(" ");
        let scanner = self.clone_for_thread();
        tokio::task::spawn_blocking(move || -> Result<ScanReport> {
            let mut child = command.spawn().context("cannot run docker save")?;
            let stdout = child.stdout.take().context("docker save has no stdout")?;
            let scanned = scanner.scan_archive_members("docker save", stdout);
            let output = child
                .wait_with_output()
                .context("docker save did not finish")?;
            // A scan that stopped early closes the pipe under docker save:
            // its own error is the one that explains.
            let scanned = scanned?;
            if !output.status.success() {
                bail!(
                    "docker save {names} failed: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                );
            }
            Ok(scanned)
        })
        .await
        .context("the scan thread panicked")?
    }

    /// Each member of an archive (such as `docker save` output) as a blob of its own.
    fn scan_archive_members(&self, place: &str, reader: impl Read) -> Result<ScanReport> {
        let mut report = ScanReport::default();
        let mut archive = tar::Archive::new(reader);
        for entry in archive
            .entries()
            .with_context(|| format!("{place} is not a tar archive"))?
        {
            let entry = entry.with_context(|| format!("bad entry in {place}"))?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let member = format!("{place}: {}", String::from_utf8_lossy(&entry.path_bytes()));
            report.absorb(self.scan_blob(&member, entry)?);
        }
        // The archive's end marker may be followed by padding, which the
        // writer must be able to write.
        std::io::copy(&mut archive.into_inner(), &mut std::io::sink())
            .with_context(|| format!("reading the end of {place}"))?;
        if report.documents == 0 {
            bail!("{place} held no blobs at all");
        }
        Ok(report)
    }

    /// Searches every manifest and blob reachable from `repository:reference`
    /// in the project's registry: an image (with its attestations) or an
    /// exported build cache.
    pub async fn scan_registry(&self, repository: &str, reference: &str) -> Result<ScanReport> {
        let items = reachable_content(repository, reference).await?;
        let mut report = ScanReport::default();
        for item in items {
            match item {
                RegistryItem::Manifest { digest, body } => {
                    report
                        .absorb(self.scan_bytes(&format!("{repository} manifest {digest}"), &body));
                }
                RegistryItem::Blob {
                    digest,
                    media_type,
                    body,
                } => {
                    let place = format!("{repository} blob {digest} ({media_type})");
                    report.absorb(self.scan_blob(&place, Cursor::new(body))?);
                }
            }
        }
        Ok(report)
    }

    fn clone_for_thread(&self) -> Self {
        Self::new(self.secrets.clone()).expect("the same secrets were accepted before")
    }
}

/// A fresh random value, e.g. an access token: `PREFIX` and 32 hex digits.
pub fn random_secret(prefix: &str) -> Result<String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .context("cannot read /dev/urandom")?;
    Ok(format!(
        "{prefix}{}",
        bytes
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect::<String>()
    ))
}

/// Reads up to `size` bytes, returning them and the rest of the stream.
fn peek<R: Read>(mut reader: R, size: usize) -> Result<(Vec<u8>, R)> {
    let mut head = Vec::with_capacity(size);
    (&mut reader)
        .take(size as u64)
        .read_to_end(&mut head)
        .context("cannot read")?;
    Ok((head, reader))
}

/// A POSIX or GNU tar header carries "ustar" at offset 257.
fn is_tar(head: &[u8]) -> bool {
    head.len() >= 262 && &head[257..262] == b"ustar"
}

struct CountingReader<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buffer)?;
        self.count += read as u64;
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, data) in files {
            let mut header = tar::Header::new_ustar();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, path, *data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut encoder, data).unwrap();
        encoder.finish().unwrap()
    }

    fn scanner() -> LeakScanner {
        LeakScanner::new(vec![
            Secret::new("token", "tok-0123456789abcdef"),
            Secret::new("key", "KEYMATERIAL-XYZ"),
        ])
        .unwrap()
    }

    #[test]
    fn finds_a_secret_inside_a_file_of_a_compressed_layer() {
        let blob = gzip(&layer(&[
            ("etc/hostname", b"builder\n"),
            (
                "usr/local/cargo/credentials.toml",
                b"[registries.acme]\ntoken = \"tok-0123456789abcdef\"\n",
            ),
        ]));
        let report = scanner()
            .scan_blob("layer sha256:1", Cursor::new(blob))
            .unwrap();
        assert_eq!(report.files, 2);
        assert_eq!(
            report.leaks,
            [Leak {
                secret: "token".into(),
                place: "layer sha256:1 usr/local/cargo/credentials.toml".into()
            }]
        );
    }

    #[test]
    fn finds_a_secret_in_a_file_name_and_in_plain_documents() {
        let blob = layer(&[("tmp/KEYMATERIAL-XYZ", b"")]);
        let report = scanner().scan_blob("layer", Cursor::new(blob)).unwrap();
        assert_eq!(report.leaked_secrets(), ["key"]);
        let config = br#"{"history":[{"created_by":"RUN echo tok-0123456789abcdef"}]}"#;
        let report = scanner()
            .scan_blob("config", Cursor::new(config.to_vec()))
            .unwrap();
        assert_eq!(report.leaked_secrets(), ["token"]);
    }

    #[test]
    fn finds_a_secret_split_across_read_buffers() {
        let mut data = vec![b'x'; 64 * 1024 - 5];
        data.extend_from_slice(b"tok-0123456789abcdef");
        data.extend(vec![b'y'; 1000]);
        let report = scanner().scan_blob("big", Cursor::new(data)).unwrap();
        assert_eq!(report.leaked_secrets(), ["token"]);
    }

    #[test]
    fn a_clean_layer_reports_nothing_but_counts_what_it_read() {
        let blob = gzip(&layer(&[("opt/rel/bin/app", b"\x7fELF binary")]));
        let report = scanner().scan_blob("layer", Cursor::new(blob)).unwrap();
        assert!(report.leaks.is_empty());
        assert_eq!((report.files, report.bytes), (1, 11));
    }

    #[test]
    fn refuses_secrets_too_short_to_mean_anything() {
        assert!(LeakScanner::new(vec![Secret::new("short", "abc")]).is_err());
        assert!(LeakScanner::new(Vec::new()).is_err());
    }
}
