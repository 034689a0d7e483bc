//! The index: ingest into segments, then lookup, show, verify, delete; crash safety.

use crate::common::{corpus, corpus_name, indexed_corpora, leakdex};
use leakdex::catalog::{Catalog, FileCatalog};
use leakdex::ingest::Region;
use leakdex::query::{Index, Query, lookup_batch};
use leakdex::segment::{BuildOptions, Segment, build_segment};
use leakdex::storage::DataDir;
use leakdex::synth::{Corpus as Generated, Person, generate};
use proptest::prelude::*;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// An answer with owned strings (answers borrow from the index they came from).
struct Found {
    query: String,
    normalized: Option<String>,
    error: Option<String>,
    hits: Option<Vec<FoundHit>>,
}

struct FoundHit {
    corpus: String,
    file: String,
    record: u64,
    line: u64,
    offset: u64,
    field: String,
}

fn lookup(data: &DataDir, catalog: &dyn Catalog, values: &[String]) -> Vec<Found> {
    let index = Index::open(data, catalog, &[]).unwrap();
    let queries = Query::detected(values);
    lookup_batch(&index, Region::INDIA, &queries)
        .into_iter()
        .map(|answer| Found {
            query: answer.query.to_string(),
            normalized: answer.normalized,
            error: answer.error,
            hits: answer.hits.map(|hits| {
                hits.into_iter()
                    .map(|hit| FoundHit {
                        corpus: hit.corpus.to_string(),
                        file: hit.file.to_string(),
                        record: hit.record,
                        line: hit.line,
                        offset: hit.offset,
                        field: hit.field.to_string(),
                    })
                    .collect()
            }),
        })
        .collect()
}

/// Which corpora hold a person's phone, from the generator's windows.
fn phone_truth(records: u64, person: u64) -> BTreeSet<&'static str> {
    [
        Generated::Vaccination,
        Generated::TelecomKyc,
        Generated::ShopOrders,
        Generated::LegacyPortal,
    ]
    .into_iter()
    .filter(|generated| (generated.first_person(records)..generated.first_person(records) + records).contains(&person))
    .map(corpus_name)
    .collect()
}

fn check_every_pair(options: &BuildOptions) {
    let dir = tempfile::tempdir().unwrap();
    let records = 1500;
    let (data, catalog) = indexed_corpora(dir.path(), records, options);
    // Checksums taken while writing (spilled or not) are those of the files as written.
    for corpus in catalog.corpora().unwrap() {
        for published in corpus.published() {
            Segment::open(&data.segment_path(&published.id))
                .unwrap()
                .verify()
                .unwrap();
        }
    }
    // Everyone in any window plus people in none, each phone written a different way.
    let people: Vec<u64> = (0..records * 2)
        .step_by(3)
        .chain(records * 3..records * 3 + 50)
        .collect();
    let values: Vec<String> = people
        .iter()
        .enumerate()
        .map(|(position, &index)| {
            let mobile = Person::new(11, index).mobile;
            match position % 3 {
                0 => mobile,
                1 => format!("+91 {} {}", &mobile[..5], &mobile[5..]),
                _ => format!("0{mobile}"),
            }
        })
        .collect();
    let answers = lookup(&data, &*catalog, &values);
    let index = Index::open(&data, &*catalog, &[]).unwrap();
    let segments: HashMap<&str, &Segment> = index
        .segments
        .iter()
        .map(|indexed| (indexed.corpus.as_str(), &indexed.segment))
        .collect();
    for ((answer, &person), value) in answers.iter().zip(&people).zip(&values) {
        let hits = answer
            .hits
            .as_ref()
            .unwrap_or_else(|| panic!("{value}: {:?}", answer.error));
        let found: BTreeSet<&str> = hits.iter().map(|hit| hit.corpus.as_str()).collect();
        assert_eq!(found, phone_truth(records, person), "{value}");
        assert_eq!(hits.len(), found.len(), "one record per corpus holds each phone");
        for hit in hits {
            // The location points at the record that holds it.
            let segment = segments[hit.corpus.as_str()];
            let number = segment.find(&hit.file, hit.record).unwrap();
            let shown = segment.show(number).unwrap();
            assert_eq!((shown.line, shown.offset), (hit.line, hit.offset));
            let field = shown.fields.iter().find(|field| field.name == hit.field).unwrap();
            assert_eq!(Some(&field.normalized), answer.normalized.as_ref());
        }
    }
}

