//! Helpers for the service's own tests: an in-process HTTP API on an
//! ephemeral port, and the real binary run as a child process.

#![allow(dead_code)] // each test crate uses its own subset

pub mod api;
pub mod instance;

/// Replaces values that differ on every run with named placeholders, so
/// snapshots show the shape of a response and nothing else.
pub fn redact_ids(mut value: serde_json::Value) -> serde_json::Value {
    if let Some(id) = value.get_mut("id") {
        *id = serde_json::Value::String("[id]".into());
    }
    value
}
