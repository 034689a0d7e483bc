//! The hash index: keyed 64-bit fingerprints to (record, field), as one sorted array of lean
//! entries plus a directory of bucket starts by the fingerprint's top bits.
//!
//! A batch of queries is sorted by fingerprint and answered in one forward pass: each query reads
//! one directory slot and a few adjacent entries, and successive queries move monotonically through
//! the array, so the hardware prefetcher and the page cache see a stream, not random walks. Opening
//! is two mmaps; nothing is loaded.
//!
//! `hash.idx`: entries sorted by (fingerprint, record, field), each the fingerprint's low 48
//! bits (6 bytes) when the directory has 16 bits or more, else its low 56 (7 bytes; the bucket
//! holds the top bits, so the whole fingerprint is kept either way), the record (u32) and the
//! field id in as few bytes as the segment's field count needs (1, 2 or 4; see [`Layout`]),
//! little-endian: 11 bytes in nearly every segment of over a million entries, against 16 for
//! the whole fields.
//! `hash.dir`: `2^bits + 1` u64 entry indexes, `bits` ≥ 8; bucket `b` holds fingerprints whose
//! top `bits` are `b`, about 16 of them.

use crate::storage::{ChecksummedFile, Mapped};
use rayon::prelude::*;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// Bytes of an entry in a spilled run (whole fields: runs are temporary).
const RUN_ENTRY_BYTES: usize = 16;
/// Fewest directory bits: the top 8 bits of a fingerprint are always its bucket's, so entries
/// store the low 56 bits (48 from 16 directory bits on, see [`fingerprint_bytes`]).
const MIN_BITS: u32 = 8;
/// Most directory bits: 2 GiB of directory.
const MAX_BITS: u32 = 28;
/// Entries a bucket holds on average: a bucket of 11-byte entries spans about three cache
/// lines, read in one pass; fewer entries a bucket would cost a directory word per 4 entries.
const ENTRIES_PER_BUCKET: u64 = 16;

/// One posting: this fingerprint occurs in this record's field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub fingerprint: u64,
    pub record: u32,
    pub field: u32,
}

impl Entry {
    fn to_run_bytes(self) -> [u8; RUN_ENTRY_BYTES] {
        let mut bytes = [0u8; RUN_ENTRY_BYTES];
        bytes[..8].copy_from_slice(&self.fingerprint.to_le_bytes());
        bytes[8..12].copy_from_slice(&self.record.to_le_bytes());
        bytes[12..].copy_from_slice(&self.field.to_le_bytes());
        bytes
    }

    fn from_run_bytes(bytes: &[u8; RUN_ENTRY_BYTES]) -> Entry {
        let [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p] = *bytes;
        Entry {
            fingerprint: u64::from_le_bytes([a, b, c, d, e, f, g, h]),
            record: u32::from_le_bytes([i, j, k, l]),
            field: u32::from_le_bytes([m, n, o, p]),
        }
    }
}

/// How entries are laid out on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Exact postings: a fingerprint's low bits ([`fingerprint_bytes`]; the bucket holds the
    /// rest), the record, and the field id in as few bytes as the segment's field count needs
    /// (1, 2 or 4; the manifest's `fields` says how many, so nothing else need be stored to
    /// read them): 11 or 12 bytes in nearly every segment.
    Postings { field_bytes: usize },
    /// Keys without fields, kept to 16 bits below the bucket's: 6 bytes, the record after the
    /// key. Lossy on purpose, for blocking keys: two keys that agree in the bucket's bits and
    /// those 16 (1 in 65,536 within a bucket of ~16, so about one extra candidate in 4,000
    /// probes) merely add a candidate that comparison scores low. Entries read back carry the
    /// kept bits, the rest zero, and field 0. (Format version 5 kept 32 bits in 8 bytes.)
    Keys,
    /// Distinct fingerprints alone, their low bits ([`fingerprint_bytes`]): for the
    /// private-lookup index, which answers which prefixes exist, never where. Entries read back
    /// have record and field 0.
    Fingerprints,
}

