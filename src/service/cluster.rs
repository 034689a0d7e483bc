//! A server as a cluster node: the root's side of a lookup (probes sent to the holders of each
//! fingerprint's partition, a failed part retried once on a replica, what no live node holds
//! marked, never dropped) and the holder's side (`leakdex.internal.v1.Partitions`).

use super::metrics::Metrics;
use super::server::{ServiceState, blocking_call};
use crate::cluster::Members;
use crate::cluster::placement::partition_of;
use crate::query::{Found, Index, Local, Probed, Prober, probe_segment};
use crate::segment::hash::Entry;
use crate::segment::store::StoredLocation;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

/// The calls between nodes.
pub mod internal {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("leakdex.internal.v1");
}

use internal::partitions_client::PartitionsClient;
use internal::{ProbeRequest, ProbeResponse};

/// Largest message between nodes. A part is at most a micro-batch's probes (8 bytes each);
/// its answer is its hits, about 30 bytes each, and a value common in a corpus has many.
pub(super) const MAX_PART_MESSAGE: usize = 256 << 20;

/// How long a part sent to another node may take when the caller set no deadline.
const DEFAULT_PART_TIMEOUT: Duration = Duration::from_secs(60);

/// A server's place in its cluster: the members it sees, and channels to them.
pub struct Clustered {
    members: tokio::sync::watch::Receiver<Arc<Members>>,
    /// `Bearer node-…`: what this node presents to the others, and expects from them.
    bearer: MetadataValue<Ascii>,
    /// One lazily connected channel per node address, reconnected by tonic as needed.
    channels: Mutex<HashMap<String, Channel>>,
    /// How to call nodes that serve over TLS.
    tls: Option<tonic::transport::ClientTlsConfig>,
    runtime: tokio::runtime::Handle,
}

impl Clustered {
    /// A node seeing `members`, calling and called with the bearer derived from the
    /// deployment's `key`, calling `https://` nodes with `tls`; internal calls run on the
    /// current tokio runtime.
    ///
    /// Panics outside a tokio runtime.
    pub fn new(
        members: tokio::sync::watch::Receiver<Arc<Members>>,
        key: &[u8; 16],
        tls: Option<tonic::transport::ClientTlsConfig>,
    ) -> Clustered {
        Clustered {
            tls,
            members,
            bearer: format!("Bearer {}", crate::cluster::node_bearer(key))
                .parse()
                .expect("the node bearer is ASCII"),
            channels: Mutex::default(),
            runtime: tokio::runtime::Handle::current(),
        }
    }

    /// (ready members, vanished nodes still placed), as this node sees them now.
    pub(super) fn view(&self) -> (usize, usize) {
        let members = self.members.borrow();
        (members.ready.len(), members.down.len())
    }

    fn channel(&self, url: &str) -> Result<Channel, Status> {
        let mut channels = self.channels.lock().unwrap_or_else(|poison| poison.into_inner());
        if let Some(channel) = channels.get(url) {
            return Ok(channel.clone());
        }
        let mut endpoint = Channel::from_shared(url.to_string())
            .map_err(|error| Status::internal(format!("node address {url}: {error}")))?;
        if let Some(tls) = self.tls.clone().filter(|_| url.starts_with("https:")) {
            endpoint = endpoint
                .tls_config(tls)
                .map_err(|error| Status::internal(format!("node address {url}: {error}")))?;
        }
        let channel = endpoint
            .initial_stream_window_size(super::STREAM_WINDOW)
            .initial_connection_window_size(super::CONNECTION_WINDOW)
            .connect_timeout(Duration::from_secs(2))
            .connect_lazy();
        channels.insert(url.to_string(), channel.clone());
        Ok(channel)
    }

    /// Whether `request` carries this deployment's node bearer (compared in constant time).
    fn check(&self, request: &Request<ProbeRequest>) -> Result<(), Status> {
        let given = request
            .metadata()
            .get("authorization")
            .map(MetadataValue::as_bytes)
            .unwrap_or_default();
        let expected = self.bearer.as_bytes();
        let same = given.len() == expected.len()
            && given.iter().zip(expected).fold(0u8, |differ, (a, b)| differ | (a ^ b)) == 0;
        if same {
            Ok(())
        } else {
            Err(Status::unauthenticated(
                "internal calls are for the nodes of this deployment",
            ))
        }
    }

