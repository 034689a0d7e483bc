//! Real dumps of shapes wave 1 misread without a word (issue 11): each case of
//! `shared/cases/real-dumps` that is fixed, from `tests/data/cases`, and another input of the
//! same kind made here.

use crate::common::{Collected, OwnedRecord, collect_file, corpus, data};
use leakdex::catalog::FileCatalog;
use leakdex::ingest::{Kind, Region, Validity};
use leakdex::query::{Index, Query, lookup_batch};
use leakdex::segment::{BuildOptions, build_segment};
use leakdex::storage::DataDir;
use std::path::Path;

/// (kind, normalized, validity) of `name` in every record that has it (an empty cell is no
/// field).
fn column(collected: &Collected, name: &str) -> Vec<(Kind, String, Validity)> {
    collected
        .records
        .iter()
        .filter_map(|record: &OwnedRecord| record.field(name))
        .map(|field| (field.kind, field.normalized.clone(), field.validity))
        .collect()
}

/// Ingests `file` into a fresh data directory and looks `values` up: the records each one hits.
fn hits(file: &Path, values: &[&str]) -> Vec<Vec<u64>> {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::open(&dir.path().join("data")).unwrap();
    let catalog = FileCatalog::open(data.root());
    build_segment(
        &data,
        &catalog,
        &corpus("case"),
        &[file.to_path_buf()],
        &BuildOptions::default(),
    )
    .unwrap();
    let index = Index::open(&data, &catalog, &[]).unwrap();
    let queries = Query::detected(values);
    lookup_batch(&index, Region::INDIA, &queries)
        .into_iter()
        .map(|answer| answer.hits.unwrap_or_default().iter().map(|hit| hit.record).collect())
        .collect()
}

/// `text` with its ASCII digits written in the script whose zero is `zero`.
fn in_script(text: &str, zero: u32) -> String {
    text.chars()
        .map(|character| match character.to_digit(10) {
            Some(digit) => char::from_u32(zero + digit).unwrap(),
            None => character,
        })
        .collect()
}

#[test]
fn digits_of_any_script_are_digits() {
    // Case 01: Devanagari and full-width phones.
    let file = data("cases/01-indic-digits-phone.csv");
    let phones = column(&collect_file(&file), "mobile");
    assert_eq!(
        phones,
        [
            (Kind::Phone, "+919812345678".into(), Validity::Valid),
            (Kind::Phone, "+919876543210".into(), Validity::Valid),
            (Kind::Phone, "+919711223344".into(), Validity::Valid),
        ]
    );
    assert_eq!(
        hits(&file, &["+919812345678", "+919876543210", "+919711223344"]),
        [vec![1], vec![2], vec![3]]
    );

    // Aadhaar numbers in Arabic-Indic digits, pincodes in Bengali, dates full-width; and a
    // lookup written in Devanagari.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mixed-scripts.csv");
    let rows = [
        ("Gita Pillai", "2345 6789 0124", "411023", "1985-03-12"),
        ("Hari Prasad", "3456 7890 1238", "560001", "1990-11-02"),
        ("Ishaan Roy", "456789012341", "700019", "1978-01-30"),
    ];
    let mut csv = String::from("name,aadhaar,pincode,dob\n");
    for (name, aadhaar, pincode, dob) in rows {
        csv.push_str(&format!(
            "{name},{},{},{}\n",
            in_script(aadhaar, 0x0660),
            in_script(pincode, 0x09e6),
            in_script(dob, 0xff10)
        ));
    }
    std::fs::write(&file, csv).unwrap();
    let collected = collect_file(&file);
    let expected = |values: [&str; 3], kind: Kind| -> Vec<(Kind, String, Validity)> {
        values
            .iter()
            .map(|value| (kind, value.to_string(), Validity::Valid))
            .collect()
    };
    assert_eq!(
        column(&collected, "aadhaar"),
        expected(["234567890124", "345678901238", "456789012341"], Kind::NationalId)
    );
    assert_eq!(
        column(&collected, "pincode"),
        expected(["411023", "560001", "700019"], Kind::Pincode)
    );
    assert_eq!(
        column(&collected, "dob"),
        expected(["1985-03-12", "1990-11-02", "1978-01-30"], Kind::DateOfBirth)
    );
    let devanagari = in_script("3456 7890 1238", 0x0966);
    assert_eq!(hits(&file, &[&devanagari, "456789012341"]), [vec![2], vec![3]]);
}

#[test]
fn numbers_as_spreadsheets_and_pandas_write_them() {
    // Case 16: integer columns written as floats.
    let file = data("cases/16-pandas-float-phone.csv");
    let collected = collect_file(&file);
    assert_eq!(
        column(&collected, "mobile"),
        [
            (Kind::Phone, "+919812345670".into(), Validity::Valid),
            (Kind::Phone, "+919812345672".into(), Validity::Valid),
        ]
    );
    let pincodes: Vec<String> = column(&collected, "pincode")
        .into_iter()
        .map(|(_, value, _)| value)
        .collect();
    assert_eq!(pincodes, ["500001", "682001"]);
    assert_eq!(hits(&file, &["9812345670", "+919812345672"]), [vec![1], vec![3]]);

    // Case 14: a date of birth saved as Excel's serial day number.
    let dates = column(&collect_file(&data("cases/14-excel-serial-dob.csv")), "date_of_birth");
    assert_eq!(
        dates,
        [
            (Kind::DateOfBirth, "1990-03-12".into(), Validity::Valid),
            (Kind::DateOfBirth, "1985-07-04".into(), Validity::Valid),
            (Kind::DateOfBirth, "1990-03-12".into(), Validity::Valid),
        ]
    );

    // Aadhaar numbers and birth years as floats; serial dates in a column named otherwise; a
    // fraction that is not zero is no identifier.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.csv");
    std::fs::write(
        &file,
        "aadhaar,birth_year,dob,mobile\n\
         234567890124.0,1985.0,36526,9812345670.00\n\
         345678901238.0,1990.0,31232.0,9812345671.5\n\
         456789012341.0,1978.0,1978-01-30,9812345672.0\n",
    )
    .unwrap();
    let collected = collect_file(&file);
    let values = |name: &str| -> Vec<(String, Validity)> {
        column(&collected, name)
            .into_iter()
            .map(|(_, value, validity)| (value, validity))
            .collect()
    };
    assert_eq!(
        values("aadhaar"),
        [
            ("234567890124".to_string(), Validity::Valid),
            ("345678901238".to_string(), Validity::Valid),
            ("456789012341".to_string(), Validity::Valid),
        ]
    );
    assert_eq!(
        values("birth_year")
            .iter()
            .map(|(value, _)| value.as_str())
            .collect::<Vec<_>>(),
        ["1985", "1990", "1978"]
    );
    assert_eq!(
        values("dob")
            .iter()
            .map(|(value, _)| value.as_str())
            .collect::<Vec<_>>(),
        ["2000-01-01", "1985-07-04", "1978-01-30"]
    );
    let mobiles = values("mobile");
    assert_eq!(mobiles[0], ("+919812345670".to_string(), Validity::Valid));
    assert_ne!(mobiles[1].1, Validity::Valid, "{mobiles:?}");
    assert_eq!(hits(&file, &["234567890124", "9812345672"]), [vec![1], vec![3]]);
}

