//! The audit log of local commands: every question is on the record, without its values, and
//! tampering is named by `audit verify`.

use crate::common::{indexed_corpora, leakdex};
use leakdex::segment::BuildOptions;
use leakdex::synth::Person;
use std::path::Path;

fn run(data: &Path, user: &str, args: &[&str]) -> std::process::Output {
    let output = leakdex(data).env("USER", user).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[test]
fn local_commands_are_audited_without_raw_values_and_tampering_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _catalog) = indexed_corpora(dir.path(), 300, &BuildOptions::default());
    let person = Person::new(11, 10);
    let phone = format!("+91 {}", person.mobile);
    run(data.root(), "asha", &["lookup", &phone, "not-a-phone-or-anything"]);
    let query = format!("name:\"{}\"", person.name().to_lowercase());
    run(data.root(), "asha", &["search", &query]);
    run(
        data.root(),
        "ravi",
        &[
            "show",
            "--corpus",
            "vaccination",
            "--file",
            "vaccination.csv",
            "--record",
            "11",
        ],
    );

    let shown = run(data.root(), "auditor", &["audit", "show", "--json"]);
    let entries: Vec<serde_json::Value> = String::from_utf8_lossy(&shown.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let calls: Vec<(&str, &str, u64)> = entries
        .iter()
        .map(|entry| {
            (
                entry["principal"].as_str().unwrap(),
                entry["rpc"].as_str().unwrap(),
                entry["queries"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        calls,
        [
            ("local:asha", "Lookup", 2),
            ("local:asha", "Search", 1),
            ("local:ravi", "GetRecord", 1)
        ]
    );
    assert!(entries[0]["hits"].as_u64().unwrap() >= 1, "{}", entries[0]);
    assert_eq!(entries[0]["asked"].as_array().unwrap().len(), 2);
    let by_ravi = run(data.root(), "auditor", &["audit", "show", "--principal", "local:ravi"]);
    let by_ravi = String::from_utf8_lossy(&by_ravi.stdout);
    assert_eq!(by_ravi.lines().count(), 1, "{by_ravi}");
    assert!(by_ravi.contains("GetRecord"));
    let tomorrow = run(data.root(), "auditor", &["audit", "show", "--since", "2999-01-01"]);
    assert!(tomorrow.stdout.is_empty());

    // What was asked is kept as keyed fingerprints, never as values.
    let log = std::fs::read_to_string(data.root().join("audit.log")).unwrap();
    for raw in [
        person.mobile.as_str(),
        person.first,
        person.last,
        &person.name().to_lowercase(),
    ] {
        assert!(
            !log.to_lowercase().contains(&raw.to_lowercase()),
            "{raw} in the audit log"
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.root().join("audit.log"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let verified = run(data.root(), "auditor", &["audit", "verify"]);
    assert!(String::from_utf8_lossy(&verified.stdout).starts_with("ok: 3 entries"));
    std::fs::write(data.root().join("audit.log"), log.replace("local:ravi", "local:asha")).unwrap();
    let tampered = leakdex(data.root()).args(["audit", "verify"]).output().unwrap();
    assert!(!tampered.status.success());
    let report = String::from_utf8_lossy(&tampered.stdout);
    assert!(report.contains("TAMPERED line 3: entry 3 was edited"), "{report}");
}
