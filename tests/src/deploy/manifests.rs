//! The Kubernetes manifests in `deploy/kubernetes`, and the places the tests
//! hold them to: the container contract, the runner stage's `USER`, the
//! image `ci/build_images.sh` tags, and the few facts only the service's own
//! sources state (its liveness route, its subcommands, the default of its
//! shutdown timeout). Each fact is read from one place, named here, so that
//! a change on either side fails the tests instead of drifting.
//!
//! The pipeline layer does not depend on the service's crate, so those
//! facts are read from its sources as text; each reader fails with a line
//! saying what it looked for when the source stops reading that way.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use yaml_rust2::Yaml;

use crate::builds::dockerfile::Dockerfile;
use crate::ci::checkov::file_name;
use crate::ci::definitions::{load_yaml, relative};
use crate::contract::service_package::{service_name, workspace_metadata};
use crate::repo::repo_path;

/// Where the manifests live, from the repository root.
pub const MANIFESTS_DIR: &str = "deploy/kubernetes";
/// The file `kubectl apply -k` reads: a list of the others, not an API object.
pub const KUSTOMIZATION: &str = "kustomization.yaml";
/// The Kubernetes release whose API the manifests must match. The pinned
/// kubernetes-validate bundles the schemas of every release it knows, so
/// moving to another one needs no download, only a pin that bundles it.
pub const KUBERNETES_VERSION: &str = "1.35.0";
/// The annotation prefixes checkov takes a skip from (its
/// `SKIP_ANNOTATION_PREFIXES`); it reads no skip comments in Kubernetes
/// files.
pub const CHECKOV_SKIP_PREFIXES: [&str; 3] =
    ["checkov.io/skip", "bridgecrew.io/skip", "cortex.io/skip"];

/// One manifest: one API object in one file.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The file's name inside [`MANIFESTS_DIR`].
    pub file: String,
    pub document: Yaml,
}

impl Manifest {
    pub fn kind(&self) -> &str {
        self.document["kind"].as_str().unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        self.document["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
    }

    /// The pod template of a workload (Deployment, Job), `BadValue` for
    /// other kinds.
    pub fn pod_spec(&self) -> &Yaml {
        &self.document["spec"]["template"]["spec"]
    }

    /// The pod template's only container.
    pub fn container(&self) -> Result<&Yaml> {
        match self.pod_spec()["containers"].as_vec().map(Vec::as_slice) {
            Some([container]) => Ok(container),
            _ => bail!("{}: expected exactly one container", self.file),
        }
    }

    /// The checkov skips this object's annotations (and its pod
    /// template's) carry, as written: annotation key and value.
    pub fn checkov_skip_annotations(&self) -> Vec<(String, String)> {
        let metadata = [
            &self.document["metadata"],
            &self.document["spec"]["template"]["metadata"],
        ];
        metadata
            .into_iter()
            .filter_map(|metadata| metadata["annotations"].as_hash())
            .flatten()
            .filter_map(|(key, value)| Some((key.as_str()?, value)))
            .filter(|(key, _)| CHECKOV_SKIP_PREFIXES.iter().any(|p| key.contains(p)))
            .map(|(key, value)| {
                let text = value
                    .as_str()
                    .map_or_else(|| format!("{value:?}"), str::to_owned);
                (key.to_owned(), text)
            })
            .collect()
    }
}

/// The manifests' paths, sorted: every YAML file of [`MANIFESTS_DIR`] but
/// the kustomization.
pub fn manifest_files() -> Result<Vec<PathBuf>> {
    let dir = repo_path(MANIFESTS_DIR);
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("cannot list {MANIFESTS_DIR}"))? {
        let path = entry?.path();
        let yaml = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        );
        if yaml && path.file_name() != Some(KUSTOMIZATION.as_ref()) {
            files.push(path);
        }
    }
    files.sort();
    ensure!(!files.is_empty(), "{MANIFESTS_DIR} holds no manifest");
    Ok(files)
}

/// Every manifest, parsed.
pub fn manifests() -> Result<Vec<Manifest>> {
    manifest_files()?
        .iter()
        .map(|path| {
            Ok(Manifest {
                file: file_name(path),
                document: load_yaml(path)?,
            })
        })
        .collect()
}

/// The files the kustomization lists under `resources`, as written.
pub fn kustomization_resources() -> Result<Vec<String>> {
    let path = repo_path(MANIFESTS_DIR).join(KUSTOMIZATION);
    let document = load_yaml(&path)?;
    let resources = document["resources"]
        .as_vec()
        .with_context(|| format!("{}: no resources list", relative(&path)))?;
    resources
        .iter()
        .map(|resource| {
            resource
                .as_str()
                .map(str::to_owned)
                .with_context(|| format!("{}: {resource:?} is no file name", relative(&path)))
        })
        .collect()
}

