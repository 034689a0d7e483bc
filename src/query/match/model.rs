//! The Fellegi–Sunter match model, with its parameters learned from the data instead of set by
//! hand (Fellegi and Sunter, "A theory for record linkage", JASA 1969; the estimation as splink
//! does it):
//!
//! - for each comparison a suspect makes (keyed by the suspect's field name and the kind of
//!   comparison), `m[level]` is the probability of that level when the two records are of one
//!   person, `u[level]` when they are not, one model for every known corpus (see [`Model`]);
//! - `u` is counted on random pairs (a suspect record beside a record drawn at random from a
//!   corpus that holds candidates: nearly always two different people), as splink's
//!   `estimate_u_using_random_sampling` does, shrunk toward the seeds (see [`u_of`]);
//! - `m` and the share λ of candidate pairs that match are estimated by expectation-maximisation
//!   over the candidate pairs that blocking found, `u` held fixed (splink's default); no labels
//!   are needed;
//! - the hand-set values of wave 1 seed the estimation as a prior worth [`PRIOR_PAIRS`] pairs,
//!   so a batch of a handful of records is scored by the seeds and a large one by what it shows.
//!
//! A pair's evidence is `log2(m/u)` summed over its comparisons (bits: each bit doubles the
//! likelihood ratio of "one person" against "two people"); its score is the posterior match
//! probability, the evidence plus the corpus's prior log-odds that two records drawn at random
//! are one person ([`Model::prior_bits`]; λ, the share among candidates, weighs pairs only inside
//! the estimation). Every sum runs in a fixed order, so one input always gives one report.
//!
//! Known bias: candidate pairs share a blocking key, so the non-matches among them agree on the
//! blocked fields (name, date, postcode) more often than random pairs do; with `u` fixed from
//! random pairs, EM credits some of that agreement to `m`. splink avoids it by leaving each
//! blocking rule's own fields out of the EM session that uses it; this model does not yet.

use super::compare::{Comparison, UNKNOWN};
use rayon::prelude::*;
use std::collections::HashMap;

/// Weight of the seeds, in candidate pairs.
pub const PRIOR_PAIRS: f64 = 50.0;
/// Weight of the seeds of `u`, in random pairs.
const U_PRIOR_PAIRS: f64 = 500.0;
/// Share of candidate pairs assumed to match before any is seen (about 1 in 65: 6 bits against).
const PRIOR_MATCH_SHARE: f64 = 1.0 / 65.0;
/// Most rounds of expectation-maximisation, and the change in λ at which it stops.
const ROUNDS: usize = 40;
const CONVERGED: f64 = 1e-6;
/// Candidate pairs EM trains on, at most (an even sample of a larger set).
const TRAINING_PAIRS: usize = 200_000;
/// Pairs per parallel task of the E-step.
const CHUNK: usize = 8192;
/// Smallest probability a level keeps: no level is ever impossible.
const FLOOR: f64 = 1e-15;

