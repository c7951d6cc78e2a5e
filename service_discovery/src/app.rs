//! Wiring: builds the store and the shared lifecycle state, binds every
//! socket, runs the HTTP, gRPC and DNS servers and the control socket,
//! and drives the shutdown.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

use crate::admin::control_socket::ControlSocket;
use crate::admin::{self, Admin};
use crate::config::{Config, DatabaseConfig};
use crate::lifecycle::reaper::{self, Reaping};
use crate::lifecycle::shutdown::{self, Outcome, ServerTasks, ShutdownPlan};
use crate::lifecycle::signals::ShutdownSignals;
use crate::lifecycle::{InFlight, Readiness};
use crate::logging::LogControl;
use crate::storage::postgres::{self, migrate};
use crate::storage::{MemoryStorage, PostgresStorage, SharedStorage};
use crate::{dns, grpc, http, listeners};

/// Where a started instance can be reached; with port 0 in the
/// configuration, this is how the chosen ports are learnt.
#[derive(Debug, Clone)]
pub struct Addresses {
    pub http: SocketAddr,
    pub grpc: SocketAddr,
    pub dns: SocketAddr,
    pub control_socket: PathBuf,
}

/// A started instance: every socket bound, every server running.
pub struct Running {
    pub addresses: Addresses,
    pub readiness: Readiness,
    pub in_flight: InFlight,
    pub admin: Admin,
    plan: ShutdownPlan,
    stop_accepting: CancellationToken,
    stop_control: CancellationToken,
    servers: ServerTasks,
    control: tokio::task::JoinHandle<()>,
}

/// PostgreSQL when `DB_HOST` is set, memory otherwise. Opening connects to
/// nothing: an unreachable database shows in readiness, not as a failed start.
pub fn open_storage(config: &Config) -> SharedStorage {
    match &config.database {
        Some(db) => Arc::new(PostgresStorage::open(db)),
        None => Arc::new(MemoryStorage::new()),
    }
}

/// How long `migrate` keeps trying to reach a database that is not up yet,
/// as a job started next to it would find it.
const MIGRATE_CONNECT_WINDOW: Duration = Duration::from_secs(30);

