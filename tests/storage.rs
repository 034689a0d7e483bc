//! Object storage: one conformance suite (the contract in `leakdex::storage::objects`) run
//! against every implementation — the local directory and S3 (moto's server on loopback) —
//! and the bounded local cache a searcher maps segment files from.

use crate::common::setup::s3_server;
use bytes::Bytes;
use leakdex::storage::{LocalObjects, ObjectError, ObjectStorage, S3Objects, SegmentCache};
use std::sync::Arc;

/// A fresh prefix of the test bucket, so that tests running at once do not see each other.
fn s3_objects(prefix: &str) -> S3Objects {
    let server = s3_server();
    S3Objects::with_builder(server.builder(), &server.bucket, prefix).expect("S3 client")
}

/// Bytes that differ at every position, so a range read from the wrong place is seen.
fn pattern(size: usize) -> Vec<u8> {
    (0..size)
        .map(|position| (position * 7 + position / 251) as u8)
        .collect()
}

/// The contract, checked against one implementation.
fn conformance(storage: &dyn ObjectStorage) {
    let uri = storage.uri();
    // Nothing yet.
    assert_eq!(storage.list("").unwrap(), vec![], "{uri}");
    assert!(matches!(
        storage.get("segments/a/hash.idx"),
        Err(ObjectError::NotFound { .. })
    ));
    assert!(matches!(
        storage.size("segments/a/hash.idx"),
        Err(ObjectError::NotFound { .. })
    ));

    // Put, get, size, ranges.
    let bytes = pattern(100_000);
    storage.put("segments/a/hash.idx", Bytes::from(bytes.clone())).unwrap();
    assert_eq!(storage.get("segments/a/hash.idx").unwrap(), bytes);
    assert_eq!(storage.size("segments/a/hash.idx").unwrap(), 100_000);
    for range in [0..1, 0..100_000, 4095..4097, 99_999..100_000, 500..500] {
        let got = storage.get_range("segments/a/hash.idx", range.clone()).unwrap();
        assert_eq!(
            &got[..],
            &bytes[range.start as usize..range.end as usize],
            "{uri} {range:?}"
        );
    }
    for range in [99_000..100_001, 100_001..100_002] {
        assert!(
            matches!(
                storage.get_range("segments/a/hash.idx", range.clone()),
                Err(ObjectError::OutOfRange { size: 100_000, .. })
            ),
            "{uri} {range:?}"
        );
    }
    assert!(matches!(
        storage.get_range("segments/none", 0..1),
        Err(ObjectError::NotFound { .. })
    ));

    // An empty object is an object.
    storage.put("segments/a/empty", Bytes::new()).unwrap();
    assert_eq!(storage.size("segments/a/empty").unwrap(), 0);
    assert!(storage.get("segments/a/empty").unwrap().is_empty());

    // A file larger than one part goes up whole; download brings it back whole.
    let dir = tempfile::tempdir().unwrap();
    let large = pattern(20 << 20);
    std::fs::write(dir.path().join("records.bin"), &large).unwrap();
    storage
        .put_file("segments/b/records.bin", &dir.path().join("records.bin"))
        .unwrap();
    assert_eq!(storage.size("segments/b/records.bin").unwrap(), large.len() as u64);
    let copy = dir.path().join("copy.bin");
    assert_eq!(
        storage.download("segments/b/records.bin", &copy).unwrap(),
        large.len() as u64
    );
    assert!(std::fs::read(&copy).unwrap() == large, "{uri}: downloaded copy differs");
    let tail = storage
        .get_range("segments/b/records.bin", (20 << 20) - 10..20 << 20)
        .unwrap();
    assert_eq!(&tail[..], &large[large.len() - 10..]);
    assert!(matches!(
        storage.download("segments/none", &dir.path().join("none")),
        Err(ObjectError::NotFound { .. })
    ));
    assert!(!dir.path().join("none").exists());

    // Replacing an object replaces it whole.
    storage
        .put("segments/a/empty", Bytes::from_static(b"now full"))
        .unwrap();
    assert_eq!(&storage.get("segments/a/empty").unwrap()[..], b"now full");

    // Listing: recursive, sorted, with sizes, by folder.
    storage.put("text/a/meta.json", Bytes::from_static(b"{}")).unwrap();
    let all: Vec<(String, u64)> = storage
        .list("")
        .unwrap()
        .into_iter()
        .map(|object| (object.path, object.size))
        .collect();
    assert_eq!(
        all,
        vec![
            ("segments/a/empty".to_string(), 8),
            ("segments/a/hash.idx".to_string(), 100_000),
            ("segments/b/records.bin".to_string(), 20 << 20),
            ("text/a/meta.json".to_string(), 2),
        ],
        "{uri}"
    );
    let segment_a: Vec<String> = storage
        .list("segments/a/")
        .unwrap()
        .into_iter()
        .map(|object| object.path)
        .collect();
    assert_eq!(segment_a, ["segments/a/empty", "segments/a/hash.idx"]);
    // A folder is a whole part of the path, not a string prefix.
    assert_eq!(storage.list("segments/a/hash").unwrap(), vec![]);
    assert_eq!(storage.list("nothing").unwrap(), vec![]);

    // An object's own path is not a folder; a folder is not an object.
    assert_eq!(storage.list("segments/a/empty").unwrap(), vec![]);
    assert!(matches!(storage.get("segments/a"), Err(ObjectError::NotFound { .. })));
    assert!(matches!(storage.size("segments"), Err(ObjectError::NotFound { .. })));
    storage.delete("segments/a").unwrap();
    assert_eq!(storage.list("segments/a").unwrap().len(), 2);
    // Characters some clients percent-encode come back as written.
    storage.put("odd/a#b%c~d/x y", Bytes::from_static(b"odd")).unwrap();
    let odd = storage.list("odd/a#b%c~d").unwrap();
    assert_eq!(odd.len(), 1, "{uri}");
    assert_eq!(odd[0].path, "odd/a#b%c~d/x y");
    assert_eq!(&storage.get(&odd[0].path).unwrap()[..], b"odd");
    storage.delete("odd/a#b%c~d/x y").unwrap();

    // Deleting, twice.
    storage.delete("segments/a/hash.idx").unwrap();
    storage.delete("segments/a/hash.idx").unwrap();
    assert!(matches!(
        storage.get("segments/a/hash.idx"),
        Err(ObjectError::NotFound { .. })
    ));
    assert_eq!(storage.list("segments/a").unwrap().len(), 1);

    // Paths that could escape the store or clash with its temporary files, refused before
    // the backend is asked.
    for bad in ["../escape", "/root", "a//b", "segments/.hidden", ""] {
        assert!(
            matches!(storage.put(bad, Bytes::new()), Err(ObjectError::InvalidPath { .. })),
            "{uri} {bad:?}"
        );
        assert!(matches!(storage.get(bad), Err(ObjectError::InvalidPath { .. })));
        assert!(matches!(storage.delete(bad), Err(ObjectError::InvalidPath { .. })));
    }
    assert!(matches!(storage.list("../"), Err(ObjectError::InvalidPath { .. })));
}

