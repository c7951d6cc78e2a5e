//! The project's CI definitions (CircleCI, Cloud Build, GitHub Actions) and
//! the commands they run, split into words as a shell would, so tests can
//! hold every command against the scripts and Dockerfiles it names.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use yaml_rust2::{Yaml, YamlLoader};

use crate::repo::{repo_path, repo_root};

pub const CIRCLECI_CONFIG: &str = ".circleci/config.yml";
pub const CLOUDBUILD_CONFIG: &str = "cloudbuild.yaml";
pub const GITHUB_WORKFLOWS: &str = ".github/workflows";

/// Keys whose string values are shell scripts: GitHub's and CircleCI's
/// `run` (or CircleCI's `run.command`), and the items of Cloud Build's
/// `args` list (a script after `-c`, or plain arguments).
const SCRIPT_KEYS: [&str; 3] = ["run", "command", "args"];

/// Words that end one command and start the next.
const COMMAND_SEPARATORS: [&str; 6] = ["|", "||", "&&", ";", "&", "|&"];

/// The GitHub workflow files, sorted.
pub fn github_workflows() -> Result<Vec<PathBuf>> {
    let dir = repo_path(GITHUB_WORKFLOWS);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("cannot list {GITHUB_WORKFLOWS}"))?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("cannot list {GITHUB_WORKFLOWS}"))?;
    files.retain(|path| {
        path.extension()
            .is_some_and(|extension| extension == "yml" || extension == "yaml")
    });
    files.sort();
    Ok(files)
}

/// Every CI definition of the project.
pub fn ci_files() -> Result<Vec<PathBuf>> {
    let mut files = vec![repo_path(CIRCLECI_CONFIG), repo_path(CLOUDBUILD_CONFIG)];
    files.extend(github_workflows()?);
    Ok(files)
}

/// A path as the repository names it, for messages.
pub fn relative(path: &Path) -> String {
    path.strip_prefix(repo_root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The single YAML document in `path`.
pub fn load_yaml(path: &Path) -> Result<Yaml> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", relative(path)))?;
    let mut documents = YamlLoader::load_from_str(&text)
        .with_context(|| format!("{} is not valid YAML", relative(path)))?;
    if documents.len() != 1 {
        bail!(
            "{} holds {} YAML documents, expected one",
            relative(path),
            documents.len()
        );
    }
    Ok(documents.remove(0))
}

/// A shell script found in a CI definition, with where it was found
/// (e.g. `jobs.test.steps[3].run`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    pub location: String,
    pub text: String,
}

/// Every shell script in a parsed CI definition, in document order.
pub fn scripts(document: &Yaml) -> Vec<Script> {
    let mut found = Vec::new();
    collect_scripts(document, "", false, &mut found);
    found
}

fn collect_scripts(node: &Yaml, location: &str, under_script_key: bool, found: &mut Vec<Script>) {
    match node {
        Yaml::String(text) if under_script_key => found.push(Script {
            location: location.to_owned(),
            text: text.clone(),
        }),
        Yaml::Hash(map) => {
            for (key, value) in map {
                let key = key.as_str().unwrap_or_default();
                let child = if location.is_empty() {
                    key.to_owned()
                } else {
                    format!("{location}.{key}")
                };
                collect_scripts(value, &child, SCRIPT_KEYS.contains(&key), found);
            }
        }
        Yaml::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                collect_scripts(
                    item,
                    &format!("{location}[{index}]"),
                    under_script_key,
                    found,
                );
            }
        }
        _ => {}
    }
}

