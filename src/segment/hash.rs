//! The hash index: keyed 64-bit fingerprints to (record, field), as one sorted array of 16-byte
//! entries plus a directory of bucket starts by the fingerprint's top bits.
//!
//! A batch of queries is sorted by fingerprint and answered in one forward pass: each query reads
//! one directory slot and a few adjacent entries, and successive queries move monotonically through
//! the array, so the hardware prefetcher and the page cache see a stream, not random walks. Opening
//! is two mmaps; nothing is loaded.
//!
//! `hash.idx`: entries `(fingerprint u64, record u32, field u32)`, little-endian, sorted.
//! `hash.dir`: `2^bits + 1` u64 entry indexes; bucket `b` holds fingerprints whose top `bits` are `b`.

use crate::storage::{ChecksummedFile, Mapped};
use rayon::slice::ParallelSliceMut;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

pub const ENTRY_BYTES: usize = 16;

/// One posting: this fingerprint occurs in this record's field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub fingerprint: u64,
    pub record: u32,
    pub field: u32,
}

impl Entry {
    fn to_bytes(self) -> [u8; ENTRY_BYTES] {
        let mut bytes = [0u8; ENTRY_BYTES];
        bytes[..8].copy_from_slice(&self.fingerprint.to_le_bytes());
        bytes[8..12].copy_from_slice(&self.record.to_le_bytes());
        bytes[12..].copy_from_slice(&self.field.to_le_bytes());
        bytes
    }

    fn from_bytes(bytes: &[u8]) -> Entry {
        let word = |range: std::ops::Range<usize>| {
            let mut buffer = [0u8; 8];
            buffer[..range.len()].copy_from_slice(&bytes[range]);
            u64::from_le_bytes(buffer)
        };
        Entry {
            fingerprint: word(0..8),
            record: word(8..12) as u32,
            field: word(12..16) as u32,
        }
    }
}

/// Directory bits for `entries`: about four entries a bucket, at most 2^28 buckets.
pub fn directory_bits(entries: u64) -> u32 {
    let buckets = (entries / 4).max(1);
    (63 - buckets.leading_zeros()).min(28)
}

/// What [`HashIndexWriter::finish`] wrote: entries, directory bits, and the SHA-256 of the two
/// files.
pub struct Written {
    pub entries: u64,
    pub bits: u32,
    pub index_sha256: String,
    pub directory_sha256: String,
}

/// Collects entries within a memory budget, spilling sorted runs to disk, and writes the index.
pub struct HashIndexWriter {
    folder: PathBuf,
    /// File stem: `NAME.idx`, `NAME.dir`.
    name: &'static str,
    entries: Vec<Entry>,
    budget_entries: usize,
    runs: Vec<PathBuf>,
}

impl HashIndexWriter {
    pub fn new(folder: &Path, memory_budget: usize) -> Self {
        Self::named(folder, "hash", memory_budget)
    }

    /// A writer of `NAME.idx` and `NAME.dir`.
    pub fn named(folder: &Path, name: &'static str, memory_budget: usize) -> Self {
        HashIndexWriter {
            folder: folder.to_path_buf(),
            name,
            entries: Vec::new(),
            budget_entries: (memory_budget / std::mem::size_of::<Entry>()).max(1024),
            runs: Vec::new(),
        }
    }

    /// Adds entries, spilling a sorted run whenever the budget is full. The buffer is reserved
    /// once at exactly the budget, so it never grows past it (a doubling `Vec` can hold twice
    /// its budget, and both copies while it moves).
    pub fn push(&mut self, entries: impl IntoIterator<Item = Entry>) -> io::Result<()> {
        for entry in entries {
            if self.entries.capacity() == 0 {
                // Address space, not memory, until written; a system that refuses that much
                // gets a smaller budget (more, smaller runs) rather than an abort.
                while self.entries.try_reserve_exact(self.budget_entries).is_err() && self.budget_entries > 1024 {
                    self.budget_entries /= 2;
                }
            }
            self.entries.push(entry);
            if self.entries.len() >= self.budget_entries {
                self.spill()?;
            }
        }
        Ok(())
    }

