//! Several `leakdex serve` processes as one cluster: membership by gossip (the `chitchat`
//! crate, as Quickwit runs it) and the placement of the hash index's partitions on its ready
//! members. The calls between nodes live in `service::cluster`.
//!
//! What every node gossips is small and fixed: its gRPC address and whether it is ready. The
//! placement is computed from the ready members, never gossiped.

pub mod placement;

use placement::Placement;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// The gossip key holding a node's gRPC address (`host:port`, as other nodes dial it).
const GRPC_KEY: &str = "grpc";
/// The gossip key holding whether a node takes work: `ready` or `draining`.
const STATE_KEY: &str = "state";
const READY: &str = "ready";
const DRAINING: &str = "draining";

/// How a node joins its cluster.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// Unique in the cluster and stable across restarts (a StatefulSet pod's name): placement
    /// is computed over node ids.
    pub node_id: String,
    /// Where gossip (UDP) is received.
    pub gossip_listen: SocketAddr,
    /// Where the other nodes send gossip: `gossip_listen` unless that is a wildcard address.
    pub gossip_advertise: SocketAddr,
    /// `host:port` of nodes to gossip with first; host names (a Kubernetes headless Service)
    /// are resolved again every minute by chitchat.
    pub seeds: Vec<String>,
    /// The gRPC address the other nodes dial (`http://host:port` or `https://…`).
    pub grpc_url: String,
    /// Nodes that hold each partition.
    pub replicas: usize,
    /// Time between gossip rounds. A dead node is noticed after about 8 rounds
    /// (chitchat's phi-accrual threshold of 8 over rounds of this length).
    pub gossip_interval: Duration,
    /// How long a node that left (drained, killed, partitioned away) keeps its place in the
    /// placement. Its partitions are answered by their other holders meanwhile, and marked
    /// incomplete where it was the last; a pod restarted under its id within this time finds
    /// its partitions where they were, so a rolling restart moves nothing. As Elasticsearch
    /// delays reallocating a departed node's shards (`delayed_timeout`, 1 min).
    pub rebalance_after: Duration,
    /// Nodes gossip only with nodes of the same cluster id: derived from the deployment's key
    /// (see [`cluster_id`]), so two deployments on one network never merge.
    pub cluster_id: String,
}

/// The cluster id of the deployment whose fingerprint key is `key`: a keyed hash of it, which
/// says nothing about the key.
pub fn cluster_id(key: &[u8; 16]) -> String {
    format!("leakdex-{:016x}", node_secret(key, b"cluster id"))
}

/// How long a node's credential is accepted after it was made (either way, for clocks a little
/// apart): a credential seen on the network can be replayed only this long.
pub const CREDENTIAL_WINDOW_SECONDS: u64 = 120;

/// What the nodes of one deployment prove themselves with, derived from the fingerprint key
/// every process of the deployment holds (HMAC-SHA-256 of a fixed label): a caller without the
/// key can neither make an internal call nor pass off an answer as a node's. Gossip itself is
/// not authenticated (chitchat has no such thing), so a stranger on the gossip network could
/// announce itself as a node; it would receive fresh credentials, never the key, and its
/// answers would fail their proof.
#[derive(Clone)]
pub struct NodeKey([u8; 32]);

impl NodeKey {
    pub fn of(key: &[u8; 16]) -> NodeKey {
        let mut mac =
            <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
        hmac::Mac::update(&mut mac, b"leakdex node key 1");
        NodeKey(hmac::Mac::finalize(mac).into_bytes().into())
    }

    fn mac(&self, parts: &[&[u8]]) -> hmac::Hmac<sha2::Sha256> {
        let mut mac =
            <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(&self.0).expect("HMAC takes any key length");
        for part in parts {
            hmac::Mac::update(&mut mac, &(part.len() as u64).to_le_bytes());
            hmac::Mac::update(&mut mac, part);
        }
        mac
    }

    /// A call's credential made at `now` (Unix seconds) with a fresh `nonce`:
    /// `SECONDS.NONCE.MAC` in hex.
    pub fn credential(&self, now: u64, nonce: u64) -> String {
        let mac = hmac::Mac::finalize(self.mac(&[b"call", &now.to_le_bytes(), &nonce.to_le_bytes()])).into_bytes();
        format!("{now:x}.{nonce:016x}.{}", hex::encode(mac))
    }