#[test]
fn lookup_finds_every_pair_and_no_other() {
    check_every_pair(&BuildOptions::default());
}

#[test]
fn spilled_runs_give_the_same_answers() {
    // 16 KiB of fingerprints per run: every corpus spills many sorted runs.
    check_every_pair(&BuildOptions {
        memory_budget: 16 << 10,
        ..BuildOptions::default()
    });
}

/// Ingests `inputs` as one corpus into a new data directory under `key`, on `threads` threads;
/// returns every data file of the segment, by name, and the manifest's file list.
fn segment_files(
    dir: &Path,
    key: &Path,
    inputs: &[PathBuf],
    options: &BuildOptions,
    threads: usize,
) -> (Vec<(&'static str, Vec<u8>)>, Vec<String>) {
    let data = DataDir::open(dir).unwrap().with_key_file(key).unwrap();
    let catalog = FileCatalog::open(data.root());
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    let report = pool
        .install(|| build_segment(&data, &catalog, &corpus("seized"), inputs, options))
        .unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let segment = data.segment_path(&report.segments[0]);
    let files = leakdex::segment::DATA_FILES
        .iter()
        .map(|&name| (name, std::fs::read(segment.join(name)).unwrap()))
        .collect();
    (files, report.files.iter().map(|file| file.path.clone()).collect())
}

#[test]
fn a_few_kib_of_budget_and_any_thread_count_give_the_same_index_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let dumps = dir.path().join("dumps");
    // 8,000 records a corpus: the JSON Lines and SQL files pass 1 MiB, so they are read in
    // chunks; the rest are small files, read side by side. Forty more small files make the
    // side-by-side reading race.
    generate(&dumps, 8_000, 3).unwrap();
    let text = std::fs::read_to_string(dumps.join("vaccination.csv")).unwrap();
    let (header, rows) = text.split_once('\n').unwrap();
    let rows: Vec<&str> = rows.lines().collect();
    let pieces = dir.path().join("pieces");
    std::fs::create_dir_all(&pieces).unwrap();
    for (number, part) in rows.chunks(rows.len().div_ceil(40)).enumerate() {
        std::fs::write(
            pieces.join(format!("part-{number:02}.csv")),
            format!("{header}\n{}\n", part.join("\n")),
        )
        .unwrap();
    }
    let key = dir.path().join("key");
    std::fs::write(&key, "00112233445566778899aabbccddeeff").unwrap();
    let inputs = [dumps, pieces];
    let (unbounded, files) = segment_files(
        &dir.path().join("a"),
        &key,
        &inputs,
        &BuildOptions {
            memory_budget: 1 << 30,
            ..BuildOptions::default()
        },
        4,
    );
    assert!(files.len() > 40, "{files:?}");
    for (name, threads, budget) in [("b", 1, 4 << 10), ("c", 3, 4 << 10), ("d", 2, 1 << 30)] {
        let (bounded, listed) = segment_files(
            &dir.path().join(name),
            &key,
            &inputs,
            &BuildOptions {
                memory_budget: budget,
                ..BuildOptions::default()
            },
            threads,
        );
        assert_eq!(listed, files, "{threads} threads, budget {budget}");
        for ((file, expected), (_, found)) in unbounded.iter().zip(&bounded) {
            assert!(
                expected == found,
                "{file} differs with {threads} threads and a budget of {budget} bytes"
            );
        }
    }
}

