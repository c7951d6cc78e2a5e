//! Servers the builds fetch from or push to: the project's image registry
//! (its API and what it holds under a tag), and the private cargo registry,
//! git host and fixture servers the private-dependency tests start.

pub mod content;
pub mod fixture_server;
pub mod git_server;
pub mod private_cargo;
pub mod registry_api;
