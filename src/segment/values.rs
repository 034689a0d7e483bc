//! The value store: every record's normalized values, in small LZ4 blocks addressed by record
//! number.
//!
//! Matching scores thousands of candidate records per suspect set; a 20k-record set touches almost
//! every 64 KiB block of the record store, so decompressing those would cost a full pass over the
//! corpus. Here a candidate costs one LZ4 decompression of [`BLOCK_RECORDS`] records' values
//! (about 10 KiB); matching reads candidates in record order, so a block serves every suspect
//! that needs one of its records. Uncompressed, values took 160 B per record of the generator's
//! corpora, the largest file of a segment. Measured on those values, blocks of 16, 32 and 64
//! records compress 1.5×, 1.6× and 1.8× with LZ4 and 2.0×, 2.2× and 2.4× with zstd (level 1),
//! but zstd made the provenance bench 2.3× slower than uncompressed values, LZ4 much less.
//!
//! `values.bin`: LZ4 blocks, each with its decompressed size (u32) before it, one per block of up
//! to [`BLOCK_RECORDS`] consecutive records of a batch. Decompressed, per record `count u8`, then per value `field u16, validity u8, length u8,
//! bytes` (validity as in the record store; values are cut at [`MAX_VALUE_BYTES`] on a character
//! boundary; the record store keeps them whole).
//! `values.idx`: per block (first record u64, offset u64), then (records, total bytes), as
//! `records.idx`.

use crate::ingest::{Kind, Validity};

/// Records per block: small enough that a candidate costs microseconds, large enough to compress.
pub const BLOCK_RECORDS: usize = 64;

/// Most bytes a value block decompresses to, whatever a damaged size prefix claims.
const MOST_BLOCK_BYTES: usize = 16 << 20;

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

/// Compresses the values of a batch's records (encoded back to back in `values`, record `i`
/// ending at `ends[i]`) into blocks of [`BLOCK_RECORDS`]: (records in block, bytes).
pub fn compress_blocks(values: &[u8], ends: &[u64]) -> Vec<(u64, Vec<u8>)> {
    let mut blocks = Vec::with_capacity(ends.len().div_ceil(BLOCK_RECORDS));
    let mut start = 0;
    for block_ends in ends.chunks(BLOCK_RECORDS) {
        let end = block_ends.last().map_or(start, |end| *end as usize);
        blocks.push((
            block_ends.len() as u64,
            lz4_flex::block::compress_prepend_size(&values[start..end]),
        ));
        start = end;
    }
    blocks
}

/// Decompresses a value block into `out`, replacing what it held and reusing its allocation.
pub fn decompress_block_into(block: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let (size, compressed) = block
        .split_first_chunk::<4>()
        .map(|(size, rest)| (u32::from_le_bytes(*size) as usize, rest))
        .ok_or("a value block shorter than its size")?;
    if size > MOST_BLOCK_BYTES {
        return Err(format!("a value block claims {size} bytes"));
    }
    out.clear();
    out.resize(size, 0);
    match lz4_flex::block::decompress_into(compressed, out) {
        Ok(written) if written == size => Ok(()),
        Ok(written) => Err(format!("a value block of {size} bytes gave {written}")),
        Err(error) => Err(error.to_string()),
    }
}

/// The encoded values of the `nth` record of a decompressed block (empty if it has no such
/// record), found by skipping the records before it by their lengths.
pub fn record_in_block(block: &[u8], nth: u64) -> &[u8] {
    let skip = |bytes: &[u8]| -> Option<usize> {
        let count = *bytes.first()?;
        let mut at = 1;
        for _ in 0..count {
            at += 4 + usize::from(*bytes.get(at + 3)?);
        }
        (at <= bytes.len()).then_some(at)
    };
    let mut rest = block;
    for _ in 0..nth {
        match skip(rest) {
            Some(length) => rest = &rest[length..],
            None => return &[],
        }
    }
    skip(rest).map_or(&[], |length| &rest[..length])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_through_blocks_and_long_values_are_cut_on_a_character_boundary() {
        let long = "ग".repeat(60);
        let mut bytes = Vec::new();
        let mut ends = Vec::new();
        let valid = Validity::Valid;
        let values = [
            (0, valid, "+919812345678"),
            (3, valid, ""),
            (70_000, valid, "dropped"),
            (2, Validity::Partial, long.as_str()),
        ];
        encode_record(values.into_iter(), &mut bytes);
        ends.push(bytes.len() as u64);
        encode_record(std::iter::empty(), &mut bytes);
        ends.push(bytes.len() as u64);
        // Enough records for a second block, each with its number as a value.
        let numbers: Vec<String> = (2..BLOCK_RECORDS + 5).map(|number| number.to_string()).collect();
        for number in &numbers {
            encode_record([(1, valid, number.as_str())].into_iter(), &mut bytes);
            ends.push(bytes.len() as u64);
        }
        let blocks = compress_blocks(&bytes, &ends);
        assert_eq!(
            blocks.iter().map(|(count, _)| *count).collect::<Vec<_>>(),
            [BLOCK_RECORDS as u64, 5]
        );
        let plain: Vec<Vec<u8>> = blocks
            .iter()
            .map(|(_, frame)| {
                let mut plain = vec![7; 3];
                decompress_block_into(frame, &mut plain).unwrap();
                plain
            })
            .collect();
        let mut damaged = blocks[0].1.clone();
        damaged.truncate(damaged.len() / 2);
        assert!(decompress_block_into(&damaged, &mut Vec::new()).is_err());
        assert!(decompress_block_into(&[0xff, 0xff, 0xff, 0x7f, 0], &mut Vec::new()).is_err());
        let first: Vec<(u32, Validity, &str)> = decode_record(record_in_block(&plain[0], 0)).collect();
        assert_eq!(first.len(), 2);
        assert_eq!(first[0], (0, valid, "+919812345678"));
        assert_eq!((first[1].0, first[1].1), (2, Validity::Partial));
        assert!(long.starts_with(first[1].2) && first[1].2.len() <= MAX_VALUE_BYTES && !first[1].2.is_empty());
        assert_eq!(decode_record(record_in_block(&plain[0], 1)).count(), 0);
        for (record, number) in numbers
            .iter()
            .enumerate()
            .map(|(position, number)| (position + 2, number))
        {
            let (block, nth) = (record / BLOCK_RECORDS, record % BLOCK_RECORDS);
            let found: Vec<_> = decode_record(record_in_block(&plain[block], nth as u64)).collect();
            assert_eq!(found, [(1, valid, number.as_str())], "record {record}");
        }
        assert!(record_in_block(&plain[1], 5).is_empty());
        assert!(
            record_in_block(&[3, 0], 0).is_empty(),
            "a truncated record is no record"
        );
    }
}
