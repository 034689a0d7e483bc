//! Record matching: whole suspect records in, the indexed records they were most likely copied
//! from out, ranked, each with a score, the fields that agree and disagree, and its location.
//!
//! Candidates come from the hash index in one sorted pass per segment, as lookups do: the
//! suspect's strong identifiers (phone, email, full national ID, PAN, passport, voter ID,
//! licence) and its blocking keys (see [`crate::segment::blocking`]), so records with only a name,
//! a date and an address, or a masked ID, are found too. Each candidate is then scored from the
//! segment's value store by field agreement ([`score`]).

mod score;
mod suspect;

pub use score::{Evidence, name_similarity};
pub use suspect::{Suspect, SuspectField, read_suspects, suspects_from_fields, suspects_of_corpus};

use super::lookup::{Index, QueryError};
use crate::catalog::CorpusKind;
use crate::ingest::{Kind, Validity};
use crate::segment::blocking::BlockingFields;
use crate::segment::{IDENTIFYING_KINDS, fingerprint};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::HashMap;

/// Evidence (bits) at which a candidate scores 0.5.
const PRIOR_BITS: f64 = 6.0;

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
            max_candidates: 256,
        }
    }
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
    /// Match probability under the scoring model, 0 to 1.
    pub score: f64,
    /// Names of the suspect's fields that agree / disagree with this record.
    pub agreeing: Vec<String>,
    pub disagreeing: Vec<String>,
    #[serde(skip)]
    pub segment: usize,
    #[serde(skip)]
    pub record_number: u64,
    /// Share of the suspect's field kinds this record has too.
    #[serde(skip)]
    pub mirror: f64,
    #[serde(skip)]
    pub bits: f64,
}

/// A suspect record made ready for matching: normalized name words and field kinds.
pub struct Prepared<'a> {
    fields: &'a [SuspectField],
    name_words: Vec<String>,
    kinds: Vec<Kind>,
}

