//! `leakdex inspect`: what is in a folder of dumps, per file: format, encoding, counts, rejects
//! with their locations, and each field's kind, confidence and sample values.

use crate::ingest::{
    ColumnClass, Error, FileInfo, FileSummary, Kind, RecordBatch, RecordSink, Reject, ScanOptions, SourceFile, Validity,
};
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

/// Rejects and samples kept per file for the report (all are counted).
const KEPT_REJECTS: usize = 10;
const KEPT_SAMPLES: usize = 3;

/// The whole report, as printed by `inspect --json`.
#[derive(Debug, Default, Serialize)]
pub struct InspectReport {
    pub files: Vec<FileReport>,
    pub records: u64,
    pub rejected: u64,
    /// Paths that could not be listed or opened at all.
    pub errors: Vec<PathError>,
}

#[derive(Debug, Serialize)]
pub struct PathError {
    pub path: String,
    pub error: String,
}

#[derive(Debug, Default, Serialize)]
pub struct FileReport {
    pub path: String,
    pub format: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    pub header: bool,
    pub encoding: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compression: Option<String>,
    pub records: u64,
    pub rejected: u64,
    /// Records with text not as the file wrote it: bytes that were not UTF-8, decoded as
    /// Windows-1252, or lone UTF-16 surrogates in JSON, replaced by U+FFFD.
    pub latin1_records: u64,
    pub rejects: Vec<Reject>,
    pub fields: Vec<FieldReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct FieldReport {
    pub name: String,
    pub kind: Kind,
    pub confidence: f32,
    /// Non-empty values seen.
    pub values: u64,
    pub invalid: u64,
    pub partial: u64,
    pub samples: Vec<String>,
    /// A column of mixed identifiers: each value was typed by its own shape (or its row's type
    /// column), and `kind` is `other`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub by_value: bool,
    /// Values by kind, most first, when the field holds more than one: a column of mixed
    /// identifiers, or identifiers found inside labelled values (`Ph: 98123 45678`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<(Kind, u64)>,
}

#[derive(Default)]
struct FieldTally {
    planned: Option<ColumnClass>,
    kinds: HashMap<Kind, u64>,
    values: u64,
    invalid: u64,
    partial: u64,
    samples: Vec<String>,
}

#[derive(Default)]
struct FileTally {
    report: FileReport,
    order: Vec<String>,
    fields: HashMap<String, FieldTally>,
}

/// A [`RecordSink`] that tallies what it sees into an [`InspectReport`].
#[derive(Default)]
pub struct Inspector {
    files: Mutex<HashMap<String, FileTally>>,
    errors: Mutex<Vec<PathError>>,
}

impl Inspector {
    /// The report, files in path order.
    pub fn finish(self) -> InspectReport {
        let files = self.files.into_inner().unwrap_or_else(|poison| poison.into_inner());
        let mut report = InspectReport {
            errors: self.errors.into_inner().unwrap_or_else(|poison| poison.into_inner()),
            ..InspectReport::default()
        };
        for (_, mut tally) in files {
            for name in &tally.order {
                let Some(field) = tally.fields.remove(name) else {
                    continue;
                };
                tally.report.fields.push(field.into_report(name));
            }
            report.records += tally.report.records;
            report.rejected += tally.report.rejected;
            report.files.push(tally.report);
        }
        report.files.sort_by(|a, b| a.path.cmp(&b.path));
        report
    }

    fn with_file(&self, file: &SourceFile, update: impl FnOnce(&mut FileTally)) {
        let mut files = self.files.lock().unwrap_or_else(|poison| poison.into_inner());
        let tally = files.entry(file.path.clone()).or_insert_with(|| FileTally {
            report: FileReport {
                path: file.path.clone(),
                ..FileReport::default()
            },
            ..FileTally::default()
        });
        update(tally);
    }
}

impl FieldTally {
    fn merge(&mut self, other: FieldTally) {
        self.values += other.values;
        self.invalid += other.invalid;
        self.partial += other.partial;
        for (kind, count) in other.kinds {
            *self.kinds.entry(kind).or_default() += count;
        }
        for sample in other.samples {
            if self.samples.len() < KEPT_SAMPLES && !self.samples.contains(&sample) {
                self.samples.push(sample);
            }
        }
    }

    fn into_report(self, name: &str) -> FieldReport {
        let (kind, confidence) = match self.planned {
            Some(class) => (class.kind, class.confidence),
            None => {
                let (kind, count) = self
                    .kinds
                    .iter()
                    .max_by_key(|&(kind, count)| (*count, std::cmp::Reverse(*kind)))
                    .map_or((Kind::Other, 0), |(kind, count)| (*kind, *count));
                (
                    kind,
                    if self.values == 0 {
                        0.0
                    } else {
                        count as f32 / self.values as f32
                    },
                )
            }
        };
        FieldReport {
            name: name.to_string(),
            kind,
            confidence: (confidence * 100.0).round() / 100.0,
            values: self.values,
            invalid: self.invalid,
            partial: self.partial,
            samples: self.samples,
            by_value: self.planned.is_some_and(|class| class.by_value),
            kinds: if self.kinds.len() > 1 {
                let mut kinds: Vec<(Kind, u64)> = self.kinds.into_iter().collect();
                kinds.sort_by_key(|&(kind, count)| (std::cmp::Reverse(count), kind));
                kinds
            } else {
                Vec::new()
            },
        }
    }
}

impl RecordSink for Inspector {
    fn begin(&self, file: &SourceFile, info: &FileInfo) {
        self.with_file(file, |tally| {
            let report = &mut tally.report;
            report.format = info.format.name().to_string();
            if let crate::ingest::Format::Delimited { delimiter } = info.format {
                report.delimiter = Some(char::from(delimiter).to_string());
            }
            report.header = info.header;
            report.encoding = info.encoding.label().to_string();
            report.compression = info.compression.label().map(str::to_string);
            for (name, class) in &info.columns {
                if !tally.fields.contains_key(name) {
                    tally.order.push(name.clone());
                }
                tally.fields.entry(name.clone()).or_default().planned = Some(*class);
            }
        });
    }

