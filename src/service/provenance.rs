//! `leakdex.v1.Provenance`: record matching as a stream, and attribution of a whole suspect set.

use super::auth::Principal;
use super::proto::{self, attribute_request, provenance_server};
use super::server::{ServiceState, micro_batched, status};
use crate::access::redact::redact_examples;
use crate::access::role::Rpc;
use crate::catalog::CorpusKind;
use crate::query::Index;
use crate::query::r#match::{
    MatchOptions, RecordMatch, Suspect, match_records, suspects_from_fields, suspects_of_corpus,
};
use crate::query::provenance::attribute;
use crate::segment::IDENTIFYING_KINDS;
use std::pin::Pin;
use std::sync::Arc;
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};

/// Records matched together when they arrive together.
const MICRO_BATCH: usize = 1024;
/// Most records one Attribute call holds in memory.
const MAX_ATTRIBUTED: usize = 5_000_000;
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

fn match_to_proto(index: &Index, found: &RecordMatch<'_>) -> proto::RecordMatch {
    let indexed = &index.segments[found.segment];
    proto::RecordMatch {
        corpus: found.corpus.to_string(),
        file: found.file.to_string(),
        record: found.record,
        line: found.line,
        offset: found.offset,
        score: found.score,
        agreeing: found.agreeing.clone(),
        disagreeing: found.disagreeing.clone(),
        acquired: indexed.acquired.clone().unwrap_or_default(),
        canary: indexed.kind == CorpusKind::Canary,
    }
}

/// Matches one micro-batch of requests; answers in request order.
fn match_batch(
    state: &ServiceState,
    principal: &Principal,
    requests: Vec<proto::MatchRequest>,
) -> Result<Vec<proto::MatchResponse>, Status> {
    state.admit(principal, requests.len())?;
    let index = state.index()?;
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
        settings.push((threshold.unwrap_or(1.0), request.limit));
        records.push(fields);
        responses.push(proto::MatchResponse {
            id: request.id,
            matches: Vec::new(),
            error,
        });
    }
    let (suspects, _) = suspects_from_fields(&records, &crate::ingest::ScanOptions::default());
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
            limit => limit as usize,
        };
        response.matches = found
            .iter()
            .filter(|found| found.score >= *threshold)
            .take(limit)
            .map(|found| match_to_proto(&index, found))
            .collect();
    }
    let matched = responses.iter().filter(|response| !response.matches.is_empty()).count();
    state.record(
        principal,
        Rpc::Match,
        responses.len(),
        matched,
        asked_of(state, &suspects),
    )?;
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

#[tonic::async_trait]
impl provenance_server::Provenance for ProvenanceService {
    type MatchStream = MatchStream;

    async fn r#match(
        &self,
        request: Request<Streaming<proto::MatchRequest>>,
    ) -> Result<Response<Self::MatchStream>, Status> {
        let principal = self.state.authorize(&request, Rpc::Match)?;
        let state = self.state.clone();
        let responses = micro_batched(request.into_inner(), MICRO_BATCH, move |batch| {
            match_batch(&state, &principal, batch)
        });
        Ok(Response::new(Box::pin(responses)))
    }

    async fn attribute(
        &self,
        request: Request<Streaming<proto::AttributeRequest>>,
    ) -> Result<Response<proto::AttributionReport>, Status> {
        let principal = self.state.authorize(&request, Rpc::Attribute)?;
        let mut inbound = request.into_inner();
        let mut corpus = None;
        let mut records: Vec<Vec<(String, String)>> = Vec::new();
        let mut settings = None;
        while let Some(message) = inbound.next().await {
            let message = message?;
            if settings.is_none() {
                settings = Some((message.html, threshold_of(message.threshold)?));
            }
            match message.input {
                Some(attribute_request::Input::SuspectCorpus(name)) => {
                    if corpus.is_some() || !records.is_empty() {
                        return Err(Status::invalid_argument(
                            "send either one suspect_corpus or records, not both",
                        ));
                    }
                    corpus = Some(name);
                }
                Some(attribute_request::Input::Records(batch)) => {
                    if corpus.is_some() {
                        return Err(Status::invalid_argument(
                            "send either one suspect_corpus or records, not both",
                        ));
                    }
                    records.extend(batch.records.into_iter().map(|record| fields_of(Some(record))));
                    if records.len() > MAX_ATTRIBUTED {
                        return Err(Status::resource_exhausted(format!(
                            "at most {MAX_ATTRIBUTED} records per Attribute call: ingest the set as a suspect corpus and attribute that"
                        )));
                    }
                }
                None => {}
            }
        }
        let (html, threshold) = settings.ok_or_else(|| Status::invalid_argument("no request message"))?;
        self.state.admit(&principal, records.len().max(1))?;
        if corpus.is_none() && records.is_empty() {
            return Err(Status::invalid_argument("no suspect records and no suspect_corpus"));
        }
        let state = self.state.clone();
        let report = tokio::task::spawn_blocking(move || -> Result<proto::AttributionReport, Status> {
            let index = state.index()?;
            let (suspects, problems) = match &corpus {
                Some(name) => {
                    let kind = index
                        .segments
                        .iter()
                        .find(|indexed| &indexed.corpus == name)
                        .map(|indexed| indexed.kind);
                    match kind {
                        None => return Err(Status::not_found(format!("no corpus named {name:?}"))),
                        Some(CorpusKind::Suspect) => (suspects_of_corpus(&index, name).map_err(status)?, Vec::new()),
                        Some(other) => {
                            return Err(Status::failed_precondition(format!(
                                "corpus {name:?} is a {other} corpus; only suspect corpora are attributed"
                            )));
                        }
                    }
                }
                None => suspects_from_fields(&records, &crate::ingest::ScanOptions::default()),
            };
            let options = MatchOptions {
                threshold,
                limit: usize::MAX,
                ..MatchOptions::default()
            };
            let matches = match_records(&index, &suspects, &options).map_err(status)?;
            let mut report = attribute(&index, &suspects, &matches, problems);
            let asked = asked_of(&state, &suspects);
            state.record(&principal, Rpc::Attribute, report.records, report.matched, asked)?;
            state.metrics.matched_records.inc_by(report.records as u64);
            if !principal.role.sees_contents() {
                redact_examples(&mut report);
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
        .map_err(|join| Status::internal(join.to_string()))??;
        Ok(Response::new(report))
    }
}