impl<'a> Prepared<'a> {
    fn new(suspect: &'a Suspect) -> Prepared<'a> {
        let name_words = suspect
            .fields
            .iter()
            .find(|field| field.kind == Kind::Name)
            .map(|field| field.words.clone())
            .unwrap_or_default();
        let mut kinds: Vec<Kind> = suspect.fields.iter().map(|field| field.kind).collect();
        kinds.sort_unstable();
        kinds.dedup();
        Prepared {
            fields: &suspect.fields,
            name_words,
            kinds,
        }
    }
}

fn probability(bits: f64) -> f64 {
    1.0 / (1.0 + (PRIOR_BITS - bits).exp2())
}

/// The keys that find candidates for a suspect record, as fingerprints.
fn candidate_keys(suspect: &Suspect, key: &[u8; 16], out: &mut Vec<(u64, u32)>) {
    for field in &suspect.fields {
        if IDENTIFYING_KINDS.contains(&field.kind) && field.validity == Validity::Valid {
            out.push((fingerprint(key, field.kind, &field.value), 0));
        }
    }
    BlockingFields::new(
        suspect
            .fields
            .iter()
            .map(|field| (0, field.kind, field.validity, field.value.as_str())),
    )
    .keys(key, out);
}

/// Matches every suspect record against the index; one list per suspect, best first.
pub fn match_records<'a>(
    index: &'a Index,
    suspects: &[Suspect],
    options: &MatchOptions,
) -> Result<Vec<Vec<RecordMatch<'a>>>, QueryError> {
    let key = index.key();
    // (fingerprint, suspect), sorted: every segment answers the whole set in one pass.
    let mut probes: Vec<(u64, u32)> = suspects
        .par_iter()
        .enumerate()
        .flat_map_iter(|(position, suspect)| {
            let mut keys = Vec::new();
            candidate_keys(suspect, &key, &mut keys);
            keys.into_iter()
                .map(move |(fingerprint, _)| (fingerprint, position as u32))
        })
        .collect();
    probes.par_sort_unstable();
    probes.dedup();
    // (suspect, segment, record), with repeats where several keys found the same record.
    let mut found: Vec<(u32, u32, u32)> = index
        .segments
        .par_iter()
        .enumerate()
        // A suspect sample ingested for safekeeping is not a source of itself.
        .filter(|(_, indexed)| indexed.kind != CorpusKind::Suspect)
        .flat_map_iter(|(segment, indexed)| {
            let mut hits = Vec::new();
            indexed.segment.hash.probe_sorted(&probes, |suspect, entry| {
                hits.push((suspect, segment as u32, entry.record))
            });
            hits
        })
        .collect();
    found.par_sort_unstable();
    // Group by suspect.
    let mut starts = vec![0usize; suspects.len() + 1];
    for &(suspect, _, _) in &found {
        starts[suspect as usize + 1] += 1;
    }
    for position in 0..suspects.len() {
        starts[position + 1] += starts[position];
    }
    // (segment, record, suspect) of every candidate, in record order: scoring reads each
    // record's values, and a thread reading records in order decompresses each value block
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
    let mut scored: Vec<(u32, RecordMatch<'a>)> = candidates
        .par_chunks(SCORED_TOGETHER)
        .flat_map_iter(|chunk| {
            chunk.iter().filter_map(|&(segment, record, suspect)| {
                let suspect_fields = &suspects[suspect as usize];
                score_candidate(
                    index,
                    suspect_fields,
                    &prepared[suspect as usize],
                    segment,
                    record,
                    options,
                )
                .map(|found| (suspect, found))
            })
        })
        .collect();
    // By suspect, each list best first (ties in record order, as candidates were scored).
    scored.par_sort_by(|a, b| a.0.cmp(&b.0).then_with(|| rank_key(&b.1).total_cmp(&rank_key(&a.1))));
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

/// Candidates scored by one task, in record order (a few value blocks' worth of reads).
const SCORED_TOGETHER: usize = 2048;

/// The distinct records that a suspect's keys found (`hits`: (suspect, segment, record), sorted,
/// with repeats where several keys found one record), at most `max_candidates` of them: those
/// found by the most keys.
fn select_candidates(hits: &[(u32, u32, u32)], options: &MatchOptions) -> Vec<(u32, u32)> {
    let mut candidates: Vec<((u32, u32), usize)> = Vec::new();
    for &(_, segment, record) in hits {
        match candidates.last_mut() {
            Some((last, count)) if *last == (segment, record) => *count += 1,
            _ => candidates.push(((segment, record), 1)),
        }
    }
    if candidates.len() > options.max_candidates {
        candidates.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
        candidates.truncate(options.max_candidates);
    }
    candidates.into_iter().map(|(candidate, _)| candidate).collect()
}

/// Scores one candidate record for a suspect: the match, if it reaches the threshold and is
/// anchored by a strong agreement.
fn score_candidate<'a>(
    index: &'a Index,
    suspect: &Suspect,
    prepared: &Prepared<'_>,
    segment_index: u32,
    record: u32,
    options: &MatchOptions,
) -> Option<RecordMatch<'a>> {
    let indexed = &index.segments[segment_index as usize];
    let segment = &indexed.segment;
    let evidence = segment.with_values(u64::from(record), |values| {
        let values: Vec<(Kind, &str)> = values
            .filter_map(|(field, _, value)| segment.field(field).map(|info| (info.kind, value)))
            .collect();
        score::compare(prepared, &values)
    });
    let match_probability = probability(evidence.weight);
    if match_probability < options.threshold || !evidence.anchored {
        return None;
    }
    let location = segment.location(u64::from(record));
    let names = |positions: &[u16]| -> Vec<String> {
        positions
            .iter()
            .map(|&position| suspect.fields[usize::from(position)].name.clone())
            .collect()
    };
    Some(RecordMatch {
        corpus: &indexed.corpus,
        file: segment.file_path(location.file),
        record: location.ordinal,
        line: location.line,
        offset: location.offset,
        score: match_probability,
        agreeing: names(&evidence.agreeing),
        disagreeing: names(&evidence.disagreeing),
        segment: segment_index as usize,
        record_number: u64::from(record),
        mirror: evidence.mirror,
        bits: evidence.weight,
    })
}

/// Evidence first; between records of equal evidence (one person held by several corpora), the
/// one whose fields the suspect mirrors.
fn rank_key(found: &RecordMatch<'_>) -> f64 {
    found.bits + 2.0 * found.mirror
}

/// Where the best matches of a suspect record are tied (copies of one record that differ in
/// nothing the suspect shows), the corpus that the rest of the set points to comes first: a
/// sample is usually copied from one source.
fn break_ties(mut matches: Vec<Vec<RecordMatch<'_>>>) -> Vec<Vec<RecordMatch<'_>>> {
    let tied = |list: &[RecordMatch<'_>]| list.len() > 1 && (rank_key(&list[0]) - rank_key(&list[1])).abs() < 1e-9;
    let mut votes: HashMap<String, usize> = HashMap::new();
    for list in &matches {
        if let Some(best) = list.first().filter(|_| !tied(list)) {
            *votes.entry(best.corpus.to_string()).or_default() += 1;
        }
    }
    for list in matches.iter_mut() {
        if tied(list) {
            let top = rank_key(&list[0]);
            let end = list
                .iter()
                .take_while(|found| (rank_key(found) - top).abs() < 1e-9)
                .count();
            list[..end].sort_by_key(|found| std::cmp::Reverse(votes.get(found.corpus).copied().unwrap_or(0)));
        }
    }
    matches
}
