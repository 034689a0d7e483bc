//! `leakdex.v1.Provenance`: record matching as a stream, and attribution of a whole suspect set.

use super::auth::Principal;
use super::batching::{Batched, at_most, micro_batched, per_message};
use super::proto::{self, attribute_request, provenance_server};
use super::server::{ServiceState, blocking_call};
use super::status::status;
use crate::access::limits::Numbered;
use crate::access::redact::{redact_field_name, redact_report};
use crate::access::role::{Role, Rpc};
use crate::catalog::CorpusKind;
use crate::fingerprint::IDENTIFYING_KINDS;
use crate::query::Index;
use crate::query::r#match::{
    MatchOptions, Problems, RecordMatch, Suspect, match_records, suspects_from_fields, suspects_of_corpus,
};
use crate::query::provenance::{ATTRIBUTION_CHUNK, Attribution, joining_short_chunks};

/// Bytes of field names and values an Attribute call holds before it matches what it holds,
/// whatever the number of records: 65,536 records of 4 MiB each must not be held whole.
const ATTRIBUTION_CHUNK_BYTES: usize = 32 << 20;
use std::pin::Pin;
use std::sync::Arc;
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};

/// Records matched together when they arrive together.
const MICRO_BATCH: usize = 1024;
/// Most requests in one MatchBatch (as `proto/leakdex/v1/provenance.proto` says): within a
/// micro-batch, as for lookups.
pub const MAX_MATCH_BATCH: usize = 1000;
/// Matches returned per record when the request does not say.
const DEFAULT_LIMIT: usize = 5;

pub struct ProvenanceService {
    pub(super) state: Arc<ServiceState>,
}

fn fields_of(record: Option<proto::SuspectRecord>) -> Vec<(String, String)> {
    record
        .map(|record| {
            record
                .fields
                .into_iter()
                .map(|field| (field.name, field.value))
                .collect()
        })
        .unwrap_or_default()
}

fn threshold_of(requested: f64) -> Result<f64, Status> {
    match requested {
        0.0 => Ok(MatchOptions::default().threshold),
        threshold if (0.0..=1.0).contains(&threshold) => Ok(threshold),
        other => Err(Status::invalid_argument(format!(
            "threshold {other} is not between 0 and 1"
        ))),
    }
}

/// A match as `role` may see it. A role that does not see record contents gets where the
/// record is, never how well each field agreed nor the score: with those, guessed records
/// rebuild a redacted one field by field (a birth date in about 300 calls).
fn match_to_proto(index: &Index, found: &RecordMatch<'_>, role: Role) -> proto::RecordMatch {
    let indexed = &index.segments[found.segment];
    let detail = role.sees_contents();
    proto::RecordMatch {
        corpus: found.corpus.to_string(),
        file: if detail {
            found.file.to_string()
        } else {
            redact_field_name(found.file)
        },
        record: found.record,
        line: found.line,
        offset: found.offset,
        score: if detail { found.score } else { 0.0 },
        agreeing: if detail { found.agreeing.clone() } else { Vec::new() },
        disagreeing: if detail { found.disagreeing.clone() } else { Vec::new() },
        evidence_bits: if detail { found.bits } else { 0.0 },
        evidence: if detail {
            found
                .evidence
                .iter()
                .map(|evidence| proto::FieldEvidence {
                    field: evidence.field.clone(),
                    level: evidence.level.to_string(),
                    bits: evidence.bits,
                })
                .collect()
        } else {
            Vec::new()
        },
        acquired: indexed.acquired.clone().unwrap_or_default(),
        canary: indexed.kind == CorpusKind::Canary,
    }
}

/// What matching these records is charged, in lookups: one per field with a value (each is a
/// guess at a record's content).
fn guesses<'a>(records: impl Iterator<Item = &'a Vec<(String, String)>>) -> u64 {
    records
        .map(|fields| {
            fields
                .iter()
                .filter(|(_, value)| !value.trim().is_empty())
                .count()
                .max(1) as u64
        })
        .sum()
}

/// Bytes of a record's field names and values.
fn bytes_of(fields: &[(String, String)]) -> usize {
    fields.iter().map(|(name, value)| name.len() + value.len()).sum()
}

/// The phones and Aadhaar numbers of suspect records, for sweep detection.
fn points_of(suspects: &[Suspect]) -> Vec<Numbered> {
    suspects
        .iter()
        .flat_map(|suspect| &suspect.fields)
        .filter_map(|field| Numbered::of(field.kind, &field.value))
        .collect()
}

