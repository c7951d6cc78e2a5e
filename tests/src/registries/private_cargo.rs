//! A private cargo registry that demands a token: a static sparse index and
//! its `.crate` files, served by Debian's nginx in a container on
//! 127.0.0.1. Publishing is what `cargo publish` would leave on a registry
//! server: the archive `cargo package` makes, under the `dl` path, and its
//! line in the index (name, version, dependencies, sha256 of the archive).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use serde_json::json;
use sha2::{Digest, Sha256};
use tempfile::TempDir;
use tokio::process::Command;

use crate::builds::buildx::BuiltImage;
use crate::images::leak_scan::random_secret;
use crate::registries::fixture_server::{FixtureServer, ServerSpec, build_server_image};
use crate::repo::fixtures::fixture_path;

const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// The name the fixture projects give the registry in `.cargo/config.toml`.
pub const REGISTRY_NAME: &str = "acme";

pub struct PrivateRegistry {
    /// Index and crates, mounted into the server.
    content: TempDir,
    /// The path below which this registry's files are served.
    instance: String,
    token: String,
    server: FixtureServer,
    _image: BuiltImage,
}

/// A crate as the registry now serves it.
#[derive(Debug, Clone)]
pub struct PublishedCrate {
    pub name: String,
    pub version: String,
    /// The sha256 of the archive, as the index records it.
    pub checksum: String,
}

impl PrivateRegistry {
    /// Starts an empty registry that answers only requests carrying `token`.
    pub async fn start(token: &str, test_name: &str) -> Result<Self> {
        let image = build_server_image("registry_server", test_name).await?;
        let content = tempfile::Builder::new()
            .prefix("private-registry-")
            .tempdir()?;
        // Every registry gets a path of its own, so cargo's download caches
        // (keyed by the index URL) never mix two registries that happen to
        // get the same port.
        let instance = random_secret("registry-")?;
        let root = content.path().join("srv").join(&instance);
        std::fs::create_dir_all(root.join("index"))?;
        std::fs::create_dir_all(root.join("crates"))?;
        let template = std::fs::read_to_string(fixture_path("private_deps/registry/nginx.conf"))?;
        ensure!(
            template.contains("@TOKEN@"),
            "the nginx.conf fixture lost its @TOKEN@ placeholder"
        );
        std::fs::write(
            content.path().join("nginx.conf"),
            template.replace("@TOKEN@", token),
        )?;

        let server = FixtureServer::start(&ServerSpec {
            image: image.id.clone(),
            container_port: "8080/tcp".into(),
            mounts: vec![
                (
                    content.path().join("nginx.conf"),
                    "/etc/nginx/registry.conf".into(),
                ),
                (content.path().join("srv"), "/srv/registry".into()),
            ],
        })
        .await?;
        let registry = Self {
            content,
            instance,
            token: token.to_owned(),
            server,
            _image: image,
        };
        // The download URL names the published port, known only now.
        let config = json!({ "dl": format!("{}/crates/{{crate}}/{{crate}}-{{version}}.crate", registry.url()), "auth-required": true });
        std::fs::write(root.join("index/config.json"), config.to_string())?;
        let client = reqwest::Client::new();
        let url = format!("{}/index/config.json", registry.url());
        registry
            .server
            .wait_until(READY_TIMEOUT, || {
                let (client, url, token) = (client.clone(), url.clone(), registry.token.clone());
                async move {
                    let status = client
                        .get(&url)
                        .header("Authorization", token)
                        .send()
                        .await?
                        .status();
                    ensure!(status.is_success(), "config.json answered {status}");
                    Ok(())
                }
            })
            .await?;
        Ok(registry)
    }

