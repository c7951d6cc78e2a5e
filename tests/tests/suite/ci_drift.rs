//! The CI definitions agree with the repository they build: every project
//! script they call accepts the options they pass, every stage they target
//! exists in the Dockerfile they build, and the publishing rules of the
//! chapter (CI1-CI3, C8) hold; the CI job and the hosted test jobs prepare
//! the host exactly as the README's Quick start does. A renamed stage or
//! option breaks a test here instead of a pipeline.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;

use anyhow::{Context, Result, bail};
use integration_suite::builds::dockerfile::Dockerfile;
use integration_suite::ci::definitions::{
    CIRCLECI_CONFIG, CLOUDBUILD_CONFIG, Command, all_commands, at, commands, file_commands,
    github_workflows, load_yaml, option_values, relative, strings,
};
use integration_suite::ci::script_usage::ScriptUsage;
use integration_suite::engine::installed_tools::SETUP_SCRIPT;
use integration_suite::repo::repo_path;
use yaml_rust2::Yaml;

const BUILD_SCRIPT: &str = "ci/build_images.sh";
/// The placeholder a script's help gives to an option naming a stage.
const STAGE_PLACEHOLDER: &str = "TARGET";

/// The Dockerfile a project script builds, from its `DOCKERFILE=` setting.
fn dockerfile_built_by(script: &str) -> Result<String> {
    let source = std::fs::read_to_string(repo_path(script))
        .with_context(|| format!("cannot read {script}"))?;
    let value = source
        .lines()
        .find_map(|line| line.trim().strip_prefix("DOCKERFILE="))
        .with_context(|| {
            format!(
                "{script} takes a {STAGE_PLACEHOLDER} but sets no DOCKERFILE= to say from where"
            )
        })?;
    Ok(value
        .trim_matches('"')
        .trim_start_matches("$CI_REPO_ROOT/")
        .to_owned())
}

fn stages_of(dockerfile: &str) -> Result<Vec<String>> {
    let parsed = Dockerfile::load(&repo_path(dockerfile))?;
    Ok(parsed
        .stage_names()
        .into_iter()
        .map(str::to_owned)
        .collect())
}

/// The problems of one call of a project script.
fn script_call_problems(
    command: &Command,
    script: &str,
    usages: &mut BTreeMap<String, ScriptUsage>,
) -> Result<Vec<String>> {
    let path = repo_path(script);
    let Ok(metadata) = std::fs::metadata(&path) else {
        return Ok(vec![format!("{script} does not exist")]);
    };
    if metadata.permissions().mode() & 0o111 == 0 {
        return Ok(vec![format!("{script} is not executable")]);
    }
    if command.arguments().is_empty() {
        return Ok(Vec::new());
    }
    if !usages.contains_key(script) {
        usages.insert(script.to_owned(), ScriptUsage::ask(script)?);
    }
    let usage = &usages[script];
    let accepted = match usage.check(command.arguments()) {
        Ok(accepted) => accepted,
        Err(problems) => return Ok(problems),
    };
    let mut problems = Vec::new();
    for (option, value) in accepted {
        if option.value.as_deref() != Some(STAGE_PLACEHOLDER) {
            continue;
        }
        let dockerfile = dockerfile_built_by(script)?;
        let stages = stages_of(&dockerfile)?;
        let stage = value.unwrap_or_default();
        if !stages.iter().any(|name| name == stage) {
            problems.push(format!(
                "{} {stage}: {dockerfile} has no such stage (stages: {stages:?})",
                option.name
            ));
        }
    }
    Ok(problems)
}

