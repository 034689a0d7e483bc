//! The catalog: one conformance suite (the contract in `leakdex::catalog`) run against every
//! implementation — the embedded file and PostgreSQL — and what several processes sharing one
//! catalog must see.

use crate::common::setup::postgres_server;
use leakdex::catalog::{
    Catalog, CatalogError, Corpus, CorpusKind, FileCatalog, FileEntry, PgCatalog, SegmentEntry, SegmentState,
};

fn corpus(name: &str) -> Corpus {
    Corpus {
        name: name.to_string(),
        kind: CorpusKind::Leak,
        acquired: Some("2023-06-12".into()),
        source: Some("forum post".into()),
        created: "2026-11-27T00:00:00Z".into(),
        segments: Vec::new(),
    }
}

fn published(id: &str, records: u64) -> SegmentEntry {
    SegmentEntry {
        id: id.into(),
        state: SegmentState::Published,
        records,
        files: vec![FileEntry {
            path: format!("{id}.csv"),
            size: 10,
            sha256: "ab".into(),
            records,
            rejected: 0,
        }],
    }
}

/// The contract, checked against one implementation.
fn conformance(catalog: &dyn Catalog) {
    assert!(catalog.corpora().unwrap().is_empty());
    let start = catalog.generation().unwrap();
    catalog.ensure_corpus(&corpus("cowin")).unwrap();
    catalog.ensure_corpus(&corpus("cowin")).unwrap();
    assert_eq!(catalog.corpora().unwrap().len(), 1);
    assert!(catalog.generation().unwrap() > start, "a change moves the generation");
    let mut suspect = corpus("cowin");
    suspect.kind = CorpusKind::Suspect;
    assert!(matches!(
        catalog.ensure_corpus(&suspect),
        Err(CatalogError::KindMismatch { .. })
    ));
    // Metadata given again replaces; metadata not given is kept.
    let mut renamed = corpus("cowin");
    renamed.source = Some("seized drive".into());
    renamed.acquired = None;
    catalog.ensure_corpus(&renamed).unwrap();
    let kept = catalog.corpus("cowin").unwrap().unwrap();
    assert_eq!(kept.source.as_deref(), Some("seized drive"));
    assert_eq!(kept.acquired.as_deref(), Some("2023-06-12"));
    assert!(matches!(
        catalog.stage_segment("nope", "s1"),
        Err(CatalogError::NoCorpus(_))
    ));
    assert!(matches!(
        catalog.publish_segment("nope", published("s9", 1)),
        Err(CatalogError::NoCorpus(_))
    ));

    catalog.stage_segment("cowin", "s1").unwrap();
    let staged = catalog.corpus("cowin").unwrap().unwrap();
    assert_eq!(staged.segments[0].state, SegmentState::Staged);
    assert_eq!(staged.published().count(), 0, "staged segments are invisible");

    let before = catalog.generation().unwrap();
    catalog.publish_segment("cowin", published("s1", 2)).unwrap();
    assert!(catalog.generation().unwrap() > before);
    let done = catalog.corpus("cowin").unwrap().unwrap();
    assert_eq!(done.records(), 2);
    assert_eq!(done.files().collect::<Vec<_>>(), vec![&published("s1", 2).files[0]]);
    assert_eq!(done.acquired.as_deref(), Some("2023-06-12"));

    // Segments in the order they were staged; corpora in the order they were made.
    catalog.publish_segment("cowin", published("s0", 5)).unwrap();
    catalog.ensure_corpus(&corpus("aadhaar")).unwrap();
    let names: Vec<String> = catalog
        .corpora()
        .unwrap()
        .into_iter()
        .map(|corpus| corpus.name)
        .collect();
    assert_eq!(names, ["cowin", "aadhaar"]);
    let ids: Vec<String> = catalog
        .corpus("cowin")
        .unwrap()
        .unwrap()
        .segments
        .into_iter()
        .map(|segment| segment.id)
        .collect();
    assert_eq!(ids, ["s1", "s0"]);

    // Forgetting spares published segments.
    catalog.stage_segment("cowin", "s2").unwrap();
    catalog.forget_segments(&["s2".into(), "s1".into()]).unwrap();
    assert_eq!(catalog.corpus("cowin").unwrap().unwrap().segments.len(), 2);

    assert_eq!(
        catalog.delete_corpus("cowin").unwrap(),
        vec!["s1".to_string(), "s0".to_string()]
    );
    assert!(catalog.corpus("cowin").unwrap().is_none());
    assert!(matches!(catalog.delete_corpus("cowin"), Err(CatalogError::NoCorpus(_))));
    // A corpus made again under the name starts empty.
    catalog.ensure_corpus(&corpus("cowin")).unwrap();
    assert!(catalog.corpus("cowin").unwrap().unwrap().segments.is_empty());

    // The first key check is recorded; the same passes, another is refused.
    catalog.check_key("0123abcd").unwrap();
    catalog.check_key("0123abcd").unwrap();
    assert!(matches!(
        catalog.check_key("ffff0000"),
        Err(CatalogError::KeyMismatch { .. })
    ));
}