/// The simple commands of a script, each as its words: continuation lines
/// joined, comments dropped, split at `|`, `&&`, `;` and the like. Braces
/// and `exec` are left out, so the program comes first.
pub fn commands(script: &str) -> Result<Vec<Vec<String>>> {
    let joined = script.replace("\\\n", " ");
    let mut result = Vec::new();
    for line in joined.lines() {
        let words = shell_words::split(line)
            .with_context(|| format!("cannot split this line as a shell would: {line}"))?;
        let mut current = Vec::new();
        for word in words {
            if word.starts_with('#') {
                break;
            }
            let (word, ends_command) = match word.strip_suffix(';') {
                Some(stripped) => (stripped.to_owned(), true),
                None => (word, false),
            };
            if COMMAND_SEPARATORS.contains(&word.as_str()) {
                push_command(&mut result, &mut current);
                continue;
            }
            let leading_noise = current.is_empty() && is_transparent(&word);
            if !word.is_empty() && !leading_noise {
                current.push(word);
            }
            if ends_command {
                push_command(&mut result, &mut current);
            }
        }
        push_command(&mut result, &mut current);
    }
    Ok(result)
}

/// Words before a program that do not change which program runs.
fn is_transparent(word: &str) -> bool {
    matches!(
        word,
        "{" | "}" | "(" | ")" | "exec" | "!" | "then" | "do" | "else"
    )
}

fn push_command(result: &mut Vec<Vec<String>>, current: &mut Vec<String>) {
    if current.is_empty() {
        return;
    }
    let mut words = std::mem::take(current);
    unwrap_captured_command(&mut words);
    result.push(words);
}

/// `name=$(program args)` runs `program args`: keep that command.
fn unwrap_captured_command(words: &mut Vec<String>) {
    let Some((name, inner)) = words[0].split_once("=$(") else {
        return;
    };
    let is_name = !name.is_empty()
        && name
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || character == '_');
    let closed = words.last().is_some_and(|last| last.ends_with(')'));
    if !is_name || !closed {
        return;
    }
    words[0] = inner.to_owned();
    let last = words.last_mut().expect("not empty");
    last.pop();
    words.retain(|word| !word.is_empty());
}

/// One command of a CI definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// `file: yaml.location`, for messages.
    pub origin: String,
    pub words: Vec<String>,
}

impl Command {
    /// The project script this command runs (`ci/build_images.sh`), if any.
    pub fn project_script(&self) -> Option<&str> {
        let program = self.words.first()?.trim_start_matches("./");
        (program.starts_with("ci/") || program.starts_with(".ci/")).then_some(program)
    }

    pub fn arguments(&self) -> &[String] {
        self.words.get(1..).unwrap_or_default()
    }

    /// Whether this command builds an image from a Dockerfile, with which
    /// builder: `buildah build`, Kaniko's executor, `docker build` or
    /// `docker buildx build`.
    pub fn image_build(&self) -> Option<ImageBuildCommand<'_>> {
        let words: Vec<&str> = self.words.iter().map(String::as_str).collect();
        let (builder, options) = match words[..] {
            ["buildah", "build" | "bud", ..] => ("buildah", &self.words[2..]),
            [executor, ..] if executor.ends_with("/kaniko/executor") => {
                ("kaniko", &self.words[1..])
            }
            ["docker", "build", ..] => ("docker build", &self.words[2..]),
            ["docker", "buildx", "build", ..] => ("docker buildx build", &self.words[3..]),
            _ => return None,
        };
        Some(ImageBuildCommand { builder, options })
    }
}

/// A command that builds an image.
#[derive(Debug, Clone, Copy)]
pub struct ImageBuildCommand<'a> {
    pub builder: &'static str,
    pub options: &'a [String],
}

impl ImageBuildCommand<'_> {
    /// The Dockerfile it builds (`--file`, `-f` or Kaniko's `--dockerfile`).
    pub fn dockerfile(&self) -> Option<&str> {
        option_values(self.options, &["--file", "-f", "--dockerfile"])
            .into_iter()
            .next()
    }

    /// The stage it builds (`--target`).
    pub fn target(&self) -> Option<&str> {
        option_values(self.options, &["--target"])
            .into_iter()
            .next()
    }
}

