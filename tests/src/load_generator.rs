//! A small, bounded HTTP load: a few workers sending `GET /ready` and
//! `GET /services` to a loopback address in turn, with a pause between
//! requests, until told to stop or until their time is up. Every request's
//! send and finish times and its outcome are recorded, so a test can say
//! what the service answered at each moment of a shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Result, ensure};
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

/// The paths the workers take turns at.
pub const PATHS: [&str; 2] = ["/ready", "/services"];

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
    pub path: &'static str,
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
    /// Starts the load against `address`, which must be a loopback address:
    /// the suite sends traffic to nothing else.
    pub fn start(address: SocketAddr, load: Load) -> Result<Self> {
        ensure!(
            address.ip().is_loopback(),
            "load is only ever sent to loopback, not {address}"
        );
        let client = reqwest::Client::builder()
            .timeout(load.request_timeout)
            .build()?;
        let started = Instant::now();
        let (stop, stopped) = watch::channel(false);
        let mut workers = JoinSet::new();
        for worker in 0..load.workers {
            let client = client.clone();
            let stopped = stopped.clone();
            workers.spawn(run_worker(client, address, load, started, stopped, worker));
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
    load: Load,
    started: Instant,
    mut stopped: watch::Receiver<bool>,
    worker: usize,
) -> Vec<Sample> {
    let mut samples = Vec::new();
    // Workers start on different paths so both are always covered.
    let mut paths = PATHS.iter().cycle().skip(worker);
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
            path,
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
