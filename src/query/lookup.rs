//! Batch lookup: identifiers in, every (corpus, file, record, line, offset, field) that holds
//! them out. A batch is normalized in parallel, fingerprinted, sorted once, and merged against
//! each segment's sorted index in a single forward pass.

use crate::catalog::{Catalog, CatalogError};
use crate::ingest::classify::value_candidates;
use crate::ingest::normalize::{Region, normalize};
use crate::ingest::{Kind, Validity};
use crate::segment::{INDEXED_KINDS, Segment, SegmentError, fingerprint};
use crate::storage::DataDir;
use rayon::prelude::*;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Segment(#[from] SegmentError),
    #[error("no corpus named {0:?}")]
    NoCorpus(String),
    #[error("bad search query: {0}")]
    Search(String),
}

/// A published segment with its corpus's name and acquisition date.
pub struct IndexedSegment {
    pub corpus: String,
    pub acquired: Option<String>,
    pub segment: Segment,
}

/// The published segments a query runs over.
pub struct Index {
    pub segments: Vec<IndexedSegment>,
    key: [u8; 16],
}

impl Index {
    /// Opens every published segment (of the named corpora, if any are named).
    pub fn open(data: &DataDir, catalog: &dyn Catalog, corpora: &[String]) -> Result<Index, QueryError> {
        let all = catalog.corpora()?;
        for name in corpora {
            if !all.iter().any(|corpus| &corpus.name == name) {
                return Err(QueryError::NoCorpus(name.clone()));
            }
        }
        let mut segments = Vec::new();
        for corpus in all
            .iter()
            .filter(|corpus| corpora.is_empty() || corpora.contains(&corpus.name))
        {
            for entry in corpus.published() {
                segments.push(IndexedSegment {
                    corpus: corpus.name.clone(),
                    acquired: corpus.acquired.clone(),
                    segment: Segment::open(&data.segment_path(&entry.id))?,
                });
            }
        }
        Ok(Index {
            segments,
            key: data.key(),
        })
    }
}

/// One identifier to look up; without a kind it is recognized from its shape.
#[derive(Clone, Debug)]
pub struct Query {
    pub value: String,
    pub kind: Option<Kind>,
}

/// Where an identifier was found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Hit {
    pub corpus: String,
    pub file: String,
    pub record: u64,
    pub line: u64,
    pub offset: u64,
    pub field: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acquired: Option<String>,
}

/// The answer to one query, in the order the queries came.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Answer {
    pub query: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub normalized: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validity: Option<Validity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hits: Option<Vec<Hit>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The readings of a query: one per candidate kind.
struct Reading {
    kind: Kind,
    normalized: String,
    validity: Validity,
    fingerprint: u64,
}

fn readings(query: &Query, key: &[u8; 16], region: Region) -> Result<Vec<Reading>, String> {
    let kinds: Vec<Kind> = match query.kind {
        Some(kind) => vec![kind],
        None => {
            let candidates = value_candidates(&query.value, region);
            let mut kinds: Vec<Kind> = INDEXED_KINDS
                .into_iter()
                .filter(|kind| candidates & kind.bit() != 0)
                .collect();
            let value = query.value.trim();
            if kinds.is_empty()
                && (3..=64).contains(&value.len())
                && value
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || b"._-".contains(&byte))
            {
                kinds.push(Kind::Username);
            }
            if kinds.is_empty() {
                return Err("cannot tell what kind of identifier this is; give its kind".to_string());
            }
            kinds
        }
    };
    let mut out = String::new();
    let readings: Vec<Reading> = kinds
        .into_iter()
        .filter_map(|kind| {
            let validity = normalize(kind, &query.value, region, &mut out);
            (!out.is_empty()).then(|| Reading {
                kind,
                fingerprint: fingerprint(key, kind, &out),
                normalized: out.clone(),
                validity,
            })
        })
        .collect();
    if readings.is_empty() {
        return Err("empty value".to_string());
    }
    Ok(readings)
}

/// Looks up a batch of queries; answers come back in query order.
pub fn lookup_batch(index: &Index, region: Region, queries: &[Query]) -> Vec<Answer> {
    let prepared: Vec<Result<Vec<Reading>, String>> = queries
        .par_iter()
        .map(|query| readings(query, &index.key, region))
        .collect();
    // One probe per reading: (fingerprint, probe number), sorted.
    let mut owners: Vec<(u32, u8)> = Vec::with_capacity(queries.len());
    let mut probes: Vec<(u64, u32)> = Vec::with_capacity(queries.len());
    for (query, readings) in prepared.iter().enumerate() {
        for (reading_index, reading) in readings.iter().flatten().enumerate() {
            probes.push((reading.fingerprint, owners.len() as u32));
            owners.push((query as u32, reading_index as u8));
        }
    }
    probes.par_sort_unstable();
    // Every segment answers the whole sorted batch; hits are (probe, segment, entry).
    let mut found: Vec<(u32, u32, crate::segment::hash::Entry)> = index
        .segments
        .par_iter()
        .enumerate()
        .flat_map_iter(|(segment_index, indexed)| {
            let mut hits = Vec::new();
            indexed
                .segment
                .hash
                .probe_sorted(&probes, |probe, entry| hits.push((probe, segment_index as u32, entry)));
            hits
        })
        .collect();
    found.par_sort_unstable_by_key(|&(probe, segment, entry)| {
        (owners[probe as usize], segment, entry.record, entry.field)
    });
    let mut answers: Vec<Answer> = queries
        .iter()
        .zip(&prepared)
        .map(|(query, readings)| match readings {
            Ok(_) => Answer {
                query: query.value.clone(),
                kind: None,
                normalized: None,
                validity: None,
                hits: Some(Vec::new()),
                error: None,
            },
            Err(error) => Answer {
                query: query.value.clone(),
                kind: None,
                normalized: None,
                validity: None,
                hits: None,
                error: Some(error.clone()),
            },
        })
        .collect();
    let mut chosen: Vec<Option<u8>> = vec![None; queries.len()];
    for (probe, segment_index, entry) in found {
        let (query, reading_index) = owners[probe as usize];
        let query = query as usize;
        // Hits come sorted by reading: the first that found something names the kind. Hits of
        // other readings (a value that is both an Aadhaar and a phone) are evidence too: kept.
        chosen[query].get_or_insert(reading_index);
        let indexed = &index.segments[segment_index as usize];
        let location = indexed.segment.location(u64::from(entry.record));
        let field = indexed
            .segment
            .field(entry.field)
            .map_or_else(String::new, |info| info.name.clone());
        if let Some(hits) = answers[query].hits.as_mut() {
            hits.push(Hit {
                corpus: indexed.corpus.clone(),
                file: indexed.segment.file_path(location.file).to_string(),
                record: location.ordinal,
                line: location.line,
                offset: location.offset,
                field,
                acquired: indexed.acquired.clone(),
            });
        }
    }
    for ((answer, readings), chosen) in answers.iter_mut().zip(&prepared).zip(chosen) {
        if let Ok(readings) = readings {
            let reading = &readings[usize::from(chosen.unwrap_or(0))];
            answer.kind = Some(reading.kind);
            answer.normalized = Some(reading.normalized.clone());
            answer.validity = Some(reading.validity);
        }
    }
    answers
}
