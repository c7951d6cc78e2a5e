//! service_discovery: register services and their endpoints over HTTP and
//! gRPC, and answer DNS A/AAAA/SRV queries for them.

pub mod dns;
pub mod grpc;
pub mod lifecycle;
pub mod model;
pub mod storage;
