//! Running containers: to completion or in the background (the service
//! container, ready by its contract), with exec, a terminal, a load, the
//! changes they made, their process table, and the time they take.

pub mod diff;
pub mod exec;
pub mod load_generator;
pub mod orphans;
pub mod process_table;
pub mod run;
pub mod service_container;
pub mod startup_timing;
pub mod tty_session;
