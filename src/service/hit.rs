//! `leakdex.v1.Hit` by hand. prost would generate `String` fields, one allocation per name per
//! hit: a served million-lookup batch with five hits each made fifteen million of them, on the
//! server to send and on the client to read. Here the names are [`Name`]s: the server copies
//! interned pointers from the index, and a client decoding a name it has met before gets the
//! interned one back. The wire format is the generated one's (a property test compares).

use crate::query::names::{self, Name};
use prost::bytes::{Buf, BufMut};
use prost::encoding::{
    DecodeContext, WireType, check_wire_type, decode_varint, encode_key, encode_varint, encoded_len_varint, key_len,
    skip_field,
};
use prost::{DecodeError, encoding};

/// Where an identifier was found (see `proto/leakdex/v1/lookup.proto` for each field).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Hit {
    pub corpus: Name,
    pub file: Name,
    pub record: u64,
    pub line: u64,
    pub offset: u64,
    pub field: Name,
    pub acquired: Name,
    pub count: u64,
}

fn encode_name(tag: u32, name: &str, buf: &mut impl BufMut) {
    if !name.is_empty() {
        encode_key(tag, WireType::LengthDelimited, buf);
        encode_varint(name.len() as u64, buf);
        buf.put_slice(name.as_bytes());
    }
}

fn name_len(tag: u32, name: &str) -> usize {
    match name.len() {
        0 => 0,
        len => key_len(tag) + encoded_len_varint(len as u64) + len,
    }
}

/// Reads a name as `string::merge` would, but a name met before comes from the interner: a client
/// reading millions of hits allocates for the few distinct names, not once per hit.
fn merge_name(
    wire_type: WireType,
    name: &mut Name,
    buf: &mut impl Buf,
    context: DecodeContext,
) -> Result<(), DecodeError> {
    check_wire_type(WireType::LengthDelimited, wire_type)?;
    let mut chunk = buf.chunk();
    let available = chunk.len();
    let read = decode_varint(&mut chunk).ok().and_then(|len| {
        let header = available - chunk.len();
        let bytes = chunk.get(..usize::try_from(len).ok()?)?;
        Some((header + bytes.len(), names::decoded(bytes)?))
    });
    if let Some((consumed, decoded)) = read {
        *name = decoded;
        buf.advance(consumed);
        return Ok(());
    }
    // Split across chunks, cut short or not UTF-8: prost reads it and says what is wrong.
    encoding::string::merge(wire_type, name.to_mut(), buf, context)
}

fn encode_number(tag: u32, number: u64, buf: &mut impl BufMut) {
    if number != 0 {
        encoding::uint64::encode(tag, &number, buf);
    }
}

fn number_len(tag: u32, number: u64) -> usize {
    match number {
        0 => 0,
        _ => encoding::uint64::encoded_len(tag, &number),
    }
}

