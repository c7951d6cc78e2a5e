//! Reproducible release images: two cold builds of one commit with
//! `ci/build_images.sh -R`, each on an engine of its own that has never
//! built anything, give `runner` and `runner-minimal` the same manifest
//! digests. What makes it hold: the commit dates every timestamp
//! (`SOURCE_DATE_EPOCH`, `rewrite-timestamp`), `-R` leaves out the inline
//! cache record (it holds the time it was written), the bases are pinned by
//! digest, and the compiler is deterministic for the same sources, paths
//! and flags (`--remap-path-prefix` keeps the builder's own directories out
//! of the binary). Any of these missing gives two digests.
//!
//! The engines are private (`FreshEngine`) and their build steps use the
//! host's network (`BUILD_NETWORK=host`): a cold build downloads every
//! crate, the way a new CI machine does.

use anyhow::Result;
use integration_suite::builds::build_script::ScriptBuild;
use integration_suite::engine::fresh_engine::FreshEngine;
use integration_suite::engine::host::host;
use integration_suite::repo::copy::RepoCopy;
use integration_suite::repo::edits::commit_all;

/// Each engine pushes nothing; the namespaces only keep the tags apart.
const NAMESPACE: &str = "localhost:5000/integration-suite-reproducible";
const RELEASE_TARGETS: [&str; 2] = ["runner", "runner-minimal"];

#[tokio::test]
async fn release_images_are_reproducible_across_fresh_engines() -> Result<()> {
    // The lock and the mirrored bases the fresh engines pull from.
    host().await;
    let copy = RepoCopy::new()?;
    let commit = commit_all(&copy, "built twice, on two fresh engines")?;

    let mut digests = Vec::new();
    for engine_number in 1..=2 {
        let engine = FreshEngine::start().await?;
        let namespace = format!("{NAMESPACE}-{engine_number}");
        let mut args = vec!["-R", "-l", "-r", &namespace, "-b", "reproducible"];
        for target in RELEASE_TARGETS {
            args.extend(["-t", target]);
        }
        let run = ScriptBuild::in_repo(copy.path(), &args)
            .env("DOCKER_HOST", engine.docker_host())
            .env("BUILD_NETWORK", "host")
            .run()
            .await?;
        eprintln!(
            "engine {engine_number}: {} built cold in {:.0}s",
            RELEASE_TARGETS.join(" and "),
            run.elapsed.as_secs_f64()
        );
        let mut built = Vec::new();
        for target in RELEASE_TARGETS {
            let image = run.image(target)?;
            let layers = engine
                .docker(&[
                    "image",
                    "inspect",
                    "--format",
                    "{{json .RootFS.Layers}}",
                    &image.tags[0],
                ])
                .await?;
            let config = engine
                .docker(&["image", "inspect", "--format", "{{json .}}", &image.tags[0]])
                .await?;
            let history = engine
                .docker(&[
                    "history",
                    "--no-trunc",
                    "--format",
                    "{{json .}}",
                    &image.tags[0],
                ])
                .await?;
            let mut config: serde_json::Value = serde_json::from_str(config.stdout.trim())?;
            if let Some(fields) = config.as_object_mut() {
                // What names the image rather than describing it.
                for name in ["Id", "RepoTags", "RepoDigests", "Metadata", "Descriptor"] {
                    fields.remove(name);
                }
                fields.insert("history".into(), history.stdout.trim().into());
            }
            built.push(Built {
                id: image.id.clone(),
                layers: serde_json::from_str(layers.stdout.trim())?,
                config,
            });
        }
        digests.push(built);
    }

    for (index, target) in RELEASE_TARGETS.iter().enumerate() {
        let (first, second) = (&digests[0][index], &digests[1][index]);
        assert!(
            first.id == second.id,
            "two cold builds of {commit} gave {target} two digests, {} and {}: {}",
            first.id,
            second.id,
            first.difference(second)
        );
        assert!(first.id.starts_with("sha256:"));
    }
    assert_ne!(
        digests[0][0].id, digests[0][1].id,
        "runner and runner-minimal cannot be one image"
    );
    Ok(())
}

/// One release image as an engine holds it.
struct Built {
    id: String,
    /// Uncompressed layer digests, bottom first.
    layers: Vec<String>,
    /// What the engine reports of the configuration, with the history.
    config: serde_json::Value,
}

impl Built {
    /// Where two images of one commit part ways, for the failure message.
    fn difference(&self, other: &Built) -> String {
        match self
            .layers
            .iter()
            .zip(&other.layers)
            .position(|(a, b)| a != b)
        {
            Some(index) => format!("layer {} of {} differs", index + 1, self.layers.len()),
            None if self.layers.len() != other.layers.len() => "the layer counts differ".into(),
            None => {
                let empty = serde_json::Map::new();
                let fields =
                    |value: &serde_json::Value| value.as_object().unwrap_or(&empty).clone();
                let (mine, theirs) = (fields(&self.config), fields(&other.config));
                let differing: Vec<String> = mine
                    .iter()
                    .filter(|(name, value)| theirs.get(*name) != Some(value))
                    .map(|(name, value)| {
                        let clip = |text: String| text.chars().take(400).collect::<String>();
                        format!(
                            "{name}: {} against {}",
                            clip(value.to_string()),
                            clip(
                                theirs
                                    .get(name)
                                    .map(ToString::to_string)
                                    .unwrap_or_default()
                            )
                        )
                    })
                    .collect();
                format!(
                    "the layers are identical, so the image configurations differ ({})",
                    differing.join("; ")
                )
            }
        }
    }
}