/// Seed probabilities (m, u) per level, lowest level first (see [`Comparison::levels`]): the
/// hand-set weights of wave 1, written as probabilities. `u` of an exact agreement is about how
/// often two different people share the value (a birth year: 1 in 60; a date: 1 in 20,000).
fn seeds(comparison: Comparison) -> (&'static [f64], &'static [f64]) {
    match comparison {
        Comparison::PersonName => (
            &[0.02, 0.03, 0.05, 0.10, 0.20, 0.60],
            &[0.90, 0.07, 0.02, 0.005, 0.004, 0.001],
        ),
        Comparison::RelativeName => (
            &[0.10, 0.05, 0.05, 0.10, 0.20, 0.50],
            &[0.90, 0.07, 0.02, 0.005, 0.004, 0.001],
        ),
        // Two different people share a phone or an email about once in a billion pairs (a
        // household's shared number: a few people out of India's 1.4 billion), one a typo away
        // from the other's about once in ten million (nine neighbours per digit, ten digits).
        Comparison::Identifier => (&[0.02, 0.03, 0.95], &[0.999_999_899, 0.000_000_1, 0.000_000_001]),
        // Two different 12-digit IDs share their last four digits 1 time in 10,000; an ID is
        // issued to one person (the same ID on two people is a clerical error).
        Comparison::NationalId => (
            &[0.04, 0.30, 0.03, 0.63],
            &[0.999_899_9, 0.0001, 0.000_000_1, 0.000_000_000_1],
        ),
        Comparison::DateOfBirth => (&[0.02, 0.02, 0.06, 0.05, 0.85], &[0.95, 0.033, 0.016, 0.001, 0.00005]),
        Comparison::BirthYear => (&[0.03, 0.04, 0.93], &[0.95, 0.033, 0.017]),
        Comparison::Postcode => (&[0.05, 0.05, 0.90], &[0.995, 0.004, 0.001]),
        Comparison::Place => (&[0.05, 0.10, 0.85], &[0.90, 0.05, 0.05]),
        Comparison::Address => (&[0.10, 0.15, 0.30, 0.45], &[0.95, 0.045, 0.004, 0.001]),
        Comparison::StreetNumber => (&[0.05, 0.05, 0.90], &[0.98, 0.015, 0.005]),
        Comparison::Gender => (&[0.03, 0.97], &[0.5, 0.5]),
        Comparison::Other => (&[0.5, 0.5], &[0.99, 0.01]),
    }
}

/// A comparison as the model keys it: the suspect's field name and the kind of comparison.
pub type Slot = (String, Comparison);

/// The learned model of one suspect set, one for every corpus: the same agreement is the same
/// evidence whichever corpus holds the record, so the corpus a record was copied from ranks by
/// what agrees, not by whose estimate came out larger. Estimated per corpus, `m` made one phone
/// agreement weigh 9.8 bits against one corpus and 13.9 against another (the true source of a
/// bot sample ranked first for 75% of its records instead of 99%), and `u`, from a few thousand
/// random pairs each, moved a name's weight by half a bit: more than the fields that tell a
/// source from another holder of the same person. What differs per corpus is the prior
/// ([`Model::prior_bits`]).
#[derive(Clone, Debug)]
pub struct Model {
    pub comparisons: Vec<Comparison>,
    /// `m[slot][level]`, over every corpus's candidate pairs.
    pub m: Vec<Vec<f64>>,
    /// `u[slot][level]`.
    pub u: Vec<Vec<f64>>,
    /// log2(m/u): `bits[slot][level]`.
    bits: Vec<Vec<f64>>,
    /// Share of candidate pairs that match (the prior of expectation-maximisation).
    pub lambda: f64,
    /// Prior log-odds, per corpus, that a suspect record and a record of the corpus drawn at
    /// random are one person: the matches expected there over all the pairs there could be
    /// (suspects × records), as splink's `probability_two_random_records_match`. Scores use it,
    /// so a match against a corpus of a hundred million records needs more evidence than one
    /// against a thousand, as it should.
    pub prior_bits: Vec<f64>,
}

impl Model {
    /// A model seeded by hand-set values, with `u` counted on random pairs (`random[slot]`), for
    /// candidates in `corpora` corpora.
    pub fn new(comparisons: &[Comparison], random: &[Counts], corpora: usize) -> Model {
        let m: Vec<Vec<f64>> = comparisons
            .iter()
            .map(|&comparison| seeds(comparison).0.to_vec())
            .collect();
        let u = comparisons
            .iter()
            .zip(random)
            .map(|(&comparison, counts)| u_of(comparison, counts))
            .collect();
        let mut model = Model {
            comparisons: comparisons.to_vec(),
            m,
            u,
            bits: Vec::new(),
            lambda: PRIOR_MATCH_SHARE,
            prior_bits: vec![(PRIOR_MATCH_SHARE / (1.0 - PRIOR_MATCH_SHARE)).log2(); corpora],
        };
        model.refresh();
        model
    }

    fn refresh(&mut self) {
        self.bits = self
            .u
            .iter()
            .zip(&self.m)
            .map(|(u, m)| {
                m.iter()
                    .zip(u)
                    .map(|(m, u)| (m.max(FLOOR) / u.max(FLOOR)).log2())
                    .collect()
            })
            .collect();
    }

