//! Segments: the immutable unit of index. A segment is built in a staging folder, fsynced and
//! published by an atomic rename plus a catalog update; it is never modified, only deleted.
//!
//! Files of a segment (all little-endian): `manifest.json`, `hash.idx` + `hash.dir` (identifier
//! fingerprints, see [`hash`]), `blocking.idx` + `blocking.dir` (the [`blocking`] keys, laid out
//! as [`hash::Layout::Keys`]), `locations.bin`, `records.bin` + `records.idx`, `runs.bin` (see
//! [`store`]), `range.idx` + `range.dir` (distinct SHA-256 prefixes of identifying values for
//! private lookups, [`hash::Layout::Fingerprints`]).

pub mod blocking;
pub mod canary;
pub mod hash;
pub mod pipeline;
pub mod store;
pub mod text;
pub mod words;
mod writer;

pub use pipeline::{Progress, index_corpus};
pub use writer::{BuildOptions, BuildReport, build_segment, collect_garbage, delete_corpus, range_key};

use crate::ingest::{Kind, Validity};
use crate::storage::{CALL_REQUESTS, DataDir, Mapped, RangedFile, map_file};
use hash::{Entry, HashIndex, Layout};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use store::{BLOCK_INDEX_BYTES, RUN_BYTES, Run, StoredLocation, StoredRecord, u64_at};

/// On-disk format version written into every manifest.
/// Version 2 added a value store, blocking keys and the private-lookup index; version 3 derives
/// the blocking keys of names in Indic scripts from their romanization, keeps values in LZ4
/// blocks indexed like records, and packs locations into 12 bytes (file and ordinal from runs);
/// version 4 adds blocking rules that survive one bad field (`name+pin`, `name+place`,
/// `dob+pin`, `surname+street+…`), blocks on a name kept in given-name and surname columns, and
/// reads national IDs and postcodes of other countries; version 5 stores hash and range
/// entries in 12 bytes (a fingerprint's low 56 bits, the record, a narrow field id) under a
/// directory of about 16 entries a bucket, moves blocking keys to an index of their own of
/// 8-byte entries (`blocking.idx`: no field, a key kept to 32 bits below its bucket), keeps
/// the private-lookup index to distinct 7-byte prefixes (`range.idx`), and numbers records
/// the same whatever the thread count or memory budget; version 6 drops the value store (`values.bin`, `values.idx`): matching reads the record
/// store, now in blocks of up to 256 records; blocking keys keep 16 bits below their bucket
/// (6-byte entries), and hash and range entries keep a fingerprint's low 48 bits when the
/// directory has 16 bits or more (11-byte postings); version 7 keeps a record's line whole or
/// as its distance from its ordinal, whichever is narrower for its file, and makes locations
/// as narrow as the segment's values allow (the manifest's `locations`).
pub const FORMAT_VERSION: u32 = 7;

#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    #[error("segment {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("segment {path} is corrupt: {message}")]
    Corrupt { path: String, message: String },
    /// Data written by another version of leakdex, in a format this one does not read; `fix`
    /// says why and what to run.
    #[error("{what} {path} cannot be read by this leakdex: {fix}")]
    OtherFormat {
        path: String,
        what: &'static str,
        fix: String,
    },
    #[error(transparent)]
    Ingest(#[from] crate::ingest::Error),
    #[error(transparent)]
    Catalog(#[from] crate::catalog::CatalogError),
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
}

/// A field name and kind, shared by the records of a segment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldInfo {
    pub name: String,
    pub kind: Kind,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    pub path: String,
    pub size: u64,
    pub sha256: String,
    pub records: u64,
    pub rejected: u64,
    pub format: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    pub id: String,
    pub corpus: String,
    pub created: String,
    pub records: u64,
    pub rejected: u64,
    /// Entries and directory bits of the identifier index (`hash.idx`, `hash.dir`).
    pub entries: u64,
    pub directory_bits: u32,
    /// Entries and directory bits of the blocking-key index (`blocking.idx`, `blocking.dir`);
    /// absent before format 5, whose segments are refused by their version.
    #[serde(default)]
    pub blocking_entries: u64,
    #[serde(default)]
    pub blocking_bits: u32,
    /// Entries and directory bits of the private-lookup index (`range.idx`, `range.dir`).
    pub range_entries: u64,
    pub range_bits: u32,
    /// How wide `locations.bin`'s entries are; absent before format 7, whose segments are
    /// refused by their version.
    #[serde(default)]
    pub locations: store::LocationLayout,
    pub fields: Vec<FieldInfo>,
    pub files: Vec<ManifestFile>,
    /// SHA-256 of every other file of the segment.
    pub checksums: BTreeMap<String, String>,
}

