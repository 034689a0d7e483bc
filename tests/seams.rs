//! The seams a cluster stands on, end to end: one process ingests with the catalog on
//! PostgreSQL and the segments on S3; other processes, with empty caches, answer exactly as the
//! embedded default does over the same files, and see what is published after they started.

use crate::common::setup::{postgres_server, s3_server};
use crate::common::{data as fixture, joining, leakdex, serve, stdout_of};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// `leakdex --data-dir data` on the shared catalog and storage, with the deployment's key.
fn clustered(data: &Path, catalog: &str, prefix: &str, key: &Path) -> Command {
    let mut command = leakdex(data);
    joining(&mut command, catalog, prefix, key);
    command
}

/// What `command` printed, as text; it must succeed.
fn text_of(command: &mut Command) -> String {
    String::from_utf8(stdout_of(command, "leakdex")).unwrap()
}

fn write_key(path: &Path, key: &str) {
    std::fs::write(path, key).unwrap();
}

/// The fixture `five` ingested by the embedded default into `DIR/embedded` and by a cluster
/// process (catalog `catalog`, storage prefix `prefix`) from `DIR/builder`; the two folders.
fn ingested_twice(dir: &Path, catalog: &str, prefix: &str, key: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (embedded, builder) = (dir.join("embedded"), dir.join("builder"));
    text_of(
        leakdex(&embedded)
            .args(["ingest", "--corpus", "five"])
            .arg(fixture("five")),
    );
    text_of(
        clustered(&builder, catalog, prefix, key)
            .args(["ingest", "--corpus", "five"])
            .arg(fixture("five")),
    );
    (embedded, builder)
}