/// The one manifest of `kind`.
pub fn only<'a>(manifests: &'a [Manifest], kind: &str) -> Result<&'a Manifest> {
    match manifests
        .iter()
        .filter(|manifest| manifest.kind() == kind)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [manifest] => Ok(manifest),
        found => bail!(
            "expected one {kind} in {MANIFESTS_DIR}, found {}",
            found.len()
        ),
    }
}

/// Where a container's variable comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvValue {
    /// Written out, in the container's `env` or a ConfigMap it reads.
    Text(String),
    /// A `secretKeyRef`.
    Secret,
    /// Any other `valueFrom` (field or resource references).
    Other,
}

/// The variables `container` gets: its ConfigMaps' (`envFrom`) first, then
/// its own `env`, which wins as in Kubernetes. A ConfigMap that is not
/// among `manifests`, or an `envFrom` secret, is an error: its keys would
/// be unknown.
pub fn container_env(
    manifests: &[Manifest],
    container: &Yaml,
) -> Result<BTreeMap<String, EnvValue>> {
    let mut env = BTreeMap::new();
    for source in container["envFrom"].as_vec().into_iter().flatten() {
        let name = source["configMapRef"]["name"]
            .as_str()
            .with_context(|| format!("envFrom {source:?}: only configMapRef is read here"))?;
        let config_map = manifests
            .iter()
            .find(|manifest| manifest.kind() == "ConfigMap" && manifest.name() == name)
            .with_context(|| format!("envFrom names ConfigMap {name}, which no manifest holds"))?;
        for (key, value) in config_map.document["data"].as_hash().into_iter().flatten() {
            let (Some(key), Some(value)) = (key.as_str(), value.as_str()) else {
                bail!("{}: data entries must be strings", config_map.file);
            };
            env.insert(key.to_owned(), EnvValue::Text(value.to_owned()));
        }
    }
    for variable in container["env"].as_vec().into_iter().flatten() {
        let name = variable["name"]
            .as_str()
            .with_context(|| format!("env entry {variable:?} has no name"))?;
        let value = if let Some(text) = variable["value"].as_str() {
            EnvValue::Text(text.to_owned())
        } else if !variable["valueFrom"]["secretKeyRef"].is_badvalue() {
            EnvValue::Secret
        } else {
            EnvValue::Other
        };
        env.insert(name.to_owned(), value);
    }
    Ok(env)
}

/// The service's name as Kubernetes object names, namespaces and label
/// values take it: lower-case words joined by `-` (DNS-1123).
pub fn kubernetes_name() -> Result<String> {
    Ok(service_name()?.replace('_', "-"))
}

/// The runner image `ci/build_images.sh` tags on the default branch with
/// its default registry (`ci/lib.sh`): `REGISTRY/NAME:BRANCH`, the tag a
/// deployment follows until a digest is set at deploy time.
pub fn runner_image() -> Result<String> {
    let registry = shell_default("ci/lib.sh", "CI_REGISTRY")?;
    let branch = shell_default("ci/build_images.sh", "DEFAULT_BRANCH")?;
    Ok(format!("{registry}/{}:{branch}", service_name()?))
}

/// The Dockerfile stage those images come from (`DEFAULT_TARGET`).
pub fn runner_stage() -> Result<String> {
    shell_default("ci/build_images.sh", "DEFAULT_TARGET")
}

/// The user and group the runner stage's last `USER` names, numerically
/// (`USER 10001:0`).
pub fn runner_user() -> Result<(u32, u32)> {
    let stage_name = runner_stage()?;
    let dockerfile = Dockerfile::load(&repo_path("docker/Dockerfile"))?;
    let stage = dockerfile
        .stage(&stage_name)
        .with_context(|| format!("docker/Dockerfile has no {stage_name} stage"))?;
    let user = stage
        .instructions
        .iter()
        .rfind(|instruction| instruction.keyword == "USER")
        .with_context(|| format!("docker/Dockerfile's {stage_name} stage sets no USER"))?;
    let numeric = |text: &str| text.parse::<u32>().ok();
    match user.arguments.split_once(':') {
        Some((uid, gid)) => numeric(uid).zip(numeric(gid)),
        None => None,
    }
    .with_context(|| {
        format!(
            "USER {} in docker/Dockerfile: expected numeric UID:GID",
            user.arguments
        )
    })
}

/// The value a script's variable takes when nothing overrides it, from its
/// assignment at the start of a line: `NAME=value` or
/// `NAME="${NAME:-value}"`.
fn shell_default(script: &str, variable: &str) -> Result<String> {
    let text = std::fs::read_to_string(repo_path(script))
        .with_context(|| format!("cannot read {script}"))?;
    let prefix = format!("{variable}=");
    let value = text
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .with_context(|| format!("{script} assigns no {variable}"))?
        .trim_matches('"');
    let value = match value.strip_prefix(&format!("${{{variable}:-")) {
        Some(default) => default.strip_suffix('}').unwrap_or(default),
        None => value,
    };
    ensure!(
        !value.is_empty() && !value.contains(['$', ' ', '(']),
        "{script}: {variable}={value:?} is no plain default"
    );
    Ok(value.to_owned())
}