impl prost::Message for Hit {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        encode_name(1, &self.corpus, buf);
        encode_name(2, &self.file, buf);
        encode_number(3, self.record, buf);
        encode_number(4, self.line, buf);
        encode_number(5, self.offset, buf);
        encode_name(6, &self.field, buf);
        encode_name(7, &self.acquired, buf);
        encode_number(8, self.count, buf);
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        context: DecodeContext,
    ) -> Result<(), DecodeError> {
        let (merged, field) = match tag {
            1 => (merge_name(wire_type, &mut self.corpus, buf, context), "corpus"),
            2 => (merge_name(wire_type, &mut self.file, buf, context), "file"),
            3 => (
                encoding::uint64::merge(wire_type, &mut self.record, buf, context),
                "record",
            ),
            4 => (encoding::uint64::merge(wire_type, &mut self.line, buf, context), "line"),
            5 => (
                encoding::uint64::merge(wire_type, &mut self.offset, buf, context),
                "offset",
            ),
            6 => (merge_name(wire_type, &mut self.field, buf, context), "field"),
            7 => (merge_name(wire_type, &mut self.acquired, buf, context), "acquired"),
            8 => (
                encoding::uint64::merge(wire_type, &mut self.count, buf, context),
                "count",
            ),
            _ => return skip_field(wire_type, tag, buf, context),
        };
        merged.map_err(|mut error| {
            error.push("Hit", field);
            error
        })
    }

    fn encoded_len(&self) -> usize {
        name_len(1, &self.corpus)
            + name_len(2, &self.file)
            + number_len(3, self.record)
            + number_len(4, self.line)
            + number_len(5, self.offset)
            + name_len(6, &self.field)
            + name_len(7, &self.acquired)
            + number_len(8, self.count)
    }

    fn clear(&mut self) {
        *self = Hit::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use prost::Message;
    use prost::bytes::Buf;

    /// What prost generates for `leakdex.v1.Hit`.
    #[derive(Clone, PartialEq, prost::Message)]
    struct Generated {
        #[prost(string, tag = "1")]
        corpus: String,
        #[prost(string, tag = "2")]
        file: String,
        #[prost(uint64, tag = "3")]
        record: u64,
        #[prost(uint64, tag = "4")]
        line: u64,
        #[prost(uint64, tag = "5")]
        offset: u64,
        #[prost(string, tag = "6")]
        field: String,
        #[prost(string, tag = "7")]
        acquired: String,
        #[prost(uint64, tag = "8")]
        count: u64,
    }

    fn hit_of(generated: &Generated) -> Hit {
        Hit {
            corpus: crate::query::names::intern(&generated.corpus),
            file: Name::Owned(generated.file.clone()),
            record: generated.record,
            line: generated.line,
            offset: generated.offset,
            field: Name::Owned(generated.field.clone()),
            acquired: Name::Owned(generated.acquired.clone()),
            count: generated.count,
        }
    }

    proptest! {
        #[test]
        fn the_wire_format_is_the_generated_ones(
            corpus in "[a-z_]{0,12}",
            file in "\\PC{0,40}",
            record: u64,
            line in prop_oneof![Just(0u64), any::<u64>()],
            offset: u64,
            field in "[a-z.]{0,10}",
            acquired in prop_oneof![Just(String::new()), Just("2023-06-12".to_string())],
            count in 0u64..3,
        ) {
            let generated = Generated { corpus, file, record, line, offset, field, acquired, count };
            let hit = hit_of(&generated);
            let bytes = generated.encode_to_vec();
            prop_assert_eq!(hit.encoded_len(), bytes.len());
            prop_assert_eq!(hit.encode_to_vec(), bytes.clone());
            let decoded = Hit::decode(bytes.as_slice()).unwrap();
            prop_assert_eq!(&decoded, &hit);
            prop_assert_eq!(Generated::decode(hit.encode_to_vec().as_slice()).unwrap(), generated);
        }
    }

    #[test]
    fn unknown_fields_are_skipped_and_bad_names_are_reported() {
        let mut bytes = Hit {
            corpus: Name::Borrowed("vaccination"),
            record: 7,
            ..Hit::default()
        }
        .encode_to_vec();
        // Field 9, a varint this version does not know (a newer server's).
        bytes.extend([9 << 3, 42]);
        let decoded = Hit::decode(bytes.as_slice()).unwrap();
        assert_eq!((decoded.corpus.as_ref(), decoded.record), ("vaccination", 7));

        let broken = [1 << 3 | 2, 2, 0xff, 0xfe];
        let error = Hit::decode(broken.as_slice()).unwrap_err().to_string();
        assert!(error.contains("Hit.corpus") && error.contains("UTF-8"), "{error}");
        let short = [1 << 3 | 2, 9, b'a'];
        let error = Hit::decode(short.as_slice()).unwrap_err().to_string();
        assert!(error.contains("Hit.corpus"), "{error}");
    }

    #[test]
    fn a_name_split_across_buffers_is_read_whole() {
        let hit = Hit {
            corpus: Name::Borrowed("vaccination"),
            file: Name::Owned("district/pune.csv".into()),
            record: 12,
            field: Name::Borrowed("mobile"),
            ..Hit::default()
        };
        let bytes = hit.encode_to_vec();
        for split in 0..bytes.len() {
            let (head, tail) = bytes.split_at(split);
            assert_eq!(Hit::decode(head.chain(tail)).unwrap(), hit, "split at {split}");
        }
    }
}
