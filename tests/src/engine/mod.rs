//! The machine the suite runs on: the prepared container host, private
//! engines for what must start empty, the `docker` CLI where the API does
//! not reach, what earlier runs left, and the pinned tools the tests call.

pub mod docker_cli;
pub mod fresh_engine;
pub mod host;
pub mod installed_tools;
pub mod leftovers;
