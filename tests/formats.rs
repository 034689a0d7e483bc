//! Every format, encoding and nasty case, against hand-made fixtures in `tests/data`.

use crate::common::{collect, collect_file, data, position_of};
use leakdex::ingest::{Format, Kind, ScanOptions, Validity};
use serde_json::Value;
use std::io::Write;
use std::process::Command;

fn kinds_of(file: &Value) -> Vec<(String, String)> {
    file["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|field| {
            (
                field["name"].as_str().unwrap().to_string(),
                field["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn inspect_json_on_five_dumps() {
    let output = Command::new(env!("CARGO_BIN_EXE_leakdex"))
        .args(["inspect", "--json"])
        .arg(data("five"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["records"], 27);
    assert_eq!(report["rejected"], 0);
    let files = report["files"].as_array().unwrap();
    /// (path, format, records, (field, kind) that must be found).
    type Expected<'a> = (&'a str, &'a str, u64, &'a [(&'a str, &'a str)]);
    let expected: [Expected; 5] = [
        ("combo.txt", "combo", 6, &[("login", "email"), ("secret", "password")]),
        (
            "kyc.tsv",
            "tsv",
            5,
            &[
                ("msisdn", "phone"),
                ("subscriber_name", "name"),
                ("father_name", "name"),
                ("d_o_b", "date_of_birth"),
                ("uid", "national_id"),
                ("pan_no", "pan"),
                ("epic_no", "voter_id"),
                ("email_id", "email"),
            ],
        ),
        (
            "legacy.sql",
            "sql",
            5,
            &[
                ("members.member_name", "name"),
                ("members.contact_no", "phone"),
                ("members.email", "email"),
                ("members.date_of_birth", "date_of_birth"),
                ("members.passport_no", "passport"),
            ],
        ),
        (
            "orders.jsonl",
            "jsonl",
            5,
            &[
                ("customer.name", "name"),
                ("customer.contact.phone", "phone"),
                ("customer.contact.emails", "email"),
            ],
        ),
        (
            "users.csv",
            "csv",
            6,
            &[
                ("full_name", "name"),
                ("mobile", "phone"),
                ("email", "email"),
                ("aadhaar", "national_id"),
                ("dob", "date_of_birth"),
            ],
        ),
    ];
    assert_eq!(files.len(), expected.len());
    for (file, (path, format, records, kinds)) in files.iter().zip(expected) {
        assert_eq!(file["path"], path);
        assert_eq!(file["format"], format, "{path}");
        assert_eq!(file["records"], records, "{path}");
        assert_eq!(file["rejected"], 0, "{path}: {}", file["rejects"]);
        let found = kinds_of(file);
        for (name, kind) in kinds {
            assert!(
                found.contains(&(name.to_string(), kind.to_string())),
                "{path}: {name} should be {kind}: {found:?}"
            );
        }
        for field in file["fields"].as_array().unwrap() {
            let confidence = field["confidence"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&confidence), "{path}: {field}");
        }
    }
}

#[test]
fn csv_records_know_their_ordinal_line_and_offset() {
    let path = data("five/users.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let collected = collect_file(&path);
    assert_eq!(collected.format, Some(Format::Delimited { delimiter: b',' }));
    let starts = ["1,Rahul", "2,\"Patel", "3,\"Anil", "4,Smt.", "5,Dr.", "6,Kavita"];
    assert_eq!(collected.records.len(), starts.len());
    for (index, (record, start)) in collected.records.iter().zip(starts).enumerate() {
        let (offset, line) = position_of(&text, start);
        assert_eq!(record.location.ordinal, index as u64 + 1);
        assert_eq!(
            (record.location.line, record.location.offset),
            (line, offset),
            "{start}"
        );
    }
    let anil = &collected.records[2];
    assert_eq!(anil.field("full_name").unwrap().raw, "Anil \"Andy\" Kumar");
    assert_eq!(anil.field("city").unwrap().raw, "New\nDelhi");
    assert_eq!(anil.field("dob").unwrap().normalized, "1979-01-05");
    let sunita = &collected.records[3];
    let aadhaar = sunita.field("aadhaar").unwrap();
    assert_eq!(
        (aadhaar.normalized.as_str(), aadhaar.validity),
        ("XXXXXXXX2341", Validity::Partial)
    );
    assert_eq!(sunita.field("full_name").unwrap().normalized, "sunita devi");
    for record in &collected.records {
        let phone = record.field("mobile").unwrap();
        assert_eq!(phone.kind, Kind::Phone);
        assert_eq!(phone.validity, Validity::Valid, "{}", phone.raw);
        assert!(
            phone.normalized.starts_with("+91") && phone.normalized.len() == 13,
            "{}",
            phone.normalized
        );
    }
}

#[test]
fn mysql_dump_tuples_columns_escapes_and_null() {
    let path = data("five/legacy.sql");
    let text = std::fs::read_to_string(&path).unwrap();
    let collected = collect_file(&path);
    assert_eq!(collected.format, Some(Format::Sql));
    assert!(collected.rejects.is_empty(), "{:?}", collected.rejects);
    let starts = ["(1,'Rahul", "(2,'Priya", "(3,'Anil", "(4,'Sunita", "(5,'Vijay"];
    for (index, (record, start)) in collected.records.iter().zip(starts).enumerate() {
        let (offset, line) = position_of(&text, start);
        assert_eq!(
            (record.location.ordinal, record.location.line, record.location.offset),
            (index as u64 + 1, line, offset),
            "{start}"
        );
    }
    let rahul = &collected.records[0];
    assert_eq!(
        rahul.field("members.address").unwrap().raw,
        "Flat 3, 'Sai Kripa', MG Road\nPune"
    );
    assert_eq!(rahul.field("members.passport_no").unwrap().normalized, "J8369854");
    let priya = &collected.records[1];
    assert_eq!(
        priya.field("members.address").unwrap().raw,
        "C/O \"Shah\" House; Mumbai"
    );
    assert!(priya.field("members.passport_no").is_none(), "NULL is no value");
    assert!(collected.records[2].field("members.email").is_none());
    assert_eq!(
        collected.records[4].field("members.member_name").unwrap().raw,
        "Vijay O'Brien"
    );
    // Columns from the INSERT's own list.
    assert_eq!(
        collected.records[3].field("members.contact_no").unwrap().normalized,
        "+919765432109"
    );
}

#[test]
fn postgres_copy_with_escapes() {
    let path = data("nasty/pg_dump.sql");
    let text = std::fs::read_to_string(&path).unwrap();
    let collected = collect_file(&path);
    assert!(collected.rejects.is_empty(), "{:?}", collected.rejects);
    assert_eq!(collected.records.len(), 3);
    for (record, start) in collected.records.iter().zip(["1\tRahul", "2\tPriya", "3\tAnil"]) {
        let (offset, line) = position_of(&text, start);
        assert_eq!((record.location.line, record.location.offset), (line, offset));
    }
    assert_eq!(
        collected.records[0].field("customers.note").unwrap().raw,
        "likes; semicolons and 'quotes'"
    );
    assert_eq!(collected.records[1].field("customers.note").unwrap().raw, "tab\there");
    assert!(collected.records[1].field("customers.phone").is_none(), "\\N is NULL");
    assert_eq!(collected.records[2].field("customers.note").unwrap().raw, "line\nbreak");
    assert_eq!(
        collected.records[2].field("customers.phone").unwrap().normalized,
        "+919812345670"
    );
}

#[test]
fn json_lines_paths_and_arrays() {
    let collected = collect_file(&data("five/orders.jsonl"));
    assert_eq!(collected.records.len(), 5);
    let first = &collected.records[0];
    let emails: Vec<&str> = first
        .fields
        .iter()
        .filter(|field| field.name == "customer.contact.emails")
        .map(|field| field.normalized.as_str())
        .collect();
    assert_eq!(emails, ["rahul.sharma@gmail.com", "rs@work.in"]);
    assert_eq!(
        first.field("customer.contact.phone").unwrap().normalized,
        "+919812345678"
    );
    assert_eq!(first.field("shipping.pincode").unwrap().kind, Kind::Pincode);
    assert_eq!(collected.records[2].location.line, 3);
}

#[test]
fn combo_lists_classify_each_value() {
    let collected = collect_file(&data("five/combo.txt"));
    let logins: Vec<(Kind, &str)> = collected
        .records
        .iter()
        .map(|record| {
            let login = record.field("login").unwrap();
            (login.kind, login.normalized.as_str())
        })
        .collect();
    assert_eq!(logins[2], (Kind::Phone, "+919812345678"));
    assert_eq!(logins[0], (Kind::Email, "rahul.sharma@gmail.com"));
    let secrets: Vec<(Kind, &str)> = collected
        .records
        .iter()
        .map(|record| {
            let secret = record.field("secret").unwrap();
            (secret.kind, secret.raw.as_str())
        })
        .collect();
    assert_eq!(secrets[1], (Kind::Password, "pa:ss:word"));
    assert_eq!(secrets[3], (Kind::Password, "secret;with;semicolons"));
    assert_eq!(secrets[4].0, Kind::PasswordHash);
}

#[test]
fn delimiters_and_header_detection() {
    let psv = collect_file(&data("nasty/headerless.psv"));
    assert_eq!(psv.format, Some(Format::Delimited { delimiter: b'|' }));
    assert_eq!(psv.records.len(), 3, "no header: every line is a record");
    assert_eq!(psv.records[0].location.line, 1);
    assert_eq!(psv.records[0].field("col2").unwrap().kind, Kind::Phone);
    assert_eq!(psv.records[0].field("col3").unwrap().kind, Kind::Email);
    let ssv = collect_file(&data("nasty/semicolon.csv"));
    assert_eq!(ssv.format, Some(Format::Delimited { delimiter: b';' }));
    assert_eq!(ssv.records.len(), 2);
    assert_eq!(ssv.records[0].field("Mobile No").unwrap().normalized, "+919812345678");
    assert_eq!(ssv.records[1].field("PIN").unwrap().kind, Kind::Pincode);
}

#[test]
fn encodings_bom_utf16_and_latin1() {
    let bom = collect_file(&data("nasty/bom.csv"));
    assert!(bom.info.as_deref().unwrap().starts_with("utf-8 (bom)"));
    assert_eq!(
        bom.records[0].field("name").unwrap().raw,
        "Rahul Sharma",
        "BOM is not part of the header"
    );
    assert_eq!((bom.records[0].location.line, bom.records[0].location.offset), (2, 14));
    for (name, label) in [
        ("nasty/utf16le.csv", "utf-16le"),
        ("nasty/utf16be_nobom.csv", "utf-16be"),
    ] {
        let utf16 = collect_file(&data(name));
        assert!(
            utf16.info.as_deref().unwrap().starts_with(label),
            "{name}: {:?}",
            utf16.info
        );
        assert!(!utf16.records.is_empty());
        assert_eq!(
            utf16.records[0].field("phone").unwrap().validity,
            Validity::Valid,
            "{name}"
        );
        assert!(
            utf16.records[0].field("name").unwrap().raw.ends_with("Kumar")
                || utf16.records[0].field("name").unwrap().raw == "Rahul Sharma"
        );
    }
    let latin1 = collect_file(&data("nasty/latin1.csv"));
    assert_eq!(latin1.records.len(), 2, "never dropped");
    assert!(latin1.records[0].latin1);
    assert!(!latin1.records[1].latin1);
    assert_eq!(latin1.records[0].field("name").unwrap().raw, "José Fernández");
    assert_eq!(latin1.summary.as_ref().unwrap().as_ref().unwrap().latin1_records, 1);
}

#[test]
fn malformed_records_are_rejected_with_location_and_the_file_goes_on() {
    let path = data("nasty/malformed.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let collected = collect_file(&path);
    let names: Vec<&str> = collected
        .records
        .iter()
        .map(|record| record.field("name").unwrap().raw.as_str())
        .collect();
    assert_eq!(
        names,
        ["Rahul", "Kiran", "Meena", "Ravi", "Divya", "Nisha", "Arun", "Sunita"]
    );
    let expected = [
        ("Priya,", "expected 3 fields, found 2"),
        ("Anil,", "expected 3 fields, found 4"),
        ("\"Broken", "unterminated quoted field"),
    ];
    assert_eq!(collected.rejects.len(), expected.len());
    for (reject, (start, reason)) in collected.rejects.iter().zip(expected) {
        let (offset, line) = position_of(&text, start);
        assert_eq!(reject, &(line, offset, reason.to_string()));
    }
    let summary = collected.summary.unwrap().unwrap();
    assert_eq!((summary.records, summary.rejected), (8, 3));
    // Ordinals count records only.
    assert_eq!(collected.records.last().unwrap().location.ordinal, 8);
}

#[test]
fn unreadable_files_are_reported_and_the_others_go_on() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(data("five/users.csv"), dir.path().join("users.csv")).unwrap();
    std::fs::write(
        dir.path().join("broken.csv.gz"),
        b"\x1f\x8b\x08\x00garbage that is not deflate",
    )
    .unwrap();
    std::fs::write(dir.path().join("broken.zip"), b"PK\x03\x04 not really a zip").unwrap();
    let missing = dir.path().join("missing.csv");
    let (files, unreadable) = collect(&[dir.path().to_path_buf(), missing], &ScanOptions::default());
    assert_eq!(files["users.csv"].records.len(), 6);
    assert!(files["broken.csv.gz"].summary.as_ref().unwrap().is_err());
    assert_eq!(unreadable.len(), 2, "{unreadable:?}");
    assert!(unreadable.iter().any(|error| error.contains("broken.zip")));
    assert!(unreadable.iter().any(|error| error.contains("missing.csv")));
}

#[test]
fn compressed_and_archived_inputs_read_like_plain_files() {
    let plain_path = data("five/users.csv");
    let plain_bytes = std::fs::read(&plain_path).unwrap();
    let plain = collect_file(&plain_path).records;
    let dir = tempfile::tempdir().unwrap();
    // gzip and zstd, named without their usual suffixes: detection is by content.
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(&plain_bytes).unwrap();
    let gzip_bytes = gzip.finish().unwrap();
    std::fs::write(dir.path().join("users.gz.dat"), &gzip_bytes).unwrap();
    std::fs::write(
        dir.path().join("users.csv.zst"),
        zstd::encode_all(plain_bytes.as_slice(), 3).unwrap(),
    )
    .unwrap();
    let archive = std::fs::File::create(dir.path().join("dump.zip")).unwrap();
    let mut zip = zip::ZipWriter::new(archive);
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.add_directory("inner/", options).unwrap();
    zip.start_file("inner/users.csv", options).unwrap();
    zip.write_all(&plain_bytes).unwrap();
    zip.start_file("inner/users.csv.gz", options).unwrap();
    zip.write_all(&gzip_bytes).unwrap();
    zip.finish().unwrap();
    let (files, unreadable) = collect(&[dir.path().to_path_buf()], &ScanOptions::default());
    assert!(unreadable.is_empty(), "{unreadable:?}");
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "dump.zip/inner/users.csv",
            "dump.zip/inner/users.csv.gz",
            "users.csv.zst",
            "users.gz.dat"
        ]
    );
    for (name, collected) in &files {
        assert_eq!(collected.records, plain, "{name}");
    }
    assert!(files["users.gz.dat"].info.as_deref().unwrap().contains("gzip"));
    assert!(files["users.csv.zst"].info.as_deref().unwrap().contains("zstd"));
}

#[test]
fn free_text_extracts_identifiers_line_by_line() {
    let collected = collect_file(&data("nasty/paste.txt"));
    assert_eq!(collected.format, Some(Format::Text));
    assert_eq!(collected.records.len(), 4, "non-blank lines");
    let rahul = &collected.records[1];
    let kinds: Vec<(Kind, &str)> = rahul
        .fields
        .iter()
        .map(|field| (field.kind, field.normalized.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (Kind::Phone, "+919812345678"),
            (Kind::Email, "rahul.sharma@gmail.com"),
            (Kind::NationalId, "234567890124")
        ]
    );
    assert!(collected.records[3].fields.is_empty());
    assert_eq!(collected.records[3].location.line, 5);
}

#[test]
fn forced_format_overrides_sniffing() {
    let options = ScanOptions {
        format: Some(Format::Text),
        ..ScanOptions::default()
    };
    let (files, _) = collect(&[data("five/users.csv")], &options);
    let collected = &files["users.csv"];
    assert_eq!(collected.format, Some(Format::Text));
    // Header and the quoted continuation line are lines of text too.
    assert_eq!(collected.records.len(), 8);
}

#[test]
fn demo_ingests_and_looks_up_a_suspect_sample() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let output = Command::new(env!("CARGO_BIN_EXE_leakdex"))
        .args(["demo", "--records", "300", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).unwrap();
    for corpus in [
        "vaccination",
        "telecom_kyc",
        "shop_orders",
        "combo_list",
        "legacy_portal",
    ] {
        assert!(
            text.contains(&format!("ingested {corpus:<14}      300 records")),
            "{corpus}: {text}"
        );
    }
    let summary = text
        .lines()
        .find(|line| line.starts_with("looked up 1000 suspect phone numbers"))
        .expect(&text);
    let found: usize = summary
        .split(": ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // About a tenth of the sample is fabricated.
    assert!((800..=960).contains(&found), "{summary}");
    assert!(out.join("data/catalog.json").exists());
}

#[test]
fn inspect_exits_nonzero_when_a_path_is_unreadable() {
    let output = Command::new(env!("CARGO_BIN_EXE_leakdex"))
        .args(["inspect", "--json"])
        .arg(data("five/users.csv"))
        .arg(data("no/such/file.csv"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["records"], 6, "the readable file is still reported");
    assert!(report["errors"][0]["error"].as_str().unwrap().contains("file.csv"));
}
