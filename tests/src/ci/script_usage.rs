//! What a project script accepts, as the script itself says in its help
//! (`-h`): the options it lists, which take a value, and what that value is
//! (`-t TARGET`). Calls written in CI definitions are checked against it,
//! so renaming an option breaks a test instead of a pipeline.

use std::process::Stdio;

use anyhow::{Context, Result, bail};

use crate::repo::{repo_path, repo_root};

/// One option from a script's help, e.g. `-t TARGET` or `--offline`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageOption {
    pub name: String,
    /// The placeholder of its value (`TARGET`), none for a switch.
    pub value: Option<String>,
    /// The rest of its help line: what it does.
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptUsage {
    pub script: String,
    pub options: Vec<UsageOption>,
}

impl ScriptUsage {
    /// Runs `script -h` from the repository root and reads its help.
    pub fn ask(script: &str) -> Result<Self> {
        let output = std::process::Command::new(repo_path(script))
            .arg("-h")
            .current_dir(repo_root())
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("cannot run {script} -h"))?;
        if !output.status.success() {
            bail!(
                "{script} -h failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        let help = String::from_utf8(output.stdout)
            .with_context(|| format!("{script} -h printed non-UTF-8 text"))?;
        let usage = Self::parse(script, &help);
        if usage.options.is_empty() {
            bail!("{script} -h lists no options:\n{help}");
        }
        Ok(usage)
    }

    /// Reads help text: every line that starts (after indentation) with an
    /// option lists it; alternatives are written `-h, --help` or `-h|--help`;
    /// an upper-case word right after the option is its value.
    pub fn parse(script: &str, help: &str) -> Self {
        let mut options = Vec::new();
        for line in help.lines() {
            let mut words = line.split_whitespace().peekable();
            let mut names = Vec::new();
            while let Some(word) = words.next_if(|word| word.starts_with('-')) {
                names.extend(
                    word.trim_end_matches(',')
                        .split('|')
                        .filter(|name| name.starts_with('-'))
                        .map(str::to_owned),
                );
            }
            let value = words
                .next_if(|word| is_placeholder(word))
                .map(str::to_owned);
            let description = words.collect::<Vec<_>>().join(" ");
            options.extend(names.into_iter().map(|name| UsageOption {
                name,
                value: value.clone(),
                description: description.clone(),
            }));
        }
        Self {
            script: script.to_owned(),
            options,
        }
    }

    /// The option whose help mentions every one of `words`.
    pub fn option_described_by(&self, words: &[&str]) -> Option<&UsageOption> {
        self.options
            .iter()
            .find(|option| words.iter().all(|word| option.description.contains(word)))
    }

    pub fn option(&self, name: &str) -> Option<&UsageOption> {
        self.options.iter().find(|option| option.name == name)
    }

    /// The options of `arguments` with their values, or every problem
    /// found: an option the script does not list, a missing value, a word
    /// that is no option.
    pub fn check<'a>(
        &self,
        arguments: &'a [String],
    ) -> Result<Vec<(&UsageOption, Option<&'a str>)>, Vec<String>> {
        let mut accepted = Vec::new();
        let mut problems = Vec::new();
        let mut words = arguments.iter();
        while let Some(word) = words.next() {
            let (name, inline_value) = match word.split_once('=') {
                Some((name, value)) if name.starts_with("--") => (name, Some(value)),
                _ => (word.as_str(), None),
            };
            let Some(option) = self.option(name) else {
                if name.starts_with('-') {
                    problems.push(format!("{} does not accept {name}", self.script));
                } else {
                    problems.push(format!("{} takes no argument {name:?}", self.script));
                }
                continue;
            };
            match (&option.value, inline_value) {
                (None, None) => accepted.push((option, None)),
                (None, Some(_)) => {
                    problems.push(format!("{} takes no value for {name}", self.script))
                }
                (Some(_), Some(value)) => accepted.push((option, Some(value))),
                (Some(placeholder), None) => match words.next() {
                    Some(value) => accepted.push((option, Some(value.as_str()))),
                    None => problems.push(format!("{} {name} needs a {placeholder}", self.script)),
                },
            }
        }
        if problems.is_empty() {
            Ok(accepted)
        } else {
            Err(problems)
        }
    }
}

fn is_placeholder(word: &str) -> bool {
    let word = word.trim_end_matches("...");
    !word.is_empty()
        && word
            .chars()
            .all(|character| character.is_ascii_uppercase() || character == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELP: &str = "\
Usage: ci/build_images.sh [-l] [-p] [-t TARGET]... [-r REGISTRY]
  -l           load the images into the local engine
  -t TARGET    the Dockerfile stage to build; repeat for several
  -r REGISTRY  registry (and optional namespace)
  --offline|--from-upstream  where images come from
  -h, --help   show this help
";

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn reads_options_and_placeholders() {
        let usage = ScriptUsage::parse("s", HELP);
        let names: Vec<&str> = usage
            .options
            .iter()
            .map(|option| option.name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "-l",
                "-t",
                "-r",
                "--offline",
                "--from-upstream",
                "-h",
                "--help"
            ]
        );
        assert_eq!(usage.option("-t").unwrap().value.as_deref(), Some("TARGET"));
        assert_eq!(usage.option("-l").unwrap().value, None);
        assert_eq!(
            usage
                .option_described_by(&["stage", "repeat"])
                .map(|option| option.name.as_str()),
            Some("-t")
        );
    }

    #[test]
    fn accepts_listed_options_with_their_values() {
        let usage = ScriptUsage::parse("s", HELP);
        let arguments = words("-l -t runner -r ghcr.io/acme --offline");
        let accepted = usage.check(&arguments).unwrap();
        let targets: Vec<_> = accepted
            .iter()
            .filter(|(option, _)| option.value.as_deref() == Some("TARGET"))
            .map(|(_, value)| *value)
            .collect();
        assert_eq!(targets, [Some("runner")]);
    }

    #[test]
    fn a_renamed_or_unknown_option_is_a_problem() {
        let usage = ScriptUsage::parse("s", HELP);
        let problems = usage.check(&words("-p -t runner -x extra -r")).unwrap_err();
        assert_eq!(
            problems,
            [
                "s does not accept -p",
                "s does not accept -x",
                "s takes no argument \"extra\"",
                "s -r needs a REGISTRY"
            ]
        );
    }
}