#[test]
fn the_file_catalog_keeps_the_catalog_contract() {
    let dir = tempfile::tempdir().unwrap();
    conformance(&FileCatalog::open(dir.path()));
}

#[test]
fn the_postgres_catalog_keeps_the_catalog_contract() {
    let url = postgres_server().database("conformance");
    conformance(&PgCatalog::connect(&url).unwrap());
    // Connecting again finds the schema in place and the catalog as it was.
    let again = PgCatalog::connect(&url).unwrap();
    assert_eq!(again.corpora().unwrap().len(), 2);
}

#[test]
fn processes_sharing_a_postgres_catalog_lose_no_change() {
    let url = postgres_server().database("shared");
    // Four "processes" connecting at once: the migrations run once, under their lock.
    let catalogs: Vec<PgCatalog> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| PgCatalog::connect(&url).unwrap()))
            .collect();
        handles.into_iter().map(|handle| handle.join().unwrap()).collect()
    });
    catalogs[0].ensure_corpus(&corpus("telecom")).unwrap();
    let start = catalogs[0].generation().unwrap();
    std::thread::scope(|scope| {
        for (process, catalog) in catalogs.iter().enumerate() {
            scope.spawn(move || {
                for segment in 0..10 {
                    let id = format!("p{process}-s{segment}");
                    catalog.stage_segment("telecom", &id).unwrap();
                    catalog.publish_segment("telecom", published(&id, 1)).unwrap();
                }
            });
        }
    });
    for catalog in &catalogs {
        assert_eq!(catalog.corpus("telecom").unwrap().unwrap().records(), 40);
    }
    // Each process sees the others' changes within its watch interval.
    for catalog in &catalogs {
        let seen = (0..40).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(50));
            catalog.generation().unwrap() == start + 80
        });
        assert!(
            seen,
            "generation {} after 80 changes from {start}",
            catalog.generation().unwrap()
        );
    }
}

#[test]
fn an_unreachable_catalog_is_an_error_naming_it_without_its_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let error = PgCatalog::connect(&format!("postgres://leakdex:hunter2@127.0.0.1:{port}/leakdex")).unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, CatalogError::Postgres { .. }), "{message}");
    assert!(
        message.contains(&format!("127.0.0.1:{port}")) && !message.contains("hunter2"),
        "{message}"
    );
    // The cause, not just the driver's "error connecting to server" or "db error".
    assert!(message.contains("refused"), "{message}");
    let url = postgres_server().database("catalog_causes");
    let (server, _) = url.rsplit_once('/').unwrap();
    let message = PgCatalog::connect(&format!("{server}/no_such_database_here"))
        .err()
        .unwrap()
        .to_string();
    assert!(message.contains("does not exist"), "{message}");
}

#[test]
fn tokens_issued_at_once_by_several_processes_are_all_kept() {
    use leakdex::access::role::Role;
    use leakdex::access::token::TokenStore;
    let url = postgres_server().database("tokens");
    let dir = tempfile::tempdir().unwrap();
    std::thread::scope(|scope| {
        for process in 0..4 {
            let (url, root) = (&url, dir.path().join(format!("p{process}")));
            scope.spawn(move || {
                let shared = std::sync::Arc::new(PgCatalog::connect(url).unwrap());
                let data = leakdex::storage::DataDir::open(&root).unwrap().with_shared(shared);
                let store = TokenStore::new(&data);
                for token in 0..5 {
                    store
                        .create(&format!("p{process}-t{token}"), Role::Investigator)
                        .unwrap();
                }
            });
        }
    });
    let shared = std::sync::Arc::new(PgCatalog::connect(&url).unwrap());
    let data = leakdex::storage::DataDir::open(&dir.path().join("reader"))
        .unwrap()
        .with_shared(shared);
    let entries = TokenStore::new(&data).list().unwrap();
    assert_eq!(entries.len(), 20);
    let mut ids: Vec<&str> = entries.iter().map(|entry| entry.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 20, "ids are unique");
    // Nothing went to the local files.
    assert!(!dir.path().join("reader/tokens.json").exists());
}

