//! The generator's corpora: right counts and kinds, known overlaps, and the same records
//! whatever the chunk size (the parallel pipeline keeps file order).

use crate::common::collect;
use leakdex::ingest::{Kind, ScanOptions};
use leakdex::synth::{Corpus, generate};
use std::collections::HashSet;
use std::path::PathBuf;

#[test]
fn generated_corpora_read_cleanly_with_known_overlaps() {
    let dir = tempfile::tempdir().unwrap();
    let records = 3000;
    let manifest = generate(dir.path(), records, 7).unwrap();
    let paths: Vec<PathBuf> = manifest
        .corpora
        .iter()
        .map(|corpus| dir.path().join(&corpus.file))
        .collect();
    let (files, unreadable) = collect(&paths, &ScanOptions::default());
    assert!(unreadable.is_empty());
    let key_columns: [(Corpus, &[(&str, Kind)]); 5] = [
        (
            Corpus::Vaccination,
            &[
                ("name", Kind::Name),
                ("mobile_number", Kind::Phone),
                ("photo_id_number", Kind::NationalId),
                ("birth_year", Kind::BirthYear),
            ],
        ),
        (
            Corpus::TelecomKyc,
            &[
                ("msisdn", Kind::Phone),
                ("subscriber_name", Kind::Name),
                ("dob", Kind::DateOfBirth),
                ("aadhaar_no", Kind::NationalId),
            ],
        ),
        (
            Corpus::ShopOrders,
            &[
                ("customer.email", Kind::Email),
                ("customer.contact.mobile", Kind::Phone),
                ("customer.full_name", Kind::Name),
            ],
        ),
        (Corpus::ComboList, &[("login", Kind::Email), ("secret", Kind::Password)]),
        (
            Corpus::LegacyPortal,
            &[
                ("users.email", Kind::Email),
                ("users.phone", Kind::Phone),
                ("users.pan", Kind::Pan),
                ("users.dob", Kind::DateOfBirth),
                ("users.password_hash", Kind::PasswordHash),
            ],
        ),
    ];
    for (corpus, columns) in key_columns {
        let collected = &files[corpus.file_name()];
        assert_eq!(collected.records.len() as u64, records, "{corpus:?}");
        assert!(
            collected.rejects.is_empty(),
            "{corpus:?}: {:?}",
            &collected.rejects[..1]
        );
        for record in &collected.records {
            for (name, kind) in columns {
                if let Some(field) = record.field(name) {
                    assert_eq!(field.kind, *kind, "{corpus:?} {name}");
                    assert_ne!(
                        field.validity,
                        leakdex::ingest::Validity::Invalid,
                        "{corpus:?} {name} {}",
                        field.raw
                    );
                }
            }
        }
    }
    // Phones shared by two corpora are exactly the people their windows share.
    let phones = |corpus: Corpus, column: &str| -> HashSet<String> {
        files[corpus.file_name()]
            .records
            .iter()
            .filter_map(|record| record.field(column))
            .map(|field| field.normalized.clone())
            .collect()
    };
    let vaccination = phones(Corpus::Vaccination, "mobile_number");
    for (corpus, column) in [
        (Corpus::TelecomKyc, "msisdn"),
        (Corpus::ShopOrders, "customer.contact.mobile"),
        (Corpus::LegacyPortal, "users.phone"),
    ] {
        let shared = vaccination.intersection(&phones(corpus, column)).count() as u64;
        let expected = manifest
            .overlaps
            .iter()
            .find(|overlap| overlap.a == Corpus::Vaccination && overlap.b == corpus)
            .unwrap()
            .people;
        assert_eq!(shared, expected, "{corpus:?}");
    }
}

#[test]
fn small_chunks_give_the_same_records_in_the_same_order() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), 2500, 3).unwrap();
    let paths = vec![dir.path().to_path_buf()];
    let (expected, _) = collect(&paths, &ScanOptions::default());
    let small = ScanOptions {
        chunk_bytes: 16 << 10,
        ..ScanOptions::default()
    };
    let (actual, _) = collect(&paths, &small);
    assert_eq!(expected.keys().collect::<Vec<_>>(), actual.keys().collect::<Vec<_>>());
    for (name, collected) in &expected {
        assert!(collected.records.len() >= 2500 || name.ends_with(".json"), "{name}");
        assert_eq!(collected.records, actual[name].records, "{name}");
        let ordinals: Vec<u64> = actual[name]
            .records
            .iter()
            .map(|record| record.location.ordinal)
            .collect();
        assert!(
            ordinals
                .iter()
                .enumerate()
                .all(|(index, ordinal)| *ordinal == index as u64 + 1),
            "{name}"
        );
    }
}

