//! Reading BuildKit's plain progress output: did a step run, or was it
//! taken from the cache?
//!
//! Every step is a numbered vertex: `#15 [builder 2/2] RUN ...` names it,
//! and a later `#15 CACHED` or `#15 DONE 148.4s` says how it ended.

use anyhow::{Result, bail};

/// How a build step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// Reused from the build cache: the step did not run.
    Cached,
    /// Executed in this build.
    Ran,
}

/// The outcome of the one step of `stage` whose instruction contains
/// `needle`, e.g. `step_outcome(log, "builder", "cargo chef cook")`.
pub fn step_outcome(log: &str, stage: &str, needle: &str) -> Result<StepOutcome> {
    let heading = format!("[{stage} ");
    let mut vertices: Vec<&str> = log
        .lines()
        .filter_map(|line| {
            let (vertex, rest) = line.split_once(' ')?;
            (vertex.starts_with('#') && rest.starts_with(&heading) && rest.contains(needle))
                .then_some(vertex)
        })
        .collect();
    vertices.sort_unstable();
    vertices.dedup();
    let [vertex] = vertices[..] else {
        bail!(
            "expected one step of stage {stage} containing {needle:?}, found {}",
            vertices.len()
        );
    };
    let ending = |word: &str| {
        log.lines().any(|line| {
            line.strip_prefix(vertex)
                .and_then(|rest| rest.strip_prefix(' '))
                .is_some_and(|rest| rest == word || rest.starts_with(&format!("{word} ")))
        })
    };
    match (ending("CACHED"), ending("DONE")) {
        (true, _) => Ok(StepOutcome::Cached),
        (false, true) => Ok(StepOutcome::Ran),
        (false, false) => bail!("step {vertex} ({stage}: {needle}) neither ran nor was cached"),
    }
}

/// Every line a step printed while running (`#15 0.405 Compiling ...`),
/// without the vertex number and timestamp.
pub fn step_output<'a>(log: &'a str, stage: &str, needle: &str) -> Vec<&'a str> {
    let heading = format!("[{stage} ");
    let Some(vertex) = log.lines().find_map(|line| {
        let (vertex, rest) = line.split_once(' ')?;
        (vertex.starts_with('#') && rest.starts_with(&heading) && rest.contains(needle))
            .then_some(vertex)
    }) else {
        return Vec::new();
    };
    log.lines()
        .filter_map(|line| line.strip_prefix(vertex)?.strip_prefix(' '))
        .filter_map(|rest| {
            let (time, text) = rest.split_once(' ')?;
            time.parse::<f64>().is_ok().then_some(text.trim_start())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "\
#14 [builder 1/2] COPY --from=planner /app/recipe.json /app/recipe.json
#14 CACHED

#15 [builder 2/2] RUN cargo chef cook --release
#15 CACHED

#16 [prod_compiled 1/1] RUN cargo build --release
#16 0.405    Compiling service_discovery v0.1.0 (/app/src/service_discovery)
#16 87.88     Finished `release` profile [optimized] target(s) in 1m 27s
#16 DONE 88.2s
";

    #[test]
    fn tells_cached_from_executed_steps() {
        assert_eq!(
            step_outcome(LOG, "builder", "cargo chef cook").unwrap(),
            StepOutcome::Cached
        );
        assert_eq!(
            step_outcome(LOG, "prod_compiled", "cargo build").unwrap(),
            StepOutcome::Ran
        );
    }

    #[test]
    fn a_missing_step_is_an_error() {
        let error = step_outcome(LOG, "tester", "cargo test").unwrap_err();
        assert!(error.to_string().contains("found 0"), "{error}");
    }

    #[test]
    fn collects_what_a_step_printed() {
        let output = step_output(LOG, "prod_compiled", "cargo build");
        assert_eq!(output.len(), 2);
        assert_eq!(
            output[0],
            "Compiling service_discovery v0.1.0 (/app/src/service_discovery)"
        );
    }
}
