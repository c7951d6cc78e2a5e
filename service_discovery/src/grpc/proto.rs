//! Message types, server trait and client generated from
//! `proto/discovery.proto`. Public so that other crates (the integration
//! suite, users' own tools) speak to the service with the same types.

#![allow(clippy::pedantic, missing_docs)]

tonic::include_proto!("sd");

/// Encoded descriptors of `discovery.proto`, served by reflection so that
/// `grpcurl` and similar tools need no local copy of the contract.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("sd_descriptor");
