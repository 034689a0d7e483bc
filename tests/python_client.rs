//! Another agency's Python client (stubs generated from `proto/` with grpcio-tools, in a virtual
//! environment the tests make under `target/`) streams 100k lookups through `leakdex serve`; its
//! answers must equal the CLI's.

use crate::common::{Child, data as fixture, leakdex, serve, stdout_of};
use leakdex::service::client::connect;
use std::path::Path;
use std::process::{Command, Stdio};

/// The tests' Python (with grpcio) running `tests/python/{script}`.
fn python(script: &str) -> Command {
    let mut command = Command::new(crate::common::setup::python());
    command.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python").join(script));
    command
}

/// A `leakdex serve` child on a free port: the child, its address, and its next `more` lines of
/// stderr. The rest of stderr is drained on a thread: a server whose stderr is closed fails to log.
fn serve_child(data: &Path, extra: &[&str], more: usize) -> (Child, String, Vec<String>) {
    serve(leakdex(data), extra, more)
}

/// Ingests the fixture corpus `five` with the CLI (extra `options`, such as `--no-text`).
fn ingest_five(data: &Path, options: &[&str]) {
    let status = leakdex(data)
        .args(["ingest", "--corpus", "five"])
        .args(options)
        .arg(fixture("five"))
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
}

/// Issues a token with the CLI, as an operator would.
fn issue_token(data: &Path, name: &str, role: &str) -> String {
    let output = leakdex(data)
        .args(["token", "create", "--name", name, "--role", role])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

#[test]
fn the_readme_grpcurl_examples_run_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    ingest_five(&data, &[]);
    let token = issue_token(&data, "readme", "investigator");
    let (_server, address, _) = serve_child(&data, &[], 0);
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let printed = stdout_of(
        python("readme_grpcurl.py").arg(readme).arg(&address).arg(&token),
        "a README example",
    );
    let calls: Vec<serde_json::Value> = String::from_utf8(printed)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let methods: Vec<&str> = calls.iter().map(|call| call["method"].as_str().unwrap()).collect();
    assert_eq!(
        methods,
        [
            "leakdex.v1.Lookup/BatchLookup",
            "leakdex.v1.Lookup/Search",
            "leakdex.v1.Corpora/List",
            "leakdex.v1.Provenance/Match"
        ]
    );
    let lookup = &calls[0]["responses"][0];
    assert_eq!(lookup["normalized"], "+919812345678");
    assert_eq!(lookup["hits"].as_array().unwrap().len(), 5, "{lookup}");
    assert_eq!(calls[2]["responses"][0]["corpora"][0]["name"], "five");
    assert_eq!(calls[3]["responses"][0]["id"], "1");
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

    let partner = issue_token(&data, "another-agency", "investigator");
    let (_server, address, _) = serve_child(&data, &[], 0);

    let out = dir.path().join("python.jsonl");
    let proto = Path::new(env!("CARGO_MANIFEST_DIR")).join("proto");
    let printed = stdout_of(
        python("batch_lookup_client.py")
            .env("LEAKDEX_TOKEN", &partner)
            .arg(&address)
            .arg(&proto)
            .arg(&queries)
            .arg(&out),
        "python client",
    );
    let summary: serde_json::Value = serde_json::from_slice(&printed).unwrap();
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
    assert_eq!(
        summary["range_found"], true,
        "the private lookup found the known identifier"
    );
}

/// The README's Python client (the first `python` block after `heading`), with its stubs
/// generated as the README says, in `dir`; the command that runs it.
fn readme_python(dir: &Path, heading: &str) -> Command {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = &readme[readme.find(heading).expect("the README's Python section")..];
    let start = section.find("```python\n").expect("a python block") + "```python\n".len();
    let code = &section[start..start + section[start..].find("```").unwrap()];
    std::fs::write(dir.join("client.py"), code).unwrap();
    let proto = Path::new(env!("CARGO_MANIFEST_DIR")).join("proto");
    stdout_of(
        Command::new(crate::common::setup::python())
            .current_dir(dir)
            .args(["-m", "grpc_tools.protoc"])
            .arg(format!("-I{}", proto.display()))
            .args(["--python_out=.", "--grpc_python_out=.", "leakdex/v1/lookup.proto"]),
        "generating the README's stubs",
    );
    let mut command = Command::new(crate::common::setup::python());
    command.current_dir(dir).arg("client.py");
    command
}