#[test]
fn line_and_offset_point_into_the_source_file() {
    let dir = tempfile::tempdir().unwrap();
    let (data, catalog) = indexed_corpora(dir.path(), 400, &BuildOptions::default());
    let person = Person::new(11, 123);
    let answers = lookup(&data, &*catalog, std::slice::from_ref(&person.email));
    let hits = answers[0].hits.as_ref().unwrap();
    let combo = hits.iter().find(|hit| hit.corpus == "combo_list").unwrap();
    let text = std::fs::read_to_string(dir.path().join("dumps/combo_list.txt")).unwrap();
    let line = text.lines().nth(combo.line as usize - 1).unwrap();
    assert!(line.starts_with(&person.email), "{line}");
    assert!(text[combo.offset as usize..].starts_with(&person.email));
}

/// Every record's stored location is the scan's: line, byte offset, ordinal and Latin-1 flag,
/// on shapes whose lines run behind their ordinals (a SQL line of many tuples), ahead of them
/// (a header, quoted line breaks, blank lines) and in step (JSON lines).
#[test]
fn every_record_keeps_its_line_offset_and_flag() {
    let dir = tempfile::tempdir().unwrap();
    let dumps = dir.path().join("dumps");
    std::fs::create_dir_all(&dumps).unwrap();
    for name in ["legacy.sql", "orders.jsonl", "users.csv", "combo.txt"] {
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/five").join(name),
            dumps.join(name),
        )
        .unwrap();
    }
    let mut sql = String::new();
    for line in 0..5u32 {
        let tuples: Vec<String> = (0..200u32)
            .map(|tuple| format!("({tuple},'Asha {line}','97{:08}')", line * 1000 + tuple))
            .collect();
        sql.push_str(&format!(
            "INSERT INTO `members` (`id`,`name`,`phone`) VALUES {};\n",
            tuples.join(",")
        ));
    }
    std::fs::write(dumps.join("members.sql"), sql).unwrap();
    let mut latin1 = b"name,phone,note\n".to_vec();
    for row in 0..300u32 {
        latin1.extend_from_slice(format!("Ren~ {row},98{row:08},\"two\nlines\"\n\n").as_bytes());
    }
    // `é` in Windows-1252, which is no UTF-8.
    let latin1: Vec<u8> = latin1
        .into_iter()
        .map(|byte| if byte == b'~' { 0xe9 } else { byte })
        .collect();
    std::fs::write(dumps.join("latin1.csv"), latin1).unwrap();
    let (scanned, unreadable) = crate::common::collect(std::slice::from_ref(&dumps), &Default::default());
    assert!(unreadable.is_empty(), "{unreadable:?}");
    let data = DataDir::open(&dir.path().join("data")).unwrap();
    let catalog = FileCatalog::open(data.root());
    let report = build_segment(&data, &catalog, &corpus("shapes"), &[dumps], &BuildOptions::default()).unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let segment = Segment::open(&data.segment_path(&report.segments[0])).unwrap();
    let mut checked = 0;
    let mut behind = 0;
    for (file, collected) in &scanned {
        assert!(!collected.records.is_empty(), "{file}");
        for record in &collected.records {
            let location = record.location;
            let number = segment.find(file, location.ordinal).unwrap();
            let stored = segment.location(number).unwrap();
            assert_eq!(
                (stored.ordinal, stored.line, stored.offset, stored.flags != 0),
                (location.ordinal, location.line, location.offset, record.latin1),
                "{file} record {}",
                location.ordinal
            );
            assert_eq!(segment.manifest.files[stored.file as usize].path, *file);
            behind += usize::from(location.line < location.ordinal);
            checked += 1;
        }
    }
    assert_eq!(checked as u64, segment.manifest.records);
    // Each file keeps its lines the narrower way: the SQL dump's lines whole (its ordinals run
    // far ahead of them), the one-record-a-line files' as distances from their ordinals.
    let id = |name: &str| {
        segment
            .manifest
            .files
            .iter()
            .position(|file| file.path.ends_with(name))
            .unwrap() as u32
    };
    let layout = &segment.manifest.locations;
    assert!(layout.absolute(id("members.sql")), "{layout:?}");
    assert!(
        !layout.absolute(id("orders.jsonl")) && !layout.absolute(id("combo.txt")),
        "{layout:?}"
    );
    assert!(behind > 0, "a SQL line holds several records");
    assert!(
        scanned
            .values()
            .flat_map(|collected| &collected.records)
            .any(|record| record.latin1),
        "some records were decoded as Latin-1"
    );
    segment.verify().unwrap();
}