/// Peak resident memory (bytes) and wall time of `command`, run to completion; its output is
/// returned.
///
/// The peak is the child's own high-water mark (`VmHWM` in `/proc/PID/status`), read every
/// 10 ms while it runs (growth in its last 10 ms is missed). `ru_maxrss` from `wait4` is not: Linux carries the parent's peak
/// across `exec` into it, so every child of this test process, which maps a whole index for
/// its lookups, read as at least this process's peak (DuckDB's load and leakdex's ingest
/// both read 461 MB at 2.6M records).
fn measured(command: &mut std::process::Command) -> (std::time::Duration, u64, std::process::Output) {
    use std::io::Read;
    let started = std::time::Instant::now();
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        stdout.read_to_end(&mut bytes).map(|_| bytes)
    });
    let err = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        stderr.read_to_end(&mut bytes).map(|_| bytes)
    });
    let pid = child.id();
    let finished = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let finished = finished.clone();
        std::thread::spawn(move || {
            let mut peak_kib = 0u64;
            while !finished.load(std::sync::atomic::Ordering::Relaxed) {
                let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                let kib = status
                    .lines()
                    .find_map(|line| line.strip_prefix("VmHWM:"))
                    .and_then(|value| value.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
                peak_kib = peak_kib.max(kib.unwrap_or(0));
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            peak_kib * 1024
        })
    };
    let status = child.wait().unwrap();
    let elapsed = started.elapsed();
    finished.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak = watcher.join().unwrap();
    let output = std::process::Output {
        status,
        stdout: out.join().unwrap().unwrap(),
        stderr: err.join().unwrap().unwrap(),
    };
    (elapsed, peak, output)
}

