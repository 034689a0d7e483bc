//! The record store: every record's location in a fixed-width array (read by every hit, so it
//! is never compressed) and its fields in small zstd-compressed blocks, read by `show`, the
//! full-text index and matching, which scores candidates by their normalized values.
//!
//! One store serves all three. Through format version 5 matching read a second store of the
//! normalized values alone, in LZ4 blocks of 64 records, for speed; the two held the same
//! values twice (77 and 69 B a record of the generator's corpora, 146 in all). Measured on
//! those corpora, raw and normalized values together in blocks of 64, 128 and 256 records
//! compress to 80, 73 and 68 B a record at zstd level 1 (76, 69 and 65 at level 3). Level 3
//! cost 1.1–1.7 CPU-s more of 15–16 in an ingest of 2.1M records (four of the generator's
//! files, with `perf`: its compression was 10% of all cycles), for 2.8 B a record less, so
//! blocks are compressed at level 1. Matching a large
//! suspect set reads nearly every block, so the store costs matching time the LZ4 values did
//! not: 20k suspects against 2.6M records took 1.04 s with the value store, 1.45 s from
//! blocks of 256 records (`cargo bench --bench provenance`), and `leakdex provenance` of 200k
//! suspects 7.2 s against 7.4 s, for 148 B a record of index against 241.
//!
//! `locations.bin`: per record its line, Latin-1 flag and byte offset, as narrow as the
//! segment's largest values allow ([`LocationLayout`], in the manifest): 5 bytes a record of a
//! segment of one-record-a-line files under 4 GiB, 6 with the generator's SQL dump among them
//! (2.6M records), 12 in format 6, 32 before format 3. Its file and ordinal come from its run
//! in `runs.bin`, where records of one file are consecutive.
//! `records.bin`: zstd frames, each a block of up to [`BLOCK_RECORDS`] consecutive records of a
//! batch (fewer when they pass [`BLOCK_TARGET_BYTES`]), postcard-encoded [`StoredRecord`]s back
//! to back.
//! `records.idx`: per block `(first record u64, byte offset u64)`, then `(records, total bytes)`.
//! `runs.bin`: per run of consecutive records from one file
//! `(file u32, pad u32, first record u64, first ordinal u64, count u64)`: every record's file and
//! ordinal, and the record at a (file, ordinal).

use serde::{Deserialize, Serialize};

/// Highest line and byte offset a location holds.
pub const MOST_LINE: u64 = (1 << 47) - 1;
pub const MOST_OFFSET: u64 = (1 << 48) - 1;
pub const BLOCK_INDEX_BYTES: usize = 16;
pub const RUN_BYTES: usize = 32;
/// Most records a block holds: matching decompresses a candidate's whole block (about 60 KiB of
/// the generator's records, 0.1 ms), and `show` one block.
pub const BLOCK_RECORDS: usize = 256;
/// Uncompressed bytes after which a block ends whatever its records: wide records (JSON
/// documents) make few to a block.
pub const BLOCK_TARGET_BYTES: usize = 64 << 10;
/// Longest value matching compares, in bytes: enough for every identifier and the start of an
/// address, and it bounds the cost of a string comparison.
pub const MAX_VALUE_BYTES: usize = 96;
/// Most values of one record matching compares.
pub const MAX_VALUES: usize = u8::MAX as usize;
/// Location flag: some text of the record was decoded as Windows-1252.
pub const FLAG_LATIN1: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredField {
    /// Index into the segment's field table (name and kind).
    pub field: u32,
    /// 0 valid, 1 partial, 2 invalid.
    pub validity: u8,
    pub raw: String,
    /// Absent when equal to `raw`.
    pub normalized: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRecord {
    pub fields: Vec<StoredField>,
}

/// Where a record came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoredLocation {
    pub file: u32,
    pub flags: u32,
    pub ordinal: u64,
    pub line: u64,
    pub offset: u64,
}

/// A location's first word: the record's line, shifted left past the Latin-1 flag. `None` past
/// [`MOST_LINE`].
pub fn line_word(line: u64, flags: u32) -> Option<u64> {
    (line <= MOST_LINE).then_some(line << 1 | u64::from(flags & FLAG_LATIN1 != 0))
}

