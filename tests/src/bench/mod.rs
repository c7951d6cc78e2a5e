//! The build and runtime benchmark behind `bench/results/`: the same
//! service built three ways on a private, pruned engine, timed cold and
//! after each kind of change, and this project's images started and stopped.
//! The example `bench` runs it; these modules hold its parts.

pub mod bench_engine;
pub mod chart;
pub mod report;
pub mod stats;
pub mod ways;