    /// Weight in bits of one level of one slot.
    pub fn weight(&self, slot: u16, level: u8) -> f64 {
        self.bits[usize::from(slot)]
            .get(usize::from(level))
            .copied()
            .unwrap_or(0.0)
    }

    /// Evidence of a pair in bits: log2(m/u) summed over its known comparisons.
    pub fn bits(&self, slots: &[u16], levels: &[u8]) -> f64 {
        slots
            .iter()
            .zip(levels)
            .filter(|(_, level)| **level != UNKNOWN)
            .map(|(&slot, &level)| self.weight(slot, level))
            .sum()
    }

    /// Posterior match probability of a pair of `corpus` with `bits` of evidence, under the
    /// prior that two records drawn at random are one person ([`Model::prior_bits`]).
    pub fn probability(&self, corpus: usize, bits: f64) -> f64 {
        posterior(bits + self.prior_bits[corpus])
    }

    /// Posterior match probability of a candidate pair, under the share of candidate pairs that
    /// match (what expectation-maximisation weighs pairs by).
    fn candidate_probability(&self, bits: f64) -> f64 {
        posterior(bits + (self.lambda / (1.0 - self.lambda)).log2())
    }

    /// Estimates `m` and λ by expectation-maximisation over candidate pairs, each given as
    /// (corpus, its suspect's slots, its levels), `u` held fixed; then each corpus's prior from
    /// the matches expected there, out of `suspects` × its `records[corpus]` pairs.
    pub fn estimate(&mut self, pairs: &[(usize, &[u16], &[u8])], suspects: usize, records: &[u64]) {
        if pairs.is_empty() {
            return;
        }
        // A large set trains on an even sample of its pairs: the parameters are a few dozen
        // probabilities, which 200,000 pairs fix to three decimals.
        let step = pairs.len().div_ceil(TRAINING_PAIRS);
        let training: Vec<(usize, &[u16], &[u8])> = pairs.iter().step_by(step).copied().collect();
        for _ in 0..ROUNDS {
            let (counts, matched) = self.expected_counts(&training);
            for ((m, counts), &comparison) in self.m.iter_mut().zip(&counts).zip(&self.comparisons) {
                let seed = seeds(comparison).0;
                for (level, m) in m.iter_mut().enumerate() {
                    let seen = counts.by_level.get(level).copied().unwrap_or(0.0);
                    *m = (seen + PRIOR_PAIRS * seed[level]) / (counts.total + PRIOR_PAIRS);
                }
            }
            self.refresh();
            let lambda = (matched + PRIOR_PAIRS * PRIOR_MATCH_SHARE) / (training.len() as f64 + PRIOR_PAIRS);
            let lambda = lambda.clamp(FLOOR, 1.0 - 1e-6);
            let change = (lambda - self.lambda).abs();
            self.lambda = lambda;
            if change < CONVERGED {
                break;
            }
        }
        let expected = pairs
            .par_chunks(CHUNK)
            .map(|chunk| {
                let mut expected = vec![0.0; records.len()];
                for &(corpus, slots, levels) in chunk {
                    expected[corpus] += self.candidate_probability(self.bits(slots, levels));
                }
                expected
            })
            .collect::<Vec<_>>()
            .into_iter()
            .fold(vec![0.0; records.len()], |mut total, chunk| {
                total.iter_mut().zip(chunk).for_each(|(total, part)| *total += part);
                total
            });
        self.prior_bits = expected
            .iter()
            .zip(records)
            .map(|(&matches, &records)| {
                // At least one match is allowed for: a set of one record may well have one.
                let share = (matches.max(1.0) / (suspects.max(1) as f64 * records.max(1) as f64)).min(0.5);
                (share / (1.0 - share)).log2()
            })
            .collect();
    }