#[test]
fn local_objects_keep_the_storage_contract() {
    let dir = tempfile::tempdir().unwrap();
    let storage = LocalObjects::new(&dir.path().join("objects"));
    conformance(&storage);
    // Nothing escaped the root, and no temporary file was left behind.
    let leftovers: Vec<_> = walkdir::WalkDir::new(dir.path())
        .min_depth(1)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn s3_objects_keep_the_storage_contract() {
    conformance(&s3_objects("conformance"));
}

#[test]
fn s3_objects_are_reachable_from_async_code_and_say_what_is_wrong() {
    let storage = Arc::new(s3_objects("from-async"));
    // From inside a runtime (a server's handler), through spawn_blocking as the module says.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let in_runtime = storage.clone();
    let got = runtime.block_on(async move {
        tokio::task::spawn_blocking(move || {
            in_runtime.put("x", Bytes::from_static(b"abc")).unwrap();
            in_runtime.get("x").unwrap()
        })
        .await
        .unwrap()
    });
    assert_eq!(&got[..], b"abc");
    // Dropped inside async code without a panic.
    runtime.block_on(async move { drop(storage) });

    // A bucket that does not exist: an error naming the store and the object, not a panic.
    let builder = s3_server().builder();
    // Refused when opened: S3 answers a missing bucket as a missing object, which would make
    // every segment look absent.
    let error = S3Objects::with_builder(builder, "no-such-bucket", "").unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, ObjectError::Config { .. }) && message.contains("s3://no-such-bucket"),
        "{message}"
    );
}

