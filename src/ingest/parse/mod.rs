//! Parsers: one chunk of a file's bytes in, raw records with their locations out.
//!
//! Chunked formats (delimited, JSON Lines, combo, free text) are cut at record boundaries by a
//! cheap sequential scan and parsed in parallel. SQL dumps are lexed sequentially (a statement's
//! meaning depends on the `CREATE TABLE` and `COPY` before it) and only their normalization runs
//! in parallel.

mod delimited;
mod lines;
pub(crate) mod sql;

pub(crate) use delimited::DelimitedParser;
pub(crate) use lines::{ComboParser, JsonLinesParser, TextParser};

use crate::ingest::record::RawBatch;
use crate::ingest::source::decode_latin1;
use std::borrow::Cow;

/// A run of whole records from one file.
#[derive(Debug, Default)]
pub(crate) struct Chunk {
    pub data: Vec<u8>,
    /// 0 for the file's first chunk.
    pub index: usize,
    pub base_offset: u64,
    pub base_line: u64,
    /// Start (in `data`) of a last record that can never be completed (an unterminated quote).
    pub malformed_from: Option<usize>,
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
