//! Canaries: records planted in one distributed copy of a source system, ingested as a corpus of
//! kind `canary` whose `source` names the copy. Meeting one in a newly ingested dump is conclusive
//! evidence of which copy leaked, so every ingest checks for them.

use super::{Segment, SegmentError};
use crate::catalog::{Catalog, CorpusKind};
use crate::fingerprint::{IDENTIFYING_KINDS, fingerprint};
use crate::ingest::{Kind, Validity};
use crate::storage::DataDir;
use serde::Serialize;

/// A canary identifier found in another corpus.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CanaryMeeting {
    pub canary: String,
    /// The copy of the source system the canary was planted in.
    pub copy: String,
    pub kind: Kind,
    /// Where the identifier was found.
    pub file: String,
    pub record: u64,
    pub line: u64,
}

impl std::fmt::Display for CanaryMeeting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "canary {} (planted in copy {}): its {} is in {} record {} line {}",
            self.canary,
            self.copy,
            self.kind.as_str(),
            self.file,
            self.record,
            self.line
        )
    }
}

/// Every identifier of the canary corpora: sorted (fingerprint, owner) probes, and per owner
/// the canary corpus, its copy and the identifier's kind.
struct CanaryProbes {
    probes: Vec<(u64, u32)>,
    owners: Vec<(String, Option<String>, Kind)>,
}

fn canary_fingerprints(data: &DataDir, catalog: &dyn Catalog) -> Result<CanaryProbes, SegmentError> {
    let key = data.key();
    let mut owners = Vec::new();
    let mut probes = Vec::new();
    for corpus in catalog
        .corpora()?
        .iter()
        .filter(|corpus| corpus.kind == CorpusKind::Canary)
    {
        for entry in corpus.published() {
            let segment = Segment::open_published(data, &entry.id)?;
            for record in 0..segment.manifest.records {
                segment.with_values(record, usize::MAX, |values| {
                    for (field, validity, value) in values {
                        let Some(info) = segment.field(field) else { continue };
                        if validity == Validity::Valid && IDENTIFYING_KINDS.contains(&info.kind) {
                            probes.push((fingerprint(&key, info.kind, value), owners.len() as u32));
                            owners.push((corpus.name.clone(), corpus.source.clone(), info.kind));
                        }
                    }
                });
            }
        }
    }
    probes.sort_unstable();
    Ok(CanaryProbes { probes, owners })
}

/// The canary identifiers that the given published segments hold.
pub fn canaries_met(
    data: &DataDir,
    catalog: &dyn Catalog,
    segments: &[String],
) -> Result<Vec<CanaryMeeting>, SegmentError> {
    let CanaryProbes { probes, owners } = canary_fingerprints(data, catalog)?;
    if probes.is_empty() {
        return Ok(Vec::new());
    }
    let mut met = Vec::new();
    for id in segments {
        let segment = Segment::open_published(data, id)?;
        let (mut owners_found, mut records) = (Vec::new(), Vec::new());
        segment.probe_identifiers(&probes, |owner, entry| {
            owners_found.push(owner);
            records.push(entry.record);
        })?;
        for (owner, location) in owners_found.into_iter().zip(segment.locations_of(&records)?) {
            let (canary, copy, kind) = &owners[owner as usize];
            met.push(CanaryMeeting {
                canary: canary.clone(),
                copy: copy.clone().unwrap_or_else(|| canary.clone()),
                kind: *kind,
                file: segment.file_path(location.file).to_string(),
                record: location.ordinal,
                line: location.line,
            });
        }
    }
    met.sort_by(|a, b| (&a.file, a.record).cmp(&(&b.file, b.record)));
    met.dedup();
    Ok(met)
}
