//! Adopting the template: `ci/rename.sh NEW_NAME` in a copy of the
//! repository renames every form of the service's name, leaves a workspace
//! cargo accepts offline and locked, refuses bad input without touching the
//! tree, and the renamed copy's runner, built by `ci/build_images.sh`, shows
//! the new name everywhere a user sees it.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use bollard::models::HostConfig;
use integration_suite::builds::build_script::ScriptBuild;
use integration_suite::builds::project_images::build_turn;
use integration_suite::checked_command::checked_output;
use integration_suite::containers::exec::exec_output;
use integration_suite::containers::run::{exit_state, run_to_completion, stop_gracefully};
use integration_suite::containers::service_container::{
    RunOptions, START_TIMEOUT, ServiceContainer,
};
use integration_suite::contract::service_package::{service_name, service_name_in};
use integration_suite::engine::host::host;
use integration_suite::repo::copy::RepoCopy;
use integration_suite::repo::edits::{commit_all, git};

const RENAME: &str = "ci/rename.sh";
const ALLOWLIST: &str = "ci/rename-allowlist";
/// The suite's own namespace in the local registry, which its leftovers
/// trim owns.
const REGISTRY: &str = "localhost:5000/integration-suite";
const EXEC_TIMEOUT: Duration = Duration::from_secs(10);

/// A copy of the working tree as a git checkout with one commit, as a
/// fresh fork is.
fn fork() -> Result<RepoCopy> {
    let copy = RepoCopy::new()?;
    commit_all(&copy, "fork")?;
    Ok(copy)
}

fn rename(copy: &RepoCopy, args: &[&str]) -> Result<Output> {
    Command::new(copy.join(RENAME))
        .args(args)
        .current_dir(copy.path())
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {RENAME}"))
}

/// Every spelling a leftover could have, lower-cased: the name itself,
/// with `-` for `_`, without separators (CamelCase), and the 15 bytes the
/// kernel keeps of a process name.
fn spellings(name: &str) -> Vec<String> {
    let mut found = vec![
        name.to_owned(),
        name.replace('_', "-"),
        name.replace('-', "_"),
        name.replace(['_', '-'], ""),
    ];
    if name.len() > 15 {
        found.push(name[..15].to_owned());
    }
    found.sort();
    found.dedup();
    found
}

/// Lines of tracked text files holding any spelling of `name`, less those
/// the allowlist keeps.
fn leftovers(copy: &RepoCopy, name: &str) -> Result<Vec<String>> {
    let allowlist = std::fs::read_to_string(copy.join(ALLOWLIST))?;
    let allowed: Vec<(&str, &str)> = allowlist
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('\t'))
        .collect();
    let spellings = spellings(name);
    let mut found = Vec::new();
    for path in git(copy, &["ls-files"])?.lines() {
        if path == ALLOWLIST || path == RENAME {
            continue;
        }
        if spellings
            .iter()
            .any(|spelling| path.to_lowercase().contains(spelling))
        {
            found.push(format!("{path}: the path"));
        }
        let Ok(text) = std::fs::read_to_string(copy.join(path)) else {
            continue; // not UTF-8 text
        };
        for (number, line) in text.lines().enumerate() {
            let lower = line.to_lowercase();
            let kept = allowed
                .iter()
                .any(|(file, text)| *file == path && line.contains(text));
            if !kept && spellings.iter().any(|spelling| lower.contains(spelling)) {
                found.push(format!("{path}:{}: {line}", number + 1));
            }
        }
    }
    Ok(found)
}

/// The first line of stderr, which must be the whole message.
fn one_line_error(output: &Output) -> Result<String> {
    ensure!(!output.status.success(), "the rename succeeded");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    ensure!(
        lines.len() == 1,
        "expected one line of error, got:\n{stderr}"
    );
    Ok(lines[0].to_owned())
}

