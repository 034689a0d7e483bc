//! Objects read by byte range: a local sparse file the size of the object, mapped whole, whose
//! parts are fetched (`GET` with a `Range`) only when a reader says it needs them.
//!
//! This is how a cluster node keeps only its share of an identifier index: the index is sorted
//! by fingerprint, so a partition is a byte range of `hash.idx`, and a node fetches the ranges
//! of the partitions it is asked about (its own, and a failed replica's while it is down), not
//! the whole file. Quickwit's searchers read splits from object storage the same way, by byte
//! range into a local cache, rather than downloading whole splits.
//!
//! A reader must [`RangedFile::ensure`] a range before reading it: an unfetched part of the map
//! reads as zeros. What was fetched is tracked in blocks of [`RangedFile::block_bytes`], so the
//! check on a read path is a few atomic loads. Objects are immutable, so a fetched block never
//! changes (a gap fetched again with its neighbours is written with the bytes it holds), and
//! readers of fetched blocks need no lock; only fetching is serialized, so two readers never
//! fetch the same block twice. This is the one exception to `map_file`'s promise that mapped
//! files do not change: here they grow from zeros to their object's bytes, block by block, and
//! a reader only relies on blocks it has seen fetched.
//!
//! The files live under `DATA/cache/.ranged/` and last while an open segment uses them: the
//! cache removes them when it opens (a hidden name is never one of its objects), so a restarted
//! node fetches its share again rather than trusting what a crash may have left half-written.

use super::mmap::{Mapped, map_file};
use super::objects::{ObjectError, ObjectStorage};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// Most range requests of one fetch in flight at once (object stores answer many in parallel;
/// each request waits mostly on the network).
const PARALLEL_REQUESTS: usize = 8;

/// Requests a call that waits for its ranges makes at most (see [`RangedFile::ensure_within`]).
pub const CALL_REQUESTS: usize = 2 * PARALLEL_REQUESTS;

/// A fetch that takes this long is logged as a warning (its calls waited for it).
const SLOW_FETCH_SECONDS: f64 = 1.0;

/// Bits of the fetched-block map at most: blocks grow with the object so that the map stays
/// under 128 KiB (a 4 GB index is tracked in 4 KiB blocks).
const MAX_BLOCKS_LOG2: u32 = 20;

/// Smallest block tracked, a cache line: an identifier index's partition of a small segment is
/// a few hundred bytes (a 1 MB index has 4,096 partitions of 256 bytes), and tracking it finer
/// would only grow the map.
const MIN_BLOCK_BYTES: u64 = 64;

/// An object of object storage mapped whole from a sparse local file, fetched by range.
pub struct RangedFile {
    storage: Arc<dyn ObjectStorage>,
    object: String,
    path: PathBuf,
    file: File,
    map: Mapped,
    size: u64,
    block_bytes: u64,
    /// One bit per block: set once the block's bytes are in the file.
    fetched: Vec<AtomicU64>,
    complete: AtomicBool,
    /// Blocks fetched so far, and their bytes.
    fetched_blocks: AtomicU64,
    fetched_bytes: AtomicU64,
    /// Gaps up to this many bytes between wanted ranges are fetched with them, in one request.
    gap: u64,
    /// Serializes fetching (never reading).
    fetching: Mutex<()>,
    held: Arc<AtomicU64>,
}

