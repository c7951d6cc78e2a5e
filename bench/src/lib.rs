//! The build and runtime benchmark behind `bench/results/`: the same
//! service built three ways on a private, pruned engine, timed cold and
//! after each kind of change, and this project's images started and stopped.
//! The `bench` binary runs it (`bench_runtime` times the runners alone);
//! these modules hold its parts. It builds on the suite's fixtures (host,
//! engines, repository copies) and is not part of any test run.

pub mod chart;
pub mod command_exit;
pub mod engine;
pub mod report;
pub mod stats;
pub mod ways;
