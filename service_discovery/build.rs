//! Generates the gRPC server, client and message types from
//! `proto/discovery.proto`, plus the encoded descriptor set served by
//! reflection. Needs `protoc` on PATH (or `PROTOC`): Debian's
//! `protobuf-compiler` package, installed by the bootstrap script.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("sd_descriptor.bin"))
        .compile_protos(&["proto/discovery.proto"], &["proto"])
        .map_err(|e| {
            format!("compiling proto/discovery.proto failed (is protoc installed?): {e}")
        })?;
    Ok(())
}
