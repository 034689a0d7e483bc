//! Another agency's Python client (stubs generated from `proto/` with grpcio-tools, installed by
//! `.ci/run`) streams 100k lookups through `leakdex serve`; its answers must equal the CLI's.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

fn leakdex(data: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_leakdex"));
    command.arg("--data-dir").arg(data);
    command
}

/// Kills the server child even when an assertion fails.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn python_client_answers_equal_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let dumps = dir.path().join("dumps");
    let records = 20_000;
    leakdex::synth::generate(&dumps, records, 1).unwrap();
    for corpus in ["vaccination.csv", "telecom_kyc.tsv.gz"] {
        let name = corpus.split('.').next().unwrap();
        let status = leakdex(&data)
            .args(["ingest", "--no-text", "--corpus", name])
            .arg(dumps.join(corpus))
            .status()
            .unwrap();
        assert!(status.success());
    }
    let queries = dir.path().join("queries.txt");
    let mut values = leakdex::synth::suspect_phones(records, 1, 100_000);
    values[7] = "not an identifier!".to_string();
    std::fs::write(&queries, values.join("\n")).unwrap();

    let cli = leakdex(&data)
        .args(["lookup", "--json", "--file"])
        .arg(&queries)
        .output()
        .unwrap();
    assert!(cli.status.success(), "{}", String::from_utf8_lossy(&cli.stderr));

    let mut server = Child(
        leakdex(&data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stderr = BufReader::new(server.0.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let address = line
        .trim()
        .strip_prefix("leakdex: serving on ")
        .unwrap_or_else(|| panic!("{line}"))
        .to_string();

    let out = dir.path().join("python.jsonl");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/batch_lookup_client.py");
    let proto = Path::new(env!("CARGO_MANIFEST_DIR")).join("proto");
    let python = Command::new("python3")
        .arg(&script)
        .arg(&address)
        .arg(&proto)
        .arg(&queries)
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        python.status.success(),
        "python client failed: {}",
        String::from_utf8_lossy(&python.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&python.stdout).unwrap();
    assert_eq!(summary["answered"], 100_000);

    let expected: Vec<serde_json::Value> = String::from_utf8(cli.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let actual: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(expected.len(), actual.len());
    let mut with_hits = 0;
    for (cli, python) in expected.iter().zip(&actual) {
        assert_eq!(cli["query"], python["query"]);
        if cli.get("error").is_some() {
            assert_eq!(cli["error"], python["error"], "{cli}");
            continue;
        }
        assert_eq!(cli["normalized"], python["normalized"]);
        let strip = |hits: &serde_json::Value| -> Vec<serde_json::Value> {
            hits.as_array()
                .unwrap()
                .iter()
                .map(|hit| {
                    serde_json::json!({"corpus": hit["corpus"], "file": hit["file"], "record": hit["record"],
                        "line": hit["line"], "offset": hit["offset"], "field": hit["field"]})
                })
                .collect()
        };
        assert_eq!(strip(&cli["hits"]), strip(&python["hits"]), "{cli}");
        with_hits += usize::from(!cli["hits"].as_array().unwrap().is_empty());
    }
    assert!(with_hits > 80_000, "the sample is mostly real numbers: {with_hits}");
    assert!(summary["reflection_hits"].as_u64().unwrap() > 0);
}