    /// Sorted runs written so far (for tests and progress).
    pub fn runs(&self) -> usize {
        self.runs.len()
    }

    fn spill(&mut self) -> io::Result<()> {
        self.entries.par_sort_unstable();
        let path = self.folder.join(format!("{}-run-{}.tmp", self.name, self.runs.len()));
        let mut out = BufWriter::with_capacity(1 << 20, File::create(&path)?);
        for entry in self.entries.drain(..) {
            out.write_all(&entry.to_bytes())?;
        }
        out.flush()?;
        self.runs.push(path);
        tracing::debug!(run = self.runs.len(), "spilled a sorted run of fingerprints");
        Ok(())
    }

    /// Writes `NAME.idx` and `NAME.dir` into the folder (fsynced).
    pub fn finish(mut self) -> io::Result<Written> {
        self.entries.par_sort_unstable();
        let total = self.entries.len() as u64
            + self
                .runs
                .iter()
                .map(|run| std::fs::metadata(run).map(|m| m.len() / ENTRY_BYTES as u64))
                .sum::<io::Result<u64>>()?;
        let bits = directory_bits(total);
        let mut index = ChecksummedFile::create(&self.folder.join(format!("{}.idx", self.name)))?;
        let directory_path = self.folder.join(format!("{}.dir", self.name));
        let mut directory = DirectoryWriter::new(bits, ChecksummedFile::create(&directory_path)?);
        let mut write = |entry: Entry| -> io::Result<()> {
            directory.add(entry.fingerprint)?;
            index.write_all(&entry.to_bytes())
        };
        if self.runs.is_empty() {
            for entry in self.entries.drain(..) {
                write(entry)?;
            }
        } else {
            merge_runs(&self.runs, std::mem::take(&mut self.entries), &mut write)?;
            for run in &self.runs {
                std::fs::remove_file(run)?;
            }
        }
        Ok(Written {
            entries: total,
            bits,
            index_sha256: ChecksummedFile::close(index)?,
            directory_sha256: ChecksummedFile::close(directory.finish()?)?,
        })
    }
}

/// K-way merge of sorted run files and one sorted in-memory run.
fn merge_runs(runs: &[PathBuf], memory: Vec<Entry>, write: &mut impl FnMut(Entry) -> io::Result<()>) -> io::Result<()> {
    let mut sources: Vec<Box<dyn Iterator<Item = io::Result<Entry>>>> = Vec::new();
    for run in runs {
        let mut reader = BufReader::with_capacity(1 << 20, File::open(run)?);
        sources.push(Box::new(std::iter::from_fn(move || {
            let mut bytes = [0u8; ENTRY_BYTES];
            match reader.read_exact(&mut bytes) {
                Ok(()) => Some(Ok(Entry::from_bytes(&bytes))),
                Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => None,
                Err(error) => Some(Err(error)),
            }
        })));
    }
    sources.push(Box::new(memory.into_iter().map(Ok)));
    let mut heap = BinaryHeap::new();
    for (source, iterator) in sources.iter_mut().enumerate() {
        if let Some(entry) = iterator.next() {
            heap.push(Reverse((entry?, source)));
        }
    }
    while let Some(Reverse((entry, source))) = heap.pop() {
        write(entry)?;
        if let Some(next) = sources[source].next() {
            heap.push(Reverse((next?, source)));
        }
    }
    Ok(())
}

/// Writes the directory as the sorted entries pass: for each bucket, the position of its first
/// entry, then the total. Streamed, because it has 2^bits + 1 words (1 GiB at 2^27 buckets, for
/// about 500M entries) and nothing else needs it in memory.
struct DirectoryWriter<W: Write> {
    bits: u32,
    out: W,
    /// Buckets whose start is written.
    written: usize,
    count: u64,
}

impl<W: Write> DirectoryWriter<W> {
    fn new(bits: u32, out: W) -> Self {
        DirectoryWriter {
            bits,
            out,
            written: 0,
            count: 0,
        }
    }