/// Renames a fresh fork to `new` and checks what is left of the old name.
fn renamed_fork(new: &str) -> Result<RepoCopy> {
    let old = service_name()?;
    let copy = fork()?;
    let output = rename(&copy, &[new])?;
    ensure!(
        output.status.success(),
        "{RENAME} {new} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let left = leftovers(&copy, old)?;
    assert!(
        left.is_empty(),
        "the old name is left on:\n{}",
        left.join("\n")
    );
    // Cargo resolves the renamed workspace offline with the lockfile as it
    // is (--locked fails if the rename left it needing an update).
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    checked_output(
        Command::new(&cargo)
            .args([
                "tree",
                "--offline",
                "--locked",
                "--edges",
                "normal",
                "--depth",
                "0",
            ])
            .current_dir(copy.path()),
    )?;
    assert_eq!(
        service_name_in(copy.path())?,
        new,
        "the service package after the rename"
    );
    assert!(copy.join(&format!("{new}/Cargo.toml")).is_file());
    Ok(copy)
}

#[test]
fn template_rename_to_an_underscore_name_leaves_nothing_of_the_old_name() -> Result<()> {
    renamed_fork("billing_api")?;
    Ok(())
}

#[test]
fn template_rename_refuses_bad_input_in_one_line_and_changes_nothing() -> Result<()> {
    let old = service_name()?;
    let copy = fork()?;
    let cases: [(&[&str], &str); 5] = [
        (&["Billing"], "is not a usable name"),
        (&["billing__api"], "is not a usable name"),
        (&["crate"], "is reserved in Rust"),
        (
            &["integration-suite"],
            "already has a package called integration_suite",
        ),
        (&[old], "is already called"),
    ];
    let mut transcript = String::new();
    for (args, expected) in cases {
        let error = one_line_error(&rename(&copy, args)?)?;
        assert!(error.contains(expected), "{args:?}: {error}");
        assert_eq!(
            git(&copy, &["status", "--porcelain"])?,
            "",
            "{args:?} changed the tree"
        );
        transcript.push_str(&format!("$ {RENAME} {}\n{error}\n", args.join(" ")));
    }
    // A dirty tree: nothing is rewritten, the edit stays as it was.
    copy.write("NOTES.md", "work in progress\n")?;
    let error = one_line_error(&rename(&copy, &["billing_api"])?)?;
    assert!(error.contains("uncommitted changes"), "{error}");
    assert_eq!(git(&copy, &["status", "--porcelain"])?, "?? NOTES.md");
    transcript.push_str(&format!(
        "$ {RENAME} billing_api   # NOTES.md not committed\n{error}\n"
    ));
    // The book's adopting page shows these answers.
    insta::assert_snapshot!("rename_bad_input", transcript);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn template_renamed_runner_shows_the_new_name_everywhere_a_user_sees_it() -> Result<()> {
    const NEW: &str = "billing-api";
    let host = host().await;
    let copy = renamed_fork(NEW)?;
    commit_all(&copy, "rename")?;

    let build = {
        let _turn = build_turn().await;
        ScriptBuild::in_repo(
            copy.path(),
            &["-l", "-t", "runner", "-r", REGISTRY, "-b", "main"],
        )
        .run()
        .await?
    };
    let image = build.image("runner")?;
    for tag in &image.tags {
        assert!(tag.starts_with(&format!("{REGISTRY}/{NEW}:")), "tag {tag}");
    }
    let tag = &image.tags[0];

    let inspect = host.docker().inspect_image(tag).await?;
    let config = inspect.config.context("no image config")?;
    let binary = format!("/opt/rel/bin/{NEW}");
    assert_eq!(config.entrypoint, Some(vec![binary.clone()]));
    let labels = config.labels.unwrap_or_default();
    assert_eq!(
        labels
            .get("org.opencontainers.image.title")
            .map(String::as_str),
        Some(NEW)
    );
    let health = config
        .healthcheck
        .and_then(|check| check.test)
        .unwrap_or_default();
    assert_eq!(health, ["CMD", &binary, "ping"]);

    let version = run_to_completion(host.docker(), tag, Some(&["version"]), EXEC_TIMEOUT).await?;
    assert!(
        version.stdout.starts_with(&format!("{NEW} 0.1.0 (commit ")),
        "version: {version:?}"
    );

    let options = RunOptions {
        host_config: HostConfig {
            readonly_rootfs: Some(true),
            tmpfs: Some([("/tmp".to_owned(), String::new())].into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let container = ServiceContainer::start(host.docker(), tag, options, START_TIMEOUT).await?;
    let exec = |command: &'static [&'static str]| {
        exec_output(host.docker(), &container.id, command, EXEC_TIMEOUT)
    };
    // The kernel keeps 15 bytes of a process name; billing-api fits whole.
    assert_eq!(exec(&["cat", "/proc/1/comm"]).await?.stdout.trim(), NEW);
    assert_eq!(
        exec(&["ls", "/tmp"]).await?.stdout.trim(),
        format!("{NEW}.sock")
    );
    let ping = exec(&[NEW, "ping"]).await?;
    assert_eq!(
        (ping.exit_code, ping.stdout.trim()),
        (0, "pong"),
        "{ping:?}"
    );

    stop_gracefully(host.docker(), &container.id).await?;
    let state = exit_state(host.docker(), &container.id).await?;
    match state.exit_code {
        Some(0) => Ok(()),
        other => bail!(
            "the renamed service stopped with {other:?}:\n{}",
            container.logs().await
        ),
    }
}
