//! Suspect records: read from dump files by the ingest front end (any format, any field names),
//! or from an ingested corpus of kind `suspect`.

use super::super::error::QueryError;
use super::super::index::Index;
use crate::ingest::{
    Error as IngestError, FileInfo, FileSummary, Kind, Location, RecordBatch, RecordSink, ScanOptions, SourceFile,
    Validity,
};
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

/// One field of a suspect record.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SuspectField {
    pub name: String,
    pub kind: Kind,
    pub validity: Validity,
    /// Normalized.
    pub value: String,
    pub raw: String,
}

impl SuspectField {
    pub fn new(name: &str, kind: Kind, validity: Validity, value: &str, raw: &str) -> SuspectField {
        SuspectField {
            name: name.to_string(),
            kind,
            validity,
            value: value.to_string(),
            raw: raw.to_string(),
        }
    }
}

/// A suspect record and where it was read.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Suspect {
    pub file: String,
    pub location: Location,
    pub fields: Vec<SuspectField>,
}

/// Collects a scan's records per file.
#[derive(Default)]
struct Collector {
    files: Mutex<HashMap<String, Vec<Suspect>>>,
    problems: Mutex<Vec<String>>,
}

impl Collector {
    fn problem(&self, text: String) {
        self.problems
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .push(text);
    }
}

impl RecordSink for Collector {
    fn begin(&self, _file: &SourceFile, _info: &FileInfo) {}

    fn batch(&self, file: &SourceFile, batch: RecordBatch) {
        for reject in batch.rejects() {
            self.problem(format!("{}:{}: {}", file.path, reject.line, reject.reason));
        }
        let suspects: Vec<Suspect> = batch
            .iter()
            .map(|record| Suspect {
                file: file.path.clone(),
                location: record.location(),
                fields: record
                    .fields()
                    .map(|field| SuspectField::new(field.name, field.kind, field.validity, field.normalized, field.raw))
                    .collect(),
            })
            .collect();
        let mut files = self.files.lock().unwrap_or_else(|poison| poison.into_inner());
        files.entry(file.path.clone()).or_default().extend(suspects);
    }

    fn end(&self, _file: &SourceFile, outcome: Result<FileSummary, IngestError>) {
        if let Err(error) = outcome {
            self.problem(error.to_string());
        }
    }

    fn unreadable(&self, path: &str, error: IngestError) {
        self.problem(format!("{path}: {error}"));
    }
}

/// Reads suspect records from files or folders, in file order then record order; also returns
/// what could not be read (file and line, and why).
pub fn read_suspects(inputs: &[PathBuf], options: &ScanOptions) -> (Vec<Suspect>, Vec<String>) {
    let (files, unreadable) = crate::ingest::discover(inputs, options.follow_links);
    let collector = Collector::default();
    for (path, error) in unreadable {
        collector.unreadable(&path, error);
    }
    crate::ingest::scan_files(&files, options, &collector);
    let mut by_file = collector
        .files
        .into_inner()
        .unwrap_or_else(|poison| poison.into_inner());
    let suspects = files
        .iter()
        .filter_map(|file| by_file.remove(&file.path))
        .flatten()
        .collect();
    let problems = collector
        .problems
        .into_inner()
        .unwrap_or_else(|poison| poison.into_inner());
    (suspects, problems)
}

/// Suspect records given as (field name, value) pairs, as a service receives them; read by the
/// ingest front end like a JSON Lines file, so names and values are classified as in any dump.
/// A suspect's `location.ordinal` is its 1-based position in `records`; records without a
/// readable field produce no suspect.
pub fn suspects_from_fields(records: &[Vec<(String, String)>], options: &ScanOptions) -> (Vec<Suspect>, Vec<String>) {
    let mut lines = Vec::new();
    for record in records {
        let object: serde_json::Map<String, serde_json::Value> = record
            .iter()
            .filter(|(_, value)| !value.trim().is_empty())
            .map(|(name, value)| (name.clone(), serde_json::Value::String(value.clone())))
            .collect();
        // Writing a map of strings cannot fail.
        let _ = serde_json::to_writer(&mut lines, &object);
        lines.push(b'\n');
    }
    let file = SourceFile::in_memory("request", lines.into());
    let collector = Collector::default();
    let options = ScanOptions {
        format: Some(crate::ingest::Format::JsonLines),
        ..options.clone()
    };
    crate::ingest::scan_files(std::slice::from_ref(&file), &options, &collector);
    let mut by_file = collector
        .files
        .into_inner()
        .unwrap_or_else(|poison| poison.into_inner());
    let suspects = by_file.remove(&file.path).unwrap_or_default();
    let problems = collector
        .problems
        .into_inner()
        .unwrap_or_else(|poison| poison.into_inner());
    (suspects, problems)
}

/// The records of an ingested corpus, as suspects (values as normalized and stored).
pub fn suspects_of_corpus(index: &Index, corpus: &str) -> Result<Vec<Suspect>, QueryError> {
    let segments: Vec<_> = index
        .segments
        .iter()
        .filter(|indexed| indexed.corpus == corpus)
        .collect();
    if segments.is_empty() {
        return Err(QueryError::NoCorpus(corpus.to_string()));
    }
    let mut suspects = Vec::new();
    for indexed in segments {
        let segment = &indexed.segment;
        for record in 0..segment.manifest.records {
            let location = segment.location(record);
            suspects.push(Suspect {
                file: segment.file_path(location.file).to_string(),
                location: Location {
                    ordinal: location.ordinal,
                    line: location.line,
                    offset: location.offset,
                },
                fields: segment.with_values(record, |values| {
                    values
                        .filter_map(|(field, validity, value)| {
                            let info = segment.field(field)?;
                            Some(SuspectField::new(&info.name, info.kind, validity, value, value))
                        })
                        .collect()
                }),
            });
        }
    }
    Ok(suspects)
}
