//! The service-agnostic layer (see `contract_checks`): each runtime claim
//! checked on this repository's service and on the second payload, a
//! service the pipeline was not written for, adopted into a copy of the
//! repository as a fork would adopt its own. Both answer to nothing but
//! their container contract.

use anyhow::{Context, Result};
use integration_suite::contract_checks::{
    Payload, check_graceful_stop, check_image_config, check_locked_down_run, check_orphans,
    check_version, check_writes_only_its_directory,
};
use integration_suite::host::host;
use integration_suite::second_payload::second_payload;
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

#[rstest]
#[case::this_service(Which::ThisService)]
#[case::second_payload(Which::SecondPayload)]
#[tokio::test]
async fn m4_m6_contract_both_runners_say_what_the_contract_says(
    #[case] which: Which,
) -> Result<()> {
    let host = host().await;
    let payload = payload(which).await?;
    for (runner, image) in payload.runners() {
        check_image_config(host.docker(), &payload.service, image)
            .await
            .with_context(|| format!("{} {runner}", payload.name()))?;
        check_version(host.docker(), &payload.service, image)
            .await
            .with_context(|| format!("{} {runner}", payload.name()))?;
    }
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
    let mut diffs = Vec::new();
    for (runner, image) in payload.runners() {
        let diff = check_writes_only_its_directory(host.docker(), &payload.service, image)
            .await
            .with_context(|| format!("{} {runner}", payload.name()))?;
        diffs.push(diff);
    }
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
    for (runner, image) in payload.runners() {
        check_locked_down_run(host.docker(), &payload.service, image)
            .await
            .with_context(|| format!("{} {runner}", payload.name()))?;
    }
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
    for (runner, image) in payload.runners() {
        check_graceful_stop(host.docker(), &payload.service, image)
            .await
            .with_context(|| format!("{} {runner}", payload.name()))?;
    }
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