    /// Counts an entry of `fingerprint`; entries come in fingerprint order.
    fn add(&mut self, fingerprint: u64) -> io::Result<()> {
        let bucket = bucket_of(fingerprint, self.bits);
        debug_assert!(bucket + 1 >= self.written, "entries out of order");
        self.start_until(bucket)?;
        self.count += 1;
        Ok(())
    }

    /// Writes the start of every bucket up to and including `bucket`.
    fn start_until(&mut self, bucket: usize) -> io::Result<()> {
        while self.written <= bucket {
            self.out.write_all(&self.count.to_le_bytes())?;
            self.written += 1;
        }
        Ok(())
    }

    /// Writes the starts of the buckets left and the end; returns the writer.
    fn finish(mut self) -> io::Result<W> {
        self.start_until(1usize << self.bits)?;
        Ok(self.out)
    }
}

fn bucket_of(fingerprint: u64, bits: u32) -> usize {
    if bits == 0 {
        0
    } else {
        (fingerprint >> (64 - bits)) as usize
    }
}

/// A hash index over any bytes: mapped files in production, vectors in tests.
pub struct HashIndex<B = Mapped> {
    entries: B,
    directory: B,
    bits: u32,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

impl<B: AsRef<[u8]>> HashIndex<B> {
    /// Checks the shapes (sizes agree with the directory bits); contents are checked by `verify`.
    pub fn new(entries: B, directory: B, bits: u32) -> Result<Self, Malformed> {
        let entry_bytes = entries.as_ref().len();
        if entry_bytes % ENTRY_BYTES != 0 {
            return Err(Malformed(format!(
                "hash.idx is {entry_bytes} bytes, not a multiple of {ENTRY_BYTES}"
            )));
        }
        let expected = ((1usize << bits) + 1) * 8;
        if directory.as_ref().len() != expected {
            return Err(Malformed(format!(
                "hash.dir is {} bytes, expected {expected}",
                directory.as_ref().len()
            )));
        }
        let index = HashIndex {
            entries,
            directory,
            bits,
        };
        if index.start(1usize << bits) != (entry_bytes / ENTRY_BYTES) as u64 {
            return Err(Malformed("hash.dir does not end at the last entry".into()));
        }
        Ok(index)
    }

    pub fn len(&self) -> usize {
        self.entries.as_ref().len() / ENTRY_BYTES
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn start(&self, bucket: usize) -> u64 {
        let bytes = &self.directory.as_ref()[bucket * 8..bucket * 8 + 8];
        u64::from_le_bytes(bytes.try_into().unwrap_or_default())
    }

    fn entry(&self, index: usize) -> Entry {
        Entry::from_bytes(&self.entries.as_ref()[index * ENTRY_BYTES..(index + 1) * ENTRY_BYTES])
    }

    /// Every entry with this fingerprint.
    pub fn get(&self, fingerprint: u64) -> impl Iterator<Item = Entry> + '_ {
        let bucket = bucket_of(fingerprint, self.bits);
        let (start, end) = (
            self.start(bucket) as usize,
            (self.start(bucket + 1) as usize).min(self.len()),
        );
        let start = start.min(end);
        // Buckets hold a handful of entries: a linear scan beats a binary search here.
        (start..end)
            .map(move |index| self.entry(index))
            .filter(move |entry| entry.fingerprint == fingerprint)
    }

    /// Every entry with a fingerprint in `low..high`, in order.
    pub fn range(&self, low: u64, high: u64) -> impl Iterator<Item = Entry> + '_ {
        let start = (self.start(bucket_of(low, self.bits)) as usize).min(self.len());
        (start..self.len())
            .map(move |index| self.entry(index))
            .skip_while(move |entry| entry.fingerprint < low)
            .take_while(move |entry| entry.fingerprint < high)
    }