/// Matches one micro-batch of requests; answers in request order.
fn match_batch(
    state: &ServiceState,
    principal: &Principal,
    rpc: Rpc,
    requests: Vec<proto::MatchRequest>,
) -> Result<Vec<proto::MatchResponse>, Status> {
    let principal = &state.recheck(principal, rpc)?;
    let index = state.index_for(principal.role)?;
    let mut responses: Vec<proto::MatchResponse> = Vec::with_capacity(requests.len());
    let mut records = Vec::with_capacity(requests.len());
    let mut settings = Vec::with_capacity(requests.len());
    for request in requests {
        let threshold = threshold_of(request.threshold);
        let fields = fields_of(request.record);
        let error = match (&threshold, fields.iter().any(|(_, value)| !value.trim().is_empty())) {
            (Err(status), _) => status.message().to_string(),
            (_, false) => "the record has no field with a value".to_string(),
            _ => String::new(),
        };
        // A role that sees no contents cannot lower the threshold to learn of weak matches.
        let floor = if principal.role.sees_contents() {
            0.0
        } else {
            MatchOptions::default().threshold
        };
        settings.push((threshold.unwrap_or(1.0).max(floor), request.limit));
        records.push(fields);
        responses.push(proto::MatchResponse {
            id: request.id,
            matches: Vec::new(),
            error,
        });
    }
    state.admit(principal, guesses(records.iter()))?;
    let (suspects, _) = suspects_from_fields(&records, 0, &crate::ingest::ScanOptions::default());
    let lowest = settings.iter().map(|(threshold, _)| *threshold).fold(1.0, f64::min);
    let options = MatchOptions {
        threshold: lowest,
        limit: usize::MAX,
        ..MatchOptions::default()
    };
    let matches = match_records(&index, &suspects, &options).map_err(status)?;
    for (suspect, found) in suspects.iter().zip(matches) {
        // The ordinal is the record's 1-based place in the batch.
        let Some(position) = (suspect.location.ordinal as usize).checked_sub(1) else {
            continue;
        };
        let (Some(response), Some((threshold, limit))) = (responses.get_mut(position), settings.get(position)) else {
            continue;
        };
        if !response.error.is_empty() {
            continue;
        }
        let limit = match *limit {
            0 => DEFAULT_LIMIT,
            limit => (limit as usize).min(principal.role.max_results()),
        };
        response.matches = found
            .iter()
            .filter(|found| found.score >= *threshold)
            .take(limit)
            .map(|found| match_to_proto(&index, found, principal.role))
            .collect();
    }
    let matched = responses.iter().filter(|response| !response.matches.is_empty()).count();
    state.record(principal, rpc, responses.len(), matched, asked_of(state, &suspects))?;
    state.account(principal, matched, points_of(&suspects))?;
    state.metrics.matched_records.inc_by(responses.len() as u64);
    Ok(responses)
}

/// Fingerprints of the identifiers of suspect records, for the audit log.
fn asked_of(state: &ServiceState, suspects: &[Suspect]) -> Vec<u64> {
    suspects
        .iter()
        .flat_map(|suspect| &suspect.fields)
        .filter(|field| IDENTIFYING_KINDS.contains(&field.kind))
        .map(|field| state.fingerprint(field.kind, &field.value))
        .collect()
}

type MatchStream = Pin<Box<dyn tokio_stream::Stream<Item = Result<proto::MatchResponse, Status>> + Send>>;
type MatchBatchStream = Pin<Box<dyn tokio_stream::Stream<Item = Result<proto::MatchBatchResponse, Status>> + Send>>;

#[tonic::async_trait]
impl provenance_server::Provenance for ProvenanceService {
    type MatchStream = MatchStream;

