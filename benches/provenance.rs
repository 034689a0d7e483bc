//! Provenance: a bot-style suspect sample matched and attributed against generated corpora.
//!
//! Size: `LEAKDEX_BENCH_RECORDS` records per corpus (default 520,000, five corpora: 2.6 M
//! records) and `LEAKDEX_BENCH_SUSPECTS` suspect records (default 20,000). Setup generates and
//! ingests the corpora first (about a minute at the default size).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use leakdex::catalog::{Corpus, CorpusKind, FileCatalog};
use leakdex::ingest::ScanOptions;
use leakdex::query::Index;
use leakdex::query::r#match::{MatchOptions, match_records, read_suspects};
use leakdex::query::provenance::attribute;
use leakdex::segment::{BuildOptions, build_segment};
use leakdex::storage::DataDir;
use leakdex::synth::{Corpus as Generated, generate, suspect_records, write_suspects};
use std::time::Duration;

fn size(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn bench_provenance(c: &mut Criterion) {
    let records = size("LEAKDEX_BENCH_RECORDS", 520_000);
    let count = size("LEAKDEX_BENCH_SUSPECTS", 20_000) as usize;
    let dir = tempfile::tempdir().expect("temp dir");
    let dumps = dir.path().join("dumps");
    generate(&dumps, records, 1).expect("generate");
    let data = DataDir::open(&dir.path().join("data")).expect("data dir");
    let catalog = FileCatalog::open(data.root());
    for generated in Generated::ALL {
        let name = generated.file_name().split('.').next().unwrap_or("corpus");
        build_segment(
            &data,
            &catalog,
            &Corpus::new(name, CorpusKind::Leak),
            &[dumps.join(generated.file_name())],
            &BuildOptions::default(),
        )
        .expect("ingest");
    }
    let sample = dir.path().join("suspects.jsonl");
    write_suspects(&sample, &suspect_records(records, 1, count)).expect("write suspects");
    let index = Index::open(&data, &catalog, &[]).expect("open");
    let options = MatchOptions {
        limit: usize::MAX,
        ..MatchOptions::default()
    };

    let mut group = c.benchmark_group("provenance");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(count as u64));
    let (suspects, _) = read_suspects(std::slice::from_ref(&sample), &ScanOptions::default());
    group.bench_function(format!("match_and_attribute/{count}_of_{}", records * 5), |bencher| {
        bencher.iter(|| {
            let matches = match_records(&index, &suspects, &options).expect("match");
            attribute(&index, &suspects, &matches, Vec::new()).matched
        });
    });
    group.bench_function(format!("read_match_attribute/{count}_of_{}", records * 5), |bencher| {
        bencher.iter(|| {
            let (suspects, problems) = read_suspects(std::slice::from_ref(&sample), &ScanOptions::default());
            let matches = match_records(&index, &suspects, &options).expect("match");
            attribute(&index, &suspects, &matches, problems).matched
        });
    });
    group.finish();
}

criterion_group!(benches, bench_provenance);
criterion_main!(benches);