/// What `command` prints for `values` on its standard input, and whether it succeeded.
fn run_with_input(command: &mut Command, values: &[String]) -> (bool, String, String) {
    use std::io::Write;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = values.join("\n");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn the_readme_python_client_runs_as_written_with_a_token_and_with_mutual_tls() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    ingest_five(&data, &["--no-text"]);
    let client = dir.path().join("client");
    std::fs::create_dir_all(&client).unwrap();
    let readme_client = || readme_python(&client, "### From Python, at full speed");
    // Three messages' worth, a value that cannot be read among them.
    let mut values: Vec<String> = (0..2500).map(|_| "+91 98123 45678".to_string()).collect();
    values[1] = "not an identifier!".into();

    let token = issue_token(&data, "agency", "investigator");
    let (_server, address, _) = serve_child(&data, &[], 0);
    let (ok, printed, errors) = run_with_input(readme_client().env("LEAKDEX_TOKEN", &token).arg(&address), &values);
    assert!(ok, "{errors}");
    let lines: Vec<Vec<&str>> = printed.lines().map(|line| line.split('\t').collect()).collect();
    assert_eq!(lines.len(), values.len() + 1, "{printed:.500}");
    for (position, line) in lines[..values.len()].iter().enumerate() {
        assert_eq!(line[0], position.to_string(), "answers in order");
        if position == 1 {
            assert_eq!(line[1], "error");
            assert!(line[2].contains("cannot tell"), "{line:?}");
            continue;
        }
        assert_eq!(line[1], "+919812345678");
        assert_eq!(line[2].split(", ").count(), 5, "{line:?}");
        assert!(line[2].starts_with("five:"), "locations for an investigator: {line:?}");
    }
    let services = &lines[values.len()];
    assert_eq!(services[0], "services", "reflection through the interceptor");
    assert!(services[1].contains("leakdex.v1.Lookup"), "{services:?}");
    // Refusals reach the caller as a message naming the status.
    let (ok, _, errors) = run_with_input(
        readme_client()
            .env("LEAKDEX_TOKEN", "ldx_0123456789abcdef")
            .arg(&address),
        &values[..3],
    );
    assert!(!ok && errors.contains("leakdex: UNAUTHENTICATED"), "{errors}");

    // Mutual TLS: a partner's certificate, registered by its fingerprint.
    let ca = crate::common::tls::TestCa::new("agency test CA");
    let (server_cert, server_key) = ca.sign("localhost");
    let (partner_cert, partner_key) = ca.sign("partner-agency");
    let pem = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let (ca_path, partner_cert_path) = (pem("ca.pem", &ca.pem), pem("partner.pem", &partner_cert));
    let registered = leakdex(&data)
        .args([
            "token",
            "create",
            "--name",
            "partner-agency",
            "--role",
            "partner",
            "--certificate",
        ])
        .arg(&partner_cert_path)
        .output()
        .unwrap();
    assert!(
        registered.status.success(),
        "{}",
        String::from_utf8_lossy(&registered.stderr)
    );
    let tls = [
        "--tls-cert".to_string(),
        pem("server.pem", &server_cert),
        "--tls-key".to_string(),
        pem("server.key", &server_key),
        "--client-ca".to_string(),
        ca_path.clone(),
    ];
    let tls: Vec<&str> = tls.iter().map(String::as_str).collect();
    let (_tls_server, tls_address, _) = serve_child(&data, &tls, 0);
    let port = tls_address.rsplit(':').next().unwrap();
    let (ok, printed, errors) = run_with_input(
        readme_client()
            .env("LEAKDEX_CA", &ca_path)
            .env("LEAKDEX_CERT", &partner_cert_path)
            .env("LEAKDEX_KEY", pem("partner.key", &partner_key))
            .arg(format!("localhost:{port}")),
        &values[..3],
    );
    assert!(ok, "{errors}");
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(
        lines,
        [
            "0\t+919812345678\tfive x5",
            &format!("1\terror\t{}", lines[1].split('\t').nth(2).unwrap()),
            "2\t+919812345678\tfive x5",
        ],
        "a partner learns corpora and counts"
    );
}

