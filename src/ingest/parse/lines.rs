//! Line-oriented formats: JSON Lines, combo lists and free text.

use super::{Chunk, ChunkParser, Cut, decode};
use crate::ingest::classify::{classify_value, kind_from_header, value_candidates};
use crate::ingest::kind::Kind;
use crate::ingest::normalize::{Region, is_driving_licence, is_password_hash, verhoeff_valid};
use crate::ingest::record::RawBatch;
use crate::ingest::sniff::{combo_split, ulp_split};
use regex::Regex;
use serde_json::Value;
use std::ops::Range;
use std::sync::LazyLock;

/// A line longer than this is cut where it stands (and will likely be rejected).
pub(super) const MAX_LINE_BYTES: usize = 64 << 20;

/// The last newline of `buffer`.
pub(crate) fn split_lines(buffer: &[u8], eof: bool) -> Option<Cut> {
    if eof && !buffer.is_empty() {
        return Some(Cut {
            end: buffer.len(),
            malformed_from: None,
        });
    }
    match memchr::memrchr(b'\n', buffer) {
        Some(newline) => Some(Cut {
            end: newline + 1,
            malformed_from: None,
        }),
        None if buffer.len() > MAX_LINE_BYTES => Some(Cut {
            end: buffer.len(),
            malformed_from: None,
        }),
        None => None,
    }
}

/// Non-blank lines of a chunk: (1-based line within the chunk, byte offset, content without
/// the line terminator).
fn lines(data: &[u8]) -> impl Iterator<Item = (u64, u64, &[u8])> {
    let mut start = 0;
    let mut line = 0u64;
    std::iter::from_fn(move || {
        while start < data.len() {
            line += 1;
            let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |newline| start + newline);
            let content = &data[start..end];
            let content = content.strip_suffix(b"\r").unwrap_or(content);
            let offset = start as u64;
            start = end + 1;
            if !content.iter().all(u8::is_ascii_whitespace) {
                return Some((line, offset, content));
            }
        }
        None
    })
}

pub(crate) struct JsonLinesParser;

impl ChunkParser for JsonLinesParser {
    fn cut(&self, buffer: &[u8], eof: bool) -> Option<Cut> {
        split_lines(buffer, eof)
    }

    fn parse(&self, chunk: &Chunk) -> RawBatch {
        let mut batch = RawBatch::for_chunk(chunk);
        let mut path = String::new();
        for (line, offset, content) in lines(&chunk.data) {
            let (text, latin1) = decode(content);
            let first_value = batch.values.len();
            match flatten_object(text.trim(), &mut path, &mut batch) {
                Ok(repaired) => batch.finish_record(first_value, line, offset, latin1 || repaired),
                Err(reason) => batch.reject(line, offset, reason),
            }
        }
        batch
    }
}

/// Flattens one line of JSON Lines, which must hold an object, into `batch` (see
/// [`flatten_json`]).
///
/// Errors: the reason to reject the line (invalid JSON, or a value that is no object); the
/// batch is left as it was.
fn flatten_object(text: &str, path: &mut String, batch: &mut RawBatch) -> Result<bool, String> {
    if !text.starts_with('{') {
        return Err(match parse_json(text) {
            Ok(_) => "expected a JSON object".to_string(),
            Err(error) => format!("invalid JSON: {error}"),
        });
    }
    flatten_json(text, false, path, batch).map_err(|error| format!("invalid JSON: {error}"))
}

/// Flattens one JSON value into `batch` as it is read: every scalar becomes a field named by
/// its dotted path, and array elements share their array's path, so `phones: [a, b]` gives two
/// `phones` values; null and blank strings give none. A JSON document's record (`row`) that is
/// an array is a row of `col1`, `col2`…, and a scalar is one `value`. No tree is built and no
/// map hashes its keys: parsing into a `serde_json::Value` first took 9% of an ingest's CPU
/// over the generator's corpora (`perf`). A key given twice gives both its values, where a
/// `Value` kept the last. `Ok(true)` when it could only be read after lone surrogates were
/// repaired (see [`parse_json`]).
///
/// Errors: the value is not JSON; the batch is left as it was, without the columns it named.
pub(super) fn flatten_json(
    text: &str,
    row: bool,
    path: &mut String,
    batch: &mut RawBatch,
) -> Result<bool, serde_json::Error> {
    let (first_value, first_column) = (batch.values.len(), batch.columns.len());
    let mut read = |text: &str| {
        path.clear();
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let flatten = Flatten {
            path: &mut *path,
            batch: &mut *batch,
        };
        let read = match row {
            true => serde::de::DeserializeSeed::deserialize(Row(flatten), &mut deserializer),
            false => serde::de::DeserializeSeed::deserialize(flatten, &mut deserializer),
        }
        .and_then(|()| deserializer.end());
        if read.is_err() {
            // Columns first named by the value go too: no value refers to them.
            batch.discard_values(first_value);
            batch.columns.truncate(first_column);
        }
        read
    };
    match read(text) {
        Ok(()) => Ok(false),
        Err(error) => match repair_surrogates(text) {
            Some(repaired) => read(&repaired).map(|()| true),
            None => Err(error),
        },
    }
}