    async fn r#match(
        &self,
        request: Request<Streaming<proto::MatchRequest>>,
    ) -> Result<Response<Self::MatchStream>, Status> {
        let principal = self.state.authorize(&request, Rpc::Match)?;
        let state = self.state.clone();
        let matching = (state.clone(), principal.clone());
        let responses = micro_batched(request.into_inner(), MICRO_BATCH, move |batch| {
            match_batch(&matching.0, &matching.1, Rpc::Match, batch)
        });
        // Every failure is on the record: a refused batch, and a message that cannot be read.
        let responses = responses.map(move |matched| state.settle(&principal, Rpc::Match, matched));
        Ok(Response::new(Box::pin(responses)))
    }

    type MatchBatchesStream = MatchBatchStream;

    async fn match_batches(
        &self,
        request: Request<Streaming<proto::MatchBatch>>,
    ) -> Result<Response<Self::MatchBatchesStream>, Status> {
        let principal = self.state.authorize(&request, Rpc::MatchBatches)?;
        let state = self.state.clone();
        let matching = (state.clone(), principal.clone());
        let responses = micro_batched(request.into_inner(), MICRO_BATCH, move |messages| {
            let (state, principal) = (&matching.0, &matching.1);
            let answers = per_message(
                messages,
                |message: proto::MatchBatch| message.requests,
                |requests| match_batch(state, principal, Rpc::MatchBatches, requests),
            )?;
            Ok(answers
                .into_iter()
                .map(|responses| proto::MatchBatchResponse { responses })
                .collect())
        });
        let responses = responses.map(move |matched| state.settle(&principal, Rpc::MatchBatches, matched));
        Ok(Response::new(Box::pin(responses)))
    }

    async fn attribute(
        &self,
        request: Request<Streaming<proto::AttributeRequest>>,
    ) -> Result<Response<proto::AttributionReport>, Status> {
        let principal = self.state.authorize(&request, Rpc::Attribute)?;
        let report = self.attribute_records(&principal, request.into_inner()).await;
        let report = self.state.settle(&principal, Rpc::Attribute, report)?;
        Ok(Response::new(report))
    }
}

/// An Attribute call under way: its index (one catalog generation for the whole call), what it
/// has attributed so far, and what could not be read.
struct Attributing {
    principal: Principal,
    index: Arc<Index>,
    options: MatchOptions,
    attribution: Attribution,
    /// Records sent so far (a record without a readable field is sent, but is no suspect).
    sent: u64,
    /// What could not be read.
    problems: Problems,
}

impl Attributing {
    /// Matches a chunk of suspect records, puts it on the record and charges its hits, and adds
    /// it to the attribution.
    fn add(&mut self, state: &ServiceState, suspects: &[Suspect]) -> Result<(), Status> {
        let matches = match_records(&self.index, suspects, &self.options).map_err(status)?;
        let matched = matches.iter().filter(|list| !list.is_empty()).count();
        let asked = asked_of(state, suspects);
        state.record(&self.principal, Rpc::Attribute, suspects.len(), matched, asked)?;
        state.account(&self.principal, matched, points_of(suspects))?;
        state.metrics.matched_records.inc_by(suspects.len() as u64);
        self.attribution.add(&self.index, suspects, &matches);
        Ok(())
    }
}