/// Bytes of a fingerprint's low bits stored in an entry of an index of `bits` directory bits:
/// 6 from 16 bits on, else 7; with the bucket's top `bits` that is the whole fingerprint.
pub fn fingerprint_bytes(bits: u32) -> usize {
    if bits >= 16 { 6 } else { 7 }
}

impl Layout {
    /// The postings layout of a segment with `fields` fields (ids `0..fields`).
    pub fn for_fields(fields: usize) -> Layout {
        let field_bytes = match fields {
            0..=0x100 => 1,
            0x101..=0x1_0000 => 2,
            _ => 4,
        };
        Layout::Postings { field_bytes }
    }

    /// Bytes of one entry in an index of `bits` directory bits.
    pub fn entry_bytes(self, bits: u32) -> usize {
        match self {
            Layout::Postings { field_bytes } => fingerprint_bytes(bits) + 4 + field_bytes,
            Layout::Keys => 6,
            Layout::Fingerprints => fingerprint_bytes(bits),
        }
    }

    /// The bits of a fingerprint an index of `bits` directory bits keeps, as a mask.
    fn kept(self, bits: u32) -> u64 {
        match self {
            Layout::Postings { .. } | Layout::Fingerprints => u64::MAX,
            Layout::Keys => !((1u64 << (48 - bits)) - 1),
        }
    }

    fn encode(self, entry: Entry, bits: u32, out: &mut Vec<u8>) {
        match self {
            Layout::Postings { field_bytes } => {
                debug_assert!(u64::from(entry.field) < 1u64 << (8 * field_bytes as u64).min(32));
                out.extend_from_slice(&entry.fingerprint.to_le_bytes()[..fingerprint_bytes(bits)]);
                out.extend_from_slice(&entry.record.to_le_bytes());
                out.extend_from_slice(&entry.field.to_le_bytes()[..field_bytes]);
            }
            Layout::Keys => {
                out.extend_from_slice(&(((entry.fingerprint << bits) >> 48) as u16).to_le_bytes());
                out.extend_from_slice(&entry.record.to_le_bytes());
            }
            Layout::Fingerprints => {
                out.extend_from_slice(&entry.fingerprint.to_le_bytes()[..fingerprint_bytes(bits)]);
            }
        }
    }

    /// The entry in `bytes` (one entry's), in `bucket` of an index of `bits` directory bits.
    fn decode(self, bytes: &[u8], bucket: usize, bits: u32) -> Entry {
        let le32 = |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        let low = fingerprint_bytes(bits);
        // The stored low bits and the bucket's top bits overlap where both hold a bit; they agree.
        let fingerprint = || {
            let mut word = [0u8; 8];
            word[..low].copy_from_slice(&bytes[..low]);
            (bucket as u64) << (64 - bits) | u64::from_le_bytes(word)
        };
        match self {
            Layout::Postings { field_bytes } => {
                let mut field = [0u8; 4];
                field[..field_bytes].copy_from_slice(&bytes[low + 4..low + 4 + field_bytes]);
                Entry {
                    fingerprint: fingerprint(),
                    record: le32(low),
                    field: u32::from_le_bytes(field),
                }
            }
            Layout::Fingerprints => Entry {
                fingerprint: fingerprint(),
                record: 0,
                field: 0,
            },
            Layout::Keys => Entry {
                fingerprint: (bucket as u64) << (64 - bits)
                    | u64::from(u16::from_le_bytes([bytes[0], bytes[1]])) << (48 - bits),
                record: le32(2),
                field: 0,
            },
        }
    }
}

