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
mod batching;
pub mod client;
pub mod cluster;
pub mod convert;
mod hit;
mod jobs;
mod metrics;
mod provenance;
mod server;
mod status;
mod transport;

pub use metrics::Metrics;
pub use provenance::MAX_MATCH_BATCH;

/// HTTP/2 flow-control windows, of the server and of the client alike. h2's 64 KiB default stalls
/// a batch stream on every round trip of WINDOW_UPDATE frames; a few MiB keep loopback and LAN
/// streams flowing while still bounding what one connection can make the other side buffer.
const STREAM_WINDOW: u32 = 4 << 20;
const CONNECTION_WINDOW: u32 = 8 << 20;
pub use server::{MAX_LOOKUP_BATCH, MAX_LOOKUP_REQUEST, MAX_MESSAGE, ServerPolicy, ServiceState};
pub use transport::{serve, serve_metrics, serve_tls};