/// The bench's Python client (`benches/clients.rs`), run small: one identifier per message and
/// in batches of two sizes, it gets every answer, in order, with the hits the CLI finds.
#[test]
fn the_bench_python_client_gets_the_cli_answers_one_per_message_and_in_batches() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let dumps = dir.path().join("dumps");
    leakdex::synth::generate(&dumps, 2000, 1).unwrap();
    let status = leakdex(&data)
        .args(["ingest", "--no-text", "--corpus", "vaccination"])
        .arg(dumps.join("vaccination.csv"))
        .status()
        .unwrap();
    assert!(status.success());
    let mut values = leakdex::synth::suspect_phones(2000, 1, 3000);
    values[5] = "not an identifier!".into();
    let queries = dir.path().join("queries.txt");
    std::fs::write(&queries, values.join("\n")).unwrap();
    let cli = leakdex(&data)
        .args(["lookup", "--json", "--file"])
        .arg(&queries)
        .output()
        .unwrap();
    assert!(cli.status.success(), "{}", String::from_utf8_lossy(&cli.stderr));
    let expected: usize = String::from_utf8(cli.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .map(|answer| answer["hits"].as_array().map_or(0, Vec::len))
        .sum();
    assert!(expected > 1000, "{expected}");

    let token = issue_token(&data, "bench", "investigator");
    let (_server, address, _) = serve_child(&data, &[], 0);
    let (ok, printed, errors) = run_with_input(
        python("throughput_client.py")
            .env("LEAKDEX_TOKEN", &token)
            .arg(&address)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("proto"))
            .arg(&queries),
        &[
            "single 3000".into(),
            "batched 3000 1000".into(),
            "batched 3000 7".into(),
        ],
    );
    assert!(ok, "{errors}");
    let runs: Vec<serde_json::Value> = printed
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(runs.len(), 3, "{printed}");
    for run in &runs {
        assert_eq!(run["answered"], 3000, "{run}");
        assert_eq!(run["hits"], expected, "{run}");
    }
}

/// Peak and current resident memory of a process, in KiB.
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|value| value.parse().ok())
            .unwrap()
    };
    (field("VmHWM:"), field("VmRSS:"))
}

