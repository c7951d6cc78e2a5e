//! Shared fixtures of the integration suite: the container host (engine,
//! registry, mirrored base images) and helpers grouped by concern.
//!
//! Every test starts with [`host::host`], which makes sure the host is ready
//! once per test run and ends the run with one clear line when it is not.

pub mod base_images;
pub mod buildx;
pub mod container;
pub mod host;
pub mod registry;
pub mod repo;