    /// The nonce of `credential` if this key made it within [`CREDENTIAL_WINDOW_SECONDS`] of
    /// `now` (compared in constant time).
    ///
    /// Errors: a malformed, stale or forged credential.
    pub fn check(&self, credential: &str, now: u64) -> Result<u64, &'static str> {
        let mut parts = credential.splitn(3, '.');
        let (Some(made), Some(nonce), Some(mac)) = (parts.next(), parts.next(), parts.next()) else {
            return Err("a malformed node credential");
        };
        let made = u64::from_str_radix(made, 16).map_err(|_| "a malformed node credential")?;
        let nonce = u64::from_str_radix(nonce, 16).map_err(|_| "a malformed node credential")?;
        let mac = hex::decode(mac).map_err(|_| "a malformed node credential")?;
        if made.abs_diff(now) > CREDENTIAL_WINDOW_SECONDS {
            return Err("a stale node credential");
        }
        hmac::Mac::verify_slice(self.mac(&[b"call", &made.to_le_bytes(), &nonce.to_le_bytes()]), &mac)
            .map_err(|_| "a forged node credential")?;
        Ok(nonce)
    }

    /// A holder's proof of its answer (`answer`: its encoded bytes) to the call of `nonce`.
    pub fn proof(&self, nonce: u64, answer: &[u8]) -> Vec<u8> {
        hmac::Mac::finalize(self.mac(&[b"answer", &nonce.to_le_bytes(), answer]))
            .into_bytes()
            .to_vec()
    }

    /// Whether `proof` is this key's proof of `answer` to the call of `nonce` (constant time).
    pub fn verify(&self, nonce: u64, answer: &[u8], proof: &[u8]) -> bool {
        hmac::Mac::verify_slice(self.mac(&[b"answer", &nonce.to_le_bytes(), answer]), proof).is_ok()
    }
}

fn node_secret(key: &[u8; 16], purpose: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut hasher = siphasher::sip::SipHasher24::new_with_key(key);
    hasher.write(purpose);
    hasher.finish()
}

/// A ready member of the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub node_id: String,
    pub grpc_url: String,
}

/// The cluster as one node sees it at one moment: its ready members, the nodes that vanished
/// lately, and the placement over both.
#[derive(Clone, Debug)]
pub struct Members {
    /// This node's id.
    pub me: String,
    /// Ready members by node id (this node among them once it is ready).
    pub ready: BTreeMap<String, Member>,
    /// Nodes that left less than `rebalance_after` ago: still placed, never asked.
    pub down: BTreeSet<String>,
    pub placement: Placement,
}

impl Members {
    fn of(me: &str, ready: BTreeMap<String, Member>, down: BTreeSet<String>, replicas: usize) -> Members {
        let ids: Vec<&String> = ready.keys().chain(&down).collect();
        Members {
            me: me.to_string(),
            placement: Placement::new(&ids, replicas),
            ready,
            down,
        }
    }
}

/// This node's membership: gossip running in the background, and the members it sees.
pub struct Membership {
    handle: chitchat::ChitchatHandle,
    members: tokio::sync::watch::Receiver<Arc<Members>>,
    gossip_interval: Duration,
}