#[tokio::test]
async fn ci_every_project_script_call_uses_options_the_script_accepts() -> Result<()> {
    let mut usages = BTreeMap::new();
    let mut problems = Vec::new();
    let mut called = BTreeSet::new();
    for command in all_commands()? {
        let Some(script) = command.project_script() else {
            continue;
        };
        called.insert(script.to_owned());
        for problem in script_call_problems(&command, script, &mut usages)? {
            problems.push(format!(
                "{}: `{}`: {problem}",
                command.origin,
                command.words.join(" ")
            ));
        }
    }
    assert!(
        called.contains(BUILD_SCRIPT),
        "no CI definition calls {BUILD_SCRIPT}; found {called:?}"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

#[tokio::test]
async fn ci_every_image_build_targets_a_stage_of_an_existing_dockerfile() -> Result<()> {
    let mut problems = Vec::new();
    let mut builders = BTreeSet::new();
    for command in all_commands()? {
        let Some(build) = command.image_build() else {
            continue;
        };
        builders.insert(build.builder);
        let origin = format!("{} ({})", command.origin, build.builder);
        let (Some(dockerfile), Some(target)) = (build.dockerfile(), build.target()) else {
            problems.push(format!("{origin}: names no Dockerfile or no --target"));
            continue;
        };
        if !repo_path(dockerfile).is_file() {
            problems.push(format!("{origin}: {dockerfile} does not exist"));
            continue;
        }
        let stages = stages_of(dockerfile)?;
        if !stages.iter().any(|stage| stage == target) {
            problems.push(format!(
                "{origin}: {dockerfile} has no stage {target} (stages: {stages:?})"
            ));
        }
    }
    for expected in ["kaniko", "buildah"] {
        assert!(
            builders.contains(expected),
            "no {expected} build found in the CI definitions: {builders:?}"
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

/// The `docker-build-and-push` job of the CircleCI config and its commands.
fn circleci_job(config: &Yaml, job: &str) -> Result<Vec<Command>> {
    at(config, &format!("jobs.{job}"))
        .with_context(|| format!("{CIRCLECI_CONFIG} has no job {job}"))?;
    let prefix = format!("{CIRCLECI_CONFIG}: jobs.{job}.");
    let mut commands: Vec<Command> = file_commands(&repo_path(CIRCLECI_CONFIG))?
        .into_iter()
        .filter(|command| command.origin.starts_with(&prefix))
        .collect();
    // Steps may call reusable commands; theirs run in the job too.
    let steps = at(config, &format!("jobs.{job}.steps"))
        .and_then(Yaml::as_vec)
        .cloned()
        .unwrap_or_default();
    for step in steps {
        if let Some(name) = step
            .as_str()
            .filter(|name| at(config, &format!("commands.{name}")).is_some())
        {
            let prefix = format!("{CIRCLECI_CONFIG}: commands.{name}.");
            commands.extend(
                file_commands(&repo_path(CIRCLECI_CONFIG))?
                    .into_iter()
                    .filter(|command| command.origin.starts_with(&prefix)),
            );
        }
    }
    Ok(commands)
}

/// The workflow entry of `job` in the CircleCI config: its settings.
fn circleci_workflow_entry<'a>(config: &'a Yaml, job: &str) -> Result<&'a Yaml> {
    let workflows = at(config, "workflows")
        .and_then(Yaml::as_hash)
        .context("no workflows")?;
    for (_, workflow) in workflows {
        for entry in at(workflow, "jobs")
            .and_then(Yaml::as_vec)
            .into_iter()
            .flatten()
        {
            if let Some(settings) = at(entry, job) {
                return Ok(settings);
            }
        }
    }
    bail!("no workflow of {CIRCLECI_CONFIG} runs {job}")
}

fn is_push_of_runner(command: &Command) -> bool {
    command.project_script() == Some(BUILD_SCRIPT)
        && command.arguments().iter().any(|word| word == "-p")
        && option_values(command.arguments(), &["-t"]) == ["runner"]
        && !option_values(command.arguments(), &["-r"]).is_empty()
}

#[tokio::test]
async fn ci2_circleci_pushes_the_runner_from_a_machine_executor_after_the_tests_on_main_and_tags()
-> Result<()> {
    let config = load_yaml(&repo_path(CIRCLECI_CONFIG))?;
    let job = "docker-build-and-push";

    let executor = at(&config, &format!("jobs.{job}.executor"))
        .and_then(Yaml::as_str)
        .context("job has no executor")?;
    assert!(
        at(&config, &format!("executors.{executor}.machine")).is_some(),
        "executor {executor} of {job} is not a machine executor"
    );
    let commands = circleci_job(&config, job)?;
    assert!(
        commands.iter().any(is_push_of_runner),
        "{job} never calls `{BUILD_SCRIPT} -p -t runner -r REGISTRY`: {:#?}",
        commands
            .iter()
            .map(|command| command.words.join(" "))
            .collect::<Vec<_>>()
    );

    let entry = circleci_workflow_entry(&config, job)?;
    assert_eq!(
        strings(at(entry, "requires")),
        ["test"],
        "{job} must require the test job"
    );
    assert_eq!(strings(at(entry, "filters.branches.only")), ["main"]);
    assert!(
        !strings(at(entry, "filters.tags.only")).is_empty(),
        "{job} does not run on tags"
    );
    // A tag build runs a job only if every job it requires also runs on tags.
    let test = circleci_workflow_entry(&config, "test")?;
    assert!(
        !strings(at(test, "filters.tags.only")).is_empty(),
        "the test job does not run on tags"
    );
    Ok(())
}

#[tokio::test]
async fn ci1_github_pushes_images_only_from_main_and_tags_after_test_and_lint() -> Result<()> {
    let mut pushing_jobs = Vec::new();
    for path in github_workflows()? {
        let workflow = load_yaml(&path)?;
        // The scheduled rebuild republishes main: c8_... checks it.
        if at(&workflow, "on.schedule").is_some() {
            continue;
        }
        let Some(jobs) = at(&workflow, "jobs").and_then(Yaml::as_hash) else {
            continue;
        };
        for (name, job) in jobs {
            let name = name.as_str().unwrap_or_default();
            let prefix = format!("{}: jobs.{name}.", relative(&path));
            let pushes = file_commands(&path)?
                .iter()
                .filter(|command| command.origin.starts_with(&prefix))
                .any(|command| {
                    command.project_script() == Some(BUILD_SCRIPT)
                        && command.arguments().iter().any(|word| word == "-p")
                });
            if !pushes {
                continue;
            }
            pushing_jobs.push(format!("{}: {name}", relative(&path)));
            let needs = strings(at(job, "needs"));
            let condition = at(job, "if").and_then(Yaml::as_str).unwrap_or_default();
            for required in ["test", "lint"] {
                assert!(
                    needs.contains(&required),
                    "{name} pushes without needing {required}: {needs:?}"
                );
            }
            for reference in ["refs/heads/main", "refs/tags/"] {
                assert!(
                    condition.contains(reference),
                    "{name} does not limit pushes to main and tags: if: {condition}"
                );
            }
        }
    }
    assert!(
        !pushing_jobs.is_empty(),
        "no GitHub workflow job pushes images with {BUILD_SCRIPT} -p"
    );
    Ok(())
}

#[tokio::test]
async fn ci3_cloudbuild_kaniko_step_builds_dockerfile_cb_for_the_commit_with_a_registry_cache()
-> Result<()> {
    let path = repo_path(CLOUDBUILD_CONFIG);
    let config = load_yaml(&path)?;
    for substitution in ["_BASE_IMAGE", "_RUNNER_IMAGE"] {
        assert!(
            at(&config, &format!("substitutions.{substitution}")).is_some(),
            "no substitution {substitution}"
        );
    }
    let commands = file_commands(&path)?;
    let builds: Vec<_> = commands
        .iter()
        .filter_map(|command| command.image_build())
        .collect();

    let kaniko = builds
        .iter()
        .find(|build| build.builder == "kaniko")
        .context("no Kaniko executor call")?;
    for expected in [
        "--dockerfile=ci/Dockerfile.cb",
        "--target=runner",
        "--build-arg=BASE_IMAGE=${_BASE_IMAGE}",
        "--build-arg=RUNNER_IMAGE=${_RUNNER_IMAGE}",
        "--cache=true",
        "--cache-ttl=8h",
    ] {
        assert!(
            kaniko.options.iter().any(|option| option == expected),
            "Kaniko step lacks {expected}: {:?}",
            kaniko.options
        );
    }
    let destinations = option_values(kaniko.options, &["--destination"]);
    assert!(
        !destinations.is_empty()
            && destinations
                .iter()
                .all(|destination| destination.ends_with(":${COMMIT_SHA}")),
        "Kaniko must tag the commit: {destinations:?}"
    );

    // The maintained alternative: the same Dockerfile and stage, Kaniko's
    // cache model through --cache-to/--cache-from.
    let buildah = builds
        .iter()
        .find(|build| build.builder == "buildah")
        .context("no buildah build")?;
    assert_eq!(
        (buildah.dockerfile(), buildah.target()),
        (Some("ci/Dockerfile.cb"), Some("runner"))
    );
    for option in ["--cache-to", "--cache-from"] {
        assert!(
            !option_values(buildah.options, &[option]).is_empty(),
            "buildah step lacks {option}"
        );
    }
    assert!(
        option_values(buildah.options, &["--tag"])
            .iter()
            .all(|tag| tag.ends_with(":${COMMIT_SHA}"))
    );
    Ok(())
}

#[tokio::test]
async fn c8_a_weekly_workflow_rebuilds_main_without_cache_from_pulled_bases_after_the_checks()
-> Result<()> {
    // Whatever the option is called, the script's help says what it does.
    let usage = ScriptUsage::ask(BUILD_SCRIPT)?;
    let refresh = usage
        .option_described_by(&["--no-cache", "--pull"])
        .with_context(|| format!("{BUILD_SCRIPT} -h names no option doing --no-cache --pull"))?;

    let mut rebuilds = Vec::new();
    for path in github_workflows()? {
        let workflow = load_yaml(&path)?;
        let crons = strings(
            at(&workflow, "on.schedule")
                .and_then(Yaml::as_vec)
                .and_then(|items| items.first())
                .and_then(|item| at(item, "cron")),
        );
        let Some(cron) = crons.first() else { continue };
        // minute hour day-of-month month day-of-week: one fixed weekday.
        let fields: Vec<&str> = cron.split_whitespace().collect();
        assert!(
            fields.len() == 5
                && fields[2] == "*"
                && fields[3] == "*"
                && fields[4].parse::<u8>().is_ok(),
            "{}: cron {cron:?} is not weekly",
            relative(&path)
        );
        let Some(jobs) = at(&workflow, "jobs").and_then(Yaml::as_hash) else {
            continue;
        };
        for (name, job) in jobs {
            let name = name.as_str().unwrap_or_default();
            let prefix = format!("{}: jobs.{name}.", relative(&path));
            let refreshes = file_commands(&path)?.into_iter().any(|command| {
                command.origin.starts_with(&prefix)
                    && command.project_script() == Some(BUILD_SCRIPT)
                    && command.arguments().iter().any(|word| word == &refresh.name)
                    && command.arguments().iter().any(|word| word == "-p")
            });
            if !refreshes {
                continue;
            }
            rebuilds.push(name.to_owned());
            assert!(
                !strings(at(job, "needs")).is_empty(),
                "{name} publishes without waiting for checks"
            );
            let condition = at(job, "if").and_then(Yaml::as_str).unwrap_or_default();
            assert!(
                condition.contains("refs/heads/main"),
                "{name} is not limited to main: if: {condition}"
            );
        }
    }
    assert!(
        !rebuilds.is_empty(),
        "no scheduled workflow pushes `{BUILD_SCRIPT} -p {}`",
        refresh.name
    );
    Ok(())
}

const README: &str = "README.md";
const CI_JOB: &str = ".ci/run";
const UP_SCRIPT: &str = "ci/up.sh";

/// The commands of the first `sh` block under the README's Quick start.
fn readme_quick_start() -> Result<Vec<Vec<String>>> {
    let readme = std::fs::read_to_string(repo_path(README))?;
    let section = readme
        .split_once("\n## Quick start")
        .map(|(_, rest)| rest)
        .context("the README has no Quick start section")?;
    let block = section
        .split_once("```sh\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(block, _)| block)
        .context("the README's Quick start has no sh block")?;
    commands(block)
}

/// What a script runs, less the lines that only set up its own shell.
fn script_commands(script: &str) -> Result<Vec<Vec<String>>> {
    let text = std::fs::read_to_string(repo_path(script))?;
    let mut found = commands(&text)?;
    found.retain(|words| !matches!(words[0].as_str(), "set" | "cd" | "trap"));
    Ok(found)
}

fn runs_setup(words: &[String]) -> bool {
    let program = words.first().map(String::as_str).unwrap_or_default();
    program == SETUP_SCRIPT || program.ends_with(&format!("/{SETUP_SCRIPT}"))
}

#[test]
fn setup_the_readme_quick_start_is_the_ci_job_and_every_test_job_runs_the_same_setup() -> Result<()>
{
    let readme = readme_quick_start()?;
    assert!(
        readme.iter().any(|words| words[0] == UP_SCRIPT),
        "the README's Quick start no longer starts with {UP_SCRIPT}: {readme:?}"
    );
    assert_eq!(
        script_commands(CI_JOB)?,
        readme,
        "{CI_JOB} must run exactly the README's Quick start commands"
    );
    assert!(
        script_commands(UP_SCRIPT)?
            .iter()
            .any(|words| runs_setup(words)),
        "{UP_SCRIPT} does not run {SETUP_SCRIPT}"
    );

    let github = file_commands(&repo_path(".github/workflows/ci.yml"))?;
    let github_test: Vec<&Command> = github
        .iter()
        .filter(|command| command.origin.contains(": jobs.test."))
        .collect();
    let config = load_yaml(&repo_path(CIRCLECI_CONFIG))?;
    let circleci_test = circleci_job(&config, "test")?;
    for (job, commands) in [
        ("GitHub Actions ci.yml test", github_test),
        ("CircleCI test", circleci_test.iter().collect()),
    ] {
        let setup = commands
            .iter()
            .position(|command| runs_setup(&command.words));
        let tests = commands.iter().position(|command| {
            command
                .words
                .first()
                .is_some_and(|program| program == "cargo")
                && command.words.get(1).is_some_and(|word| word == "test")
        });
        match (setup, tests) {
            (Some(setup), Some(tests)) => assert!(
                setup < tests,
                "the {job} job runs the tests before {SETUP_SCRIPT}"
            ),
            _ => bail!("the {job} job must run {SETUP_SCRIPT} and then cargo test: {commands:?}"),
        }
    }
    Ok(())
}
