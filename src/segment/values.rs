//! The value store: every record's normalized values, uncompressed and addressed by record number.
//!
//! Matching scores thousands of candidate records per suspect set; a 20k-record set touches almost
//! every zstd block of the record store, so decompressing blocks would cost a full pass over the
//! corpus. Here a candidate costs one offset and a few adjacent cache lines.
//!
//! `values.bin`: per record `count u8`, then per value `field u16, validity u8, length u8, bytes`
//! (validity as in the record store; values are
//! cut at [`MAX_VALUE_BYTES`] on a character boundary; the record store keeps them whole).
//! `values.idx`: per record its start offset in `values.bin` (u64), then the total length.

use super::store::u64_at;
use crate::ingest::{Kind, Validity};

/// Longest value kept, in bytes: enough for every identifier and the start of an address.
pub const MAX_VALUE_BYTES: usize = 96;
/// Most values kept per record.
const MAX_VALUES: usize = u8::MAX as usize;

/// Whether a value can serve as matching evidence. Short numbers and flags of unclassified fields
/// (quantities, prices, `true`) agree by chance and would only cost space.
pub fn worth_keeping(kind: Kind, value: &str) -> bool {
    kind != Kind::Other
        || !(value.len() <= 4 && value.bytes().all(|byte| byte.is_ascii_digit() || byte == b'.')
            || matches!(value, "true" | "false" | "null" | "yes" | "no"))
}

/// Appends one record's values (field id, normalized value) to `out`.
pub fn encode_record<'a>(values: impl Iterator<Item = (u32, Validity, &'a str)>, out: &mut Vec<u8>) {
    let count_at = out.len();
    out.push(0);
    let mut count = 0;
    for (field, validity, value) in values {
        let Ok(field) = u16::try_from(field) else { continue };
        if count == MAX_VALUES || value.is_empty() {
            continue;
        }
        let mut end = value.len().min(MAX_VALUE_BYTES);
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        out.extend_from_slice(&field.to_le_bytes());
        out.push(validity.code());
        out.push(end as u8);
        out.extend_from_slice(&value.as_bytes()[..end]);
        count += 1;
    }
    out[count_at] = count as u8;
}

/// The values of one record: (field id, validity, normalized value).
pub fn decode_record(bytes: &[u8]) -> impl Iterator<Item = (u32, Validity, &str)> {
    let count = bytes.first().copied().unwrap_or(0);
    let mut rest = bytes.get(1..).unwrap_or(&[]);
    (0..count).map_while(move |_| {
        let field = u16::from_le_bytes([*rest.first()?, *rest.get(1)?]);
        let validity = Validity::from_code(*rest.get(2)?);
        let length = usize::from(*rest.get(3)?);
        let value = std::str::from_utf8(rest.get(4..4 + length)?).ok()?;
        rest = &rest[4 + length..];
        Some((u32::from(field), validity, value))
    })
}

/// The bytes of record `record`, given the two mapped files.
pub fn record_bytes<'a>(index: &[u8], values: &'a [u8], record: u64) -> &'a [u8] {
    let at = record as usize * 8;
    let (start, end) = (u64_at(index, at) as usize, u64_at(index, at + 8) as usize);
    values.get(start..end).unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_long_values_are_cut_on_a_character_boundary() {
        let long = "ग".repeat(60);
        let mut bytes = Vec::new();
        let mut index = vec![0u64];
        let valid = Validity::Valid;
        let values = [
            (0, valid, "+919812345678"),
            (3, valid, ""),
            (70_000, valid, "dropped"),
            (2, Validity::Partial, long.as_str()),
        ];
        encode_record(values.into_iter(), &mut bytes);
        index.push(bytes.len() as u64);
        encode_record(std::iter::empty(), &mut bytes);
        index.push(bytes.len() as u64);
        let index: Vec<u8> = index.iter().flat_map(|offset| offset.to_le_bytes()).collect();
        let first: Vec<(u32, Validity, &str)> = decode_record(record_bytes(&index, &bytes, 0)).collect();
        assert_eq!(first.len(), 2);
        assert_eq!(first[0], (0, valid, "+919812345678"));
        assert_eq!((first[1].0, first[1].1), (2, Validity::Partial));
        assert!(long.starts_with(first[1].2) && first[1].2.len() <= MAX_VALUE_BYTES && !first[1].2.is_empty());
        assert_eq!(decode_record(record_bytes(&index, &bytes, 1)).count(), 0);
        assert_eq!(decode_record(record_bytes(&index, &bytes, 7)).count(), 0);
    }
}
