//! Compiles `proto/` with the pure-Rust protox compiler (no protoc on the machine) and keeps the
//! descriptor set for server reflection.

use prost::Message;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "proto/leakdex/v1/lookup.proto",
        "proto/leakdex/v1/corpora.proto",
        "proto/leakdex/v1/provenance.proto",
    ];
    // Calls between nodes: compiled apart, so that reflection never lists them.
    let internal = ["proto/leakdex/internal/v1/partitions.proto"];
    for file in files.iter().chain(&internal) {
        println!("cargo:rerun-if-changed={file}");
    }
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(protox::compile(internal, ["proto"])?)?;
    let descriptors = protox::compile(files, ["proto"])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("leakdex_descriptor.bin"), descriptors.encode_to_vec())?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // Hand-written so that served hits copy interned names instead of allocating strings.
        .extern_path(".leakdex.v1.Hit", "crate::service::hit::Hit")
        .compile_fds(descriptors)?;
    Ok(())
}
