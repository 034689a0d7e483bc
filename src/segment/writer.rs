//! Building a segment from an ingest scan, and publishing it atomically.
//!
//! The heavy work of a group of batches (fingerprints, record encoding, block compression) runs
//! in parallel without a lock; only appending to the segment's files is serialized, in batch
//! order. Fingerprints are held within the memory budget (shared by the identifier, blocking-key
//! and private-lookup writers) and spill beyond it; records and locations stream to disk.

use super::blocking::BlockingFields;
use super::hash::{Entry, HashIndexWriter, Layout};
use super::store::{self, BlockEncoder, FLAG_LATIN1, Run, StoredFieldRef};
use super::{DATA_FILES, FORMAT_VERSION, FieldInfo, Manifest, ManifestFile, SegmentError};
use crate::catalog::{Catalog, Corpus, CorpusKind, FileEntry, SegmentEntry, SegmentState};
use crate::fingerprint::{IDENTIFYING_KINDS, INDEXED_KINDS, fingerprint};
use crate::ingest::person::{NamePart, name_part};
use crate::ingest::{
    Error as IngestError, FileInfo, FileSummary, Kind, RecordBatch, RecordSink, ScanOptions, SourceFile,
};
use crate::storage::{ChecksummedFile, DataDir, sync_dir, write_atomic};
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Clone)]
pub struct BuildOptions {
    pub scan: ScanOptions,
    /// Bytes of fingerprints held in memory before a sorted run is spilled to disk.
    pub memory_budget: usize,
    /// Ingest files again even when the corpus already holds the same bytes.
    pub force: bool,
    /// Only this share of the inputs' files: (I, N), the I-th (from 0) of N (see [`share_of`]).
    /// N processes given the same inputs and shares 0..N ingest every file once between them
    /// (a Kubernetes Indexed Job).
    pub share: Option<(usize, usize)>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            scan: ScanOptions::default(),
            memory_budget: 1 << 30,
            force: false,
            share: None,
        }
    }
}

/// What an ingest did, as printed by `ingest --json`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct BuildReport {
    pub corpus: String,
    pub records: u64,
    pub rejected: u64,
    pub files: Vec<ManifestFile>,
    pub segments: Vec<String>,
    /// Files skipped because the corpus already holds the same bytes.
    pub skipped: Vec<String>,
    /// Files or paths that could not be read, with why.
    pub errors: Vec<String>,
    /// Whether the full-text index of the new segments was built too.
    pub text_indexed: bool,
    /// Canary identifiers the new records hold: conclusive evidence of which copy leaked.
    pub canaries: Vec<super::canary::CanaryMeeting>,
}

/// Crash points for tests: `LEAKDEX_FAILPOINT=NAME` aborts the process there.
fn failpoint(name: &str) {
    if std::env::var("LEAKDEX_FAILPOINT").is_ok_and(|wanted| wanted == name) {
        tracing::error!(failpoint = name, "aborting at failpoint");
        std::process::abort();
    }
}

/// The share (0..`parts`) each of `files` (path, bytes) falls in: largest first, each to the
/// share with the fewest bytes so far (the longest-processing-time rule; Graham, 1969), so
/// shares are within the largest file of each other in bytes. It depends only on the listing,
/// so every process given the same inputs computes the same shares.
pub fn share_of(files: &[(&str, u64)], parts: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by(|&a, &b| files[b].1.cmp(&files[a].1).then(files[a].0.cmp(files[b].0)));
    let mut bytes = vec![0u64; parts.max(1)];
    let mut shares = vec![0; files.len()];
    for file in order {
        let lightest = (0..bytes.len()).min_by_key(|&share| (bytes[share], share)).unwrap_or(0);
        bytes[lightest] += files[file].1;
        shares[file] = lightest;
    }
    shares
}

/// How old a staged segment that no builder here holds must be before it is taken for
/// abandoned: a day, far beyond any one ingest (a billion records take about an hour on one
/// two-core process), so a builder on another machine is never cut off.
const STALE_STAGED_MILLIS: u64 = 24 * 3600 * 1000;

/// A time-ordered, random segment id.
fn new_segment_id() -> String {
    let millis = crate::clock::now_millis();
    format!("{millis:013x}-{:016x}", rand::random::<u64>())
}

