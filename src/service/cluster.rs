//! A server as a cluster node: the root's side of a lookup (probes sent to the holders of each
//! fingerprint's partition, a failed part retried once on a replica, what no live node holds
//! marked, never dropped) and the holder's side (`leakdex.internal.v1.Partitions`).

use super::metrics::Metrics;
use super::server::{ServiceState, blocking_call};
use crate::cluster::Members;
use crate::cluster::NodeKey;
use crate::cluster::placement::{PARTITIONS, fingerprints_of, partition_of};
use crate::query::{Found, Index, Local, Probed, Prober, probe_segment, probe_segments};
use crate::segment::hash::Entry;
use crate::segment::store::StoredLocation;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

/// The calls between nodes.
pub mod internal {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("leakdex.internal.v1");
}

use internal::partitions_client::PartitionsClient;
use internal::{ProbeRequest, ProbeResponse};

/// Largest answer between nodes: a part's hits, about 30 bytes each, and a value common in a
/// corpus has many.
pub(super) const MAX_PART_ANSWER: usize = 256 << 20;

/// Largest request between nodes: a part is at most a micro-batch's probes, 8 bytes each, and
/// the names of the segments; what an unauthenticated caller can make a node read is bounded
/// by this too (the credential is checked on the headers, before the message).
pub(super) const MAX_PART_REQUEST: usize = 16 << 20;

/// How long a part sent to another node may take unless configured, or the caller's deadline
/// is sooner.
pub const DEFAULT_PART_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a node that failed a part is asked only when no other holder is left: a node that
/// hangs without dying (paused, cut off) costs one part timeout, not one per batch, until
/// gossip finds it dead or it answers again.
const SUSPECT_FOR: Duration = Duration::from_secs(10);

/// The nonce of an internal call's credential, for its answer's proof.
#[derive(Clone, Copy)]
struct CallNonce(u64);

/// A server's place in its cluster: the members it sees, and channels to them.
pub struct Clustered {
    members: tokio::sync::watch::Receiver<Arc<Members>>,
    /// What this node proves itself with to the others, and checks them by.
    node_key: NodeKey,
    /// One lazily connected channel per node address, reconnected by tonic as needed.
    channels: Mutex<HashMap<String, Channel>>,
    /// How to call nodes that serve over TLS.
    tls: Option<tonic::transport::ClientTlsConfig>,
    /// How long a part may take (the caller's deadline when sooner).
    part_timeout: Duration,
    /// Nodes that failed a part lately, until when they are asked last.
    suspects: Mutex<HashMap<String, Instant>>,
    runtime: tokio::runtime::Handle,
}