    /// Probes `probes` (sorted) of `index`: each part on the first live holder of its
    /// partitions (this node's own part here, without a call), a part that fails once more on
    /// the next holder; what no holder answered is returned unanswered. Every part asks for
    /// the same segments, so the answers come from the one catalog generation `index` is.
    fn probe(
        &self,
        index: &Index,
        probes: &[(u64, u32)],
        parallel: bool,
        deadline: Option<Instant>,
        metrics: &Metrics,
    ) -> Probed {
        let members = self.members.borrow().clone();
        let segments: Arc<Vec<String>> = Arc::new(
            index
                .segments
                .iter()
                .map(|indexed| indexed.segment.manifest.id.clone())
                .collect(),
        );
        let mut found: Vec<Found> = vec![Vec::new(); index.segments.len()];
        let mut unanswered = Vec::new();
        let mut failed: HashSet<String> = HashSet::new();
        let mut pending: Vec<(u64, u32)> = probes.to_vec();
        let mut parts_answered = 0;
        // The first try, then one retry of what failed on the next holder.
        for _attempt in 0..2 {
            let mut parts: HashMap<&str, Vec<(u64, u32)>> = HashMap::new();
            for &(fingerprint, probe) in &pending {
                match members
                    .placement
                    .holders(partition_of(fingerprint))
                    .find(|holder| !failed.contains(*holder) && !members.down.contains(*holder))
                {
                    Some(holder) => parts.entry(holder).or_default().push((fingerprint, probe)),
                    None => unanswered.push(probe),
                }
            }
            let timeout = deadline.map_or(DEFAULT_PART_TIMEOUT, |deadline| {
                deadline.saturating_duration_since(Instant::now())
            });
            let mut own = None;
            let mut calls = Vec::new();
            for (node, part) in parts {
                if node == members.me {
                    own = Some(part);
                    continue;
                }
                let call = members
                    .ready
                    .get(node)
                    .ok_or_else(|| Status::unavailable(format!("node {node} left")))
                    .and_then(|member| self.channel(&member.grpc_url))
                    .map(|channel| {
                        let mut request = Request::new(ProbeRequest {
                            segments: segments.as_ref().clone(),
                            fingerprints: part.iter().map(|&(fingerprint, _)| fingerprint).collect(),
                        });
                        request.set_timeout(timeout);
                        request.metadata_mut().insert("authorization", self.bearer.clone());
                        self.runtime.spawn(async move {
                            PartitionsClient::new(channel)
                                .max_decoding_message_size(MAX_PART_MESSAGE)
                                .max_encoding_message_size(MAX_PART_MESSAGE)
                                .probe(request)
                                .await
                        })
                    });
                calls.push((node.to_string(), part, call));
            }
            pending = Vec::new();
            if let Some(part) = own {
                metrics.probes.inc_by(part.len() as u64);
                for (segment, hits) in Local.probe(index, &part, parallel).found.into_iter().enumerate() {
                    found[segment].extend(hits);
                }
                parts_answered += 1;
            }
            for (node, part, call) in calls {
                let answered = call.and_then(|handle| {
                    self.runtime
                        .block_on(handle)
                        .map_err(|join| Status::internal(join.to_string()))?
                        .map(Response::into_inner)
                });
                match answered.and_then(|response| placed(&response, &part, segments.len())) {
                    Ok(hits) => {
                        for (segment, hit) in hits {
                            found[segment].push(hit);
                        }
                        parts_answered += 1;
                    }
                    Err(status) => {
                        tracing::warn!(%node, code = ?status.code(), message = status.message(), probes = part.len(), "a node did not answer its part; asking a replica");
                        failed.insert(node);
                        pending.extend(part);
                    }
                }
            }
            if pending.is_empty() {
                break;
            }
        }
        unanswered.extend(pending.iter().map(|&(_, probe)| probe));
        if parts_answered > 1 {
            // Parts came back in any order: put each segment's hits back in the order one
            // pass over the sorted probes finds them (stable: a probe's own hits keep theirs).
            let mut rank = vec![0u32; probes.len()];
            for (position, &(_, probe)) in probes.iter().enumerate() {
                rank[probe as usize] = position as u32;
            }
            for hits in &mut found {
                hits.sort_by_key(|&(probe, _, _)| rank[probe as usize]);
            }
        }
        Probed { found, unanswered }
    }
}

/// One entry of a [`Found`]: (probe number, entry, where its record is stored).
type FoundHit = (u32, Entry, StoredLocation);

/// The hits of a holder's response to `part`, by segment: checked, since another process
/// wrote them (a response that does not fit its request is the holder's failure).
fn placed(response: &ProbeResponse, part: &[(u64, u32)], segments: usize) -> Result<Vec<(usize, FoundHit)>, Status> {
    let count = response.probe.len();
    let lengths = [
        response.segment.len(),
        response.record.len(),
        response.field.len(),
        response.file.len(),
        response.ordinal.len(),
        response.line.len(),
        response.offset.len(),
    ];
    if lengths.iter().any(|&length| length != count) {
        return Err(Status::internal("a holder's answer has arrays of different lengths"));
    }
    (0..count)
        .map(|hit| {
            let &(fingerprint, probe) = part
                .get(response.probe[hit] as usize)
                .ok_or_else(|| Status::internal("a holder answered a probe it was not asked"))?;
            let segment = response.segment[hit] as usize;
            if segment >= segments {
                return Err(Status::internal("a holder answered from a segment it was not asked"));
            }
            Ok((
                segment,
                (
                    probe,
                    Entry {
                        fingerprint,
                        record: response.record[hit],
                        field: response.field[hit],
                    },
                    StoredLocation {
                        file: response.file[hit],
                        flags: 0,
                        ordinal: response.ordinal[hit],
                        line: response.line[hit],
                        offset: response.offset[hit],
                    },
                ),
            ))
        })
        .collect()
}