#[test]
fn altered_segments_are_detected() {
    let dir = tempfile::tempdir().unwrap();
    let (data, catalog) = indexed_corpora(dir.path(), 300, &BuildOptions::default());
    let id = catalog.corpus("vaccination").unwrap().unwrap().segments[0].id.clone();
    let path = data.segment_path(&id);
    Segment::open(&path).unwrap().verify().unwrap();
    let mut bytes = std::fs::read(path.join("records.bin")).unwrap();
    bytes[10] ^= 0x40;
    std::fs::write(path.join("records.bin"), &bytes).unwrap();
    let error = Segment::open(&path).unwrap().verify().unwrap_err().to_string();
    assert!(error.contains("records.bin"), "{error}");
    let locations = std::fs::read(path.join("locations.bin")).unwrap();
    std::fs::write(path.join("locations.bin"), &locations[..locations.len() - 1]).unwrap();
    let error = Segment::open(&path)
        .err()
        .expect("truncated locations must not open")
        .to_string();
    assert!(error.contains("locations.bin"), "{error}");
}

fn corpora_json(data: &Path) -> serde_json::Value {
    let output = leakdex(data).args(["corpora", "--json"]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn a_crash_at_any_point_leaves_no_partial_segment() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("dump");
    generate(&dump, 500, 5).unwrap();
    let input = dump.join("vaccination.csv");
    for failpoint in ["mid-ingest", "before-rename", "before-publish"] {
        let data = dir.path().join(format!("data-{failpoint}"));
        let crashed = leakdex(&data)
            .args(["ingest", "--corpus", "cowin"])
            .arg(&input)
            .env("LEAKDEX_FAILPOINT", failpoint)
            .output()
            .unwrap();
        assert!(!crashed.status.success(), "{failpoint}: the child must die");
        let listed = corpora_json(&data);
        assert_eq!(listed[0]["records"], 0, "{failpoint}: {listed}");
        assert_eq!(listed[0]["segments"].as_array().unwrap().len(), 0, "{failpoint}");
        // Garbage collection removed what the crash left.
        for folder in ["staging", "segments"] {
            assert_eq!(
                std::fs::read_dir(data.join(folder)).unwrap().count(),
                0,
                "{failpoint}: {folder}"
            );
        }
        let rerun = leakdex(&data)
            .args(["ingest", "--json", "--corpus", "cowin"])
            .arg(&input)
            .output()
            .unwrap();
        assert!(rerun.status.success(), "{}", String::from_utf8_lossy(&rerun.stderr));
        let report: serde_json::Value = serde_json::from_slice(&rerun.stdout).unwrap();
        assert_eq!(report["records"], 500);
        assert_eq!(corpora_json(&data)[0]["records"], 500);
    }
}

#[test]
fn records_keep_their_file_when_another_file_fails_part_way() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let dumps = dir.path().join("dumps");
    std::fs::create_dir_all(&dumps).unwrap();
    // A gzip cut short: its first megabytes of records are read before the stream breaks.
    let mut rows = String::from("name,mobile\n");
    for person in 0..300_000u64 {
        rows.push_str(&format!("person {person},{}\n", 9_000_000_000 + person));
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(rows.as_bytes()).unwrap();
    let gzip = encoder.finish().unwrap();
    std::fs::write(dumps.join("a_broken.csv.gz"), &gzip[..gzip.len() * 3 / 4]).unwrap();
    std::fs::write(dumps.join("b_whole.csv"), "name,mobile\nlast person,8999999999\n").unwrap();
    let data = dir.path().join("data");
    let output = leakdex(&data)
        .args(["ingest", "--corpus", "mixed", "--no-text", "--json"])
        .arg(&dumps)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        report["errors"].as_array().is_some_and(|errors| errors
            .iter()
            .any(|error| error.as_str().unwrap_or("").contains("a_broken"))),
        "{report}"
    );
    let file_of = |phone: &str| {
        let output = leakdex(&data).args(["lookup", "--json", phone]).output().unwrap();
        let line: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        line["hits"][0]["file"].as_str().unwrap_or("none").to_string()
    };
    assert!(file_of("8999999999").ends_with("b_whole.csv"));
    assert!(file_of("9000000001").ends_with("a_broken.csv.gz"));
    // The broken file is listed, with no SHA-256, and the records read from it.
    let broken = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|file| file["path"].as_str().unwrap_or("").ends_with("a_broken.csv.gz"))
        .expect("the broken file is listed");
    assert_eq!(broken["sha256"], "");
    assert!(broken["records"].as_u64().unwrap() > 1000, "{broken}");
}

