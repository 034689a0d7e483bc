//! Record matching: whole suspect records in, the indexed records they were most likely copied
//! from out, ranked, each with a score, the comparisons that decided it and its location.
//!
//! Candidates come from the identifier and blocking-key indexes in one sorted pass each per
//! segment, as lookups do: the suspect's strong identifiers (phone, email, national ID, PAN, passport, voter ID, licence)
//! and its blocking keys (see [`crate::segment::blocking`]), so records with only a name, a date
//! and an address, or a masked ID, are found too. A blocking key that finds more than
//! [`BLOCKING_KEY_CAP`] records of a segment is skipped there: it says too little to be worth
//! scoring. Each candidate is compared field by field ([`compare`]) and scored by a
//! Fellegi–Sunter model whose weights are learned from the pairs themselves ([`model`]).

mod compare;
mod model;
mod suspect;

pub use compare::{Comparison, name_similarity};
pub use model::Model;
pub use suspect::{
    PROBLEMS_LISTED, Problems, Suspect, SuspectField, SuspectReader, read_suspects, suspects_from_fields,
    suspects_of_corpus,
};

use super::error::QueryError;
use super::index::Index;
use crate::catalog::CorpusKind;
use crate::fingerprint::{IDENTIFYING_KINDS, fingerprint};
use crate::ingest::Validity;
use crate::ingest::person::{NamePart, name_part};
use crate::segment::SegmentError;
use crate::segment::blocking::BlockingFields;
use compare::{Candidate, Prepared, UNKNOWN};
use model::{Counts, Slots};
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::HashMap;

/// Records of one segment a blocking key may find before it is skipped there (a common name in
/// a large district): a key shared by more says too little to be worth scoring, and the
/// suspect's other keys still find its source.
pub const BLOCKING_KEY_CAP: usize = 16;
/// Records of one segment an identifier may find before it is skipped there: a value that
/// thousands of records share is a placeholder (`0000000000`, `test@test.com`), not a person's.
pub const IDENTIFIER_CAP: usize = 1024;

#[derive(Clone, Debug)]
pub struct MatchOptions {
    /// Matches scoring below this (0 to 1) are not returned.
    pub threshold: f64,
    /// Most matches returned per suspect record (attribution wants them all: `usize::MAX`).
    pub limit: usize,
    /// Most candidates scored per suspect record (those found by the most keys first).
    pub max_candidates: usize,
}

impl Default for MatchOptions {
    fn default() -> Self {
        MatchOptions {
            threshold: 0.5,
            limit: 5,
            max_candidates: 64,
        }
    }
}

/// What one comparison of a match said.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldEvidence {
    /// The suspect's field (or `name` for a name in several fields).
    pub field: String,
    /// The level it reached, in words (`the same`, `one character apart`).
    pub level: &'static str,
    /// Its weight: log2 of how much likelier this level is for one person than for two.
    pub bits: f64,
}

/// An indexed record matched to a suspect record.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecordMatch<'a> {
    pub corpus: &'a str,
    pub file: &'a str,
    /// The record's ordinal in its file (as `show` takes it).
    pub record: u64,
    pub line: u64,
    pub offset: u64,
    /// Posterior match probability under the learned model and the corpus's prior, 0 to 1.
    /// Matches are ordered by `bits`, not by this: see [`Model::prior_bits`].
    pub score: f64,
    /// Evidence in bits: log2 of the likelihood ratio of "one person" against "two people",
    /// summed over the comparisons (before the prior).
    pub bits: f64,
    /// Names of the suspect's fields that agree / disagree with this record.
    pub agreeing: Vec<String>,
    pub disagreeing: Vec<String>,
    /// Every comparison that could be told, strongest first.
    pub evidence: Vec<FieldEvidence>,
    #[serde(skip)]
    pub segment: usize,
    #[serde(skip)]
    pub record_number: u64,
    /// Share of the suspect's field kinds this record has too.
    #[serde(skip)]
    pub mirror: f64,
}