#[test]
fn a_cache_downloads_on_first_use_and_stays_within_its_bound() {
    let dir = tempfile::tempdir().unwrap();
    let storage: Arc<dyn ObjectStorage> = Arc::new(s3_objects("cache"));
    for (name, size) in [("a", 400), ("b", 300), ("c", 300), ("d", 500)] {
        storage
            .put(&format!("segments/s/{name}"), Bytes::from(pattern(size)))
            .unwrap();
    }
    let folder = dir.path().join("cache");
    let cache = SegmentCache::open(storage.clone(), &folder, 1000).unwrap();
    // An empty cache answers from object storage.
    let a = cache.map("segments/s/a").unwrap();
    assert_eq!(a.as_ref(), &pattern(400)[..]);
    cache.map("segments/s/b").unwrap();
    cache.map("segments/s/c").unwrap();
    assert_eq!(cache.stats().bytes, 1000);
    // `a` used again: `b` is now the least recently used, and goes when `d` comes.
    cache.map("segments/s/a").unwrap();
    let d = cache.map("segments/s/d").unwrap();
    assert_eq!(d.as_ref(), &pattern(500)[..]);
    let stats = cache.stats();
    assert!(stats.bytes <= 1000, "{stats:?}");
    assert!(folder.join("segments/s/a").exists());
    assert!(!folder.join("segments/s/b").exists());
    assert!(!folder.join("segments/s/c").exists());
    // What a segment had mapped stays readable after its file is evicted.
    assert_eq!(a.as_ref(), &pattern(400)[..]);
    // Fetched again after eviction, the same bytes.
    assert_eq!(cache.map("segments/s/b").unwrap().as_ref(), &pattern(300)[..]);
    assert!(cache.stats().bytes <= 1000);
    // A restart finds what is on disk and keeps its bound; a download cut short is dropped.
    std::fs::write(folder.join("segments/s/.d.download"), b"partial").unwrap();
    drop(cache);
    let reopened = SegmentCache::open(storage.clone(), &folder, 600).unwrap();
    assert!(reopened.stats().bytes <= 600);
    assert!(!folder.join("segments/s/.d.download").exists());
    // An absent object is an error, and caches nothing.
    assert!(matches!(
        reopened.map("segments/s/none"),
        Err(ObjectError::NotFound { .. })
    ));
    assert!(matches!(reopened.map("../x"), Err(ObjectError::InvalidPath { .. })));
}

#[test]
fn a_cache_under_concurrent_use_and_eviction_hands_out_only_whole_files() {
    let dir = tempfile::tempdir().unwrap();
    let storage: Arc<dyn ObjectStorage> = Arc::new(LocalObjects::new(&dir.path().join("objects")));
    let sizes = [400usize, 300, 350, 500];
    for (name, size) in sizes.iter().enumerate() {
        storage.put(&format!("s/{name}"), Bytes::from(pattern(*size))).unwrap();
    }
    // Room for two objects at most: nearly every use evicts another thread's file.
    let cache = SegmentCache::open(storage, &dir.path().join("cache"), 900).unwrap();
    std::thread::scope(|scope| {
        for thread in 0..4 {
            let cache = &cache;
            scope.spawn(move || {
                for round in 0..60 {
                    let name = (thread + round * 3) % sizes.len();
                    let mapped = cache.map(&format!("s/{name}")).unwrap();
                    assert!(mapped.as_ref() == &pattern(sizes[name])[..], "s/{name} differs");
                }
            });
        }
    });
    assert!(cache.stats().bytes <= 900, "{:?}", cache.stats());
}

