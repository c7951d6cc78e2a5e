//! Shared fixtures of the integration suite: the container host (engine,
//! registry, mirrored base images) and helpers grouped by concern.