/// Directory bits for `entries`: about [`ENTRIES_PER_BUCKET`] entries a bucket, between
/// 2^[`MIN_BITS`] and 2^[`MAX_BITS`] buckets.
pub fn directory_bits(entries: u64) -> u32 {
    let buckets = (entries / ENTRIES_PER_BUCKET).max(1);
    (63 - buckets.leading_zeros()).clamp(MIN_BITS, MAX_BITS)
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
            budget_entries: (memory_budget / RUN_ENTRY_BYTES).max(1024),
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
        // On rayon's global pool, from the appender's thread. Sorted on that thread alone, a
        // spill held the scan back for its whole sort: 100M records took 479 s, against 356 s.
        sort_entries(&mut self.entries);
        let path = self.folder.join(format!("{}-run-{}.tmp", self.name, self.runs.len()));
        let mut out = BufWriter::with_capacity(1 << 20, File::create(&path)?);
        for entry in self.entries.drain(..) {
            out.write_all(&entry.to_run_bytes())?;
        }
        out.flush()?;
        self.runs.push(path);
        tracing::debug!(run = self.runs.len(), "spilled a sorted run of fingerprints");
        Ok(())
    }

    /// Writes `NAME.idx` and `NAME.dir` into the folder (fsynced), entries laid out as
    /// `layout` says (it must hold every field id pushed).
    pub fn finish(mut self, layout: Layout) -> io::Result<Written> {
        sort_entries(&mut self.entries);
        let total = self.entries.len() as u64
            + self
                .runs
                .iter()
                .map(|run| std::fs::metadata(run).map(|m| m.len() / RUN_ENTRY_BYTES as u64))
                .sum::<io::Result<u64>>()?;
        let bits = directory_bits(total);
        let mut index = ChecksummedFile::create(&self.folder.join(format!("{}.idx", self.name)))?;
        let directory_path = self.folder.join(format!("{}.dir", self.name));
        let mut directory = DirectoryWriter::new(bits, ChecksummedFile::create(&directory_path)?);
        let mut bytes = Vec::with_capacity(16);
        let mut written = 0u64;
        let mut last = None;
        let mut write = |entry: Entry| -> io::Result<()> {
            if layout == Layout::Fingerprints && last == Some(entry.fingerprint) {
                return Ok(());
            }
            last = Some(entry.fingerprint);
            written += 1;
            directory.add(entry.fingerprint)?;
            bytes.clear();
            layout.encode(entry, bits, &mut bytes);
            index.write_all(&bytes)
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
            entries: written,
            bits,
            index_sha256: ChecksummedFile::close(index)?,
            directory_sha256: ChecksummedFile::close(directory.finish()?)?,
        })
    }
}

/// Sorts entries as `sort_unstable` does, faster for fingerprints, which are uniform hashes:
/// two in-place radix passes on the top 16 bits of the fingerprint (American flag sort; McIlroy,
/// Bostic and McIlroy, "Engineering radix sort", 1993), the second on the current rayon pool,
/// then a comparison sort of each of the 65,536 small parts.
/// `par_sort_unstable` and its comparisons took 17% of an ingest's CPU (`perf`, 2.1M records of
/// the generator's corpora). In place, so the buffer's budget holds. Parts a skewed input
/// leaves large are only sorted slower.
pub(crate) fn sort_entries(entries: &mut [Entry]) {
    const SMALL: usize = 1 << 16;
    if entries.len() < SMALL {
        entries.sort_unstable();
        return;
    }
    let starts = partition_by_byte(entries, 56);
    let mut parts = Vec::with_capacity(256);
    let mut rest = entries;
    for digit in 0..256 {
        let (part, after) = rest.split_at_mut(starts[digit + 1] - starts[digit]);
        parts.push(part);
        rest = after;
    }
    parts.into_par_iter().for_each(|part| {
        let starts = partition_by_byte(part, 48);
        let mut rest = part;
        for digit in 0..256 {
            let (small, after) = rest.split_at_mut(starts[digit + 1] - starts[digit]);
            small.sort_unstable();
            rest = after;
        }
    });
}

