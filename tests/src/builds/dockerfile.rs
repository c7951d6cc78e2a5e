//! Reading a Dockerfile as the builders do: logical instructions (comments
//! dropped, `\` continuations joined), grouped into stages. Enough to name
//! the stages a `--target` may take and to compare two stages.

use std::path::Path;

use anyhow::{Context, Result};

/// One instruction, its keyword upper-cased and its whitespace collapsed,
/// e.g. `COPY --from=releaser /opt/rel /opt/rel`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    pub keyword: String,
    pub arguments: String,
}

/// A `FROM` and the instructions up to the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// The `AS` name; unnamed stages have none and cannot be targeted.
    pub name: Option<String>,
    /// What the stage starts from: an image or an earlier stage.
    pub base: String,
    /// The instructions after `FROM`.
    pub instructions: Vec<Instruction>,
}

#[derive(Debug, Clone)]
pub struct Dockerfile {
    /// Instructions before the first `FROM` (global `ARG`s).
    pub preamble: Vec<Instruction>,
    pub stages: Vec<Stage>,
}

impl Dockerfile {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Ok(Self::parse(&text))
    }

    pub fn parse(text: &str) -> Self {
        let mut preamble = Vec::new();
        let mut stages: Vec<Stage> = Vec::new();
        for instruction in instructions(text) {
            if instruction.keyword == "FROM" {
                stages.push(stage_from(&instruction.arguments));
            } else if let Some(stage) = stages.last_mut() {
                stage.instructions.push(instruction);
            } else {
                preamble.push(instruction);
            }
        }
        Self { preamble, stages }
    }

    /// The names `--target` accepts, in order.
    pub fn stage_names(&self) -> Vec<&str> {
        self.stages
            .iter()
            .filter_map(|stage| stage.name.as_deref())
            .collect()
    }

    pub fn stage(&self, name: &str) -> Option<&Stage> {
        self.stages
            .iter()
            .find(|stage| stage.name.as_deref() == Some(name))
    }

    /// Every instruction, the `FROM` lines included.
    pub fn all_instructions(&self) -> impl Iterator<Item = &Instruction> {
        self.preamble
            .iter()
            .chain(self.stages.iter().flat_map(|stage| &stage.instructions))
    }
}

fn stage_from(arguments: &str) -> Stage {
    let words: Vec<&str> = arguments
        .split_whitespace()
        .filter(|word| !word.starts_with("--"))
        .collect();
    let name = match words[..] {
        [_, as_keyword, name] if as_keyword.eq_ignore_ascii_case("as") => Some(name.to_owned()),
        _ => None,
    };
    Stage {
        name,
        base: words.first().copied().unwrap_or_default().to_owned(),
        instructions: Vec::new(),
    }
}

/// The lines between `# ANCHOR: NAME` and `# ANCHOR_END: NAME` (the
/// markers the book includes excerpts by), so a test can run exactly the
/// instructions the Dockerfile has.
pub fn anchored(text: &str, name: &str) -> Option<String> {
    let start = format!("# ANCHOR: {name}");
    let end = format!("# ANCHOR_END: {name}");
    let mut lines = text.lines().skip_while(|line| line.trim() != start);
    lines.next()?;
    let mut excerpt = String::new();
    for line in lines {
        if line.trim() == end {
            return Some(excerpt);
        }
        excerpt.push_str(line);
        excerpt.push('\n');
    }
    None
}

/// The logical instructions of a Dockerfile. Comment lines (also those
/// inside a continued instruction) and blank lines are skipped; parser
/// directives such as `# syntax=` count as comments here.
pub fn instructions(text: &str) -> Vec<Instruction> {
    let mut result = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && pending.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(continued) => {
                pending.push_str(continued);
                pending.push(' ');
            }
            None => {
                pending.push_str(trimmed);
                if let Some(instruction) = instruction(&pending) {
                    result.push(instruction);
                }
                pending.clear();
            }
        }
    }
    if let Some(instruction) = instruction(&pending) {
        result.push(instruction);
    }
    result
}

fn instruction(line: &str) -> Option<Instruction> {
    let mut words = line.split_whitespace();
    let keyword = words.next()?.to_ascii_uppercase();
    Some(Instruction {
        keyword,
        arguments: words.collect::<Vec<_>>().join(" "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchored_lines_are_found_by_name_and_need_both_markers() {
        let text =
            "FROM x\n# ANCHOR: apt\nRUN a\nRUN b\n# ANCHOR_END: apt\n# ANCHOR: open\nRUN c\n";
        assert_eq!(anchored(text, "apt").as_deref(), Some("RUN a\nRUN b\n"));
        assert_eq!(anchored(text, "open"), None);
        assert_eq!(anchored(text, "missing"), None);
    }

    const DOCKERFILE: &str = r#"# syntax=docker/dockerfile:1
ARG BASE=debian:bookworm-slim

FROM ${BASE} AS build
# a comment
RUN apt-get update \
    # inside a continuation
    && apt-get install -y make
FROM --platform=linux/amd64 build AS final
COPY --from=build /out /out
FROM scratch
"#;

    #[test]
    fn stages_instructions_and_continuations() {
        let dockerfile = Dockerfile::parse(DOCKERFILE);
        assert_eq!(
            dockerfile.preamble[0].arguments,
            "BASE=debian:bookworm-slim"
        );
        assert_eq!(dockerfile.stage_names(), ["build", "final"]);
        assert_eq!(dockerfile.stages[1].base, "build");
        assert_eq!(dockerfile.stages[2].name, None);
        assert_eq!(
            dockerfile.stage("build").unwrap().instructions,
            [Instruction {
                keyword: "RUN".into(),
                arguments: "apt-get update && apt-get install -y make".into()
            }]
        );
    }
}
