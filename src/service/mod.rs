//! The gRPC service: `leakdex.v1.Lookup`, `leakdex.v1.Corpora` and `leakdex.v1.Provenance`, with
//! health and reflection.

pub mod proto {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("leakdex.v1");
    pub use super::hit::Hit;
    /// Encoded descriptors of every leakdex.v1 file, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("leakdex_descriptor");
}

mod auth;
pub mod client;
pub mod convert;
mod hit;
mod jobs;
mod metrics;
mod provenance;
mod server;

pub use metrics::{Metrics, serve_metrics};
pub use server::{ServiceState, serve, serve_tls};
