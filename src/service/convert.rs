//! Conversions between the wire types of `leakdex.v1` and the library's own, in both directions:
//! the server sends library results, the CLI client turns answers back into them, so both print
//! through the same code.

use super::proto;
use crate::catalog::{CorpusKind, CorpusSummary, FileEntry};
use crate::ingest::{Kind, Validity};
use crate::query::provenance::Report;
use crate::query::{Answer, Hit, Matched, SearchHit};
use crate::segment::canary::CanaryMeeting;
use crate::segment::{ShownField, ShownRecord};

impl From<Kind> for proto::IdentifierKind {
    fn from(kind: Kind) -> Self {
        use proto::IdentifierKind as P;
        match kind {
            Kind::Phone => P::Phone,
            Kind::Email => P::Email,
            Kind::NationalId => P::NationalId,
            Kind::Pan => P::Pan,
            Kind::Passport => P::Passport,
            Kind::VoterId => P::VoterId,
            Kind::DrivingLicence => P::DrivingLicence,
            Kind::Name => P::Name,
            Kind::DateOfBirth => P::DateOfBirth,
            Kind::BirthYear => P::BirthYear,
            Kind::Address => P::Address,
            Kind::District => P::District,
            Kind::Locality => P::Locality,
            Kind::StreetNumber => P::StreetNumber,
            Kind::State => P::State,
            Kind::Pincode => P::Pincode,
            Kind::Gender => P::Gender,
            Kind::Username => P::Username,
            Kind::Password => P::Password,
            Kind::PasswordHash => P::PasswordHash,
            Kind::Ip => P::Ip,
            Kind::Other => P::Other,
        }
    }
}

/// The kind of a wire value: `Ok(None)` for UNSPECIFIED, an error for numbers no kind has.
pub fn kind_from_proto(value: i32) -> Result<Option<Kind>, String> {
    let kind = proto::IdentifierKind::try_from(value).map_err(|_| format!("unknown identifier kind {value}"))?;
    Ok(Kind::ALL
        .into_iter()
        .find(|candidate| proto::IdentifierKind::from(*candidate) == kind))
}

impl From<CorpusKind> for proto::CorpusKind {
    fn from(kind: CorpusKind) -> Self {
        match kind {
            CorpusKind::Leak => proto::CorpusKind::Leak,
            CorpusKind::Reference => proto::CorpusKind::Reference,
            CorpusKind::Suspect => proto::CorpusKind::Suspect,
            CorpusKind::Canary => proto::CorpusKind::Canary,
        }
    }
}

/// The corpus kind of a wire value (UNSPECIFIED means a leak).
pub fn corpus_kind_from_proto(value: i32) -> Result<CorpusKind, String> {
    match proto::CorpusKind::try_from(value) {
        Ok(proto::CorpusKind::Unspecified | proto::CorpusKind::Leak) => Ok(CorpusKind::Leak),
        Ok(proto::CorpusKind::Reference) => Ok(CorpusKind::Reference),
        Ok(proto::CorpusKind::Suspect) => Ok(CorpusKind::Suspect),
        Ok(proto::CorpusKind::Canary) => Ok(CorpusKind::Canary),
        Err(_) => Err(format!("unknown corpus kind {value}")),
    }
}

impl From<SearchHit> for proto::SearchHit {
    fn from(hit: SearchHit) -> Self {
        let SearchHit {
            corpus,
            file,
            record,
            line,
            offset,
            score,
            snippet,
            matched,
        } = hit;
        proto::SearchHit {
            corpus,
            file,
            record,
            line,
            offset,
            score,
            snippet,
            matched: matched
                .into_iter()
                .map(|found| proto::MatchedField {
                    field: found.field,
                    value: found.value,
                    spans: found
                        .spans
                        .into_iter()
                        .map(|(start, end)| proto::Span { start, end })
                        .collect(),
                })
                .collect(),
        }
    }
}

