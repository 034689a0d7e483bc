//! Which nodes hold which partition of the hash index: rendezvous (highest random weight)
//! hashing, as Quickwit's search root places splits on searchers.
//!
//! Every segment's identifier index is sorted by fingerprint, so the fingerprints whose top
//! [`PARTITION_BITS`] bits are `p` are one contiguous byte range of every segment's index:
//! partition `p`. Each partition is held by the [`Placement::replicas`] nodes that score it
//! highest, the score a keyed hash of (node, partition). Every node computes the same placement
//! from the same member list, so nothing about placement is gossiped; and a node joining or
//! leaving changes only the partitions it scores into or out of, about `replicas / nodes` of
//! all (Thaler and Ravishankar, "Using name-based mappings to increase hit rates", 1998).

/// Bits of a fingerprint that name its partition: 4,096 partitions. Enough that each of 100
/// nodes holds about 82 of them for two replicas (so placement is balanced within the
/// tolerance the simulation test states), few enough that a placement table is 32 KiB.
pub const PARTITION_BITS: u32 = 12;
/// Partitions of the fingerprint space.
pub const PARTITIONS: usize = 1 << PARTITION_BITS;
/// Nodes that hold each partition unless configured otherwise.
pub const DEFAULT_REPLICAS: usize = 2;

/// The partition of a fingerprint: its top [`PARTITION_BITS`] bits.
pub fn partition_of(fingerprint: u64) -> usize {
    (fingerprint >> (64 - PARTITION_BITS)) as usize
}

/// The fingerprints of partition `partition`, inclusive.
pub fn fingerprints_of(partition: usize) -> std::ops::RangeInclusive<u64> {
    let shift = 64 - PARTITION_BITS;
    let first = (partition as u64) << shift;
    first..=first | ((1u64 << shift) - 1)
}

/// A node's rendezvous score for a partition. The key is fixed (not secret): placement must be
/// the same on every node and across versions, and a caller gains nothing by predicting it.
fn score(node: &str, partition: usize) -> u64 {
    use std::hash::Hasher;
    let mut hasher = siphasher::sip::SipHasher13::new_with_keys(0x6c65_616b_6465_7801, 0x7061_7274_6974_696f);
    hasher.write(node.as_bytes());
    hasher.write_u8(0xff);
    hasher.write_u64(partition as u64);
    hasher.finish()
}

/// The placement of every partition over a set of nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    /// The nodes, sorted by id.
    nodes: Vec<String>,
    /// How many nodes hold each partition: the configured replicas, or every node if fewer.
    replicas: usize,
    /// For each partition, its holders as indexes into `nodes`, best score first:
    /// `PARTITIONS × replicas` entries.
    holders: Vec<u16>,
}

impl Placement {
    /// The placement of every partition on `replicas` of `nodes` (fewer when there are fewer
    /// nodes). Duplicate ids count once.
    ///
    /// Panics if there are more than 65,535 nodes.
    pub fn new<S: AsRef<str>>(nodes: &[S], replicas: usize) -> Placement {
        let mut nodes: Vec<String> = nodes.iter().map(|node| node.as_ref().to_string()).collect();
        nodes.sort_unstable();
        nodes.dedup();
        assert!(nodes.len() < usize::from(u16::MAX), "too many nodes for a placement");
        let replicas = replicas.max(1).min(nodes.len());
        let mut holders = Vec::with_capacity(PARTITIONS * replicas);
        let mut scored: Vec<(u64, u16)> = Vec::with_capacity(nodes.len());
        for partition in 0..PARTITIONS {
            scored.clear();
            scored.extend(
                nodes
                    .iter()
                    .enumerate()
                    .map(|(number, node)| (score(node, partition), number as u16)),
            );
            // Highest score first; ties (2^-64) broken by id so every node agrees.
            scored.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            holders.extend(scored.iter().take(replicas).map(|&(_, number)| number));
        }
        Placement {
            nodes,
            replicas,
            holders,
        }
    }

    /// The nodes placed over, sorted by id.
    pub fn nodes(&self) -> &[String] {
        &self.nodes
    }

    /// How many nodes hold each partition.
    pub fn replicas(&self) -> usize {
        self.replicas
    }

