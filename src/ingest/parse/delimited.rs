//! CSV, TSV, pipe- and semicolon-separated files, with RFC 4180 quoting (quoted delimiters and
//! newlines, doubled quotes), parsed by the `csv` crate.

use super::{Chunk, ChunkParser, Cut, decode};
use crate::ingest::record::RawBatch;
use std::io::Read;

/// A quoted field still open after this many bytes is taken to be a stray quote: the record is
/// rejected and parsing resumes on the next line, so one bad quote cannot swallow a file.
pub(crate) const MAX_QUOTED_BYTES: usize = 1 << 20;

/// The last record boundary in `buffer`: a newline outside quotes. Mirrors the csv crate's rule
/// that a quote opens a quoted field only at the start of a field.
pub(crate) fn split_delimited(buffer: &[u8], delimiter: u8, eof: bool) -> Option<Cut> {
    let mut position = 0;
    let mut boundary = None;
    while let Some(found) = memchr::memchr2(b'"', b'\n', &buffer[position..]) {
        let at = position + found;
        if buffer[at] == b'\n' {
            boundary = Some(at + 1);
            position = at + 1;
            continue;
        }
        let field_start = at == 0 || matches!(buffer[at - 1], b'\n' | b'\r') || buffer[at - 1] == delimiter;
        if !field_start {
            position = at + 1;
            continue;
        }
        match closing_quote(buffer, at + 1) {
            Some(close) => position = close + 1,
            None if eof || buffer.len() - at > MAX_QUOTED_BYTES => {
                // Unterminated: cut after the line holding the opening quote and reject it.
                let record_start = boundary.unwrap_or(0);
                let end = memchr::memchr(b'\n', &buffer[at..]).map_or(buffer.len(), |newline| at + newline + 1);
                return Some(Cut {
                    end,
                    malformed_from: Some(record_start),
                });
            }
            None => {
                return boundary.map(|end| Cut {
                    end,
                    malformed_from: None,
                });
            }
        }
    }
    if eof && !buffer.is_empty() {
        return Some(Cut {
            end: buffer.len(),
            malformed_from: None,
        });
    }
    boundary.map(|end| Cut {
        end,
        malformed_from: None,
    })
}

/// Position of the quote closing a quoted field whose content starts at `from`, or `None` if the
/// buffer ends first (including a final quote that may be the first half of a doubled quote).
fn closing_quote(buffer: &[u8], from: usize) -> Option<usize> {
    let mut position = from;
    loop {
        let quote = position + memchr::memchr(b'"', &buffer[position..])?;
        match buffer.get(quote + 1) {
            Some(b'"') => position = quote + 2,
            Some(_) => return Some(quote),
            None => return None,
        }
    }
}

pub(crate) struct DelimitedParser {
    pub delimiter: u8,
    pub columns: Vec<String>,
    /// Whether the file's first record is a header (skipped as data).
    pub header: bool,
}

impl ChunkParser for DelimitedParser {
    fn cut(&self, buffer: &[u8], eof: bool) -> Option<Cut> {
        // A closing quote at the very end of a file is final.
        let cut = split_delimited(buffer, self.delimiter, eof)?;
        Some(cut)
    }

