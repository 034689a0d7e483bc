//! Lookups per second for the clients other agencies write, against `leakdex serve` (the release
//! binary, auth and audit on) on loopback, over an index of two generated corpora
//! (`LEAKDEX_BENCH_RECORDS` per corpus, default 100k):
//!
//! - `python/one_per_message`: grpcio (stubs generated from `proto/`), `BatchLookup` with one
//!   identifier per message, 20k lookups per stream;
//! - `python/batches_of_1000`: grpcio, `LookupBatches` with 1,000 identifiers per message, 1M
//!   lookups per stream;
//! - `rust/one_per_message` and `rust/batches_of_1000`: the same two with leakdex's own tonic
//!   client, 1M lookups per stream.
//!
//! The Python client (`tests/python/throughput_client.py`) times its own streams, so Python's
//! start-up is not counted; its Python comes from the tests' virtual environment under `target/`
//! (made on first use). `cargo bench --bench clients`

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use leakdex::service::client::connect;
use leakdex::service::proto::{LookupBatch, LookupRequest, lookup_client::LookupClient};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

mod common;

// The bench needs the Python half of the tests' set-up only.
#[allow(dead_code)]
#[path = "../tests/common/setup.rs"]
mod setup;

const ONE_PER_MESSAGE: usize = 20_000;
const BATCHED: usize = 1_000_000;
const BATCH: usize = 1000;

/// A child process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `leakdex` on `data` with `arguments`; its standard output.
fn leakdex(data: &Path, arguments: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_leakdex"))
        .arg("--data-dir")
        .arg(data)
        .args(arguments)
        .output()
        .expect("leakdex runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf-8")
}

/// The Python client, waiting for commands.
struct PythonClient {
    _child: Killed,
    commands: ChildStdin,
    answers: BufReader<ChildStdout>,
}

impl PythonClient {
    /// Streams per `command` (`single COUNT`, `batched COUNT SIZE`); the seconds it took.
    fn run(&mut self, command: &str) -> Duration {
        writeln!(self.commands, "{command}").expect("command sent");
        let mut line = String::new();
        self.answers.read_line(&mut line).expect("answer read");
        let answer: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("the Python client printed {line:?}"));
        Duration::from_secs_f64(answer["seconds"].as_f64().expect("seconds"))
    }
}

fn bench_clients(c: &mut Criterion) {
    let records = common::records_per_corpus(100_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let (data, _) = common::indexed_corpora(dir.path(), records, &["vaccination.csv", "telecom_kyc.tsv.gz"], false);
    let data = data.root().to_path_buf();
    let token = leakdex(&data, &["token", "create", "--name", "bench", "--role", "investigator"])
        .trim()
        .to_string();
    let mut server = Killed(
        Command::new(env!("CARGO_BIN_EXE_leakdex"))
            .arg("--data-dir")
            .arg(&data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stderr(Stdio::piped())
            .spawn()
            .expect("leakdex serve"),
    );
    let mut stderr = BufReader::new(server.0.stderr.take().expect("stderr"));
    let mut first = String::new();
    stderr.read_line(&mut first).expect("serving line");
    let address = first
        .trim()
        .strip_prefix("leakdex: serving on ")
        .unwrap_or_else(|| panic!("leakdex serve printed {first:?}"))
        .to_string();
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));

    let values = leakdex::synth::suspect_phones(records, 1, BATCHED);
    let queries = dir.path().join("queries.txt");
    std::fs::write(&queries, values.join("\n")).expect("queries");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut python = Killed(
        Command::new(setup::python())
            .arg(manifest.join("tests/python/throughput_client.py"))
            .arg(&address)
            .arg(manifest.join("proto"))
            .arg(&queries)
            .env("LEAKDEX_TOKEN", &token)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python client"),
    );
    let mut client = PythonClient {
        commands: python.0.stdin.take().expect("stdin"),
        answers: BufReader::new(python.0.stdout.take().expect("stdout")),
        _child: python,
    };

    let mut group = c.benchmark_group("clients");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30))
        .warm_up_time(Duration::from_secs(1));
    group.throughput(Throughput::Elements(ONE_PER_MESSAGE as u64));
    group.bench_function("python/one_per_message", |bencher| {
        bencher.iter_custom(|iterations| {
            (0..iterations)
                .map(|_| client.run(&format!("single {ONE_PER_MESSAGE}")))
                .sum()
        });
    });
    group.throughput(Throughput::Elements(BATCHED as u64));
    group.bench_function("python/batches_of_1000", |bencher| {
        bencher.iter_custom(|iterations| {
            (0..iterations)
                .map(|_| client.run(&format!("batched {BATCHED} {BATCH}")))
                .sum()
        });
    });

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let channel = runtime
        .block_on(connect(&format!("http://{address}"), Some(&token)))
        .expect("connect");
    let requests: Vec<LookupRequest> = values
        .iter()
        .enumerate()
        .map(|(id, value)| LookupRequest {
            id: id.to_string(),
            value: value.clone(),
            ..Default::default()
        })
        .collect();
    // The Rust client's requests are built before the clock starts, as the Python client's
    // values are read before it.
    group.bench_function("rust/one_per_message", |bencher| {
        bencher.iter_batched(
            || requests.clone(),
            |requests| {
                runtime.block_on(async {
                    let mut stream = LookupClient::new(channel.clone())
                        .batch_lookup(tokio_stream::iter(requests))
                        .await
                        .expect("call")
                        .into_inner();
                    let mut answered = 0;
                    while stream.message().await.expect("answer").is_some() {
                        answered += 1;
                    }
                    assert_eq!(answered, BATCHED);
                })
            },
            BatchSize::PerIteration,
        );
    });
    group.bench_function("rust/batches_of_1000", |bencher| {
        bencher.iter_batched(
            || {
                requests
                    .chunks(BATCH)
                    .map(|chunk| LookupBatch {
                        requests: chunk.to_vec(),
                    })
                    .collect::<Vec<_>>()
            },
            |batches| {
                runtime.block_on(async {
                    let mut stream = LookupClient::new(channel.clone())
                        .lookup_batches(tokio_stream::iter(batches))
                        .await
                        .expect("call")
                        .into_inner();
                    let mut answered = 0;
                    while let Some(answer) = stream.message().await.expect("answer") {
                        answered += answer.responses.len();
                    }
                    assert_eq!(answered, BATCHED);
                })
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
    drop(server);
}

criterion_group!(benches, bench_clients);
criterion_main!(benches);