/// The keys that find candidates for a suspect record, as (fingerprint, is a blocking key).
fn candidate_keys(suspect: &Suspect, key: &[u8; 16]) -> Vec<(u64, bool)> {
    let mut keys: Vec<(u64, bool)> = suspect
        .fields
        .iter()
        .filter(|field| IDENTIFYING_KINDS.contains(&field.kind) && field.validity == Validity::Valid)
        .map(|field| (fingerprint(key, field.kind, &field.value), false))
        .collect();
    let mut blocking = Vec::new();
    BlockingFields::new(suspect.fields.iter().map(|field| {
        (
            0,
            name_part(&field.name),
            field.kind,
            field.validity,
            field.value.as_str(),
        )
    }))
    .keys(key, &mut blocking);
    keys.extend(blocking.into_iter().map(|(fingerprint, _)| (fingerprint, true)));
    keys
}

/// A candidate pair: a suspect record beside an indexed record, with its comparison levels.
struct Pair {
    suspect: u32,
    segment: u32,
    record: u32,
    /// Where its levels start in the set's level array (as many as the suspect's comparisons).
    levels: usize,
    mirror: f64,
}

/// Matches every suspect record against the index; one list per suspect, best first.
pub fn match_records<'a>(
    index: &'a Index,
    suspects: &[Suspect],
    options: &MatchOptions,
) -> Result<Vec<Vec<RecordMatch<'a>>>, QueryError> {
    let key = index.key();
    // (fingerprint, probe) sorted, probe = (suspect, is a blocking key): every segment answers
    // the whole set in one pass.
    let mut probes: Vec<(u64, u32, bool)> = suspects
        .par_iter()
        .enumerate()
        .flat_map_iter(|(position, suspect)| {
            candidate_keys(suspect, &key)
                .into_iter()
                .map(move |(fingerprint, blocking)| (fingerprint, position as u32, blocking))
        })
        .collect();
    probes.par_sort_unstable();
    probes.dedup_by_key(|(fingerprint, suspect, _)| (*fingerprint, *suspect));
    // Identifiers are probed in the identifier index, blocking keys in the blocking-key index;
    // each list stays sorted, and a probe's hits stay together.
    let sorted = |blocking: bool| -> Vec<(u64, u32)> {
        probes
            .iter()
            .enumerate()
            .filter(|(_, probe)| probe.2 == blocking)
            .map(|(probe, &(fingerprint, _, _))| (fingerprint, probe as u32))
            .collect()
    };
    let (identifiers, blocking_keys) = (sorted(false), sorted(true));
    // Every blocking index loaded (fetched, for a segment served from object storage) before
    // the parallel pass, so that a failure is this call's error.
    for indexed in &index.segments {
        indexed.segment.blocking()?;
    }
    // (suspect, segment, record, what found it: 2 an identifier, 1 a blocking key), with repeats
    // where several keys found the same record.
    let found: Vec<Vec<(u32, u32, u32, u8)>> = index
        .segments
        .par_iter()
        .enumerate()
        // A suspect sample ingested for safekeeping is not a source of itself.
        .filter(|(_, indexed)| indexed.kind != CorpusKind::Suspect)
        .map(|(segment, indexed)| -> Result<_, SegmentError> {
            let mut hits: Vec<(u32, u32)> = Vec::new();
            let blocking = indexed.segment.blocking().ok();
            if let Some(blocking) = blocking {
                blocking.read_ahead_for(blocking_keys.len());
            }
            indexed
                .segment
                .probe_identifiers(&identifiers, |probe, entry| hits.push((probe, entry.record)))?;
            if let Some(blocking) = blocking {
                blocking.probe_sorted(&blocking_keys, |probe, entry| hits.push((probe, entry.record)));
            }
            let mut kept = Vec::with_capacity(hits.len());
            for run in hits.chunk_by(|a, b| a.0 == b.0) {
                let (_, suspect, blocking) = probes[run[0].0 as usize];
                if run.len() > if blocking { BLOCKING_KEY_CAP } else { IDENTIFIER_CAP } {
                    continue;
                }
                let strength = if blocking { 1 } else { 2 };
                kept.extend(
                    run.iter()
                        .map(|&(_, record)| (suspect, segment as u32, record, strength)),
                );
            }
            Ok(kept)
        })
        .collect::<Result<_, SegmentError>>()?;
    let mut found = found.concat();
    found.par_sort_unstable();
    // Group by suspect.
    let mut starts = vec![0usize; suspects.len() + 1];
    for &(suspect, _, _, _) in &found {
        starts[suspect as usize + 1] += 1;
    }
    for position in 0..suspects.len() {
        starts[position + 1] += starts[position];
    }
    // (segment, record, suspect) of every candidate, in record order: comparing reads each
    // record's values, and a thread reading records in order decompresses each record block
    // once for all the suspects that need it, not once per candidate.
    let mut candidates: Vec<(u32, u32, u32)> = (0..suspects.len())
        .into_par_iter()
        .flat_map_iter(|position| {
            select_candidates(&found[starts[position]..starts[position + 1]], options)
                .into_iter()
                .map(move |(segment, record)| (segment, record, position as u32))
        })
        .collect();
    candidates.par_sort_unstable();
    let prepared: Vec<Prepared<'_>> = suspects.par_iter().map(Prepared::new).collect();
    let mut slots = Slots::default();
    let slots_of: Vec<Vec<u16>> = prepared
        .iter()
        .map(|suspect| {
            suspect
                .comparisons
                .iter()
                .map(|comparison| slots.of(&comparison.label, comparison.comparison))
                .collect()
        })
        .collect();
    let compared: Vec<(Vec<Pair>, Vec<u8>)> = candidates
        .par_chunks(SCORED_TOGETHER)
        .map(|chunk| {
            let mut pairs = Vec::with_capacity(chunk.len());
            let mut levels = Vec::new();
            let mut scratch = Vec::new();
            // Suspects that share a candidate record share its reading.
            for run in chunk.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
                let (segment, record, _) = run[0];
                with_candidate(index, segment, u64::from(record), |candidate| {
                    for &(_, _, suspect) in run {
                        let prepared = &prepared[suspect as usize];
                        compare::levels(prepared, candidate, &mut scratch);
                        pairs.push(Pair {
                            suspect,
                            segment,
                            record,
                            levels: levels.len(),
                            mirror: prepared.mirror(candidate),
                        });
                        levels.extend_from_slice(&scratch);
                    }
                });
            }
            (pairs, levels)
        })
        .collect();
    // One array of levels for the whole set.
    let mut pairs = Vec::with_capacity(candidates.len());
    let mut levels: Vec<u8> = Vec::new();
    for (chunk_pairs, chunk_levels) in compared {
        let base = levels.len();
        pairs.extend(chunk_pairs.into_iter().map(|pair| Pair {
            levels: base + pair.levels,
            ..pair
        }));
        levels.extend_from_slice(&chunk_levels);
    }
    let pair_levels = |pair: &Pair| -> &[u8] {
        let count = slots_of[pair.suspect as usize].len();
        &levels[pair.levels..pair.levels + count]
    };
    let (corpora, corpus_of_segment) = corpora_of(index, &pairs);
    let by_corpus: Vec<Vec<Counts>> = corpora
        .par_iter()
        .map(|corpus| random_pair_counts(index, corpus, &prepared, &slots_of, &slots, &candidates))
        .collect();
    let mut random = vec![Counts::default(); slots.comparisons.len()];
    for counts in &by_corpus {
        for (pooled, counts) in random.iter_mut().zip(counts) {
            pooled.merge(counts);
        }
    }
    let records: Vec<u64> = corpora
        .iter()
        .map(|corpus| {
            index
                .segments
                .iter()
                .filter(|indexed| indexed.corpus == *corpus)
                .map(|indexed| indexed.segment.manifest.records)
                .sum()
        })
        .collect();
    let mut model = Model::new(&slots.comparisons, &random, corpora.len());
    let candidate_pairs: Vec<(usize, &[u16], &[u8])> = pairs
        .iter()
        .map(|pair| {
            (
                corpus_of_segment[pair.segment as usize],
                &slots_of[pair.suspect as usize][..],
                pair_levels(pair),
            )
        })
        .collect();
    model.estimate(&candidate_pairs, suspects.len(), &records);
    // The locations matches will name, fetched per segment in one go where they are read by
    // range (not a request per match).
    for (number, indexed) in index.segments.iter().enumerate() {
        let mut records: Vec<u64> = pairs
            .iter()
            .filter(|pair| pair.segment as usize == number)
            .map(|pair| u64::from(pair.record))
            .collect();
        records.sort_unstable();
        indexed.segment.fetch_locations(records)?;
    }
    let scored: Result<Vec<(u32, RecordMatch<'a>)>, SegmentError> = pairs
        .par_iter()
        .zip(&candidate_pairs)
        .filter_map(|(pair, &(corpus, slots, pair_levels))| {
            let suspect = &prepared[pair.suspect as usize];
            if !compare::anchored(suspect, pair_levels) {
                return None;
            }
            let bits = model.bits(slots, pair_levels);
            let score = model.probability(corpus, bits);
            if score < options.threshold {
                return None;
            }
            let weights: Vec<f64> = slots
                .iter()
                .zip(pair_levels)
                .map(|(&slot, &level)| model.weight(slot, level))
                .collect();
            Some(
                record_match(index, suspect, pair, pair_levels, &weights, bits, score)
                    .map(|found| (pair.suspect, found)),
            )
        })
        .collect();
    let mut scored = scored?;
    // By suspect, each list best first (ties in record order).
    scored.par_sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| rank_key(&b.1).total_cmp(&rank_key(&a.1)))
            .then_with(|| b.1.mirror.total_cmp(&a.1.mirror))
            .then_with(|| (a.1.segment, a.1.record_number).cmp(&(b.1.segment, b.1.record_number)))
    });
    let mut matches: Vec<Vec<RecordMatch<'a>>> = (0..suspects.len()).map(|_| Vec::new()).collect();
    for (suspect, found) in scored {
        matches[suspect as usize].push(found);
    }
    let mut matches = break_ties(matches);
    for list in &mut matches {
        list.truncate(options.limit);
    }
    Ok(matches)
}

