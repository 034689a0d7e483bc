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
                let data = leakdex::storage::DataDir::open(&root).unwrap().with_documents(shared);
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
        .with_documents(shared);
    let entries = TokenStore::new(&data).list().unwrap();
    assert_eq!(entries.len(), 20);
    let mut ids: Vec<&str> = entries.iter().map(|entry| entry.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 20, "ids are unique");
    // Nothing went to the local files.
    assert!(!dir.path().join("reader/tokens.json").exists());
}
