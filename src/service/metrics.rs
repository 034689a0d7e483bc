//! Prometheus metrics, served as text on a separate HTTP listener (`--metrics-listen`).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RpcLabels {
    pub rpc: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FileLabels {
    pub file: String,
}

/// Everything the service counts.
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RpcLabels, Counter>,
    pub lookups: Counter,
    pub hits: Counter,
    /// Fingerprints this node probed in its own index: for its own calls, and in a cluster for
    /// other nodes' (so each node's share of a cluster's lookups shows).
    pub probes: Counter,
    /// In a cluster: the ready members this node sees, and the nodes that left lately, still
    /// placed.
    pub cluster_members: Gauge,
    /// Parts of lookups a node did not answer, asked again of a replica.
    pub part_retries: Counter,
    pub cluster_down: Gauge,
    pub lookup_batch_seconds: Histogram,
    pub segments: Gauge,
    pub jobs_running: Gauge,
    pub job_bytes_read: Counter,
    pub matched_records: Counter,
    /// Group writes of the audit log (see [`crate::access::audit::AuditLog::append`]): with
    /// `requests`, how many calls share one sync.
    pub audit_writes: Gauge,
    /// With object storage: bytes of identifier indexes and locations this node holds, fetched
    /// by byte range (its share of the partitions), and of whole segment files in its cache.
    pub ranged_bytes: Family<FileLabels, Gauge>,
    pub cached_bytes: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("leakdex");
        let requests = Family::<RpcLabels, Counter>::default();
        registry.register("requests", "gRPC calls by method", requests.clone());
        let lookups = Counter::default();
        registry.register("lookups", "identifiers looked up", lookups.clone());
        let hits = Counter::default();
        registry.register("hits", "hits returned by lookups", hits.clone());
        let probes = Counter::default();
        registry.register(
            "probes",
            "fingerprints probed in this node's index, for its own calls and other nodes'",
            probes.clone(),
        );
        let cluster_members = Gauge::default();
        registry.register(
            "cluster_members",
            "ready cluster members this node sees (0 outside a cluster)",
            cluster_members.clone(),
        );
        let part_retries = Counter::default();
        registry.register(
            "part_retries",
            "parts of lookups another node did not answer, asked again of a replica",
            part_retries.clone(),
        );
        let cluster_down = Gauge::default();
        registry.register(
            "cluster_down",
            "nodes that left (drained, killed or cut off) less than --rebalance-after ago and still hold their partitions",
            cluster_down.clone(),
        );
        let lookup_batch_seconds = Histogram::new(exponential_buckets(0.0001, 4.0, 10));
        registry.register(
            "lookup_batch_seconds",
            "time to answer one micro-batch of lookups",
            lookup_batch_seconds.clone(),
        );
        let segments = Gauge::default();
        registry.register("segments", "published segments being served", segments.clone());
        let jobs_running = Gauge::default();
        registry.register("jobs_running", "ingest jobs in progress", jobs_running.clone());
        let job_bytes_read = Counter::default();
        registry.register("job_bytes_read", "bytes read by ingest jobs", job_bytes_read.clone());
        let matched_records = Counter::default();
        registry.register(
            "matched_records",
            "suspect records matched by Match and Attribute",
            matched_records.clone(),
        );
        let audit_writes = Gauge::default();
        registry.register(
            "audit_writes",
            "group writes of the audit log since start, each one fdatasync of the log and one of its head",
            audit_writes.clone(),
        );
        let ranged_bytes = Family::<FileLabels, Gauge>::default();
        registry.register(
            "ranged_bytes",
            "bytes of identifier indexes and locations on object storage that this node fetched by range and holds: the partitions it was asked about (its own, and a down holder's), not whole files",
            ranged_bytes.clone(),
        );
        let cached_bytes = Gauge::default();
        registry.register(
            "cached_bytes",
            "bytes of whole segment files from object storage in this node's cache (--cache-size)",
            cached_bytes.clone(),
        );
        Metrics {
            registry,
            requests,
            lookups,
            hits,
            probes,
            cluster_members,
            part_retries,
            cluster_down,
            lookup_batch_seconds,
            segments,
            jobs_running,
            job_bytes_read,
            matched_records,
            audit_writes,
            ranged_bytes,
            cached_bytes,
        }
    }
}

impl Metrics {
    pub fn call(&self, rpc: &str) {
        self.requests.get_or_create(&RpcLabels { rpc: rpc.to_string() }).inc();
    }

    /// The metrics in Prometheus' text format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}