/// How a server answers a batch's probes: itself, or with its cluster. Counts what it probes
/// itself (`leakdex_probes_total`), so the split shows per node.
pub(super) struct Probing<'a> {
    pub(super) metrics: &'a Metrics,
    pub(super) cluster: Option<&'a Clustered>,
    /// The caller's deadline, passed on to internal calls.
    pub(super) deadline: Option<Instant>,
}

impl Prober for Probing<'_> {
    fn probe(&self, index: &Index, probes: &[(u64, u32)], parallel: bool) -> Probed {
        match self.cluster {
            Some(cluster) => cluster.probe(index, probes, parallel, self.deadline, self.metrics),
            None => {
                self.metrics.probes.inc_by(probes.len() as u64);
                Local.probe(index, probes, parallel)
            }
        }
    }
}

/// `leakdex.internal.v1.Partitions`: a holder's side.
pub(super) struct PartitionsService {
    pub(super) state: Arc<ServiceState>,
}

#[tonic::async_trait]
impl internal::partitions_server::Partitions for PartitionsService {
    async fn probe(&self, request: Request<ProbeRequest>) -> Result<Response<ProbeResponse>, Status> {
        let Some(cluster) = self.state.cluster() else {
            return Err(Status::unimplemented("this server is not a cluster node"));
        };
        cluster.check(&request)?;
        let request = request.into_inner();
        if !request.fingerprints.is_sorted() {
            return Err(Status::invalid_argument("fingerprints must be sorted"));
        }
        let state = self.state.clone();
        blocking_call(move || {
            let index = state.index_for(crate::access::role::Role::Admin)?;
            let by_id: HashMap<&str, usize> = index
                .segments
                .iter()
                .enumerate()
                .map(|(position, indexed)| (indexed.segment.manifest.id.as_str(), position))
                .collect();
            let probes: Vec<(u64, u32)> = request
                .fingerprints
                .iter()
                .enumerate()
                .map(|(position, &fingerprint)| (fingerprint, position as u32))
                .collect();
            state.metrics.probes.inc_by(probes.len() as u64);
            let mut response = ProbeResponse::default();
            for (number, id) in request.segments.iter().enumerate() {
                // A segment published after this node's index was opened (the root saw a newer
                // generation): opened for this call.
                let opened;
                let segment = match by_id.get(id.as_str()) {
                    Some(&position) => &index.segments[position].segment,
                    None => {
                        opened = crate::segment::Segment::open_published(state.data(), id)
                            .map_err(|error| Status::not_found(format!("segment {id}: {error}")))?;
                        &opened
                    }
                };
                for (probe, entry, location) in probe_segment(segment, &probes) {
                    response.probe.push(probe);
                    response.segment.push(number as u32);
                    response.record.push(entry.record);
                    response.field.push(entry.field);
                    response.file.push(location.file);
                    response.ordinal.push(location.ordinal);
                    response.line.push(location.line);
                    response.offset.push(location.offset);
                }
            }
            Ok(Response::new(response))
        })
        .await
    }
}

/// The deadline a call's `grpc-timeout` header sets, from now (gRPC over HTTP/2: digits, then
/// a unit of H, M, S, m, u or n).
pub(super) fn deadline_of(metadata: &tonic::metadata::MetadataMap) -> Option<Instant> {
    let value = metadata.get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    let amount: u64 = digits.parse().ok()?;
    let timeout = match unit {
        "H" => Duration::from_secs(amount.checked_mul(3600)?),
        "M" => Duration::from_secs(amount.checked_mul(60)?),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    };
    Instant::now().checked_add(timeout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_are_read_in_every_unit_and_nonsense_is_none() {
        let mut metadata = tonic::metadata::MetadataMap::new();
        for (header, seconds) in [
            ("2S", 2.0),
            ("1500m", 1.5),
            ("1M", 60.0),
            ("1H", 3600.0),
            ("250000u", 0.25),
        ] {
            metadata.insert("grpc-timeout", header.parse().unwrap());
            let left = deadline_of(&metadata)
                .unwrap()
                .saturating_duration_since(Instant::now());
            assert!((left.as_secs_f64() - seconds).abs() < 0.5, "{header}: {left:?}");
        }
        for header in ["", "S", "12", "5X", "-1S"] {
            metadata.insert("grpc-timeout", header.parse().unwrap());
            assert_eq!(deadline_of(&metadata), None, "{header:?}");
        }
    }
}