/// Segment files covered by the manifest's checksums.
pub const DATA_FILES: [&str; 10] = [
    "hash.idx",
    "hash.dir",
    "blocking.idx",
    "blocking.dir",
    "locations.bin",
    "records.bin",
    "records.idx",
    "runs.bin",
    "range.idx",
    "range.dir",
];

/// Segments opened so far in this process (see `Segment::opened_as`).
static OPENED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A published segment, opened by mmap. Opening reads the manifest and maps files: its cost does
/// not grow with the number of records.
pub struct Segment {
    pub path: PathBuf,
    pub manifest: Manifest,
    /// Identifier fingerprints (read through [`Segment::probe_identifiers`]).
    hash: HashIndex,
    /// Blocking keys, which find candidate records for matching (see [`Segment::blocking`]).
    blocking: Lazy<HashIndex>,
    /// SHA-256 prefixes of identifying values, for private (k-anonymous) lookups (see
    /// [`Segment::range`]).
    range: Lazy<HashIndex>,
    locations: Mapped,
    /// The record store and its block index.
    records: Lazy<(Mapped, Mapped)>,
    runs: Mapped,
    /// For a segment served from object storage: its identifier index and locations, read by
    /// byte range (see [`RangedParts`]).
    ranged: Option<RangedParts>,
    /// Tells this segment's record blocks apart from another's in a thread's cache.
    opened_as: u64,
}

/// The files of a segment served from object storage that are read by byte range rather than
/// fetched whole: the identifier index, of which a cluster node reads only its partitions, and
/// the locations, of which it reads those of its hits. Every read of them fetches first.
struct RangedParts {
    hash: Arc<RangedFile>,
    locations: Arc<RangedFile>,
    /// One bit per partition of the identifier index (see [`crate::cluster::placement`]):
    /// set once all of it is fetched, so probes of a node's own partitions skip the check of
    /// every bucket they read.
    whole_partitions: Vec<std::sync::atomic::AtomicU64>,
}

impl RangedParts {
    fn partition_is_whole(&self, fingerprint: u64) -> bool {
        let partition = crate::cluster::placement::partition_of(fingerprint);
        self.whole_partitions[partition / 64].load(std::sync::atomic::Ordering::Acquire) & (1 << (partition % 64)) != 0
    }
}

/// A part of a segment read when first needed. A segment served from object storage maps its
/// directory and runs when opened (its identifier index and locations are read by byte range,
/// [`RangedParts`]), and the rest (the record store, blocking and range indexes) only when a
/// query reads them: a node that only answers lookups never fetches them. A local segment
/// loads everything when opened, so a damaged file is found then.
struct Lazy<T> {
    loaded: std::sync::OnceLock<T>,
    load: Option<Box<dyn Fn() -> Result<T, SegmentError> + Send + Sync>>,
}

impl<T> Lazy<T> {
    fn loaded(value: T) -> Lazy<T> {
        let loaded = std::sync::OnceLock::new();
        let _ = loaded.set(value);
        Lazy { loaded, load: None }
    }

    /// Loaded when first read (`lazy`), or now.
    ///
    /// Errors: loading now fails.
    fn now_or_later(
        lazy: bool,
        load: Box<dyn Fn() -> Result<T, SegmentError> + Send + Sync>,
    ) -> Result<Lazy<T>, SegmentError> {
        if lazy {
            Ok(Lazy {
                loaded: std::sync::OnceLock::new(),
                load: Some(load),
            })
        } else {
            Ok(Lazy::loaded(load()?))
        }
    }

    /// The part, loaded now if it was not. A failed load (storage unreachable) is an error
    /// this time and tried again the next.
    fn get(&self) -> Result<&T, SegmentError> {
        if let Some(value) = self.loaded.get() {
            return Ok(value);
        }
        let load = self.load.as_ref().ok_or_else(|| SegmentError::Corrupt {
            path: String::new(),
            message: "a segment part neither loaded nor loadable".into(),
        })?;
        let value = load()?;
        // Two threads may load at once: the first kept wins, the other copy is dropped.
        let _ = self.loaded.set(value);
        Ok(self.loaded.get().unwrap_or_else(|| unreachable!("set above")))
    }
}

