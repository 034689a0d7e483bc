//! Batch lookup: identifiers in, every (corpus, file, record, line, offset, field) that holds
//! them out. A batch is normalized in parallel, fingerprinted, sorted once, and merged against
//! each segment's sorted index in a single forward pass.

use super::index::{Index, UNKNOWN_FIELD, UNKNOWN_FILE};
use super::names::Name;
use crate::fingerprint::{INDEXED_KINDS, fingerprint};
use crate::ingest::classify::{aadhaar_shaped, value_candidates};
use crate::ingest::normalize::{Region, fold_digits, normalize, recognize_phone};
use crate::ingest::{Kind, Validity};
use crate::segment::hash::Entry;
use crate::segment::store::StoredLocation;
use crate::segment::{Segment, SegmentError};
use rayon::prelude::*;
use serde::Serialize;
use smallvec::{SmallVec, smallvec};

/// One identifier to look up; without a kind it is recognized from its shape.
#[derive(Clone, Debug)]
pub struct Query {
    pub value: String,
    pub kind: Option<Kind>,
}

impl Query {
    /// Queries for `values` whose kinds are recognized from their shape.
    pub fn detected<S: AsRef<str>>(values: &[S]) -> Vec<Query> {
        values
            .iter()
            .map(|value| Query {
                value: value.as_ref().to_string(),
                kind: None,
            })
            .collect()
    }
}

/// Where an identifier was found. Names are borrowed from the index, and are mostly interned
/// (so a served answer copies them for free): a batch of millions of hits allocates none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit<'a> {
    pub corpus: &'a Name,
    pub file: &'a Name,
    pub record: u64,
    pub line: u64,
    pub offset: u64,
    pub field: &'a Name,
    pub acquired: Option<&'a Name>,
    /// For an answer read from a server to a role that sees no locations: how many records of
    /// the corpus hold the value, the location fields then meaningless (and not written).
    pub count: Option<u64>,
}

impl Serialize for Hit<'_> {
    /// `{corpus, file, record, line, offset, field, acquired?}`, or for a count
    /// `{corpus, count, acquired?}`: a count never shows made-up locations.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("corpus", self.corpus)?;
        match self.count {
            Some(count) => map.serialize_entry("count", &count)?,
            None => {
                map.serialize_entry("file", self.file)?;
                map.serialize_entry("record", &self.record)?;
                map.serialize_entry("line", &self.line)?;
                map.serialize_entry("offset", &self.offset)?;
                map.serialize_entry("field", self.field)?;
            }
        }
        if let Some(acquired) = self.acquired {
            map.serialize_entry("acquired", acquired)?;
        }
        map.end()
    }
}

/// The answer to one query, in the order the queries came; its hits are a `Vec`, or for
/// [`lookup_batch_with`] the [`Hits`] still to be read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Answer<'a, H = Vec<Hit<'a>>> {
    pub query: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub normalized: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validity: Option<Validity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hits: Option<H>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The keyed fingerprint the lookup probed with (for the audit log, so it is not computed
    /// twice); absent for errors and for answers read back from the wire.
    #[serde(skip)]
    pub fingerprint: Option<u64>,
    /// In a cluster, the index partitions of this query's readings that no live node answered:
    /// its hits may then lack some. Empty on one node.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing_partitions: Vec<u32>,
}

impl<'a, H> Answer<'a, H> {
    /// The same answer with its hits turned into `G`.
    pub fn with_hits<G>(self, hits: impl FnOnce(H) -> G) -> Answer<'a, G> {
        Answer {
            query: self.query,
            kind: self.kind,
            normalized: self.normalized,
            validity: self.validity,
            hits: self.hits.map(hits),
            error: self.error,
            fingerprint: self.fingerprint,
            missing_partitions: self.missing_partitions,
        }
    }
}

/// The hits of one answer of [`lookup_batch_with`], read from the batch as they are iterated.
pub struct Hits<'a, 'b> {
    index: &'a Index,
    placed: std::slice::Iter<'b, (u32, Entry)>,
    locations: std::slice::Iter<'b, StoredLocation>,
}

impl<'a> Iterator for Hits<'a, '_> {
    type Item = Hit<'a>;

    fn next(&mut self) -> Option<Hit<'a>> {
        let &(segment_index, entry) = self.placed.next()?;
        let location = self.locations.next()?;
        let names = &self.index.segments[segment_index as usize].names;
        Some(Hit {
            corpus: &names.corpus,
            file: names.files.get(location.file as usize).unwrap_or(&UNKNOWN_FILE),
            record: location.ordinal,
            line: location.line,
            offset: location.offset,
            field: names.fields.get(entry.field as usize).unwrap_or(&UNKNOWN_FIELD),
            acquired: names.acquired.as_ref(),
            count: None,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.placed.size_hint()
    }
}