/// A line word (see [`line_word`]) kept as the line's distance from the record's ordinal
/// (zigzag, for lines behind their ordinals), with the same flag. A line of a one-record-a-line
/// file is its ordinal, or one past it after a header, so this word of such records fits in a
/// byte; a SQL dump of many tuples a line is the other way round, and keeps its lines whole
/// (see [`LocationLayout`]). The ordinal is at most [`MOST_LINE`].
pub fn distance_word(word: u64, ordinal: u64) -> u64 {
    let distance = (word >> 1) as i64 - (ordinal & MOST_LINE) as i64;
    let zigzag = ((distance << 1) ^ (distance >> 63)) as u64;
    zigzag << 1 | (word & 1)
}

/// (line, flags) of a location's first word: a distance from `ordinal` when one is given (see
/// [`distance_word`]), the line itself when not.
pub fn line_of(word: u64, ordinal: Option<u64>) -> (u64, u32) {
    let flags = if word & 1 != 0 { FLAG_LATIN1 } else { 0 };
    let line = match ordinal {
        None => word >> 1,
        Some(ordinal) => {
            let zigzag = word >> 1;
            let distance = (zigzag >> 1) as i64 ^ -((zigzag & 1) as i64);
            ordinal.wrapping_add_signed(distance)
        }
    };
    (line & MOST_LINE, flags)
}

/// How a segment's locations are kept (`locations.bin`, format 7): per record its line word
/// in `line_bytes`, then its byte offset in `offset_bytes`, little-endian; each as narrow as the
/// segment's largest value allows, so a record's location stays at a fixed place
/// (`record × entry_bytes`) for a ranged read. A file's words are distances from ordinals
/// ([`distance_word`]) unless it is among `absolute_files`, whose lines are kept whole: each
/// file is kept the narrower way. One-record-a-line files under 4 GiB take 5 bytes a record
/// (1 + 4), where format 6 took 12.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationLayout {
    pub line_bytes: u8,
    pub offset_bytes: u8,
    /// Ids of the files whose lines are kept whole, ascending.
    #[serde(default)]
    pub absolute_files: Vec<u32>,
}

impl Default for LocationLayout {
    /// The widest: only a manifest that predates the field (format 6 and older, refused by
    /// their version) goes without one.
    fn default() -> Self {
        LocationLayout {
            line_bytes: 8,
            offset_bytes: 8,
            absolute_files: Vec::new(),
        }
    }
}

impl LocationLayout {
    /// The narrowest layout holding these largest values, each file's lines kept the narrower
    /// way: `most_words` gives, by file id, its largest word kept whole and kept as a distance.
    pub fn narrowest(most_words: &[[u64; 2]], most_offset: u64) -> Self {
        let bytes = |value: u64| ((64 - value.leading_zeros()).div_ceil(8)).max(1) as u8;
        let absolute_files: Vec<u32> = (0..most_words.len() as u32)
            .filter(|&file| most_words[file as usize][0] < most_words[file as usize][1])
            .collect();
        let most_line_word = most_words.iter().map(|[whole, distance]| *whole.min(distance)).max();
        LocationLayout {
            line_bytes: bytes(most_line_word.unwrap_or(0)),
            offset_bytes: bytes(most_offset),
            absolute_files,
        }
    }

    /// Whether a file's lines are kept whole (else as distances from ordinals).
    pub fn absolute(&self, file: u32) -> bool {
        self.absolute_files.binary_search(&file).is_ok()
    }

    /// Bytes of one record's location.
    pub fn entry_bytes(&self) -> usize {
        usize::from(self.line_bytes) + usize::from(self.offset_bytes)
    }

    /// Errors: a width outside 1 to 8 bytes, or files of whole lines out of order (a damaged
    /// manifest).
    pub fn check(&self) -> Result<(), String> {
        if !self.absolute_files.is_sorted_by(|a, b| a < b) {
            return Err("the files of whole lines are not in ascending order".into());
        }
        if (1..=8).contains(&self.line_bytes) && (1..=8).contains(&self.offset_bytes) {
            Ok(())
        } else {
            Err(format!(
                "locations of {} + {} bytes: each must be 1 to 8",
                self.line_bytes, self.offset_bytes
            ))
        }
    }

    /// Appends a location; the values must fit (see [`LocationLayout::narrowest`]).
    pub fn put(&self, line_word: u64, offset: u64, out: &mut Vec<u8>) {
        out.extend_from_slice(&line_word.to_le_bytes()[..usize::from(self.line_bytes)]);
        out.extend_from_slice(&offset.to_le_bytes()[..usize::from(self.offset_bytes)]);
    }