impl From<proto::SearchHit> for SearchHit {
    fn from(hit: proto::SearchHit) -> Self {
        let proto::SearchHit {
            corpus,
            file,
            record,
            line,
            offset,
            score,
            snippet,
            matched,
        } = hit;
        SearchHit {
            corpus,
            file,
            record,
            line,
            offset,
            score,
            snippet,
            matched: matched
                .into_iter()
                .map(|found| Matched {
                    field: found.field,
                    value: found.value,
                    spans: found.spans.into_iter().map(|span| (span.start, span.end)).collect(),
                })
                .collect(),
        }
    }
}

/// A stored record on the wire, with the corpus it was asked from.
pub fn record_to_proto(corpus: String, shown: ShownRecord) -> proto::Record {
    proto::Record {
        corpus,
        file: shown.file,
        record: shown.record,
        line: shown.line,
        offset: shown.offset,
        decoded_latin1: shown.decoded_latin1,
        fields: shown
            .fields
            .into_iter()
            .map(|field| proto::Field {
                name: field.name,
                kind: proto::IdentifierKind::from(field.kind) as i32,
                raw: field.raw,
                normalized: field.normalized,
                validity: field.validity.as_str().to_string(),
            })
            .collect(),
    }
}

impl From<proto::Record> for ShownRecord {
    fn from(record: proto::Record) -> Self {
        ShownRecord {
            file: record.file,
            record: record.record,
            line: record.line,
            offset: record.offset,
            decoded_latin1: record.decoded_latin1,
            fields: record
                .fields
                .into_iter()
                .map(|field| ShownField {
                    name: field.name,
                    kind: kind_from_proto(field.kind).ok().flatten().unwrap_or(Kind::Other),
                    validity: Validity::from_name(&field.validity).unwrap_or(Validity::Invalid),
                    raw: field.raw,
                    normalized: field.normalized,
                })
                .collect(),
        }
    }
}

