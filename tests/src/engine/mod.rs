//! The machine the suite runs on: the prepared container host, private
//! engines for what must start empty, the `docker` CLI where the API does
//! not reach, what earlier runs left, the pinned tools the tests call, and
//! whether the disk has room for a run.

pub mod disk_space;
pub mod docker_cli;
pub mod fresh_engine;
pub mod host;
pub mod installed_tools;
pub mod leftovers;