    /// Answers a batch sorted by fingerprint: calls `hit(query position, entry)` for every match.
    ///
    /// Three passes rather than one. A batch of a few thousand is sparse in an index of millions,
    /// so nearly every probe misses the cache twice (directory, then bucket). In one pass each
    /// probe's loads hang off a mispredicted compare-and-branch, so the misses come one at a
    /// time; the first two passes only load, with no branch on what was loaded, so the CPU keeps
    /// many misses in flight, and the scan that follows hits the cache.
    pub fn probe_sorted(&self, sorted: &[(u64, u32)], mut hit: impl FnMut(u32, Entry)) {
        debug_assert!(sorted.windows(2).all(|pair| pair[0].0 <= pair[1].0));
        let len = self.len();
        let entries = self.entries.as_ref();
        // Chunks small enough that what the first passes load is still cached for the scan.
        let mut buckets: Vec<(usize, usize)> = Vec::with_capacity(PROBE_CHUNK);
        for chunk in sorted.chunks(PROBE_CHUNK) {
            buckets.clear();
            buckets.extend(chunk.iter().map(|&(fingerprint, _)| {
                let bucket = bucket_of(fingerprint, self.bits);
                let end = (self.start(bucket + 1) as usize).min(len);
                ((self.start(bucket) as usize).min(end), end)
            }));
            let touched = buckets.iter().fold(0u8, |folded, &(start, _)| {
                folded ^ entries.get(start * ENTRY_BYTES).copied().unwrap_or_default()
            });
            std::hint::black_box(touched);
            for (&(fingerprint, query), &(start, end)) in chunk.iter().zip(&buckets) {
                for index in start..end {
                    let entry = self.entry(index);
                    if entry.fingerprint == fingerprint {
                        hit(query, entry);
                    } else if entry.fingerprint > fingerprint {
                        break;
                    }
                }
            }
        }
    }
}

/// Probes per pass of [`HashIndex::probe_sorted`].
const PROBE_CHUNK: usize = 1024;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn build(entries: &[Entry], budget: usize) -> (HashIndex<Vec<u8>>, usize) {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = HashIndexWriter::new(dir.path(), budget);
        for chunk in entries.chunks(7) {
            writer.push(chunk.iter().copied()).unwrap();
        }
        let runs = writer.runs();
        let written = writer.finish().unwrap();
        let (count, bits) = (written.entries, written.bits);
        assert_eq!(count as usize, entries.len());
        let read = |name| std::fs::read(dir.path().join(name)).unwrap();
        (HashIndex::new(read("hash.idx"), read("hash.dir"), bits).unwrap(), runs)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn every_key_found_and_no_absent_key(keys in prop::collection::vec(any::<u64>(), 0..3000), absent in prop::collection::vec(any::<u64>(), 0..200), spill in any::<bool>()) {
            let entries: Vec<Entry> = keys.iter().enumerate().map(|(record, &fingerprint)| Entry { fingerprint, record: record as u32, field: (record % 3) as u32 }).collect();
            // A tiny budget forces spilled runs and the k-way merge.
            let budget = if spill { 1024 * 16 } else { 1 << 30 };
            let (index, runs) = build(&entries, budget);
            prop_assert_eq!(runs > 0, spill && entries.len() >= 1024);
            for entry in &entries {
                prop_assert!(index.get(entry.fingerprint).any(|found| found == *entry));
            }
            let mut queries: Vec<(u64, u32)> = keys.iter().chain(&absent).enumerate().map(|(position, &key)| (key, position as u32)).collect();
            queries.sort_unstable();
            let mut found = vec![0usize; queries.len()];
            index.probe_sorted(&queries, |query, entry| {
                assert_eq!(entry.fingerprint, queries.iter().find(|(_, position)| *position == query).unwrap().0);
                found[query as usize] += 1;
            });
            for (position, &key) in keys.iter().chain(&absent).enumerate() {
                let expected = keys.iter().filter(|&&other| other == key).count();
                prop_assert_eq!(found[position], expected);
            }
        }
    }

    #[test]
    fn malformed_shapes_are_refused() {
        assert!(HashIndex::new(vec![0u8; 15], vec![0u8; 16], 0).is_err());
        assert!(HashIndex::new(vec![0u8; 16], vec![0u8; 8], 0).is_err());
        assert!(
            HashIndex::new(vec![0u8; 16], vec![0u8; 16], 0).is_err(),
            "directory must end at 1"
        );
        let mut directory = vec![0u8; 16];
        directory[8] = 1;
        assert!(HashIndex::new(vec![0u8; 16], directory, 0).is_ok());
    }
}