/// Reads one indexed record's values and makes them ready for comparison ([`Candidate`]) once,
/// for every suspect that `visit` compares with it.
fn with_candidate<R>(index: &Index, segment_index: u32, record: u64, visit: impl FnOnce(&Candidate<'_>) -> R) -> R {
    let indexed = &index.segments[segment_index as usize];
    let (segment, field_parts) = (&indexed.segment, &indexed.name_parts);
    segment.with_values(record, crate::segment::store::MAX_VALUE_BYTES, |values| {
        let mut parts = Vec::new();
        let values = values
            .filter_map(|(field, _, value)| {
                let info = segment.field(field)?;
                parts.push(field_parts.get(field as usize).copied().unwrap_or(NamePart::Full));
                Some((info.name.as_str(), info.kind, value))
            })
            .collect();
        visit(&Candidate::with_parts(values, &parts))
    })
}

/// Random pairs counted per corpus for `u`: records drawn in runs of [`RANDOM_RUN`] (within a few
/// record blocks), each beside [`SUSPECTS_PER_RECORD`] suspects drawn at random.
const RANDOM_RECORDS: usize = 2048;
const RANDOM_RUN: u64 = 64;
const SUSPECTS_PER_RECORD: usize = 8;

/// The corpora that hold candidates, in name order, and each segment's place among them.
fn corpora_of<'i>(index: &'i Index, pairs: &[Pair]) -> (Vec<&'i str>, Vec<usize>) {
    let mut corpora: Vec<&str> = pairs
        .iter()
        .map(|pair| index.segments[pair.segment as usize].corpus.as_str())
        .collect();
    corpora.sort_unstable();
    corpora.dedup();
    let of_segment = index
        .segments
        .iter()
        .map(|indexed| corpora.binary_search(&indexed.corpus.as_str()).unwrap_or(0))
        .collect();
    (corpora, of_segment)
}