/// The values given to any of `names`, written `--name=value` or
/// `--name value`.
pub fn option_values<'a>(arguments: &'a [String], names: &[&str]) -> Vec<&'a str> {
    let mut values = Vec::new();
    let mut words = arguments.iter();
    while let Some(word) = words.next() {
        for name in names {
            if word == name {
                if let Some(value) = words.clone().next() {
                    values.push(value.as_str());
                }
            } else if let Some(value) = word
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('='))
            {
                values.push(value);
            }
        }
    }
    values
}

/// Every command of every script in the CI definition at `path`.
pub fn file_commands(path: &Path) -> Result<Vec<Command>> {
    let document = load_yaml(path)?;
    let name = relative(path);
    let mut result = Vec::new();
    for script in scripts(&document) {
        let origin = format!("{name}: {}", script.location);
        for words in commands(&script.text).with_context(|| origin.clone())? {
            result.push(Command {
                origin: origin.clone(),
                words,
            });
        }
    }
    Ok(result)
}

/// Every command of every CI definition of the project.
pub fn all_commands() -> Result<Vec<Command>> {
    let mut result = Vec::new();
    for path in ci_files()? {
        result.extend(file_commands(&path)?);
    }
    Ok(result)
}

/// The node at `path` (keys separated by dots), if there is one.
pub fn at<'a>(document: &'a Yaml, path: &str) -> Option<&'a Yaml> {
    path.split('.').try_fold(document, |node, key| match node {
        Yaml::Hash(map) => map.get(&Yaml::String(key.to_owned())),
        _ => None,
    })
}

/// The string items of a YAML list (or the one string a scalar holds).
pub fn strings(node: Option<&Yaml>) -> Vec<&str> {
    match node {
        Some(Yaml::Array(items)) => items.iter().filter_map(Yaml::as_str).collect(),
        Some(Yaml::String(text)) => vec![text.as_str()],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORKFLOW: &str = r#"
jobs:
  build:
    steps:
      - uses: actions/checkout@v7
      - name: mentions ci/build_images.sh -x but is no script
        run: |
          set -euo pipefail
          validators=$(ci/install_ci_validators.sh)
          ci/build_images.sh -p -t runner \
            -r "ghcr.io/${OWNER,,}" # the registry
          [ "$X" = y ] || { echo "skipped"; exit 0; }
          exec /kaniko/executor --dockerfile=ci/Dockerfile.cb --target runner
"#;

    fn parsed() -> Vec<Vec<String>> {
        let document = YamlLoader::load_from_str(WORKFLOW).unwrap().remove(0);
        let scripts = scripts(&document);
        assert_eq!(scripts.len(), 1, "{scripts:?}");
        assert_eq!(scripts[0].location, "jobs.build.steps[1].run");
        commands(&scripts[0].text).unwrap()
    }

    #[test]
    fn splits_scripts_into_commands() {
        let commands = parsed();
        let programs: Vec<&str> = commands.iter().map(|words| words[0].as_str()).collect();
        assert_eq!(
            programs,
            [
                "set",
                "ci/install_ci_validators.sh",
                "ci/build_images.sh",
                "[",
                "echo",
                "exit",
                "/kaniko/executor"
            ]
        );
        assert_eq!(
            commands[2],
            [
                "ci/build_images.sh",
                "-p",
                "-t",
                "runner",
                "-r",
                "ghcr.io/${OWNER,,}"
            ]
        );
    }

    #[test]
    fn recognises_builds_and_their_options() {
        let commands = parsed();
        let kaniko = Command {
            origin: String::new(),
            words: commands[6].clone(),
        };
        let build = kaniko.image_build().unwrap();
        assert_eq!(build.builder, "kaniko");
        assert_eq!(build.dockerfile(), Some("ci/Dockerfile.cb"));
        assert_eq!(build.target(), Some("runner"));
        let script = Command {
            origin: String::new(),
            words: commands[2].clone(),
        };
        assert_eq!(script.project_script(), Some("ci/build_images.sh"));
        assert!(script.image_build().is_none());
    }
}
