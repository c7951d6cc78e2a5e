//! Reading BuildKit's machine-readable progress (`--progress=rawjson`, or
//! `BUILDKIT_PROGRESS=rawjson` for a script that runs buildx): which steps
//! ran, which came from a cache, and what each printed.
//!
//! The stream is a sequence of JSON objects, each with `vertexes` (the
//! steps, updated several times as they start, finish or are found cached)
//! and `logs` (base64 output of a step). Anything else on the same stream,
//! such as a script's own messages, is skipped.

use std::collections::HashMap;

use anyhow::{Result, bail};
use base64::Engine as _;
use serde::Deserialize;

/// How a step of a build ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// Taken from a cache (local or imported): the step did not run.
    Cached,
    /// Executed in this build.
    Ran,
    /// Executed and failed.
    Failed,
    /// Announced but never started, e.g. because another step failed first.
    NotRun,
}

/// One step (a BuildKit vertex) with everything the stream said about it.
#[derive(Debug, Clone, Default)]
pub struct Step {
    pub digest: String,
    /// As BuildKit names it: `[builder 2/2] RUN ...`, `[internal] load ...`.
    pub name: String,
    pub cached: bool,
    pub started: bool,
    pub completed: bool,
    pub error: Option<String>,
    /// Everything the step printed, stdout and stderr interleaved.
    pub output: String,
}

impl Step {
    pub fn outcome(&self) -> StepOutcome {
        match (self.cached, &self.error, self.completed, self.started) {
            (true, _, _, _) => StepOutcome::Cached,
            (false, Some(_), _, _) => StepOutcome::Failed,
            (false, None, true, _) => StepOutcome::Ran,
            (false, None, false, _) => StepOutcome::NotRun,
        }
    }

    /// The Dockerfile stage the step belongs to (`builder` in
    /// `[builder 2/2] RUN ...`); none for BuildKit's internal steps.
    pub fn stage(&self) -> Option<&str> {
        self.stage_and_position().map(|(stage, _)| stage)
    }

    /// The step's number within its stage: 2 in `[builder 2/5] RUN ...`.
    pub fn number(&self) -> Option<usize> {
        let (_, position) = self.stage_and_position()?;
        position.split('/').next()?.parse().ok()
    }

    fn stage_and_position(&self) -> Option<(&str, &str)> {
        let label = self.name.strip_prefix('[')?.split(']').next()?;
        let (stage, position) = label.rsplit_once(' ')?;
        position.contains('/').then_some((stage, position))
    }

    /// A step of the Dockerfile (`FROM`, `RUN`, `COPY`, ...), as opposed to
    /// loading the definition, the context or metadata, or exporting.
    pub fn is_instruction(&self) -> bool {
        self.stage().is_some()
    }

    /// Whether the instruction is `RUN`, the kind of step that executes.
    pub fn is_run(&self) -> bool {
        self.is_instruction()
            && self
                .name
                .split_once("] ")
                .is_some_and(|(_, rest)| rest.starts_with("RUN "))
    }

    /// Lines printed by the step, without empty ones.
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.output
            .lines()
            .map(str::trim_end)
            .filter(|line| !line.is_empty())
    }
}

/// Every step of one or more builds, in the order they first appeared.
#[derive(Debug, Clone, Default)]
pub struct BuildProgress {
    steps: Vec<Step>,
}

#[derive(Deserialize)]
struct Event {
    #[serde(default)]
    vertexes: Vec<VertexEvent>,
    #[serde(default)]
    logs: Vec<LogEvent>,
}