impl Clustered {
    /// A node seeing `members`, proving itself to the others (and checking them) with the
    /// [`NodeKey`] of the deployment's `key`, calling nodes over TLS with `tls` (and then only
    /// `https://` nodes); internal calls run on the current tokio runtime.
    ///
    /// Panics outside a tokio runtime.
    pub fn new(
        members: tokio::sync::watch::Receiver<Arc<Members>>,
        key: &[u8; 16],
        tls: Option<tonic::transport::ClientTlsConfig>,
        part_timeout: Duration,
    ) -> Clustered {
        Clustered {
            tls,
            part_timeout,
            suspects: Mutex::default(),
            members,
            node_key: NodeKey::of(key),
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
        if self.tls.is_some() && !url.starts_with("https://") {
            return Err(Status::unavailable(format!(
                "node address {url}: this node serves TLS and calls the others over TLS only"
            )));
        }
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

    /// Checks an internal call's node credential before its message is read, and hands its
    /// nonce to the call: a caller without the deployment's key is refused on its headers.
    pub(super) fn interceptor(&self) -> impl tonic::service::Interceptor + Clone + use<> {
        let node_key = self.node_key.clone();
        move |mut request: Request<()>| -> Result<Request<()>, Status> {
            let credential = request
                .metadata()
                .get("authorization")
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.strip_prefix("Node "))
                .ok_or_else(|| Status::unauthenticated("internal calls are for the nodes of this deployment"))?;
            let nonce = node_key
                .check(credential, crate::clock::now_seconds())
                .map_err(|refusal| {
                    tracing::warn!(refusal, "an internal call without a valid node credential refused");
                    Status::unauthenticated("internal calls are for the nodes of this deployment")
                })?;
            request.extensions_mut().insert(CallNonce(nonce));
            Ok(request)
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
        let segments: Vec<String> = index
            .segments
            .iter()
            .map(|indexed| indexed.segment.manifest.id.clone())
            .collect();
        let mut found: Vec<Found> = vec![Vec::new(); index.segments.len()];
        let mut unanswered = Vec::new();
        let mut failed: HashSet<String> = HashSet::new();
        let mut pending: Vec<(u64, u32)> = probes.to_vec();
        let mut parts_answered = 0;
        let suspects: HashSet<String> = {
            let mut suspects = self.suspects.lock().unwrap_or_else(|poison| poison.into_inner());
            let now = Instant::now();
            suspects.retain(|_, until| *until > now);
            suspects.keys().cloned().collect()
        };
        // The first try, then one retry of what failed on the next holder.
        for _attempt in 0..2 {
            // Each partition's holder is chosen once (a batch has many probes a partition), and
            // parts are kept by the holder's place in the placement's node list.
            let nodes = members.placement.nodes();
            let mut route: Vec<Option<Option<usize>>> = vec![None; PARTITIONS];
            let mut parts: Vec<Vec<(u64, u32)>> = vec![Vec::new(); nodes.len()];
            for &(fingerprint, probe) in &pending {
                let partition = partition_of(fingerprint);
                let holder = *route[partition].get_or_insert_with(|| {
                    let holders = members.placement.holders(partition);
                    choose_holder(holders, &failed, &members.down, &suspects)
                        .and_then(|holder| nodes.binary_search_by(|node| node.as_str().cmp(holder)).ok())
                });
                match holder {
                    Some(node) => parts[node].push((fingerprint, probe)),
                    None => unanswered.push(probe),
                }
            }
            let timeout = deadline.map_or(self.part_timeout, |deadline| {
                deadline
                    .saturating_duration_since(Instant::now())
                    .min(self.part_timeout)
            });
            let mut own = None;
            let mut calls = Vec::new();
            for (node, part) in nodes.iter().map(String::as_str).zip(parts) {
                if part.is_empty() {
                    continue;
                }
                if node == members.me {
                    own = Some(part);
                    continue;
                }
                let nonce: u64 = rand::random();
                let call = members
                    .ready
                    .get(node)
                    .ok_or_else(|| Status::unavailable(format!("node {node} left")))
                    .and_then(|member| self.channel(&member.grpc_url))
                    .and_then(|channel| {
                        let mut request = Request::new(ProbeRequest {
                            segments: segments.clone(),
                            fingerprints: part.iter().map(|&(fingerprint, _)| fingerprint).collect(),
                        });
                        request.set_timeout(timeout);
                        let mut credential: MetadataValue<_> =
                            format!("Node {}", self.node_key.credential(crate::clock::now_seconds(), nonce))
                                .parse()
                                .map_err(|_| Status::internal("a node credential is ASCII"))?;
                        // Kept out of HTTP/2's header tables.
                        credential.set_sensitive(true);
                        request.metadata_mut().insert("authorization", credential);
                        Ok(self.runtime.spawn(async move {
                            PartitionsClient::new(channel)
                                .max_decoding_message_size(MAX_PART_ANSWER)
                                .max_encoding_message_size(MAX_PART_REQUEST)
                                .probe(request)
                                .await
                        }))
                    });
                calls.push((node.to_string(), part, nonce, call));
            }
            pending = Vec::new();
            if let Some(part) = own {
                metrics.probes.inc_by(part.len() as u64);
                match probe_segments(index, &part, parallel) {
                    Ok(own_found) => {
                        for (segment, hits) in own_found.into_iter().enumerate() {
                            found[segment].extend(hits);
                        }
                        parts_answered += 1;
                    }
                    // Its index parts cannot be fetched (object storage unreachable from
                    // here): asked of a replica like any other failed holder's.
                    Err(error) => {
                        tracing::warn!(%error, probes = part.len(), "this node could not probe its own part; asking a replica");
                        metrics.part_retries.inc();
                        failed.insert(members.me.clone());
                        pending.extend(part);
                    }
                }
            }
            for (node, part, nonce, call) in calls {
                let answered = call.and_then(|handle| {
                    self.runtime
                        .block_on(handle)
                        .map_err(|join| Status::internal(join.to_string()))?
                        .map(Response::into_inner)
                });
                let proven = answered.and_then(|mut response| {
                    let proof = std::mem::take(&mut response.proof);
                    if self
                        .node_key
                        .verify(nonce, &prost::Message::encode_to_vec(&response), &proof)
                    {
                        Ok(response)
                    } else {
                        Err(Status::unauthenticated("an answer without a valid node proof"))
                    }
                });
                match proven.and_then(|response| placed(&response, &part, segments.len())) {
                    Ok(hits) => {
                        for (segment, hit) in hits {
                            found[segment].push(hit);
                        }
                        parts_answered += 1;
                        if suspects.contains(&node) {
                            self.suspects
                                .lock()
                                .unwrap_or_else(|poison| poison.into_inner())
                                .remove(&node);
                        }
                    }
                    Err(status) => {
                        self.suspects
                            .lock()
                            .unwrap_or_else(|poison| poison.into_inner())
                            .insert(node.clone(), Instant::now() + SUSPECT_FOR);
                        tracing::warn!(%node, code = ?status.code(), message = status.message(), probes = part.len(), "a node did not answer its part; asking a replica");
                        metrics.part_retries.inc();
                        failed.insert(node);
                        pending.extend(part);
                    }
                }
            }
            if pending.is_empty() || deadline.is_some_and(|deadline| deadline <= Instant::now()) {
                break;
            }
            // Parts of several failed nodes may go to one replica: probes are sent sorted.
            pending.sort_unstable();
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

/// Keeps a server's share of every served segment's identifier index fetched from object
/// storage, on a thread of its own, a round every 2 s.
///
/// - In a cluster: the partitions placement gives this node (as first holder or replica),
///   fetched once it has seen the same members for a round, and again when the members or the
///   catalog change. A node then holds what it may be asked before it is asked, and a replica
///   answers a failed holder's part from what it holds.
/// - On one node: every partition.
///
/// Other partitions are fetched only when they are asked of this node (while their holders are
/// down). A round that fails (object storage unreachable) is tried again. Nothing for a server
/// whose segments are on this machine.
///
/// Errors: the thread cannot be started.
pub fn keep_share_fetched(state: Arc<ServiceState>) -> std::io::Result<()> {
    const ROUND: Duration = Duration::from_secs(2);
    if state.data().objects().is_none() {
        return Ok(());
    }
    std::thread::Builder::new()
        .name("partition-fetch".into())
        .spawn(move || {
            // What the last full fetch was for, compared by address: both are kept (the index
            // weakly), so neither address is reused while remembered.
            let mut done: Option<(Option<Arc<Members>>, std::sync::Weak<Index>)> = None;
            let mut seen: Option<Arc<Members>> = None;
            loop {
                let members = state.cluster().map(|cluster| cluster.members.borrow().clone());
                // Members seen unchanged for a round first: a node starting with others sees only
                // itself at first, and would fetch every partition.
                let settled = match &members {
                    Some(members) => {
                        let settled = seen.as_ref().is_some_and(|seen| Arc::ptr_eq(seen, members));
                        seen = Some(members.clone());
                        settled
                    }
                    None => true,
                };
                if !settled {
                    std::thread::sleep(ROUND);
                    continue;
                }
                match state.index_for(crate::access::role::Role::Admin) {
                    Ok(index) => {
                        let current = done.as_ref().is_some_and(|(seen, served)| {
                            seen.as_ref().map(Arc::as_ptr) == members.as_ref().map(Arc::as_ptr)
                                && std::ptr::eq(served.as_ptr(), Arc::as_ptr(&index))
                        });
                        if !current && fetch_share(&index, members.as_deref()) {
                            done = Some((members, Arc::downgrade(&index)));
                        }
                    }
                    Err(status) => tracing::warn!(
                        message = status.message(),
                        "the index could not be opened to fetch this node's partitions"
                    ),
                }
                std::thread::sleep(ROUND);
            }
        })?;
    Ok(())
}

/// Partitions fetched at a time by [`keep_share_fetched`]: a fetch holds its file's fetching
/// lock throughout, and a call's probes that need other parts of the file wait for the lock
/// meanwhile, so the share is fetched a sixteenth of the index at a time.
const PREFETCH_PARTITIONS: usize = PARTITIONS / 16;

/// Fetches the partitions `members` places on this node (all of them outside a cluster), of
/// every segment of `index`; whether every one was.
fn fetch_share(index: &Index, members: Option<&Members>) -> bool {
    let holds = |partition: usize| members.is_none_or(|members| members.placement.holds(&members.me, partition));
    let mut failed = None;
    for group in (0..PARTITIONS).step_by(PREFETCH_PARTITIONS) {
        // Consecutive held partitions as one range of fingerprints.
        let mut held: Vec<std::ops::RangeInclusive<u64>> = Vec::new();
        for partition in (group..group + PREFETCH_PARTITIONS).filter(|&partition| holds(partition)) {
            let fingerprints = fingerprints_of(partition);
            match held.last_mut() {
                Some(last) if last.end().checked_add(1) == Some(*fingerprints.start()) => {
                    *last = *last.start()..=*fingerprints.end();
                }
                _ => held.push(fingerprints),
            }
        }
        for indexed in &index.segments {
            if let Err(error) = indexed.segment.fetch_identifiers(&held) {
                failed.get_or_insert(error);
            }
        }
    }
    // One warning a round, however many segments failed.
    if let Some(error) = &failed {
        tracing::warn!(%error, "this node's partitions could not all be fetched; trying again next round");
    }
    failed.is_none()
}

/// Which of a partition's `holders` (in placement order) to ask: the first that has not
/// failed this call and has not left, preferring one that has not failed lately (a suspect is
/// asked only when no other is left); `None` when every holder failed or left.
fn choose_holder<'a>(
    holders: impl Iterator<Item = &'a str>,
    failed: &HashSet<String>,
    down: &std::collections::BTreeSet<String>,
    suspects: &HashSet<String>,
) -> Option<&'a str> {
    let mut askable = holders.filter(|holder| !failed.contains(*holder) && !down.contains(*holder));
    let first = askable.next()?;
    if !suspects.contains(first) {
        return Some(first);
    }
    Some(askable.find(|other| !suspects.contains(*other)).unwrap_or(first))
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
        // Set by the interceptor, which refuses a call without a valid node credential.
        let Some(&CallNonce(nonce)) = request.extensions().get::<CallNonce>() else {
            return Err(Status::unauthenticated(
                "internal calls are for the nodes of this deployment",
            ));
        };
        let Some(node_key) = self.state.cluster().map(|cluster| cluster.node_key.clone()) else {
            return Err(Status::unauthenticated(
                "internal calls are for the nodes of this deployment",
            ));
        };
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
            // The root's generation: the segments it named, every one published. This node's
            // index may lag the root's by a poll of the catalog (a segment published a moment
            // ago): a segment it lacks is looked up in the catalog itself, and opened for this
            // call if published there; one no longer published (its corpus deleted since the
            // root opened its index) is NOT_FOUND, and the root asks elsewhere or marks the part
            // unanswered. Nothing but a published segment of the catalog is ever opened by name
            // from another process.
            let missing: Vec<&String> = request
                .segments
                .iter()
                .filter(|id| !by_id.contains_key(id.as_str()))
                .collect();
            let mut opened: HashMap<&str, crate::segment::Segment> = HashMap::new();
            if !missing.is_empty() {
                let published: HashSet<String> = state
                    .catalog()
                    .corpora()
                    .map_err(|error| Status::unavailable(error.to_string()))?
                    .iter()
                    .flat_map(|corpus| corpus.published().map(|segment| segment.id.clone()).collect::<Vec<_>>())
                    .collect();
                for id in missing {
                    if !published.contains(id) {
                        return Err(Status::not_found(format!("segment {id:?} is not published")));
                    }
                    let segment = crate::segment::Segment::open_published(state.data(), id)
                        .map_err(|error| Status::unavailable(format!("segment {id:?}: {error}")))?;
                    opened.insert(id, segment);
                }
            }
            let mut segments = Vec::with_capacity(request.segments.len());
            for id in &request.segments {
                segments.push(match by_id.get(id.as_str()) {
                    Some(&position) => &index.segments[position].segment,
                    None => &opened[id.as_str()],
                });
            }
            let mut response = ProbeResponse::default();
            for (number, segment) in segments.into_iter().enumerate() {
                let hits = probe_segment(segment, &probes)
                    .map_err(|error| Status::unavailable(format!("segment {}: {error}", segment.manifest.id)))?;
                for (probe, entry, location) in hits {
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
            response.proof = node_key.proof(nonce, &prost::Message::encode_to_vec(&response));
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
    fn a_holder_that_failed_lately_is_asked_only_when_no_other_is_left() {
        let set = |names: &[&str]| names.iter().map(|name| name.to_string()).collect::<HashSet<String>>();
        let none = std::collections::BTreeSet::new();
        let holders = || ["a", "b", "c"].into_iter();
        assert_eq!(choose_holder(holders(), &set(&[]), &none, &set(&[])), Some("a"));
        assert_eq!(choose_holder(holders(), &set(&["a"]), &none, &set(&[])), Some("b"));
        assert_eq!(choose_holder(holders(), &set(&[]), &none, &set(&["a"])), Some("b"));
        assert_eq!(choose_holder(holders(), &set(&[]), &none, &set(&["a", "b"])), Some("c"));
        assert_eq!(
            choose_holder(holders(), &set(&[]), &none, &set(&["a", "b", "c"])),
            Some("a")
        );
        let down: std::collections::BTreeSet<String> = ["b".to_string()].into();
        assert_eq!(choose_holder(holders(), &set(&["a"]), &down, &set(&[])), Some("c"));
        assert_eq!(choose_holder(holders(), &set(&["a", "c"]), &down, &set(&[])), None);
    }

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
