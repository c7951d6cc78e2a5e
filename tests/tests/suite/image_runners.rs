//! The two deployable images, `runner` (Debian slim + the release) and
//! `runner-minimal` (the release and the libraries it links, nothing else):
//! what they hold (B2, M4, C5) and their run-time contract (M5, M6).

use anyhow::{Context, Result};
use integration_suite::builds::project_images::{Target, project_image};
use integration_suite::engine::host::host;
use integration_suite::images::config::{contract, env_value, image_config};
use integration_suite::images::fs::{
    Entry, Kind, exported_files, image_layers, is_engine_provided,
};

const RELEASE_BINARY: &str = "/opt/rel/bin/service_discovery";
/// Programs that build code or fetch it: none may be in a runner.
const BUILD_TOOLS: [&str; 13] = [
    "cargo", "rustc", "rustup", "rustdoc", "gcc", "cc", "c++", "g++", "ld", "as", "git", "protoc",
    "make",
];
/// Where toolchains and build output live in the build stages.
const BUILD_DIRECTORIES: [&str; 4] = [
    "/app",
    "/usr/local/cargo",
    "/usr/local/rustup",
    "/root/.cargo",
];
/// Files that only exist in a source tree or a build.
const SOURCE_SUFFIXES: [&str; 6] = [
    ".rs",
    "Cargo.toml",
    "Cargo.lock",
    ".proto",
    "recipe.json",
    ".rlib",
];

fn is_source(path: &str) -> bool {
    SOURCE_SUFFIXES.iter().any(|suffix| path.ends_with(suffix))
}

/// A program of [`BUILD_TOOLS`] (a file or link, not a data directory such
/// as gcc's base package's `/usr/share/gcc`), a compiler's internals, or
/// a place build stages keep toolchains and output.
fn is_build_tool_or_output(entry: &Entry) -> bool {
    let path = entry.path.as_str();
    let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
    let program = entry.kind != Kind::Directory
        && (BUILD_TOOLS.contains(&name)
            || (parent.ends_with("/bin")
                && (name.starts_with("gcc-") || name.starts_with("x86_64-linux-gnu-"))));
    program
        || path.starts_with("/usr/lib/gcc/")
        || path.contains("/target/release")
        || path.contains("/rustlib/")
        || BUILD_DIRECTORIES
            .iter()
            .any(|dir| path == *dir || path.starts_with(&format!("{dir}/")))
}

fn image_files(entries: Vec<Entry>) -> Vec<Entry> {
    entries
        .into_iter()
        .filter(|entry| !is_engine_provided(&entry.path))
        .collect()
}

