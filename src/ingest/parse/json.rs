//! JSON documents, not only JSON Lines: one array of objects (`[{…}, {…}]`), objects
//! pretty-printed over many lines one after another, or an object that wraps the records
//! (`{"data": [{…}, {…}], "count": 2}`). Every inner object is a record with its own line and
//! byte offset; a string or number directly in a top-level array is a record of one `value`, and
//! an array inside a record array (`"data": [[…], […]]`) a row whose values are named `col1…`.
//!
//! A document may be one value of many gigabytes, so it is never parsed whole. [`RecordsOnly`]
//! streams the file through a structural scanner (containers, strings, escapes) that blanks
//! every byte outside a record with a space — brackets, commas, wrapper keys and metadata —
//! keeping line ends, so offsets and line numbers stay those of the file. What is left is a
//! sequence of whole records separated by whitespace, which [`JsonDocumentParser`] cuts into
//! chunks and parses in parallel like JSON Lines. serde_json parses each record; the scanner is
//! ours because no streaming JSON crate here gives byte offsets of array elements without
//! building every value (and the wrapper's shape is only known from the first bytes).

use super::lines::{MAX_LINE_BYTES, flatten_json};
use super::{Chunk, ChunkParser, Cut, decode};
use crate::ingest::record::RawBatch;
use std::io::{self, Read};

/// Whether the objects at the top level of a document are records (objects one after another)
/// or wrap them (`{"data": [...]}`), decided from the document's first bytes: a first object
/// followed by another value is a record; a first object that is the whole sample, or the whole
/// file and holds an array of objects, wraps the records.
pub(crate) fn top_level_records(sample: &[u8], whole_file: bool) -> bool {
    let start = sample.iter().position(|byte| !byte.is_ascii_whitespace());
    let Some(start) = start.filter(|&start| sample[start] == b'{') else {
        return false;
    };
    let mut scanner = Scanner::default();
    let mut holds_record_array = false;
    for (position, &byte) in sample.iter().enumerate().skip(start) {
        let depth = scanner.depth;
        scanner.step(byte);
        // `[` then `{` below the top object: an array of objects.
        if byte == b'{' && depth >= 1 && scanner.in_array_at(depth) {
            holds_record_array = true;
        }
        if scanner.depth == 0 && !scanner.in_string.inside {
            let rest = &sample[position + 1..];
            let follows = rest.iter().any(|byte| !byte.is_ascii_whitespace());
            return follows || !(whole_file && holds_record_array);
        }
    }
    false
}

/// Whether a sample reads as a JSON document: it opens with `[` or `{`, its brackets balance as
/// far as they go, and an object with a quoted key comes early.
pub(crate) fn looks_like_json_document(sample: &[u8]) -> bool {
    let text = sample.trim_ascii_start();
    if !text.starts_with(b"[") && !text.starts_with(b"{") {
        return false;
    }
    let mut scanner = Scanner::default();
    let mut keyed_object = false;
    let mut previous = 0u8;
    for &byte in text {
        let in_string = scanner.in_string.inside;
        if !scanner.step(byte) {
            return false;
        }
        if !in_string && byte == b'"' && previous == b'{' {
            keyed_object = true;
        }
        // Outside strings JSON has only its punctuation, numbers, true, false and null: a log
        // line (`[2024-01-01 10:00] INFO {…}`) has more.
        if !in_string && !byte.is_ascii_whitespace() && !b"{}[],:\"0123456789+-.eEtrufalsn".contains(&byte) {
            return false;
        }
        if !in_string && !byte.is_ascii_whitespace() {
            previous = byte;
        }
    }
    keyed_object
}

/// Structural state of a JSON text: open containers, strings and escapes.
#[derive(Default)]
struct Scanner {
    /// Open containers; `true` for arrays.
    open: Vec<bool>,
    depth: usize,
    in_string: Strings,
}

/// Whether a JSON text is inside a string, and after a backslash there: the one place strings
/// and escapes are followed, by [`Scanner`] and [`RecordsOnly`] alike.
#[derive(Default)]
struct Strings {
    inside: bool,
    escaped: bool,
}

/// What a byte was to [`Strings::step`].
#[derive(PartialEq)]
enum InString {
    /// Not in a string: the caller reads the byte.
    No,
    /// Part of the string (an escape or a character).
    Content,
    /// The quote that closes it.
    Closed,
}