    /// (line word, byte offset) of an entry (zeros if it is short).
    pub fn get(&self, bytes: &[u8]) -> (u64, u64) {
        let word = |at: usize, width: u8| {
            let mut word = [0u8; 8];
            if let Some(part) = bytes.get(at..at + usize::from(width)) {
                word[..part.len()].copy_from_slice(part);
            }
            u64::from_le_bytes(word)
        };
        let line_bytes = usize::from(self.line_bytes);
        (word(0, self.line_bytes), word(line_bytes, self.offset_bytes))
    }
}

pub fn u32_at(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..at + 4)
        .and_then(|slice| slice.try_into().ok())
        .map_or(0, u32::from_le_bytes)
}

pub fn u64_at(bytes: &[u8], at: usize) -> u64 {
    bytes
        .get(at..at + 8)
        .and_then(|slice| slice.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

/// A run of consecutive records of one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    pub file: u32,
    pub first_record: u64,
    pub first_ordinal: u64,
    pub count: u64,
}

impl Run {
    pub fn to_bytes(self) -> [u8; RUN_BYTES] {
        let mut bytes = [0u8; RUN_BYTES];
        bytes[..4].copy_from_slice(&self.file.to_le_bytes());
        bytes[8..16].copy_from_slice(&self.first_record.to_le_bytes());
        bytes[16..24].copy_from_slice(&self.first_ordinal.to_le_bytes());
        bytes[24..].copy_from_slice(&self.count.to_le_bytes());
        bytes
    }

    pub fn from_bytes(bytes: &[u8]) -> Run {
        Run {
            file: u32_at(bytes, 0),
            first_record: u64_at(bytes, 8),
            first_ordinal: u64_at(bytes, 16),
            count: u64_at(bytes, 24),
        }
    }
}

/// A field borrowed from a batch or a [`StoredField`], written by [`BlockEncoder`] exactly as
/// postcard encodes [`StoredField`], so writing a segment allocates no string per field.
#[derive(Clone, Copy, Debug)]
pub struct StoredFieldRef<'a> {
    pub field: u32,
    pub validity: u8,
    pub raw: &'a str,
    pub normalized: Option<&'a str>,
}

impl<'a> From<&'a StoredField> for StoredFieldRef<'a> {
    fn from(field: &'a StoredField) -> Self {
        StoredFieldRef {
            field: field.field,
            validity: field.validity,
            raw: &field.raw,
            normalized: field.normalized.as_deref(),
        }
    }
}

/// The block holding `record`, in a block index of (first record u64, byte offset u64) entries
/// ending with a (records, total bytes) sentinel (`records.idx`): the block's
/// number, its first record and its bytes' range. `None` if the index has no such record.
pub fn find_block(index: &[u8], record: u64) -> Option<(usize, u64, std::ops::Range<usize>)> {
    let blocks = (index.len() / BLOCK_INDEX_BYTES).checked_sub(1)?;
    let first_of = |block: usize| u64_at(index, block * BLOCK_INDEX_BYTES);
    let offset_of = |block: usize| u64_at(index, block * BLOCK_INDEX_BYTES + 8) as usize;
    if blocks == 0 || record >= first_of(blocks) {
        return None;
    }
    let block = last_starting_by(blocks, first_of, record)?;
    Some((block, first_of(block), offset_of(block)..offset_of(block + 1)))
}

