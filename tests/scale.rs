//! The generator's corpora: right counts and kinds, known overlaps, and the same records
//! whatever the chunk size (the parallel pipeline keeps file order).

use crate::common::collect;
use leakdex::ingest::{Kind, ScanOptions};
use leakdex::synth::{Corpus, generate};
use std::collections::HashSet;
use std::path::PathBuf;

#[test]
fn generated_corpora_read_cleanly_with_known_overlaps() {
    let dir = tempfile::tempdir().unwrap();
    let records = 3000;
    let manifest = generate(dir.path(), records, 7).unwrap();
    let paths: Vec<PathBuf> = manifest
        .corpora
        .iter()
        .map(|corpus| dir.path().join(&corpus.file))
        .collect();
    let (files, unreadable) = collect(&paths, &ScanOptions::default());
    assert!(unreadable.is_empty());
    let key_columns: [(Corpus, &[(&str, Kind)]); 5] = [
        (
            Corpus::Vaccination,
            &[
                ("name", Kind::Name),
                ("mobile_number", Kind::Phone),
                ("photo_id_number", Kind::NationalId),
                ("birth_year", Kind::BirthYear),
            ],
        ),
        (
            Corpus::TelecomKyc,
            &[
                ("msisdn", Kind::Phone),
                ("subscriber_name", Kind::Name),
                ("dob", Kind::DateOfBirth),
                ("aadhaar_no", Kind::NationalId),
            ],
        ),
        (
            Corpus::ShopOrders,
            &[
                ("customer.email", Kind::Email),
                ("customer.contact.mobile", Kind::Phone),
                ("customer.full_name", Kind::Name),
            ],
        ),
        (Corpus::ComboList, &[("login", Kind::Email), ("secret", Kind::Password)]),
        (
            Corpus::LegacyPortal,
            &[
                ("users.email", Kind::Email),
                ("users.phone", Kind::Phone),
                ("users.pan", Kind::Pan),
                ("users.dob", Kind::DateOfBirth),
                ("users.password_hash", Kind::PasswordHash),
            ],
        ),
    ];
    for (corpus, columns) in key_columns {
        let collected = &files[corpus.file_name()];
        assert_eq!(collected.records.len() as u64, records, "{corpus:?}");
        assert!(
            collected.rejects.is_empty(),
            "{corpus:?}: {:?}",
            &collected.rejects[..1]
        );
        for record in &collected.records {
            for (name, kind) in columns {
                if let Some(field) = record.field(name) {
                    assert_eq!(field.kind, *kind, "{corpus:?} {name}");
                    assert_ne!(
                        field.validity,
                        leakdex::ingest::Validity::Invalid,
                        "{corpus:?} {name} {}",
                        field.raw
                    );
                }
            }
        }
    }
    // Phones shared by two corpora are exactly the people their windows share.
    let phones = |corpus: Corpus, column: &str| -> HashSet<String> {
        files[corpus.file_name()]
            .records
            .iter()
            .filter_map(|record| record.field(column))
            .map(|field| field.normalized.clone())
            .collect()
    };
    let vaccination = phones(Corpus::Vaccination, "mobile_number");
    for (corpus, column) in [
        (Corpus::TelecomKyc, "msisdn"),
        (Corpus::ShopOrders, "customer.contact.mobile"),
        (Corpus::LegacyPortal, "users.phone"),
    ] {
        let shared = vaccination.intersection(&phones(corpus, column)).count() as u64;
        let expected = manifest
            .overlaps
            .iter()
            .find(|overlap| overlap.a == Corpus::Vaccination && overlap.b == corpus)
            .unwrap()
            .people;
        assert_eq!(shared, expected, "{corpus:?}");
    }
}

#[test]
fn small_chunks_give_the_same_records_in_the_same_order() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), 2500, 3).unwrap();
    let paths = vec![dir.path().to_path_buf()];
    let (expected, _) = collect(&paths, &ScanOptions::default());
    let small = ScanOptions {
        chunk_bytes: 16 << 10,
        ..ScanOptions::default()
    };
    let (actual, _) = collect(&paths, &small);
    assert_eq!(expected.keys().collect::<Vec<_>>(), actual.keys().collect::<Vec<_>>());
    for (name, collected) in &expected {
        assert!(collected.records.len() >= 2500 || name.ends_with(".json"), "{name}");
        assert_eq!(collected.records, actual[name].records, "{name}");
        let ordinals: Vec<u64> = actual[name]
            .records
            .iter()
            .map(|record| record.location.ordinal)
            .collect();
        assert!(
            ordinals
                .iter()
                .enumerate()
                .all(|(index, ordinal)| *ordinal == index as u64 + 1),
            "{name}"
        );
    }
}