    /// The holders of `partition`, the one asked first first; empty when there are no nodes.
    pub fn holders(&self, partition: usize) -> impl Iterator<Item = &str> + '_ {
        let start = partition * self.replicas;
        self.holders[start..start + self.replicas]
            .iter()
            .map(|&number| self.nodes[usize::from(number)].as_str())
    }

    /// Whether `node` holds `partition`.
    pub fn holds(&self, node: &str, partition: usize) -> bool {
        self.holders(partition).any(|holder| holder == node)
    }

    /// How many partitions each node holds, in the order of [`Placement::nodes`].
    pub fn held_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.nodes.len()];
        for &number in &self.holders {
            counts[usize::from(number)] += 1;
        }
        counts
    }

    /// (partition, node) holdings in `self` that `other` does not have: what a change of
    /// members makes some node fetch.
    pub fn moved_to(&self, other: &Placement) -> usize {
        (0..PARTITIONS)
            .map(|partition| {
                other
                    .holders(partition)
                    .filter(|holder| !self.holds(holder, partition))
                    .count()
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(count: usize) -> Vec<String> {
        (0..count).map(|number| format!("leakdex-{number}")).collect()
    }

    #[test]
    fn partitions_are_fingerprint_ranges_that_cover_the_space_in_order() {
        assert_eq!(*fingerprints_of(0).start(), 0);
        assert_eq!(*fingerprints_of(PARTITIONS - 1).end(), u64::MAX);
        for partition in [0, 1, 77, PARTITIONS - 2] {
            assert_eq!(
                *fingerprints_of(partition).end() + 1,
                *fingerprints_of(partition + 1).start()
            );
            assert_eq!(partition_of(*fingerprints_of(partition).start()), partition);
            assert_eq!(partition_of(*fingerprints_of(partition).end()), partition);
        }
    }

    #[test]
    fn every_node_computes_the_same_placement_whatever_the_order_it_learned_the_members_in() {
        let mut nodes = named(7);
        let placement = Placement::new(&nodes, 2);
        nodes.reverse();
        nodes.push("leakdex-3".into());
        assert_eq!(Placement::new(&nodes, 2), placement);
    }

    #[test]
    fn each_partition_has_distinct_holders_and_fewer_nodes_than_replicas_hold_everything() {
        let placement = Placement::new(&named(5), 3);
        for partition in 0..PARTITIONS {
            let mut holders: Vec<&str> = placement.holders(partition).collect();
            holders.sort_unstable();
            holders.dedup();
            assert_eq!(holders.len(), 3);
        }
        let one = Placement::new(&named(1), 2);
        assert_eq!(one.replicas(), 1);
        assert!((0..PARTITIONS).all(|partition| one.holds("leakdex-0", partition)));
        assert_eq!(Placement::new::<String>(&[], 2).holders(5).count(), 0);
    }

    /// The simulation the cluster's capacity model rests on (deploy/README.md): across 3 to 100
    /// nodes with two replicas, every node holds within ±40% of the mean number of partitions
    /// (at 100 nodes the mean is 82, and a binomial count's spread is about ±3.5 standard
    /// deviations of 9); a node joining takes, and a node leaving gives up, close to
    /// `1 / nodes` of all holdings, and nothing else moves.
    #[test]
    fn placement_is_balanced_and_a_join_or_leave_moves_about_one_nth() {
        for count in [3, 4, 5, 8, 10, 20, 50, 100] {
            let nodes = named(count);
            let placement = Placement::new(&nodes, 2);
            let counts = placement.held_counts();
            let mean = (PARTITIONS * 2) as f64 / count as f64;
            for (node, &held) in placement.nodes().iter().zip(&counts) {
                let ratio = held as f64 / mean;
                assert!(
                    (0.6..=1.4).contains(&ratio),
                    "{count} nodes: {node} holds {held}, mean {mean:.1}"
                );
            }
            // A node joins: it takes its share; no other holding changes hands.
            let mut joined = nodes.clone();
            joined.push(format!("leakdex-{count}"));
            let after = Placement::new(&joined, 2);
            let moved = placement.moved_to(&after);
            let newcomer = after.held_counts()[after.nodes().iter().position(|node| node == &joined[count]).unwrap()];
            assert_eq!(moved, newcomer, "{count} nodes: only the newcomer's holdings are new");
            let share = moved as f64 / (PARTITIONS * 2) as f64;
            let expected = 1.0 / (count + 1) as f64;
            assert!(
                (0.6 * expected..=1.4 * expected).contains(&share),
                "{count} nodes: a join moved {share:.4} of holdings, expected about {expected:.4}"
            );
            // A node leaves: only its holdings move, each to one other node.
            let left = Placement::new(&nodes[1..], 2);
            assert_eq!(
                placement.moved_to(&left),
                counts[0],
                "{count} nodes: a leave moves only the leaver's"
            );
        }
    }
}