/// Pushes every scalar of the JSON value it reads as a field named by its dotted path (see
/// [`flatten_json`]).
struct Flatten<'a> {
    path: &'a mut String,
    batch: &'a mut RawBatch,
}

impl Flatten<'_> {
    fn push(self, text: &str) {
        let column = self.batch.column(self.path);
        self.batch.push_value(column, None, text);
    }

    /// The same for a value inside this one.
    fn inner(&mut self) -> Flatten<'_> {
        Flatten {
            path: self.path,
            batch: self.batch,
        }
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Flatten<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Flatten<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<(), E> {
        self.push(if value { "true" } else { "false" });
        Ok(())
    }

    fn visit_i64<E>(self, value: i64) -> Result<(), E> {
        self.push(&serde_json::Number::from(value).to_string());
        Ok(())
    }

    fn visit_u64<E>(self, value: u64) -> Result<(), E> {
        self.push(&serde_json::Number::from(value).to_string());
        Ok(())
    }

    fn visit_f64<E>(self, value: f64) -> Result<(), E> {
        // JSON holds no infinity or NaN, which a `Value` would have made null.
        if let Some(number) = serde_json::Number::from_f64(value) {
            self.push(&number.to_string());
        }
        Ok(())
    }

    fn visit_str<E>(self, value: &str) -> Result<(), E> {
        if !value.trim().is_empty() {
            self.push(value);
        }
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(mut self, mut items: A) -> Result<(), A::Error> {
        while items.next_element_seed(self.inner())?.is_some() {}
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        loop {
            let length = self.path.len();
            if map.next_key_seed(Key(&mut *self.path))?.is_none() {
                return Ok(());
            }
            map.next_value_seed(self.inner())?;
            self.path.truncate(length);
        }
    }
}

/// A JSON document's record: an object as [`Flatten`] reads it, an array as a row of `col1`,
/// `col2`…, and a scalar as `value`.
struct Row<'a>(Flatten<'a>);

impl<'a> Row<'a> {
    /// The record as one scalar, named `value`.
    fn value(self) -> Flatten<'a> {
        self.0.path.push_str("value");
        self.0
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Row<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Row<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(mut self, mut items: A) -> Result<(), A::Error> {
        for position in 1.. {
            self.0.path.clear();
            self.0.path.push_str(&format!("col{position}"));
            if items.next_element_seed(self.0.inner())?.is_none() {
                break;
            }
        }
        self.0.path.clear();
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        serde::de::Visitor::visit_map(self.0, map)
    }

    fn visit_bool<E: serde::de::Error>(self, value: bool) -> Result<(), E> {
        serde::de::Visitor::visit_bool(self.value(), value)
    }

    fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<(), E> {
        serde::de::Visitor::visit_i64(self.value(), value)
    }

    fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<(), E> {
        serde::de::Visitor::visit_u64(self.value(), value)
    }

    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<(), E> {
        serde::de::Visitor::visit_f64(self.value(), value)
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<(), E> {
        serde::de::Visitor::visit_str(self.value(), value)
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// Appends an object's key to the path: `.key` after a parent, `key` at the top.
struct Key<'a>(&'a mut String);

impl<'de> serde::de::DeserializeSeed<'de> for Key<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Key<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("an object key")
    }

    fn visit_str<E>(self, key: &str) -> Result<(), E> {
        if !self.0.is_empty() {
            self.0.push('.');
        }
        self.0.push_str(key);
        Ok(())
    }
}