#[test]
fn a_million_request_stream_runs_in_bounded_server_memory_and_survives_cancellation() {
    use leakdex::service::proto::{LookupRequest, lookup_client::LookupClient};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    ingest_five(&data, &["--no-text"]);
    let token = issue_token(&data, "batch-job", "investigator");
    // Resident memory should show what the server holds, not what the allocator keeps for reuse:
    // mimalloc returns freed pages to the OS only when the freeing thread allocates again, so
    // idle worker threads would keep tens of MB of already freed answers resident. The server
    // runs with that delay off here (it costs a third of its throughput, so not in production).
    let mut command = leakdex(&data);
    command.env("MIMALLOC_PURGE_DELAY", "0");
    let (server, address, _) = serve(command, &[], 0);
    let pid = server.0.id();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let channel = connect(&format!("http://{address}"), Some(&token)).await.unwrap();
        // Warm up first: numbering-plan tables, thread pools and index pages are paid once.
        let warm = (0..10_000usize).map(|id| LookupRequest {
            id: id.to_string(),
            value: "9812345678".into(),
            kind: 0,
            corpora: Vec::new(),
            ..Default::default()
        });
        let mut warming = LookupClient::new(channel.clone())
            .batch_lookup(tokio_stream::iter(warm))
            .await
            .unwrap()
            .into_inner();
        while warming.message().await.unwrap().is_some() {}
        let (_, baseline) = memory_kib(pid);
        let requests = tokio_stream::iter((0..1_000_000usize).map(|id| LookupRequest {
            id: id.to_string(),
            value: "9812345678".into(),
            kind: 0,
            corpora: Vec::new(),
            ..Default::default()
        }));
        let mut client = LookupClient::new(channel.clone());
        let mut stream = client.batch_lookup(requests).await.unwrap().into_inner();
        // Read nothing for a while: flow control must stop the server, not its memory.
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        let (_, stalled) = memory_kib(pid);
        assert!(
            stalled < baseline + 64 * 1024,
            "server grew from {baseline} KiB to {stalled} KiB while the client did not read"
        );
        let mut answered = 0usize;
        while let Some(response) = stream.message().await.unwrap() {
            assert_eq!(response.hits.len(), 5);
            answered += 1;
        }
        assert_eq!(answered, 1_000_000);
        let (peak, _) = memory_kib(pid);
        assert!(
            peak < baseline + 128 * 1024,
            "peak {peak} KiB from a baseline of {baseline} KiB"
        );

        // Cancel a stream part-way; the server goes on serving others.
        let endless = tokio_stream::iter((0..200_000usize).map(|id| LookupRequest {
            id: id.to_string(),
            value: "9812345678".into(),
            kind: 0,
            corpora: Vec::new(),
            ..Default::default()
        }));
        let mut cancelled = LookupClient::new(channel.clone())
            .batch_lookup(endless)
            .await
            .unwrap()
            .into_inner();
        for _ in 0..1000 {
            cancelled.message().await.unwrap().unwrap();
        }
        drop(cancelled);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        // Another client, on its own connection, is served as before.
        let fresh = connect(&format!("http://{address}"), Some(&token)).await.unwrap();
        let again = LookupClient::new(fresh)
            .batch_lookup(tokio_stream::iter(vec![LookupRequest {
                id: "x".into(),
                value: "9812345678".into(),
                kind: 0,
                corpora: Vec::new(),
                ..Default::default()
            }]))
            .await
            .unwrap()
            .into_inner()
            .message()
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.id, "x");
    });
}

#[test]
fn the_cli_through_a_server_prints_what_the_local_cli_prints() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    ingest_five(&data, &["--acquired", "2023-06-12"]);
    let investigator = issue_token(&data, "investigator", "investigator");
    let ingester = issue_token(&data, "ingest-job", "ingest");
    let (_server, address, _) = serve_child(&data, &["--ingest-root", fixture("").to_str().unwrap()], 0);
    let url = format!("http://{address}");
    let queries = dir.path().join("queries.txt");
    std::fs::write(
        &queries,
        "9812345678\n+91 98765 43210\n???\nPRIYA.P@yahoo.co.in\n2345 6789 0124\nnobody@nowhere.in\n",
    )
    .unwrap();
    let commands: Vec<Vec<String>> = vec![
        vec![
            "lookup".into(),
            "--json".into(),
            "--file".into(),
            queries.display().to_string(),
        ],
        vec!["lookup".into(), "--file".into(), queries.display().to_string()],
        vec![
            "lookup".into(),
            "--json".into(),
            "--kind".into(),
            "phone".into(),
            "98123 45678".into(),
        ],
        vec!["search".into(), "--json".into(), "name:rahul".into()],
        vec![
            "show".into(),
            "--json".into(),
            "--corpus".into(),
            "five".into(),
            "--file".into(),
            "legacy.sql".into(),
            "--record".into(),
            "2".into(),
        ],
        vec!["corpora".into(), "--json".into()],
        vec!["corpora".into()],
    ];
    // Ingest: the same report but for the corpus name and the new segment's id.
    let dump = fixture("nasty/malformed.csv");
    let ingest = |server: Option<&str>, corpus: &str| -> serde_json::Value {
        let mut command = leakdex(&data);
        if let Some(url) = server {
            command.arg("--server").arg(url).env("LEAKDEX_TOKEN", &ingester);
        }
        let output = command
            .args(["ingest", "--json", "--no-text", "--corpus", corpus])
            .arg(&dump)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let mut report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(report["segments"].as_array().unwrap().len(), 1);
        report["corpus"] = serde_json::Value::Null;
        report["segments"] = serde_json::Value::Null;
        report
    };
    let local_report = ingest(None, "local");
    assert_eq!(local_report["rejected"], 3);
    assert_eq!(local_report, ingest(Some(&url), "remote"));
    for command in commands {
        let local = leakdex(&data).args(&command).output().unwrap();
        let remote = leakdex(&data)
            .arg("--server")
            .arg(&url)
            .arg("--token")
            .arg(&investigator)
            .args(&command)
            .output()
            .unwrap();
        assert!(
            local.status.success(),
            "{command:?}: {}",
            String::from_utf8_lossy(&local.stderr)
        );
        assert!(
            remote.status.success(),
            "{command:?}: {}",
            String::from_utf8_lossy(&remote.stderr)
        );
        assert!(!local.stdout.is_empty());
        assert_eq!(
            String::from_utf8_lossy(&local.stdout),
            String::from_utf8_lossy(&remote.stdout),
            "{command:?}"
        );
    }
}

