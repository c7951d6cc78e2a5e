//! The deployment definitions beyond one machine, and the places they are
//! held to (the container contract, the image, the service's sources).

pub mod manifests;