/// Parses one JSON value; `true` beside it when it could only be read after an escaped lone
/// surrogate (`\ud800`, which no UTF-8 string can hold) was replaced by U+FFFD. The record is
/// kept and flagged as decoded with replacement, as bytes that are not UTF-8 are (issue 11, kind
/// 11).
pub(super) fn parse_json(text: &str) -> Result<(Value, bool), serde_json::Error> {
    match serde_json::from_str(text) {
        Ok(value) => Ok((value, false)),
        Err(error) => match repair_surrogates(text) {
            Some(repaired) => serde_json::from_str(&repaired).map(|value| (value, true)),
            None => Err(error),
        },
    }
}

/// `text` with every `\uD800`–`\uDFFF` escape that is not half of a pair replaced by
/// `\uFFFD`, or `None` when it has none.
fn repair_surrogates(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let surrogate = |at: usize| -> Option<u16> {
        let digits = bytes.get(at..at + 6)?;
        if &digits[..2] != b"\\u" {
            return None;
        }
        let code = u16::from_str_radix(std::str::from_utf8(&digits[2..]).ok()?, 16).ok()?;
        (0xd800..=0xdfff).contains(&code).then_some(code)
    };
    let mut repaired = String::new();
    let (mut copied, mut at) = (0, 0);
    while let Some(found) = bytes.get(at..).and_then(|rest| memchr::memchr(b'\\', rest)) {
        let escape = at + found;
        match surrogate(escape) {
            Some(0xd800..=0xdbff) if surrogate(escape + 6).is_some_and(|low| low >= 0xdc00) => at = escape + 12,
            Some(_) => {
                repaired.push_str(&text[copied..escape]);
                repaired.push_str("\\ufffd");
                copied = escape + 6;
                at = copied;
            }
            None => at = escape + 2,
        }
    }
    if copied == 0 {
        return None;
    }
    repaired.push_str(&text[copied..]);
    Some(repaired)
}

pub(crate) struct ComboParser {
    pub region: Region,
}

impl ChunkParser for ComboParser {
    fn cut(&self, buffer: &[u8], eof: bool) -> Option<Cut> {
        split_lines(buffer, eof)
    }

    fn parse(&self, chunk: &Chunk) -> RawBatch {
        let mut batch = RawBatch::for_chunk(chunk);
        let login_column = batch.column("login");
        let secret_column = batch.column("secret");
        let url_column = batch.column("url");
        for (line, offset, content) in lines(&chunk.data) {
            // A stealer log's `URL:login:secret`, else `login:secret`.
            let (url, identifier, secret) = match ulp_split(content) {
                Some((url, identifier, secret)) => (Some(url), identifier, secret),
                None => match combo_split(content).or_else(|| loose_split(content)) {
                    Some((identifier, secret)) => (None, identifier, secret),
                    None => {
                        batch.reject(line, offset, "expected identifier:secret (or ; or | as separator)");
                        continue;
                    }
                },
            };
            let (identifier, latin1_identifier) = decode(identifier);
            let (secret, latin1_secret) = decode(secret);
            // Twelve digits `91…` that pass the Verhoeff check read as a phone and an Aadhaar
            // number alike: a login is taken for the phone, which a lookup of the same digits
            // as an Aadhaar number asks for too (it reads such a value both ways).
            let candidates = value_candidates(&identifier, self.region);
            let login_kind = [Kind::Email, Kind::Phone, Kind::NationalId]
                .into_iter()
                .find(|kind| candidates & kind.bit() != 0)
                // An email that does not pass (a typographic apostrophe): kept, flagged invalid.
                .unwrap_or(if identifier.contains('@') {
                    Kind::Email
                } else {
                    Kind::Username
                });
            let secret_kind = if is_password_hash(&secret) {
                Kind::PasswordHash
            } else {
                Kind::Password
            };
            let first_value = batch.values.len();
            batch.push_value(login_column, Some(login_kind), identifier.trim());
            batch.push_value(secret_column, Some(secret_kind), &secret);
            let mut latin1 = latin1_identifier || latin1_secret;
            if let Some(url) = url {
                let (url, latin1_url) = decode(url);
                batch.push_value(url_column, Some(Kind::Other), &url);
                latin1 |= latin1_url;
            }
            batch.finish_record(first_value, line, offset, latin1);
        }
        batch
    }
}