/// (name, kind) of every column of a file, as read.
fn columns(collected: &Collected) -> Vec<(String, Kind)> {
    collected.records[0]
        .fields
        .iter()
        .map(|field| (field.name.clone(), field.kind))
        .collect()
}

#[test]
fn headers_are_told_from_data_whatever_they_hold() {
    // Case 03: a BOM, then a quoted header cell holding the delimiter.
    let file = data("cases/03-bom-quoted-first-field.csv");
    let collected = collect_file(&file);
    assert_eq!(collected.records.len(), 2);
    assert_eq!(
        columns(&collected),
        [
            ("Name, as on card".to_string(), Kind::Name),
            ("Mobile".to_string(), Kind::Phone),
            ("Email".to_string(), Kind::Email)
        ]
    );
    assert_eq!(collected.records[0].location.line, 2);
    assert_eq!(hits(&file, &["9812345670", "rohit.s@example.in"]), [vec![1], vec![1]]);

    // A header in Devanagari over phones and dates; a header of plain letters over numbers.
    let dir = tempfile::tempdir().unwrap();
    let hindi = dir.path().join("hindi.csv");
    std::fs::write(
        &hindi,
        "नाम,जन्म तिथि,मोबाइल\nरोहित शर्मा,12/03/1985,9812345670\nअनिल वर्मा,04/07/1990,9812345671\n",
    )
    .unwrap();
    let collected = collect_file(&hindi);
    assert_eq!(collected.records.len(), 2, "the header is no record");
    let names: Vec<String> = columns(&collected).into_iter().map(|(name, _)| name).collect();
    assert_eq!(names, ["नाम", "जन्म तिथि", "मोबाइल"]);
    assert_eq!(column(&collected, "मोबाइल")[0].1, "+919812345670");
    let numbers = dir.path().join("numbers.csv");
    std::fs::write(&numbers, "a,b,c\n1,2.5,3\n4,5,6\n").unwrap();
    let collected = collect_file(&numbers);
    assert_eq!(collected.records.len(), 2);
    assert_eq!(collected.records[0].fields[0].name, "a");
}

#[test]
fn lines_before_the_header_are_neither_records_nor_names() {
    // Case 04: Excel's `sep=;` first.
    let file = data("cases/04-excel-sep-line.csv");
    let collected = collect_file(&file);
    assert!(collected.rejects.is_empty(), "{:?}", collected.rejects);
    assert_eq!(collected.records.len(), 3);
    let names: Vec<String> = columns(&collected).into_iter().map(|(name, _)| name).collect();
    assert_eq!(names, ["Name", "Mobile", "Email", "City"]);
    let text = std::fs::read_to_string(&file).unwrap();
    let (offset, line) = crate::common::position_of(&text, "Anil Verma");
    assert_eq!(
        (collected.records[1].location.line, collected.records[1].location.offset),
        (line, offset)
    );
    assert_eq!(hits(&file, &["9812345671"]), [vec![2]]);

    // Blank lines and a title above a comma table.
    let dir = tempfile::tempdir().unwrap();
    let titled = dir.path().join("titled.csv");
    let text = "\n\nCustomer export\n\nname,mobile,email\nRohit Sharma,9812345670,rohit.s@example.in\nAnil Verma,9812345671,anil.v@example.in\n";
    std::fs::write(&titled, text).unwrap();
    let collected = collect_file(&titled);
    assert!(collected.rejects.is_empty(), "{:?}", collected.rejects);
    assert_eq!(collected.records.len(), 2);
    assert_eq!(
        columns(&collected),
        [
            ("name".to_string(), Kind::Name),
            ("mobile".to_string(), Kind::Phone),
            ("email".to_string(), Kind::Email)
        ]
    );
    let (offset, line) = crate::common::position_of(text, "Anil Verma");
    assert_eq!(
        (collected.records[1].location.line, collected.records[1].location.offset),
        (line, offset)
    );
}

