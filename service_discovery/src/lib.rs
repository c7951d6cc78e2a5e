//! service_discovery: register services and their endpoints over HTTP and
//! gRPC, and answer DNS A/AAAA/SRV queries for them.

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