/// A process of a cluster: its own data directory, the deployment's key, the shared catalog.
fn process_of(url: &str, root: &std::path::Path, key: &std::path::Path) -> leakdex::storage::DataDir {
    let shared = std::sync::Arc::new(PgCatalog::connect(url).unwrap());
    leakdex::storage::DataDir::open(root)
        .unwrap()
        .with_key_file(key)
        .unwrap()
        .with_shared(shared)
}

/// Runs `statements` on the database at `url`, as an operator (or an intruder) could.
fn sql(url: &str, statements: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client.batch_execute(statements).await.unwrap();
    });
}

#[test]
fn the_audit_chain_of_several_processes_is_one_and_verifies_anywhere() {
    use leakdex::access::audit::{AuditLog, Request};
    let url = postgres_server().database("audit_chain");
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("deployment.key");
    std::fs::write(&key, "00112233445566778899aabbccddeeff").unwrap();
    // Three processes, two threads each, appending at once (more entries than verify reads in
    // one page), while a fourth process verifies the chain as it grows.
    let reader = process_of(&url, &dir.path().join("reader"), &key);
    let log = AuditLog::new(&reader);
    let appending = std::sync::atomic::AtomicUsize::new(6);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut verified = 0;
            while appending.load(std::sync::atomic::Ordering::Acquire) > 0 {
                let count = log.verify().unwrap().expect("a growing chain verifies");
                assert!(count >= verified);
                verified = count;
            }
        });
        for process in 0..3 {
            let data = process_of(&url, &dir.path().join(format!("p{process}")), &key);
            let log = std::sync::Arc::new(AuditLog::new(&data));
            for thread in 0..2 {
                let (log, appending) = (log.clone(), &appending);
                scope.spawn(move || {
                    for call in 0..200u64 {
                        log.append(&Request {
                            principal: format!("p{process}-t{thread}"),
                            role: "partner".into(),
                            rpc: "BatchLookup".into(),
                            queries: call,
                            asked: vec![call],
                            ..Request::default()
                        })
                        .unwrap();
                    }
                    appending.fetch_sub(1, std::sync::atomic::Ordering::Release);
                });
            }
        }
    });
    assert_eq!(log.verify().unwrap(), Ok(1_200));
    let entries = log.entries().unwrap();
    let seqs: Vec<u64> = entries.iter().map(|entry| entry.body.seq).collect();
    assert_eq!(seqs, (1..=1_200).collect::<Vec<u64>>());
    let mut principals: Vec<&str> = entries.iter().map(|entry| entry.body.principal.as_str()).collect();
    principals.sort_unstable();
    principals.dedup();
    assert_eq!(principals.len(), 6);
    assert_eq!(log.anchor().unwrap().seq, 1_200);
    // Nothing went to any process's files.
    for process in ["p0", "p1", "p2", "reader"] {
        assert!(!dir.path().join(process).join("audit.log").exists());
        assert!(!dir.path().join(process).join("audit.key").exists());
    }

    // Whoever can write the database but lacks the key: an edited entry, and entries deleted
    // from the end, are found.
    sql(
        &url,
        "UPDATE leakdex_journal_entries
         SET entry = convert_to(replace(convert_from(entry, 'UTF8'), '\"role\":\"partner\"', '\"role\":\"admin\"'), 'UTF8')
         WHERE name = 'audit' AND position = 20",
    );
    let problems = log.verify().unwrap().unwrap_err();
    assert!(
        problems
            .iter()
            .any(|problem| problem.line == 21 && problem.message.contains("entry 21 was edited")),
        "{problems:?}"
    );
    sql(
        &url,
        "DELETE FROM leakdex_journal_entries WHERE name = 'audit' AND position >= 1198",
    );
    let problems = log.verify().unwrap().unwrap_err();
    assert!(
        problems.iter().any(|problem| problem
            .message
            .contains("the log ends at entry 1198 but 1200 entries were written")),
        "{problems:?}"
    );
    // An entry deleted from the middle is named once, and nothing after it is read twice.
    sql(
        &url,
        "DELETE FROM leakdex_journal_entries WHERE name = 'audit' AND position = 1100",
    );
    let problems = log.verify().unwrap().unwrap_err();
    let missing: Vec<&str> = problems
        .iter()
        .map(|problem| problem.message.as_str())
        .filter(|message| !message.contains("entry 21 ") && !message.contains("the log ends"))
        .collect();
    assert_eq!(
        missing,
        ["entries 1101 to 1101 are missing: deleted before entry 1102"],
        "{problems:?}"
    );

    // A process given another deployment key cannot check (nor extend) the chain.
    let stranger_key = dir.path().join("stranger.key");
    std::fs::write(&stranger_key, "ffeeddccbbaa99887766554433221100").unwrap();
    let stranger = process_of(&url, &dir.path().join("stranger"), &stranger_key);
    let problems = AuditLog::new(&stranger).verify().unwrap().unwrap_err();
    assert!(
        problems
            .iter()
            .any(|problem| problem.message.contains("entry 1 was edited")),
        "{problems:?}"
    );
}