impl Membership {
    /// Starts gossip (on the current tokio runtime) and joins the cluster through the seeds,
    /// not yet ready: call [`Membership::set_ready`] once this node answers.
    ///
    /// Errors: the gossip socket cannot be bound.
    pub async fn join(config: ClusterConfig) -> Result<Membership, String> {
        let generation = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos() as u64);
        let chitchat_config = chitchat::ChitchatConfig {
            chitchat_id: chitchat::ChitchatId::new(config.node_id.clone(), generation, config.gossip_advertise),
            cluster_id: config.cluster_id.clone(),
            gossip_interval: config.gossip_interval,
            listen_addr: config.gossip_listen,
            seed_nodes: config.seeds.clone(),
            failure_detector_config: chitchat::FailureDetectorConfig {
                // The prior mean heartbeat interval: the round length, so a node that dies
                // soon after joining is noticed as fast as one that has run for a day.
                initial_interval: config.gossip_interval,
                dead_node_grace_period: Duration::from_secs(15 * 60),
                ..Default::default()
            },
            marked_for_deletion_grace_period: Duration::from_secs(15 * 60),
            catchup_callback: None,
            extra_liveness_predicate: None,
            protocol_version: chitchat::ProtocolVersion::V0,
        };
        let initial = vec![
            (GRPC_KEY.to_string(), config.grpc_url.clone()),
            (STATE_KEY.to_string(), DRAINING.to_string()),
        ];
        let handle = chitchat::spawn_chitchat(chitchat_config, initial, &chitchat::transport::UdpTransport)
            .await
            .map_err(|error| format!("gossip on {}: {error:#}", config.gossip_listen))?;
        let mut live = handle.chitchat().lock().await.live_nodes_watcher();
        let (publish, members) = tokio::sync::watch::channel(Arc::new(Members::of(
            &config.node_id,
            BTreeMap::new(),
            BTreeSet::new(),
            config.replicas,
        )));
        let (me, replicas, rebalance_after) = (config.node_id, config.replicas, config.rebalance_after);
        tokio::spawn(async move {
            // Nodes that were ready and left, and when.
            let mut left: HashMap<String, tokio::time::Instant> = HashMap::new();
            loop {
                let ready = ready_members(&live.borrow_and_update());
                let now = tokio::time::Instant::now();
                let before = publish.borrow().clone();
                for gone in before.ready.keys().filter(|id| !ready.contains_key(*id)) {
                    tracing::warn!(node = %gone, ?rebalance_after, "a node left; its partitions stay placed on it for now");
                    left.insert(gone.clone(), now);
                }
                left.retain(|id, since| !ready.contains_key(id) && now.duration_since(*since) < rebalance_after);
                let down: BTreeSet<String> = left.keys().cloned().collect();
                if before.ready != ready || before.down != down {
                    tracing::info!(members = ?ready.keys().collect::<Vec<_>>(), ?down, "cluster members changed");
                    if publish.send(Arc::new(Members::of(&me, ready, down, replicas))).is_err() {
                        return;
                    }
                }
                let next_expiry = left.values().map(|since| *since + rebalance_after).min();
                tokio::select! {
                    changed = live.changed() => if changed.is_err() { return },
                    () = async {
                        match next_expiry {
                            Some(at) => tokio::time::sleep_until(at).await,
                            None => std::future::pending().await,
                        }
                    } => {}
                }
            }
        });
        Ok(Membership {
            handle,
            members,
            gossip_interval: config.gossip_interval,
        })
    }

    /// Tells the cluster this node takes work (`true`) or is going away (`false`). Leaving,
    /// waits two gossip rounds so the others stop sending before it stops answering.
    pub async fn set_ready(&self, ready: bool) {
        self.handle
            .with_chitchat(|chitchat| {
                chitchat
                    .self_node_state()
                    .set(STATE_KEY, if ready { READY } else { DRAINING })
            })
            .await;
        if !ready {
            tokio::time::sleep(self.gossip_interval * 2).await;
        }
    }

    /// The members as this node sees them now, updated as gossip learns of changes.
    pub fn members(&self) -> tokio::sync::watch::Receiver<Arc<Members>> {
        self.members.clone()
    }

    /// Stops gossip.
    pub async fn shutdown(self) {
        if let Err(error) = self.handle.shutdown().await {
            tracing::warn!(%error, "gossip did not stop cleanly");
        }
    }
}