    fn batch(&self, file: &SourceFile, batch: RecordBatch) {
        // Tally by column index without the lock, then merge once per batch.
        let mut local: Vec<FieldTally> = batch.columns().iter().map(|_| FieldTally::default()).collect();
        for record in batch.iter() {
            for field in record.fields() {
                let stats = &mut local[field.column];
                stats.values += 1;
                *stats.kinds.entry(field.kind).or_default() += 1;
                match field.validity {
                    Validity::Valid => {
                        let sample = shortened(field.normalized);
                        if stats.samples.len() < KEPT_SAMPLES && !stats.samples.contains(&sample) {
                            stats.samples.push(sample);
                        }
                    }
                    Validity::Partial => stats.partial += 1,
                    Validity::Invalid => stats.invalid += 1,
                }
            }
        }
        self.with_file(file, |tally| {
            for reject in batch
                .rejects()
                .iter()
                .take(KEPT_REJECTS.saturating_sub(tally.report.rejects.len()))
            {
                tally.report.rejects.push(reject.clone());
            }
            for (name, column) in batch.columns().iter().zip(local) {
                if column.values == 0 {
                    continue;
                }
                if !tally.fields.contains_key(name) {
                    tally.order.push(name.clone());
                }
                tally.fields.entry(name.clone()).or_default().merge(column);
            }
        });
    }

    fn end(&self, file: &SourceFile, outcome: Result<FileSummary, Error>) {
        self.with_file(file, |tally| match outcome {
            Ok(summary) => {
                tally.report.records = summary.records;
                tally.report.rejected = summary.rejected;
                tally.report.latin1_records = summary.latin1_records;
            }
            Err(error) => tally.report.error = Some(error.to_string()),
        });
    }

    fn unreadable(&self, path: &str, error: Error) {
        let mut errors = self.errors.lock().unwrap_or_else(|poison| poison.into_inner());
        errors.push(PathError {
            path: path.to_string(),
            error: error.to_string(),
        });
    }
}

/// Scans `inputs` and reports on them.
pub fn inspect(inputs: &[PathBuf], options: &ScanOptions) -> InspectReport {
    let inspector = Inspector::default();
    crate::ingest::scan(inputs, options, &inspector);
    inspector.finish()
}

impl InspectReport {
    /// The report as a person reads it.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        for file in &self.files {
            let _ = write!(out, "{}\n  format {}", file.path, file.format);
            if let Some(delimiter) = &file.delimiter {
                let shown = if delimiter == "\t" { "\\t" } else { delimiter };
                let _ = write!(
                    out,
                    " (delimiter '{shown}', {})",
                    if file.header { "header" } else { "no header" }
                );
            }
            let _ = write!(out, ", encoding {}", file.encoding);
            if let Some(compression) = &file.compression {
                let _ = write!(out, ", {compression}");
            }
            let _ = writeln!(out, "\n  {} records, {} rejected", file.records, file.rejected);
            if file.latin1_records > 0 {
                let _ = writeln!(
                    out,
                    "  {} records with text not as written (bytes not UTF-8 decoded as windows-1252, or lone JSON surrogates replaced)",
                    file.latin1_records
                );
            }
            if let Some(error) = &file.error {
                let _ = writeln!(out, "  error: {error}");
            }
            for reject in &file.rejects {
                let _ = writeln!(
                    out,
                    "  reject line {} (byte {}): {}",
                    reject.line, reject.offset, reject.reason
                );
            }
            if !file.fields.is_empty() {
                let _ = writeln!(
                    out,
                    "  {:<28} {:<16} {:>5} {:>9} {:>8}  samples",
                    "field", "kind", "conf", "values", "invalid"
                );
            }
            for field in &file.fields {
                let _ = writeln!(
                    out,
                    "  {:<28} {:<16} {:>5.2} {:>9} {:>8}  {}",
                    field.name,
                    if field.by_value { "mixed" } else { field.kind.as_str() },
                    field.confidence,
                    field.values,
                    field.invalid,
                    field.samples.join(", ")
                );
                if !field.kinds.is_empty() {
                    let kinds: Vec<String> = field
                        .kinds
                        .iter()
                        .map(|(kind, count)| format!("{} {count}", kind.as_str()))
                        .collect();
                    let _ = writeln!(out, "  {:<28} by kind: {}", "", kinds.join(", "));
                }
            }
            out.push('\n');
        }
        for error in &self.errors {
            let _ = writeln!(out, "unreadable: {}: {}", error.path, error.error);
        }
        let _ = writeln!(
            out,
            "{} files, {} records, {} rejected",
            self.files.len(),
            self.records,
            self.rejected
        );
        out
    }
}

/// A sample value as a report shows it: at most [`SAMPLE_CHARS`] characters, then `…`.
fn shortened(value: &str) -> String {
    match value.char_indices().nth(SAMPLE_CHARS) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_string(),
    }
}

/// Characters of a sample value shown (a free-text field may hold megabytes).
const SAMPLE_CHARS: usize = 80;
