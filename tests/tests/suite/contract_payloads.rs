//! The service-agnostic layer (see `contract_checks`): each runtime claim
//! checked on this repository's service and on the second payload, a
//! service the pipeline was not written for, adopted into a copy of the
//! repository as a fork would adopt its own. Both answer to nothing but
//! their container contract.

use anyhow::{Context, Result};
use integration_suite::contract::checks::{
    Payload, check_graceful_stop, check_image_config, check_locked_down_run, check_orphans,
    check_version, check_writes_only_its_directory,
};
use integration_suite::contract::second_payload::{second_payload, second_payload_build};
use integration_suite::engine::host::host;
use rstest::rstest;

#[derive(Debug, Clone, Copy)]
enum Which {
    ThisService,
    SecondPayload,
}

async fn payload(which: Which) -> Result<Payload> {
    match which {
        Which::ThisService => Payload::this_service().await,
        Which::SecondPayload => Ok(second_payload().await?.clone()),
    }
}

/// Runs `check` on the payload's runner and then its runner-minimal, naming
/// the payload and the runner in a failure; returns what each check found.
async fn on_both_runners<T>(
    payload: &Payload,
    mut check: impl AsyncFnMut(&str) -> Result<T>,
) -> Result<Vec<T>> {
    let mut found = Vec::new();
    for (runner, image) in payload.runners() {
        let result = check(image)
            .await
            .with_context(|| format!("{} {runner}", payload.name()))?;
        found.push(result);
    }
    Ok(found)
}

#[rstest]
#[case::this_service(Which::ThisService)]
#[case::second_payload(Which::SecondPayload)]
#[tokio::test]
async fn m4_m6_contract_both_runners_say_what_the_contract_says(
    #[case] which: Which,
) -> Result<()> {
    let host = host().await;
    let payload = payload(which).await?;
    on_both_runners(&payload, async |image| {
        check_image_config(host.docker(), &payload.service, image).await?;
        check_version(host.docker(), &payload.service, image).await
    })
    .await?;
    Ok(())
}

#[rstest]
#[case::this_service(Which::ThisService)]
#[case::second_payload(Which::SecondPayload)]
#[tokio::test]
async fn r6_contract_both_runners_write_only_the_writable_directory(
    #[case] which: Which,
) -> Result<()> {
    let host = host().await;
    let payload = payload(which).await?;
    let diffs = on_both_runners(&payload, async |image| {
        check_writes_only_its_directory(host.docker(), &payload.service, image).await
    })
    .await?;
    assert_eq!(
        diffs[0],
        diffs[1],
        "{}: runner and runner-minimal write alike",
        payload.name()
    );
    Ok(())
}

#[rstest]
#[case::this_service(Which::ThisService)]
#[case::second_payload(Which::SecondPayload)]
#[tokio::test]
async fn r7_m5_contract_read_only_arbitrary_uid_no_capabilities_ready_and_healthy(
    #[case] which: Which,
) -> Result<()> {
    let host = host().await;
    let payload = payload(which).await?;
    on_both_runners(&payload, async |image| {
        check_locked_down_run(host.docker(), &payload.service, image).await
    })
    .await?;
    Ok(())
}

#[rstest]
#[case::this_service(Which::ThisService)]
#[case::second_payload(Which::SecondPayload)]
#[tokio::test]
async fn r8_contract_docker_stop_fails_readiness_first_and_exits_as_promised(
    #[case] which: Which,
) -> Result<()> {
    let host = host().await;
    let payload = payload(which).await?;
    on_both_runners(&payload, async |image| {
        check_graceful_stop(host.docker(), &payload.service, image).await
    })
    .await?;
    Ok(())
}

#[rstest]
#[case::this_service(Which::ThisService)]
#[case::second_payload(Which::SecondPayload)]
#[tokio::test]
async fn r9_contract_orphans_stay_zombies_unless_init_or_the_service_reaps(
    #[case] which: Which,
) -> Result<()> {
    let host = host().await;
    let payload = payload(which).await?;
    check_orphans(host.docker(), &payload)
        .await
        .with_context(|| payload.name().to_owned())
}

/// M9 on a service the Dockerfile was not written for: its test stage runs
/// the payload's own tests and its lint stage clippy and rustfmt, from the
/// same Dockerfile. A failing RUN is never cached, so a cached step passed
/// in an earlier build of the same inputs.
#[tokio::test]
async fn m9_contract_the_second_payloads_tests_and_lints_run_from_the_same_dockerfile() -> Result<()>
{
    let _host = host().await;
    let build = second_payload_build().await?;
    for (stage, needle, success) in [
        ("tester", "cargo test --locked -p", "test result: ok"),
        ("lint", "cargo clippy", "Finished"),
    ] {
        let step = build.target_progress(stage)?.step(stage, needle)?;
        assert!(
            step.cached || step.lines().any(|line| line.contains(success)),
            "{stage}: {needle} ran without {success:?}:\n{}",
            step.output
        );
    }
    Ok(())
}