impl ExactSizeIterator for Hits<'_, '_> {}

/// The readings of a query: one per candidate kind.
struct Reading {
    kind: Kind,
    normalized: String,
    validity: Validity,
    fingerprint: u64,
}

/// Most values have one reading, a few two (a twelve-digit number that is a phone and an
/// Aadhaar): kept inline, so a batch of millions allocates none for them.
type Readings = SmallVec<[Reading; 2]>;

fn readings(query: &Query, key: &[u8; 16], region: Region) -> Result<Readings, String> {
    let reading = |kind: Kind, normalized: String, validity: Validity| Reading {
        kind,
        fingerprint: fingerprint(key, kind, &normalized),
        normalized,
        validity,
    };
    let value = query.value.trim();
    let mut out = String::new();
    let mut readings = Readings::new();
    // Twelve digits `91…` that are a valid phone and pass Aadhaar's check are stored as the
    // phone wherever their context allows both (issue 11, kind 10): an Aadhaar lookup of them
    // asks for the phone too, after its own reading.
    let mut also_phone = None;
    let kinds: SmallVec<[Kind; 4]> = match query.kind {
        Some(Kind::NationalId) => {
            let mut digits = value.bytes().filter(u8::is_ascii_digit);
            if digits.next() == Some(b'9')
                && digits.next() == Some(b'1')
                && aadhaar_shaped(value)
                && recognize_phone(value, region, &mut out) == Some(Validity::Valid)
            {
                also_phone = Some(reading(Kind::Phone, std::mem::take(&mut out), Validity::Valid));
            }
            smallvec![Kind::NationalId]
        }
        Some(kind) => smallvec![kind],
        // Digits with phone punctuation can only be a phone or an Aadhaar: skip the full
        // classifier (most of a large batch's time) and keep the phone as recognized, so it is
        // normalized once.
        None if value
            .bytes()
            .all(|byte| byte.is_ascii_digit() || b" +-().".contains(&byte)) =>
        {
            if recognize_phone(value, region, &mut out) == Some(Validity::Valid) {
                readings.push(reading(Kind::Phone, std::mem::take(&mut out), Validity::Valid));
            }
            if aadhaar_shaped(value) {
                smallvec![Kind::NationalId]
            } else {
                SmallVec::new()
            }
        }
        None => {
            let candidates = value_candidates(value, region);
            let mut kinds: SmallVec<[Kind; 4]> = INDEXED_KINDS
                .into_iter()
                .filter(|kind| candidates & kind.bit() != 0)
                .collect();
            if !kinds.contains(&Kind::NationalId) && aadhaar_shaped(&fold_digits(value)) {
                kinds.push(Kind::NationalId);
            }
            kinds
        }
    };
    // Nothing recognized: a plain token may still be a login name.
    let username = (3..=64).contains(&value.len())
        && value
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"._-".contains(&byte));
    let kinds = if query.kind.is_none() && readings.is_empty() && kinds.is_empty() && username {
        smallvec![Kind::Username]
    } else {
        kinds
    };
    for kind in kinds {
        let validity = normalize(kind, &query.value, region, &mut out);
        if !out.is_empty() {
            readings.push(reading(kind, std::mem::take(&mut out), validity));
        }
    }
    readings.extend(also_phone);
    if readings.is_empty() {
        return Err(match query.kind {
            Some(_) => "empty value".to_string(),
            None => "cannot tell what kind of identifier this is; give its kind".to_string(),
        });
    }
    Ok(readings)
}

/// A query's kind and normalized value as a lookup reads it (its first reading), or why it cannot
/// be read: what a caller hashes for a private lookup.
pub fn normalize_query(query: &Query, region: Region) -> Result<(Kind, String), String> {
    let mut readings = readings(query, &[0; 16], region)?;
    let first = readings.swap_remove(0);
    Ok((first.kind, first.normalized))
}

/// Looks up a batch of queries; answers come back in query order.
pub fn lookup_batch<'a>(index: &'a Index, region: Region, queries: &'a [Query]) -> Vec<Answer<'a>> {
    lookup_batch_with(index, &Local, region, queries, |_, answer| {
        answer.with_hits(Iterator::collect)
    })
}