/// A source file of the service package, found through cargo so a renamed
/// or moved package is still found: its path for messages, and its text.
fn service_source(in_package: &str) -> Result<(String, String)> {
    let name = service_name()?;
    let metadata = workspace_metadata(crate::repo::repo_root())?;
    let manifest = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|package| package["name"] == name)
        .and_then(|package| package["manifest_path"].as_str())
        .with_context(|| format!("cargo metadata lists no package {name}"))?;
    let path = Path::new(manifest)
        .parent()
        .context("a manifest path has a directory")?
        .join(in_package);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", relative(&path)))?;
    Ok((relative(&path), text))
}

/// The text with every whitespace character removed, so a reader does not
/// depend on where rustfmt breaks a call.
fn squeezed(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The default of `SHUTDOWN_TIMEOUT`, in seconds, where the service's
/// configuration parser states it (`src/config.rs`:
/// `vars.parse("SHUTDOWN_TIMEOUT", Duration::from_secs(N), ...)`).
pub fn shutdown_timeout_default() -> Result<u64> {
    let (file, text) = service_source("src/config.rs")?;
    let needle = "\"SHUTDOWN_TIMEOUT\",Duration::from_secs(";
    let text = squeezed(&text);
    let defaults: Vec<&str> = text
        .match_indices(needle)
        .filter_map(|(at, _)| text[at + needle.len()..].split(')').next())
        .collect();
    let [seconds] = defaults.as_slice() else {
        bail!(
            "{file}: expected one `\"SHUTDOWN_TIMEOUT\", Duration::from_secs(N)` default, found {}: \
             update shutdown_timeout_default to read it where it moved",
            defaults.len()
        );
    };
    seconds
        .parse()
        .with_context(|| format!("{file}: SHUTDOWN_TIMEOUT's default {seconds:?} is no number"))
}

/// The variables the service reads: every `"NAME"` in `src/config.rs`
/// that is written in upper case.
pub fn service_variables() -> Result<Vec<String>> {
    let (file, text) = service_source("src/config.rs")?;
    let mut names: Vec<String> = text
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|word| {
            word.len() > 1
                && word
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
        })
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    ensure!(!names.is_empty(), "{file}: no variable names found");
    Ok(names)
}

/// The path the liveness handler answers on (`health::healthz`: the
/// process answers, nothing else is checked), from the service's router in
/// `src/http/mod.rs`.
pub fn liveness_route() -> Result<String> {
    let (file, text) = service_source("src/http/mod.rs")?;
    let text = squeezed(&text);
    let handler = "get(health::healthz))";
    let end = text
        .find(handler)
        .with_context(|| format!("{file}: no route to {handler}: update liveness_route"))?;
    let start = text[..end]
        .rfind(".route(\"")
        .with_context(|| format!("{file}: {handler} is not in a .route(\"PATH\", ...) call"))?;
    let path = text[start + ".route(\"".len()..end]
        .split('"')
        .next()
        .unwrap_or_default();
    ensure!(
        path.starts_with('/'),
        "{file}: {handler}'s route {path:?} is no path"
    );
    Ok(path.to_owned())
}

/// The subcommands the service's command line takes, as clap derives them
/// from `pub enum Command` in `src/cli.rs`: each variant in kebab-case, or
/// the name a `#[command(name = "...")]` gives it.
pub fn service_subcommands() -> Result<Vec<String>> {
    let (file, text) = service_source("src/cli.rs")?;
    let body = text
        .split_once("pub enum Command {")
        .and_then(|(_, rest)| rest.split_once("\n}"))
        .map(|(body, _)| body)
        .with_context(|| format!("{file}: no `pub enum Command {{ ... }}`"))?;
    let mut names = Vec::new();
    let mut renamed = None;
    for line in body.lines().map(str::trim) {
        if let Some(attribute) = line.strip_prefix("#[command(") {
            renamed = attribute
                .split_once("name = \"")
                .and_then(|(_, rest)| rest.split('"').next())
                .map(str::to_owned)
                .or(renamed);
            continue;
        }
        if line.is_empty() || line.starts_with("//") || line.starts_with('#') {
            continue;
        }
        let variant: String = line
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        if !variant.is_empty() {
            names.push(renamed.take().unwrap_or_else(|| kebab_case(&variant)));
        }
    }
    ensure!(!names.is_empty(), "{file}: enum Command has no variants");
    Ok(names)
}

/// `RemoteConsole` -> `remote-console`, as clap names a variant.
fn kebab_case(camel: &str) -> String {
    let mut kebab = String::new();
    for (index, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && index > 0 {
            kebab.push('-');
        }
        kebab.push(c.to_ascii_lowercase());
    }
    kebab
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_are_named_as_clap_names_them() {
        assert_eq!(kebab_case("Migrate"), "migrate");
        assert_eq!(kebab_case("RemoteConsole"), "remote-console");
    }
}