#[derive(Deserialize)]
struct VertexEvent {
    digest: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    cached: bool,
    started: Option<String>,
    completed: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct LogEvent {
    vertex: String,
    #[serde(default)]
    data: String,
}

impl BuildProgress {
    /// Reads a rawjson stream; lines that are not JSON objects are skipped.
    pub fn parse(text: &str) -> Result<Self> {
        let mut progress = Self::default();
        let mut index_of: HashMap<String, usize> = HashMap::new();
        for event in json_objects(text) {
            let event: Event = match serde_json::from_str(event) {
                Ok(event) => event,
                // Other JSON on the stream (none is expected) is not progress.
                Err(_) => continue,
            };
            for vertex in event.vertexes {
                let index = *index_of.entry(vertex.digest.clone()).or_insert_with(|| {
                    progress.steps.push(Step {
                        digest: vertex.digest.clone(),
                        ..Step::default()
                    });
                    progress.steps.len() - 1
                });
                let step = &mut progress.steps[index];
                if !vertex.name.is_empty() {
                    step.name = vertex.name;
                }
                step.cached |= vertex.cached;
                step.started |= vertex.started.is_some();
                step.completed |= vertex.completed.is_some();
                if vertex.error.is_some() {
                    step.error = vertex.error;
                }
            }
            for log in event.logs {
                let Some(&index) = index_of.get(&log.vertex) else {
                    continue;
                };
                let data = base64::engine::general_purpose::STANDARD
                    .decode(log.data.as_bytes())
                    .map_err(|error| {
                        anyhow::anyhow!("a log entry of {} is not base64: {error}", log.vertex)
                    })?;
                progress.steps[index]
                    .output
                    .push_str(&String::from_utf8_lossy(&data));
            }
        }
        Ok(progress)
    }

    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The Dockerfile instructions among the steps.
    pub fn instructions(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|step| step.is_instruction())
    }

    /// The one step of `stage` whose instruction contains `needle`, e.g.
    /// `step("builder", "cargo chef cook")`. BuildKit may report the same
    /// instruction twice (once per cache it looks at) under different
    /// digests; those are merged, a cached report winning.
    pub fn step(&self, stage: &str, needle: &str) -> Result<Step> {
        let matching: Vec<&Step> = self
            .instructions()
            .filter(|step| step.stage() == Some(stage) && step.name.contains(needle))
            .collect();
        let Some(first) = matching.first() else {
            bail!(
                "no step of stage {stage} contains {needle:?}; steps seen:\n{}",
                self.instructions()
                    .map(|step| step.name.as_str())
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        };
        let names: Vec<&str> = matching.iter().map(|step| step.name.as_str()).collect();
        if names.iter().any(|name| *name != first.name) {
            bail!("more than one step of stage {stage} contains {needle:?}: {names:?}");
        }
        let mut merged = (*first).clone();
        for other in &matching[1..] {
            merged.cached |= other.cached;
            merged.started |= other.started;
            merged.completed |= other.completed;
            merged.error = merged.error.take().or_else(|| other.error.clone());
            merged.output.push_str(&other.output);
        }
        Ok(merged)
    }

    pub fn outcome(&self, stage: &str, needle: &str) -> Result<StepOutcome> {
        Ok(self.step(stage, needle)?.outcome())
    }

    /// Instructions that executed (ran or failed) rather than coming from a
    /// cache. `FROM` steps only resolve an image and are left out.
    pub fn executed(&self) -> Vec<&Step> {
        let cached_names: Vec<&str> = self
            .instructions()
            .filter(|step| step.cached)
            .map(|step| step.name.as_str())
            .collect();
        self.instructions()
            .filter(|step| !is_from(step))
            .filter(|step| matches!(step.outcome(), StepOutcome::Ran | StepOutcome::Failed))
            .filter(|step| !cached_names.contains(&step.name.as_str()))
            .collect()
    }

    /// Instructions found in a cache.
    pub fn cached(&self) -> Vec<&Step> {
        self.instructions().filter(|step| step.cached).collect()
    }

    /// What a reader of the build log looks for: each instruction after its
    /// `FROM`, in the Dockerfile's order (`stages`, then step number), and
    /// whether it came from the cache. Cache mounts and the CA bundle's
    /// prologue are left out of the commands, which are cut at
    /// [`OUTLINE_WIDTH`] characters.
    pub fn outline(&self, stages: &[&str]) -> String {
        let mut rows: Vec<((usize, usize), &str, String, &'static str)> = Vec::new();
        for step in self.instructions().filter(|step| !is_from(step)) {
            if rows.iter().any(|(_, name, ..)| *name == step.name) {
                continue;
            }
            let Some((label, instruction)) = step.name.split_once("] ") else {
                continue;
            };
            let stage = step.stage().unwrap_or_default();
            let position = stages
                .iter()
                .position(|name| *name == stage)
                .unwrap_or(usize::MAX);
            let line = format!("{label}] {}", short_command(instruction));
            // BuildKit may report one instruction under several digests.
            let reports: Vec<StepOutcome> = self
                .instructions()
                .filter(|other| other.name == step.name)
                .map(Step::outcome)
                .collect();
            let outcome = [
                (StepOutcome::Cached, "CACHED"),
                (StepOutcome::Failed, "failed"),
                (StepOutcome::Ran, "ran"),
            ]
            .into_iter()
            .find(|(outcome, _)| reports.contains(outcome))
            .map_or("not run", |(_, shown)| shown);
            let number = step.number().unwrap_or(0);
            rows.push(((position, number), &step.name, line, outcome));
        }
        rows.sort_by_key(|row| row.0);
        rows.iter()
            .map(|(_, _, line, outcome)| format!("{outcome:<7} {line}\n"))
            .collect()
    }
}

/// The widest command an outline shows.
pub const OUTLINE_WIDTH: usize = 72;

/// `RUN --mount=... if [ -s /run/secrets/ca_bundle ]; then ...; fi && cargo
/// build ...` becomes `RUN cargo build ...`, cut to [`OUTLINE_WIDTH`].
fn short_command(instruction: &str) -> String {
    let words: Vec<&str> = instruction
        .split_whitespace()
        .filter(|word| !word.starts_with("--mount="))
        .collect();
    let mut text = words.join(" ");
    const PROLOGUE_END: &str = "fi && ";
    if text.contains("/run/secrets/ca_bundle")
        && let Some(end) = text.find(PROLOGUE_END)
    {
        let keyword = text.split(' ').next().unwrap_or_default().to_owned();
        text = format!("{keyword} {}", &text[end + PROLOGUE_END.len()..]);
    }
    if text.chars().count() > OUTLINE_WIDTH {
        let kept: String = text.chars().take(OUTLINE_WIDTH - 2).collect();
        text = format!("{} …", kept.trim_end());
    }
    text
}

fn is_from(step: &Step) -> bool {
    step.name
        .split_once("] ")
        .is_some_and(|(_, rest)| rest.starts_with("FROM "))
}

/// The JSON objects of a stream that may mix them with plain lines: an
/// object starts with `{` at the beginning of a line and ends where the
/// JSON parser says it does.
fn json_objects(text: &str) -> Vec<&str> {
    let mut objects = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let trimmed = rest.trim_start();
        if trimmed.starts_with('{') {
            let mut stream =
                serde_json::Deserializer::from_str(trimmed).into_iter::<serde::de::IgnoredAny>();
            if let Some(Ok(_)) = stream.next() {
                let end = stream.byte_offset();
                objects.push(&trimmed[..end]);
                rest = &trimmed[end..];
                continue;
            }
        }
        // Not JSON: skip the line.
        rest = match trimmed.split_once('\n') {
            Some((_, after)) => after,
            None => "",
        };
    }
    objects
}

/// Crates cargo reported downloading (`Downloaded NAME vVERSION ...`), as
/// `NAME VERSION`; cargo's closing summary line is not a crate.
pub fn downloaded_crates<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    cargo_status_lines(lines, "Downloaded")
}

