//! Full-text search latency, leakdex against SQLite FTS5 on the same records and queries.
//!
//! Five generated corpora (`LEAKDEX_BENCH_RECORDS` people each, default 100k; 520k makes the 2.6M
//! records of the issue) are indexed with full text. 300 queries of the form
//! `name:"FIRST" AND name:"LAST" AND district:"DISTRICT"` (limit 1,000; quoted so that FTS5 reads
//! `d'souza` too), for people drawn from the corpora, are run one by one in process:
//!
//! - by leakdex (`query::search`, the hits read from the record store as the service returns
//!   them), measured by criterion as one iteration of all 300, then once more query by query;
//! - by leakdex's gRPC `Search` over loopback, one call at a time, as an investigator's client
//!   asks (token check, audit entry with its fsync, redaction, encoding and decoding included);
//! - by SQLite FTS5 through Python's `sqlite3` (`tests/python/fts5_search.py`), over the same
//!   fields leakdex indexes as text (name, district, state, address, normalized as leakdex holds
//!   them), fetching every matching rowid up to the limit, best first (`ORDER BY rank`, as
//!   leakdex ranks) and again unranked.
//!
//! Both engines' p50, p99 and max are printed side by side. `cargo bench --bench search`

use criterion::{Criterion, criterion_group, criterion_main};
use leakdex::access::role::Role;
use leakdex::access::token::TokenStore;
use leakdex::catalog::{Catalog, FileCatalog};
use leakdex::ingest::{Kind, Region};
use leakdex::query::{Index, readable, search};
use leakdex::segment::Segment;
use leakdex::service::client::connect;
use leakdex::service::proto::{SearchRequest, lookup_client::LookupClient};
use leakdex::service::{ServiceState, serve};
use leakdex::storage::DataDir;
use rand::prelude::*;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

mod common;

// The bench needs the Python half of the tests' set-up only.
#[allow(dead_code)]
#[path = "../tests/common/setup.rs"]
mod setup;

const QUERIES: usize = 300;
const LIMIT: usize = 1000;
/// The text fields FTS5 gets, in its columns' order.
const COLUMNS: [Kind; 4] = [Kind::Name, Kind::District, Kind::State, Kind::Address];

/// p50, p99 and max of `latencies` (sorted here), in ms.
fn percentiles(latencies: &mut [f64]) -> (f64, f64, f64) {
    latencies.sort_by(f64::total_cmp);
    let at = |fraction: f64| latencies[((fraction * latencies.len() as f64) as usize).min(latencies.len() - 1)];
    (at(0.5), at(0.99), latencies[latencies.len() - 1])
}

/// Every record's text fields as FTS5 rows: tab-separated, one record per line.
fn export_text(data: &DataDir, catalog: &FileCatalog, out: &Path) {
    let mut rows = std::io::BufWriter::new(std::fs::File::create(out).expect("records file"));
    for corpus in catalog.corpora().expect("corpora") {
        for published in corpus.published() {
            let segment = Segment::open(&data.segment_path(&published.id)).expect("segment");
            let kinds: Vec<Kind> = segment.manifest.fields.iter().map(|field| field.kind).collect();
            segment
                .for_each_record(|_, stored| {
                    let mut columns: [String; 4] = Default::default();
                    for field in &stored.fields {
                        let kind = kinds[field.field as usize];
                        if let Some(column) = COLUMNS.iter().position(|wanted| *wanted == kind) {
                            let value = field.normalized.as_deref().unwrap_or(&field.raw);
                            if !columns[column].is_empty() {
                                columns[column].push(' ');
                            }
                            columns[column].push_str(&value.replace(['\t', '\n'], " "));
                        }
                    }
                    writeln!(rows, "{}", columns.join("\t")).map_err(|source| leakdex::segment::SegmentError::Io {
                        path: out.display().to_string(),
                        source,
                    })
                })
                .expect("records exported");
        }
    }
    rows.flush().expect("records written");
}