#[tokio::test]
async fn m4_runners_hold_no_toolchain_source_apt_lists_or_build_output() -> Result<()> {
    let host = host().await;
    for target in Target::RUNNERS {
        let image = project_image(target).await?;
        let files = image_files(exported_files(host.docker(), &image.id).await?);
        let release = files.iter().find(|entry| entry.path == RELEASE_BINARY);
        assert!(
            matches!(
                release,
                Some(Entry {
                    kind: Kind::File,
                    mode: 0o755,
                    ..
                })
            ),
            "{target:?}: {release:?}"
        );
        let offending: Vec<&str> = files
            .iter()
            .filter(|entry| is_source(&entry.path) || is_build_tool_or_output(entry))
            .map(|entry| entry.path.as_str())
            .collect();
        assert!(offending.is_empty(), "{target:?} holds {offending:#?}");
        let apt_lists: Vec<&str> = files
            .iter()
            .filter(|entry| {
                entry.path.starts_with("/var/lib/apt/lists/") && entry.kind == Kind::File
            })
            .filter(|entry| !entry.path.ends_with("/lock"))
            .map(|entry| entry.path.as_str())
            .collect();
        assert!(
            apt_lists.is_empty(),
            "{target:?} holds apt lists: {apt_lists:#?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn c5_no_runner_layer_ever_held_source() -> Result<()> {
    let host = host().await;
    for target in Target::RUNNERS {
        let image = project_image(target).await?;
        for layer in image_layers(host.docker(), &image.id).await? {
            let sources: Vec<&str> = layer
                .entries
                .iter()
                .map(|entry| entry.path.as_str())
                .filter(|path| is_source(path))
                .collect();
            assert!(
                sources.is_empty(),
                "{target:?} layer {} holds {sources:#?}",
                layer.blob
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn b2_runner_is_its_base_plus_the_release_layer() -> Result<()> {
    let host = host().await;
    let runner = project_image(Target::Runner).await?;
    let base = host.base_images().runner.reference.clone();
    let base_layers = image_layers(host.docker(), &base).await?;
    let runner_layers = image_layers(host.docker(), &runner.id).await?;
    assert_eq!(
        runner_layers.len(),
        base_layers.len() + 1,
        "one layer on top of {base}"
    );
    let release_layer: Vec<(&str, Kind)> = runner_layers
        .last()
        .context("no layers")?
        .entries
        .iter()
        .map(|entry| (entry.path.as_str(), entry.kind))
        .collect();
    assert_eq!(
        release_layer,
        [
            ("/opt", Kind::Directory),
            ("/opt/rel", Kind::Directory),
            ("/opt/rel/bin", Kind::Directory),
            (RELEASE_BINARY, Kind::File),
        ]
    );
    Ok(())
}

#[tokio::test]
async fn b2_runner_minimal_is_the_release_and_its_libraries() -> Result<()> {
    let host = host().await;
    let image = project_image(Target::RunnerMinimal).await?;
    let files = image_files(exported_files(host.docker(), &image.id).await?);
    for absent in [
        "/bin/sh",
        "/usr/bin/sh",
        "/bin/bash",
        "/usr/bin/apt-get",
        "/usr/bin/dpkg",
        "/etc/passwd",
    ] {
        assert!(
            !files.iter().any(|entry| entry.path == absent),
            "runner-minimal holds {absent}"
        );
    }
    let tmp = files
        .iter()
        .find(|entry| entry.path == "/tmp")
        .context("no /tmp")?;
    assert_eq!((tmp.kind, tmp.mode), (Kind::Directory, 0o1777));

    let binary = files
        .iter()
        .find(|entry| entry.path == RELEASE_BINARY)
        .context("no release binary")?
        .size;
    let total: u64 = files
        .iter()
        .filter(|entry| entry.kind == Kind::File)
        .map(|entry| entry.size)
        .sum();
    // The C library, libm, libgcc_s and the loader come to about 3.5 MiB.
    assert!(
        total - binary < 5 * 1024 * 1024,
        "{} bytes beside a {binary}-byte binary",
        total - binary
    );

    let listing: String = files
        .iter()
        .map(|entry| {
            let kind = match entry.kind {
                Kind::File => "file",
                Kind::Directory => "dir",
                Kind::Symlink => "symlink",
                Kind::HardLink => "hardlink",
                Kind::Other => "other",
            };
            format!("{kind} {:04o} {}\n", entry.mode, entry.path)
        })
        .collect();
    insta::assert_snapshot!("runner_minimal_files", listing);
    Ok(())
}

#[tokio::test]
async fn m5_m6_runner_contracts_match_their_snapshots() -> Result<()> {
    let host = host().await;
    let mut contracts = Vec::new();
    for (target, snapshot) in [
        (Target::Runner, "runner_config"),
        (Target::RunnerMinimal, "runner_minimal_config"),
    ] {
        let image = project_image(target).await?;
        let config = image_config(host.docker(), &image.id).await?;
        let user = config.user.clone().unwrap_or_default();
        let (uid, _) = user.split_once(':').unwrap_or((&user, ""));
        assert!(
            uid.parse::<u32>().is_ok_and(|uid| uid != 0),
            "{target:?}: USER {user:?} is not a numeric non-root UID"
        );
        assert_eq!(
            env_value(&config, "RUNTIME_DIR"),
            Some("/tmp"),
            "{target:?}"
        );
        let contract = contract(&config);
        insta::assert_json_snapshot!(snapshot, contract, {
            ".Labels[\"org.opencontainers.image.revision\"]" => "[commit]",
        });
        contracts.push(contract);
    }
    // One contract for both, apart from the PATH only Debian's base sets.
    let without_path = |mut contract: serde_json::Value| {
        if let Some(env) = contract["Env"].as_array_mut() {
            env.retain(|entry| {
                !entry
                    .as_str()
                    .is_some_and(|entry| entry.starts_with("PATH="))
            });
        }
        contract
    };
    assert_eq!(
        without_path(contracts[0].clone()),
        without_path(contracts[1].clone())
    );
    Ok(())
}
