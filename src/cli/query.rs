//! Commands that ask the index: lookup, range-lookup, search, show and provenance.

use super::flags::{Backends, LookupArgs, ProvenanceArgs, parse_kind};
use super::print::{RecordMatchWriter, print_provenance, print_range, print_search_hits, print_shown, write_answer};
use super::transfer::{Output, open_queries};
use super::{Failure, audit_local, open_data};
use leakdex::access::audit::{AuditLog, Request as AuditRequest};
use leakdex::fingerprint::IDENTIFYING_KINDS;
use leakdex::ingest::{Kind, Region, ScanOptions};
use leakdex::query::r#match::{MatchOptions, RecordMatch, Suspect, SuspectReader, suspects_of_corpus};
use leakdex::query::provenance::{ATTRIBUTION_CHUNK, attribute_chunks};
use leakdex::query::{Answer, Index, Query, lookup_batch, readable};
use leakdex::storage::DataDir;
use std::io::BufRead;
use std::path::Path;
use std::process::ExitCode;

pub(super) fn lookup(data_dir: Option<&Path>, backends: &Backends, args: LookupArgs) -> Result<ExitCode, Failure> {
    let LookupArgs {
        kind,
        corpus,
        json,
        file,
        output,
        region,
        // One machine holds every partition: its answers are always complete.
        require_complete: _,
        values,
    } = args;
    let (data, catalog) = open_data(data_dir, backends)?;
    let index = Index::open(&data, catalog.as_ref(), &corpus)?;
    run_lookup(
        &data,
        &index,
        region,
        parse_kind(kind.as_deref())?,
        (file.as_deref(), output.as_deref()),
        values,
        json,
    )
}

pub(super) fn range_lookup(
    data_dir: Option<&Path>,
    backends: &Backends,
    kind: Option<String>,
    region: Region,
    value: String,
) -> Result<ExitCode, Failure> {
    let (kind, normalized, prefix, suffix) = range_query(kind.as_deref(), region, &value)?;
    let (data, catalog) = open_data(data_dir, backends)?;
    let index = Index::open(&data, catalog.as_ref(), &[])?;
    let entries = leakdex::query::range::range_lookup(&index, &prefix)?;
    audit_local(&data, "RangeLookup", 1, 0, &[(Kind::Other, prefix.as_str())])?;
    let entries: Vec<(String, Vec<String>)> = entries.into_iter().map(|entry| (entry.suffix, entry.corpora)).collect();
    print_range(kind, &normalized, &prefix, &suffix, &entries);
    Ok(ExitCode::SUCCESS)
}

pub(super) fn search(
    data_dir: Option<&Path>,
    backends: &Backends,
    json: bool,
    limit: usize,
    corpus: Vec<String>,
    plain: bool,
    query: String,
) -> Result<ExitCode, Failure> {
    let (data, catalog) = open_data(data_dir, backends)?;
    let index = Index::open(&data, catalog.as_ref(), &corpus)?;
    let hits = leakdex::query::search(&index, &readable(&query, plain)?, limit, &[])?;
    audit_local(&data, "Search", 1, hits.len(), &[(Kind::Other, query.as_str())])?;
    print_search_hits(&hits, json)?;
    Ok(ExitCode::SUCCESS)
}

pub(super) fn show(
    data_dir: Option<&Path>,
    backends: &Backends,
    corpus: String,
    file: String,
    record: u64,
    json: bool,
) -> Result<ExitCode, Failure> {
    let (data, catalog) = open_data(data_dir, backends)?;
    let index = Index::open(&data, catalog.as_ref(), std::slice::from_ref(&corpus))?;
    let shown = index.show(&corpus, &file, record)?;
    let address = format!("{corpus}\u{1f}{file}\u{1f}{record}");
    audit_local(
        &data,
        "GetRecord",
        1,
        usize::from(shown.is_some()),
        &[(Kind::Other, address.as_str())],
    )?;
    let Some(shown) = shown else {
        return Err(format!("corpus {corpus} has no record {record} in file {file:?}").into());
    };
    print_shown(&corpus, &shown, json)?;
    Ok(ExitCode::SUCCESS)
}