#[test]
fn stealer_log_lines_keep_their_url_apart_and_lose_no_login() {
    // Case 10: URL:login:password, with a scheme, a port, an android package, a bare host.
    let file = data("cases/10-ulp-url-login-pass.txt");
    let collected = collect_file(&file);
    assert!(collected.rejects.is_empty(), "{:?}", collected.rejects);
    let logins: Vec<(Kind, String)> = column(&collected, "login")
        .into_iter()
        .map(|(kind, value, _)| (kind, value))
        .collect();
    assert_eq!(
        logins,
        [
            (Kind::Email, "rohit.s@example.in".to_string()),
            (Kind::Phone, "+919812345670".to_string()),
            (Kind::Username, "kavya_r".to_string()),
            (Kind::Email, "user77@example.in".to_string()),
        ]
    );
    let secrets: Vec<String> = collected
        .records
        .iter()
        .map(|record| record.field("secret").unwrap().raw.clone())
        .collect();
    assert_eq!(secrets, ["Passw0rd!", "Secret#12", "pa:ss", "hunter2"]);
    assert_eq!(
        collected.records[1].field("url").unwrap().raw,
        "https://netbanking.example.co.in:8443/auth/login"
    );
    assert_eq!(
        hits(&file, &["rohit.s@example.in", "+919812345670", "user77@example.in"]),
        [vec![1], vec![2], vec![3 + 1]]
    );

    // Other stealer-log shapes, and logins that are no valid email: kept and flagged, not lost.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stealer.txt");
    std::fs::write(
        &file,
        "http://192.168.1.10:8080/admin:9876543210:admin123\n\
         ftp://files.example.net/:anil.v@example.in:x:y\n\
         rohit\u{2019}s@example.in:Pass@123\n\
         meena@example.in:secret\n\
         kiran@example.in:hunter2\n\
         9812345673:qwerty\n\
         suresh_k:letmein\n\
         priya.n@example.in:p@ss:word\n\
         https://mail.example.com/:ravi@example.in:Ravi#2024\n\
         deepa@example.in:deepa1990\n",
    )
    .unwrap();
    let collected = collect_file(&file);
    assert!(collected.rejects.is_empty(), "{:?}", collected.rejects);
    let logins = column(&collected, "login");
    assert_eq!(logins[0], (Kind::Phone, "+919876543210".to_string(), Validity::Valid));
    assert_eq!(
        logins[1],
        (Kind::Email, "anil.v@example.in".to_string(), Validity::Valid)
    );
    assert_eq!(logins[2].0, Kind::Email);
    assert_eq!(logins[2].2, Validity::Invalid);
    assert_eq!(collected.records[1].field("secret").unwrap().raw, "x:y");
    assert_eq!(hits(&file, &["9876543210", "anil.v@example.in"]), [vec![1], vec![2]]);
}

#[test]
fn a_lookup_reads_an_id_by_its_shape_as_ingest_stores_it() {
    // Case 12: Aadhaar numbers spaced, hyphenated, masked, and one whose check digit fails.
    let file = data("cases/12-aadhaar-spaced-masked.csv");
    let dir = tempfile::tempdir().unwrap();
    let data_dir = DataDir::open(&dir.path().join("data")).unwrap();
    let catalog = FileCatalog::open(data_dir.root());
    build_segment(&data_dir, &catalog, &corpus("case"), &[file], &BuildOptions::default()).unwrap();
    let index = Index::open(&data_dir, &catalog, &[]).unwrap();
    let asked = [
        "234567890124",
        "3456 7890 1238",
        "456789012341",
        "567890123459",
        "5678-9012-3459",
    ];
    let queries = Query::detected(&asked);
    let answers = lookup_batch(&index, Region::INDIA, &queries);
    let read: Vec<(Option<Kind>, Option<Validity>, Vec<u64>)> = answers
        .into_iter()
        .map(|answer| {
            let records = answer.hits.unwrap_or_default().iter().map(|hit| hit.record).collect();
            (answer.kind, answer.validity, records)
        })
        .collect();
    let national = |validity, record| (Some(Kind::NationalId), Some(validity), vec![record]);
    assert_eq!(
        read,
        [
            national(Validity::Valid, 1),
            national(Validity::Valid, 2),
            national(Validity::Valid, 3),
            national(Validity::Invalid, 5),
            national(Validity::Invalid, 5),
        ]
    );
    // Written in Devanagari digits, an invalid one is still read by its shape.
    let devanagari = in_script("5678 9012 3459", 0x0966);
    let queries = Query::detected(&[devanagari.as_str()]);
    let answer = lookup_batch(&index, Region::INDIA, &queries).remove(0);
    assert_eq!(
        (answer.kind, answer.validity),
        (Some(Kind::NationalId), Some(Validity::Invalid))
    );
    assert_eq!(answer.hits.unwrap_or_default().len(), 1);
}

#[test]
fn a_value_that_is_a_phone_and_an_aadhaar_number_is_found_as_either() {
    // `917584728642` passes the Verhoeff check: a combo list's login is stored as an Aadhaar
    // number, a mobile column's value as a phone; a lookup of the phone finds both.
    let dir = tempfile::tempdir().unwrap();
    let combo = dir.path().join("combo.txt");
    std::fs::write(
        &combo,
        "917584728642:secret\nmeena@example.in:pass1\nkiran@example.in:pass2\nravi@example.in:pass3\n",
    )
    .unwrap();
    for asked in ["7584728642", "+91 75847 28642", "917584728642"] {
        assert_eq!(hits(&combo, &[asked]), [vec![1]], "{asked}");
    }
    let column = dir.path().join("mobiles.csv");
    std::fs::write(&column, "name,mobile\nRavi Kumar,917584728642\nAsha Rao,9812345670\n").unwrap();
    assert_eq!(hits(&column, &["7584728642", "917584728642"]), [vec![1], vec![1]]);
}

/// Every record's offset in the stored UTF-16 `bytes`, decoded from there, starts with
/// `first_value` of that record.
fn assert_offsets_land(bytes: &[u8], big_endian: bool, records: &[OwnedRecord], first_values: &[&str]) {
    assert_eq!(records.len(), first_values.len());
    for (record, first) in records.iter().zip(first_values) {
        let rest = &bytes[record.location.offset as usize..];
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|pair| match big_endian {
                true => u16::from_be_bytes([pair[0], pair[1]]),
                false => u16::from_le_bytes([pair[0], pair[1]]),
            })
            .collect();
        let text = String::from_utf16_lossy(&units);
        assert!(
            text.starts_with(first),
            "offset {} reads {:?}",
            record.location.offset,
            &text[..20]
        );
    }
}

fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
    let mut bytes = Vec::new();
    for unit in bom.then_some(0xfeff).into_iter().chain(text.encode_utf16()) {
        bytes.extend(match big_endian {
            true => unit.to_be_bytes(),
            false => unit.to_le_bytes(),
        });
    }
    bytes
}

