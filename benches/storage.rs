//! Segments on object storage: the cold start of a process with an empty cache (every segment
//! file downloaded, then mapped), and lookups from a cold versus a warm cache.
//!
//! Object storage: S3 when `LEAKDEX_BENCH_S3=BUCKET[/PREFIX]` is set (endpoint and keys from the
//! `AWS_*` variables: `moto_server` from the tests' Python environment works), else a local
//! directory standing in for it (what the cache itself costs). Size: `LEAKDEX_BENCH_RECORDS`
//! records per corpus (default 100,000; five corpora); 10,000 phone lookups, half present.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use leakdex::catalog::{Corpus, CorpusKind, FileCatalog};
use leakdex::ingest::Region;
use leakdex::query::{Index, Query, lookup_batch};
use leakdex::segment::{BuildOptions, build_segment};
use leakdex::storage::{DataDir, LocalObjects, ObjectStorage, open_objects};
use leakdex::synth::{Corpus as Generated, Person, generate};
use std::sync::Arc;
use std::time::Duration;

fn records() -> u64 {
    std::env::var("LEAKDEX_BENCH_RECORDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(100_000)
}

fn bench_storage(c: &mut Criterion) {
    let records = records();
    let dir = tempfile::tempdir().expect("temp dir");
    let objects: Arc<dyn ObjectStorage> = match std::env::var("LEAKDEX_BENCH_S3") {
        Ok(location) => open_objects(&format!("s3://{location}")).expect("S3").into(),
        Err(_) => Arc::new(LocalObjects::new(&dir.path().join("objects"))),
    };
    let dumps = dir.path().join("dumps");
    generate(&dumps, records, 1).expect("generate");
    // The builder publishes to object storage; the catalog is shared through its file.
    let builder = DataDir::open(&dir.path().join("builder"))
        .expect("data dir")
        .with_objects(objects.clone(), u64::MAX, leakdex::storage::DEFAULT_GAP_BYTES)
        .expect("objects");
    let catalog = FileCatalog::open(builder.root());
    for generated in Generated::ALL {
        let name = generated.file_name().split('.').next().unwrap_or("corpus");
        build_segment(
            &builder,
            &catalog,
            &Corpus::new(name, CorpusKind::Leak),
            &[dumps.join(generated.file_name())],
            &BuildOptions::default(),
        )
        .expect("ingest");
    }
    let bytes: u64 = objects
        .list("segments")
        .expect("list")
        .iter()
        .map(|object| object.size)
        .sum();
    eprintln!("{} of segment files on {}", bytes, objects.uri());
    let phones: Vec<String> = (0..10_000u64)
        .map(|position| match position % 2 {
            0 => Person::new(1, position * 37 % (records * 5 / 4)).mobile,
            _ => format!("9{:09}", position * 7919 % 1_000_000_000),
        })
        .collect();
    let queries = Query::detected(&phones);
    // A reader: its own data directory (an empty cache each time), the builder's key and catalog.
    let reader = |cache: &std::path::Path| {
        DataDir::open(cache)
            .expect("reader")
            .with_key_file(&builder.root().join("key"))
            .expect("key")
            .with_objects(objects.clone(), 10 << 30, leakdex::storage::DEFAULT_GAP_BYTES)
            .expect("cache")
    };

    let mut group = c.benchmark_group("storage");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function(format!("cold_open/{}", records * 5), |bencher| {
        bencher.iter_batched(
            || tempfile::tempdir().expect("cache dir"),
            |cache| {
                Index::open(&reader(cache.path()), &catalog, &[])
                    .expect("open")
                    .segments
                    .len()
            },
            BatchSize::PerIteration,
        );
    });
    group.throughput(Throughput::Elements(queries.len() as u64));
    group.bench_function(format!("cold_open_and_lookups/{}", records * 5), |bencher| {
        bencher.iter_batched(
            || tempfile::tempdir().expect("cache dir"),
            |cache| {
                let index = Index::open(&reader(cache.path()), &catalog, &[]).expect("open");
                lookup_batch(&index, Region::INDIA, &queries).len()
            },
            BatchSize::PerIteration,
        );
    });
    let warm_cache = tempfile::tempdir().expect("cache dir");
    let warm = Index::open(&reader(warm_cache.path()), &catalog, &[]).expect("open");
    group.bench_function(format!("warm_lookups/{}", records * 5), |bencher| {
        bencher.iter(|| lookup_batch(&warm, Region::INDIA, &queries).len());
    });
    // A restart over a warm cache: files already on disk, mapped again.
    group.bench_function(format!("warm_open/{}", records * 5), |bencher| {
        bencher.iter(|| {
            Index::open(&reader(warm_cache.path()), &catalog, &[])
                .expect("open")
                .segments
                .len()
        });
    });
    group.finish();
}

criterion_group!(benches, bench_storage);
criterion_main!(benches);
