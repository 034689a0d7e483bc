//! Parsers: one chunk of a file's bytes in, raw records with their locations out.
//!
//! Chunked formats (delimited, JSON Lines and documents, combo, free text) are cut at record boundaries by a
//! cheap sequential scan and parsed in parallel. SQL dumps are lexed sequentially (a statement's
//! meaning depends on the `CREATE TABLE` and `COPY` before it) and only their normalization runs
//! in parallel.

mod delimited;
mod json;
mod lines;
pub(crate) mod sql;

pub(crate) use delimited::DelimitedParser;
pub(crate) use json::{JsonDocumentParser, RecordsOnly, looks_like_json_document, top_level_records};
pub(crate) use lines::{ComboParser, JsonLinesParser, TextParser, identifiers_in};

use crate::ingest::record::RawBatch;
use crate::ingest::source::decode_latin1;
use std::borrow::Cow;

/// A run of whole records from one file.
#[derive(Debug, Default)]
pub(crate) struct Chunk {
    pub data: Vec<u8>,
    /// 0 for the file's first chunk.
    pub index: usize,
    /// Offset of `data[0]` in the file as stored (see [`Width`]).
    pub base_offset: u64,
    pub base_line: u64,
    /// Start (in `data`) of a last record that can never be completed (an unterminated quote).
    pub malformed_from: Option<usize>,
    pub width: Width,
}

/// How many stored bytes a span of the decoded (UTF-8) stream took in the file.
///
/// UTF-16 files are transcoded to UTF-8 before they are parsed, but a record's byte offset is
/// evidence: `tail -c +OFFSET` on the file as it lies on disk must land on the record. A UTF-16
/// file stores two bytes per code unit: one per character of the Basic Multilingual Plane, two
/// (a surrogate pair) per character above it; the UTF-8 decoder writes U+FFFD, one unit, for an
/// unpaired surrogate or a trailing odd byte, so counts stay exact for damaged files too.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Width {
    #[default]
    Utf8,
    Utf16,
}

impl Width {
    /// Stored bytes of `decoded`, which must start and end on character boundaries.
    pub fn stored(self, decoded: &[u8]) -> u64 {
        match self {
            Width::Utf8 => decoded.len() as u64,
            Width::Utf16 => {
                // A UTF-8 lead byte starts a character; a four-byte lead (0xF0..) one that
                // needs a surrogate pair.
                let units: usize = decoded
                    .iter()
                    .map(|&byte| usize::from(byte & 0xc0 != 0x80) + usize::from(byte >= 0xf0))
                    .sum();
                2 * units as u64
            }
        }
    }

    /// Restates the offsets of a batch parsed from `data` (relative to it, in decoded bytes) as
    /// stored bytes. Offsets within each list are ascending, so one pass over `data` suffices.
    pub fn restate(self, data: &[u8], batch: &mut RawBatch) {
        if self == Width::Utf8 {
            return;
        }
        let restate_all = |offsets: &mut dyn Iterator<Item = &mut u64>| {
            let (mut decoded, mut stored) = (0usize, 0u64);
            for offset in offsets {
                let at = (*offset as usize).min(data.len());
                if at < decoded {
                    (decoded, stored) = (0, 0);
                }
                stored += self.stored(&data[decoded..at]);
                decoded = at;
                *offset = stored;
            }
        };
        restate_all(&mut batch.records.iter_mut().map(|record| &mut record.offset));
        restate_all(&mut batch.rejects.iter_mut().map(|reject| &mut reject.offset));
    }
}

/// Where to cut a buffer: after `end` bytes; the record starting at `malformed_from` is broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cut {
    pub end: usize,
    pub malformed_from: Option<usize>,
}

/// A parser of one chunked format.
pub(crate) trait ChunkParser: Sync {
    /// The largest prefix of `buffer` that holds whole records, or `None` to read more.
    fn cut(&self, buffer: &[u8], eof: bool) -> Option<Cut>;
    /// Parses one chunk. Never panics, whatever the bytes.
    fn parse(&self, chunk: &Chunk) -> RawBatch;
}

/// Text of a field: UTF-8 as is, anything else decoded as Windows-1252 and flagged.
#[inline]
pub(crate) fn decode(bytes: &[u8]) -> (Cow<'_, str>, bool) {
    match std::str::from_utf8(bytes) {
        Ok(text) => (Cow::Borrowed(text), false),
        Err(_) => (Cow::Owned(decode_latin1(bytes)), true),
    }
}

impl RawBatch {
    pub(crate) fn for_chunk(chunk: &Chunk) -> Self {
        // Values take about as many bytes as the chunk and a field is rarely under 8 bytes with
        // its separator: reserving up front saves repeated growth and its page faults.
        RawBatch {
            base_line: chunk.base_line,
            base_offset: chunk.base_offset,
            arena: String::with_capacity(chunk.data.len()),
            values: Vec::with_capacity(chunk.data.len() / 8),
            records: Vec::with_capacity(chunk.data.len() / 64),
            ..RawBatch::default()
        }
    }
}