/// The files in `DATA/cache` of the process whose data directory is `data`.
fn cached_files(data: &Path) -> usize {
    walkdir::WalkDir::new(data.join("cache"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
        .count()
}

#[test]
fn a_process_with_an_empty_cache_answers_as_the_embedded_default() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = postgres_server().database("seams_answers");
    let key = dir.path().join("key");
    write_key(&key, "00112233445566778899aabbccddeeff");
    let queries = dir.path().join("queries.txt");
    std::fs::write(
        &queries,
        "9812345678\n+91 98765 43210\nPRIYA.P@yahoo.co.in\n2345 6789 0124\nnobody@nowhere.in\n",
    )
    .unwrap();

    // The embedded default and the cluster ingest the same files.
    let (embedded, builder) = ingested_twice(dir.path(), &catalog, "answers", &key);

    // Another process, another data directory: nothing on its disk yet.
    let reader = dir.path().join("reader");
    let commands: Vec<Vec<String>> = vec![
        vec![
            "lookup".into(),
            "--json".into(),
            "--file".into(),
            queries.display().to_string(),
        ],
        vec![
            "lookup".into(),
            "--json".into(),
            "--kind".into(),
            "phone".into(),
            "98123 45678".into(),
        ],
        vec![
            "show".into(),
            "--json".into(),
            "--corpus".into(),
            "five".into(),
            "--file".into(),
            "legacy.sql".into(),
            "--record".into(),
            "2".into(),
        ],
        // Full text, from the tantivy index uploaded beside the segment.
        vec!["search".into(), "--json".into(), "name:rahul".into()],
        vec!["search".into(), "--json".into(), "sharma".into()],
        // Provenance of a suspect file: matching reads the record store, through the cache.
        vec![
            "provenance".into(),
            "--json".into(),
            fixture("five").join("users.csv").display().to_string(),
        ],
    ];
    // Hits and lines in one order: records are numbered in the order parallel readers hand
    // them over, which differs between two ingests of the same files (so do ties in search).
    let answers = |output: String| -> Vec<serde_json::Value> {
        // One JSON document (a provenance report), or JSON Lines.
        let documents: Vec<&str> = match serde_json::from_str::<serde_json::Value>(&output) {
            Ok(_) => vec![output.as_str()],
            Err(_) => output.lines().collect(),
        };
        let mut lines: Vec<serde_json::Value> = documents
            .into_iter()
            .map(|line| {
                let mut answer: serde_json::Value = serde_json::from_str(line).unwrap();
                if let Some(hits) = answer["hits"].as_array_mut() {
                    hits.sort_by_key(|hit| {
                        (
                            hit["file"].to_string(),
                            hit["record"].as_u64(),
                            hit["field"].to_string(),
                        )
                    });
                }
                answer
            })
            .collect();
        lines.sort_by_key(|line| line.to_string());
        lines
    };
    for arguments in &commands {
        let local = answers(text_of(leakdex(&embedded).args(arguments)));
        let remote = answers(text_of(clustered(&reader, &catalog, "answers", &key).args(arguments)));
        assert_eq!(remote, local, "{arguments:?}");
        assert!(!local.is_empty(), "{arguments:?} printed nothing");
        if arguments[0] == "provenance" {
            assert!(local[0]["matched"].as_u64() > Some(0), "{:?}", local[0]);
        }
    }
    // It read the segment through its cache; the builder's copy was never touched.
    let cached = cached_files(&reader);
    assert!(cached >= 10, "{cached} files cached");
    assert!(
        reader.join("cache/text").exists(),
        "the full-text index came through the cache"
    );

    // The corpus listing agrees on everything but the segment's name.
    let corpora = |output: String| -> serde_json::Value {
        let mut listed: serde_json::Value = serde_json::from_str(&output).unwrap();
        for corpus in listed.as_array_mut().unwrap() {
            corpus["segments"] = serde_json::Value::Null;
            corpus["created"] = serde_json::Value::Null;
            // Files are listed in the order the scan finished them, which differs from run to run.
            corpus["files"]
                .as_array_mut()
                .unwrap()
                .sort_by_key(|file| file["path"].as_str().unwrap_or_default().to_string());
        }
        listed
    };
    assert_eq!(
        corpora(text_of(
            clustered(&reader, &catalog, "answers", &key).args(["corpora", "--json"])
        )),
        corpora(text_of(leakdex(&embedded).args(["corpora", "--json"])))
    );

    // A process with another fingerprint key refuses to answer rather than find nothing.
    let other = dir.path().join("other-key");
    write_key(&other, "ffeeddccbbaa99887766554433221100");
    let output = clustered(&dir.path().join("stranger"), &catalog, "answers", &other)
        .args(["lookup", "9812345678"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("another fingerprint key"), "{message}");

    // Without the deployment's key a process would make one up (and a fresh catalog would
    // record it): refused before anything is touched.
    let output = clustered(&dir.path().join("keyless"), &catalog, "answers", &key)
        .env_remove("LEAKDEX_KEY_FILE")
        .args(["corpora"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--key-file"));

    // Objects of no segment the catalog knows (an upload cut short by a crash) are swept by
    // the next command that collects garbage; the published segment's are kept.
    use leakdex::storage::ObjectStorage;
    let objects =
        leakdex::storage::S3Objects::with_builder(s3_server().builder(), &s3_server().bucket, "answers").unwrap();
    objects
        .put("segments/0000-orphan/hash.idx", bytes::Bytes::from_static(b"cut short"))
        .unwrap();
    let before = objects.list("segments").unwrap().len();
    text_of(clustered(&builder, &catalog, "answers", &key).args(["corpora"]));
    assert_eq!(objects.list("segments").unwrap().len(), before - 1);
    assert!(objects.list("segments/0000-orphan").unwrap().is_empty());

    // Deleting the corpus removes its objects too.
    text_of(clustered(&builder, &catalog, "answers", &key).args(["delete", "--corpus", "five"]));
    assert_eq!(objects.list("segments").unwrap(), vec![]);
    assert_eq!(objects.list("text").unwrap(), vec![]);
}

#[test]
fn a_server_sees_what_another_process_publishes() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = postgres_server().database("seams_serve");
    let key = dir.path().join("key");
    write_key(&key, "0123456789abcdef0123456789abcdef");
    let builder = dir.path().join("builder");
    text_of(
        clustered(&builder, &catalog, "serve", &key)
            .args(["ingest", "--no-text", "--corpus", "five"])
            .arg(fixture("five")),
    );
    // The server: its own data directory, an empty cache.
    let served = dir.path().join("served");
    // Tokens are the deployment's: issued by one process, honoured by every server.
    let token = text_of(clustered(&builder, &catalog, "serve", &key).args([
        "token",
        "create",
        "--name",
        "analyst",
        "--role",
        "investigator",
    ]))
    .trim()
    .to_string();
    let (_server, address, _) = serve(clustered(&served, &catalog, "serve", &key), &[], 0);
    let url = format!("http://{address}");
    let asking = |value: &str| {
        leakdex(&served)
            .arg("--server")
            .arg(&url)
            .env("LEAKDEX_TOKEN", &token)
            .args(["lookup", "--json", value])
            .output()
            .unwrap()
    };
    let ask = |value: &str| -> serde_json::Value {
        let output = asking(value);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let output = String::from_utf8(output.stdout).unwrap();
        serde_json::from_str(output.lines().next().unwrap_or("null")).unwrap()
    };
    let corpora_of = |answer: &serde_json::Value| -> Vec<String> {
        let mut corpora: Vec<String> = answer["hits"]
            .as_array()
            .map(|hits| {
                hits.iter()
                    .filter_map(|hit| hit["corpus"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        corpora.sort();
        corpora.dedup();
        corpora
    };
    assert_eq!(corpora_of(&ask("anil.k@rediffmail.com")), ["five"]);

    // Another process publishes a corpus; the server answers from it without a restart.
    text_of(
        clustered(&builder, &catalog, "serve", &key)
            .args(["ingest", "--no-text", "--corpus", "more"])
            .arg(fixture("nasty/headerless.psv")),
    );
    let published = Instant::now();
    let mut seen = None;
    while published.elapsed() < Duration::from_secs(10) {
        if corpora_of(&ask("anil.k@rediffmail.com")) == ["five", "more"] {
            seen = Some(published.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let seen = seen.expect("the new corpus was never served");
    eprintln!("a segment published by another process was served after {seen:?}");

    // A token revoked through another process is refused at the server's next call.
    text_of(clustered(&builder, &catalog, "serve", &key).args(["token", "revoke", "analyst"]));
    let refused = asking("anil.k@rediffmail.com");
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("unknown or revoked token"), "{message}");

    // One audit chain holds what the server answered and what the other process did, and it
    // verifies from a third process.
    let auditor = dir.path().join("auditor");
    let verified = text_of(clustered(&auditor, &catalog, "serve", &key).args(["audit", "verify"]));
    assert!(verified.starts_with("ok: "), "{verified}");
    let shown = text_of(clustered(&auditor, &catalog, "serve", &key).args(["audit", "show", "--json"]));
    let entries: Vec<serde_json::Value> = shown.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert!(verified.contains(&format!("{} entries", entries.len())), "{verified}");
    let by = |principal: &str, rpc: &str| {
        entries
            .iter()
            .filter(|entry| {
                entry["rpc"] == rpc
                    && entry["principal"]
                        .as_str()
                        .is_some_and(|who| who.starts_with(principal))
            })
            .count()
    };
    assert!(by("analyst", "BatchLookup") >= 2, "{shown}");
    assert_eq!(by("local:", "TokenRevoke"), 1, "{shown}");
    // The refused call is on the record too.
    assert!(
        entries.iter().any(|entry| entry["outcome"] == "Unauthenticated"),
        "{shown}"
    );
    for process in [&builder, &served, &auditor] {
        assert!(!process.join("audit.log").exists(), "{}", process.display());
    }
}

/// Everything a server answers over gRPC to `token`'s holder, hits and search results put in
/// one order (ties among equal scores, and hits within an answer, come in no fixed order).
async fn grpc_answers(url: &str, token: &str) -> Vec<String> {
    use leakdex::service::proto::{self, lookup_client::LookupClient, provenance_client::ProvenanceClient};
    let connection = leakdex::service::client::connect(url, Some(token)).await.unwrap();
    let mut answers = Vec::new();
    let values = [
        "9812345678",
        "+91 98765 43210",
        "PRIYA.P@yahoo.co.in",
        "2345 6789 0124",
        "nobody@nowhere.in",
    ];
    let mut found = 0;
    for mut answer in crate::common::lookups(&connection, values.iter().map(|value| value.to_string()).collect())
        .await
        .unwrap()
    {
        found += answer.hits.len();
        answer
            .hits
            .sort_by(|a, b| (&a.corpus, &a.file, a.record, &a.field).cmp(&(&b.corpus, &b.file, b.record, &b.field)));
        answers.push(format!("{answer:?}"));
    }
    assert!(found >= 4, "{answers:?}");
    let mut lookup = LookupClient::new(connection.clone());
    for query in ["name:rahul", "sharma", "pune"] {
        let mut hits = lookup
            .search(proto::SearchRequest {
                query: query.into(),
                limit: 20,
                corpora: Vec::new(),
                plain: false,
            })
            .await
            .unwrap()
            .into_inner()
            .hits;
        assert!(!hits.is_empty(), "{query} found nothing");
        hits.sort_by_key(|hit| format!("{hit:?}"));
        answers.push(format!("{query}: {hits:?}"));
    }
    let record = lookup
        .get_record(proto::GetRecordRequest {
            corpus: "five".into(),
            file: "legacy.sql".into(),
            record: 2,
        })
        .await
        .unwrap()
        .into_inner();
    answers.push(format!("{record:?}"));
    let suspects = vec![
        crate::common::scene::suspect(&[("name", "Rahul Sharma"), ("mobile", "9812345678"), ("city", "Pune")]),
        crate::common::scene::suspect(&[("name", "Priya Patel"), ("email", "priya.p@yahoo.co.in")]),
        crate::common::scene::suspect(&[("name", "Kavita Nair"), ("mobile", "7012345678"), ("dob", "29/02/1992")]),
        crate::common::scene::suspect(&[("name", "Nobody Known"), ("mobile", "9000000001")]),
    ];
    let report = ProvenanceClient::new(connection)
        .attribute(tokio_stream::iter([proto::AttributeRequest {
            input: Some(proto::attribute_request::Input::Records(proto::SuspectBatch {
                records: suspects,
            })),
            ..Default::default()
        }]))
        .await
        .unwrap()
        .into_inner();
    assert!(report.matched >= 3, "{report:?}");
    answers.push(format!("{report:?}"));
    answers
}

#[test]
fn a_server_with_an_empty_cache_answers_over_grpc_as_the_embedded_server_does() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = postgres_server().database("seams_grpc");
    let key = dir.path().join("key");
    write_key(&key, "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
    let (embedded, builder) = ingested_twice(dir.path(), &catalog, "grpc", &key);
    let served = dir.path().join("served");
    let token_of = |command: &mut Command| {
        text_of(command.args(["token", "create", "--name", "investigator", "--role", "investigator"]))
            .trim()
            .to_string()
    };
    let local_token = token_of(&mut leakdex(&embedded));
    let cluster_token = token_of(&mut clustered(&builder, &catalog, "grpc", &key));
    let (_local, local_address, _) = serve(leakdex(&embedded), &[], 0);
    let (_cluster, cluster_address, _) = serve(clustered(&served, &catalog, "grpc", &key), &[], 0);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let local = runtime.block_on(grpc_answers(&format!("http://{local_address}"), &local_token));
    let remote = runtime.block_on(grpc_answers(&format!("http://{cluster_address}"), &cluster_token));
    assert_eq!(remote, local);
    // The server had nothing on its disk: every segment and text index came through its cache.
    assert!(!served.join("segments").read_dir().unwrap().any(|_| true));
    let cached = cached_files(&served);
    assert!(cached >= 10, "{cached} files cached");
    assert!(
        served.join("cache/text").exists(),
        "no full text came through the cache"
    );
}