/// A combo line whose login is no plausible one (`rohit’s@example.in:pass`): split at the first
/// separator all the same when the login is one word, so the record is kept (its login flagged
/// by normalization) rather than lost.
fn loose_split(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = line.iter().position(|&byte| matches!(byte, b':' | b';' | b'|'))?;
    let (login, secret) = (&line[..at], &line[at + 1..]);
    let one_word = !login.is_empty() && login.len() <= 128 && !login.iter().any(u8::is_ascii_whitespace);
    (one_word && !secret.is_empty()).then_some((login, secret))
}

/// Identifier patterns for free text. Each match is checked again by classification, so the
/// patterns can be generous.
static TEXT_PATTERNS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?P<email>[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,})",
        r"|(?P<masked>\b[Xx*]{4}[ \-]?[Xx*]{4}[ \-]?\d{4}\b)",
        r"|(?P<aadhaar>\b[2-9]\d{3}[ \-]?\d{4}[ \-]?\d{4}\b)",
        r"|(?P<phone>(?:\+91[ \-]?|\(\+91\)[ \-]?|\b0)?\b[6-9]\d{4}[ \-]?\d{5}\b|\+\d{1,3}[ \-]?\d[\d \-]{6,14}\d)",
        r"|(?P<pan>\b[A-Za-z]{3}[ABCEFGHJKLPTabcefghjklpt][A-Za-z]\d{4}[A-Za-z]\b)",
        r"|(?P<voter>\b[A-Z]{3}\d{7}\b)",
        r"|(?P<dl>\b[A-Z]{2}[ \-]?\d{2}[ \-/]?(?:19|20)\d{2}[ \-]?\d{7}\b)",
        r"|(?P<passport>\b[A-Z]\d{7}\b)",
        r"|(?P<ip>\b(?:\d{1,3}\.){3}\d{1,3}\b)",
        r"|(?P<date>\b\d{1,2}[/\-.]\d{1,2}[/\-.](?:19|20)\d{2}\b|\b(?:19|20)\d{2}-\d{2}-\d{2}\b)",
        r"|(?P<hash>\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}|\b[a-fA-F0-9]{64}\b|\b[a-fA-F0-9]{40}\b|\b[a-fA-F0-9]{32}\b)",
    ))
    .expect("valid text patterns")
});

/// Identifiers in free text with their kinds and byte ranges, in order. A match of
/// [`TEXT_PATTERNS`] is kept when its kind's own check confirms it, or when the words just before
/// it name a kind the match can be: `Aadhaar: 7672 3912 6019` with a bad check digit is still an
/// Aadhaar number (flagged invalid by normalization), `Ph: 917584728642` a phone.
pub(crate) fn identifiers_in(text: &str, region: Region) -> impl Iterator<Item = (Kind, Range<usize>)> + '_ {
    let mut previous_end = 0;
    TEXT_PATTERNS.captures_iter(text).filter_map(move |captures| {
        let matched = captures.get(0)?;
        let before = &text[previous_end..matched.start()];
        previous_end = matched.end();
        let group = group_of(&captures)?;
        let own = TextParser::kind_of(group, matched.as_str(), region);
        // The label is read only where it can decide: a match its own check turned down, or
        // twelve digits that may be a phone as well as an Aadhaar number. Most matches (an
        // Aadhaar number not starting with 91, a phone, an email) are let go without it.
        let readings = group.2;
        let undecided = match own {
            None => true,
            Some(Kind::NationalId) if readings.len() > 1 => {
                let mut digits = matched.as_str().bytes().filter(u8::is_ascii_digit);
                digits.next() == Some(b'9') && digits.next() == Some(b'1')
            }
            Some(_) => readings.len() > 1,
        };
        if !undecided {
            return own.map(|kind| (kind, matched.range()));
        }
        let labelled = kind_from_header(label_before(before)).filter(|kind| readings.contains(kind));
        Some((labelled.or(own)?, matched.range()))
    })
}

/// The groups of [`TEXT_PATTERNS`] in their order: the kind a match of each is taken for, and
/// the kinds a label before it may give it instead.
const GROUPS: [(&str, Kind, &[Kind]); 11] = [
    ("email", Kind::Email, &[]),
    ("masked", Kind::NationalId, &[Kind::NationalId]),
    ("aadhaar", Kind::NationalId, &[Kind::NationalId, Kind::Phone]),
    ("phone", Kind::Phone, &[Kind::Phone]),
    ("pan", Kind::Pan, &[Kind::Pan]),
    ("voter", Kind::VoterId, &[Kind::VoterId]),
    ("dl", Kind::DrivingLicence, &[Kind::DrivingLicence]),
    ("passport", Kind::Passport, &[Kind::Passport]),
    ("ip", Kind::Ip, &[]),
    ("date", Kind::DateOfBirth, &[]),
    ("hash", Kind::PasswordHash, &[]),
];