impl Strings {
    fn step(&mut self, byte: u8) -> InString {
        if !self.inside {
            return InString::No;
        }
        if self.escaped {
            self.escaped = false;
        } else if byte == b'\\' {
            self.escaped = true;
        } else if byte == b'"' {
            self.inside = false;
            return InString::Closed;
        }
        InString::Content
    }
}

impl Scanner {
    /// Advances over one byte; `false` when the brackets do not match.
    fn step(&mut self, byte: u8) -> bool {
        if self.in_string.step(byte) != InString::No {
            return true;
        }
        match byte {
            b'"' => self.in_string.inside = true,
            b'{' | b'[' => {
                self.open.push(byte == b'[');
                self.depth += 1;
            }
            b'}' | b']' => {
                if self.open.pop() != Some(byte == b']') {
                    return false;
                }
                self.depth -= 1;
            }
            _ => {}
        }
        true
    }

    /// Whether the container open at `depth` (1-based) is an array.
    fn in_array_at(&self, depth: usize) -> bool {
        depth >= 1 && self.open.get(depth - 1) == Some(&true)
    }
}

/// Keys whose arrays describe the records rather than hold them (`{"meta": {"view":
/// {"columns": [{…}]}}, "data": [...]}` as Socrata exports, `"errors": [{…}]` beside results):
/// an array of objects under one of them, at any depth, is no record array.
const METADATA_KEYS: &[&str] = &[
    "meta",
    "metadata",
    "schema",
    "columns",
    "fields",
    "errors",
    "warnings",
    "links",
    "pagination",
    "paging",
    "facets",
    "aggregations",
];

fn is_metadata_key(key: &[u8]) -> bool {
    let key = key.strip_prefix(b"_").unwrap_or(key);
    METADATA_KEYS
        .iter()
        .any(|metadata| metadata.as_bytes().eq_ignore_ascii_case(key))
}

/// A container open outside any record.
#[derive(Clone, Copy)]
struct Outer {
    array: bool,
    /// Under a metadata key: its objects are no records.
    metadata: bool,
}

/// A stream with every byte outside a record replaced by a space (line ends kept).
pub(crate) struct RecordsOnly<R> {
    source: R,
    outer: Vec<Outer>,
    /// The string being read outside records, when it may be a key (up to 16 bytes).
    key: Vec<u8>,
    /// The last key read outside records names metadata; its value has not begun yet.
    metadata_key: bool,
    /// Containers open inside the current record, `true` for arrays (empty: outside records).
    /// A closing bracket of the wrong type ends the record there: the record is rejected when
    /// parsed, and the next one is read as it should be.
    inner: Vec<bool>,
    /// Bytes still to write for the blanked character being replaced (see [`Self::blank`]).
    blanking: std::collections::VecDeque<u8>,
    in_string: Strings,
    /// Inside a scalar kept as a record (an element of the top-level array).
    in_scalar: bool,
    top_level_records: bool,
}

impl<R: Read> RecordsOnly<R> {
    pub fn new(source: R, top_level_records: bool) -> Self {
        RecordsOnly {
            source,
            outer: Vec::new(),
            key: Vec::new(),
            metadata_key: false,
            inner: Vec::new(),
            blanking: std::collections::VecDeque::new(),
            in_string: Strings::default(),
            in_scalar: false,
            top_level_records,
        }
    }

    /// Whether `byte` is kept, advancing the state over it.
    fn keep(&mut self, byte: u8) -> bool {
        match self.in_string.step(byte) {
            InString::No => {}
            InString::Closed => {
                self.in_scalar = false;
                return !self.inner.is_empty() || self.top_scalar();
            }
            InString::Content => {
                if self.inner.is_empty() && self.key.len() < 16 {
                    self.key.push(byte);
                }
                return !self.inner.is_empty() || self.in_scalar;
            }
        }
        if !self.inner.is_empty() {
            match byte {
                b'"' => self.in_string.inside = true,
                b'{' | b'[' => self.inner.push(byte == b'['),
                b'}' | b']' if self.inner.pop() != Some(byte == b']') => self.inner.clear(),
                _ => {}
            }
            return true;
        }
        if self.in_scalar {
            if byte.is_ascii_whitespace() || matches!(byte, b',' | b']') {
                self.in_scalar = false;
            } else {
                return true;
            }
        }
        let parent = self.outer.last().copied();
        match byte {
            b'{' if parent.is_some_and(|parent| parent.array && !parent.metadata)
                || (parent.is_none() && self.top_level_records) =>
            {
                self.inner.push(false);
                true
            }
            // An array of arrays (Socrata's `"data": [[…], […]]`, a top-level `[[…], […]]`):
            // each inner array is a row, its values named by position.
            b'[' if parent.is_some_and(|parent| parent.array && !parent.metadata) => {
                self.inner.push(true);
                true
            }
            b'{' | b'[' => {
                let metadata = std::mem::take(&mut self.metadata_key) || parent.is_some_and(|parent| parent.metadata);
                self.outer.push(Outer {
                    array: byte == b'[',
                    metadata,
                });
                false
            }
            b'}' | b']' => {
                self.outer.pop();
                false
            }
            b'"' => {
                self.in_string.inside = true;
                self.key.clear();
                self.in_scalar = self.top_scalar();
                self.in_scalar
            }
            _ if byte.is_ascii_whitespace() => true,
            b':' => {
                self.metadata_key = is_metadata_key(&self.key);
                false
            }
            b',' => {
                self.metadata_key = false;
                false
            }
            _ => {
                self.in_scalar = self.top_scalar();
                self.in_scalar
            }
        }
    }