#[test]
fn quotas_and_throttles_are_the_clusters_not_one_servers() {
    use leakdex::access::limits::{Limiter, Numbered, Refusal, Sweep};
    use leakdex::access::role::Role;
    let url = postgres_server().database("limits");
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("deployment.key");
    std::fs::write(&key, "00112233445566778899aabbccddeeff").unwrap();
    let server = |name: &str| {
        let data = process_of(&url, &dir.path().join(name), &key);
        std::fs::write(
            data.root().join("limits.json"),
            r#"{"partner": {"daily_lookups": 100, "per_second": 1e9, "burst": 1e9}}"#,
        )
        .unwrap();
        Limiter::configured(&data).unwrap()
    };
    let (first, second) = (server("first"), server("second"));
    assert_eq!(first.admit("agency", Role::Partner, 60), Ok(()));
    first.save().unwrap();
    // The second server has not merged yet: it admits, then learns what the first spent.
    assert_eq!(second.admit("agency", Role::Partner, 30), Ok(()));
    second.save().unwrap();
    assert_eq!(
        second.admit("agency", Role::Partner, 20),
        Err(Refusal::DailyLookups { quota: 100 })
    );
    assert_eq!(second.admit("agency", Role::Partner, 10), Ok(()));
    second.save().unwrap();
    // The first learns at its next merge what the second spent: 100 of 100.
    assert_eq!(first.admit("agency", Role::Partner, 0), Ok(()));
    first.save().unwrap();
    assert_eq!(
        first.admit("agency", Role::Partner, 1),
        Err(Refusal::DailyLookups { quota: 100 })
    );

    // A principal throttled by one server for a sweep is throttled by the other.
    let sweep =
        (0..200u64).filter_map(|number| Numbered::of(leakdex::ingest::Kind::Phone, &format!("+9198123{number:05}")));
    assert_eq!(first.watch("bot", Role::Partner, sweep), Sweep::Throttled);
    assert_eq!(second.admit("bot", Role::Partner, 1), Ok(()));
    second.save().unwrap();
    assert!(matches!(
        second.admit("bot", Role::Partner, 1),
        Err(Refusal::Enumeration { .. })
    ));
    // Another principal is untouched.
    assert_eq!(second.admit("other", Role::Partner, 1), Ok(()));
}

#[test]
fn counters_merged_at_once_by_several_processes_lose_nothing() {
    use leakdex::storage::{Counters, Merge};
    let url = postgres_server().database("counters");
    let far = u64::MAX / 2;
    std::thread::scope(|scope| {
        for process in 0..4i64 {
            let url = &url;
            scope.spawn(move || {
                let counters = PgCatalog::connect(url).unwrap();
                for round in 0..50 {
                    // Names in a different order in every process: merges must not deadlock.
                    let mut changes = vec![
                        ("a".to_string(), Merge::Add(1), far),
                        ("b".to_string(), Merge::Add(2), far),
                        ("peak".to_string(), Merge::Max(process * 100 + round), far),
                    ];
                    changes.rotate_left(process as usize % 3);
                    let values = counters.merge(&changes).unwrap();
                    assert_eq!(values.len(), 3);
                }
            });
        }
    });
    let counters = PgCatalog::connect(&url).unwrap();
    let totals = counters
        .merge(&[
            ("a".to_string(), Merge::Add(0), far),
            ("b".to_string(), Merge::Add(0), far),
            ("peak".to_string(), Merge::Max(0), far),
            // Expired at once: forgotten by the next merge.
            ("gone".to_string(), Merge::Add(5), 1),
        ])
        .unwrap();
    assert_eq!(totals, vec![200, 400, 349, 5]);
    assert_eq!(
        counters.merge(&[("gone".to_string(), Merge::Add(0), 1)]).unwrap(),
        vec![0]
    );
}