/// Removes what crashed or abandoned builds left: staging folders and unpublished segment
/// folders whose builder no longer holds their lock, and their catalog entries.
pub fn collect_garbage(data: &DataDir, catalog: &dyn Catalog) -> Result<(), SegmentError> {
    let published_of = |corpora: &[crate::catalog::Corpus]| -> std::collections::HashSet<String> {
        corpora
            .iter()
            .flat_map(|corpus| corpus.published().map(|segment| segment.id.clone()).collect::<Vec<_>>())
            .collect()
    };
    let published = published_of(&catalog.corpora()?);
    // Folders no builder holds: (id, path, the lock that keeps a new builder off meanwhile).
    let mut unheld = Vec::new();
    for folder in [data.staging(), data.segments()] {
        let Ok(entries) = fs::read_dir(&folder) else { continue };
        for entry in entries.flatten() {
            let id = entry.file_name().to_string_lossy().into_owned();
            if published.contains(&id) || !entry.path().is_dir() {
                continue;
            }
            // A builder holds an exclusive lock on `.lock` for as long as it runs.
            let lock = File::options()
                .create(true)
                .truncate(false)
                .write(true)
                .open(entry.path().join(".lock"));
            if let Ok(lock) = lock
                && lock.try_lock().is_ok()
            {
                unheld.push((id, entry.path(), lock));
            }
        }
    }
    // Read again: a builder may have published (and let go of its lock) since the list above
    // was read; its segment is not abandoned.
    let corpora_now = catalog.corpora()?;
    let published_now = published_of(&corpora_now);
    let mut abandoned = Vec::new();
    for (id, path, _lock) in unheld {
        if published_now.contains(&id) {
            continue;
        }
        tracing::info!(segment = %id, "removing abandoned segment");
        fs::remove_dir_all(&path).map_err(|source| io_error(&path, source))?;
        abandoned.push(id);
    }
    // Staged long ago by a builder on another machine that died (an ingest Job's pod killed
    // before publishing): nothing here holds them, and no ingest runs this long.
    let now = crate::clock::now_millis();
    for corpus in &corpora_now {
        for segment in &corpus.segments {
            let started = segment
                .id
                .get(..13)
                .and_then(|millis| u64::from_str_radix(millis, 16).ok());
            if segment.state == crate::catalog::SegmentState::Staged
                && started.is_some_and(|started| now.saturating_sub(started) > STALE_STAGED_MILLIS)
                && !data.staging().join(&segment.id).exists()
                && !abandoned.contains(&segment.id)
            {
                tracing::info!(segment = %segment.id, "forgetting a segment staged more than a day ago and never published");
                abandoned.push(segment.id.clone());
            }
        }
    }
    if !abandoned.is_empty() {
        catalog.forget_segments(&abandoned)?;
    }
    // Objects of segments the catalog no longer knows (an upload cut short before publishing,
    // whose staged entry was forgotten since): a segment being built is staged first, so its
    // objects are never taken for these.
    if let Some(remote) = data.objects() {
        // Listed before the catalog is read: an object listed was uploaded before, so its
        // segment was staged before, and the catalog read after knows it.
        let mut listed = Vec::new();
        for prefix in ["segments", "text"] {
            listed.extend(
                remote
                    .objects
                    .list(prefix)
                    .map_err(crate::storage::StorageError::from)?,
            );
        }
        let known: std::collections::HashSet<String> = catalog
            .corpora()?
            .iter()
            .flat_map(|corpus| corpus.segments.iter().map(|segment| segment.id.clone()))
            .collect();
        for object in listed {
            let id = object.path.split('/').nth(1).unwrap_or_default();
            if !known.contains(id) {
                tracing::info!(object = %object.path, "removing an object of no known segment");
                remote
                    .objects
                    .delete(&object.path)
                    .map_err(crate::storage::StorageError::from)?;
            }
        }
    }
    // Full-text indexes of segments that are gone.
    if let Ok(entries) = fs::read_dir(data.root().join("text")) {
        for entry in entries.flatten() {
            let id = entry.file_name().to_string_lossy().into_owned();
            if !published.contains(&id) {
                fs::remove_dir_all(entry.path()).map_err(|source| io_error(&entry.path(), source))?;
            }
        }
    }
    Ok(())
}

/// Unpublishes a corpus, then removes its segments and their full-text indexes (a crash in
/// between leaves folders that garbage collection removes). Returns how many segments it had.
pub fn delete_corpus(data: &DataDir, catalog: &dyn Catalog, name: &str) -> Result<usize, SegmentError> {
    let segments = catalog.delete_corpus(name)?;
    for id in &segments {
        data.delete_remote_segment(id)?;
        for path in [data.segment_path(id), data.text_path(id)] {
            // Open mappings stay valid after unlink; new queries no longer see the corpus.
            if path.exists() {
                fs::remove_dir_all(&path).map_err(|source| io_error(&path, source))?;
            }
        }
    }
    Ok(segments.len())
}

