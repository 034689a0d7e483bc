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
    /// How long a node that vanished without draining (killed, partitioned away) keeps its
    /// place in the placement. Its partitions are answered by their other holders meanwhile,
    /// and marked incomplete where it was the last; a restarted pod coming back under its id
    /// within this time finds its partitions where they were, so nothing moves twice. As
    /// Elasticsearch delays reallocating a departed node's shards (`delayed_timeout`, 1 min).
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

/// The bearer one node presents to another's internal calls: derived from the fingerprint
/// key every process of a deployment holds, so a caller without the key cannot make them.
pub fn node_bearer(key: &[u8; 16]) -> String {
    format!(
        "node-{:016x}{:016x}",
        node_secret(key, b"node bearer 1"),
        node_secret(key, b"node bearer 2")
    )
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
    /// Nodes that vanished without draining, less than `rebalance_after` ago: still placed,
    /// never asked.
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
            // Nodes that vanished while ready, and when.
            let mut vanished: HashMap<String, tokio::time::Instant> = HashMap::new();
            let mut draining: BTreeSet<String> = BTreeSet::new();
            loop {
                let (ready, leaving) = ready_members(&live.borrow_and_update());
                let now = tokio::time::Instant::now();
                let before = publish.borrow().clone();
                for gone in before.ready.keys().filter(|id| !ready.contains_key(*id)) {
                    if !leaving.contains(gone) && !draining.contains(gone) {
                        tracing::warn!(node = %gone, ?rebalance_after, "a node vanished without draining; its partitions stay placed on it for now");
                        vanished.insert(gone.clone(), now);
                    }
                }
                draining = leaving;
                vanished.retain(|id, since| !ready.contains_key(id) && now.duration_since(*since) < rebalance_after);
                let down: BTreeSet<String> = vanished.keys().cloned().collect();
                if before.ready != ready || before.down != down {
                    tracing::info!(members = ?ready.keys().collect::<Vec<_>>(), ?down, "cluster members changed");
                    if publish.send(Arc::new(Members::of(&me, ready, down, replicas))).is_err() {
                        return;
                    }
                }
                let next_expiry = vanished.values().map(|since| *since + rebalance_after).min();
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

/// The ready nodes among the live ones, and the draining ones; one state per node id: a node
/// restarted under the same id is briefly live twice (two generations), and its newest
/// generation counts.
fn ready_members(
    live: &BTreeMap<chitchat::ChitchatId, chitchat::NodeState>,
) -> (BTreeMap<String, Member>, BTreeSet<String>) {
    let mut newest: BTreeMap<&str, (u64, &chitchat::NodeState)> = BTreeMap::new();
    for (id, state) in live {
        let entry = newest.entry(&id.node_id).or_insert((id.generation_id, state));
        if id.generation_id >= entry.0 {
            *entry = (id.generation_id, state);
        }
    }
    let draining = newest
        .iter()
        .filter(|(_, (_, state))| state.get(STATE_KEY) == Some(DRAINING))
        .map(|(node_id, _)| node_id.to_string())
        .collect();
    let ready = newest
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
        .collect();
    (ready, draining)
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
            gossip_interval: Duration::from_millis(50),
            rebalance_after: Duration::from_millis(800),
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

    /// Three nodes on loopback: only ready nodes are members and hold partitions; a node that
    /// leaves (draining) is dropped, and a node of another deployment never joins.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ready_nodes_become_members_and_a_draining_one_leaves() {
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
        c.set_ready(false).await;
        let two = until(&mut seen, 2).await;
        assert_eq!(two.placement.nodes(), ["a", "b"]);
        assert!(two.down.is_empty(), "a draining node left: {:?}", two.down);
        // A node that vanishes without draining keeps its place until `rebalance_after`.
        b.shutdown().await;
        let one = until(&mut seen, 1).await;
        assert_eq!(one.down.iter().collect::<Vec<_>>(), ["b"]);
        assert_eq!(one.placement.nodes(), ["a", "b"]);
        let rebalanced = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if seen.borrow_and_update().down.is_empty() {
                    return seen.borrow().clone();
                }
                seen.changed().await.unwrap();
            }
        })
        .await
        .expect("the vanished node is dropped after rebalance_after");
        assert_eq!(rebalanced.placement.nodes(), ["a"]);
        for node in [a, c, stranger] {
            node.shutdown().await;
        }
    }

    #[test]
    fn deployments_get_different_cluster_ids_and_bearers() {
        assert_ne!(cluster_id(&[1; 16]), cluster_id(&[2; 16]));
        assert_ne!(node_bearer(&[1; 16]), node_bearer(&[2; 16]));
        assert_eq!(node_bearer(&[1; 16]), node_bearer(&[1; 16]));
    }
}