    /// A scalar here would be an element of the top-level array.
    fn top_scalar(&self) -> bool {
        self.inner.is_empty() && self.outer.len() == 1 && self.outer[0].array
    }
}

impl<R: Read> RecordsOnly<R> {
    /// What a byte outside records is written as. Line ends stay, so line numbers do. A
    /// character of several bytes becomes blanks of as many bytes and as many UTF-16 code units
    /// (U+00A0, U+2000), so byte offsets stay exact in UTF-8 files and in UTF-16 files read as
    /// UTF-8 (see `parse::Width`); bytes that are no UTF-8 become spaces.
    fn blank(&mut self, byte: u8) -> u8 {
        if let Some(next) = self.blanking.pop_front() {
            if byte & 0xc0 == 0x80 {
                return next;
            }
            self.blanking.clear();
        }
        match byte {
            b'\n' | b'\r' => byte,
            0xc0..=0xdf => {
                self.blanking.push_back(0xa0);
                0xc2
            }
            0xe0..=0xef => {
                self.blanking.extend([0x80, 0x80]);
                0xe2
            }
            // Four bytes, two UTF-16 code units: two two-byte blanks.
            0xf0..=0xf7 => {
                self.blanking.extend([0xa0, 0xc2, 0xa0]);
                0xc2
            }
            _ => b' ',
        }
    }
}

impl<R: Read> Read for RecordsOnly<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.source.read(buf)?;
        for byte in &mut buf[..read] {
            if !self.keep(*byte) {
                *byte = self.blank(*byte);
            }
        }
        Ok(read)
    }
}

/// Blank between values as [`RecordsOnly`] leaves it: whitespace, or a blanked character.
fn blank(byte: u8) -> bool {
    byte.is_ascii_whitespace() || byte >= 0x80
}

/// Whole values separated by whitespace, as [`RecordsOnly`] leaves them: (start, end) of each,
/// and where an unfinished last one starts.
fn values(data: &[u8]) -> (Vec<(usize, usize)>, Option<usize>) {
    let mut found = Vec::new();
    let mut position = 0;
    while position < data.len() {
        let Some(skip) = data[position..].iter().position(|&byte| !blank(byte)) else {
            break;
        };
        let start = position + skip;
        let mut scanner = Scanner::default();
        let mut end = None;
        let container = matches!(data[start], b'{' | b'[');
        for (at, &byte) in data.iter().enumerate().skip(start) {
            let was_string = scanner.in_string.inside;
            // A closing bracket of the wrong type ends the value, as it ends a record.
            let matched = scanner.step(byte);
            let closed = if container {
                !matched || (scanner.depth == 0 && !scanner.in_string.inside)
            } else if data[start] == b'"' {
                at > start && was_string && !scanner.in_string.inside
            } else {
                data.get(at + 1).is_none_or(|&next| blank(next))
            };
            if closed {
                end = Some(at + 1);
                break;
            }
        }
        match end {
            Some(end) => {
                found.push((start, end));
                position = end;
            }
            None => return (found, Some(start)),
        }
    }
    (found, None)
}

pub(crate) struct JsonDocumentParser;

