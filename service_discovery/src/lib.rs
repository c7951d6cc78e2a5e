//! service_discovery: register services and their endpoints over HTTP and
//! gRPC, and answer DNS A/AAAA/SRV queries for them.

// ANCHOR: name
/// The service's name: its package's, so renaming the package renames
/// every place a user sees it (CLI, version line, prompt, control socket,
/// error prefixes, the database's application name).
pub const NAME: &str = env!("CARGO_PKG_NAME");
// ANCHOR_END: name

pub mod admin;
pub mod app;
pub mod cli;
pub mod config;
pub mod dns;
pub mod grpc;
pub mod http;
pub mod lifecycle;
pub mod listeners;
pub mod logging;
pub mod model;
pub mod storage;
