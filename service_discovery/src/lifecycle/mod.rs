//! What makes the process behave well as PID 1 of a container: readiness,
//! in-flight request tracking, signal handling, reaping and the order in
//! which a shutdown happens. It knows nothing of the admin commands; the
//! admin module (console and control socket) builds on it.

pub mod in_flight;
pub mod readiness;
pub mod reaper;
pub mod shutdown;
pub mod signals;

pub use in_flight::{InFlight, InFlightLayer};
pub use readiness::Readiness;