/// Reorders `entries` in place by the byte of their fingerprints at `shift`; returns where each
/// byte value's entries start (and, last, the length).
fn partition_by_byte(entries: &mut [Entry], shift: u32) -> [usize; 257] {
    let digit = |entry: &Entry| ((entry.fingerprint >> shift) & 0xff) as usize;
    let mut starts = [0usize; 257];
    for entry in entries.iter() {
        starts[digit(entry) + 1] += 1;
    }
    for value in 0..256 {
        starts[value + 1] += starts[value];
    }
    // The next place to fill in each byte value's part.
    let mut next = starts;
    for value in 0..256 {
        while next[value] < starts[value + 1] {
            // Carry the entry found here to its part, and the one found there on, until one
            // belongs here.
            let mut carried = entries[next[value]];
            let mut target = digit(&carried);
            while target != value {
                std::mem::swap(&mut carried, &mut entries[next[target]]);
                next[target] += 1;
                target = digit(&carried);
            }
            entries[next[value]] = carried;
            next[value] += 1;
        }
    }
    starts
}

/// K-way merge of sorted run files and one sorted in-memory run.
fn merge_runs(runs: &[PathBuf], memory: Vec<Entry>, write: &mut impl FnMut(Entry) -> io::Result<()>) -> io::Result<()> {
    let mut sources: Vec<Box<dyn Iterator<Item = io::Result<Entry>>>> = Vec::new();
    for run in runs {
        let mut reader = BufReader::with_capacity(1 << 20, File::open(run)?);
        sources.push(Box::new(std::iter::from_fn(move || {
            let mut bytes = [0u8; RUN_ENTRY_BYTES];
            match reader.read_exact(&mut bytes) {
                Ok(()) => Some(Ok(Entry::from_run_bytes(&bytes))),
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
    debug_assert!(bits >= MIN_BITS);
    (fingerprint >> (64 - bits)) as usize
}

/// A hash index over any bytes: mapped files in production, vectors in tests.
pub struct HashIndex<B = Mapped> {
    entries: B,
    directory: B,
    bits: u32,
    layout: Layout,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

impl<B: AsRef<[u8]>> HashIndex<B> {
    /// Checks the shapes (sizes agree with the directory bits and the layout); contents are
    /// checked by `verify`.
    pub fn new(entries: B, directory: B, bits: u32, layout: Layout) -> Result<Self, Malformed> {
        let entry_bytes = entries.as_ref().len();
        if entry_bytes % layout.entry_bytes(bits) != 0 {
            return Err(Malformed(format!(
                "the entries are {entry_bytes} bytes, not a multiple of {}",
                layout.entry_bytes(bits)
            )));
        }
        if !(MIN_BITS..=MAX_BITS).contains(&bits) {
            return Err(Malformed(format!(
                "{bits} directory bits, not between {MIN_BITS} and {MAX_BITS}"
            )));
        }
        let expected = ((1usize << bits) + 1) * 8;
        if directory.as_ref().len() != expected {
            return Err(Malformed(format!(
                "the directory is {} bytes, expected {expected}",
                directory.as_ref().len()
            )));
        }
        let index = HashIndex {
            entries,
            directory,
            bits,
            layout,
        };
        if index.start(1usize << bits) != (entry_bytes / layout.entry_bytes(bits)) as u64 {
            return Err(Malformed("the directory does not end at the last entry".into()));
        }
        Ok(index)
    }

    pub fn len(&self) -> usize {
        self.entries.as_ref().len() / self.layout.entry_bytes(self.bits)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn start(&self, bucket: usize) -> u64 {
        let bytes = &self.directory.as_ref()[bucket * 8..bucket * 8 + 8];
        u64::from_le_bytes(bytes.try_into().unwrap_or_default())
    }

    /// Entry positions of a bucket, `start..end`, clamped to the entries.
    fn bucket(&self, bucket: usize) -> (usize, usize) {
        let end = (self.start(bucket + 1) as usize).min(self.len());
        ((self.start(bucket) as usize).min(end), end)
    }

    /// The entry at `index`, in `bucket`.
    fn entry(&self, index: usize, bucket: usize) -> Entry {
        let width = self.layout.entry_bytes(self.bits);
        self.layout.decode(
            &self.entries.as_ref()[index * width..(index + 1) * width],
            bucket,
            self.bits,
        )
    }

    /// Every entry with this fingerprint (as far as the layout keeps it: see [`Layout::Keys`]).
    pub fn get(&self, fingerprint: u64) -> impl Iterator<Item = Entry> + '_ {
        let fingerprint = fingerprint & self.layout.kept(self.bits);
        let bucket = bucket_of(fingerprint, self.bits);
        let (start, end) = self.bucket(bucket);
        // Buckets hold a handful of entries: a linear scan beats a binary search here.
        (start..end)
            .map(move |index| self.entry(index, bucket))
            .filter(move |entry| entry.fingerprint == fingerprint)
    }

    /// Every entry with a fingerprint in `low..high`, in order.
    pub fn range(&self, low: u64, high: u64) -> impl Iterator<Item = Entry> + '_ {
        (bucket_of(low, self.bits)..1usize << self.bits)
            .flat_map(move |bucket| {
                let (start, end) = self.bucket(bucket);
                (start..end).map(move |index| self.entry(index, bucket))
            })
            .skip_while(move |entry| entry.fingerprint < low)
            .take_while(move |entry| entry.fingerprint < high)
    }

    /// The byte range of the entries of the buckets that hold fingerprints `low..=high`.
    pub fn span_of(&self, low: u64, high: u64) -> std::ops::Range<u64> {
        let width = self.layout.entry_bytes(self.bits) as u64;
        let (start, _) = self.bucket(bucket_of(low, self.bits));
        let (_, end) = self.bucket(bucket_of(high, self.bits));
        start as u64 * width..end as u64 * width
    }

    /// The byte ranges of the entries that [`HashIndex::probe_sorted`] reads for `fingerprints`
    /// (sorted): each bucket one falls in, once, in order.
    pub fn spans_of(&self, fingerprints: impl Iterator<Item = u64>) -> impl Iterator<Item = std::ops::Range<u64>> {
        let width = self.layout.entry_bytes(self.bits) as u64;
        let mut last = None;
        fingerprints.filter_map(move |fingerprint| {
            let bucket = bucket_of(fingerprint, self.bits);
            if last.replace(bucket) == Some(bucket) {
                return None;
            }
            let (start, end) = self.bucket(bucket);
            Some(start as u64 * width..end as u64 * width)
        })
    }

    /// Answers a batch sorted by fingerprint: calls `hit(query position, entry)` for every match
    /// (as far as the layout keeps fingerprints: see [`Layout::Keys`]).
    ///
    /// Three passes rather than one. A batch of a few thousand is sparse in an index of millions,
    /// so nearly every probe misses the cache twice (directory, then bucket). In one pass each
    /// probe's loads hang off a mispredicted compare-and-branch, so the misses come one at a
    /// time; the first two passes only load, with no branch on what was loaded, so the CPU keeps
    /// many misses in flight, and the scan that follows hits the cache.
    pub fn probe_sorted(&self, sorted: &[(u64, u32)], mut hit: impl FnMut(u32, Entry)) {
        debug_assert!(sorted.windows(2).all(|pair| pair[0].0 <= pair[1].0));
        let entries = self.entries.as_ref();
        let width = self.layout.entry_bytes(self.bits);
        let kept = self.layout.kept(self.bits);
        // Chunks small enough that what the first passes load is still cached for the scan.
        let mut buckets: Vec<(usize, usize, usize)> = Vec::with_capacity(PROBE_CHUNK);
        for chunk in sorted.chunks(PROBE_CHUNK) {
            buckets.clear();
            buckets.extend(chunk.iter().map(|&(fingerprint, _)| {
                let bucket = bucket_of(fingerprint, self.bits);
                let (start, end) = self.bucket(bucket);
                (bucket, start, end)
            }));
            let touched = buckets.iter().fold(0u8, |folded, &(_, start, _)| {
                folded ^ entries.get(start * width).copied().unwrap_or_default()
            });
            std::hint::black_box(touched);
            for (&(fingerprint, query), &(bucket, start, end)) in chunk.iter().zip(&buckets) {
                let fingerprint = fingerprint & kept;
                for index in start..end {
                    // From the slice taken once above: `entries.as_ref()` per entry costs a
                    // branch or two where the index is read by range.
                    let entry = self
                        .layout
                        .decode(&entries[index * width..(index + 1) * width], bucket, self.bits);
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

impl HashIndex<Mapped> {
    /// Before a pass of `probes` sorted probes: when they will touch at least a quarter of the
    /// entries' pages (a page each, at most), the entries and the directory are read in ahead.
    /// A cold index is then read sequentially (about 1.45 GB/s on the build machine) rather
    /// than faulted in a page per probe (12–26k random faults/s there: `../shared/NOTES.md`);
    /// a micro-batch of a few thousand over a large index leaves it alone, and so does every
    /// batch over an index under [`READ_AHEAD_MIN_BYTES`] (no system call per segment per call
    /// for small segments, which fault in quickly either way).
    pub fn read_ahead_for(&self, probes: usize) {
        let bytes = self.entries.as_ref().len();
        if bytes >= READ_AHEAD_MIN_BYTES && probes >= bytes / PAGE_BYTES / 4 {
            self.entries.read_ahead();
            self.directory.read_ahead();
        }
    }
}

/// Bytes of a memory page, for [`HashIndex::read_ahead_for`].
const PAGE_BYTES: usize = 4096;
/// Smallest index [`HashIndex::read_ahead_for`] reads in ahead: 64 MiB is read cold in about
/// 45 ms at the build machine's 1.45 GB/s.
const READ_AHEAD_MIN_BYTES: usize = 64 << 20;

/// Probes per pass of [`HashIndex::probe_sorted`].
const PROBE_CHUNK: usize = 1024;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An index of `entries` in `layout` (postings when `None`).
    fn build(entries: &[Entry], budget: usize, layout: Option<Layout>) -> (HashIndex<Vec<u8>>, usize) {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = HashIndexWriter::new(dir.path(), budget);
        for chunk in entries.chunks(7) {
            writer.push(chunk.iter().copied()).unwrap();
        }
        let runs = writer.runs();
        let fields = entries.iter().map(|entry| entry.field as usize + 1).max().unwrap_or(0);
        let layout = layout.unwrap_or(Layout::for_fields(fields));
        let written = writer.finish(layout).unwrap();
        let (count, bits) = (written.entries, written.bits);
        let mut distinct: Vec<u64> = entries.iter().map(|entry| entry.fingerprint).collect();
        distinct.sort_unstable();
        distinct.dedup();
        let expected = if layout == Layout::Fingerprints {
            distinct.len()
        } else {
            entries.len()
        };
        assert_eq!(count as usize, expected);
        let read = |name| std::fs::read(dir.path().join(name)).unwrap();
        (
            HashIndex::new(read("hash.idx"), read("hash.dir"), bits, layout).unwrap(),
            runs,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn every_key_found_and_no_absent_key(keys in prop::collection::vec(any::<u64>(), 0..3000), absent in prop::collection::vec(any::<u64>(), 0..200), spill in any::<bool>(), fields in prop::sample::select(vec![3u32, 300, 70_000]), layout in prop::sample::select(vec![None, Some(Layout::Keys), Some(Layout::Fingerprints)])) {
            // Field ids of every width the postings layout has (1, 2 and 4 bytes), the keys
            // layout (the bucket's bits and 16 more, no field), distinct fingerprints alone.
            let entries: Vec<Entry> = keys.iter().enumerate().map(|(record, &fingerprint)| Entry { fingerprint, record: record as u32, field: (record as u32 * 7919) % fields }).collect();
            // A tiny budget forces spilled runs and the k-way merge.
            let budget = if spill { 1024 * 16 } else { 1 << 30 };
            let (index, runs) = build(&entries, budget, layout);
            prop_assert_eq!(runs > 0, spill && entries.len() >= 1024);
            let kept = index.layout.kept(index.bits);
            let stored = |entry: &Entry| match layout {
                None => *entry,
                Some(Layout::Keys) => Entry { fingerprint: entry.fingerprint & kept, record: entry.record, field: 0 },
                Some(_) => Entry { fingerprint: entry.fingerprint, record: 0, field: 0 },
            };
            for entry in &entries {
                prop_assert!(index.get(entry.fingerprint).any(|found| found == stored(entry)));
            }
            let mut queries: Vec<(u64, u32)> = keys.iter().chain(&absent).enumerate().map(|(position, &key)| (key, position as u32)).collect();
            queries.sort_unstable();
            let mut found = vec![0usize; queries.len()];
            index.probe_sorted(&queries, |query, entry| {
                assert_eq!(entry.fingerprint, queries.iter().find(|(_, position)| *position == query).unwrap().0 & kept);
                found[query as usize] += 1;
            });
            for (position, &key) in keys.iter().chain(&absent).enumerate() {
                let expected = keys.iter().filter(|&&other| other & kept == key & kept).count();
                let expected = if layout == Some(Layout::Fingerprints) { expected.min(1) } else { expected };
                prop_assert_eq!(found[position], expected);
            }
        }
    }

    /// Every layout reads back what it keeps of an entry at every directory size.
    #[test]
    fn entries_round_trip_at_every_directory_size() {
        let fingerprints = [
            0u64,
            u64::MAX,
            0x0123_4567_89ab_cdef,
            0xfedc_ba98_7654_3210,
            1 << 47,
            1 << 48,
        ];
        for bits in MIN_BITS..=MAX_BITS {
            for layout in [
                Layout::for_fields(3),
                Layout::for_fields(300),
                Layout::for_fields(70_000),
                Layout::Keys,
                Layout::Fingerprints,
            ] {
                assert!(layout == Layout::Keys || 8 * fingerprint_bytes(bits) as u32 + bits >= 64);
                for fingerprint in fingerprints {
                    let entry = Entry {
                        fingerprint,
                        record: 0xdead_beef,
                        field: 0xab,
                    };
                    let mut bytes = Vec::new();
                    layout.encode(entry, bits, &mut bytes);
                    assert_eq!(bytes.len(), layout.entry_bytes(bits), "{layout:?} at {bits} bits");
                    let bucket = (fingerprint >> (64 - bits)) as usize;
                    let read = layout.decode(&bytes, bucket, bits);
                    let kept = fingerprint & layout.kept(bits);
                    let expected = match layout {
                        Layout::Postings { .. } => entry,
                        Layout::Keys => Entry {
                            fingerprint: kept,
                            record: entry.record,
                            field: 0,
                        },
                        Layout::Fingerprints => Entry {
                            fingerprint,
                            record: 0,
                            field: 0,
                        },
                    };
                    assert_eq!(read, expected, "{layout:?} at {bits} bits");
                }
            }
        }
    }

    #[test]
    fn entries_sort_as_sort_unstable_does() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        // Uniform fingerprints, repeated ones (ties broken by record and field), and skewed ones
        // (all under a few top bits, one part holds most).
        let inputs: Vec<Vec<Entry>> = vec![
            (0..300_000)
                .map(|_| Entry {
                    fingerprint: next(),
                    record: next() as u32,
                    field: next() as u32 % 3,
                })
                .collect(),
            (0..200_000)
                .map(|index| Entry {
                    fingerprint: next() % 50,
                    record: index % 7,
                    field: index % 5,
                })
                .collect(),
            (0..150_000)
                .map(|_| Entry {
                    fingerprint: (next() >> 60 << 60) | (next() % 1000),
                    record: next() as u32,
                    field: 0,
                })
                .collect(),
            (0..1000)
                .map(|_| Entry {
                    fingerprint: next(),
                    record: 1,
                    field: 2,
                })
                .collect(),
            Vec::new(),
        ];
        for entries in inputs {
            let mut expected = entries.clone();
            expected.sort_unstable();
            let mut sorted = entries;
            sort_entries(&mut sorted);
            assert!(sorted == expected, "{} entries", expected.len());
        }
    }

    /// Past a million entries the directory has 16 bits or more and entries keep 48 bits of a
    /// fingerprint: every fingerprint still reads back whole, in all three layouts, and a
    /// fingerprint that differs only in bits the bucket holds is not found.
    #[test]
    fn large_indexes_keep_whole_fingerprints_in_narrower_entries() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let entries: Vec<Entry> = (0..1_100_000u32)
            .map(|record| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                Entry {
                    fingerprint: state,
                    record,
                    field: record % 5,
                }
            })
            .collect();
        for layout in [None, Some(Layout::Keys), Some(Layout::Fingerprints)] {
            let (index, _) = build(&entries, 1 << 30, layout);
            assert!(index.bits >= 16, "{} bits", index.bits);
            let expected_width = match layout {
                None | Some(Layout::Postings { .. }) => 11,
                Some(Layout::Keys) | Some(Layout::Fingerprints) => 6,
            };
            assert_eq!(index.layout.entry_bytes(index.bits), expected_width);
            let kept = index.layout.kept(index.bits);
            for entry in entries.iter().step_by(97) {
                let found: Vec<Entry> = index.get(entry.fingerprint).collect();
                let wanted = match layout {
                    None => *entry,
                    Some(Layout::Keys) => Entry {
                        fingerprint: entry.fingerprint & kept,
                        record: entry.record,
                        field: 0,
                    },
                    Some(_) => Entry {
                        fingerprint: entry.fingerprint,
                        record: 0,
                        field: 0,
                    },
                };
                assert!(found.contains(&wanted), "{entry:?} in {layout:?}: {found:?}");
                // The top bit flipped: another bucket, never this entry.
                let other = entry.fingerprint ^ (1 << 63);
                assert!(index.get(other).all(|found| found.record != entry.record
                    || layout == Some(Layout::Fingerprints) && found.fingerprint == other));
            }
        }
    }

    #[test]
    fn malformed_shapes_are_refused() {
        let layout = Layout::for_fields(1);
        assert_eq!(layout.entry_bytes(8), 12);
        // 257 directory words: the last (the end) says 1 entry.
        let mut directory = vec![0u8; 257 * 8];
        directory[256 * 8] = 1;
        assert!(HashIndex::new(vec![0u8; 11], directory.clone(), 8, layout).is_err());
        assert!(HashIndex::new(vec![0u8; 12], directory[8..].to_vec(), 8, layout).is_err());
        assert!(HashIndex::new(vec![0u8; 12], directory.clone(), 7, layout).is_err());
        assert!(
            HashIndex::new(vec![0u8; 24], directory.clone(), 8, layout).is_err(),
            "directory must end at 2"
        );
        assert!(HashIndex::new(vec![0u8; 12], directory, 8, layout).is_ok());
    }

    #[test]
    fn a_range_crosses_buckets_in_order() {
        let entries: Vec<Entry> = (0..5000u64)
            .map(|position| Entry {
                fingerprint: position.wrapping_mul(0x9e37_79b9_7f4a_7c15),
                record: position as u32,
                field: 0,
            })
            .collect();
        let (index, _) = build(&entries, 1 << 30, None);
        let (low, high) = (1u64 << 62, 3u64 << 62);
        let found: Vec<u64> = index.range(low, high).map(|entry| entry.fingerprint).collect();
        let mut expected: Vec<u64> = entries
            .iter()
            .map(|entry| entry.fingerprint)
            .filter(|fingerprint| (low..high).contains(fingerprint))
            .collect();
        expected.sort_unstable();
        assert_eq!(found, expected);
    }
}