impl RangedFile {
    /// The object `object` of `size` bytes, mapped from a new sparse file at `path` (which must
    /// not exist), fetched in blocks of at least `min_block` bytes; nothing is fetched yet.
    /// `held` counts the bytes fetched into every such file of its name, less those of files
    /// dropped.
    ///
    /// Errors: [`ObjectError::Io`] creating, sizing or mapping the file.
    fn create(
        storage: Arc<dyn ObjectStorage>,
        object: &str,
        (size, min_block): (u64, u64),
        path: &Path,
        gap: u64,
        held: Arc<AtomicU64>,
    ) -> Result<RangedFile, ObjectError> {
        let io = |source| ObjectError::Io {
            uri: format!("file://{}", path.display()),
            path: object.to_string(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        // A new file of its own (never another reader's, of this process or another sharing the
        // folder): truncating a file another mapping reads would turn its fetched blocks to
        // zeros.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(io)?;
        file.set_len(size).map_err(io)?;
        let map = map_file(path).map_err(io)?;
        let block_bytes = (size >> MAX_BLOCKS_LOG2)
            .next_power_of_two()
            .max(min_block.next_power_of_two())
            .max(MIN_BLOCK_BYTES);
        let blocks = size.div_ceil(block_bytes);
        Ok(RangedFile {
            storage,
            object: object.to_string(),
            path: path.to_path_buf(),
            file,
            map,
            size,
            block_bytes,
            fetched: (0..blocks.div_ceil(64)).map(|_| AtomicU64::new(0)).collect(),
            complete: AtomicBool::new(size == 0),
            fetched_blocks: AtomicU64::new(0),
            fetched_bytes: AtomicU64::new(0),
            gap,
            fetching: Mutex::new(()),
            held,
        })
    }

    /// The object's bytes: only the parts [`RangedFile::ensure`]d are its own, the rest zeros.
    pub fn bytes(&self) -> &[u8] {
        self.map.as_ref()
    }

    /// Whether the whole object is in the file.
    pub fn is_complete(&self) -> bool {
        self.complete.load(Ordering::Acquire)
    }

    /// The unit in which fetched parts are tracked and fetched.
    pub fn block_bytes(&self) -> u64 {
        self.block_bytes
    }

    fn is_fetched(&self, block: u64) -> bool {
        self.fetched[(block / 64) as usize].load(Ordering::Acquire) & (1 << (block % 64)) != 0
    }

    /// Fetches whatever of the byte ranges `wanted` is not in the file yet, in as few requests
    /// as gaps allow, several at a time. Ranges past the end are cut at it; the order does not
    /// matter. When everything is already there this costs one atomic load per block wanted
    /// (one in all once the whole object is).
    ///
    /// Errors: those of the storage and [`ObjectError::Io`] writing the file; a failed fetch
    /// leaves the blocks it did not write unmarked, to be fetched by the next call.
    pub fn ensure(&self, wanted: impl IntoIterator<Item = Range<u64>>) -> Result<(), ObjectError> {
        self.ensure_within(wanted, usize::MAX)
    }

    /// [`RangedFile::ensure`] in at most `requests` requests (at least one): past that, the
    /// smallest gaps between wanted ranges are fetched too, so a call waiting for the ranges it
    /// needs waits for two rounds of parallel requests at [`CALL_REQUESTS`], not one round per
    /// scattered range. The bytes this adds are not bounded: hits scattered over a large
    /// `locations.bin` can pull in most of it. Bounding them (to what is wanted, or a quarter
    /// of the file) made a cold node's parts take over 10 s on the test S3 server
    /// (`cluster_figures`, 1M-record segments), so latency wins here.
    ///
    /// Errors: as [`RangedFile::ensure`]'s.
    pub fn ensure_within(
        &self,
        wanted: impl IntoIterator<Item = Range<u64>>,
        requests: usize,
    ) -> Result<(), ObjectError> {
        if self.complete.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut missing: Vec<u64> = Vec::new();
        for range in wanted {
            let end = range.end.min(self.size);
            if range.start >= end {
                continue;
            }
            // Shifts, not divisions: this runs for every hit of a lookup batch.
            let shift = self.block_bytes.trailing_zeros();
            let (first, last) = (range.start >> shift, (end - 1) >> shift);
            for block in first..=last {
                // Ranges in order (a pass over records) want the same block many times running.
                if missing.last() != Some(&block) && !self.is_fetched(block) {
                    missing.push(block);
                }
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        // A poisoned lock guards nothing but the order of fetches.
        let _fetching = self.fetching.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        missing.sort_unstable();
        missing.dedup();
        // Another reader may have fetched them while this one waited.
        missing.retain(|&block| !self.is_fetched(block));
        if missing.is_empty() {
            return Ok(());
        }
        let gap_blocks = self.gap / self.block_bytes;
        let mut runs = runs_of(&missing, gap_blocks);
        if runs.len() > requests.max(1) {
            // The gap that leaves at most `requests` runs: the largest of the smallest gaps
            // that must go.
            let mut gaps: Vec<u64> = runs.windows(2).map(|pair| pair[1].start - pair[0].end).collect();
            gaps.sort_unstable();
            runs = runs_of(&missing, gap_blocks.max(gaps[runs.len() - requests.max(1) - 1]));
        }
        let requests: Vec<Range<u64>> = runs
            .iter()
            .map(|run| run.start * self.block_bytes..(run.end * self.block_bytes).min(self.size))
            .collect();
        let started = std::time::Instant::now();
        let per_thread = requests.len().div_ceil(PARALLEL_REQUESTS);
        if let [only] = requests.as_slice() {
            self.fetch(only.clone())?;
        } else {
            self.fetch_parallel(&requests, per_thread)?;
        }
        let bytes: u64 = requests.iter().map(|range| range.end - range.start).sum();
        let seconds = started.elapsed().as_secs_f64();
        if seconds >= SLOW_FETCH_SECONDS {
            tracing::warn!(object = %self.object, requests = requests.len(), bytes, seconds, "a slow fetch from object storage");
        } else {
            tracing::debug!(object = %self.object, requests = requests.len(), bytes, seconds, "fetched by range");
        }
        Ok(())
    }

    /// Fetches `requests`, `per_thread` of them on each of a few threads.
    fn fetch_parallel(&self, requests: &[Range<u64>], per_thread: usize) -> Result<(), ObjectError> {
        std::thread::scope(|scope| {
            let workers: Vec<_> = requests
                .chunks(per_thread)
                .map(|chunk| scope.spawn(move || chunk.iter().try_for_each(|range| self.fetch(range.clone()))))
                .collect();
            workers
                .into_iter()
                .map(|worker| worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
                .collect::<Result<Vec<()>, ObjectError>>()
        })?;
        Ok(())
    }

    /// Fetches `range` (block-aligned but for the object's end) into the file and marks it.
    fn fetch(&self, range: Range<u64>) -> Result<(), ObjectError> {
        let bytes = self.storage.get_range(&self.object, range.clone())?;
        if bytes.len() as u64 != range.end - range.start {
            return Err(ObjectError::OutOfRange {
                uri: self.storage.uri(),
                path: self.object.clone(),
                start: range.start,
                end: range.end,
                size: range.start + bytes.len() as u64,
            });
        }
        self.file
            .write_all_at(&bytes, range.start)
            .map_err(|source| ObjectError::Io {
                uri: format!("file://{}", self.path.display()),
                path: self.object.clone(),
                source,
            })?;
        let (mut blocks, mut bytes) = (0, 0);
        for block in range.start / self.block_bytes..range.end.div_ceil(self.block_bytes) {
            let bit = 1 << (block % 64);
            if self.fetched[(block / 64) as usize].fetch_or(bit, Ordering::AcqRel) & bit == 0 {
                blocks += 1;
                bytes += self.block_bytes.min(self.size - block * self.block_bytes);
            }
        }
        self.held.fetch_add(bytes, Ordering::Relaxed);
        self.fetched_bytes.fetch_add(bytes, Ordering::Relaxed);
        if self.fetched_blocks.fetch_add(blocks, Ordering::AcqRel) + blocks == self.size.div_ceil(self.block_bytes) {
            self.complete.store(true, Ordering::Release);
        }
        Ok(())
    }

    /// Bytes of the object in the file so far.
    pub fn fetched_bytes(&self) -> u64 {
        self.fetched_bytes.load(Ordering::Relaxed)
    }
}

/// Runs of the sorted blocks `blocks`, joined across gaps of up to `gap` blocks.
fn runs_of(blocks: &[u64], gap: u64) -> Vec<Range<u64>> {
    let mut runs: Vec<Range<u64>> = Vec::new();
    for &block in blocks {
        match runs.last_mut() {
            Some(run) if block - run.end <= gap => run.end = block + 1,
            _ => runs.push(block..block + 1),
        }
    }
    runs
}

impl std::fmt::Debug for RangedFile {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("RangedFile")
            .field("object", &self.object)
            .field("size", &self.size)
            .field("fetched_bytes", &self.fetched_bytes())
            .finish_non_exhaustive()
    }
}

impl Drop for RangedFile {
    /// The file goes with the last reader (its name at once; its blocks when the map goes).
    fn drop(&mut self) {
        self.held.fetch_sub(self.fetched_bytes(), Ordering::Relaxed);
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The ranged files of one object storage that this process has open: one per object, shared
/// by every segment that opens it (a server reopens every segment when the catalog changes, and
/// the new one must not fetch again what the old one has).
#[derive(Debug)]
pub struct RangedFiles {
    storage: Arc<dyn ObjectStorage>,
    folder: PathBuf,
    gap: u64,
    open: Mutex<HashMap<String, Weak<RangedFile>>>,
    /// Bytes held, by file name (`hash.idx`, `locations.bin`).
    held: Mutex<HashMap<String, Arc<AtomicU64>>>,
}

/// Gap between wanted ranges fetched with them by default. A request to object storage costs
/// tens of milliseconds before its first byte, as long as a megabyte of transfer; but a
/// partition of the identifier index is about 9 KB of a segment of a million records (35 bytes
/// a record over 4,096 partitions), so a gap as large as that would fetch a node's neighbours'
/// partitions with its own until segments pass a hundred million records. 64 KiB keeps the
/// split from 7M-record segments up and still merges the small holes between a batch's hits.
pub const DEFAULT_GAP_BYTES: u64 = 64 << 10;

impl RangedFiles {
    /// Ranged files of `storage` in `folder`, fetching gaps of up to `gap` bytes with the ranges
    /// around them.
    pub fn new(storage: Arc<dyn ObjectStorage>, folder: &Path, gap: u64) -> RangedFiles {
        RangedFiles {
            storage,
            folder: folder.to_path_buf(),
            gap,
            open: Mutex::new(HashMap::new()),
            held: Mutex::new(HashMap::new()),
        }
    }

    /// Object `object` of `size` bytes (its size as its segment's manifest has it, so no request
    /// is made to learn it), fetched in blocks of at least `min_block` bytes (a power of two),
    /// the open one if another reader has it.
    ///
    /// Errors: as [`RangedFile::create`]'s.
    pub fn open(&self, object: &str, size: u64, min_block: u64) -> Result<Arc<RangedFile>, ObjectError> {
        super::objects::check_path(object)?;
        let mut open = self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(file) = open.get(object).and_then(Weak::upgrade) {
            return Ok(file);
        }
        open.retain(|_, file| file.strong_count() > 0);
        let held = self
            .held
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(object.rsplit('/').next().unwrap_or(object).to_string())
            .or_default()
            .clone();
        // Unique: the process, a counter, and a random part (pids repeat across containers
        // that share a volume).
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "{}.{}.{}.{:016x}",
            object.replace('/', "."),
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            rand::random::<u64>()
        );
        let file = Arc::new(RangedFile::create(
            self.storage.clone(),
            object,
            (size, min_block),
            &self.folder.join(name),
            self.gap,
            held,
        )?);
        open.insert(object.to_string(), Arc::downgrade(&file));
        Ok(file)
    }

    /// Bytes fetched into the ranged files open now, by file name (`hash.idx`), sorted.
    pub fn held_bytes(&self) -> Vec<(String, u64)> {
        let held = self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut bytes: Vec<(String, u64)> = held
            .iter()
            .map(|(name, bytes)| (name.clone(), bytes.load(Ordering::Relaxed)))
            .collect();
        bytes.sort();
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::LocalObjects;

    fn storage_with(bytes: &[u8]) -> (tempfile::TempDir, Arc<dyn ObjectStorage>) {
        let dir = tempfile::tempdir().unwrap();
        let storage: Arc<dyn ObjectStorage> = Arc::new(LocalObjects::new(&dir.path().join("objects")));
        storage.put("segments/a/hash.idx", bytes.to_vec().into()).unwrap();
        (dir, storage)
    }

    #[test]
    fn only_what_is_ensured_is_fetched_and_it_reads_as_the_object() {
        let object: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let (dir, storage) = storage_with(&object);
        let files = RangedFiles::new(storage, &dir.path().join("ranged"), 0);
        let file = files.open("segments/a/hash.idx", object.len() as u64, 0).unwrap();
        assert_eq!(file.block_bytes(), 64);
        assert_eq!(file.fetched_bytes(), 0);
        file.ensure([10_000..10_010, 50_100..51_000]).unwrap();
        assert_eq!(&file.bytes()[10_000..10_010], &object[10_000..10_010]);
        assert_eq!(&file.bytes()[50_100..51_000], &object[50_100..51_000]);
        // Blocks 156, and 782 to 796: 16 blocks of 64 bytes, and nothing between them.
        assert_eq!(file.fetched_bytes(), 16 * 64);
        assert_eq!(files.held_bytes(), [("hash.idx".to_string(), 16 * 64)]);
        assert!(file.bytes()[10_048..50_048].iter().all(|&byte| byte == 0));
        // The same object opened again is the same file: nothing fetched twice.
        let again = files.open("segments/a/hash.idx", object.len() as u64, 0).unwrap();
        assert!(Arc::ptr_eq(&file, &again));
        // The end is cut at the object's; a partial last block is fetched and counted whole.
        again.ensure(std::iter::once(99_900..200_000)).unwrap();
        assert_eq!(&again.bytes()[99_900..], &object[99_900..]);
        assert_eq!(file.fetched_bytes(), 16 * 64 + (100_000 - 1560 * 64));
        file.ensure(std::iter::once(0..100_000)).unwrap();
        assert_eq!(file.bytes(), &object[..]);
        assert_eq!(files.held_bytes(), [("hash.idx".to_string(), 100_000)]);
        let path = file.path.clone();
        drop((file, again));
        assert!(!path.exists(), "the last reader removes the file");
        assert_eq!(files.held_bytes(), [("hash.idx".to_string(), 0)]);
    }

    #[test]
    fn gaps_up_to_the_limit_are_fetched_with_the_ranges_around_them() {
        let object = vec![7u8; 64 * 1024];
        let (dir, storage) = storage_with(&object);
        let files = RangedFiles::new(storage, &dir.path().join("ranged"), 256);
        let file = files.open("segments/a/hash.idx", object.len() as u64, 0).unwrap();
        // Blocks 0 and 4 (a gap of three blocks, 192 bytes) come in one request; block 20 is
        // too far.
        file.ensure([0..1, 256..257, 1280..1281]).unwrap();
        assert_eq!(file.fetched_bytes(), 6 * 64);
        assert!(file.bytes()[..320].iter().all(|&byte| byte == 7));
        assert!(file.bytes()[320..1280].iter().all(|&byte| byte == 0));
    }

    #[test]
    fn a_call_fetches_in_at_most_its_requests_by_closing_the_smallest_gaps() {
        let object: Vec<u8> = (0..64 * 100u32).map(|i| (i % 256) as u8).collect();
        let (dir, storage) = storage_with(&object);
        let files = RangedFiles::new(storage, &dir.path().join("ranged"), 0);
        let file = files.open("segments/a/hash.idx", object.len() as u64, 0).unwrap();
        // Blocks 0, 2, 10, 11 and 50: gaps of 1, 7 and 38 blocks. Three requests close the
        // smallest gap (block 1 comes too); two close the next too (blocks 3 to 9).
        let wanted = || [0..1, 128..129, 640..641, 704..705, 3200..3201];
        file.ensure_within(wanted(), 3).unwrap();
        assert_eq!(file.fetched_bytes(), 6 * 64);
        let other = RangedFiles::new(file.storage.clone(), &dir.path().join("other"), 0);
        let second = other.open("segments/a/hash.idx", object.len() as u64, 0).unwrap();
        second.ensure_within(wanted(), 2).unwrap();
        assert_eq!(second.fetched_bytes(), 13 * 64);
        assert_eq!(second.bytes()[..12 * 64], object[..12 * 64]);
        assert_eq!(second.bytes()[3200..3264], object[3200..3264]);
        assert!(second.bytes()[12 * 64..3200].iter().all(|&byte| byte == 0));
    }

    #[test]
    fn a_failed_fetch_is_an_error_and_marks_nothing() {
        let (dir, storage) = storage_with(b"short");
        let files = RangedFiles::new(storage, &dir.path().join("ranged"), 0);
        // The manifest claims more than the object holds (a damaged or replaced object).
        let file = files.open("segments/a/hash.idx", 4096, 0).unwrap();
        assert!(file.ensure(std::iter::once(1024..2048)).is_err());
        assert_eq!(file.fetched_bytes(), 0);
        let absent = files.open("segments/b/hash.idx", 10, 0).unwrap();
        assert!(matches!(
            absent.ensure(std::iter::once(0..10)),
            Err(ObjectError::NotFound { .. })
        ));
    }
}