/// A record as stored, with names resolved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ShownRecord {
    pub file: String,
    pub record: u64,
    pub line: u64,
    pub offset: u64,
    /// Some text is not as the file wrote it (see [`crate::ingest::RecordView::decoded_latin1`]).
    pub decoded_latin1: bool,
    pub fields: Vec<ShownField>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ShownField {
    pub name: String,
    pub kind: Kind,
    pub validity: Validity,
    pub raw: String,
    pub normalized: String,
}

/// Maps a segment's file by name.
type OpenFile = Arc<dyn Fn(&str) -> std::io::Result<Mapped> + Send + Sync>;
/// Opens a segment's file of the given size (from the manifest) for reading by byte range, in
/// blocks of at least the given bytes.
type OpenRanged = Box<dyn Fn(&str, u64, u64) -> std::io::Result<Arc<RangedFile>>>;

/// Fetch unit of ranged locations. A lookup's hits fall anywhere in the file, 5–8 bytes each
/// on the generator's corpora, so a request is what they cost, not its bytes: 64 KiB (10,922
/// records' locations of 6 bytes) takes about as long to fetch from object storage as one,
/// and a batch's hits then need a request per 64 KiB at most, however many fall there.
const LOCATION_FETCH_BYTES: u64 = 64 << 10;

fn corrupt_at(path: &Path, message: String) -> SegmentError {
    SegmentError::Corrupt {
        path: path.display().to_string(),
        message,
    }
}

fn io_at(path: &Path) -> impl Fn(std::io::Error) -> SegmentError + '_ {
    move |source| SegmentError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Index `name` (`NAME.idx`, `NAME.dir`) of `(bits, layout)`, which must hold `entries`; its
/// entries `ranged` when given, else mapped by `open_file`.
fn load_index(
    path: &Path,
    open_file: &OpenFile,
    name: &str,
    (bits, layout): (u32, Layout),
    (entries, ranged): (u64, Option<Mapped>),
) -> Result<HashIndex, SegmentError> {
    let map = |file: String| open_file(&file).map_err(io_at(path));
    let entry_file = match ranged {
        Some(ranged) => ranged,
        None => map(format!("{name}.idx"))?,
    };
    let index = HashIndex::new(entry_file, map(format!("{name}.dir"))?, bits, layout)
        .map_err(|error| corrupt_at(path, format!("{name} index: {error}")))?;
    if index.len() as u64 != entries {
        return Err(corrupt_at(
            path,
            format!("{name}.idx holds {} entries, manifest says {entries}", index.len()),
        ));
    }
    Ok(index)
}

/// A block store (`data`) and its block index (`index`), which must end at `records`.
fn load_store(
    path: &Path,
    open_file: &OpenFile,
    data: &str,
    index: &str,
    records: u64,
) -> Result<(Mapped, Mapped), SegmentError> {
    let blocks = open_file(index).map_err(io_at(path))?;
    let bytes = blocks.as_ref();
    let sentinel = bytes.len().checked_sub(BLOCK_INDEX_BYTES).map(|at| u64_at(bytes, at));
    if bytes.len() % BLOCK_INDEX_BYTES != 0 || sentinel != Some(records) {
        return Err(corrupt_at(
            path,
            format!("{index} holds {} bytes, not blocks of {records} records", bytes.len()),
        ));
    }
    Ok((open_file(data).map_err(io_at(path))?, blocks))
}

impl Segment {
    pub fn open(path: &Path) -> Result<Segment, SegmentError> {
        let folder = path.to_path_buf();
        Segment::open_with(path, Arc::new(move |name: &str| map_file(&folder.join(name))), None)
    }

