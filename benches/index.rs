//! The hash index and the segment: build rate, batch lookup rate, and time to the first answer
//! after opening (which must not grow with the segment's size).
//!
//! `cargo bench --bench index`. Keys: `LEAKDEX_BENCH_KEYS` (default 10M), queries 1M (half present).

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use leakdex::catalog::{Corpus, CorpusKind, FileCatalog};
use leakdex::ingest::Region;
use leakdex::query::{Index, Query, lookup_batch};
use leakdex::segment::hash::{Entry, HashIndex, HashIndexWriter, Layout};
use leakdex::segment::{BuildOptions, build_segment};
use leakdex::storage::DataDir;
use rand::{Rng, SeedableRng, rngs::StdRng};
use std::time::Duration;

fn keys() -> usize {
    std::env::var("LEAKDEX_BENCH_KEYS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(10_000_000)
}

fn bench_hash_index(c: &mut Criterion) {
    let count = keys();
    let mut rng = StdRng::seed_from_u64(1);
    let entries: Vec<Entry> = (0..count)
        .map(|record| Entry {
            fingerprint: rng.random(),
            record: record as u32,
            field: 0,
        })
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut group = c.benchmark_group("hash_index");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(15))
        .warm_up_time(Duration::from_secs(1));
    group.throughput(Throughput::Elements(count as u64));
    group.bench_function(format!("build/{count}"), |bencher| {
        bencher.iter_batched(
            || entries.clone(),
            |entries| {
                let mut writer = HashIndexWriter::new(dir.path(), 1 << 31);
                writer.push(entries).expect("push");
                writer.finish(Layout::for_fields(1)).expect("finish")
            },
            BatchSize::LargeInput,
        );
    });
    let bits = {
        let mut writer = HashIndexWriter::new(dir.path(), 1 << 31);
        writer.push(entries.iter().copied()).expect("push");
        writer.finish(Layout::for_fields(1)).expect("finish").bits
    };
    // In RAM, as the issue asks: the files read into vectors.
    let index = HashIndex::new(
        std::fs::read(dir.path().join("hash.idx")).expect("idx"),
        std::fs::read(dir.path().join("hash.dir")).expect("dir"),
        bits,
        Layout::for_fields(1),
    )
    .expect("index");
    let queries: Vec<u64> = (0..1_000_000)
        .map(|position| {
            if position % 2 == 0 {
                entries[rng.random_range(0..count)].fingerprint
            } else {
                rng.random()
            }
        })
        .collect();
    group.throughput(Throughput::Elements(queries.len() as u64));
    // One sorted batch of 1M, and the service's micro-batches of 4,096: those are sparse in the
    // index, so nearly every probe is a cache miss. Sorting is part of the work, on one core.
    for (name, batch_size) in [
        ("lookup_1M_sorted_batch", queries.len()),
        ("lookup_1M_in_batches_of_4096", 4096),
    ] {
        group.bench_function(format!("{name}/{count}"), |bencher| {
            bencher.iter(|| {
                let mut found = 0usize;
                for batch in queries.chunks(batch_size) {
                    let mut sorted: Vec<(u64, u32)> = batch
                        .iter()
                        .enumerate()
                        .map(|(position, &key)| (key, position as u32))
                        .collect();
                    sorted.sort_unstable();
                    index.probe_sorted(&sorted, |_, _| found += 1);
                }
                assert!(found >= queries.len() / 2);
                found
            });
        });
    }
    group.finish();
}

/// Time from opening a segment to the first answered lookup, for two segment sizes.
fn bench_open(c: &mut Criterion) {
    let mut group = c.benchmark_group("open_and_first_lookup");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    for records in [2_000u64, 100_000] {
        let dir = tempfile::tempdir().expect("temp dir");
        let dumps = dir.path().join("dumps");
        leakdex::synth::generate(&dumps, records, 1).expect("generate");
        let data = DataDir::open(&dir.path().join("data")).expect("data dir");
        let catalog = FileCatalog::open(data.root());
        let corpus = Corpus::new("vaccination", CorpusKind::Leak);
        build_segment(
            &data,
            &catalog,
            &corpus,
            &[dumps.join("vaccination.csv")],
            &BuildOptions::default(),
        )
        .expect("ingest");
        let phone = leakdex::synth::Person::new(1, records / 2).mobile;
        group.bench_function(format!("records/{records}"), |bencher| {
            bencher.iter(|| {
                let index = Index::open(&data, &catalog, &[]).expect("open");
                let queries = Query::detected(std::slice::from_ref(&phone));
                let answers = lookup_batch(&index, Region::INDIA, &queries);
                assert_eq!(answers[0].hits.as_ref().map(Vec::len), Some(1));
                answers.len()
            });
        });
        drop(dir);
    }
    group.finish();
}

criterion_group!(benches, bench_hash_index, bench_open);
criterion_main!(benches);
