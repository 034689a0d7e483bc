//! `leakdex.v1.Hit` by hand. prost would generate `String` fields, one allocation per name per
//! hit: a served million-lookup batch with five hits each made fifteen million of them, a tenth of
//! the server's CPU. Here the names are [`Name`]s, interned pointers copied from the index; a
//! client still decodes owned strings. The wire format is the generated one's (a test compares).

use crate::query::names::Name;
use prost::bytes::{Buf, BufMut};
use prost::encoding::{DecodeContext, WireType, encode_key, encode_varint, encoded_len_varint, key_len, skip_field};
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
            1 => (
                encoding::string::merge(wire_type, self.corpus.to_mut(), buf, context),
                "corpus",
            ),
            2 => (
                encoding::string::merge(wire_type, self.file.to_mut(), buf, context),
                "file",
            ),
            3 => (
                encoding::uint64::merge(wire_type, &mut self.record, buf, context),
                "record",
            ),
            4 => (encoding::uint64::merge(wire_type, &mut self.line, buf, context), "line"),
            5 => (
                encoding::uint64::merge(wire_type, &mut self.offset, buf, context),
                "offset",
            ),
            6 => (
                encoding::string::merge(wire_type, self.field.to_mut(), buf, context),
                "field",
            ),
            7 => (
                encoding::string::merge(wire_type, self.acquired.to_mut(), buf, context),
                "acquired",
            ),
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
        assert!(error.contains("Hit.corpus"), "{error}");
    }
}
