//! The service's own test layer: what only `service_discovery` does (its
//! HTTP, gRPC and DNS API, its settings, its console, its PostgreSQL
//! storage), proved on its images with the pipeline layer's fixtures
//! (`integration_suite`). The pipeline layer never depends on this crate
//! nor on the service's library, so a fork replaces this crate with its
//! own and keeps the rest.

pub mod compose_project;
pub mod full_exercise;
pub mod postgres_image;
pub mod protocol_exercise;
pub mod readme_flow;
pub mod remote_console;
pub mod runner_image;
pub mod service_http;
pub mod suite_request;