impl ChunkParser for JsonDocumentParser {
    fn cut(&self, buffer: &[u8], eof: bool) -> Option<Cut> {
        if eof && !buffer.is_empty() {
            return Some(Cut {
                end: buffer.len(),
                malformed_from: None,
            });
        }
        let (found, _) = values(buffer);
        // A scalar at the very end may go on in the next read.
        let whole = found.iter().rev().map(|&(_, end)| end).find(|&end| end < buffer.len());
        match whole {
            Some(end) => Some(Cut {
                end,
                malformed_from: None,
            }),
            _ if buffer.len() > MAX_LINE_BYTES => Some(Cut {
                end: buffer.len(),
                malformed_from: None,
            }),
            _ => None,
        }
    }

    fn parse(&self, chunk: &Chunk) -> RawBatch {
        let mut batch = RawBatch::for_chunk(chunk);
        let data = &chunk.data;
        let (found, unfinished) = values(data);
        let (mut line, mut counted) = (1u64, 0usize);
        let mut line_of = |at: usize| {
            line += memchr::memchr_iter(b'\n', &data[counted..at]).count() as u64;
            counted = at;
            line
        };
        let mut path = String::new();
        for (start, end) in found {
            let line = line_of(start);
            let (text, latin1) = decode(&data[start..end]);
            let first_value = batch.values.len();
            let repaired = match flatten_json(&text, true, &mut path, &mut batch) {
                Ok(repaired) => repaired,
                Err(error) => {
                    // serde counts lines from the record's first: say the file's line.
                    let at = chunk.base_line + line - 1 + error.line().max(1) as u64 - 1;
                    let reason = error.to_string();
                    let reason = reason.split(" at line ").next().unwrap_or(&reason);
                    batch.reject(
                        line,
                        start as u64,
                        format!("invalid JSON: {reason} (line {at}, column {})", error.column()),
                    );
                    continue;
                }
            };
            batch.finish_record(first_value, line, start as u64, latin1 || repaired);
        }
        if let Some(start) = unfinished {
            let line = line_of(start);
            batch.reject(line, start as u64, "invalid JSON: the record does not end");
        }
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records_only(text: &str) -> String {
        let top = top_level_records(text.as_bytes(), true);
        let mut out = String::new();
        RecordsOnly::new(text.as_bytes(), top).read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn only_records_are_left_and_offsets_stay() {
        let array = "[\n {\"a\": \"x]\"},\n {\"b\": [1, {\"c\": 2}]}\n]\n";
        let kept = records_only(array);
        assert_eq!(kept.len(), array.len());
        assert_eq!(kept, " \n {\"a\": \"x]\"} \n {\"b\": [1, {\"c\": 2}]}\n \n");
        let wrapped = "{\"meta\": {\"n\": 2}, \"data\": [{\"a\": 1}, {\"a\": \"{\\\"\"}], \"count\": 2}";
        let kept = records_only(wrapped);
        let (found, unfinished) = values(kept.as_bytes());
        let found: Vec<&str> = found.iter().map(|&(start, end)| &wrapped[start..end]).collect();
        assert_eq!(found, ["{\"a\": 1}", "{\"a\": \"{\\\"\"}"]);
        assert_eq!(unfinished, None);
        // Arrays of objects under metadata keys are no records.
        let socrata = "{\"meta\": {\"view\": {\"columns\": [{\"name\": \"mobile\"}]}}, \"data\": [{\"m\": 1}], \"_errors\": [{\"code\": 7}]}";
        let (found, _) = values(records_only(socrata).as_bytes());
        let found: Vec<&str> = found.iter().map(|&(start, end)| &socrata[start..end]).collect();
        assert_eq!(found, ["{\"m\": 1}"]);
        let concatenated = "{\n \"a\": [{\"x\": 1}]\n}\n{\n \"a\": 2\n}\n";
        assert!(top_level_records(concatenated.as_bytes(), true));
        assert_eq!(records_only(concatenated), concatenated);
        let scalars = "[\"a@b.in\", 98123, true]";
        let (found, _) = values(records_only(scalars).as_bytes());
        let found: Vec<&str> = found.iter().map(|&(start, end)| &scalars[start..end]).collect();
        assert_eq!(found, ["\"a@b.in\"", "98123", "true"]);
    }

    #[test]
    fn documents_are_told_from_other_text() {
        assert!(looks_like_json_document(b"[\n  {\n    \"name\": \"x\""));
        assert!(looks_like_json_document(b"{\"data\": [{\"a\": 1}]}"));
        assert!(!looks_like_json_document(b"[INFO] started\n"));
        assert!(!looks_like_json_document(b"{a}\n"));
        assert!(!looks_like_json_document(b"[1, 2]]"));
    }
}