#[test]
fn prometheus_metrics_count_calls_lookups_and_hits() {
    use leakdex::service::proto::{LookupRequest, lookup_client::LookupClient};
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    ingest_five(&data, &["--no-text"]);
    let token = issue_token(&data, "investigator", "investigator");
    let monitor = issue_token(&data, "prometheus", "monitor");
    let (_server, address, more) = serve_child(&data, &["--metrics-listen", "127.0.0.1:0"], 1);
    let metrics_url = more[0]
        .strip_prefix("leakdex: metrics on http://")
        .unwrap()
        .trim_end_matches("/metrics")
        .to_string();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let channel = connect(&format!("http://{address}"), Some(&token)).await.unwrap();
        let requests = (0..300usize).map(|id| LookupRequest {
            id: id.to_string(),
            value: if id % 3 == 0 {
                "9812345678".into()
            } else {
                "nobody@nowhere.in".into()
            },
            kind: 0,
            corpora: Vec::new(),
            ..Default::default()
        });
        let mut stream = LookupClient::new(channel)
            .batch_lookup(tokio_stream::iter(requests))
            .await
            .unwrap()
            .into_inner();
        while stream.message().await.unwrap().is_some() {}
    });
    let scrape = |token: Option<&str>| {
        let mut connection = std::net::TcpStream::connect(&metrics_url).unwrap();
        let authorization = token.map_or_else(String::new, |token| format!("Authorization: Bearer {token}\r\n"));
        write!(connection, "GET /metrics HTTP/1.0\r\n{authorization}\r\n").unwrap();
        let mut body = String::new();
        connection.read_to_string(&mut body).unwrap();
        body
    };
    // The metrics endpoint is not open to anyone: no token, or a token of a data role.
    assert!(scrape(None).starts_with("HTTP/1.0 401"), "{}", scrape(None));
    assert!(
        scrape(Some(&token)).starts_with("HTTP/1.0 403"),
        "{}",
        scrape(Some(&token))
    );
    let body = scrape(Some(&monitor));
    assert!(body.contains("leakdex_lookups_total 300"), "{body}");
    // A hundred phones, each in five files.
    assert!(body.contains("leakdex_hits_total 500"), "{body}");
    assert!(body.contains("leakdex_requests_total{rpc=\"BatchLookup\"} 1"), "{body}");
    assert!(body.contains("leakdex_segments 1"), "{body}");
    assert!(body.contains("leakdex_lookup_batch_seconds_count"), "{body}");
    assert!(body.contains("leakdex_audit_writes "), "{body}");
}