/// `migrate`: applies the pending migrations and logs what it did.
pub async fn migrate(db: &DatabaseConfig) -> anyhow::Result<()> {
    let give_up = tokio::time::Instant::now() + MIGRATE_CONNECT_WINDOW;
    let mut client = loop {
        match postgres::connect_once(db).await {
            Ok(client) => break client,
            Err(failure) if failure.retryable && tokio::time::Instant::now() < give_up => {
                tracing::warn!(error = %failure.message, "database not reachable yet, retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(failure) => anyhow::bail!(failure.message),
        }
    };
    let report = migrate::run(&mut client).await?;
    tracing::info!(
        applied = ?report.applied,
        version = report.version,
        "schema up to date"
    );
    Ok(())
}

/// Binds everything first, so that a port in use or an unwritable
/// `RUNTIME_DIR` stops the start before any server runs.
pub async fn start(config: &Config, log: LogControl) -> anyhow::Result<Running> {
    let storage = open_storage(config);
    let readiness = Readiness::new(storage.clone());
    let in_flight = InFlight::new();
    let admin = Admin::new(readiness.clone(), in_flight.clone(), log);

    let control = ControlSocket::bind(&config.control_socket())?;
    let candidates = config.bind_candidates();
    let http_listener = listeners::bind_tcp(&candidates, config.http_port)
        .with_context(|| listen_error("HTTP", "HTTP_PORT", config.http_port))?;
    let grpc_listener = listeners::bind_tcp(&candidates, config.grpc_port)
        .with_context(|| listen_error("gRPC", "GRPC_PORT", config.grpc_port))?;
    let (dns_udp, dns_tcp) = listeners::bind_dns(&candidates, config.dns_port)
        .with_context(|| listen_error("DNS", "DNS_PORT", config.dns_port))?;

    let addresses = Addresses {
        http: http_listener.local_addr()?,
        grpc: grpc_listener.local_addr()?,
        dns: dns_tcp.local_addr()?,
        control_socket: control.path().to_owned(),
    };

    let stop_accepting = CancellationToken::new();
    let mut servers = ServerTasks::new();
    let router = http::router(
        http::HttpState {
            storage: storage.clone(),
            readiness: readiness.clone(),
        },
        &in_flight,
        http::RouterOptions {
            debug_routes: config.debug_routes,
        },
    );
    let stop = stop_accepting.clone().cancelled_owned();
    servers.spawn(async move {
        let result = http::serve(http_listener, router, stop).await;
        ("http", result.map_err(anyhow::Error::from))
    });
    let stop = stop_accepting.clone().cancelled_owned();
    let (s, r, f) = (storage.clone(), readiness.clone(), in_flight.clone());
    servers.spawn(async move { ("grpc", grpc::serve(s, r, f, grpc_listener, stop).await) });
    let stop = stop_accepting.clone().cancelled_owned();
    let (s, zone) = (storage.clone(), config.dns_zone.clone());
    servers.spawn(async move { ("dns", dns::serve(s, &zone, dns_udp, dns_tcp, stop).await) });

    // The control socket outlives the other listeners, so `remote_console`
    // can watch a shutdown to its end.
    let stop_control = CancellationToken::new();
    let control =
        tokio::spawn(control.serve(admin.clone(), stop_control.clone().cancelled_owned()));

    tracing::info!(
        http = %addresses.http,
        grpc = %addresses.grpc,
        dns = %addresses.dns,
        dns_zone = %config.dns_zone,
        control_socket = %addresses.control_socket.display(),
        backend = storage.backend(),
        "listening"
    );
    Ok(Running {
        addresses,
        readiness,
        in_flight,
        admin,
        plan: ShutdownPlan {
            delay: config.shutdown_delay,
            timeout: config.shutdown_timeout,
        },
        stop_accepting,
        stop_control,
        servers,
        control,
    })
}

fn listen_error(what: &str, variable: &str, port: u16) -> String {
    format!("cannot listen for {what} on port {port} (set {variable} to a free port)")
}

impl Running {
    /// Resolves only if a server stops before any shutdown was asked for,
    /// which is a failure whatever its result.
    pub async fn failed(&mut self) -> anyhow::Error {
        match self.servers.join_next().await {
            Some(Ok((name, Ok(())))) => anyhow::anyhow!("the {name} server stopped unexpectedly"),
            Some(Ok((name, Err(err)))) => err.context(format!("the {name} server failed")),
            Some(Err(err)) => anyhow::Error::from(err).context("a server task panicked"),
            None => std::future::pending().await,
        }
    }

    /// Runs the shutdown sequence (see [`crate::lifecycle::shutdown`]) and
    /// removes the control socket.
    pub async fn shutdown(mut self) -> Outcome {
        let outcome = shutdown::run(
            self.plan,
            &self.readiness,
            &self.in_flight,
            &self.stop_accepting,
            &mut self.servers,
        )
        .await;
        self.stop_control.cancel();
        let _ = self.control.await;
        outcome
    }
}

/// `foreground` and `console`: runs until a signal, returns the exit code.
pub async fn run(config: Config, log: LogControl, with_console: bool) -> i32 {
    // Handlers first: a signal during start-up must not be lost.
    let mut signals = match ShutdownSignals::install() {
        Ok(signals) => signals,
        Err(err) => {
            tracing::error!(error = %err, "cannot install signal handlers");
            return 1;
        }
    };
    let reaping = Reaping::for_this_process(config.reap_zombies);
    if let Err(err) = reaper::start(reaping) {
        tracing::error!(error = %err, "cannot start reaping orphaned processes");
        return 1;
    }
    let mut running = match start(&config, log).await {
        Ok(running) => running,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "start failed");
            eprintln!("{}: {err:#}", crate::NAME);
            return 1;
        }
    };
    tracing::info!(
        version = crate::cli::VERSION,
        commit = crate::cli::GIT_COMMIT,
        pid = std::process::id(),
        reaping = ?reaping,
        "ready"
    );
    if with_console {
        tokio::spawn(admin::console::run(running.admin.clone()));
    }

    let (signal, failure) = tokio::select! {
        signal = signals.recv() => (Some(signal), None),
        failure = running.failed() => (None, Some(failure)),
    };
    if let Some(signal) = signal {
        tracing::info!(signal = signal.name(), "shutdown requested");
    }
    if let Some(failure) = &failure {
        tracing::error!(
            error = format!("{failure:#}"),
            "stopping after a server failure"
        );
    }

    let socket = running.addresses.control_socket.clone();
    let outcome = tokio::select! {
        outcome = running.shutdown() => outcome,
        second = signals.recv() => {
            tracing::warn!(signal = second.name(), "second signal: exiting at once");
            let _ = std::fs::remove_file(&socket);
            return second.forced_exit_code();
        }
    };
    // A timed-out drain still exits 0: the stop was asked for and done
    // within its bound; the abandoned requests are in the log.
    match (failure, outcome) {
        (Some(_), _) => 1,
        (None, Outcome::Drained | Outcome::TimedOut { .. }) => 0,
    }
}