    /// The E-step: level counts per slot weighted by each pair's match probability, and their
    /// sum. Chunks are counted in parallel and added in chunk order, so the sums (and the
    /// report) are the same on any number of threads.
    fn expected_counts(&self, pairs: &[(usize, &[u16], &[u8])]) -> (Vec<Counts>, f64) {
        let empty = || (vec![Counts::default(); self.m.len()], 0.0);
        pairs
            .par_chunks(CHUNK)
            .map(|chunk| {
                let (mut counts, mut matched) = empty();
                for &(_, slots, levels) in chunk {
                    let weight = self.candidate_probability(self.bits(slots, levels));
                    matched += weight;
                    for (&slot, &level) in slots.iter().zip(levels) {
                        let size = self.m[usize::from(slot)].len();
                        counts[usize::from(slot)].add(level, weight, size);
                    }
                }
                (counts, matched)
            })
            .collect::<Vec<_>>()
            .into_iter()
            .fold(empty(), |(mut counts, matched), (chunk, chunk_matched)| {
                counts
                    .iter_mut()
                    .zip(&chunk)
                    .for_each(|(total, part)| total.merge(part));
                (counts, matched + chunk_matched)
            })
    }
}

fn posterior(log_odds_bits: f64) -> f64 {
    1.0 / (1.0 + (-log_odds_bits).exp2())
}

/// `u` of one comparison from its level counts over random pairs: the mean of its posterior
/// with the seed as a Dirichlet prior worth [`U_PRIOR_PAIRS`] pairs, so a few pairs (a small
/// corpus's, which may hold a true match) do not decide alone, and a level seen more often is
/// never rarer than one seen less.
fn u_of(comparison: Comparison, counts: &Counts) -> Vec<f64> {
    let seeds = seeds(comparison).1;
    let mut u: Vec<f64> = seeds
        .iter()
        .enumerate()
        .map(|(level, seed)| {
            let seen = counts.by_level.get(level).copied().unwrap_or(0.0);
            (seen + U_PRIOR_PAIRS * seed) / (counts.total + U_PRIOR_PAIRS)
        })
        .collect();
    let total: f64 = u.iter().sum();
    u.iter_mut().for_each(|u| *u /= total);
    u
}

/// Level counts of one comparison over pairs.
#[derive(Clone, Debug, Default)]
pub struct Counts {
    pub by_level: Vec<f64>,
    pub total: f64,
}

impl Counts {
    /// Adds another count of the same comparison.
    pub fn merge(&mut self, other: &Counts) {
        if self.by_level.len() < other.by_level.len() {
            self.by_level.resize(other.by_level.len(), 0.0);
        }
        for (mine, theirs) in self.by_level.iter_mut().zip(&other.by_level) {
            *mine += theirs;
        }
        self.total += other.total;
    }

    pub fn add(&mut self, level: u8, weight: f64, levels: usize) {
        if level == UNKNOWN || usize::from(level) >= levels {
            return;
        }
        if self.by_level.len() < levels {
            self.by_level.resize(levels, 0.0);
        }
        self.by_level[usize::from(level)] += weight;
        self.total += weight;
    }
}

/// The table of slots of one suspect set: each distinct (field name, comparison) gets an index.
#[derive(Default)]
pub struct Slots {
    index: HashMap<Slot, u16>,
    pub comparisons: Vec<Comparison>,
}