/// Level counts per slot over random pairs of `corpus` that are not among the `candidates`
/// ((segment, record, suspect), sorted). Drawn with a fixed seed: the same input always gives
/// the same model and report.
fn random_pair_counts(
    index: &Index,
    corpus: &str,
    prepared: &[Prepared<'_>],
    slots_of: &[Vec<u16>],
    slots: &Slots,
    candidates: &[(u32, u32, u32)],
) -> Vec<Counts> {
    let mut counts = vec![Counts::default(); slots.comparisons.len()];
    let segments: Vec<usize> = (0..index.segments.len())
        .filter(|&segment| {
            index.segments[segment].corpus == corpus && index.segments[segment].segment.manifest.records > 0
        })
        .collect();
    let total: u64 = segments
        .iter()
        .map(|&segment| index.segments[segment].segment.manifest.records)
        .sum();
    if total == 0 || prepared.is_empty() {
        return counts;
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x006c_6561_6b64_6578);
    // (segment, record) drawn: every record of a small corpus once, else runs at random places.
    let mut drawn: Vec<(usize, u64)> = Vec::new();
    if total <= RANDOM_RECORDS as u64 {
        for &segment in &segments {
            drawn.extend((0..index.segments[segment].segment.manifest.records).map(|record| (segment, record)));
        }
    } else {
        for _ in 0..RANDOM_RECORDS as u64 / RANDOM_RUN {
            let mut at = rng.random_range(0..total);
            for &segment in &segments {
                let records = index.segments[segment].segment.manifest.records;
                if at >= records {
                    at -= records;
                    continue;
                }
                let start = at.min(records.saturating_sub(RANDOM_RUN));
                drawn.extend((start..(start + RANDOM_RUN).min(records)).map(|record| (segment, record)));
                break;
            }
        }
    }
    let mut scratch = Vec::new();
    for (segment, record) in drawn {
        let suspects: Vec<usize> = if prepared.len() <= SUSPECTS_PER_RECORD {
            (0..prepared.len()).collect()
        } else {
            (0..SUSPECTS_PER_RECORD)
                .map(|_| rng.random_range(0..prepared.len()))
                .collect()
        };
        with_candidate(index, segment as u32, record, |candidate| {
            for suspect in suspects {
                // A pair that blocking found may be a true match: in a small corpus, one such
                // pair among the random ones would make an agreement look common.
                if candidates
                    .binary_search(&(segment as u32, record as u32, suspect as u32))
                    .is_ok()
                {
                    continue;
                }
                compare::levels(&prepared[suspect], candidate, &mut scratch);
                for (&slot, &level) in slots_of[suspect].iter().zip(&scratch) {
                    let size = slots.comparisons[usize::from(slot)].levels().len();
                    counts[usize::from(slot)].add(level, 1.0, size);
                }
            }
        });
    }
    counts
}

/// The match of a scored pair, with its evidence (`weights`: bits per comparison).
fn record_match<'a>(
    index: &'a Index,
    suspect: &Prepared<'_>,
    pair: &Pair,
    levels: &[u8],
    weights: &[f64],
    bits: f64,
    score: f64,
) -> Result<RecordMatch<'a>, SegmentError> {
    let indexed = &index.segments[pair.segment as usize];
    let segment = &indexed.segment;
    let location = segment.location(u64::from(pair.record))?;
    let fields = &suspect.suspect.fields;
    let mut evidence = Vec::new();
    let (mut agreeing, mut disagreeing) = (Vec::new(), Vec::new());
    for ((comparison, &weight), &level) in suspect.comparisons.iter().zip(weights).zip(levels) {
        if level == UNKNOWN {
            continue;
        }
        let names = comparison
            .fields
            .iter()
            .map(|&position| fields[usize::from(position)].name.clone());
        if weight > 0.0 {
            agreeing.extend(names);
        } else if weight < 0.0 {
            disagreeing.extend(names);
        }
        evidence.push(FieldEvidence {
            field: comparison.label.clone(),
            level: comparison.comparison.levels()[usize::from(level)],
            bits: weight,
        });
    }
    evidence.sort_by(|a, b| b.bits.abs().total_cmp(&a.bits.abs()));
    Ok(RecordMatch {
        corpus: &indexed.corpus,
        file: segment.file_path(location.file),
        record: location.ordinal,
        line: location.line,
        offset: location.offset,
        score,
        bits,
        agreeing,
        disagreeing,
        evidence,
        segment: pair.segment as usize,
        record_number: u64::from(pair.record),
        mirror: pair.mirror,
    })
}