#[test]
fn offsets_in_utf16_files_are_offsets_in_the_file_as_stored() {
    // Case 15: UTF-16LE without a BOM; line 2 starts at byte 38, line 3 at 128.
    let file = data("cases/15-utf16le-no-bom-tsv.tsv");
    let collected = collect_file(&file);
    let offsets: Vec<(u64, u64)> = collected
        .records
        .iter()
        .map(|record| (record.location.line, record.location.offset))
        .collect();
    assert_eq!(offsets, [(2, 38), (3, 128)]);
    assert_eq!(collected.records[0].field("name").unwrap().normalized, "सुनीता शर्मा");
    assert_eq!(hits(&file, &["9812345670", "sunita.s@example.in"]), [vec![1], vec![1]]);

    // Another of the kind: UTF-16BE with a BOM, a title line before the header, characters
    // outside the Basic Multilingual Plane (surrogate pairs), read in chunks of a few records.
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("Export of customers 😀\r\n\r\nname;mobile;email\r\n");
    let mut firsts = Vec::new();
    for index in 0..40 {
        let name = format!("{}Name{index} 𝔸{}", "😀".repeat(index % 3), "ख".repeat(index % 5));
        text.push_str(&format!("{name};98123{index:05};p{index}@example.in\r\n"));
        firsts.push(name);
    }
    let firsts: Vec<&str> = firsts.iter().map(String::as_str).collect();
    let path = dir.path().join("customers.csv");
    let bytes = utf16(&text, true, true);
    std::fs::write(&path, &bytes).unwrap();
    for chunk_bytes in [1 << 20, 64, 200] {
        let options = leakdex::ingest::ScanOptions {
            chunk_bytes,
            ..Default::default()
        };
        let (files, _) = crate::common::collect(std::slice::from_ref(&path), &options);
        let collected = files.into_values().next().unwrap();
        assert_offsets_land(&bytes, true, &collected.records, &firsts);
        assert_eq!(collected.records[0].location.line, 4);
    }

    // A SQL dump in UTF-16LE: tuples of one INSERT, each at its own stored offset.
    let mut dump = String::from("-- dump 😀\nINSERT INTO users (name, mobile) VALUES ");
    let mut names = Vec::new();
    for index in 0..30 {
        let name = format!("𝔸{}n{index}", "ख".repeat(index % 4));
        dump.push_str(&format!(
            "{}('{name}','98123{index:05}')",
            if index > 0 { ",\n" } else { "" }
        ));
        names.push(format!("('{name}'"));
    }
    dump.push_str(";\n");
    let path = dir.path().join("users.sql");
    let bytes = utf16(&dump, false, true);
    std::fs::write(&path, &bytes).unwrap();
    let collected = collect_file(&path);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    assert_offsets_land(&bytes, false, &collected.records, &names);
}

/// A valid Aadhaar number made from eleven digits.
fn aadhaar(first: &str) -> String {
    format!("{first}{}", leakdex::ingest::normalize::verhoeff_check_digit(first))
}

#[test]
fn a_column_of_several_identifier_kinds_is_typed_value_by_value() {
    let dir = tempfile::tempdir().unwrap();
    // An id_number column beside an id_type column, as KYC exports hold them.
    let ids = [
        ("AADHAAR", aadhaar("59825979190")),
        ("Voter ID", "JUH3788762".to_string()),
        ("PAN", "HXEPT6012V".to_string()),
        ("Passport", "B4047966".to_string()),
        ("Driving Licence", "MH1220110012345".to_string()),
        // The type says Aadhaar and the check digit fails: an invalid Aadhaar number, kept.
        ("AADHAAR", "5982 5979 1904".to_string()),
    ];
    let mut csv = String::from("name,id_type,id_number\n");
    for (index, (kind, id)) in ids.iter().enumerate() {
        csv.push_str(&format!("Person {index} Kumar,{kind},{id}\n"));
    }
    // More rows of the same shapes, so the column's sample is not only the first six.
    for round in 10..14 {
        let invalid = aadhaar(&format!("598259791{round}")).into_bytes();
        let last = (invalid[11] - b'0' + 1) % 10 + b'0';
        let invalid = format!("{}{}", std::str::from_utf8(&invalid[..11]).unwrap(), char::from(last));
        for (kind, id) in [
            ("AADHAAR", aadhaar(&format!("598259791{round}"))),
            ("Voter ID", format!("JUH37887{round}")),
            ("PAN", format!("HXEPT{round}12V")),
            ("Passport", format!("B40479{round}")),
            ("Driving Licence", format!("MH12201100123{round}")),
            ("AADHAAR", invalid),
        ] {
            csv.push_str(&format!("Person {round} Rao,{kind},{id}\n"));
        }
    }
    let path = dir.path().join("kyc.csv");
    std::fs::write(&path, &csv).unwrap();
    let collected = collect_file(&path);
    let first: Vec<(Kind, String, Validity)> = column(&collected, "id_number").into_iter().take(6).collect();
    let kinds: Vec<(Kind, Validity)> = first.iter().map(|(kind, _, validity)| (*kind, *validity)).collect();
    assert_eq!(
        kinds,
        [
            (Kind::NationalId, Validity::Valid),
            (Kind::VoterId, Validity::Valid),
            (Kind::Pan, Validity::Valid),
            (Kind::Passport, Validity::Valid),
            (Kind::DrivingLicence, Validity::Valid),
            (Kind::NationalId, Validity::Invalid),
        ]
    );
    let found = hits(
        &path,
        &[&ids[0].1, "JUH3788762", "hxept6012v", "B4047966", "MH-12-2011-0012345"],
    );
    assert_eq!(found, [vec![1], vec![2], vec![3], vec![4], vec![5]]);

    // Another of the kind: JSON Lines with no type field. Each value is typed by its shape, and
    // twelve digits 91… that pass the Aadhaar check are found by a lookup of the phone too
    // (kind 10).
    let both = aadhaar("91758472864");
    let values = [
        both.as_str(),
        "JZD9562914",
        "ABCPD1234E",
        "K1234567",
        "JZD9562915",
        "BCDPE2345F",
    ];
    let lines: String = values
        .iter()
        .enumerate()
        .map(|(index, value)| format!("{{\"name\":\"P{index} Rao\",\"document_no\":\"{value}\"}}\n"))
        .collect();
    let path = dir.path().join("docs.jsonl");
    std::fs::write(&path, lines).unwrap();
    let phone = &both[2..];
    assert_eq!(
        hits(&path, &[phone, &both, "JZD9562914", "K1234567", "BCDPE2345F"]),
        [vec![1], vec![1], vec![2], vec![4], vec![6]]
    );
}

