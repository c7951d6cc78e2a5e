//! Shared fixtures of the integration suite: the container host (engine,
//! registry, mirrored base images) and helpers grouped by concern.
//!
//! Every test starts with [`engine::host::host`], which makes sure the host is ready
//! once per test run and ends the run with one clear line when it is not.

pub mod book;
pub mod builds;
pub mod checked_command;
pub mod ci;
pub mod containers;
pub mod contract;
pub mod deploy;
pub mod engine;
pub mod images;
pub mod registries;
pub mod repo;
pub mod run_report;