/// Candidates scored by one task, in record order (a few record blocks' worth of reads).
const SCORED_TOGETHER: usize = 2048;

/// The distinct records that a suspect's keys found (`hits`: (suspect, segment, record,
/// strength), sorted, with repeats where several keys found one record), at most
/// `max_candidates` of them, the best found first. Blocking passes run from the most selective,
/// as record-linkage pipelines run deterministic rules before probabilistic ones: when some
/// record is found by an identifier or by two keys, records that a single blocking key found
/// (a namesake in the same postcode) are left out; when none is, they are all the suspect has.
fn select_candidates(hits: &[(u32, u32, u32, u8)], options: &MatchOptions) -> Vec<(u32, u32)> {
    let mut candidates: Vec<((u32, u32), usize)> = Vec::new();
    for &(_, segment, record, strength) in hits {
        match candidates.last_mut() {
            Some((last, found)) if *last == (segment, record) => *found += usize::from(strength),
            _ => candidates.push(((segment, record), usize::from(strength))),
        }
    }
    if candidates.iter().any(|(_, found)| *found >= 2) {
        candidates.retain(|(_, found)| *found >= 2);
    }
    if candidates.len() > options.max_candidates {
        candidates.sort_by_key(|(_, found)| std::cmp::Reverse(*found));
        candidates.truncate(options.max_candidates);
    }
    candidates.into_iter().map(|(candidate, _)| candidate).collect()
}