#[test]
fn a_segment_of_an_older_format_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let (data, catalog) = indexed_corpora(dir.path(), 50, &BuildOptions::default());
    let id = catalog.corpus("vaccination").unwrap().unwrap().segments[0].id.clone();
    let manifest_path = data.segment_path(&id).join("manifest.json");
    let mut manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    manifest["format_version"] = serde_json::json!(leakdex::segment::FORMAT_VERSION - 1);
    std::fs::write(&manifest_path, serde_json::to_vec(&manifest).unwrap()).unwrap();

    let phone = Person::new(11, 3).mobile;
    let refused = leakdex(data.root()).args(["lookup", &phone]).output().unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("format version {}", leakdex::segment::FORMAT_VERSION - 1))
            && stderr.contains("leakdex delete --corpus vaccination"),
        "{stderr}"
    );
    // Doing what it says makes the data directory usable again.
    let deleted = leakdex(data.root())
        .args(["delete", "--corpus", "vaccination"])
        .output()
        .unwrap();
    assert!(deleted.status.success(), "{}", String::from_utf8_lossy(&deleted.stderr));
    let answered = leakdex(data.root()).args(["lookup", &phone]).output().unwrap();
    assert!(
        answered.status.success(),
        "{}",
        String::from_utf8_lossy(&answered.stderr)
    );
}