/// Of `count` entries whose first records (`first_of`) ascend, the last one starting at or
/// before `record` (a block of records.idx, a run of runs.bin).
pub fn last_starting_by(count: usize, first_of: impl Fn(usize) -> u64, record: u64) -> Option<usize> {
    // Entries `..low` start at or before `record`, entries `high..` after it.
    let (mut low, mut high) = (0, count);
    while low < high {
        let middle = (low + high) / 2;
        if first_of(middle) <= record {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    low.checked_sub(1)
}

/// Most bytes a block decompresses to, whatever a damaged frame header claims.
const MOST_BLOCK_BYTES: usize = 64 << 20;

/// Decompresses a record block (at most 64 MiB, whatever a damaged frame header claims) into
/// `out`, replacing what it held and reusing its allocation. A thread keeps its zstd context:
/// making one costs more than decompressing a block.
pub fn decompress_block_into(bytes: &[u8], out: &mut Vec<u8>) -> std::io::Result<()> {
    thread_local! {
        static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
            const { std::cell::RefCell::new(None) };
    }
    let size = zstd::bulk::Decompressor::upper_bound(bytes)
        .filter(|size| *size <= MOST_BLOCK_BYTES)
        .ok_or_else(|| std::io::Error::other("a block that does not say its size or claims more than 64 MiB"))?;
    out.clear();
    out.reserve(size);
    DECOMPRESSOR.with(|cell| {
        let mut cell = cell.borrow_mut();
        let decompressor = match cell.as_mut() {
            Some(decompressor) => decompressor,
            None => cell.insert(zstd::bulk::Decompressor::new()?),
        };
        decompressor.decompress_to_buffer(bytes, out).map(|_| ())
    })
}

/// Decompresses a record block into a new buffer (see [`decompress_block_into`]).
pub fn decompress_block(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut plain = Vec::new();
    decompress_block_into(bytes, &mut plain)?;
    Ok(plain)
}

/// Compression level of record blocks (see the module's figures).
const BLOCK_LEVEL: i32 = 1;

/// Writes records into blocks of at most [`BLOCK_RECORDS`], fewer when they pass
/// [`BLOCK_TARGET_BYTES`], each compressed on its own (`records.bin`).
///
/// Records are written in postcard's layout of [`StoredRecord`] (see [`skip_record`]) by hand:
/// postcard's serializer pushed strings a byte at a time, 4.6% of an ingest's CPU
/// (perf, 2.1M records of the generator's corpora). The tests decode what this writes with
/// postcard.
#[derive(Default)]
pub struct BlockEncoder {
    plain: Vec<u8>,
    count: u64,
    blocks: Vec<(u64, Vec<u8>)>,
}

impl BlockEncoder {
    /// Appends a record of `fields`. Errors: the block could not be compressed.
    pub fn record<'a>(&mut self, fields: impl ExactSizeIterator<Item = StoredFieldRef<'a>>) -> std::io::Result<()> {
        put_varint(&mut self.plain, fields.len() as u64);
        for field in fields {
            put_varint(&mut self.plain, u64::from(field.field));
            self.plain.push(field.validity);
            put_str(&mut self.plain, field.raw);
            match field.normalized {
                None => self.plain.push(0),
                Some(normalized) => {
                    self.plain.push(1);
                    put_str(&mut self.plain, normalized);
                }
            }
        }
        self.count += 1;
        if self.count as usize == BLOCK_RECORDS || self.plain.len() >= BLOCK_TARGET_BYTES {
            self.close_block()?;
        }
        Ok(())
    }

    /// The blocks: (records in block, compressed bytes).
    pub fn finish(mut self) -> std::io::Result<Vec<(u64, Vec<u8>)>> {
        if self.count > 0 {
            self.close_block()?;
        }
        Ok(self.blocks)
    }

    fn close_block(&mut self) -> std::io::Result<()> {
        thread_local! {
            static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
                const { std::cell::RefCell::new(None) };
        }
        // A thread keeps its zstd context: making one took 0.9% of an ingest's CPU.
        let bytes = COMPRESSOR.with(|cell| {
            let mut cell = cell.borrow_mut();
            let compressor = match cell.as_mut() {
                Some(compressor) => compressor,
                None => cell.insert(zstd::bulk::Compressor::new(BLOCK_LEVEL)?),
            };
            compressor.compress(&self.plain)
        })?;
        self.blocks.push((self.count, bytes));
        self.plain.clear();
        self.count = 0;
        Ok(())
    }
}

/// Appends a postcard varint (LEB128).
fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Appends a postcard string: its length as a varint, then its bytes.
fn put_str(out: &mut Vec<u8>, text: &str) {
    put_varint(out, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}

/// A postcard varint (LEB128, at most 10 bytes) and the bytes after it.
fn varint(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (position, byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * position);
        if byte & 0x80 == 0 {
            return Some((value, &bytes[position + 1..]));
        }
    }
    None
}

/// The bytes after the record at the start of `bytes`, read by its lengths alone: a record is
/// postcard's encoding of [`StoredRecord`] (field count; per field a varint id, a validity byte,
/// a length-prefixed raw value, and an optional length-prefixed normalized one). Passing the
/// records before the one shown this way, rather than decoding them, halves the cost of
/// reading a record (perf, `cargo bench --bench search`). `None` if the record is cut short.
fn skip_record(bytes: &[u8]) -> Option<&[u8]> {
    let (fields, mut rest) = varint(bytes)?;
    for _ in 0..fields {
        let (_, after_id) = varint(rest)?;
        let (length, after_length) = varint(after_id.get(1..)?)?;
        rest = after_length.get(usize::try_from(length).ok()?..)?;
        let (&present, after_tag) = rest.split_first()?;
        rest = match present {
            0 => after_tag,
            1 => {
                let (length, after_length) = varint(after_tag)?;
                after_length.get(usize::try_from(length).ok()?..)?
            }
            _ => return None,
        };
    }
    Some(rest)
}

/// A postcard string (a varint length, UTF-8 bytes) and the bytes after it.
fn string(bytes: &[u8]) -> Option<(&str, &[u8])> {
    let (length, after) = varint(bytes)?;
    let length = usize::try_from(length).ok()?;
    Some((std::str::from_utf8(after.get(..length)?).ok()?, &after[length..]))
}

/// Where each record of a decompressed block starts, and where the last ends, into `out`
/// (replacing what it held): record `i` is `plain[out[i]..out[i + 1]]`. Stops at a record cut
/// short, so `out` then holds fewer records than the block.
pub fn record_bounds(plain: &[u8], out: &mut Vec<usize>) {
    out.clear();
    out.push(0);
    let mut rest = plain;
    while !rest.is_empty() {
        let Some(after) = skip_record(rest) else { break };
        rest = after;
        out.push(plain.len() - rest.len());
    }
}

/// The fields of one record's bytes (see [`record_bounds`]), borrowed, without decoding the
/// record into strings of its own; ends early at bytes that do not decode.
pub fn fields_in(record: &[u8]) -> impl Iterator<Item = StoredFieldRef<'_>> {
    let (count, mut rest) = varint(record).unwrap_or((0, &[]));
    (0..count).map_while(move |_| {
        let (field, after_id) = varint(rest)?;
        let (&validity, after_validity) = after_id.split_first()?;
        let (raw, after_raw) = string(after_validity)?;
        let (&present, after_tag) = after_raw.split_first()?;
        let (normalized, after) = match present {
            0 => (None, after_tag),
            1 => string(after_tag).map(|(normalized, after)| (Some(normalized), after))?,
            _ => return None,
        };
        rest = after;
        Some(StoredFieldRef {
            field: u32::try_from(field).ok()?,
            validity,
            raw,
            normalized,
        })
    })
}