/// What one segment holds of a batch: (probe number, entry, where its record is stored), in the
/// order a sorted pass finds them (fingerprint, then record).
pub type Found = Vec<(u32, Entry, StoredLocation)>;

/// What a [`Prober`] found of a batch.
pub struct Probed {
    /// For each of the index's segments, in its order, what it holds.
    pub found: Vec<Found>,
    /// The probe numbers that nobody could answer (a cluster's partition with no live holder),
    /// in any order: their queries are answered with [`Answer::missing_partitions`].
    pub unanswered: Vec<u32>,
}

/// Where a batch's probes are answered: the index's own segments ([`Local`]), or in a cluster
/// the nodes that hold each fingerprint's partition.
pub trait Prober: Sync {
    /// Every entry of `index`'s segments whose fingerprint is among `probes`: (fingerprint,
    /// probe number) pairs sorted by fingerprint. `parallel`: whether the batch is worth
    /// rayon's pool.
    fn probe(&self, index: &Index, probes: &[(u64, u32)], parallel: bool) -> Probed;
}

/// Probes the index's segments on this machine.
pub struct Local;

impl Prober for Local {
    /// Every probe is unanswered when a segment cannot be read (one on object storage whose
    /// storage is unreachable): its answers then say they may lack hits, never that there are
    /// none.
    fn probe(&self, index: &Index, probes: &[(u64, u32)], parallel: bool) -> Probed {
        match probe_segments(index, probes, parallel) {
            Ok(found) => Probed {
                found,
                unanswered: Vec::new(),
            },
            Err(error) => {
                tracing::warn!(%error, probes = probes.len(), "a segment could not be probed; its lookups are marked incomplete");
                Probed {
                    found: vec![Vec::new(); index.segments.len()],
                    unanswered: probes.iter().map(|&(_, probe)| probe).collect(),
                }
            }
        }
    }
}

/// What each of the index's segments holds of `probes` (sorted by fingerprint), in its order.
///
/// Errors: the first segment that cannot be probed.
pub fn probe_segments(index: &Index, probes: &[(u64, u32)], parallel: bool) -> Result<Vec<Found>, SegmentError> {
    map_batch(&index.segments, parallel, |indexed| {
        probe_segment(&indexed.segment, probes)
    })
    .into_iter()
    .collect()
}

/// What `segment` holds of `probes` (sorted by fingerprint): one forward pass over its index.
///
/// Errors: a segment on object storage cannot fetch the parts of its index or the locations
/// the probes need.
pub fn probe_segment(segment: &Segment, probes: &[(u64, u32)]) -> Result<Found, SegmentError> {
    let mut hits = Vec::new();
    segment.probe_identifiers(probes, |probe, entry| hits.push((probe, entry)))?;
    // Each hit's location is a likely cache miss in a large segment: read them all in one
    // branch-free pass, so the misses overlap (and fetched together, where they are fetched).
    let records: Vec<u32> = hits.iter().map(|(_, entry)| entry.record).collect();
    let locations = segment.locations_of(&records)?;
    Ok(hits
        .into_iter()
        .zip(locations)
        .map(|((probe, entry), location)| (probe, entry, location))
        .collect())
}

