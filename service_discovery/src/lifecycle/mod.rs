//! What makes the process behave well as PID 1 of a container: readiness,
//! in-flight request tracking, signal handling, reaping, the control socket.

pub mod in_flight;
pub mod readiness;

pub use in_flight::{InFlight, InFlightLayer};
pub use readiness::Readiness;