    /// Segment `id` as published: from `DATA/segments/ID/` when this process has it there (it
    /// built it, or the data directory is the only storage), else from object storage through
    /// the data directory's cache.
    pub fn open_published(data: &DataDir, id: &str) -> Result<Segment, SegmentError> {
        let local = data.segment_path(id);
        match data.objects() {
            Some(_) if !local.exists() => {
                let remote = data.shared_objects().ok_or_else(|| SegmentError::Corrupt {
                    path: local.display().to_string(),
                    message: "object storage went away".into(),
                })?;
                let (whole, ranged) = (remote.clone(), id.to_string());
                let id = id.to_string();
                Segment::open_with(
                    &data.root().join("cache/segments").join(&id),
                    Arc::new(move |name: &str| {
                        whole
                            .cache
                            .map(&crate::storage::segment_object(&id, name))
                            .map_err(std::io::Error::other)
                    }),
                    Some(Box::new(move |name: &str, size: u64, min_block: u64| {
                        remote
                            .ranged
                            .open(&crate::storage::segment_object(&ranged, name), size, min_block)
                            .map_err(std::io::Error::other)
                    })),
                )
            }
            _ => Segment::open(&local),
        }
    }

    /// Opens a segment whose files `open_file` maps by name; `path` names it in errors. With
    /// `open_ranged` (a segment on object storage), the identifier index and locations are read
    /// by byte range through it, and the parts a lookup does not read are mapped when first
    /// read (see [`Lazy`]).
    fn open_with(path: &Path, open_file: OpenFile, open_ranged: Option<OpenRanged>) -> Result<Segment, SegmentError> {
        let lazy = open_ranged.is_some();
        let corrupt = |message: String| corrupt_at(path, message);
        let io = |source| SegmentError::Io {
            path: path.display().to_string(),
            source,
        };
        let manifest_bytes = open_file("manifest.json").map_err(io)?;
        let manifest: Manifest = serde_json::from_slice(manifest_bytes.as_ref())
            .map_err(|error| corrupt(format!("manifest.json: {error}")))?;
        if manifest.format_version != FORMAT_VERSION {
            let fix = if manifest.format_version < FORMAT_VERSION {
                format!(
                    "it is in format version {}, older than this leakdex's {FORMAT_VERSION}: delete its corpus \
                     (`leakdex delete --corpus {}`) and ingest it again from its files",
                    manifest.format_version, manifest.corpus
                )
            } else {
                format!(
                    "it is in format version {}, written by a newer leakdex (this one reads {FORMAT_VERSION}): \
                     use that version or upgrade this one; the segment is left as it is",
                    manifest.format_version
                )
            };
            return Err(SegmentError::OtherFormat {
                path: path.display().to_string(),
                what: "segment",
                fix,
            });
        }
        manifest.locations.check().map_err(&corrupt)?;
        let map = |name: &str| open_file(name).map_err(io);
        let records = manifest.records;
        let layout = Layout::for_fields(manifest.fields.len());
        let ranged = match open_ranged {
            Some(open_ranged) => {
                let entry_bytes = manifest
                    .entries
                    .saturating_mul(layout.entry_bytes(manifest.directory_bits) as u64);
                Some(RangedParts {
                    // The identifier index in blocks as small as its partitions are.
                    hash: open_ranged("hash.idx", entry_bytes, 0).map_err(io)?,
                    locations: open_ranged(
                        "locations.bin",
                        records.saturating_mul(manifest.locations.entry_bytes() as u64),
                        LOCATION_FETCH_BYTES,
                    )
                    .map_err(io)?,
                    whole_partitions: (0..crate::cluster::placement::PARTITIONS / 64)
                        .map(|_| std::sync::atomic::AtomicU64::new(0))
                        .collect(),
                })
            }
            None => None,
        };
        let hash = load_index(
            path,
            &open_file,
            "hash",
            (manifest.directory_bits, layout),
            (
                manifest.entries,
                ranged.as_ref().map(|parts| Mapped::Ranged(parts.hash.clone())),
            ),
        )?;
        // The parts a lookup never reads: now, or when first read.
        let indexed = |name: &'static str, bits: u32, layout: Layout, entries: u64| {
            let (folder, open_file) = (path.to_path_buf(), open_file.clone());
            Box::new(move || load_index(&folder, &open_file, name, (bits, layout), (entries, None)))
                as Box<dyn Fn() -> Result<HashIndex, SegmentError> + Send + Sync>
        };
        let blocking = Lazy::now_or_later(
            lazy,
            indexed(
                "blocking",
                manifest.blocking_bits,
                Layout::Keys,
                manifest.blocking_entries,
            ),
        )?;
        let range = Lazy::now_or_later(
            lazy,
            indexed(
                "range",
                manifest.range_bits,
                Layout::Fingerprints,
                manifest.range_entries,
            ),
        )?;
        let store = |data: &'static str, index: &'static str| {
            let (folder, open_file) = (path.to_path_buf(), open_file.clone());
            Box::new(move || load_store(&folder, &open_file, data, index, records))
                as Box<dyn Fn() -> Result<(Mapped, Mapped), SegmentError> + Send + Sync>
        };
        let segment = Segment {
            path: path.to_path_buf(),
            hash,
            blocking,
            range,
            locations: match &ranged {
                Some(parts) => Mapped::Ranged(parts.locations.clone()),
                None => map("locations.bin")?,
            },
            records: Lazy::now_or_later(lazy, store("records.bin", "records.idx"))?,
            runs: map("runs.bin")?,
            ranged,
            opened_as: OPENED.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            manifest,
        };
        // Shapes must agree with the manifest; bytes are checked by `verify`.
        if segment.locations.as_ref().len() != records as usize * segment.manifest.locations.entry_bytes() {
            return Err(corrupt(format!(
                "locations.bin holds {} bytes for {records} records",
                segment.locations.as_ref().len()
            )));
        }
        if segment.runs.as_ref().len() % RUN_BYTES != 0 {
            return Err(corrupt("runs.bin has a partial entry".into()));
        }
        Ok(segment)
    }

    /// The blocking-key index, which finds candidate records for matching.
    ///
    /// Errors: it cannot be fetched or does not fit the manifest.
    pub fn blocking(&self) -> Result<&HashIndex, SegmentError> {
        self.blocking.get()
    }

    /// The index of SHA-256 prefixes of identifying values, for private lookups.
    ///
    /// Errors: it cannot be fetched or does not fit the manifest.
    pub fn range(&self) -> Result<&HashIndex, SegmentError> {
        self.range.get()
    }

    /// Recomputes the SHA-256 of every file and compares it with the manifest.
    pub fn verify(&self) -> Result<(), SegmentError> {
        let corrupt = |message: String| SegmentError::Corrupt {
            path: self.path.display().to_string(),
            message,
        };
        // Every part on disk first (a segment served from object storage fetches what it has
        // not read yet).
        self.records.get()?;
        self.blocking.get()?;
        self.range.get()?;
        for name in DATA_FILES {
            let expected = self
                .manifest
                .checksums
                .get(name)
                .ok_or_else(|| corrupt(format!("no checksum for {name}")))?;
            let path = self.path.join(name);
            let ranged = self.ranged.as_ref().and_then(|parts| match name {
                "hash.idx" => Some(&parts.hash),
                "locations.bin" => Some(&parts.locations),
                _ => None,
            });
            let actual = match ranged {
                Some(file) => {
                    self.fetch(file, std::iter::once(0..u64::MAX), usize::MAX)?;
                    crate::ingest::sha256_of_reader(&mut file.bytes())
                }
                None => std::fs::File::open(&path).and_then(|mut file| crate::ingest::sha256_of_reader(&mut file)),
            }
            .map_err(|source| SegmentError::Io {
                path: path.display().to_string(),
                source,
            })?;
            if &actual != expected {
                return Err(corrupt(format!(
                    "{name} has SHA-256 {actual}, manifest says {expected}"
                )));
            }
        }
        Ok(())
    }

    /// Fetches `wanted` byte ranges of a ranged file of this segment, in at most `requests`
    /// requests (see [`RangedFile::ensure_within`]).
    ///
    /// Errors: [`SegmentError::Io`] naming the file, with the storage's error as its cause.
    fn fetch(
        &self,
        file: &RangedFile,
        wanted: impl IntoIterator<Item = std::ops::Range<u64>>,
        requests: usize,
    ) -> Result<(), SegmentError> {
        file.ensure_within(wanted, requests).map_err(|error| SegmentError::Io {
            path: self.path.display().to_string(),
            source: std::io::Error::other(error),
        })
    }

    /// Calls `hit(probe, entry)` for every entry of the identifier index whose fingerprint is
    /// among `sorted` ((fingerprint, probe) pairs sorted by fingerprint), in one forward pass.
    /// A segment on object storage first fetches the buckets the probes fall in, and only those:
    /// a cluster node probed for its partitions holds those partitions of the index.
    ///
    /// Errors: the buckets cannot be fetched (nothing is then reported).
    pub fn probe_identifiers(&self, sorted: &[(u64, u32)], hit: impl FnMut(u32, Entry)) -> Result<(), SegmentError> {
        match &self.ranged {
            Some(parts) => self.fetch(
                &parts.hash,
                self.hash.spans_of(
                    sorted
                        .iter()
                        .map(|&(fingerprint, _)| fingerprint)
                        .filter(|&fingerprint| !parts.partition_is_whole(fingerprint)),
                ),
                CALL_REQUESTS,
            )?,
            None => self.hash.read_ahead_for(sorted.len()),
        }
        self.hash.probe_sorted(sorted, hit);
        Ok(())
    }

    /// Fetches the parts of the identifier index that hold the fingerprints of `ranges`
    /// (inclusive), where it is read by byte range: a cluster node fetches its partitions
    /// before it is asked about them. Nothing for a segment on this machine.
    ///
    /// Errors: they cannot be fetched.
    pub fn fetch_identifiers(&self, ranges: &[std::ops::RangeInclusive<u64>]) -> Result<(), SegmentError> {
        let Some(parts) = &self.ranged else { return Ok(()) };
        self.fetch(
            &parts.hash,
            ranges
                .iter()
                .map(|range| self.hash.span_of(*range.start(), *range.end())),
            usize::MAX,
        )?;
        // The partitions the ranges cover whole.
        use crate::cluster::placement::{fingerprints_of, partition_of};
        for range in ranges {
            for partition in partition_of(*range.start())..=partition_of(*range.end()) {
                let fingerprints = fingerprints_of(partition);
                if range.start() <= fingerprints.start() && fingerprints.end() <= range.end() {
                    parts.whole_partitions[partition / 64]
                        .fetch_or(1 << (partition % 64), std::sync::atomic::Ordering::AcqRel);
                }
            }
        }
        Ok(())
    }

    /// Fetches the locations of `records` where they are read by byte range, in one go: for a
    /// caller about to read many, which [`Segment::location`] would otherwise fetch a few at a
    /// time.
    ///
    /// Errors: they cannot be fetched.
    pub fn fetch_locations(&self, records: impl IntoIterator<Item = u64>) -> Result<(), SegmentError> {
        match &self.ranged {
            Some(parts) => self.fetch(
                &parts.locations,
                records.into_iter().map(|record| {
                    let width = self.manifest.locations.entry_bytes() as u64;
                    record * width..(record + 1) * width
                }),
                CALL_REQUESTS,
            ),
            None => Ok(()),
        }
    }

    /// Fetches every record's location where they are read by byte range: one range, not a
    /// check per record, for a caller about to read them all.
    ///
    /// Errors: they cannot be fetched.
    pub fn fetch_all_locations(&self) -> Result<(), SegmentError> {
        match &self.ranged {
            Some(parts) => self.fetch(&parts.locations, std::iter::once(0..u64::MAX), usize::MAX),
            None => Ok(()),
        }
    }

    /// Where a record came from: its line, offset and flags from `locations.bin`, its file and
    /// ordinal from its run (no file, `u32::MAX`, for a record outside every run).
    ///
    /// Errors: a segment on object storage cannot fetch the record's location.
    pub fn location(&self, record: u64) -> Result<StoredLocation, SegmentError> {
        self.fetch_locations([record])?;
        Ok(self.read_location(record))
    }

    /// The locations of `records` (as [`Segment::location`] gives them), fetched together.
    ///
    /// Errors: a segment on object storage cannot fetch them.
    pub fn locations_of(&self, records: &[u32]) -> Result<Vec<StoredLocation>, SegmentError> {
        if self.ranged.as_ref().is_some_and(|parts| !parts.locations.is_complete()) {
            // In order, so that a block many hits want is listed once, not once a hit.
            let mut sorted = records.to_vec();
            sorted.sort_unstable();
            self.fetch_locations(sorted.into_iter().map(u64::from))?;
        }
        Ok(records
            .iter()
            .map(|&record| self.read_location(u64::from(record)))
            .collect())
    }

    /// A record's location from `locations.bin` as it is here: fetched first by the callers.
    fn read_location(&self, record: u64) -> StoredLocation {
        let layout = &self.manifest.locations;
        let start = record as usize * layout.entry_bytes();
        let (word, offset) = layout.get(
            self.locations
                .as_ref()
                .get(start..start + layout.entry_bytes())
                .unwrap_or(&[]),
        );
        let runs = self.runs.as_ref();
        let run = store::last_starting_by(runs.len() / RUN_BYTES, |run| u64_at(runs, run * RUN_BYTES + 8), record)
            .map(|found| Run::from_bytes(&runs[found * RUN_BYTES..(found + 1) * RUN_BYTES]))
            .filter(|run| run.first_record.checked_add(run.count).is_some_and(|end| record < end));
        let ordinal = run.map_or(0, |run| run.first_ordinal.saturating_add(record - run.first_record));
        // A record outside every run (a damaged runs.bin) reads its word as a whole line.
        let from = run.filter(|run| !layout.absolute(run.file)).map(|_| ordinal);
        let (line, flags) = store::line_of(word, from);
        StoredLocation {
            // No file: shown as "?" (only a damaged runs.bin leaves a record outside every run).
            file: run.map_or(u32::MAX, |run| run.file),
            flags,
            ordinal,
            line,
            offset,
        }
    }

    /// The record number of (file path, ordinal), if this segment holds it.
    pub fn find(&self, file: &str, ordinal: u64) -> Option<u64> {
        let file_id = self.manifest.files.iter().position(|entry| entry.path == file)? as u32;
        self.runs
            .as_ref()
            .chunks_exact(RUN_BYTES)
            .map(Run::from_bytes)
            .find(|run| run.file == file_id && (run.first_ordinal..run.first_ordinal + run.count).contains(&ordinal))
            .map(|run| run.first_record + (ordinal - run.first_ordinal))
    }

    /// The stored fields of a record.
    pub fn record(&self, record: u64) -> Result<StoredRecord, SegmentError> {
        let corrupt = |message: String| SegmentError::Corrupt {
            path: self.path.display().to_string(),
            message,
        };
        let (records, block_index) = self.records.get()?;
        let (block, first, range) = store::find_block(block_index.as_ref(), record)
            .filter(|_| record < self.manifest.records)
            .ok_or_else(|| corrupt(format!("no record {record}")))?;
        let bytes = records
            .as_ref()
            .get(range)
            .ok_or_else(|| corrupt("records.idx points past records.bin".into()))?;
        let plain = store::decompress_block(bytes).map_err(|error| corrupt(format!("block {block}: {error}")))?;
        store::decode_from_block(&plain, record - first).map_err(|error| corrupt(format!("record {record}: {error}")))
    }

    /// Every record in order, decompressing each block once.
    pub fn for_each_record(
        &self,
        mut visit: impl FnMut(u64, StoredRecord) -> Result<(), SegmentError>,
    ) -> Result<(), SegmentError> {
        let corrupt = |message: String| SegmentError::Corrupt {
            path: self.path.display().to_string(),
            message,
        };
        let (records, block_index) = self.records.get()?;
        let index = block_index.as_ref();
        let blocks = index.len() / BLOCK_INDEX_BYTES;
        for block in 0..blocks.saturating_sub(1) {
            let first = u64_at(index, block * BLOCK_INDEX_BYTES);
            let next = u64_at(index, (block + 1) * BLOCK_INDEX_BYTES);
            let (start, end) = (
                u64_at(index, block * BLOCK_INDEX_BYTES + 8),
                u64_at(index, (block + 1) * BLOCK_INDEX_BYTES + 8),
            );
            let bytes = records
                .as_ref()
                .get(start as usize..end as usize)
                .ok_or_else(|| corrupt("records.idx points past records.bin".into()))?;
            let plain = store::decompress_block(bytes).map_err(|error| corrupt(format!("block {block}: {error}")))?;
            let mut rest = plain.as_slice();
            for record in first..next {
                let (stored, tail) = postcard::take_from_bytes::<StoredRecord>(rest)
                    .map_err(|error| corrupt(format!("record {record}: {error}")))?;
                rest = tail;
                visit(record, stored)?;
            }
        }
        Ok(())
    }

    /// A record with field names, kinds and location resolved, for `show`.
    pub fn show(&self, record: u64) -> Result<ShownRecord, SegmentError> {
        let location = self.location(record)?;
        let stored = self.record(record)?;
        let fields = stored
            .fields
            .into_iter()
            .map(|field| {
                let info = self.manifest.fields.get(field.field as usize);
                ShownField {
                    name: info.map_or_else(|| format!("field{}", field.field), |info| info.name.clone()),
                    kind: info.map_or(Kind::Other, |info| info.kind),
                    validity: Validity::from_code(field.validity),
                    normalized: field.normalized.unwrap_or_else(|| field.raw.clone()),
                    raw: field.raw,
                }
            })
            .collect();
        Ok(ShownRecord {
            file: self.file_path(location.file).to_string(),
            record: location.ordinal,
            line: location.line,
            offset: location.offset,
            decoded_latin1: location.flags & store::FLAG_LATIN1 != 0,
            fields,
        })
    }

    /// Calls `visit` with a record's values: (field id, validity, normalized value cut at
    /// `most_bytes` on a character boundary) of the fields [`store::worth_keeping`] keeps, at
    /// most [`store::MAX_VALUES`], in stored order; none if the record or its block cannot be
    /// read (logged once a block). Matching compares values cut at [`store::MAX_VALUE_BYTES`];
    /// what fingerprints a value takes it whole (`usize::MAX`). A thread keeps the last block
    /// it decompressed, so records visited in order cost one decompression per block.
    ///
    /// Format version 5 kept these values in a store of their own and dropped those of field
    /// ids past 65,535; every field id is read now.
    pub fn with_values<R>(
        &self,
        record: u64,
        most_bytes: usize,
        visit: impl FnOnce(&mut dyn Iterator<Item = (u32, Validity, &str)>) -> R,
    ) -> R {
        /// Capacity past which a thread does not keep a block's buffer (a block of a few huge
        /// records).
        const KEPT_BYTES: usize = 1 << 20;
        /// The block a thread read last.
        #[derive(Default)]
        struct LastBlock {
            /// (segment opened as, block); `None` before the first.
            key: Option<(u64, usize)>,
            plain: Vec<u8>,
            /// Where its records start ([`store::record_bounds`]): a block's records are
            /// visited in order, and skipping the ones before each would cost a pass apiece.
            /// Empty when the block could not be read.
            bounds: Vec<usize>,
        }
        thread_local! {
            static LAST_BLOCK: std::cell::Cell<LastBlock> = std::cell::Cell::new(LastBlock::default());
        }
        // A store that cannot be fetched reads as no values, as a damaged block does; logged.
        let (records, block_index) = match self.records.get() {
            Ok(loaded) => loaded,
            Err(error) => {
                tracing::warn!(%error, "the record store cannot be read; the record's values are skipped");
                return visit(&mut std::iter::empty());
            }
        };
        let Some((block, first, range)) = store::find_block(block_index.as_ref(), record) else {
            return visit(&mut std::iter::empty());
        };
        // Taken out of the cell while in use, so that a nested call only misses the cache.
        let mut last = LAST_BLOCK.take();
        if last.key != Some((self.opened_as, block)) {
            last.key = Some((self.opened_as, block));
            let read = records
                .as_ref()
                .get(range)
                .filter(|frame| !frame.is_empty())
                .ok_or_else(|| std::io::Error::other("records.idx points past records.bin"))
                .and_then(|frame| store::decompress_block_into(frame, &mut last.plain));
            match read {
                Ok(()) => store::record_bounds(&last.plain, &mut last.bounds),
                Err(error) => {
                    tracing::warn!(%error, segment = %self.path.display(), block, "a record block cannot be read; its records' values are skipped");
                    last.plain.clear();
                    last.bounds.clear();
                }
            }
        }
        let nth = (record - first) as usize;
        let fields = match (last.bounds.get(nth), last.bounds.get(nth + 1)) {
            (Some(&start), Some(&end)) => &last.plain[start..end],
            _ => &[],
        };
        let result = visit(
            &mut store::fields_in(fields)
                .filter_map(|field| {
                    let value = field.normalized.unwrap_or(field.raw);
                    let kind = self
                        .manifest
                        .fields
                        .get(field.field as usize)
                        .map_or(Kind::Other, |info| info.kind);
                    (!value.is_empty() && store::worth_keeping(kind, value)).then(|| {
                        (
                            field.field,
                            Validity::from_code(field.validity),
                            store::cut_value(value, most_bytes),
                        )
                    })
                })
                .take(store::MAX_VALUES),
        );
        if last.plain.capacity() > KEPT_BYTES {
            last = LastBlock::default();
        }
        LAST_BLOCK.set(last);
        result
    }

    pub fn file_path(&self, file: u32) -> &str {
        self.manifest
            .files
            .get(file as usize)
            .map_or("?", |entry| entry.path.as_str())
    }

    pub fn field(&self, field: u32) -> Option<&FieldInfo> {
        self.manifest.fields.get(field as usize)
    }
}