impl ProvenanceService {
    /// Reads an Attribute stream and builds its report, as `principal` may see it. Records are
    /// matched [`ATTRIBUTION_CHUNK`] at a time as they arrive (or sooner, past
    /// [`ATTRIBUTION_CHUNK_BYTES`]), so a suspect set of any size is attributed in bounded
    /// memory; each chunk is audited as a batch lookup's micro-batch is. A chunk is cut only
    /// once half a chunk more has arrived, so the last one holds at least half a chunk (the
    /// match model is learned per chunk: see [`Attribution`]), as [`attribute_chunks`] does.
    ///
    /// [`attribute_chunks`]: crate::query::provenance::attribute_chunks
    async fn attribute_records(
        &self,
        principal: &Principal,
        mut inbound: Streaming<proto::AttributeRequest>,
    ) -> Result<proto::AttributionReport, Status> {
        let mut corpus = None;
        let mut records: Vec<Vec<(String, String)>> = Vec::new();
        // Bytes of names and values in `records`.
        let mut held = 0usize;
        let mut settings = None;
        let mut attributing: Option<Attributing> = None;
        let both = || Status::invalid_argument("send either one suspect_corpus or records, not both");
        while let Some(message) = inbound.next().await {
            let message = message?;
            let (_, threshold) = match settings {
                Some(settings) => settings,
                None => *settings.insert((message.html, threshold_of(message.threshold)?)),
            };
            match message.input {
                Some(attribute_request::Input::SuspectCorpus(name)) => {
                    if corpus.is_some() || !records.is_empty() || attributing.is_some() {
                        return Err(both());
                    }
                    corpus = Some(name);
                }
                Some(attribute_request::Input::Records(batch)) => {
                    if corpus.is_some() {
                        return Err(both());
                    }
                    let arrived = records.len();
                    records.extend(batch.records.into_iter().map(|record| fields_of(Some(record))));
                    held += records[arrived..].iter().map(|fields| bytes_of(fields)).sum::<usize>();
                    // Charged as the records arrive: a caller over its limits is stopped before
                    // the server holds them.
                    self.state.admit(principal, guesses(records[arrived..].iter()))?;
                    let cut = if records.len() >= ATTRIBUTION_CHUNK + ATTRIBUTION_CHUNK / 2 {
                        ATTRIBUTION_CHUNK
                    } else if held >= ATTRIBUTION_CHUNK_BYTES {
                        records.len()
                    } else {
                        continue;
                    };
                    let chunk: Vec<_> = records.drain(..cut).collect();
                    held -= chunk.iter().map(|fields| bytes_of(fields)).sum::<usize>();
                    attributing = Some(self.attribute_chunk(principal, threshold, attributing, chunk).await?);
                }
                None => {}
            }
        }
        let (html, threshold) = settings.ok_or_else(|| Status::invalid_argument("no request message"))?;
        if corpus.is_none() && records.is_empty() && attributing.is_none() {
            return Err(Status::invalid_argument("no suspect records and no suspect_corpus"));
        }
        let attributing = match corpus {
            Some(name) => {
                let mut attributing = self.start(principal, threshold).await?;
                self.state.admit(&attributing.principal, 1)?;
                let state = self.state.clone();
                blocking_call(move || {
                    let kind = attributing
                        .index
                        .segments
                        .iter()
                        .find(|indexed| indexed.corpus == name)
                        .map(|indexed| indexed.kind);
                    match kind {
                        None => return Err(Status::not_found(format!("no corpus named {name:?}"))),
                        Some(CorpusKind::Suspect) => {}
                        Some(other) => {
                            return Err(Status::failed_precondition(format!(
                                "corpus {name:?} is a {other} corpus; only suspect corpora are attributed"
                            )));
                        }
                    }
                    let index = attributing.index.clone();
                    let chunks = suspects_of_corpus(&index, &name, ATTRIBUTION_CHUNK).map_err(status)?;
                    for chunk in joining_short_chunks(chunks) {
                        attributing.add(&state, &chunk)?;
                    }
                    Ok(attributing)
                })
                .await?
            }
            None if records.is_empty() => attributing.ok_or_else(|| Status::internal("no records attributed"))?,
            None => self.attribute_chunk(principal, threshold, attributing, records).await?,
        };
        let sees_contents = attributing.principal.role.sees_contents();
        blocking_call(move || -> Result<proto::AttributionReport, Status> {
            let Attributing {
                index,
                attribution,
                problems,
                ..
            } = attributing;
            let mut report = attribution.finish(&index, problems.into_list());
            if !sees_contents {
                redact_report(&mut report);
            }
            let rendered = if html {
                crate::report::render_html(&report)
            } else {
                String::new()
            };
            Ok(proto::AttributionReport {
                html: rendered,
                ..proto::AttributionReport::from(&report)
            })
        })
        .await
    }

    /// The call's index and matching options, for the principal as it is now: a token revoked
    /// while records streamed in ends the call here.
    async fn start(&self, principal: &Principal, threshold: f64) -> Result<Attributing, Status> {
        let principal = self.state.recheck(principal, Rpc::Attribute)?;
        let threshold = if principal.role.sees_contents() {
            threshold
        } else {
            threshold.max(MatchOptions::default().threshold)
        };
        let state = self.state.clone();
        let role = principal.role;
        let index = blocking_call(move || state.index_for(role)).await?;
        Ok(Attributing {
            principal,
            index,
            options: MatchOptions {
                threshold,
                limit: usize::MAX,
                ..MatchOptions::default()
            },
            attribution: Attribution::default(),
            sent: 0,
            problems: Problems::default(),
        })
    }

    /// Attributes the next chunk of records sent (reading them as the ingest front end reads a
    /// dump), starting the call on its first.
    async fn attribute_chunk(
        &self,
        principal: &Principal,
        threshold: f64,
        attributing: Option<Attributing>,
        records: Vec<Vec<(String, String)>>,
    ) -> Result<Attributing, Status> {
        let mut attributing = match attributing {
            Some(attributing) => {
                // Each chunk is answered for the principal as it is now.
                self.state.recheck(principal, Rpc::Attribute)?;
                attributing
            }
            None => self.start(principal, threshold).await?,
        };
        let state = self.state.clone();
        blocking_call(move || {
            let (suspects, problems) =
                suspects_from_fields(&records, attributing.sent, &crate::ingest::ScanOptions::default());
            attributing.sent += records.len() as u64;
            attributing.problems.extend(problems);
            attributing.add(&state, &suspects)?;
            Ok(attributing)
        })
        .await
    }
}

/// A batch message is checked against its limit before it is admitted.
impl Batched for proto::MatchBatch {
    fn requests(&self) -> usize {
        self.requests.len()
    }

    fn check(&self) -> Result<(), Status> {
        at_most(self.requests.len(), MAX_MATCH_BATCH)
    }
}