pub(super) fn provenance(
    data_dir: Option<&Path>,
    backends: &Backends,
    args: ProvenanceArgs,
) -> Result<ExitCode, Failure> {
    let ProvenanceArgs {
        json,
        html,
        records,
        corpus,
        threshold,
        read,
        paths,
    } = args;
    let (data, catalog) = open_data(data_dir, backends)?;
    let index = Index::open(&data, catalog.as_ref(), &[])?;
    let options = MatchOptions {
        threshold,
        limit: usize::MAX,
        ..MatchOptions::default()
    };
    let mut matches_out = records.as_deref().map(RecordMatchWriter::create).transpose()?;
    // Each chunk is audited as it is matched, as a batch lookup's micro-batches are.
    let each = |suspects: &[Suspect], matches: &[Vec<RecordMatch<'_>>]| -> Result<(), Failure> {
        let asked: Vec<(Kind, &str)> = suspects
            .iter()
            .flat_map(|suspect| &suspect.fields)
            .filter(|field| IDENTIFYING_KINDS.contains(&field.kind))
            .map(|field| (field.kind, field.value.as_str()))
            .collect();
        let matched = matches.iter().filter(|list| !list.is_empty()).count();
        audit_local(&data, "Attribute", suspects.len(), matched, &asked)?;
        if let Some(out) = &mut matches_out {
            out.write(matches)?;
        }
        Ok(())
    };
    let report = match &corpus {
        Some(name) => {
            let chunks = suspects_of_corpus(&index, name, ATTRIBUTION_CHUNK)?;
            attribute_chunks(&index, chunks, &options, each)?.finish(&index, Vec::new())
        }
        None => {
            let scan = ScanOptions {
                format: read.format,
                region: read.region,
                ..ScanOptions::default()
            };
            let mut reader = SuspectReader::new(&paths, &scan, ATTRIBUTION_CHUNK);
            let attribution = attribute_chunks(&index, reader.by_ref(), &options, each)?;
            attribution.finish(&index, reader.problems())
        }
    };
    if let Some(out) = matches_out {
        out.finish()?;
    }
    if let Some(path) = &html {
        std::fs::write(path, leakdex::report::render_html(&report))?;
    }
    print_provenance(&report, json)?;
    Ok(ExitCode::SUCCESS)
}

/// Queries are answered in batches of this many, so any number streams in bounded memory.
const LOOKUP_BATCH: usize = 1 << 18;

fn run_lookup(
    data: &DataDir,
    index: &Index,
    region: Region,
    kind: Option<Kind>,
    (file, output): (Option<&Path>, Option<&Path>),
    values: Vec<String>,
    json: bool,
) -> Result<ExitCode, Failure> {
    let mut out = Output::open(output)?;
    let audit = AuditLog::new(data);
    // Every batch is on the record before it is shown.
    let emit = |answers: Vec<Answer>, out: &mut Output| -> Result<(), Failure> {
        audit.append(&AuditRequest::local("Lookup").with_answers(&data.key(), &answers))?;
        answers.iter().try_for_each(|answer| write_answer(answer, json, out))
    };
    let reader = open_queries(file)?;
    let mut batch: Vec<Query> = values.into_iter().map(|value| Query { value, kind }).collect();
    if let Some(reader) = reader {
        for line in reader.lines() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            batch.push(Query { value: line, kind });
            if batch.len() == LOOKUP_BATCH {
                emit(lookup_batch(index, region, &batch), &mut out)?;
                batch.clear();
            }
        }
    }
    if !batch.is_empty() {
        emit(lookup_batch(index, region, &batch), &mut out)?;
    }
    out.finish()?;
    Ok(ExitCode::SUCCESS)
}

/// The kind, normalized value and hash prefix and suffix of a private lookup's value.
pub(super) fn range_query(
    kind: Option<&str>,
    region: Region,
    value: &str,
) -> Result<(Kind, String, String, String), Failure> {
    let query = Query {
        value: value.to_string(),
        kind: parse_kind(kind)?,
    };
    let (kind, normalized) = leakdex::query::normalize_query(&query, region)?;
    let (prefix, suffix) = leakdex::query::range::hash_parts(&normalized);
    Ok((kind, normalized, prefix, suffix))
}