    /// Where the registry's index and crates are served from.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/{}", self.server.port, self.instance)
    }

    /// The index URL cargo takes: `sparse+http://127.0.0.1:PORT/NAME/index/`.
    pub fn index_url(&self) -> String {
        format!("sparse+{}/index/", self.url())
    }

    /// The `.cargo/config.toml` a project needs to use the registry: its
    /// index, and the built-in provider that reads the token from
    /// `CARGO_REGISTRIES_ACME_TOKEN` (or a credentials file).
    pub fn cargo_config(&self) -> String {
        format!(
            "[registries.{REGISTRY_NAME}]\nindex = \"{}\"\ncredential-provider = \"cargo:token\"\n",
            self.index_url()
        )
    }

    /// Packages the crate in `crate_dir` with `cargo package` and publishes it.
    pub async fn publish(&self, crate_dir: &Path) -> Result<PublishedCrate> {
        let target = tempfile::Builder::new().prefix("package-").tempdir()?;
        let output = Command::new("cargo")
            .args(["package", "--no-verify", "--allow-dirty", "--quiet"])
            .current_dir(crate_dir)
            .env("CARGO_TARGET_DIR", target.path())
            .stdin(Stdio::null())
            .output()
            .await
            .context("cannot run cargo package")?;
        ensure!(
            output.status.success(),
            "cargo package failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
        let archive = single_archive(&target.path().join("package"))?;
        let (name, version) = name_and_version(&archive)?;
        let bytes = std::fs::read(&archive)?;
        let checksum: String = Sha256::digest(&bytes)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();

        let root = self.content.path().join("srv").join(&self.instance);
        let crate_path = root.join(format!("crates/{name}/{name}-{version}.crate"));
        std::fs::create_dir_all(crate_path.parent().expect("a crate path has a parent"))?;
        std::fs::write(&crate_path, &bytes)?;
        let entry = json!({
            "name": name, "vers": version, "deps": [], "cksum": checksum,
            "features": {}, "yanked": false,
        });
        let index_file = root.join("index").join(index_path(&name)?);
        std::fs::create_dir_all(index_file.parent().expect("an index path has a parent"))?;
        let mut lines = std::fs::read_to_string(&index_file).unwrap_or_default();
        lines.push_str(&format!("{entry}\n"));
        std::fs::write(&index_file, lines)?;
        Ok(PublishedCrate {
            name,
            version,
            checksum,
        })
    }

    /// nginx's access log: one line per request, with its status.
    pub async fn access_log(&self) -> String {
        self.server.logs().await
    }
}

/// Where the sparse index keeps a crate's file: `1/a`, `2/ab`, `3/a/abc`,
/// else the first two pairs of letters, e.g. `ac/me/acme_greeting`.
pub fn index_path(name: &str) -> Result<PathBuf> {
    let name = name.to_lowercase();
    ensure!(
        !name.is_empty() && name.is_ascii(),
        "not a crate name: {name:?}"
    );
    Ok(match name.len() {
        1 => PathBuf::from("1").join(&name),
        2 => PathBuf::from("2").join(&name),
        3 => PathBuf::from("3").join(&name[..1]).join(&name),
        _ => PathBuf::from(&name[..2]).join(&name[2..4]).join(&name),
    })
}

fn single_archive(dir: &Path) -> Result<PathBuf> {
    let archives: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cargo package wrote nothing to {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "crate")
        })
        .collect();
    let [archive] = &archives[..] else {
        bail!(
            "expected one .crate in {}, found {archives:?}",
            dir.display()
        )
    };
    Ok(archive.clone())
}

/// `acme_greeting-0.1.0.crate` -> (`acme_greeting`, `0.1.0`).
fn name_and_version(archive: &Path) -> Result<(String, String)> {
    let stem = archive
        .file_stem()
        .and_then(|stem| stem.to_str())
        .context("an archive name is not UTF-8")?;
    let (name, version) = stem
        .rsplit_once('-')
        .context("an archive name without version")?;
    Ok((name.to_owned(), version.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_paths_follow_cargo_layout() {
        assert_eq!(index_path("a").unwrap(), PathBuf::from("1/a"));
        assert_eq!(index_path("ab").unwrap(), PathBuf::from("2/ab"));
        assert_eq!(index_path("abc").unwrap(), PathBuf::from("3/a/abc"));
        assert_eq!(
            index_path("Acme_Greeting").unwrap(),
            PathBuf::from("ac/me/acme_greeting")
        );
    }

    #[test]
    fn reads_name_and_version_from_the_archive_name() {
        let parsed = name_and_version(Path::new("/t/package/acme_greeting-0.1.0.crate")).unwrap();
        assert_eq!(parsed, ("acme_greeting".to_owned(), "0.1.0".to_owned()));
    }
}