fn io_error(path: &Path, source: io::Error) -> SegmentError {
    SegmentError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Ingests `inputs` into a new segment of `corpus` and publishes it.
pub fn build_segment(
    data: &DataDir,
    catalog: &dyn Catalog,
    corpus: &Corpus,
    inputs: &[PathBuf],
    options: &BuildOptions,
) -> Result<BuildReport, SegmentError> {
    collect_garbage(data, catalog)?;
    catalog.ensure_corpus(corpus)?;
    let mut report = BuildReport {
        corpus: corpus.name.clone(),
        ..BuildReport::default()
    };
    let (mut found, unreadable) = crate::ingest::discover(inputs, options.scan.follow_links);
    if let Some((part, parts)) = options.share {
        let shares = share_of(
            &found
                .iter()
                .map(|file| (file.path.as_str(), file.size))
                .collect::<Vec<_>>(),
            parts,
        );
        let mut numbered = shares.into_iter();
        found.retain(|_| numbered.next() == Some(part));
    }
    report
        .errors
        .extend(unreadable.into_iter().map(|(_, error)| error.to_string()));
    let known: Vec<FileEntry> = catalog
        .corpus(&corpus.name)?
        .map(|existing| existing.files().cloned().collect())
        .unwrap_or_default();
    let mut files = Vec::new();
    for file in found {
        let same_size = known
            .iter()
            .filter(|entry| entry.path == file.path && entry.size == file.size)
            .collect::<Vec<_>>();
        if !options.force && !same_size.is_empty() {
            let digest = crate::ingest::sha256_of(&file)?;
            if same_size.iter().any(|entry| entry.sha256 == digest) {
                tracing::warn!(file = %file.path, "already ingested into this corpus (same SHA-256); skipped, use --force to ingest again");
                report.skipped.push(file.path.clone());
                continue;
            }
        }
        files.push(file);
    }
    if files.is_empty() {
        return Ok(report);
    }

    let id = new_segment_id();
    let staging = data.staging().join(&id);
    fs::create_dir_all(&staging).map_err(|source| io_error(&staging, source))?;
    let lock = File::create(staging.join(".lock")).map_err(|source| io_error(&staging, source))?;
    lock.lock().map_err(|source| io_error(&staging, source))?;
    catalog.stage_segment(&corpus.name, &id)?;

    let builder =
        Builder::create(&staging, data.key(), options.memory_budget).map_err(|source| io_error(&staging, source))?;
    let scan = ScanOptions {
        hash_files: true,
        ..options.scan.clone()
    };
    crate::ingest::scan_files(&files, &scan, &builder);
    failpoint("mid-ingest");
    let manifest = builder
        .finish(&id, &corpus.name)
        .map_err(|source| io_error(&staging, source))?;
    report.errors.extend(manifest.1);
    let manifest = manifest.0;
    report.records = manifest.records;
    report.rejected = manifest.rejected;
    report.files = manifest.files.clone();
    if manifest.records == 0 && manifest.files.iter().all(|file| file.sha256.is_empty()) {
        fs::remove_dir_all(&staging).map_err(|source| io_error(&staging, source))?;
        catalog.forget_segments(std::slice::from_ref(&id))?;
        return Ok(report);
    }

    failpoint("before-rename");
    let published = data.segment_path(&id);
    fs::rename(&staging, &published).map_err(|source| io_error(&published, source))?;
    sync_dir(&data.segments()).map_err(|source| io_error(&published, source))?;
    data.upload_segment(&id)?;
    failpoint("before-publish");
    let files = manifest
        .files
        .iter()
        .map(|file| FileEntry {
            path: file.path.clone(),
            size: file.size,
            sha256: file.sha256.clone(),
            records: file.records,
            rejected: file.rejected,
        })
        .collect();
    catalog.publish_segment(
        &corpus.name,
        SegmentEntry {
            id: id.clone(),
            state: SegmentState::Published,
            records: manifest.records,
            files,
        },
    )?;
    // The lock file kept garbage collection away until the catalog said published (collection
    // passes over published segments); it is no part of the segment.
    let _ = fs::remove_file(published.join(".lock"));
    drop(lock);
    tracing::info!(corpus = %corpus.name, segment = %id, records = manifest.records, "segment published");
    report.segments.push(id);
    if corpus.kind != CorpusKind::Canary {
        report.canaries = super::canary::canaries_met(data, catalog, &report.segments)?;
        for meeting in &report.canaries {
            tracing::warn!(corpus = %corpus.name, canary = %meeting.canary, copy = %meeting.copy, "canary met: {meeting}");
        }
    }
    Ok(report)
}

/// The private-lookup key of an identifier: the first 8 bytes of the SHA-256 of its normalized
/// value, big-endian, so that a hex prefix of the hash is a prefix of the key's bits.
pub fn range_key(normalized: &str) -> u64 {
    let digest = Sha256::digest(normalized.as_bytes());
    u64::from_be_bytes(digest[..8].try_into().unwrap_or_default())
}

/// Appends compressed blocks (records, bytes), the first holding record `first`, to a data file
/// of `length` bytes so far and their (first record, offset) entries to its block index.
fn write_blocks(
    index: &mut impl Write,
    data: &mut impl Write,
    length: &mut u64,
    mut first: u64,
    blocks: Vec<(u64, Vec<u8>)>,
) -> io::Result<()> {
    for (count, bytes) in blocks {
        index.write_all(&first.to_le_bytes())?;
        index.write_all(&length.to_le_bytes())?;
        data.write_all(&bytes)?;
        *length += bytes.len() as u64;
        first += count;
    }
    Ok(())
}

/// Receives the scan's batches and writes the segment's files.
///
/// Field ids are given under a short lock, batches are encoded in parallel on the scan's
/// threads, and one thread of the builder's own ([`Appender`]) appends them to the files in
/// order while the scan goes on. Appending on the scan's thread left a core idle for the
/// serialized part (the fingerprint buffer's first writes, checksums, writes): two cores were
/// 159% busy, 167% with the appender (2.1M records of the generator's corpora).
struct Builder {
    folder: PathBuf,
    key: [u8; 16],
    state: Mutex<State>,
    appender: Appender,
}

/// What the scan's threads share: the files' and fields' tables.
struct State {
    files: Vec<ManifestFile>,
    file_ids: HashMap<String, u32>,
    fields: Vec<FieldInfo>,
    field_ids: HashMap<(String, Kind), u32>,
    rejected: u64,
    errors: Vec<String>,
}

/// The files the appender thread writes, in batch order.
struct Output {
    records: u64,
    /// Every record's (line word, offset) at full width, made narrow at the end
    /// ([`narrow_locations`]), when the widest value is known.
    locations: Locations,
    blocks: BufWriter<ChecksummedFile>,
    blocks_length: u64,
    block_index: BufWriter<ChecksummedFile>,
    runs: Vec<Run>,
    hash: HashIndexWriter,
    blocking: HashIndexWriter,
    range: HashIndexWriter,
}

/// Locations as the scan gives them: 16 bytes a record in `locations.tmp` (line word, offset),
/// and the largest values so far.
struct Locations {
    file: BufWriter<File>,
    /// By file id: the largest line word kept whole, and kept as a distance from the ordinal.
    most_words: Vec<[u64; 2]>,
    most_offset: u64,
}

/// Writes `locations.bin` from `locations.tmp` in the narrowest layout its values allow, each
/// file's lines kept whole or as distances from their ordinals, whichever is narrower, the
/// ordinals from `runs` (removing the temporary file); returns the layout and the file's
/// SHA-256.
fn narrow_locations(folder: &Path, locations: Locations, runs: &[Run]) -> io::Result<(store::LocationLayout, String)> {
    let temporary = folder.join("locations.tmp");
    drop(locations.file.into_inner().map_err(io::IntoInnerError::into_error)?);
    let layout = store::LocationLayout::narrowest(&locations.most_words, locations.most_offset);
    let mut reader = io::BufReader::with_capacity(1 << 20, File::open(&temporary)?);
    let mut out = ChecksummedFile::create(&folder.join("locations.bin"))?;
    let mut entry = [0u8; 16];
    let mut narrow = Vec::with_capacity(16);
    for run in runs {
        let absolute = layout.absolute(run.file);
        for ordinal in run.first_ordinal..run.first_ordinal + run.count {
            io::Read::read_exact(&mut reader, &mut entry)?;
            let [word, offset] = [0, 8].map(|at| u64::from_le_bytes(entry[at..at + 8].try_into().unwrap_or_default()));
            narrow.clear();
            layout.put(
                if absolute {
                    word
                } else {
                    store::distance_word(word, ordinal)
                },
                offset,
                &mut narrow,
            );
            out.write_all(&narrow)?;
        }
    }
    if io::Read::read(&mut reader, &mut entry)? != 0 {
        return Err(io::Error::other("locations.tmp holds records past the segment's runs"));
    }
    let checksum = ChecksummedFile::close(out)?;
    fs::remove_file(&temporary)?;
    Ok((layout, checksum))
}

/// A group of encoded batches of one file (by id), in order.
type Group = (u32, Vec<io::Result<Encoded>>);

/// The thread that appends encoded batches to the segment's files. At most one group waits for
/// it, so a slow disk holds the scan back rather than filling memory: at most three groups are
/// encoded at once (one being appended, one waiting, one being encoded), a few MB each.
struct Appender {
    sender: std::sync::mpsc::SyncSender<Group>,
    /// Set at the first failure: later batches are neither encoded nor appended.
    failed: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<io::Result<Output>>,
}

impl Appender {
    fn start(mut output: Output) -> io::Result<Appender> {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Group>(1);
        let failed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = failed.clone();
        let thread = std::thread::Builder::new()
            .name("segment-appender".into())
            .spawn(move || {
                let mut failure = None;
                for (file, group) in receiver {
                    for encoded in group {
                        if failure.is_some() {
                            break;
                        }
                        if let Err(error) = encoded.and_then(|encoded| output.append(file, encoded)) {
                            flag.store(true, std::sync::atomic::Ordering::Relaxed);
                            failure = Some(error);
                        }
                    }
                }
                match failure {
                    Some(error) => Err(error),
                    None => Ok(output),
                }
            })?;
        Ok(Appender { sender, failed, thread })
    }

    fn failed(&self) -> bool {
        self.failed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Waits for every group sent, then gives the files back, or the first failure.
    fn finish(self) -> io::Result<Output> {
        drop(self.sender);
        self.thread
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the segment's appender thread panicked")))
    }
}

/// One batch, encoded without the lock.
struct Encoded {
    records: u64,
    /// Each record's line word and byte offset, 8 bytes each as `locations.tmp` holds them (see
    /// [`store::line_word`]).
    locations: Vec<u8>,
    /// The batch's largest line word kept whole and kept as a distance from the ordinal (see
    /// [`store::distance_word`]), and its largest offset.
    most_words: [u64; 2],
    most_offset: u64,
    blocks: Vec<(u64, Vec<u8>)>,
    /// (fingerprint, record within the batch, field id) of identifiers.
    entries: Vec<(u64, u32, u32)>,
    /// (blocking key, record within the batch, 0).
    blocking_entries: Vec<(u64, u32, u32)>,
    /// (SHA-256 prefix, record within the batch, field id) of identifying values.
    range_entries: Vec<(u64, u32, u32)>,
    first_ordinal: u64,
}

impl Output {
    /// Appends a batch: its records get the next numbers.
    fn append(&mut self, file: u32, encoded: Encoded) -> io::Result<()> {
        let base = self.records;
        if base + encoded.records > u64::from(u32::MAX) {
            return Err(io::Error::other(
                "a segment holds at most 2^32 records; ingest the rest in another run",
            ));
        }
        let most_words = &mut self.locations.most_words;
        if most_words.len() <= file as usize {
            most_words.resize(file as usize + 1, [0, 0]);
        }
        let most = &mut most_words[file as usize];
        *most = [most[0].max(encoded.most_words[0]), most[1].max(encoded.most_words[1])];
        self.locations.most_offset = self.locations.most_offset.max(encoded.most_offset);
        self.locations.file.write_all(&encoded.locations)?;
        write_blocks(
            &mut self.block_index,
            &mut self.blocks,
            &mut self.blocks_length,
            base,
            encoded.blocks,
        )?;
        let to_entry = |(fingerprint, record, field): (u64, u32, u32)| Entry {
            fingerprint,
            record: (base + u64::from(record)) as u32,
            field,
        };
        self.hash.push(encoded.entries.into_iter().map(to_entry))?;
        self.blocking.push(encoded.blocking_entries.into_iter().map(to_entry))?;
        self.range.push(encoded.range_entries.into_iter().map(to_entry))?;
        match self.runs.last_mut() {
            Some(run)
                if run.file == file
                    && run.first_record + run.count == base
                    && run.first_ordinal + run.count == encoded.first_ordinal =>
            {
                run.count += encoded.records;
            }
            _ if encoded.records > 0 => self.runs.push(Run {
                file,
                first_record: base,
                first_ordinal: encoded.first_ordinal,
                count: encoded.records,
            }),
            _ => {}
        }
        self.records += encoded.records;
        Ok(())
    }
}

impl Builder {
    fn create(folder: &Path, key: [u8; 16], memory_budget: usize) -> io::Result<Builder> {
        let create = |name: &str| ChecksummedFile::create(&folder.join(name));
        let output = Output {
            records: 0,
            locations: Locations {
                file: BufWriter::with_capacity(1 << 20, File::create(folder.join("locations.tmp"))?),
                most_words: Vec::new(),
                most_offset: 0,
            },
            blocks: create("records.bin")?,
            blocks_length: 0,
            block_index: create("records.idx")?,
            runs: Vec::new(),
            // Blocking keys are about half of the entries, identifiers and private-lookup
            // entries a quarter each (4.8, 2.5 and 1.9 a record on generated corpora); the
            // three share the budget so.
            hash: HashIndexWriter::new(folder, memory_budget / 4),
            blocking: HashIndexWriter::named(folder, "blocking", memory_budget / 2),
            range: HashIndexWriter::named(folder, "range", memory_budget / 4),
        };
        Ok(Builder {
            folder: folder.to_path_buf(),
            key,
            state: Mutex::new(State {
                files: Vec::new(),
                file_ids: HashMap::new(),
                fields: Vec::new(),
                field_ids: HashMap::new(),
                rejected: 0,
                errors: Vec::new(),
            }),
            appender: Appender::start(output)?,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    fn file_id(state: &mut State, file: &SourceFile) -> u32 {
        if let Some(&id) = state.file_ids.get(&file.path) {
            return id;
        }
        let id = state.files.len() as u32;
        state.files.push(ManifestFile {
            path: file.path.clone(),
            size: file.size,
            sha256: String::new(),
            records: 0,
            rejected: 0,
            format: String::new(),
        });
        state.file_ids.insert(file.path.clone(), id);
        id
    }

    /// Field ids of a batch's (column, kind) pairs, by column, then kind (a column rarely holds
    /// more than one kind); new pairs get the next ids. Counts the batch's rejects.
    fn field_ids(state: &mut State, batch: &RecordBatch) -> Vec<Vec<(Kind, u32)>> {
        let mut pairs: Vec<(usize, Kind)> = batch
            .iter()
            .flat_map(|record| record.fields().map(|field| (field.column, field.kind)))
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        let mut ids: Vec<Vec<(Kind, u32)>> = vec![Vec::new(); batch.columns().len()];
        for (column, kind) in pairs {
            let name = batch.columns()[column].clone();
            let next = state.fields.len() as u32;
            let id = *state.field_ids.entry((name.clone(), kind)).or_insert(next);
            if id == next {
                state.fields.push(FieldInfo { name, kind });
            }
            ids[column].push((kind, id));
        }
        state.rejected += batch.rejects().len() as u64;
        ids
    }

    fn encode(&self, batch: &RecordBatch, field_ids: &[Vec<(Kind, u32)>]) -> io::Result<Encoded> {
        let mut blocks = BlockEncoder::default();
        let mut locations = Vec::with_capacity(batch.len() * 16);
        let (mut most_words, mut most_offset) = ([0u64; 2], 0);
        let mut entries = Vec::new();
        let mut blocking_entries = Vec::new();
        let mut blocking_keys = Vec::new();
        let mut range_entries = Vec::new();
        let name_parts: Vec<NamePart> = batch.columns().iter().map(|column| name_part(column)).collect();
        for (position, record) in batch.iter().enumerate() {
            let location = record.location();
            let flags = if record.decoded_latin1() { FLAG_LATIN1 } else { 0 };
            let word = store::line_word(location.line, flags)
                .filter(|_| location.offset <= store::MOST_OFFSET && location.ordinal <= store::MOST_LINE)
                .ok_or_else(|| {
                    io::Error::other(format!(
                        "record {} on line {} at byte {} is past what a segment records ({} records or lines, \
                         {} bytes per file)",
                        location.ordinal,
                        location.line,
                        location.offset,
                        store::MOST_LINE,
                        store::MOST_OFFSET
                    ))
                })?;
            locations.extend_from_slice(&word.to_le_bytes());
            locations.extend_from_slice(&location.offset.to_le_bytes());
            let distance = store::distance_word(word, location.ordinal);
            most_words = [most_words[0].max(word), most_words[1].max(distance)];
            most_offset = most_offset.max(location.offset);
            let id_of = |field: &crate::ingest::Field<'_>| {
                field_ids[field.column]
                    .iter()
                    .find(|(kind, _)| *kind == field.kind)
                    .map_or(0, |(_, id)| *id)
            };
            blocking_keys.clear();
            BlockingFields::new(record.fields().map(|field| {
                (
                    id_of(&field),
                    name_parts[field.column],
                    field.kind,
                    field.validity,
                    field.normalized,
                )
            }))
            .keys(&self.key, &mut blocking_keys);
            blocking_entries.extend(
                blocking_keys
                    .iter()
                    .map(|&(fingerprint, _)| (fingerprint, position as u32, 0)),
            );
            for field in record.fields() {
                let id = id_of(&field);
                if IDENTIFYING_KINDS.contains(&field.kind) && field.validity == crate::ingest::Validity::Valid {
                    range_entries.push((range_key(field.normalized), position as u32, id));
                }
                if INDEXED_KINDS.contains(&field.kind) && !field.normalized.is_empty() {
                    entries.push((
                        fingerprint(&self.key, field.kind, field.normalized),
                        position as u32,
                        id,
                    ));
                }
            }
            blocks.record(record.fields().map(|field| StoredFieldRef {
                field: id_of(&field),
                validity: field.validity.code(),
                raw: field.raw,
                normalized: (field.normalized != field.raw).then_some(field.normalized),
            }))?;
        }
        let first_ordinal = batch.iter().next().map_or(0, |record| record.location().ordinal);
        Ok(Encoded {
            records: batch.len() as u64,
            locations,
            most_words,
            most_offset,
            blocks: blocks.finish()?,
            entries,
            blocking_entries,
            range_entries,
            first_ordinal,
        })
    }

    /// Writes the index and the manifest; returns it and the files that failed.
    fn finish(self, id: &str, corpus: &str) -> io::Result<(Manifest, Vec<String>)> {
        let output = self.appender.finish()?;
        let State {
            files,
            fields,
            rejected,
            errors,
            ..
        } = self.state.into_inner().unwrap_or_else(|poison| poison.into_inner());
        let Output {
            records,
            locations,
            blocks,
            blocks_length,
            mut block_index,
            runs,
            hash,
            blocking,
            range,
        } = output;
        block_index.write_all(&records.to_le_bytes())?;
        block_index.write_all(&blocks_length.to_le_bytes())?;
        // Checksums are taken as the files are written: reading them back cost a second pass
        // over the whole index.
        let mut checksums: BTreeMap<String, String> = BTreeMap::new();
        for (name, writer) in [("records.bin", blocks), ("records.idx", block_index)] {
            checksums.insert(name.to_string(), ChecksummedFile::close(writer)?);
        }
        let mut runs_file = ChecksummedFile::create(&self.folder.join("runs.bin"))?;
        for run in &runs {
            runs_file.write_all(&run.to_bytes())?;
        }
        checksums.insert("runs.bin".to_string(), ChecksummedFile::close(runs_file)?);
        let layout = Layout::for_fields(fields.len());
        // The three indexes are sorted and written side by side, and the locations narrowed:
        // writing each is serial.
        let ((hash, locations), (blocking, range)) = rayon::join(
            || {
                rayon::join(
                    || hash.finish(layout),
                    || narrow_locations(&self.folder, locations, &runs),
                )
            },
            || rayon::join(|| blocking.finish(Layout::Keys), || range.finish(Layout::Fingerprints)),
        );
        let (hash, blocking, range, (locations, locations_sha256)) = (hash?, blocking?, range?, locations?);
        checksums.insert("locations.bin".to_string(), locations_sha256);
        checksums.insert("hash.idx".to_string(), hash.index_sha256);
        checksums.insert("hash.dir".to_string(), hash.directory_sha256);
        checksums.insert("blocking.idx".to_string(), blocking.index_sha256);
        checksums.insert("blocking.dir".to_string(), blocking.directory_sha256);
        checksums.insert("range.idx".to_string(), range.index_sha256);
        checksums.insert("range.dir".to_string(), range.directory_sha256);
        debug_assert!(DATA_FILES.iter().all(|name| checksums.contains_key(*name)));
        let manifest = Manifest {
            format_version: FORMAT_VERSION,
            id: id.to_string(),
            corpus: corpus.to_string(),
            created: crate::clock::now_rfc3339(),
            records,
            rejected,
            entries: hash.entries,
            directory_bits: hash.bits,
            blocking_entries: blocking.entries,
            blocking_bits: blocking.bits,
            range_entries: range.entries,
            range_bits: range.bits,
            locations,
            fields,
            // Every file a record came from, in file id order (runs refer to them by position).
            // A file that failed part-way keeps the records read before the failure: it is listed
            // with no SHA-256 and the records counted from its runs.
            files: files
                .into_iter()
                .enumerate()
                .map(|(id, mut file)| {
                    if file.sha256.is_empty() {
                        file.records = runs
                            .iter()
                            .filter(|run| run.file as usize == id)
                            .map(|run| run.count)
                            .sum();
                    }
                    file
                })
                .collect(),
            checksums,
        };
        let json = serde_json::to_vec_pretty(&manifest).map_err(io::Error::other)?;
        write_atomic(&self.folder.join("manifest.json"), &json)?;
        Ok((manifest, errors))
    }
}

impl RecordSink for Builder {
    fn begin(&self, file: &SourceFile, info: &FileInfo) {
        let mut state = self.lock();
        let id = Self::file_id(&mut state, file);
        state.files[id as usize].format = info.format.name().to_string();
    }

    fn batch(&self, file: &SourceFile, batch: RecordBatch) {
        self.batches(file, vec![batch]);
    }

    /// Field ids are given in batch order under a short lock, the batches are encoded in
    /// parallel without it, and sent to the appender in order: record numbers, field ids and
    /// blocks come out the same however the threads ran.
    fn batches(&self, file: &SourceFile, batches: Vec<RecordBatch>) {
        let (field_ids, file_id) = {
            let mut state = self.lock();
            let file_id = Self::file_id(&mut state, file);
            let field_ids: Vec<Vec<Vec<(Kind, u32)>>> =
                batches.iter().map(|batch| Self::field_ids(&mut state, batch)).collect();
            (field_ids, file_id)
        };
        if self.appender.failed() {
            return;
        }
        let encoded: Vec<io::Result<Encoded>> = batches
            .par_iter()
            .zip(&field_ids)
            .map(|(batch, ids)| {
                self.encode(batch, ids)
                    .map_err(|error| io::Error::new(error.kind(), format!("{}: {error}", file.path)))
            })
            .collect();
        // A closed channel means the appender has stopped: `finish` reports why.
        let _ = self.appender.sender.send((file_id, encoded));
    }

    fn end(&self, file: &SourceFile, outcome: Result<FileSummary, IngestError>) {
        let mut state = self.lock();
        match outcome {
            Ok(summary) => {
                let id = Self::file_id(&mut state, file) as usize;
                let entry = &mut state.files[id];
                entry.records = summary.records;
                entry.rejected = summary.rejected;
                entry.sha256 = summary.sha256.unwrap_or_default();
            }
            Err(error) => state.errors.push(error.to_string()),
        }
    }

    fn unreadable(&self, path: &str, error: IngestError) {
        self.lock().errors.push(format!("{path}: {error}"));
    }
}

#[cfg(test)]
mod tests {
    use super::{collect_garbage, new_segment_id, share_of};
    use crate::catalog::{Catalog, Corpus, CorpusKind, FileCatalog, SegmentState};
    use crate::storage::DataDir;

    /// A segment staged by a builder elsewhere (no folder here) is left alone while it may
    /// still be built, and forgotten once it is a day old.
    #[test]
    fn a_segment_staged_elsewhere_is_forgotten_only_when_a_day_old() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::open(dir.path()).unwrap();
        let catalog = FileCatalog::open(dir.path());
        catalog.ensure_corpus(&Corpus::new("seized", CorpusKind::Leak)).unwrap();
        let recent = new_segment_id();
        let old = format!("{:013x}-{:016x}", crate::clock::now_millis() - 25 * 3600 * 1000, 7);
        for id in [&recent, &old] {
            catalog.stage_segment("seized", id).unwrap();
        }
        collect_garbage(&data, &catalog).unwrap();
        let staged: Vec<String> = catalog
            .corpus("seized")
            .unwrap()
            .unwrap()
            .segments
            .into_iter()
            .filter(|segment| segment.state == SegmentState::Staged)
            .map(|segment| segment.id)
            .collect();
        assert_eq!(staged, [recent]);
    }

    #[test]
    fn shares_cover_every_file_once_balanced_by_bytes_whatever_the_listing_order() {
        let files = [("a", 900), ("b", 100), ("c", 500), ("d", 500), ("e", 10), ("f", 400)];
        let shares = share_of(&files, 3);
        let mut bytes = [0u64; 3];
        for (file, share) in files.iter().zip(&shares) {
            bytes[*share] += file.1;
        }
        assert_eq!(bytes.iter().sum::<u64>(), 2410);
        assert!(
            bytes.iter().max().unwrap() - bytes.iter().min().unwrap() <= 900,
            "{bytes:?}"
        );
        let mut reversed = files;
        reversed.reverse();
        let mut again = share_of(&reversed, 3);
        again.reverse();
        assert_eq!(again, shares);
        assert_eq!(share_of(&files, 1), [0; 6]);
        assert!(share_of(&[], 4).is_empty());
    }
}