/// A segment on object storage is read by byte range: a reader that has fetched nothing answers
/// from what it fetches as it reads, verifies whole; and one whose identifier index cannot be
/// fetched answers every lookup as incomplete (its partitions listed), never as found nowhere.
#[test]
fn a_segment_read_by_range_answers_verifies_and_says_when_it_cannot_be_read() {
    use leakdex::catalog::{Corpus, CorpusKind, FileCatalog};
    use leakdex::query::{Index, Query, lookup_batch};
    use leakdex::segment::{BuildOptions, build_segment};
    use leakdex::storage::DataDir;
    let dir = tempfile::tempdir().unwrap();
    let objects: Arc<dyn ObjectStorage> = Arc::new(LocalObjects::new(&dir.path().join("objects")));
    let builder = DataDir::open(&dir.path().join("builder"))
        .unwrap()
        .with_objects(objects.clone(), 1 << 30, 0)
        .unwrap();
    let catalog = FileCatalog::open(builder.root());
    let dump = dir.path().join("people.csv");
    let phones: Vec<String> = (0..2_000u64).map(|n| format!("98{:08}", n * 7_919)).collect();
    let rows: String = phones
        .iter()
        .enumerate()
        .map(|(n, phone)| format!("person{n},{phone},person{n}@example.org\n"))
        .collect();
    std::fs::write(&dump, format!("name,phone,email\n{rows}")).unwrap();
    build_segment(
        &builder,
        &catalog,
        &Corpus::new("people", CorpusKind::Leak),
        &[dump],
        &BuildOptions::default(),
    )
    .unwrap();
    // A reader with its own (empty) data directory: everything comes from object storage.
    let reader = |name: &str| {
        DataDir::open(&dir.path().join(name))
            .unwrap()
            .with_key_file(&builder.root().join("key"))
            .unwrap()
            .with_objects(objects.clone(), 1 << 30, 0)
            .unwrap()
    };
    let queries = Query::detected(&phones[..50]);
    let data = reader("reader");
    let index = Index::open(&data, &catalog, &[]).unwrap();
    let answers = lookup_batch(&index, Default::default(), &queries);
    for (answer, phone) in answers.iter().zip(&phones) {
        let hits = answer.hits.as_ref().unwrap();
        assert_eq!(hits.len(), 1, "{phone}");
        assert!(hits[0].line >= 2 && answer.missing_partitions.is_empty(), "{answer:?}");
    }
    let held: u64 = data
        .objects()
        .unwrap()
        .ranged
        .held_bytes()
        .iter()
        .map(|(_, bytes)| bytes)
        .sum();
    assert!(held > 0);
    index.segments[0].segment.verify().unwrap();
    // The identifier index gone from object storage: a reader that has not fetched it yet
    // cannot answer, and says so for every reading.
    let id = index.segments[0].segment.manifest.id.clone();
    objects.delete(&format!("segments/{id}/hash.idx")).unwrap();
    let lost = Index::open(&reader("second"), &catalog, &[]).unwrap();
    let answers = lookup_batch(&lost, Default::default(), &queries);
    for answer in &answers {
        assert!(answer.hits.as_ref().unwrap().is_empty(), "{answer:?}");
        assert!(!answer.missing_partitions.is_empty(), "{answer:?}");
    }
    // The first reader still answers from what it fetched.
    let again = lookup_batch(&index, Default::default(), &queries);
    assert!(again.iter().all(|answer| answer.hits.as_ref().unwrap().len() == 1));
}