/// Evidence: the order of a suspect's matches (between records of equal evidence, the one whose
/// fields the suspect mirrors comes first, then the batch's majority: see [`break_ties`]). Not
/// the score: its prior favours the corpus that holds more of the set, which says nothing of
/// which record this one was copied from.
fn rank_key(found: &RecordMatch<'_>) -> f64 {
    found.bits
}

/// Where the best matches of a suspect record are tied (copies of one record that differ in
/// nothing the suspect shows, not even in which of its fields they hold), the corpus that the
/// rest of the set points to comes first: a sample is usually copied from one source.
fn break_ties(mut matches: Vec<Vec<RecordMatch<'_>>>) -> Vec<Vec<RecordMatch<'_>>> {
    let same = |a: &RecordMatch<'_>, b: &RecordMatch<'_>| {
        (rank_key(a) - rank_key(b)).abs() < 1e-9 && (a.mirror - b.mirror).abs() < 1e-9
    };
    let tied = |list: &[RecordMatch<'_>]| list.len() > 1 && same(&list[0], &list[1]);
    let mut votes: HashMap<String, usize> = HashMap::new();
    for list in &matches {
        if let Some(best) = list.first().filter(|_| !tied(list)) {
            *votes.entry(best.corpus.to_string()).or_default() += 1;
        }
    }
    for list in matches.iter_mut() {
        if tied(list) {
            let end = list.iter().take_while(|found| same(found, &list[0])).count();
            list[..end].sort_by_key(|found| std::cmp::Reverse(votes.get(found.corpus).copied().unwrap_or(0)));
        }
    }
    matches
}
