//! A small, bounded HTTP load: a few workers sending `GET` requests for a
//! few paths (readiness among them) to a loopback address in turn, with a
//! pause between requests, until told to stop or until their time is up.
//! Every request's send and finish times and its outcome are recorded, so a
//! test can say what the service answered at each moment of a shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// How hard and how long to push.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub workers: usize,
    /// Pause after each request, per worker.
    pub pause: Duration,
    /// The load ends by itself after this long, whatever happens.
    pub limit: Duration,
    pub request_timeout: Duration,
}

/// How one request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Status(u16),
    /// No HTTP answer at all: refused, reset, closed or timed out.
    ConnectionError(String),
}

/// One request, with times measured from the start of the load.
#[derive(Debug, Clone)]
pub struct Sample {
    pub path: Arc<str>,
    pub sent: Duration,
    pub finished: Duration,
    pub answer: Answer,
}

/// A load running in the background.
pub struct LoadGenerator {
    started: Instant,
    stop: watch::Sender<bool>,
    workers: JoinSet<Vec<Sample>>,
}

impl LoadGenerator {
    /// Starts the load on `paths` against `address`, which must be a
    /// loopback address: the suite sends traffic to nothing else.
    pub fn start(address: SocketAddr, paths: &[&str], load: Load) -> Result<Self> {
        ensure!(
            address.ip().is_loopback(),
            "load is only ever sent to loopback, not {address}"
        );
        ensure!(!paths.is_empty(), "a load needs at least one path");
        let paths: Arc<[Arc<str>]> = paths.iter().map(|path| Arc::from(*path)).collect();
        let client = reqwest::Client::builder()
            .timeout(load.request_timeout)
            .build()?;
        let started = Instant::now();
        let (stop, stopped) = watch::channel(false);
        let mut workers = JoinSet::new();
        for worker in 0..load.workers {
            let client = client.clone();
            let stopped = stopped.clone();
            let paths = paths.clone();
            workers.spawn(run_worker(
                client, address, paths, load, started, stopped, worker,
            ));
        }
        Ok(Self {
            started,
            stop,
            workers,
        })
    }

    /// The time since the load started, on the same clock as the samples.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Stops the workers after their current request and returns every
    /// sample, in the order the requests were sent.
    pub async fn finish(mut self) -> Result<Vec<Sample>> {
        let _ = self.stop.send(true);
        let mut samples = Vec::new();
        while let Some(worker) = self.workers.join_next().await {
            samples.extend(worker?);
        }
        samples.sort_by_key(|sample| sample.sent);
        Ok(samples)
    }
}

async fn run_worker(
    client: reqwest::Client,
    address: SocketAddr,
    paths: Arc<[Arc<str>]>,
    load: Load,
    started: Instant,
    mut stopped: watch::Receiver<bool>,
    worker: usize,
) -> Vec<Sample> {
    let mut samples = Vec::new();
    // Workers start on different paths so every one is always covered.
    let mut paths = paths.iter().cycle().skip(worker);
    while !*stopped.borrow() && started.elapsed() < load.limit {
        let path = paths.next().expect("cycle never ends");
        let sent = started.elapsed();
        let answer = match client.get(format!("http://{address}{path}")).send().await {
            // The body is read so the connection can be reused, as a
            // client with keep-alive would.
            Ok(response) => {
                let status = response.status().as_u16();
                match response.bytes().await {
                    Ok(_) => Answer::Status(status),
                    Err(error) => Answer::ConnectionError(format!("{error:?}")),
                }
            }
            Err(error) => Answer::ConnectionError(format!("{error:?}")),
        };
        samples.push(Sample {
            path: path.clone(),
            sent,
            finished: started.elapsed(),
            answer,
        });
        tokio::select! {
            _ = tokio::time::sleep(load.pause) => {}
            _ = stopped.changed() => {}
        }
    }
    samples
}

/// Fails unless readiness (`readiness_path`) answered 503 between the stop
/// signal and the exit, and every request sent before that 503 got an HTTP
/// answer: load balancers are told first, and nothing is refused meanwhile.
pub fn check_readiness_failed_first(
    samples: &[Sample],
    readiness_path: &str,
    stop_sent: Duration,
    exited: Duration,
) -> Result<()> {
    let served_before_stop = samples
        .iter()
        .filter(|sample| sample.finished < stop_sent && sample.answer == Answer::Status(200))
        .count();
    ensure!(
        served_before_stop > 0,
        "no request was served before the stop: {samples:#?}"
    );
    let first_503 = samples
        .iter()
        .filter(|sample| &*sample.path == readiness_path && sample.answer == Answer::Status(503))
        .map(|sample| sample.finished)
        .min()
        .with_context(|| format!("{readiness_path} never answered 503: {samples:#?}"))?;
    ensure!(
        stop_sent < first_503 && first_503 < exited,
        "first 503 at {first_503:?}, stop sent at {stop_sent:?}, exited at {exited:?}"
    );
    let refused_too_early: Vec<&Sample> = samples
        .iter()
        .filter(|sample| matches!(sample.answer, Answer::ConnectionError(_)))
        .filter(|sample| sample.sent < first_503)
        .collect();
    ensure!(
        refused_too_early.is_empty(),
        "connection errors before readiness failed at {first_503:?}: {refused_too_early:#?}"
    );
    Ok(())
}