fn optional(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

impl From<CorpusSummary> for proto::Corpus {
    fn from(corpus: CorpusSummary) -> Self {
        proto::Corpus {
            name: corpus.name,
            kind: proto::CorpusKind::from(corpus.kind) as i32,
            acquired: corpus.acquired.unwrap_or_default(),
            source: corpus.source.unwrap_or_default(),
            created: corpus.created,
            records: corpus.records,
            files: corpus
                .files
                .into_iter()
                .map(|file| proto::SourceFile {
                    path: file.path,
                    size: file.size,
                    sha256: file.sha256,
                    records: file.records,
                    rejected: file.rejected,
                    // The catalog does not keep formats; segment manifests do.
                    format: String::new(),
                })
                .collect(),
            segments: corpus.segments,
        }
    }
}

impl From<proto::Corpus> for CorpusSummary {
    fn from(corpus: proto::Corpus) -> Self {
        CorpusSummary {
            name: corpus.name,
            kind: corpus_kind_from_proto(corpus.kind).unwrap_or(CorpusKind::Leak),
            acquired: optional(corpus.acquired),
            source: optional(corpus.source),
            created: corpus.created,
            records: corpus.records,
            files: corpus
                .files
                .into_iter()
                .map(|file| FileEntry {
                    path: file.path,
                    size: file.size,
                    sha256: file.sha256,
                    records: file.records,
                    rejected: file.rejected,
                })
                .collect(),
            segments: corpus.segments,
        }
    }
}

/// A lookup answer read back from the wire, borrowing its strings from the response.
pub fn answer_from_proto<'a>(query: &'a str, response: &'a proto::LookupResponse) -> Answer<'a> {
    if !response.error.is_empty() {
        return Answer {
            query,
            kind: None,
            normalized: None,
            validity: None,
            hits: None,
            error: Some(response.error.clone()),
            fingerprint: None,
            missing_partitions: Vec::new(),
        };
    }
    let hits = response
        .hits
        .iter()
        .map(|hit| Hit {
            corpus: &hit.corpus,
            file: &hit.file,
            record: hit.record,
            line: hit.line,
            offset: hit.offset,
            field: &hit.field,
            acquired: (!hit.acquired.is_empty()).then_some(&hit.acquired),
            // A role without locations gets one hit per corpus with a count and no file.
            count: (hit.file.is_empty() && hit.count > 0).then_some(hit.count),
        })
        .collect();
    Answer {
        query,
        kind: kind_from_proto(response.kind).ok().flatten(),
        normalized: Some(response.normalized.clone()),
        validity: Validity::from_name(&response.validity),
        hits: Some(hits),
        error: None,
        fingerprint: None,
        missing_partitions: response.missing_partitions.clone(),
    }
}

impl From<&CanaryMeeting> for proto::CanaryMeeting {
    fn from(meeting: &CanaryMeeting) -> Self {
        proto::CanaryMeeting {
            canary: meeting.canary.clone(),
            copy: meeting.copy.clone(),
            kind: meeting.kind.as_str().to_string(),
            file: meeting.file.clone(),
            record: meeting.record,
            line: meeting.line,
        }
    }
}

impl From<proto::CanaryMeeting> for CanaryMeeting {
    fn from(meeting: proto::CanaryMeeting) -> Self {
        CanaryMeeting {
            canary: meeting.canary,
            copy: meeting.copy,
            kind: meeting.kind.parse().unwrap_or(Kind::Other),
            file: meeting.file,
            record: meeting.record,
            line: meeting.line,
        }
    }
}

impl From<&Report> for proto::AttributionReport {
    fn from(report: &Report) -> Self {
        proto::AttributionReport {
            records: report.records as u64,
            matched: report.matched as u64,
            unmatched: report.unmatched as u64,
            corpora: report
                .corpora
                .iter()
                .map(|corpus| proto::CorpusAttribution {
                    corpus: corpus.corpus.clone(),
                    kind: proto::CorpusKind::from(corpus.kind) as i32,
                    acquired: corpus.acquired.clone().unwrap_or_default(),
                    containment: corpus.containment,
                    ci95_low: corpus.ci95[0],
                    ci95_high: corpus.ci95[1],
                    exclusive: corpus.exclusive,
                    matched: corpus.matched as u64,
                    ranked_first: corpus.ranked_first as u64,
                    ranked_first_share: corpus.ranked_first_share,
                    ranked_first_ci95_low: corpus.ranked_first_ci95[0],
                    ranked_first_ci95_high: corpus.ranked_first_ci95[1],
                    agreeing_fields: corpus.agreeing_fields,
                    schema_overlap: corpus.schema_overlap.clone(),
                    median_evidence_bits: corpus.median_bits,
                })
                .collect(),
            canaries: report
                .canaries
                .iter()
                .map(|hit| proto::CanaryHit {
                    canary: hit.canary.clone(),
                    copy: hit.copy.clone(),
                    suspect_file: hit.suspect_file.clone(),
                    suspect_line: hit.suspect_line,
                    canary_record: hit.canary_record,
                    score: hit.score,
                })
                .collect(),
            verdict: report.verdict.clone(),
            timeline: report
                .timeline
                .iter()
                .map(|(acquired, corpus)| proto::DatedCorpus {
                    acquired: acquired.clone(),
                    corpus: corpus.clone(),
                })
                .collect(),
            overlaps: report
                .overlaps
                .iter()
                .map(|overlap| proto::CorpusOverlap {
                    a: overlap.a.clone(),
                    b: overlap.b.clone(),
                    records: overlap.records as u64,
                })
                .collect(),
            score_histogram: report.score_histogram.iter().map(|&count| count as u64).collect(),
            evidence_histogram: report.evidence_histogram.iter().map(|&count| count as u64).collect(),
            unmatched_records: report
                .unmatched_records
                .iter()
                .map(|unmatched| proto::SuspectRef {
                    record: unmatched.record as u64,
                    file: unmatched.file.clone(),
                    line: unmatched.line,
                })
                .collect(),
            problems: report.problems.clone(),
            html: String::new(),
        }
    }
}