#[test]
fn identifiers_inside_labelled_values_are_fields_of_their_own_kind() {
    let dir = tempfile::tempdir().unwrap();
    let valid = aadhaar("76723912601");
    let spaced = format!("{} {} {}", &valid[..4], &valid[4..8], &valid[8..]);
    let rows = [
        format!("Asha Rao,AADHAAR: {spaced},called twice"),
        "Ravi Kumar,Voter ID - JZD9562914,no answer".to_string(),
        "Meena Iyer,Ph: 98123 45678,wrong number".to_string(),
        "Kiran Das,none,mail sent to kiran.das@example.in on 3 May".to_string(),
        // A label that names the kind gives it, valid or not.
        "Sunil Jain,UID 2345 6789 0123,".to_string(),
        "Arun Shah,pending,ok".to_string(),
    ];
    let csv = format!("name,document,remarks\n{}\n", rows.join("\n"));
    let path = dir.path().join("labelled.csv");
    std::fs::write(&path, csv).unwrap();
    let collected = collect_file(&path);
    let document: Vec<(Kind, String, Validity)> = column(&collected, "document");
    let kinds = |record: usize, name: &str| -> Vec<(Kind, String, Validity)> {
        collected.records[record]
            .fields
            .iter()
            .filter(|field| field.name == name && field.kind != Kind::Other)
            .map(|field| (field.kind, field.normalized.clone(), field.validity))
            .collect()
    };
    assert!(document.iter().all(|(kind, _, _)| *kind == Kind::Other), "{document:?}");
    assert_eq!(
        kinds(0, "document"),
        [(Kind::NationalId, valid.clone(), Validity::Valid)]
    );
    assert_eq!(kinds(1, "document")[0].0, Kind::VoterId);
    assert_eq!(kinds(2, "document")[0].1, "+919812345678");
    assert_eq!(kinds(3, "remarks")[0].0, Kind::Email);
    assert_eq!(kinds(4, "document")[0].0, Kind::NationalId);
    assert_eq!(kinds(4, "document")[0].2, Validity::Invalid);
    assert!(kinds(5, "document").is_empty() && kinds(5, "remarks").is_empty());
    assert_eq!(
        hits(&path, &[&valid, "JZD9562914", "9812345678", "kiran.das@example.in"]),
        [vec![1], vec![2], vec![3], vec![4]]
    );

    // A suspect sample whose Document field reads `AADHAAR 7672 …` matches its source on it.
    let data_dir = DataDir::open(&dir.path().join("data")).unwrap();
    let catalog = FileCatalog::open(data_dir.root());
    let reference = dir.path().join("reference.csv");
    std::fs::write(
        &reference,
        format!(
            "full_name,aadhaar,mobile\nAsha Rao,{valid},9000000001\nRavi K,{},9000000002\n",
            aadhaar("23456789012")
        ),
    )
    .unwrap();
    build_segment(
        &data_dir,
        &catalog,
        &corpus("reference"),
        &[reference],
        &BuildOptions::default(),
    )
    .unwrap();
    let suspects_path = dir.path().join("suspects.jsonl");
    std::fs::write(
        &suspects_path,
        format!("{{\"Name\":\"A. Rao\",\"Document\":\"AADHAAR {spaced}\"}}\n"),
    )
    .unwrap();
    let (suspects, problems) = leakdex::query::r#match::read_suspects(
        std::slice::from_ref(&suspects_path),
        &leakdex::ingest::ScanOptions::default(),
    );
    assert!(problems.is_empty(), "{problems:?}");
    let index = Index::open(&data_dir, &catalog, &[]).unwrap();
    let options = leakdex::query::r#match::MatchOptions::default();
    let matches = leakdex::query::r#match::match_records(&index, &suspects, &options).unwrap();
    assert_eq!(
        matches[0].first().map(|found| found.record),
        Some(1),
        "{:?}",
        matches[0].len()
    );
}

#[test]
fn a_json_escape_that_no_string_can_hold_keeps_its_record() {
    // Case 08: lone surrogates in lines 1 and 4 are read as U+FFFD, the records flagged.
    let file = data("cases/08-jsonl-lone-surrogate.jsonl");
    let collected = collect_file(&file);
    assert!(collected.rejects.is_empty(), "{:?}", collected.rejects);
    let names: Vec<String> = collected
        .records
        .iter()
        .map(|record| record.field("name").unwrap().raw.clone())
        .collect();
    assert_eq!(names.len(), 4);
    assert!(
        names[0].contains('\u{fffd}') && names[3].contains('\u{fffd}'),
        "{names:?}"
    );
    assert!(names[2].contains('\u{1f600}'), "{names:?}");
    let flagged: Vec<bool> = collected.records.iter().map(|record| record.latin1).collect();
    assert_eq!(flagged, [true, false, false, true]);
    assert_eq!(
        hits(&file, &["9812345670", "9812345673", "lone.low@example.in"]),
        [vec![1], vec![4], vec![4]]
    );
}

/// (line, offset) of every record.
fn locations(collected: &Collected) -> Vec<(u64, u64)> {
    collected
        .records
        .iter()
        .map(|record| (record.location.line, record.location.offset))
        .collect()
}