/// The ready nodes among the live ones, one state per node id: a node restarted under the same
/// id is briefly live twice (two generations), and its newest generation counts (until it is
/// ready, the node counts as left, so its partitions stay where they were).
fn ready_members(live: &BTreeMap<chitchat::ChitchatId, chitchat::NodeState>) -> BTreeMap<String, Member> {
    let mut newest: BTreeMap<&str, (u64, &chitchat::NodeState)> = BTreeMap::new();
    for (id, state) in live {
        let entry = newest.entry(&id.node_id).or_insert((id.generation_id, state));
        if id.generation_id >= entry.0 {
            *entry = (id.generation_id, state);
        }
    }
    newest
        .into_iter()
        .filter(|(_, (_, state))| state.get(STATE_KEY) == Some(READY))
        .filter_map(|(node_id, (_, state))| {
            Some((
                node_id.to_string(),
                Member {
                    node_id: node_id.to_string(),
                    grpc_url: state.get(GRPC_KEY)?.to_string(),
                },
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn free_udp_port() -> SocketAddr {
        std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
    }

    fn config(node_id: &str, gossip: SocketAddr, seeds: Vec<String>) -> ClusterConfig {
        ClusterConfig {
            node_id: node_id.to_string(),
            gossip_listen: gossip,
            gossip_advertise: gossip,
            seeds,
            grpc_url: format!("http://{node_id}.test:7070"),
            replicas: 2,
            gossip_interval: Duration::from_millis(100),
            rebalance_after: Duration::from_secs(6),
            cluster_id: cluster_id(&[7; 16]),
        }
    }

    async fn until(members: &mut tokio::sync::watch::Receiver<Arc<Members>>, count: usize) -> Arc<Members> {
        tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                let now = members.borrow_and_update().clone();
                if now.ready.len() == count {
                    return now;
                }
                members.changed().await.unwrap();
            }
        })
        .await
        .unwrap_or_else(|_| panic!("never saw {count} ready members"))
    }

    /// Three nodes on loopback: only ready nodes are members; a node that drains or vanishes
    /// keeps its place in the placement for `rebalance_after`, then the placement is over the
    /// rest; a node of another deployment never joins.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ready_nodes_become_members_and_nodes_that_leave_keep_their_place_for_a_while() {
        let first = free_udp_port();
        let seeds = vec![first.to_string()];
        let a = Membership::join(config("a", first, vec![])).await.unwrap();
        let b = Membership::join(config("b", free_udp_port(), seeds.clone()))
            .await
            .unwrap();
        let c = Membership::join(config("c", free_udp_port(), seeds.clone()))
            .await
            .unwrap();
        let mut stranger_config = config("z", free_udp_port(), seeds);
        stranger_config.cluster_id = cluster_id(&[8; 16]);
        let stranger = Membership::join(stranger_config).await.unwrap();
        stranger.set_ready(true).await;
        for node in [&a, &b, &c] {
            node.set_ready(true).await;
        }
        let mut seen = a.members();
        let three = until(&mut seen, 3).await;
        assert_eq!(three.ready.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(three.ready["b"].grpc_url, "http://b.test:7070");
        assert_eq!(three.placement.nodes(), ["a", "b", "c"]);
        // A node that drains, or vanishes, keeps its place until `rebalance_after`.
        c.set_ready(false).await;
        let two = until(&mut seen, 2).await;
        assert_eq!(two.down.iter().collect::<Vec<_>>(), ["c"]);
        b.shutdown().await;
        let one = until(&mut seen, 1).await;
        assert_eq!(one.placement.nodes(), ["a", "b", "c"]);
        assert!(one.placement.holders(0).count() == 2);
        let rebalanced = tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                if seen.borrow_and_update().down.is_empty() {
                    return seen.borrow().clone();
                }
                seen.changed().await.unwrap();
            }
        })
        .await
        .expect("the nodes that left are dropped after rebalance_after");
        assert_eq!(rebalanced.placement.nodes(), ["a"]);
        for node in [a, c, stranger] {
            node.shutdown().await;
        }
    }

    #[test]
    fn node_credentials_and_proofs_hold_only_for_the_same_key_fresh_and_unaltered() {
        assert_ne!(cluster_id(&[1; 16]), cluster_id(&[2; 16]));
        let (ours, theirs) = (NodeKey::of(&[1; 16]), NodeKey::of(&[2; 16]));
        let credential = ours.credential(1_000_000, 42);
        assert_eq!(ours.check(&credential, 1_000_000 + CREDENTIAL_WINDOW_SECONDS), Ok(42));
        assert_eq!(ours.check(&credential, 1_000_000 - 5), Ok(42));
        assert_eq!(
            ours.check(&credential, 1_000_000 + CREDENTIAL_WINDOW_SECONDS + 1),
            Err("a stale node credential")
        );
        assert_eq!(theirs.check(&credential, 1_000_000), Err("a forged node credential"));
        let replayed_with_another_nonce = credential.replacen(".000000000000002a.", ".000000000000002b.", 1);
        assert_eq!(
            ours.check(&replayed_with_another_nonce, 1_000_000),
            Err("a forged node credential")
        );
        for malformed in ["", "1.2", "x.y.z", "f4240.2a.zz"] {
            assert_eq!(
                ours.check(malformed, 1_000_000),
                Err("a malformed node credential"),
                "{malformed}"
            );
        }
        let proof = ours.proof(42, b"answer");
        assert!(ours.verify(42, b"answer", &proof));
        assert!(!ours.verify(43, b"answer", &proof));
        assert!(!ours.verify(42, b"answex", &proof));
        assert!(!theirs.verify(42, b"answer", &proof));
    }
}