#[test]
fn cli_ingest_skip_force_lookup_show_delete() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let dump = dir.path().join("five");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/five");
    std::fs::create_dir_all(&dump).unwrap();
    for entry in std::fs::read_dir(&fixture).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dump.join(entry.file_name())).unwrap();
    }
    let ingest = |extra: &[&str]| {
        let output = leakdex(&data)
            .args([
                "ingest",
                "--json",
                "--corpus",
                "five",
                "--acquired",
                "2023-06-12",
                "--source",
                "seized disk",
            ])
            .args(extra)
            .arg(&dump)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap()
    };
    let first = ingest(&[]);
    assert_eq!(first["records"], 27);
    assert_eq!(first["files"].as_array().unwrap().len(), 5);
    let sha = first["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|file| file["path"] == "users.csv")
        .unwrap()["sha256"]
        .clone();
    let expected = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(std::fs::read(dump.join("users.csv")).unwrap()))
    };
    assert_eq!(sha, expected);
    let again = ingest(&[]);
    assert_eq!(again["records"], 0);
    assert_eq!(again["skipped"].as_array().unwrap().len(), 5);
    assert_eq!(ingest(&["--force"])["records"], 27);

    let queries = dir.path().join("queries.txt");
    std::fs::write(
        &queries,
        "9812345678\n+91 98765 43210\nPRIYA.P@yahoo.co.in\n\nnobody@nowhere.in\n2345 6789 0124\n???\n",
    )
    .unwrap();
    let output = leakdex(&data)
        .args(["lookup", "--json", "--file"])
        .arg(&queries)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let answers: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(answers.len(), 6, "blank lines are not queries");
    assert_eq!(answers[0]["normalized"], "+919812345678");
    // Twice ingested (--force): every hit appears in both segments.
    let files: BTreeSet<&str> = answers[0]["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hit| hit["file"].as_str().unwrap())
        .collect();
    assert_eq!(
        files,
        BTreeSet::from(["combo.txt", "kyc.tsv", "legacy.sql", "orders.jsonl", "users.csv"])
    );
    assert_eq!(answers[2]["kind"], "email");
    assert_eq!(answers[3]["hits"].as_array().unwrap().len(), 0);
    assert_eq!(answers[4]["kind"], "national_id");
    assert!(answers[5]["error"].is_string());
    let hit = answers[0]["hits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|hit| hit["file"] == "legacy.sql")
        .unwrap();
    let shown = leakdex(&data)
        .args(["show", "--json", "--corpus", "five", "--file", "legacy.sql", "--record"])
        .arg(hit["record"].to_string())
        .output()
        .unwrap();
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["line"], hit["line"]);
    assert!(
        shown["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|field| field["raw"] == "Rahul Sharma")
    );
    assert!(leakdex(&data).args(["verify"]).status().unwrap().success());

    let deleted = leakdex(&data).args(["delete", "--corpus", "five"]).output().unwrap();
    assert!(deleted.status.success());
    assert_eq!(std::fs::read_dir(data.join("segments")).unwrap().count(), 0);
    let missing = leakdex(&data)
        .args(["lookup", "--corpus", "five", "9812345678"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no corpus named"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_ingested_identifier_is_found_and_no_absent_one(
        phones in prop::collection::btree_set(6_000_000_000u64..9_999_999_999, 1..300),
        absent in prop::collection::btree_set(6_000_000_000u64..9_999_999_999, 1..100),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let dump = dir.path().join("phones.csv");
        let mut text = String::from("name,mobile\n");
        for phone in &phones {
            text.push_str(&format!("Someone,{phone}\n"));
        }
        std::fs::write(&dump, text).unwrap();
        let data = DataDir::open(&dir.path().join("data")).unwrap();
        let catalog = FileCatalog::open(data.root());
        build_segment(&data, &catalog, &corpus("p"), &[PathBuf::from(&dump)], &BuildOptions::default()).unwrap();
        let values: Vec<String> = phones.iter().chain(absent.difference(&phones)).map(u64::to_string).collect();
        let answers = lookup(&data, &catalog, &values);
        for (position, answer) in answers.iter().enumerate() {
            let hits = answer.hits.as_ref().map_or(0, Vec::len);
            prop_assert_eq!(hits, usize::from(position < phones.len()), "{}", answer.query);
        }
    }
}

#[test]
fn full_text_search_fielded_phrase_and_fuzzy() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let output = leakdex(&data)
        .args(["ingest", "--json", "--corpus", "five"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/five"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["text_indexed"], true);
    let search = |query: &str| -> Vec<serde_json::Value> {
        let output = leakdex(&data)
            .args(["search", "--json", "--limit", "50", query])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{query}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    };
    let files = |hits: &[serde_json::Value]| -> BTreeSet<String> {
        hits.iter()
            .map(|hit| hit["file"].as_str().unwrap().to_string())
            .collect()
    };
    // Phrase on the name field: users.csv, kyc.tsv (honorific dropped), orders, legacy.
    let phrase = search("name:\"rahul sharma\"");
    assert_eq!(
        files(&phrase),
        BTreeSet::from(["kyc.tsv", "legacy.sql", "orders.jsonl", "users.csv"].map(String::from))
    );
    // Fielded conjunction: name and district.
    let pune = search("name:rahul district:pune");
    assert_eq!(files(&pune), BTreeSet::from(["users.csv".to_string()]));
    assert_eq!(pune[0]["record"], 1);
    assert!(pune[0]["snippet"].as_str().unwrap().contains("Rahul Sharma"));
    // Fuzzy: a misspelt name still finds Sunita.
    let fuzzy = search("name:sunitha~1");
    assert!(
        fuzzy
            .iter()
            .any(|hit| hit["snippet"].as_str().unwrap().contains("Sunita")),
        "{fuzzy:?}"
    );
    assert!(search("name:sunitha").is_empty(), "without ~ it is an exact term");
    // Free text over every value.
    assert!(!search("Hyderabad").is_empty());
    let bad = leakdex(&data).args(["search", "name:(unclosed"]).output().unwrap();
    assert!(!bad.status.success());
}