#[test]
fn json_documents_are_records_each_with_its_own_place() {
    let dir = tempfile::tempdir().unwrap();
    let people = [
        ("Asha Rao", "9812345670", "asha@example.in"),
        ("Ravi Kumar", "9812345671", "ravi@example.in"),
        ("Meena Iyer", "9812345672", "meena@example.in"),
    ];
    let pretty = |indent: &str| -> Vec<String> {
        people
            .iter()
            .map(|(name, mobile, email)| {
                format!(
                    "{{\n{indent}  \"name\": \"{name}\",\n{indent}  \"contact\": {{\"mobile\": \"{mobile}\", \"emails\": [\"{email}\"]}},\n{indent}  \"note\": \"[{{x}}] \\\"quoted\\\"\"\n{indent}}}"
                )
            })
            .collect()
    };
    let shapes = [
        // One array of objects, pretty-printed.
        ("array.json", format!("[\n  {}\n]\n", pretty("  ").join(",\n  "))),
        // Objects one after another over many lines.
        ("concatenated.json", format!("{}\n", pretty("").join("\n"))),
        // An object that wraps the records, with metadata before and after.
        (
            "wrapped.json",
            format!(
                "{{\"meta\": {{\"exported\": \"2023-06-12\", \"mobile\": \"9000000000\"}},\n \"data\": [\n  {}\n ],\n \"count\": 3}}\n",
                pretty("  ").join(",\n  ")
            ),
        ),
    ];
    for (name, text) in &shapes {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let expected: Vec<(u64, u64)> = people
            .iter()
            .map(|(person, _, _)| {
                let at = text.find(&format!("\"name\": \"{person}\"")).unwrap();
                let open = text[..at].rfind('{').unwrap();
                (text[..open].matches('\n').count() as u64 + 1, open as u64)
            })
            .collect();
        for chunk_bytes in [1 << 20, 16, 100] {
            let options = leakdex::ingest::ScanOptions {
                chunk_bytes,
                ..Default::default()
            };
            let (files, _) = crate::common::collect(std::slice::from_ref(&path), &options);
            let collected = files.into_values().next().unwrap();
            assert_eq!(collected.format.map(|format| format.name()), Some("json"), "{name}");
            assert!(collected.rejects.is_empty(), "{name}: {:?}", collected.rejects);
            assert_eq!(locations(&collected), expected, "{name} in chunks of {chunk_bytes}");
            let mobiles: Vec<Kind> = column(&collected, "contact.mobile")
                .into_iter()
                .map(|field| field.0)
                .collect();
            assert_eq!(mobiles, [Kind::Phone; 3], "{name}");
        }
        assert_eq!(
            hits(&path, &["9812345671", "meena@example.in", "9000000000"]),
            [vec![2], vec![3], vec![]],
            "{name}: the wrapper's metadata is no record"
        );
    }

    // A top-level array of plain values: each a record of one field.
    let path = dir.path().join("emails.json");
    std::fs::write(
        &path,
        "[\n \"asha@example.in\",\n \"ravi@example.in\",\n {\"email\": \"meena@example.in\"}\n]",
    )
    .unwrap();
    assert_eq!(collect_file(&path).records.len(), 3);
    assert_eq!(
        hits(&path, &["ravi@example.in", "meena@example.in"]),
        [vec![2], vec![3]]
    );

    // A record that is broken is rejected with its line; the others are kept.
    let path = dir.path().join("broken.json");
    std::fs::write(&path, "[\n {\"name\": \"A B\", \"mobile\": \"9812345670\"},\n {\"name\": \"C D\" \"mobile\": 1},\n {\"mobile\": \"9812345672\"}\n]\n").unwrap();
    let collected = collect_file(&path);
    assert_eq!(collected.records.len(), 2);
    assert_eq!(collected.rejects.len(), 1);
    assert_eq!(collected.rejects[0].0, 3);
    // The reason places the fault in the file, not in the record.
    assert!(
        collected.rejects[0].2.contains("(line 3, column"),
        "{}",
        collected.rejects[0].2
    );
}

#[test]
fn sql_dumps_of_several_tables_keep_each_column_with_its_table() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("shop");
    std::fs::create_dir(&dump).unwrap();
    // A split dump: the schema as `mysqldump --no-data` writes it, the data apart, inserted
    // without column lists; one table is defined only after its rows.
    std::fs::write(
        dump.join("schema.sql"),
        "/*!40101 SET NAMES utf8mb4 */;\nDROP TABLE IF EXISTS `customer`;\n/*!40101 SET character_set_client = utf8 */;\n\
         CREATE TABLE `customer` (\n  `id` int NOT NULL,\n  `full_name` varchar(80),\n  `email` varchar(120),\n  `mobile` varchar(20),\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB;\n\
         CREATE TABLE `orders` (\n  `id` int NOT NULL,\n  `customer_id` int,\n  `amount` decimal(10,2),\n  `note` text\n);\n",
    )
    .unwrap();
    std::fs::write(
        dump.join("data.sql"),
        "INSERT INTO `customer` VALUES (1,'Asha Rao','asha@example.in','9812345670'),(2,'Ravi Kumar','ravi@example.in','9812345671');\n\
         INSERT INTO `orders` VALUES (10,1,499.00,'gift'),(11,2,/*!50705 1299.50,*/ 'express');\n\
         INSERT INTO `refunds` VALUES (7,'meena@example.in',/*!50705 0x6162*/);\n\
         CREATE TABLE `refunds` (`order_id` int, `email` varchar(120), `blob` blob);\n",
    )
    .unwrap();
    let (files, unreadable) = crate::common::collect(std::slice::from_ref(&dump), &Default::default());
    assert!(unreadable.is_empty(), "{unreadable:?}");
    let data = &files["data.sql"];
    assert!(data.rejects.is_empty(), "{:?}", data.rejects);
    let kinds: Vec<(String, Kind)> = data
        .records
        .iter()
        .flat_map(|record| record.fields.iter().map(|field| (field.name.clone(), field.kind)))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let expected = [
        ("customer.email", Kind::Email),
        ("customer.full_name", Kind::Name),
        ("customer.id", Kind::Other),
        ("customer.mobile", Kind::Phone),
        ("orders.amount", Kind::Other),
        ("orders.customer_id", Kind::Other),
        ("orders.id", Kind::Other),
        ("orders.note", Kind::Other),
        ("refunds.blob", Kind::Other),
        ("refunds.email", Kind::Email),
        ("refunds.order_id", Kind::Other),
    ];
    let expected: Vec<(String, Kind)> = expected.iter().map(|(name, kind)| (name.to_string(), *kind)).collect();
    assert_eq!(kinds, expected);
    // The value inside the conditional comment is the row's fourth.
    assert_eq!(data.records[3].field("orders.note").unwrap().raw, "express");
    assert_eq!(data.records[3].field("orders.amount").unwrap().raw, "1299.50");
    assert_eq!(data.records[4].field("refunds.blob").unwrap().raw, "0x6162");

    // Looked up after ingest, each table's identifiers are found.
    let data_dir = DataDir::open(&dir.path().join("data")).unwrap();
    let catalog = FileCatalog::open(data_dir.root());
    build_segment(&data_dir, &catalog, &corpus("shop"), &[dump], &BuildOptions::default()).unwrap();
    let index = Index::open(&data_dir, &catalog, &[]).unwrap();
    let queries = Query::detected(&["asha@example.in", "9812345671", "meena@example.in"]);
    let found: Vec<Vec<u64>> = lookup_batch(&index, Region::INDIA, &queries)
        .into_iter()
        .map(|answer| answer.hits.unwrap_or_default().iter().map(|hit| hit.record).collect())
        .collect();
    assert_eq!(found, [vec![1], vec![2], vec![5]]);

    // inspect shows the fields per table.
    let report = leakdex::inspect::inspect(&[dir.path().join("shop")], &Default::default());
    let data_report = report.files.iter().find(|file| file.path == "data.sql").unwrap();
    let names: Vec<&str> = data_report.fields.iter().map(|field| field.name.as_str()).collect();
    assert!(
        names.contains(&"customer.email") && names.contains(&"refunds.email"),
        "{names:?}"
    );
}

