//! Property tests: no parser panics on any bytes, and chunking never changes what is read.

use crate::common::collect;
use leakdex::ingest::{Format, ScanOptions};
use proptest::prelude::*;
use std::path::PathBuf;

const FORMATS: [Option<Format>; 10] = [
    None,
    Some(Format::Delimited { delimiter: b',' }),
    Some(Format::Delimited { delimiter: b'\t' }),
    Some(Format::Delimited { delimiter: b'|' }),
    Some(Format::Delimited { delimiter: b';' }),
    Some(Format::JsonLines),
    Some(Format::Json),
    Some(Format::Sql),
    Some(Format::Combo),
    Some(Format::Text),
];

fn write_temp(bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("input");
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

/// Bytes that stress the parsers: quotes, separators, escapes, line breaks, non-UTF-8.
fn nasty_bytes() -> impl Strategy<Value = Vec<u8>> {
    let pieces = prop::sample::select(vec![
        &b"\""[..],
        b"'",
        b",",
        b";",
        b"|",
        b"\t",
        b"\n",
        b"\r\n",
        b"\\",
        b"(",
        b"),(",
        b");\n",
        b"NULL",
        b"9812345678",
        b"a@b.in",
        b"{\"a\":",
        b"}",
        b"[",
        b"INSERT INTO t VALUES ",
        b"CREATE TABLE t (a int, b text);\n",
        b"COPY t (a, b) FROM stdin;\n",
        b"\\.\n",
        b"\\N",
        b"--",
        b"/*",
        b"*/",
        b"\xe9",
        b"\xff\xfe",
        b"\0",
        b"Rahul",
        b" ",
        // JSON documents: arrays, wrappers, keys, escapes and lone surrogates.
        b"]",
        b"{\"data\": [",
        b"\"k\": \"v\"",
        b", ",
        b"\\ud800",
        b"\\\"",
        // Multi-table SQL: conditional comments, tables without column lists.
        b"/*!50705 ",
        b"INSERT INTO u VALUES ",
        b"CREATE TABLE u (a int);\n",
        // Lines before a table.
        b"sep=;\n",
        b"Export of users\n",
        b"name,mobile\n",
    ]);
    prop::collection::vec(pieces, 0..120).prop_map(|pieces| pieces.concat())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(48)
}

proptest! {
    // PROPTEST_CASES=5000 for a deeper run; CI keeps the default short.
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn no_parser_panics_on_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600), format in 0..FORMATS.len()) {
        let (_dir, path) = write_temp(&bytes);
        let options = ScanOptions { format: FORMATS[format], ..ScanOptions::default() };
        let (files, _) = collect(&[path], &options);
        // Bytes that start like gzip or zstd may be unreadable: that is reported, not a panic.
        match files["input"].summary.clone().unwrap() {
            Ok(summary) => prop_assert_eq!(summary.records as usize, files["input"].records.len()),
            Err(error) => prop_assert!(error.starts_with("input: "), "{}", error),
        }
    }

    #[test]
    fn no_parser_panics_on_nasty_bytes(bytes in nasty_bytes(), format in 0..FORMATS.len()) {
        let (_dir, path) = write_temp(&bytes);
        let options = ScanOptions { format: FORMATS[format], ..ScanOptions::default() };
        let (files, _) = collect(&[path], &options);
        let summary = files["input"].summary.clone().unwrap();
        prop_assert!(summary.is_ok(), "{:?}", summary);
    }

    #[test]
    fn chunk_size_never_changes_the_records(bytes in nasty_bytes(), format in 0..FORMATS.len(), chunk in 1usize..64) {
        let (_dir, path) = write_temp(&bytes);
        let whole = ScanOptions { format: FORMATS[format], ..ScanOptions::default() };
        let tiny = ScanOptions { chunk_bytes: chunk, ..whole.clone() };
        let (expected, _) = collect(std::slice::from_ref(&path), &whole);
        let (actual, _) = collect(&[path], &tiny);
        prop_assert_eq!(&expected["input"].records, &actual["input"].records);
        prop_assert_eq!(&expected["input"].rejects, &actual["input"].rejects);
    }
}