/// The group of [`GROUPS`] a match is of, found by index: looking groups up by name hashes the
/// name, once per group per match.
fn group_of(captures: &regex::Captures<'_>) -> Option<&'static (&'static str, Kind, &'static [Kind])> {
    (1..captures.len())
        .find(|&index| captures.get(index).is_some())
        .and_then(|index| GROUPS.get(index - 1))
}

/// The label a value follows: the last words (at most three) before it, after the last `:`,
/// `=`, `|`, `,` or `;`, without the separators between label and value (`Voter ID - `,
/// `Document: AADHAAR `, `Ph.`).
fn label_before(segment: &str) -> &str {
    let segment = segment.trim_end_matches(|c: char| c.is_whitespace() || ":-=#.|\u{2013}".contains(c));
    let segment = segment.rsplit([':', '=', '|', ',', ';']).next().unwrap_or(segment);
    match segment.split_whitespace().rev().take(3).last() {
        Some(first) => &segment[first.as_ptr() as usize - segment.as_ptr() as usize..],
        None => "",
    }
}

pub(crate) struct TextParser {
    pub region: Region,
}

impl TextParser {
    fn kind_of(group: &(&str, Kind, &[Kind]), text: &str, region: Region) -> Option<Kind> {
        let (name, kind, _) = *group;
        if name == "aadhaar" {
            // Twelve digits `91…` that are a phone too are stored as the phone, as everywhere
            // (issue 11, kind 10): an Aadhaar lookup of them asks for it.
            let digits: String = text.chars().filter(char::is_ascii_digit).collect();
            let phone = || value_candidates(text, region) & Kind::Phone.bit() != 0;
            if verhoeff_valid(&digits) && !(digits.starts_with("91") && phone()) {
                return Some(Kind::NationalId);
            }
            return phone().then_some(Kind::Phone);
        }
        // Drop matches that fail the kind's own check (a 10-digit order number is no phone).
        let confirmed = match kind {
            Kind::Phone => classify_value(text, region) == Kind::Phone,
            Kind::DrivingLicence => {
                let compact: String = text.chars().filter(char::is_ascii_alphanumeric).collect();
                is_driving_licence(&compact.to_ascii_uppercase())
            }
            Kind::Ip => text.parse::<std::net::IpAddr>().is_ok(),
            _ => true,
        };
        confirmed.then_some(kind)
    }
}

impl ChunkParser for TextParser {
    fn cut(&self, buffer: &[u8], eof: bool) -> Option<Cut> {
        split_lines(buffer, eof)
    }

    fn parse(&self, chunk: &Chunk) -> RawBatch {
        let mut batch = RawBatch::for_chunk(chunk);
        for (line, offset, content) in lines(&chunk.data) {
            let (text, latin1) = decode(content);
            let first_value = batch.values.len();
            for (kind, range) in identifiers_in(&text, self.region) {
                let column = batch.column(kind.as_str());
                batch.push_value(column, Some(kind), &text[range]);
            }
            batch.finish_record(first_value, line, offset, latin1);
        }
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_the_patterns_groups_in_order() {
        let names: Vec<&str> = TEXT_PATTERNS.capture_names().flatten().collect();
        let groups: Vec<&str> = GROUPS.iter().map(|(name, _, _)| *name).collect();
        assert_eq!(names, groups);
    }

    fn parse(parser: &dyn ChunkParser, data: &[u8]) -> RawBatch {
        parser.parse(&Chunk {
            data: data.to_vec(),
            ..Chunk::default()
        })
    }

    fn fields(batch: &RawBatch, record: usize) -> Vec<(String, Option<Kind>, String)> {
        let range = batch.records[record].values.clone();
        batch.values[range.start as usize..range.end as usize]
            .iter()
            .map(|value| {
                (
                    batch.columns[value.column as usize].clone(),
                    value.kind,
                    batch.value_text(value).to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn json_lines_nested_and_arrays() {
        let data = b"{\"id\":1,\"user\":{\"name\":\"Rahul\",\"phone\":\"9812345678\"},\"tags\":[\"a\",\"b\"],\"x\":null}\n\n{\"id\":2,\"addresses\":[{\"city\":\"Pune\"},{\"city\":\"Delhi\"}]}\r\nnot json\n[1,2]\n";
        let batch = parse(&JsonLinesParser, data);
        assert_eq!(batch.records.len(), 2);
        let first: Vec<_> = fields(&batch, 0)
            .into_iter()
            .map(|(name, _, value)| (name, value))
            .collect();
        let expected = [
            ("id", "1"),
            ("user.name", "Rahul"),
            ("user.phone", "9812345678"),
            ("tags", "a"),
            ("tags", "b"),
        ];
        assert_eq!(
            first,
            expected.map(|(name, value)| (name.to_string(), value.to_string()))
        );
        let second: Vec<_> = fields(&batch, 1)
            .into_iter()
            .map(|(name, _, value)| (name, value))
            .collect();
        assert_eq!(second[1], ("addresses.city".to_string(), "Pune".to_string()));
        assert_eq!(second[2], ("addresses.city".to_string(), "Delhi".to_string()));
        assert_eq!(batch.records[1].line, 3);
        assert_eq!(batch.rejects.len(), 2);
        assert_eq!(batch.rejects[0].line, 4);
        assert!(batch.rejects[0].reason.starts_with("invalid JSON"));
        assert_eq!(batch.rejects[1].reason, "expected a JSON object");
    }

    /// What [`flatten_json`] reads, from a parsed `Value`: the rule as the parsers kept it
    /// before, which the tests hold the visitor to.
    fn flatten(value: &Value, path: &mut String, batch: &mut RawBatch) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    let length = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(key);
                    flatten(inner, path, batch);
                    path.truncate(length);
                }
            }
            Value::Array(items) => {
                for item in items {
                    flatten(item, path, batch);
                }
            }
            Value::Null => {}
            Value::String(text) if text.trim().is_empty() => {}
            Value::String(text) => {
                let column = batch.column(path);
                batch.push_value(column, None, text);
            }
            Value::Bool(_) | Value::Number(_) => {
                let column = batch.column(path);
                batch.push_value(column, None, &value.to_string());
            }
        }
    }

    /// What the JSON document parser made of a record from a parsed `Value`, before.
    fn flatten_row(value: &Value, path: &mut String, batch: &mut RawBatch) {
        match value {
            Value::Array(row) => {
                for (position, item) in row.iter().enumerate() {
                    path.clear();
                    path.push_str(&format!("col{}", position + 1));
                    flatten(item, path, batch);
                }
            }
            _ => {
                path.clear();
                if !value.is_object() {
                    path.push_str("value");
                }
                flatten(value, path, batch);
            }
        }
    }

    /// (column, text) of a batch's values.
    fn values_of(batch: &RawBatch) -> Vec<(String, String)> {
        batch
            .values
            .iter()
            .map(|value| {
                (
                    batch.columns[value.column as usize].clone(),
                    batch.value_text(value).to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn objects_flatten_as_they_are_read_as_from_a_parsed_value() {
        let lines = [
            r#"{"id":1,"user":{"name":"Rahul","phone":"9812345678","tags":["a",["b",{"deep":true}]]},"x":null}"#,
            r#"{"n":-12,"big":18446744073709551615,"f":1.5,"e":2e3,"zero":0.0,"neg":-0.25,"t":false}"#,
            r#"{"blank":"  ","empty":"","esc":"line\nnext \"q\" \u00e9 \ud83d\ude00","": "no key","a":{"":{"b":"c"}}}"#,
            r#"{"lone":"\ud800 left","ok":"yes"}"#,
            r#"{}"#,
            r#"{"list":[],"obj":{},"nested":[[1,2],[3,[4]]]}"#,
        ];
        for line in lines {
            let mut streamed = RawBatch::default();
            let mut path = String::new();
            let repaired = flatten_object(line, &mut path, &mut streamed).unwrap();
            let (value, expected_repaired) = parse_json(line).unwrap();
            let mut parsed = RawBatch::default();
            let mut path = String::new();
            flatten(&value, &mut path, &mut parsed);
            assert_eq!(values_of(&streamed), values_of(&parsed), "{line}");
            assert_eq!(repaired, expected_repaired, "{line}");
        }
        // A JSON document's records: arrays are rows of `col1`…, scalars one `value`.
        let records = lines.iter().copied().chain([
            r#"[1,"a",{"b":"c","d":[true,null]},[2,3],null," ","\ud800"]"#,
            r#"[]"#,
            r#""scalar""#,
            "42",
            "-0.5",
            "null",
            "false",
        ]);
        for record in records {
            let mut streamed = RawBatch::default();
            let repaired = flatten_json(record, true, &mut String::new(), &mut streamed).unwrap();
            let (value, expected_repaired) = parse_json(record).unwrap();
            let mut parsed = RawBatch::default();
            flatten_row(&value, &mut String::new(), &mut parsed);
            assert_eq!(values_of(&streamed), values_of(&parsed), "{record}");
            assert_eq!(repaired, expected_repaired, "{record}");
        }
        // A key given twice keeps both values (a parsed `Value` kept the last).
        let mut batch = RawBatch::default();
        flatten_object(r#"{"phone":"1","phone":"2"}"#, &mut String::new(), &mut batch).unwrap();
        assert_eq!(
            values_of(&batch),
            [("phone".into(), "1".into()), ("phone".into(), "2".into())]
        );
        // What cannot be read leaves the batch as it was, and says why.
        for (line, reason) in [
            (r#"{"a":"kept","b":{"c":"dropped","#, "invalid JSON: EOF while parsing"),
            (r#"{"a":"x"} trailing"#, "invalid JSON: trailing characters"),
            (r#"{"a":1e999}"#, "invalid JSON: number out of range"),
            ("[1,2]", "expected a JSON object"),
            ("\"text\"", "expected a JSON object"),
            ("nonsense", "invalid JSON: expected ident"),
        ] {
            let error = flatten_object(line, &mut String::new(), &mut batch).unwrap_err();
            assert!(error.starts_with(reason), "{line}: {error}");
            assert_eq!(batch.values.len(), 2, "{line}");
            assert_eq!(batch.arena, "12", "{line}");
            assert_eq!(
                batch.columns,
                ["phone"],
                "{line}: no column named by a line that is rejected"
            );
        }
    }

    #[test]
    fn combo_secret_may_hold_the_separator() {
        let data = b"rahul@example.com:pa:ss|word\n9812345678;secret\nalice_01|5f4dcc3b5aa765d61d8327deb882cf99\nnoseparator\n";
        let batch = parse(&ComboParser { region: Region::INDIA }, data);
        assert_eq!(batch.records.len(), 3);
        assert_eq!(
            fields(&batch, 0),
            [
                ("login".to_string(), Some(Kind::Email), "rahul@example.com".to_string()),
                ("secret".to_string(), Some(Kind::Password), "pa:ss|word".to_string())
            ]
        );
        assert_eq!(fields(&batch, 1)[0].1, Some(Kind::Phone));
        assert_eq!(fields(&batch, 2)[0].1, Some(Kind::Username));
        assert_eq!(fields(&batch, 2)[1].1, Some(Kind::PasswordHash));
        assert_eq!((batch.rejects[0].line, batch.rejects[0].offset), (4, 89));
    }

    #[test]
    fn free_text_extraction() {
        let aadhaar = "234567890124";
        assert!(verhoeff_valid(aadhaar));
        let line = format!(
            "Name Rahul, mob +91 98123 45678, mail RAHUL@x.in, uid {} {} {}, pan ABCPD1234E, order 1234567890, ip 10.1.2.3, dob 12/03/1990, masked XXXX XXXX 1234\n",
            &aadhaar[..4],
            &aadhaar[4..8],
            &aadhaar[8..]
        );
        let batch = parse(&TextParser { region: Region::INDIA }, line.as_bytes());
        let kinds: Vec<_> = fields(&batch, 0)
            .into_iter()
            .map(|(_, kind, value)| (kind.unwrap(), value))
            .collect();
        let expected = [
            (Kind::Phone, "+91 98123 45678"),
            (Kind::Email, "RAHUL@x.in"),
            (Kind::NationalId, "2345 6789 0124"),
            (Kind::Pan, "ABCPD1234E"),
            (Kind::Ip, "10.1.2.3"),
            (Kind::DateOfBirth, "12/03/1990"),
            (Kind::NationalId, "XXXX XXXX 1234"),
        ];
        assert_eq!(kinds, expected.map(|(kind, value)| (kind, value.to_string())));
    }
}