/// Whether a value can serve as matching evidence. Short numbers and flags of unclassified fields
/// (quantities, prices, `true`) agree by chance and would only cost comparisons.
pub fn worth_keeping(kind: crate::ingest::Kind, value: &str) -> bool {
    kind != crate::ingest::Kind::Other
        || !(value.len() <= 4 && value.bytes().all(|byte| byte.is_ascii_digit() || byte == b'.')
            || matches!(value, "true" | "false" | "null" | "yes" | "no"))
}

/// `value` cut to at most `most_bytes` on a character boundary.
pub fn cut_value(value: &str, most_bytes: usize) -> &str {
    &value[..value.floor_char_boundary(most_bytes)]
}

/// Decodes the `index`-th record of a decompressed block.
pub fn decode_from_block(plain: &[u8], index: u64) -> Result<StoredRecord, String> {
    let mut rest = plain;
    for skipped in 0..index {
        rest = skip_record(rest).ok_or_else(|| format!("record {skipped} of its block is cut short"))?;
    }
    postcard::take_from_bytes::<StoredRecord>(rest)
        .map(|(record, _)| record)
        .map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_round_trip() {
        let records: Vec<StoredRecord> = (0..5000)
            .map(|index| StoredRecord {
                fields: (0..index % 3)
                    .map(|field| StoredField {
                        field: index % 4 + field * 300,
                        validity: (field % 3) as u8,
                        raw: format!("value {index} {}", "x".repeat((index as usize * 7) % 300)),
                        normalized: (index % 2 == 0).then(|| format!("नाम {index}")),
                    })
                    .collect(),
            })
            .collect();
        let mut encoder = BlockEncoder::default();
        for record in &records {
            encoder.record(record.fields.iter().map(StoredFieldRef::from)).unwrap();
        }
        let blocks = encoder.finish().unwrap();
        assert!(blocks.len() > 1);
        let mut first = 0;
        for (count, bytes) in &blocks {
            assert!(*count as usize <= BLOCK_RECORDS);
            let plain = decompress_block(bytes).unwrap();
            assert_eq!(plain, zstd::bulk::decompress(bytes, 1 << 24).unwrap());
            let postcard: Vec<u8> = records[first as usize..(first + count) as usize]
                .iter()
                .flat_map(|record| postcard::to_allocvec(record).unwrap())
                .collect();
            assert_eq!(plain, postcard, "written as postcard writes it");
            let mut bounds = vec![7];
            record_bounds(&plain, &mut bounds);
            assert_eq!(bounds.len() as u64, count + 1);
            for index in 0..*count {
                let expected = &records[(first + index) as usize];
                assert_eq!(&decode_from_block(&plain, index).unwrap(), expected);
                let record = &plain[bounds[index as usize]..bounds[index as usize + 1]];
                let borrowed: Vec<StoredField> = fields_in(record)
                    .map(|field| StoredField {
                        field: field.field,
                        validity: field.validity,
                        raw: field.raw.to_string(),
                        normalized: field.normalized.map(str::to_string),
                    })
                    .collect();
                assert_eq!(borrowed, expected.fields);
            }
            record_bounds(&plain[..plain.len() - 1], &mut bounds);
            assert_eq!(bounds.len() as u64, *count, "a record cut short is no record");
            first += count;
        }
        assert_eq!(first, 5000);
        let mut reused = vec![1; 3];
        assert!(decompress_block_into(&blocks[0].1[..10], &mut reused).is_err());
        assert!(decompress_block_into(b"not a zstd frame", &mut reused).is_err());
        assert_eq!(cut_value(&"ग".repeat(40), MAX_VALUE_BYTES).len(), 96);
        assert_eq!(cut_value(&"ग".repeat(40), 97).len(), 96, "never inside a character");
        assert_eq!(cut_value("short", MAX_VALUE_BYTES), "short");
        for (line, ordinal, offset, flags) in [
            (12, 11, 345, FLAG_LATIN1),
            (1, 1, 0, 0),
            (3, 9_000, 77, 0),
            (MOST_LINE, 1, MOST_OFFSET, 0),
            (1, MOST_LINE, 5, FLAG_LATIN1),
            (0, 0, 0, FLAG_LATIN1),
        ] {
            let word = line_word(line, flags).unwrap();
            assert_eq!(line_of(word, None), (line, flags));
            let distance = distance_word(word, ordinal);
            assert_eq!(line_of(distance, Some(ordinal)), (line, flags));
            let layout = LocationLayout::narrowest(&[[word, distance]], offset);
            layout.check().unwrap();
            let kept = if layout.absolute(0) { word } else { distance };
            assert_eq!(kept, word.min(distance), "each file the narrower way");
            let mut entry = Vec::new();
            layout.put(kept, offset, &mut entry);
            assert_eq!(entry.len(), layout.entry_bytes());
            assert_eq!(layout.get(&entry), (kept, offset));
        }
        let header = line_word(2, 0).unwrap();
        assert_eq!(distance_word(header, 1), 0b100, "a line after a header is a byte");
        let sql = line_word(41, 0).unwrap();
        assert!(
            distance_word(sql, 20_000) > sql,
            "a SQL line of many tuples is kept whole"
        );
        let layout = LocationLayout::narrowest(&[[0x1fe, 0x300], [0x4, 0x1_0000], [0x7, 0x7]], 0xffff_ffff);
        assert_eq!(
            (layout.absolute_files.as_slice(), layout.entry_bytes()),
            ([0, 1].as_slice(), 6)
        );
        assert!(layout.absolute(0) && layout.absolute(1) && !layout.absolute(2));
        assert_eq!(
            LocationLayout::narrowest(&[[0x100, 0x100]], 0x1_0000_0000).entry_bytes(),
            7
        );
        assert_eq!(LocationLayout::narrowest(&[], 0).entry_bytes(), 2);
        assert!(line_word(MOST_LINE + 1, 0).is_none());
        for bad in [(0, 4), (4, 9)] {
            let layout = LocationLayout {
                line_bytes: bad.0,
                offset_bytes: bad.1,
                absolute_files: Vec::new(),
            };
            assert!(layout.check().is_err());
        }
        let run = Run {
            file: 2,
            first_record: 7,
            first_ordinal: 1,
            count: 99,
        };
        assert_eq!(Run::from_bytes(&run.to_bytes()), run);
    }
}
