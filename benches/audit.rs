//! The audit log's cost per answered call: appending one entry (a call asking one identifier)
//! and one micro-batch's entry (4,096 fingerprints), from one thread and from 8 at once (group
//! commit), to the file log of one machine and — when `LEAKDEX_BENCH_CATALOG=postgres://…` is
//! set — to a cluster's journal in PostgreSQL. Every append is durable before it returns
//! (`fdatasync` of the log and its head, on the disk of `target/`; a committed transaction).
//! The database must be a scratch one: the bench writes its own chain there, under a fixed key.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use leakdex::access::audit::{AuditLog, Request};
use leakdex::catalog::PgCatalog;
use leakdex::storage::DataDir;
use std::sync::Arc;
use std::time::Duration;

/// A call's request with `asked` fingerprints.
fn request(asked: u64) -> Request {
    Request {
        principal: "agency".into(),
        role: "partner".into(),
        rpc: "BatchLookup".into(),
        queries: asked,
        hits: asked / 2,
        asked: (0..asked)
            .map(|number| number.wrapping_mul(0x9e37_79b9_7f4a_7c15))
            .collect(),
        outcome: String::new(),
    }
}

/// `threads` callers appending `each` entries of `asked` fingerprints at once.
fn appends(log: &AuditLog, threads: usize, each: usize, asked: u64) {
    let request = request(asked);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                for _ in 0..each {
                    log.append(&request).expect("append");
                }
            });
        }
    });
}

fn bench_audit(c: &mut Criterion) {
    // On a disk, where an fdatasync costs what it does in production (not a tmpfs /tmp).
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let mut logs = vec![(
        "file",
        AuditLog::new(&DataDir::open(&dir.path().join("file")).expect("data dir")),
    )];
    if let Ok(url) = std::env::var("LEAKDEX_BENCH_CATALOG") {
        // One key for every run, so that a second run extends the chain the first began.
        let key = dir.path().join("deployment.key");
        std::fs::write(&key, "0123456789abcdef0123456789abcdef").expect("key file");
        let shared = Arc::new(PgCatalog::connect(&url).expect("catalog"));
        let data = DataDir::open(&dir.path().join("cluster"))
            .expect("data dir")
            .with_key_file(&key)
            .expect("key")
            .with_shared(shared);
        logs.push(("postgres", AuditLog::new(&data)));
    }
    let mut group = c.benchmark_group("audit");
    group.sample_size(10).measurement_time(Duration::from_secs(5));
    for (name, log) in &logs {
        for (label, asked) in [("one identifier", 1u64), ("micro-batch of 4096", 4096)] {
            group.throughput(Throughput::Elements(64));
            group.bench_function(format!("{name}: 64 appends of {label}, one thread"), |bench| {
                bench.iter(|| appends(log, 1, 64, asked))
            });
            group.bench_function(format!("{name}: 64 appends of {label}, 8 threads"), |bench| {
                bench.iter(|| appends(log, 8, 8, asked))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_audit);
criterion_main!(benches);
