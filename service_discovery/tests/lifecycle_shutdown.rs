//! Graceful shutdown of the real binary (claim R8): on SIGTERM readiness
//! fails first, the request in flight completes, the process exits 0
//! well within its bound; a second signal exits at once.

mod service_support;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use rustix::process::Signal;
use service_support::instance::Instance;

const SLOW_MS: u64 = 2500;

fn slow_service(extra: &[(&'static str, &'static str)]) -> Instance {
    let mut env = vec![("ENABLE_DEBUG_ROUTES", "true"), ("LOGGER_LEVEL", "info")];
    env.extend_from_slice(extra);
    Instance::start(&env)
}

/// Sends a request that takes `SLOW_MS`, and waits until the service
/// counts it as in flight.
async fn start_slow_request(
    service: &Instance,
) -> tokio::task::JoinHandle<reqwest::Result<(StatusCode, String)>> {
    let url = service.url(&format!("/debug/sleep?ms={SLOW_MS}"));
    let request = tokio::spawn(async move {
        let response = reqwest::Client::new().get(url).send().await?;
        Ok((response.status(), response.text().await?))
    });
    // No hook tells when the server has read the request; a short pause
    // is plenty on loopback, and the assertions below would catch a miss.
    tokio::time::sleep(Duration::from_millis(300)).await;
    request
}

#[tokio::test]
async fn r8_sigterm_fails_readiness_first_finishes_in_flight_and_exits_0() {
    let mut service = slow_service(&[("SHUTDOWN_DELAY", "1"), ("SHUTDOWN_TIMEOUT", "8")]);
    let client = reqwest::Client::new();
    let ready = client.get(service.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);

    let slow = start_slow_request(&service).await;
    let signalled = Instant::now();
    service.signal(Signal::TERM);

    // Readiness fails while the listener still accepts connections.
    let mut readiness_failed_after = None;
    while signalled.elapsed() < Duration::from_secs(1) {
        let answer = client.get(service.url("/ready")).send().await;
        let status = answer
            .expect("no connection error before readiness fails")
            .status();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            readiness_failed_after = Some(signalled.elapsed());
            break;
        }
        assert_eq!(status, StatusCode::OK);
    }
    let readiness_failed_after = readiness_failed_after.expect("/ready turned 503");
    assert!(
        readiness_failed_after < Duration::from_millis(500),
        "{readiness_failed_after:?}"
    );

    let (status, body) = slow
        .await
        .unwrap()
        .expect("the request in flight completes");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, format!(r#"{{"slept_ms":{SLOW_MS}}}"#));

    let exit = tokio::task::spawn_blocking(move || {
        let status = service.wait_exit(Duration::from_secs(10));
        (status, service)
    });
    let (status, service) = exit.await.unwrap();
    let took = signalled.elapsed();
    assert_eq!(status.code(), Some(0), "graceful shutdown exits 0");
    assert!(
        took < Duration::from_secs(5),
        "exit {took:?} after SIGTERM, bound is 8 s"
    );
    assert!(!service.socket.exists(), "control socket removed on exit");

    let messages: Vec<String> = service
        .log_lines()
        .iter()
        .filter_map(|l| l["message"].as_str().map(str::to_owned))
        .collect();
    let position = |m: &str| {
        messages
            .iter()
            .position(|x| x == m)
            .unwrap_or_else(|| panic!("{m} logged"))
    };
    assert!(
        position("shutdown requested")
            < position("shutdown: readiness now fails, listeners close after the delay")
    );
    assert!(
        position("shutdown: readiness now fails, listeners close after the delay")
            < position("shutdown: listeners closed, finishing requests in flight")
    );
    assert!(
        position("shutdown: listeners closed, finishing requests in flight")
            < position("shutdown complete")
    );
}

#[tokio::test]
async fn r8_sigint_shuts_down_gracefully_too() {
    let mut service = slow_service(&[("SHUTDOWN_DELAY", "0")]);
    let slow = start_slow_request(&service).await;
    service.signal(Signal::INT);
    let (status, _) = slow
        .await
        .unwrap()
        .expect("the request in flight completes");
    assert_eq!(status, StatusCode::OK);
    let status = tokio::task::spawn_blocking(move || service.wait_exit(Duration::from_secs(10)))
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn listeners_refuse_new_connections_after_the_delay() {
    let mut service = slow_service(&[("SHUTDOWN_DELAY", "0.2")]);
    let slow = start_slow_request(&service).await;
    service.signal(Signal::TERM);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let refused = reqwest::Client::new()
        .get(service.url("/healthz"))
        .send()
        .await;
    assert!(
        refused.is_err(),
        "new connections are refused once the listener closed"
    );
    assert!(
        service.is_running(),
        "while the request in flight still runs"
    );
    let (status, _) = slow.await.unwrap().unwrap();
    assert_eq!(status, StatusCode::OK);
    let status = tokio::task::spawn_blocking(move || service.wait_exit(Duration::from_secs(10)))
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn shutdown_timeout_bounds_a_request_that_would_take_too_long() {
    let mut service = slow_service(&[("SHUTDOWN_DELAY", "0"), ("SHUTDOWN_TIMEOUT", "0.5")]);
    let slow = start_slow_request(&service).await;
    let signalled = Instant::now();
    service.signal(Signal::TERM);
    let (status, service) = tokio::task::spawn_blocking(move || {
        let status = service.wait_exit(Duration::from_secs(10));
        (status, service)
    })
    .await
    .unwrap();
    let took = signalled.elapsed();
    assert_eq!(status.code(), Some(0));
    assert!(
        took >= Duration::from_millis(500),
        "waited for the request: {took:?}"
    );
    assert!(
        took < Duration::from_millis(SLOW_MS),
        "did not wait past the bound: {took:?}"
    );
    assert!(
        slow.await.unwrap().is_err(),
        "the abandoned request was cut off"
    );
    let expired = service
        .wait_for_log(
            "shutdown timeout expired; abandoning requests still in flight",
            Duration::ZERO,
        )
        .expect("the timeout is logged");
    assert_eq!(expired["abandoned"], 1);
}

#[tokio::test]
async fn r8_a_second_signal_exits_at_once() {
    let mut service = slow_service(&[("SHUTDOWN_DELAY", "5"), ("SHUTDOWN_TIMEOUT", "10")]);
    service.signal(Signal::TERM);
    service
        .wait_for_log("shutdown requested", Duration::from_secs(5))
        .expect("first signal handled");
    let second = Instant::now();
    service.signal(Signal::TERM);
    let (status, service) = tokio::task::spawn_blocking(move || {
        let status = service.wait_exit(Duration::from_secs(3));
        (status, service)
    })
    .await
    .unwrap();
    assert!(
        second.elapsed() < Duration::from_secs(1),
        "{:?}",
        second.elapsed()
    );
    assert_eq!(status.code(), Some(128 + 15));
    assert!(!service.socket.exists(), "control socket removed even then");
}
