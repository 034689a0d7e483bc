//! Parse + classify + normalize throughput per format, on generated corpora, on one rayon
//! thread (MB/s per core; the reader thread that cuts chunks runs beside it) and on all cores.
//!
//! `cargo bench --bench ingest`; `LEAKDEX_BENCH_RECORDS` sets records per corpus (default 40000).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use leakdex::ingest::{Error, FileInfo, FileSummary, Format, RecordBatch, RecordSink, ScanOptions, SourceFile, scan};
use leakdex::synth::Corpus;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Counts what it is given, so the bench measures the front end, not a consumer.
#[derive(Default)]
struct CountingSink {
    records: AtomicU64,
    fields: AtomicU64,
}

impl RecordSink for CountingSink {
    fn begin(&self, _: &SourceFile, _: &FileInfo) {}

    fn batch(&self, _: &SourceFile, batch: RecordBatch) {
        self.records.fetch_add(batch.len() as u64, Ordering::Relaxed);
        let fields: usize = batch.iter().map(|record| record.fields().len()).sum();
        self.fields.fetch_add(fields as u64, Ordering::Relaxed);
    }

    fn end(&self, file: &SourceFile, outcome: Result<FileSummary, Error>) {
        if let Err(error) = outcome {
            panic!("{}: {error}", file.path);
        }
    }

    fn unreadable(&self, path: &str, error: Error) {
        panic!("{path}: {error}");
    }
}

fn write_corpus(dir: &Path, corpus: Corpus, records: u64) -> PathBuf {
    // Uncompressed, so the numbers are parsing, not gunzip.
    let path = dir.join(corpus.file_name().trim_end_matches(".gz"));
    let mut bytes = Vec::new();
    corpus.write(&mut bytes, records, 1).expect("generate");
    std::fs::write(&path, bytes).expect("write corpus");
    path
}

fn bench_formats(c: &mut Criterion) {
    let records: u64 = std::env::var("LEAKDEX_BENCH_RECORDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(40_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cases: Vec<(String, PathBuf, Option<Format>)> = Corpus::ALL
        .iter()
        .map(|&corpus| (format!("{corpus:?}"), write_corpus(dir.path(), corpus, records), None))
        .collect();
    let vaccination = cases[0].1.clone();
    cases.push(("FreeText".to_string(), vaccination, Some(Format::Text)));
    let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("pool");
    let mut group = c.benchmark_group("ingest");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .warm_up_time(Duration::from_secs(1));
    for (name, path, format) in &cases {
        let bytes = std::fs::metadata(path).expect("size").len();
        group.throughput(Throughput::Bytes(bytes));
        let options = ScanOptions {
            format: *format,
            ..ScanOptions::default()
        };
        let run = || {
            let sink = CountingSink::default();
            scan(std::slice::from_ref(path), &options, &sink);
            assert!(sink.records.load(Ordering::Relaxed) > 0);
        };
        group.bench_function(format!("{name}/1-thread"), |bencher| {
            bencher.iter(|| one_thread.install(run))
        });
        group.bench_function(format!("{name}/all-threads"), |bencher| bencher.iter(run));
    }
    group.finish();
}

criterion_group!(benches, bench_formats);
criterion_main!(benches);
