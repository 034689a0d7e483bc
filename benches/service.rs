//! Streamed `BatchLookup` throughput over loopback: 1M phone lookups in one stream, against a
//! served index of two generated corpora (`LEAKDEX_BENCH_RECORDS` per corpus, default 100k).
//!
//! `cargo bench --bench service`

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use leakdex::access::role::Role;
use leakdex::access::token::TokenStore;
use leakdex::ingest::Region;
use leakdex::query::{Query, lookup_batch};
use leakdex::service::client::connect;
use leakdex::service::proto::{LookupRequest, lookup_client::LookupClient};
use leakdex::service::{ServiceState, serve};
use std::time::Duration;

/// Answers and records are many small allocations; mimalloc serves them much faster than glibc's
/// allocator across threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;

const QUERIES: usize = 1_000_000;

fn bench_batch_lookup(c: &mut Criterion) {
    let records = common::records_per_corpus(100_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let (data, catalog) =
        common::indexed_corpora(dir.path(), records, &["vaccination.csv", "telecom_kyc.tsv.gz"], false);
    let values = leakdex::synth::suspect_phones(records, 1, QUERIES);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (_, token) = TokenStore::new(&data)
        .create("bench", Role::Investigator)
        .expect("token");
    let channel = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let state = ServiceState::open(data.clone(), Region::INDIA).expect("state");
        tokio::spawn(serve(listener, state, std::future::pending(), Duration::from_secs(1)));
        connect(&format!("http://{address}"), Some(&token))
            .await
            .expect("connect")
    });
    let mut group = c.benchmark_group("grpc");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .warm_up_time(Duration::from_secs(1));
    group.throughput(Throughput::Elements(QUERIES as u64));
    // The client's identifiers are built before the clock starts (a client has its batch in hand);
    // encoding them, streaming, answering and decoding the answers are measured.
    let requests: Vec<LookupRequest> = values
        .iter()
        .enumerate()
        .map(|(id, value)| LookupRequest {
            id: id.to_string(),
            value: value.clone(),
            kind: 0,
            corpora: Vec::new(),
            ..Default::default()
        })
        .collect();
    group.bench_function("batch_lookup_1M_phones_loopback", |bencher| {
        bencher.iter_batched(
            || requests.clone(),
            |requests| {
                runtime.block_on(async {
                    let mut client = LookupClient::new(channel.clone());
                    let mut stream = client
                        .batch_lookup(tokio_stream::iter(requests))
                        .await
                        .expect("call")
                        .into_inner();
                    let mut answered = 0usize;
                    while let Some(response) = stream.message().await.expect("response") {
                        answered += usize::from(!response.id.is_empty());
                    }
                    assert_eq!(answered, QUERIES);
                    answered
                })
            },
            BatchSize::PerIteration,
        );
    });
    // The same lookups in process, in the service's micro-batches: what the index costs of the
    // above, the rest being gRPC, auth, audit and the client.
    let index = leakdex::query::Index::open(&data, &catalog, &[]).expect("index");
    let queries = Query::detected(&values);
    group.bench_function("lookup_batch_1M_phones_in_4096s_in_process", |bencher| {
        bencher.iter(|| {
            queries
                .chunks(4096)
                .map(|batch| lookup_batch(&index, Region::INDIA, batch).len())
                .sum::<usize>()
        });
    });
    group.finish();
}

criterion_group!(benches, bench_batch_lookup);
criterion_main!(benches);