#[test]
fn generated_dumps_of_real_shapes_give_every_identifier_back_where_it_was_written() {
    // `leakdex gen --shapes`: a JSON document wrapping its records, mixed and labelled
    // identifiers, a SQL dump split into schema and data.
    let dir = tempfile::tempdir().unwrap();
    let shapes = dir.path().join("shapes");
    let truth = leakdex::synth::write_shapes(&shapes, 400, 5).unwrap();
    assert_eq!(truth.len(), 400 * 3 + 400 * 2 + 400);
    let data_dir = DataDir::open(&dir.path().join("data")).unwrap();
    let catalog = FileCatalog::open(data_dir.root());
    let report = build_segment(
        &data_dir,
        &catalog,
        &corpus("shapes"),
        &[shapes],
        &BuildOptions::default(),
    )
    .unwrap();
    assert_eq!(report.records, 400 + 800);
    let index = Index::open(&data_dir, &catalog, &[]).unwrap();
    let values: Vec<&str> = truth.iter().map(|entry| entry.value.as_str()).collect();
    let queries = Query::detected(&values);
    let answers = lookup_batch(&index, Region::INDIA, &queries);
    let mut missed = Vec::new();
    for (entry, answer) in truth.iter().zip(answers) {
        let found = answer
            .hits
            .unwrap_or_default()
            .iter()
            .any(|hit| hit.file.as_ref() == entry.file && hit.record == entry.record);
        if !found || answer.kind != Some(entry.kind) {
            missed.push(format!("{entry:?} read as {:?}", answer.kind));
        }
    }
    assert!(
        missed.is_empty(),
        "{} of {} missed: {:?}",
        missed.len(),
        truth.len(),
        &missed[..missed.len().min(5)]
    );
}

#[test]
fn a_malformed_tuple_costs_only_itself_and_a_schema_of_another_version_only_its_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("people.sql");
    std::fs::write(
        &path,
        "INSERT INTO people (id,name,phone) VALUES (1,'Rohit','9812347201'),(2,'Anil','9812347202','extra'),\n\
         (3,'Kavya','9812347203'),(4,'Bad 'Quote' Guy','9812347204'),(5,'Meena','9812347205');\n",
    )
    .unwrap();
    let collected = collect_file(&path);
    let rejected: Vec<u64> = collected.rejects.iter().map(|(line, _, _)| *line).collect();
    assert_eq!(rejected, [1, 2], "{:?}", collected.rejects);
    assert_eq!(
        hits(&path, &["9812347201", "9812347203", "9812347205"]),
        [vec![1], vec![2], vec![3]]
    );

    // The schema has three columns, the data four: the rows are kept, named by position.
    let split = dir.path().join("split");
    std::fs::create_dir(&split).unwrap();
    std::fs::write(
        split.join("schema.sql"),
        "CREATE TABLE people (id int, name text, phone text);\n",
    )
    .unwrap();
    std::fs::write(
        split.join("data.sql"),
        "INSERT INTO people VALUES (1,'Rohit','9812347201','x'),(2,'Anil','9812347202','y');\n",
    )
    .unwrap();
    let (files, _) = crate::common::collect(std::slice::from_ref(&split), &Default::default());
    let data = &files["data.sql"];
    assert!(data.rejects.is_empty(), "{:?}", data.rejects);
    assert_eq!(data.records.len(), 2);
    assert_eq!(data.records[1].field("people.col3").unwrap().kind, Kind::Phone);
}

#[test]
fn labelled_identifiers_are_found_however_late_they_first_appear() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("name,remarks,order_ref\n");
    for row in 0..1500 {
        let remark = match row {
            1200 => "AADHAAR: 2345 6789 0124".to_string(),
            1201 => "Ph: 98123 45678".to_string(),
            1202 => "mail me at late@example.in".to_string(),
            1203 => "DL No: KA0520150012345".to_string(),
            1204 => "Passport J8369854 / Driving Licence: MH12 2011 0012345".to_string(),
            _ if row % 2 == 0 => "ok".to_string(),
            _ => String::new(),
        };
        csv.push_str(&format!("Person {row} Rao,{remark},ORD-20230612-{row:04}\n"));
    }
    let path = dir.path().join("late.csv");
    std::fs::write(&path, csv).unwrap();
    let found = hits(
        &path,
        &[
            "2345 6789 0124",
            "9812345678",
            "late@example.in",
            "KA0520150012345",
            "MH1220110012345",
            "J8369854",
        ],
    );
    assert_eq!(
        found,
        [vec![1201], vec![1202], vec![1203], vec![1204], vec![1205], vec![1205]]
    );
    // Order references are no phones.
    assert_eq!(hits(&path, &["2023061200"]), [Vec::<u64>::new()]);
}