/// [`lookup_batch`], each answer handed to `answer` (with the query's position) as it is made,
/// its hits still unread: a caller that turns answers into something else (the server, into
/// responses) does so in parallel, with no `Vec` of hits per query in between. `prober`
/// answers the probes.
pub fn lookup_batch_with<'a, T: Send>(
    index: &'a Index,
    prober: &dyn Prober,
    region: Region,
    queries: &'a [Query],
    answer: impl for<'b> Fn(usize, Answer<'a, Hits<'a, 'b>>) -> T + Sync,
) -> Vec<T> {
    let parallel = queries.len() >= PARALLEL_FROM;
    let prepared: Vec<Result<Readings, String>> =
        map_batch(queries, parallel, |query| readings(query, &index.key(), region));
    // One probe per reading: (fingerprint, probe number), sorted; `owners` maps probes back.
    let mut owners: Vec<(u32, u8)> = Vec::with_capacity(queries.len());
    let mut probes: Vec<(u64, u32)> = Vec::with_capacity(queries.len());
    for (query, readings) in prepared.iter().enumerate() {
        for (reading_index, reading) in readings.iter().flatten().enumerate() {
            probes.push((reading.fingerprint, owners.len() as u32));
            owners.push((query as u32, reading_index as u8));
        }
    }
    if parallel {
        probes.par_sort_unstable();
    } else {
        probes.sort_unstable();
    }
    // Every segment answers the whole sorted batch in one forward pass.
    let Probed { found, unanswered } = prober.probe(index, &probes, parallel);
    // Group hits by query without sorting: count, prefix-sum, place. Within a query, hits stay
    // in segment order, then record order.
    let mut starts = vec![0usize; queries.len() + 1];
    for (probe, _, _) in found.iter().flatten() {
        starts[owners[*probe as usize].0 as usize + 1] += 1;
    }
    for query in 0..queries.len() {
        starts[query + 1] += starts[query];
    }
    let none = Entry {
        fingerprint: 0,
        record: 0,
        field: 0,
    };
    let mut placed: Vec<(u32, Entry)> = vec![(0, none); starts[queries.len()]];
    let mut locations: Vec<StoredLocation> = vec![StoredLocation::default(); starts[queries.len()]];
    let mut filled = starts.clone();
    let mut first_reading: Vec<Option<u8>> = vec![None; queries.len()];
    for (segment_index, hits) in found.iter().enumerate() {
        for &(probe, entry, location) in hits {
            let (query, reading) = owners[probe as usize];
            let slot = &mut filled[query as usize];
            placed[*slot] = (segment_index as u32, entry);
            locations[*slot] = location;
            *slot += 1;
            let first = &mut first_reading[query as usize];
            *first = Some(first.map_or(reading, |known| known.min(reading)));
        }
    }
    drop(found);
    let mut missing: Vec<Vec<u32>> = Vec::new();
    let mut fingerprints = Vec::new();
    if !unanswered.is_empty() {
        missing.resize(queries.len(), Vec::new());
        fingerprints.resize(owners.len(), 0);
        for &(fingerprint, probe) in &probes {
            fingerprints[probe as usize] = fingerprint;
        }
    }
    for probe in unanswered {
        let (query, _) = owners[probe as usize];
        let partition = crate::cluster::placement::partition_of(fingerprints[probe as usize]) as u32;
        let listed = &mut missing[query as usize];
        if let Err(place) = listed.binary_search(&partition) {
            listed.insert(place, partition);
        }
    }
    let numbered: Vec<(usize, Result<Readings, String>)> = prepared.into_iter().enumerate().collect();
    map_batch(numbered, parallel, |(position, readings)| {
        let query = &queries[position];
        match readings {
            Err(error) => answer(
                position,
                Answer {
                    query: &query.value,
                    kind: None,
                    normalized: None,
                    validity: None,
                    hits: None,
                    error: Some(error),
                    fingerprint: None,
                    missing_partitions: Vec::new(),
                },
            ),
            Ok(mut readings) => {
                // The first reading that found something names the kind; hits of other readings
                // (a value that is both an Aadhaar and a phone) are evidence too and are kept.
                let chosen = readings.swap_remove(usize::from(first_reading[position].unwrap_or(0)));
                let range = starts[position]..starts[position + 1];
                answer(
                    position,
                    Answer {
                        query: &query.value,
                        kind: Some(chosen.kind),
                        normalized: Some(chosen.normalized),
                        validity: Some(chosen.validity),
                        hits: Some(Hits {
                            index,
                            placed: placed[range.clone()].iter(),
                            locations: locations[range].iter(),
                        }),
                        error: None,
                        fingerprint: Some(chosen.fingerprint),
                        missing_partitions: missing.get(position).cloned().unwrap_or_default(),
                    },
                )
            }
        }
    })
}

/// Batches smaller than this are answered on the calling thread. Handing a few queries to
/// rayon's pool from a server's thread costs more in wake-ups and spinning (futex,
/// `sched_yield`) than the work itself: a client sending one identifier per message makes
/// micro-batches of a few queries, and on two cores that cost showed as about half the server's
/// CPU time (perf, 2026-11-30).
const PARALLEL_FROM: usize = 256;

/// `items` mapped by `map`, in order: on rayon's pool when `parallel`, else on this thread.
fn map_batch<I, X, T>(items: I, parallel: bool, map: impl Fn(X) -> T + Sync + Send) -> Vec<T>
where
    I: IntoParallelIterator<Item = X> + IntoIterator<Item = X>,
    X: Send,
    T: Send,
{
    if parallel {
        items.into_par_iter().map(map).collect()
    } else {
        items.into_iter().map(map).collect()
    }
}
