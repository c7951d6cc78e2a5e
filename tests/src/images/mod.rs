//! Built images as the engine holds them: the pinned base images, each
//! image's config, its files and layers, what makes two images the same,
//! and the search for secrets left in any of it.

pub mod base_images;
pub mod config;
pub mod fs;
pub mod identity;
pub mod leak_scan;