/// Crates cargo reported compiling (`Compiling NAME vVERSION ...`).
pub fn compiled_crates<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    cargo_status_lines(lines, "Compiling")
}

fn cargo_status_lines<'a>(lines: impl IntoIterator<Item = &'a str>, status: &str) -> Vec<String> {
    lines
        .into_iter()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            // A timestamp may come first in plain logs; rawjson has none.
            let word = words.find(|word| *word == status)?;
            debug_assert_eq!(word, status);
            let name = words.next()?;
            let version = words.next()?.strip_prefix('v')?;
            version
                .starts_with(|character: char| character.is_ascii_digit())
                .then(|| format!("{name} {version}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(text: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    fn stream() -> String {
        format!(
            r#"build_images: building builder as r/x:c0ffee
{{
  "vertexes": [
    {{ "digest": "sha256:a", "name": "[toolchain 3/6] RUN apt-get install protobuf-compiler" }},
    {{ "digest": "sha256:b", "name": "[builder 2/2] RUN cargo chef cook --release" }}
  ]
}}
{{
  "vertexes": [
    {{ "digest": "sha256:a", "name": "[toolchain 3/6] RUN apt-get install protobuf-compiler",
       "started": "t", "completed": "t", "cached": true }},
    {{ "digest": "sha256:b", "name": "[builder 2/2] RUN cargo chef cook --release", "started": "t" }}
  ]
}}
{{ "logs": [ {{ "vertex": "sha256:b", "stream": 2, "data": "{}" }} ] }}
{{
  "vertexes": [
    {{ "digest": "sha256:b", "name": "[builder 2/2] RUN cargo chef cook --release", "started": "t", "completed": "t" }},
    {{ "digest": "sha256:c", "name": "[internal] load build context", "started": "t", "completed": "t" }}
  ]
}}
ERROR: something the script said
"#,
            encoded(
                "  Downloaded itoa v1.0.15\n  Downloaded 1 crate (11.2 KB) in 0.20s\n   Compiling itoa v1.0.15\n"
            )
        )
    }

    #[test]
    fn the_outline_follows_the_dockerfile_and_shortens_the_commands() {
        let mut text = stream();
        text.push_str(
            r#"{ "vertexes": [ { "digest": "sha256:d", "name": "[builder 1/2] RUN --mount=type=cache,target=/c --mount=type=secret,id=ca_bundle,required=false if [ -s /run/secrets/ca_bundle ]; then export CARGO_HTTP_CAINFO=/run/secrets/ca_bundle; fi && cargo fetch --locked && cargo chef prepare --bin service --recipe-path /tmp/narrowed.json", "started": "t", "completed": "t" } ] }
"#,
        );
        let progress = BuildProgress::parse(&text).unwrap();
        assert_eq!(
            progress.outline(&["toolchain", "builder"]),
            "CACHED  [toolchain 3/6] RUN apt-get install protobuf-compiler\n\
             ran     [builder 1/2] RUN cargo fetch --locked && cargo chef prepare --bin service --recipe- …\n\
             ran     [builder 2/2] RUN cargo chef cook --release\n"
        );
    }

    #[test]
    fn merges_the_updates_of_each_step() {
        let progress = BuildProgress::parse(&stream()).unwrap();
        assert_eq!(progress.steps().len(), 3);
        assert_eq!(
            progress.outcome("toolchain", "apt-get install").unwrap(),
            StepOutcome::Cached
        );
        assert_eq!(
            progress.outcome("builder", "cargo chef cook").unwrap(),
            StepOutcome::Ran
        );
        let executed: Vec<&str> = progress
            .executed()
            .iter()
            .map(|step| step.name.as_str())
            .collect();
        assert_eq!(executed, ["[builder 2/2] RUN cargo chef cook --release"]);
    }

    #[test]
    fn reads_what_a_step_printed() {
        let progress = BuildProgress::parse(&stream()).unwrap();
        let cook = progress.step("builder", "cargo chef cook").unwrap();
        assert_eq!(downloaded_crates(cook.lines()), ["itoa 1.0.15"]);
        assert_eq!(compiled_crates(cook.lines()), ["itoa 1.0.15"]);
    }

    #[test]
    fn a_missing_step_names_the_steps_seen() {
        let progress = BuildProgress::parse(&stream()).unwrap();
        let error = progress
            .step("tester", "cargo test")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("[builder 2/2] RUN cargo chef cook"),
            "{error}"
        );
    }

    #[test]
    fn tells_stages_from_internal_steps() {
        let step = |name: &str| Step {
            name: name.into(),
            ..Step::default()
        };
        assert_eq!(
            step("[runner-minimal 2/4] COPY --from=releaser /opt/rel /opt/rel").stage(),
            Some("runner-minimal")
        );
        assert_eq!(step("[internal] load build context").stage(), None);
        assert!(step("[builder 2/2] RUN cargo chef cook").is_run());
        assert!(
            !step("[builder 1/2] COPY --from=planner /app/recipe.json /app/recipe.json").is_run()
        );
    }

    #[test]
    fn a_failed_step_is_reported_as_failed() {
        let text = r#"{"vertexes":[{"digest":"sha256:d","name":"[a 1/1] RUN false","started":"t","completed":"t","error":"exit code: 1"}]}"#;
        let progress = BuildProgress::parse(text).unwrap();
        assert_eq!(
            progress.outcome("a", "RUN false").unwrap(),
            StepOutcome::Failed
        );
    }
}