/// Latencies (ms) of `queries` asked one at a time through the gRPC `Search` RPC of a server
/// on loopback, as an investigator.
fn over_grpc(data: &DataDir, queries: &[String]) -> Vec<f64> {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (_, token) = TokenStore::new(data)
        .create("search-bench", Role::Investigator)
        .expect("token");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let state = ServiceState::open(data.clone(), Region::INDIA).expect("state");
        tokio::spawn(serve(listener, state, std::future::pending(), Duration::from_secs(1)));
        let channel = connect(&format!("http://{address}"), Some(&token))
            .await
            .expect("connect");
        let mut client = LookupClient::new(channel);
        let mut latencies = Vec::with_capacity(queries.len());
        for query in queries {
            let started = Instant::now();
            let hits = client
                .search(SearchRequest {
                    query: query.clone(),
                    limit: LIMIT as u32,
                    corpora: Vec::new(),
                    plain: false,
                })
                .await
                .expect("search")
                .into_inner()
                .hits;
            latencies.push(started.elapsed().as_secs_f64() * 1000.0);
            std::hint::black_box(hits);
        }
        latencies
    })
}

fn bench_search(c: &mut Criterion) {
    let records = common::records_per_corpus(100_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let (data, catalog) = common::indexed_corpora(dir.path(), records, &[], true);
    let index = Index::open(&data, &catalog, &[]).expect("index");
    let indexed: u64 = index
        .segments
        .iter()
        .map(|indexed| indexed.segment.manifest.records)
        .sum();
    eprintln!(
        "{indexed} records indexed with full text in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let mut rng = StdRng::seed_from_u64(7);
    let queries: Vec<String> = (0..QUERIES)
        .map(|_| {
            let person = leakdex::synth::Person::new(1, rng.random_range(0..records));
            format!(
                "name:\"{}\" AND name:\"{}\" AND district:\"{}\"",
                person.first.to_lowercase(),
                person.last.to_lowercase(),
                person.district.to_lowercase()
            )
        })
        .collect();

    let mut group = c.benchmark_group("search");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .warm_up_time(Duration::from_secs(2));
    group.bench_function("300_name_and_district_queries", |bencher| {
        bencher.iter(|| {
            queries
                .iter()
                .map(|query| {
                    search(&index, &readable(query, false).expect("readable"), LIMIT, &[])
                        .expect("search")
                        .len()
                })
                .sum::<usize>()
        });
    });
    group.finish();

    let mut latencies = Vec::with_capacity(QUERIES);
    let mut hits = 0;
    for query in &queries {
        let started = Instant::now();
        hits += search(&index, &readable(query, false).expect("readable"), LIMIT, &[])
            .expect("search")
            .len();
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let (p50, p99, max) = percentiles(&mut latencies);
    let (grpc_p50, grpc_p99, grpc_max) = percentiles(&mut over_grpc(&data, &queries));

    let rows = dir.path().join("records.tsv");
    export_text(&data, &catalog, &rows);
    let query_file = dir.path().join("queries.txt");
    std::fs::write(&query_file, queries.join("\n")).expect("queries");
    let output = Command::new(setup::python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/fts5_search.py"))
        .arg(&rows)
        .arg(&query_file)
        .arg(LIMIT.to_string())
        .output()
        .expect("python runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let fts5: serde_json::Value = serde_json::from_slice(&output.stdout).expect("FTS5 figures");
    let ms = |name: &str| fts5[name].as_f64().unwrap_or(f64::NAN);
    println!(
        "\n{QUERIES} queries `name:\"F\" AND name:\"L\" AND district:\"D\"`, limit {LIMIT}, {indexed} records, in process"
    );
    println!("engine            p50 ms   p99 ms   max ms   mean hits");
    println!(
        "leakdex          {p50:7.2}  {p99:7.2}  {max:7.2}   {:9.1}",
        hits as f64 / QUERIES as f64
    );
    println!(
        "leakdex gRPC     {grpc_p50:7.2}  {grpc_p99:7.2}  {grpc_max:7.2}               (loopback, one call at a time)"
    );
    println!(
        "SQLite FTS5      {:7.2}  {:7.2}  {:7.2}   {:9.1}   (best first; built in {:.1} s)",
        ms("p50_ms"),
        ms("p99_ms"),
        ms("max_ms"),
        ms("mean_hits"),
        ms("build_seconds")
    );
    println!(
        "SQLite FTS5      {:7.2}  {:7.2}  {:7.2}   {:9.1}   (unranked)",
        ms("unranked_p50_ms"),
        ms("unranked_p99_ms"),
        ms("unranked_max_ms"),
        ms("unranked_mean_hits"),
    );
}

criterion_group!(benches, bench_search);
criterion_main!(benches);
