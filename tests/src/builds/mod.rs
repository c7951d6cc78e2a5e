//! Building images: the project's build script and the shared images it
//! makes, buildx and buildah, the Dockerfiles as the builders read them,
//! and BuildKit's progress (plain and rawjson) telling what ran and what
//! came from a cache.

pub mod build_log;
pub mod build_progress;
pub mod build_script;
pub mod buildah;
pub mod buildx;
pub mod cargo_cache_mount;
pub mod dockerfile;
pub mod dockerfile_cb;
pub mod project_images;