/// The scale run of issue 12, opt-in: `LEAKDEX_SCALE_RECORDS=2600000 cargo test --release -- \
/// --ignored --nocapture scale_run` (`LEAKDEX_SCALE_DIR` for where the dumps and the index go,
/// default a temporary directory; about 160 B of dumps and 150 B of index per record).
/// Generates five corpora of about a fifth of the records each, ingests them as one corpus
/// without full text under the default memory budget, and looks up 1M phones (nine in ten
/// present) twice, the first time with the page cache dropped if it can (as root); prints wall
/// time, peak RSS, bytes per record by file and lookups/s. With `LEAKDEX_SCALE_DUCKDB=1` it
/// also sets DuckDB's load of the files it reads beside leakdex's ingest of the same files
/// (see [`duckdb_beside_leakdex`]; installs DuckDB in a virtual environment under `target/`).
#[test]
#[ignore = "opt-in scale run: set LEAKDEX_SCALE_RECORDS and pass --ignored"]
fn scale_run() {
    let total: u64 = std::env::var("LEAKDEX_SCALE_RECORDS")
        .expect("LEAKDEX_SCALE_RECORDS: how many records to generate")
        .parse()
        .expect("LEAKDEX_SCALE_RECORDS is a number");
    let temporary = tempfile::tempdir().unwrap();
    let root = std::env::var_os("LEAKDEX_SCALE_DIR").map_or_else(|| temporary.path().to_path_buf(), PathBuf::from);
    let dumps = root.join("dumps");
    let data = root.join("data");
    let _ = std::fs::remove_dir_all(&data);
    let binary = env!("CARGO_BIN_EXE_leakdex");
    let per_corpus = (total / 5).max(1);
    let check = |what: &str, output: &std::process::Output| {
        assert!(
            output.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    // The generator is deterministic: dumps of the same size in LEAKDEX_SCALE_DIR are reused.
    let manifest: Option<serde_json::Value> = std::fs::read(dumps.join("gen-manifest.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let reused = manifest.is_some_and(|manifest| manifest["records_per_corpus"] == per_corpus && manifest["seed"] == 1);
    let (generated, generated_rss) = if reused {
        (std::time::Duration::ZERO, 0)
    } else {
        let (generated, generated_rss, output) = measured(
            std::process::Command::new(binary)
                .args(["gen", "--records", &per_corpus.to_string(), "--out"])
                .arg(&dumps),
        );
        check("gen", &output);
        (generated, generated_rss)
    };
    let source_bytes: u64 = std::fs::read_dir(&dumps)
        .unwrap()
        .map(|entry| entry.unwrap().metadata().unwrap().len())
        .sum();
    let (ingested, ingest_rss, output) = measured(
        crate::common::leakdex(&data)
            .args(["ingest", "--corpus", "all", "--no-text", "--json"])
            .arg(&dumps),
    );
    check("ingest", &output);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let records = report["records"].as_u64().unwrap();
    let segment = std::fs::read_dir(data.join("segments"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut by_file: Vec<(String, u64)> = std::fs::read_dir(&segment)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            (
                entry.file_name().to_string_lossy().to_string(),
                entry.metadata().unwrap().len(),
            )
        })
        .collect();
    by_file.sort_by_key(|(_, bytes)| std::cmp::Reverse(*bytes));
    let index_bytes: u64 = by_file.iter().map(|(_, bytes)| bytes).sum();

    let phones = leakdex::synth::suspect_phones(per_corpus, 1, 1_000_000);
    let queries = root.join("phones.txt");
    std::fs::write(&queries, phones.join("\n")).unwrap();
    let lookups = || {
        let (elapsed, rss, output) = measured(
            crate::common::leakdex(&data)
                .args(["lookup", "--json", "--kind", "phone", "--file"])
                .arg(&queries),
        );
        check("lookup", &output);
        let found = output
            .stdout
            .split(|byte| *byte == b'\n')
            .filter(|line| line.windows(8).any(|window| window == b"\"corpus\""))
            .count();
        (elapsed, rss, found)
    };
    // Cold: the page cache emptied first, which needs root; otherwise the first run is only
    // "first" (the index was just written, so most of it is still cached).
    // Written back first: dropping the cache leaves dirty pages (the index just written) in
    // it, and the first lookup would then race their write-back instead of reading cold.
    // SAFETY: sync takes no arguments and cannot fail.
    unsafe { libc::sync() };
    let cold = std::fs::write("/proc/sys/vm/drop_caches", "3").is_ok();
    let (first, _, found) = lookups();
    let (warm, lookup_rss, _) = lookups();

    let per_million = |elapsed: std::time::Duration| elapsed.as_secs_f64() * 1e6 / records as f64;
    println!(
        "\nscale run: {records} records ({per_corpus} per corpus), {:.0} MB of dumps",
        source_bytes as f64 / 1e6
    );
    if reused {
        println!("gen        dumps of this size reused from {}", dumps.display());
    } else {
        println!(
            "gen        {:8.1} s   peak RSS {:6.0} MB",
            generated.as_secs_f64(),
            generated_rss as f64 / 1e6
        );
    }
    println!(
        "ingest     {:8.1} s   peak RSS {:6.0} MB   {:.2} s per million records",
        ingested.as_secs_f64(),
        ingest_rss as f64 / 1e6,
        per_million(ingested)
    );
    println!(
        "index      {:8.1} B per record in all ({:.2} GB)",
        index_bytes as f64 / records as f64,
        index_bytes as f64 / 1e9
    );
    for (name, bytes) in &by_file {
        println!("  {name:<16} {:8.1} B per record", *bytes as f64 / records as f64);
    }
    println!(
        "lookup 1M  {:8.2} s {}, {:.2} s warm = {:.0} lookups/s warm, peak RSS {:.0} MB, {found} found",
        first.as_secs_f64(),
        if cold { "cold (page cache dropped)" } else { "first" },
        warm.as_secs_f64(),
        1e6 / warm.as_secs_f64(),
        lookup_rss as f64 / 1e6
    );
    if std::env::var("LEAKDEX_SCALE_DUCKDB").as_deref() == Ok("1") {
        duckdb_beside_leakdex(&root, &dumps);
    }
    // The combo list holds a few lines beyond its people (comments, a header).
    assert!(
        records >= per_corpus * 5,
        "{records} records ingested of {per_corpus} per corpus"
    );
    assert!(found > 0, "no phone found");
}

/// The dumps DuckDB reads natively (all but the MySQL dump), ingested by leakdex (`--no-text`,
/// the default budget) and loaded by DuckDB into a database file (`tests/python/duckdb_load.py`),
/// one after the other on the same machine; prints both.
fn duckdb_beside_leakdex(root: &std::path::Path, dumps: &std::path::Path) {
    let readable = [
        "vaccination.csv",
        "telecom_kyc.tsv.gz",
        "shop_orders.jsonl",
        "combo_list.txt",
    ];
    let data = root.join("data-duckdb-files");
    let _ = std::fs::remove_dir_all(&data);
    let (ingested, ingest_rss, output) = measured(
        crate::common::leakdex(&data)
            .args(["ingest", "--corpus", "four", "--no-text"])
            .args(readable.iter().map(|name| dumps.join(name))),
    );
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/duckdb_load.py");
    let (loaded, load_rss, output) = measured(
        std::process::Command::new(crate::common::setup::python_with_duckdb())
            .arg(script)
            .arg(dumps)
            .arg(root.join("duckdb.db")),
    );
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let duckdb: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let _ = std::fs::remove_file(root.join("duckdb.db"));
    println!(
        "the four files DuckDB reads ({}):\n  leakdex ingest --no-text {:8.1} s   peak RSS {:6.0} MB\n  \
         DuckDB {} load      {:8.1} s   peak RSS {:6.0} MB (into a database file, every column text)",
        readable.join(", "),
        ingested.as_secs_f64(),
        ingest_rss as f64 / 1e6,
        duckdb["duckdb"].as_str().unwrap_or("?"),
        loaded.as_secs_f64(),
        load_rss as f64 / 1e6
    );
}