#[test]
fn an_aadhaar_lookup_finds_the_same_digits_stored_as_the_phone() {
    let dir = tempfile::tempdir().unwrap();
    let both = aadhaar("91758472864");
    let path = dir.path().join("proofs.csv");
    let mut csv = String::from("name,identity_proof\n");
    for (index, value) in [
        both.as_str(),
        "JZD9562914",
        "ABCPD1234E",
        "K1234567",
        "JZD9562915",
        "BCDPE2345F",
    ]
    .iter()
    .enumerate()
    {
        csv.push_str(&format!("P{index} Rao,{value}\n"));
    }
    std::fs::write(&path, csv).unwrap();
    let data_dir = DataDir::open(&dir.path().join("data")).unwrap();
    let catalog = FileCatalog::open(data_dir.root());
    build_segment(
        &data_dir,
        &catalog,
        &corpus("proofs"),
        &[path],
        &BuildOptions::default(),
    )
    .unwrap();
    let index = Index::open(&data_dir, &catalog, &[]).unwrap();
    let queries = [Query {
        value: both.clone(),
        kind: Some(Kind::NationalId),
    }];
    let answer = lookup_batch(&index, Region::INDIA, &queries).remove(0);
    // The reading that found something names the answer's kind.
    assert_eq!(answer.kind, Some(Kind::Phone));
    let records: Vec<u64> = answer.hits.unwrap_or_default().iter().map(|hit| hit.record).collect();
    assert_eq!(records, [1]);
}

#[test]
fn a_json_document_s_metadata_is_no_record() {
    let dir = tempfile::tempdir().unwrap();
    // A Socrata-style export: column descriptors under meta, errors beside the data.
    let socrata = "{\"meta\": {\"view\": {\"columns\": [{\"name\": \"mobile\", \"type\": \"text\"}, {\"name\": \"email\"}]}},\n \
                   \"data\": [\n  {\"name\": \"Asha Rao\", \"mobile\": \"9812345670\"},\n  {\"name\": \"Ravi Kumar\", \"mobile\": \"9812345671\"}\n ],\n \
                   \"errors\": [{\"code\": 12, \"message\": \"row 7 skipped\"}], \"count\": 2}\n";
    // The same wrapper written on one line.
    let one_line = socrata.replace('\n', "");
    for (name, text) in [("socrata.json", socrata.to_string()), ("one_line.json", one_line)] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let collected = collect_file(&path);
        assert_eq!(collected.format.map(|format| format.name()), Some("json"), "{name}");
        assert_eq!(collected.records.len(), 2, "{name}");
        assert_eq!(hits(&path, &["9812345671"]), [vec![2]], "{name}");
    }
}

#[test]
fn a_broken_record_costs_only_itself_whatever_it_breaks() {
    let dir = tempfile::tempdir().unwrap();
    // SQL: the tuple is read to its end before its count is found wrong; the quote inside it
    // is not taken for anything else.
    let sql = dir.path().join("t.sql");
    std::fs::write(&sql, "INSERT INTO t (a,b) VALUES (1,'x);--',3),(2,'b@c.in');\n").unwrap();
    let collected = collect_file(&sql);
    assert_eq!(
        (collected.records.len(), collected.rejects.len()),
        (1, 1),
        "{:?}",
        collected.rejects
    );
    assert_eq!(hits(&sql, &["b@c.in"]), [vec![1]]);
    // JSON: a closing bracket of the wrong type ends its record; the next one is read.
    let json = dir.path().join("t.json");
    std::fs::write(&json, "[\n {\"a\": [1},\n {\"mobile\": \"9812345670\"}\n]\n").unwrap();
    // Sniffed, brackets that do not match make it free text, its phone still found; read as
    // JSON, the broken record is rejected and the next one kept.
    assert_eq!(hits(&json, &["9812345670"]), [vec![3]]);
    let options = leakdex::ingest::ScanOptions {
        format: Some(leakdex::ingest::Format::Json),
        ..Default::default()
    };
    let (files, _) = crate::common::collect(std::slice::from_ref(&json), &options);
    let collected = files.into_values().next().unwrap();
    assert_eq!(
        (collected.records.len(), collected.rejects.len()),
        (1, 1),
        "{:?}",
        collected.rejects
    );
    assert_eq!(collected.records[0].location.line, 3);
    // A log whose lines open with a bracket is no JSON document.
    let log = dir.path().join("app.log");
    std::fs::write(
        &log,
        "[2024-01-01 10:00] INFO {\"email\":\"a@b.in\"}\n[2024-01-01 10:01] WARN retry\n",
    )
    .unwrap();
    let collected = collect_file(&log);
    assert_ne!(collected.format.map(|format| format.name()), Some("json"));
    assert_eq!(hits(&log, &["a@b.in"]), [vec![1]]);
}

#[test]
fn a_json_document_in_utf16_keeps_offsets_past_non_ascii_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let text = "{\"métadonnées\": \"exporté 😀 ✓\",\n \"data\": [\n  {\"name\": \"Åsa\", \"mobile\": \"9812345670\"},\n  {\"name\": \"Ravi\", \"mobile\": \"9812345671\"}\n ]}\n";
    let path = dir.path().join("export.json");
    let bytes = utf16(text, false, true);
    std::fs::write(&path, &bytes).unwrap();
    let collected = collect_file(&path);
    assert_eq!(collected.records.len(), 2);
    assert_offsets_land(
        &bytes,
        false,
        &collected.records,
        &["{\"name\": \"Åsa\"", "{\"name\": \"Ravi\""],
    );
    let lines: Vec<u64> = collected.records.iter().map(|record| record.location.line).collect();
    assert_eq!(lines, [3, 4]);
}

#[test]
fn rows_written_as_arrays_are_records_with_columns_by_position() {
    // Socrata's shape: column descriptors under meta, rows as arrays under data.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rows.json");
    std::fs::write(
        &path,
        "{\"meta\": {\"view\": {\"columns\": [{\"name\": \"name\"}, {\"name\": \"mobile\"}]}},\n \"data\": [\n  [\"Asha Rao\", \"9812345670\", \"asha@example.in\"],\n  [\"Ravi Kumar\", \"9812345671\", \"ravi@example.in\"]\n ]}\n",
    )
    .unwrap();
    let collected = collect_file(&path);
    assert_eq!(collected.records.len(), 2, "{:?}", collected.rejects);
    assert_eq!(collected.records[1].location.line, 4);
    assert_eq!(hits(&path, &["9812345671", "asha@example.in"]), [vec![2], vec![1]]);
}
