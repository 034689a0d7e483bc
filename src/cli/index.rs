//! Commands that build and keep the index: inspect, ingest, corpora, delete, reindex-text,
//! verify and canary.

use super::flags::{Backends, IngestArgs, ReadOptions};
use super::print::{print_corpora, print_ingest_report};
use super::progress::{IngestBars, progress, records_bar};
use super::{Failure, audit_local, open_data};
use leakdex::catalog::{Corpus, CorpusKind, CorpusSummary};
use leakdex::ingest::{Kind, ScanOptions};
use leakdex::query::Index;
use leakdex::segment::text::{build_text_index_reporting, rebuild_text_index};
use leakdex::segment::{BuildOptions, collect_garbage, delete_corpus, index_corpus};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Inspects with a progress bar on a terminal; exit code 1 if any file could not be read.
pub(super) fn inspect(json: bool, read: ReadOptions, paths: &[PathBuf]) -> ExitCode {
    let mut options = ScanOptions {
        format: read.format,
        region: read.region,
        ..ScanOptions::default()
    };
    let (bar, on_bytes) = progress(paths);
    options.on_bytes = on_bytes;
    let report = leakdex::inspect::inspect(paths, &options);
    bar.finish_and_clear();
    if json {
        match serde_json::to_string(&report) {
            Ok(text) => println!("{text}"),
            Err(error) => eprintln!("leakdex: {error}"),
        }
    } else {
        print!("{}", report.to_text());
    }
    let failed = !report.errors.is_empty() || report.files.iter().any(|file| file.error.is_some());
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

pub(super) fn ingest(data_dir: Option<&Path>, backends: &Backends, args: IngestArgs) -> Result<ExitCode, Failure> {
    let IngestArgs {
        corpus,
        kind,
        acquired,
        source,
        memory_budget,
        force,
        no_text,
        json,
        part,
        read,
        paths,
    } = args;
    let (data, catalog) = open_data(data_dir, backends)?;
    let corpus = Corpus {
        acquired,
        source,
        ..Corpus::new(corpus, kind)
    };
    let (bar, on_bytes) = progress(&paths);
    let scan = ScanOptions {
        format: read.format,
        region: read.region,
        on_bytes,
        ..ScanOptions::default()
    };
    let options = BuildOptions {
        scan,
        memory_budget,
        force,
        share: part,
    };
    let bars = IngestBars {
        bytes: bar,
        text: std::sync::OnceLock::new(),
    };
    let indexed = index_corpus(&data, catalog.as_ref(), &corpus, &paths, &options, !no_text, &bars);
    bars.finish();
    let report = indexed?;
    audit_local(
        &data,
        "Ingest",
        report.files.len(),
        report.records as usize,
        &[(Kind::Other, corpus.name.as_str())],
    )?;
    print_ingest_report(&report, json)
}

pub(super) fn corpora(data_dir: Option<&Path>, backends: &Backends, json: bool) -> Result<ExitCode, Failure> {
    let (data, catalog) = open_data(data_dir, backends)?;
    collect_garbage(&data, catalog.as_ref())?;
    let corpora: Vec<CorpusSummary> = catalog.corpora()?.iter().map(Corpus::summary).collect();
    print_corpora(&corpora, json)?;
    Ok(ExitCode::SUCCESS)
}

pub(super) fn delete(data_dir: Option<&Path>, backends: &Backends, corpus: String) -> Result<ExitCode, Failure> {
    let (data, catalog) = open_data(data_dir, backends)?;
    let segments = delete_corpus(&data, catalog.as_ref(), &corpus)?;
    audit_local(&data, "Delete", 1, segments, &[(Kind::Other, corpus.as_str())])?;
    println!("deleted corpus {corpus} ({segments} segments)");
    Ok(ExitCode::SUCCESS)
}

pub(super) fn reindex_text(data_dir: Option<&Path>, backends: &Backends, force: bool) -> Result<ExitCode, Failure> {
    let (data, catalog) = open_data(data_dir, backends)?;
    let corpora = catalog.corpora()?;
    let segments: Vec<_> = corpora
        .iter()
        .flat_map(|corpus| corpus.published())
        .filter(|segment| force || !data.text_path(&segment.id).exists())
        .collect();
    let bar = records_bar(segments.iter().map(|segment| segment.records).sum());
    let progress = |records| bar.inc(records);
    for segment in segments {
        match force {
            true => rebuild_text_index(&data, &segment.id, &progress)?,
            false => build_text_index_reporting(&data, &segment.id, &progress)?,
        }
    }
    bar.finish_and_clear();
    Ok(ExitCode::SUCCESS)
}

pub(super) fn verify(data_dir: Option<&Path>, backends: &Backends, corpus: Vec<String>) -> Result<ExitCode, Failure> {
    let (data, catalog) = open_data(data_dir, backends)?;
    let index = Index::open(&data, catalog.as_ref(), &corpus)?;
    let mut failed = false;
    for indexed in &index.segments {
        match indexed.segment.verify() {
            Ok(()) => println!("ok\t{}\t{}", indexed.corpus, indexed.segment.manifest.id),
            Err(error) => {
                failed = true;
                println!("CORRUPT\t{}\t{error}", indexed.corpus);
            }
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

pub(super) fn canary_add(
    data_dir: Option<&Path>,
    backends: &Backends,
    source: String,
    corpus: Option<String>,
    read: ReadOptions,
    paths: Vec<PathBuf>,
) -> Result<ExitCode, Failure> {
    let (data, catalog) = open_data(data_dir, backends)?;
    let corpus = Corpus {
        source: Some(source.clone()),
        ..Corpus::new(corpus.unwrap_or_else(|| format!("canary-{source}")), CorpusKind::Canary)
    };
    let scan = ScanOptions {
        format: read.format,
        region: read.region,
        ..ScanOptions::default()
    };
    let options = BuildOptions {
        scan,
        ..BuildOptions::default()
    };
    // A canary is never searched: no full text.
    let report = index_corpus(&data, catalog.as_ref(), &corpus, &paths, &options, false, &())?;
    audit_local(
        &data,
        "CanaryAdd",
        report.files.len(),
        report.records as usize,
        &[(Kind::Other, corpus.name.as_str())],
    )?;
    print_ingest_report(&report, false)
}

pub(super) fn canary_list(data_dir: Option<&Path>, backends: &Backends) -> Result<ExitCode, Failure> {
    let (_, catalog) = open_data(data_dir, backends)?;
    for corpus in catalog
        .corpora()?
        .iter()
        .filter(|corpus| corpus.kind == CorpusKind::Canary)
    {
        println!(
            "{}\tplanted in {}\t{} records",
            corpus.name,
            corpus.source.as_deref().unwrap_or("?"),
            corpus.summary().records
        );
    }
    Ok(ExitCode::SUCCESS)
}