impl Slots {
    /// The index of a slot, made on first sight. A set of more field names than slots (65,535,
    /// less one per kind of comparison) shares one slot per kind of comparison, `*`, among the
    /// names past the limit.
    pub fn of(&mut self, label: &str, comparison: Comparison) -> u16 {
        const OVERFLOW: usize = u16::MAX as usize - 16;
        let label = if self.comparisons.len() >= OVERFLOW && !self.index.contains_key(&(label.to_string(), comparison))
        {
            "*"
        } else {
            label
        };
        if let Some(&slot) = self.index.get(&(label.to_string(), comparison)) {
            return slot;
        }
        let slot = self.comparisons.len() as u16;
        self.index.insert((label.to_string(), comparison), slot);
        self.comparisons.push(comparison);
        slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pairs drawn from a known model: EM recovers λ and m near the truth from the pairs alone.
    #[test]
    fn expectation_maximisation_recovers_known_parameters() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let slots = [Comparison::PersonName, Comparison::DateOfBirth, Comparison::Postcode];
        // True m (of matches) and u (of non-matches) per level.
        let m: [&[f64]; 3] = [
            &[0.01, 0.01, 0.03, 0.05, 0.10, 0.80],
            &[0.01, 0.01, 0.02, 0.10, 0.86],
            &[0.10, 0.10, 0.80],
        ];
        let u: [&[f64]; 3] = [
            &[0.80, 0.12, 0.05, 0.02, 0.005, 0.005],
            &[0.6, 0.2, 0.19, 0.005, 0.005],
            &[0.9, 0.05, 0.05],
        ];
        let draw = |rng: &mut rand::rngs::StdRng, probabilities: &[f64]| -> u8 {
            let mut left: f64 = rng.random();
            for (level, p) in probabilities.iter().enumerate() {
                if left < *p {
                    return level as u8;
                }
                left -= p;
            }
            (probabilities.len() - 1) as u8
        };
        let mut candidate_levels = Vec::new();
        for pair in 0..20_000 {
            let matched = pair % 4 == 0; // λ = 0.25
            let table = if matched { &m } else { &u };
            candidate_levels.push([0, 1, 2].map(|slot| draw(&mut rng, table[slot])));
        }
        let mut random = vec![Counts::default(); 3];
        for _ in 0..20_000 {
            for slot in 0..3 {
                random[slot].add(draw(&mut rng, u[slot]), 1.0, u[slot].len());
            }
        }
        let mut model = Model::new(&slots, &random, 1);
        let slot_ids = [0u16, 1, 2];
        let pairs: Vec<(usize, &[u16], &[u8])> = candidate_levels
            .iter()
            .map(|levels| (0, &slot_ids[..], &levels[..]))
            .collect();
        model.estimate(&pairs, 20_000, &[1_000_000]);
        assert!((model.lambda - 0.25).abs() < 0.02, "λ {}", model.lambda);
        for (slot, truths) in m.iter().enumerate() {
            for (level, truth) in truths.iter().enumerate() {
                let learned = model.m[slot][level];
                assert!(
                    (learned - truth).abs() < 0.03,
                    "slot {slot} level {level}: m {learned} against {truth}"
                );
            }
        }
        // More agreement is more evidence, and the posterior follows it.
        let strong = model.bits(&slot_ids, &[5, 4, 2]);
        let weak = model.bits(&slot_ids, &[0, 0, 0]);
        assert!(strong > 10.0 && weak < -5.0, "{strong} {weak}");
        assert!(model.candidate_probability(strong) > 0.99 && model.candidate_probability(weak) < 0.01);
        // A level seen more often among random pairs is never rarer.
        let mut once = Counts::default();
        let mut twice = Counts::default();
        for counts in [&mut once, &mut twice] {
            (0..10_000).for_each(|_| counts.add(0, 1.0, 3));
        }
        once.add(2, 1.0, 3);
        (0..2).for_each(|_| twice.add(2, 1.0, 3));
        let never = u_of(
            Comparison::Postcode,
            &Counts {
                by_level: vec![10_000.0, 0.0, 0.0],
                total: 10_000.0,
            },
        );
        let (once, twice) = (u_of(Comparison::Postcode, &once), u_of(Comparison::Postcode, &twice));
        assert!(never[2] < once[2] && once[2] < twice[2], "{never:?} {once:?} {twice:?}");
        // A larger corpus asks for more evidence.
        let mut small = Model::new(&slots, &random, 2);
        small.estimate(&pairs, 20_000, &[1_000, 1_000_000]);
        assert!(
            small.prior_bits[0] > small.prior_bits[1] + 9.0,
            "{:?}",
            small.prior_bits
        );
        // 5,000 matches expected out of 20,000 × 1,000,000 pairs: about 22 bits against.
        assert!((model.prior_bits[0] + 21.9).abs() < 0.2, "{}", model.prior_bits[0]);
    }
}