    fn parse(&self, chunk: &Chunk) -> RawBatch {
        let mut batch = RawBatch::for_chunk(chunk);
        batch.columns = self.columns.clone();
        let expected = self.columns.len();
        // The csv crate drops a UTF-8 byte-order mark at the start of what it reads, and it cannot
        // be told not to. The file's own mark is gone before parsing, so one here is data (U+FEFF
        // opening a record), which a chunk boundary must not erase: a blank line read first keeps
        // it, and positions are taken back by that line.
        let shifted = u64::from(chunk.data.starts_with(b"\xef\xbb\xbf"));
        let blank: &[u8] = if shifted == 1 { b"\n" } else { b"" };
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(self.delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(blank.chain(chunk.data.as_slice()));
        // A position in the chunk; one before the blank line is the chunk's start.
        let unshift = |position: &csv::Position| {
            (
                position.line().saturating_sub(shifted).max(1),
                position.byte().saturating_sub(shifted),
            )
        };
        let mut record = csv::ByteRecord::new();
        let mut first = true;
        loop {
            match reader.read_byte_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(error) => {
                    let (line, offset) = error.position().map_or((1, 0), unshift);
                    batch.reject(line, offset, format!("unreadable record: {error}"));
                    break;
                }
            }
            let Some(position) = record.position() else { continue };
            // The csv crate places a record where the previous one's terminator began to be
            // read: at the `\n` of a CRLF, or before blank lines. Evidence must point at the
            // record's first byte, so step over line terminators.
            let (mut line, mut offset) = unshift(position);
            while let Some(&byte @ (b'\r' | b'\n')) = chunk.data.get(offset as usize) {
                line += u64::from(byte == b'\n');
                offset += 1;
            }
            let skip_header = first && chunk.index == 0 && self.header;
            first = false;
            if skip_header {
                continue;
            }
            if chunk.malformed_from.is_some_and(|from| offset as usize >= from) {
                batch.reject(line, offset, "unterminated quoted field");
                break;
            }
            if record.len() == 1 && record[0].iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let extra_empty = record.iter().skip(expected).all(|field| field.is_empty());
            if record.len() < expected || !extra_empty {
                batch.reject(
                    line,
                    offset,
                    format!("expected {expected} fields, found {}", record.len()),
                );
                continue;
            }
            let first_value = batch.values.len();
            let mut latin1 = false;
            // One UTF-8 check per record, not per field: fields are slices of it. A field that
            // is no slice on character boundaries (bytes that are UTF-8 only once joined) is
            // decoded on its own.
            let joined = std::str::from_utf8(record.as_slice()).ok();
            for (column, bytes) in record.iter().take(expected).enumerate() {
                if bytes.is_empty() {
                    continue;
                }
                let field = joined.and_then(|joined| joined.get(record.range(column)?));
                let (text, fallback) = match field {
                    Some(field) => (std::borrow::Cow::Borrowed(field), false),
                    None => decode(bytes),
                };
                latin1 |= fallback;
                batch.push_value(column as u32, None, &text);
            }
            batch.finish_record(first_value, line, offset, latin1);
        }
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(data: &[u8], columns: usize, header: bool) -> RawBatch {
        let parser = DelimitedParser {
            delimiter: b',',
            columns: (1..=columns).map(|i| format!("c{i}")).collect(),
            header,
        };
        let cut = parser.cut(data, true).unwrap();
        let chunk = Chunk {
            data: data[..cut.end].to_vec(),
            malformed_from: cut.malformed_from,
            ..Chunk::default()
        };
        parser.parse(&chunk)
    }

    fn values(batch: &RawBatch, record: usize) -> Vec<&str> {
        let range = batch.records[record].values.clone();
        batch.values[range.start as usize..range.end as usize]
            .iter()
            .map(|value| batch.value_text(value))
            .collect()
    }

    #[test]
    fn quoting_rfc4180() {
        let data = b"h1,h2,h3\n\"Sharma, Rahul\",\"line1\nline2\",\"say \"\"hi\"\"\"\nx,y,z\n";
        let batch = parse(data, 3, true);
        assert_eq!(batch.records.len(), 2);
        assert_eq!(values(&batch, 0), ["Sharma, Rahul", "line1\nline2", "say \"hi\""]);
        assert_eq!((batch.records[1].line, batch.records[1].offset), (4, 52));
        assert!(batch.rejects.is_empty());
    }

    #[test]
    fn locations_skip_crlf_and_blank_lines() {
        let batch = parse(b"a,b\r\nc,d\r\n\r\ne,f\n\n\ng,h", 2, false);
        let starts: Vec<(u64, u64)> = batch
            .records
            .iter()
            .map(|record| (record.line, record.offset))
            .collect();
        assert_eq!(starts, [(1, 0), (2, 5), (4, 12), (7, 18)]);
    }

    #[test]
    fn a_byte_order_mark_opening_a_chunk_is_data() {
        // U+FEFF is three bytes in UTF-8; a chunk may start right at one in the middle of a file.
        let batch = parse(
            "\u{feff}Rahul,9812345678\r\n\u{feff}Priya,9876543210\nx\n".as_bytes(),
            2,
            false,
        );
        assert_eq!(values(&batch, 0), ["\u{feff}Rahul", "9812345678"]);
        assert_eq!(values(&batch, 1), ["\u{feff}Priya", "9876543210"]);
        let starts: Vec<(u64, u64)> = batch
            .records
            .iter()
            .map(|record| (record.line, record.offset))
            .collect();
        assert_eq!(starts, [(1, 0), (2, 21)]);
        assert_eq!((batch.rejects[0].line, batch.rejects[0].offset), (3, 41));
    }

    #[test]
    fn wrong_field_count_is_rejected_with_location() {
        let batch = parse(b"a,b\nc\nd,e,\nf,g,h\n", 2, false);
        assert_eq!(batch.records.len(), 2, "trailing empty field is tolerated");
        assert_eq!(batch.rejects.len(), 2);
        assert_eq!((batch.rejects[0].line, batch.rejects[0].offset), (2, 4));
        assert_eq!(batch.rejects[0].reason, "expected 2 fields, found 1");
    }

    #[test]
    fn unterminated_quote_is_rejected_and_parsing_resumes() {
        let data = b"a,b\n\"broken,c\nd,e\n";
        let cut = split_delimited(data, b',', true).unwrap();
        assert_eq!(
            cut,
            Cut {
                end: 14,
                malformed_from: Some(4)
            }
        );
        let batch = parse(&data[..], 2, false);
        assert_eq!(batch.records.len(), 1);
        assert_eq!(batch.rejects[0].reason, "unterminated quoted field");
        let rest = parse(&data[14..], 2, false);
        assert_eq!(values(&rest, 0), ["d", "e"]);
    }

    #[test]
    fn cut_waits_for_closing_quote() {
        assert_eq!(
            split_delimited(b"a,b\n\"x\ny", b',', false),
            Some(Cut {
                end: 4,
                malformed_from: None
            })
        );
        assert_eq!(split_delimited(b"\"x\ny", b',', false), None);
        assert_eq!(split_delimited(b"a,\"b\"\"", b',', false), None);
        assert_eq!(
            split_delimited(b"a,\"b\"\"\"\n", b',', false),
            Some(Cut {
                end: 8,
                malformed_from: None
            })
        );
        // A quote inside an unquoted field is a literal.
        assert_eq!(
            split_delimited(b"5'10\",x\ny", b',', false),
            Some(Cut {
                end: 8,
                malformed_from: None
            })
        );
    }

    #[test]
    fn latin1_fields_are_decoded_and_flagged() {
        let batch = parse(b"Jos\xe9,1\n", 2, false);
        assert_eq!(values(&batch, 0), ["José", "1"]);
        assert!(batch.records[0].latin1);
    }
}
