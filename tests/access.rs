//! Every call with no credentials, a revoked token and each role: allowed calls answer with what
//! the role may see, the others are refused with the right code.

use crate::common::tls::TestCa;
use crate::common::{indexed_corpora, lookups};
use leakdex::access::role::Role;
use leakdex::access::token::TokenStore;
use leakdex::segment::BuildOptions;
use leakdex::segment::text::build_text_index;
use leakdex::service::client::{Connection, connect};
use leakdex::service::proto::{
    self, corpora_client::CorporaClient, lookup_client::LookupClient, provenance_client::ProvenanceClient,
};
use leakdex::synth::Person;
use tonic::Code;

fn code<T>(result: Result<T, tonic::Status>) -> Code {
    result.map_or_else(|status| status.code(), |_| Code::Ok)
}

/// The code of every call, in a fixed order, made with `connection`.
async fn codes(connection: &Connection, phone: &str) -> Vec<(&'static str, Code)> {
    let mut lookup = LookupClient::new(connection.clone());
    let mut corpora = CorporaClient::new(connection.clone());
    let mut provenance = ProvenanceClient::new(connection.clone());
    let request = proto::LookupRequest {
        id: "1".into(),
        value: phone.to_string(),
        ..Default::default()
    };
    let one_lookup = || tokio_stream::iter([request.clone()]);
    let record = proto::SuspectRecord {
        fields: vec![proto::SuspectField {
            name: "mobile".into(),
            value: phone.to_string(),
        }],
    };
    let prefix = leakdex::query::range::hash_parts(&format!("+91{phone}")).0;
    let one_batch = || {
        tokio_stream::iter([proto::LookupBatch {
            requests: vec![request.clone()],
        }])
    };
    let mut results = vec![
        ("BatchLookup", code(lookup.batch_lookup(one_lookup()).await)),
        ("LookupBatches", code(lookup.lookup_batches(one_batch()).await)),
        (
            "RangeLookup",
            code(lookup.range_lookup(proto::RangeLookupRequest { prefix }).await),
        ),
        (
            "Search",
            code(
                lookup
                    .search(proto::SearchRequest {
                        query: "name:rahul".into(),
                        limit: 3,
                        corpora: Vec::new(),
                        plain: false,
                    })
                    .await,
            ),
        ),
        (
            "GetRecord",
            code(
                lookup
                    .get_record(proto::GetRecordRequest {
                        corpus: "vaccination".into(),
                        file: "vaccination.csv".into(),
                        record: 3,
                    })
                    .await,
            ),
        ),
        ("List", code(corpora.list(proto::ListCorporaRequest {}).await)),
        (
            "Get",
            code(
                corpora
                    .get(proto::GetCorpusRequest {
                        name: "vaccination".into(),
                    })
                    .await,
            ),
        ),
        (
            "Ingest",
            code(
                corpora
                    .ingest(proto::IngestRequest {
                        corpus: "new".into(),
                        paths: Vec::new(),
                        ..Default::default()
                    })
                    .await,
            ),
        ),
        (
            "Upload",
            code(
                corpora
                    .upload(tokio_stream::iter(Vec::<proto::UploadChunk>::new()))
                    .await,
            ),
        ),
        (
            "WatchJob",
            code(corpora.watch_job(proto::WatchJobRequest { id: "nope".into() }).await),
        ),
        (
            "Delete",
            code(corpora.delete(proto::DeleteCorpusRequest { name: "nope".into() }).await),
        ),
        (
            "Match",
            code(
                provenance
                    .r#match(tokio_stream::iter([proto::MatchRequest {
                        id: "1".into(),
                        record: Some(record.clone()),
                        ..Default::default()
                    }]))
                    .await,
            ),
        ),
        (
            "MatchBatches",
            code(
                provenance
                    .match_batches(tokio_stream::iter([proto::MatchBatch {
                        requests: vec![proto::MatchRequest {
                            id: "1".into(),
                            record: Some(record.clone()),
                            ..Default::default()
                        }],
                    }]))
                    .await,
            ),
        ),
        (
            "Attribute",
            code(
                provenance
                    .attribute(tokio_stream::iter([proto::AttributeRequest {
                        input: Some(proto::attribute_request::Input::Records(proto::SuspectBatch {
                            records: vec![record],
                        })),
                        ..Default::default()
                    }]))
                    .await,
            ),
        ),
    ];
    let mut reflection =
        tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient::new(connection.clone());
    let listed = reflection
        .server_reflection_info(tokio_stream::iter([
            tonic_reflection::pb::v1::ServerReflectionRequest {
                host: String::new(),
                message_request: Some(
                    tonic_reflection::pb::v1::server_reflection_request::MessageRequest::ListServices(String::new()),
                ),
            },
        ]))
        .await;
    let reflected = match listed {
        Ok(response) => code(response.into_inner().message().await),
        Err(status) => status.code(),
    };
    results.push(("Reflection", reflected));
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_is_authenticated_authorized_and_redacted_by_role() {
    let dir = tempfile::tempdir().unwrap();
    let (data, catalog) = indexed_corpora(dir.path(), 300, &BuildOptions::default());
    for corpus in leakdex::catalog::Catalog::corpora(&*catalog).unwrap() {
        for segment in corpus.published() {
            build_text_index(&data, &segment.id).unwrap();
        }
    }
    let store = TokenStore::new(&data);
    let mut tokens = Vec::new();
    for role in Role::ALL {
        tokens.push((role, store.create(role.as_str(), role).unwrap().1));
    }
    let (_, revoked) = store.create("former-partner", Role::Partner).unwrap();
    // A canary planted with the phone looked up below (as if that record were a planted one).
    let planted = dir.path().join("planted.csv");
    std::fs::write(
        &planted,
        format!("name,mobile\nPlanted Person,{}\n", Person::new(11, 200).mobile),
    )
    .unwrap();
    let canary = leakdex::catalog::Corpus {
        source: Some("copy-b".into()),
        ..leakdex::catalog::Corpus::new("canary-copy-b", leakdex::catalog::CorpusKind::Canary)
    };
    leakdex::segment::build_segment(&data, &*catalog, &canary, &[planted], &BuildOptions::default()).unwrap();
    store.revoke("former-partner").unwrap();

    let served = crate::common::Served::start(&data, None).await;
    let url = served.url.clone();
    // In the vaccination, telecom and shop windows.
    let person = Person::new(11, 200);
    let phone = person.mobile.clone();

    // No credentials, a revoked token, a made-up token: every call is refused as unauthenticated.
    for token in [None, Some(revoked.as_str()), Some("ldx_0123456789abcdef")] {
        let connection = connect(&url, token).await.unwrap();
        for (rpc, code) in codes(&connection, &phone).await {
            assert_eq!(code, Code::Unauthenticated, "{rpc} with {token:?}");
        }
    }
    // Each role: allowed calls get past authorization (some then fail on their made-up
    // arguments, with the argument's code); the others are refused.
    let allowed_codes = [
        ("BatchLookup", Code::Ok),
        ("LookupBatches", Code::Ok),
        ("RangeLookup", Code::Ok),
        ("Search", Code::Ok),
        ("GetRecord", Code::Ok),
        ("List", Code::Ok),
        ("Get", Code::Ok),
        ("Ingest", Code::InvalidArgument),
        ("Upload", Code::InvalidArgument),
        ("WatchJob", Code::NotFound),
        ("Delete", Code::NotFound),
        ("Match", Code::Ok),
        ("MatchBatches", Code::Ok),
        ("Attribute", Code::Ok),
        ("Reflection", Code::Ok),
    ];
    for (role, token) in &tokens {
        let connection = connect(&url, Some(token)).await.unwrap();
        for (rpc, code) in codes(&connection, &phone).await {
            let allowed = match rpc {
                "BatchLookup" => leakdex::access::role::Rpc::BatchLookup,
                "LookupBatches" => leakdex::access::role::Rpc::LookupBatches,
                "MatchBatches" => leakdex::access::role::Rpc::MatchBatches,
                "RangeLookup" => leakdex::access::role::Rpc::RangeLookup,
                "Search" => leakdex::access::role::Rpc::Search,
                "GetRecord" => leakdex::access::role::Rpc::GetRecord,
                "List" => leakdex::access::role::Rpc::ListCorpora,
                "Get" => leakdex::access::role::Rpc::GetCorpus,
                "Ingest" => leakdex::access::role::Rpc::Ingest,
                "Upload" => leakdex::access::role::Rpc::Upload,
                "WatchJob" => leakdex::access::role::Rpc::WatchJob,
                "Delete" => leakdex::access::role::Rpc::DeleteCorpus,
                "Match" => leakdex::access::role::Rpc::Match,
                "Attribute" => leakdex::access::role::Rpc::Attribute,
                _ => leakdex::access::role::Rpc::Reflection,
            };
            let expected = if role.may(allowed) {
                allowed_codes.iter().find(|(name, _)| *name == rpc).unwrap().1
            } else {
                Code::PermissionDenied
            };
            assert_eq!(code, expected, "{rpc} as {role}");
        }
    }
    // The matrix itself, spelled out for the roles the issue names.
    let may = |role: Role, rpc| role.may(rpc);
    use leakdex::access::role::Rpc;
    assert!(may(Role::Admin, Rpc::DeleteCorpus) && !may(Role::Admin, Rpc::BatchLookup));
    assert!(may(Role::Ingest, Rpc::Ingest) && !may(Role::Ingest, Rpc::DeleteCorpus) && !may(Role::Ingest, Rpc::Search));
    assert!(may(Role::Investigator, Rpc::GetRecord) && !may(Role::Investigator, Rpc::Ingest));
    assert!(may(Role::Analyst, Rpc::Attribute) && !may(Role::Analyst, Rpc::DeleteCorpus));
    assert!(
        may(Role::Partner, Rpc::BatchLookup) && !may(Role::Partner, Rpc::Search) && !may(Role::Partner, Rpc::GetRecord)
    );

    // Private lookups: the partner sends a hash prefix and finds its own suffix in a padded answer.
    let range = |value: String| {
        let url = url.clone();
        let token = tokens
            .iter()
            .find(|(known, _)| *known == Role::Partner)
            .unwrap()
            .1
            .clone();
        async move {
            let (prefix, suffix) = leakdex::query::range::hash_parts(&value);
            let connection = connect(&url, Some(&token)).await.unwrap();
            let entries = LookupClient::new(connection)
                .range_lookup(proto::RangeLookupRequest { prefix })
                .await
                .unwrap()
                .into_inner()
                .entries;
            (suffix, entries)
        }
    };
    let (suffix, entries) = range(format!("+91{phone}")).await;
    assert_eq!(entries.len() % leakdex::query::range::BUCKET, 0);
    assert!(!entries.is_empty());
    let mine = entries
        .iter()
        .find(|entry| entry.suffix == suffix)
        .expect("the asked phone is in the answer");
    assert!(mine.corpora.contains(&"vaccination".to_string()), "{mine:?}");
    assert!(
        entries.iter().filter(|entry| entry.corpora.is_empty()).count() >= leakdex::query::range::BUCKET - 8,
        "decoys pad the answer"
    );
    let absent = Person::new(11, 9_999_999).mobile;
    let (suffix, entries) = range(format!("+91{absent}")).await;
    assert_eq!(entries.len(), leakdex::query::range::BUCKET);
    // The same decoys every time: comparing answers must not tell real entries from decoys.
    assert_eq!(range(format!("+91{absent}")).await.1, entries);
    assert!(
        entries
            .iter()
            .all(|entry| entry.suffix != suffix || entry.corpora.is_empty())
    );
    let partner_token = &tokens.iter().find(|(known, _)| *known == Role::Partner).unwrap().1;
    let bad = LookupClient::new(connect(&url, Some(partner_token)).await.unwrap())
        .range_lookup(proto::RangeLookupRequest { prefix: "xyz".into() })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);

    // What each role sees.
    let as_role = |role: Role| {
        let token = tokens.iter().find(|(known, _)| *known == role).unwrap().1.clone();
        let url = url.clone();
        async move { connect(&url, Some(&token)).await.unwrap() }
    };
    let lookup_as = |connection: Connection| {
        let phone = phone.clone();
        async move {
            let mut stream = LookupClient::new(connection)
                .batch_lookup(tokio_stream::iter([proto::LookupRequest {
                    id: "1".into(),
                    value: phone,
                    ..Default::default()
                }]))
                .await
                .unwrap()
                .into_inner();
            stream.message().await.unwrap().unwrap()
        }
    };
    let full = lookup_as(as_role(Role::Investigator).await).await;
    assert!(full.hits.len() >= 2, "{full:?}");
    assert!(full.hits.iter().all(|hit| !hit.file.is_empty() && hit.record > 0));
    assert!(
        full.hits.iter().any(|hit| hit.corpus == "canary-copy-b"),
        "investigators see canaries"
    );
    let partner = lookup_as(as_role(Role::Partner).await).await;
    let corpora: Vec<&str> = partner.hits.iter().map(|hit| hit.corpus.as_ref()).collect();
    assert!(corpora.contains(&"vaccination"), "{partner:?}");
    assert!(
        !corpora.contains(&"canary-copy-b"),
        "a partner must not learn which identifiers are canaries"
    );
    for hit in &partner.hits {
        assert!(
            hit.file.is_empty() && hit.record == 0 && hit.line == 0 && hit.offset == 0 && hit.field.is_empty(),
            "{hit:?}"
        );
        assert!(hit.count >= 1 && !hit.acquired.is_empty(), "{hit:?}");
    }
    assert_eq!(
        partner.hits.iter().map(|hit| hit.count).sum::<u64>(),
        full.hits.len() as u64 - 1
    );
    let record_as = |connection: Connection| async move {
        LookupClient::new(connection)
            .get_record(proto::GetRecordRequest {
                corpus: "vaccination".into(),
                file: "vaccination.csv".into(),
                record: 3,
            })
            .await
            .unwrap()
            .into_inner()
    };
    let value_of = |record: &proto::Record, name: &str| {
        record
            .fields
            .iter()
            .find(|field| field.name == name)
            .map(|field| field.raw.clone())
            .unwrap()
    };
    let full = record_as(as_role(Role::Investigator).await).await;
    let redacted = record_as(as_role(Role::Analyst).await).await;
    let third = Person::new(11, 2);
    assert_eq!(value_of(&full, "mobile_number"), third.mobile);
    assert_eq!(
        value_of(&redacted, "mobile_number"),
        format!("+91 XXXXXXXX{}", &third.mobile[8..])
    );
    assert!(value_of(&full, "name").contains(third.first));
    assert!(!value_of(&redacted, "name").contains(third.first), "{redacted:?}");
    assert_eq!(
        value_of(&redacted, "district"),
        value_of(&full, "district").to_lowercase()
    );
    let query = format!("name:\"{}\"", third.name().to_lowercase());
    let search_as = |connection: Connection| {
        let query = query.clone();
        async move {
            LookupClient::new(connection)
                .search(proto::SearchRequest {
                    query,
                    limit: 5,
                    corpora: vec!["vaccination".into()],
                    plain: false,
                })
                .await
                .unwrap()
                .into_inner()
                .hits
        }
    };
    let full = search_as(as_role(Role::Investigator).await).await;
    let redacted = search_as(as_role(Role::Analyst).await).await;
    assert!(!full.is_empty() && full[0].snippet.contains(third.first), "{full:?}");
    assert_eq!(full.len(), redacted.len());
    assert!(
        redacted
            .iter()
            .all(|hit| !hit.snippet.contains(third.first) && !hit.snippet.contains(&third.mobile)),
        "{redacted:?}"
    );

    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_quotas_and_enumeration_throttling_act() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _catalog) = indexed_corpora(dir.path(), 300, &BuildOptions::default());
    std::fs::write(
        data.root().join("limits.json"),
        r#"{"partner": {"per_second": 0.001, "burst": 50, "daily_lookups": 1000, "daily_hits": 1000},
            "analyst": {"per_second": 1000000, "burst": 1000000, "daily_lookups": 30, "daily_hits": 1000}}"#,
    )
    .unwrap();
    let store = TokenStore::new(&data);
    let (_, partner) = store.create("partner", Role::Partner).unwrap();
    let (_, analyst) = store.create("analyst", Role::Analyst).unwrap();
    let (_, investigator) = store.create("investigator", Role::Investigator).unwrap();
    let served = crate::common::Served::start(&data, None).await;
    let url = served.url.clone();
    let phones: Vec<String> = (0..40).map(|index| Person::new(11, index).mobile).collect();

    // Rate: a burst of 50, then nothing refills.
    let partner = connect(&url, Some(&partner)).await.unwrap();
    assert_eq!(lookups(&partner, phones.clone()).await.unwrap().len(), 40);
    let refused = lookups(&partner, phones[..20].to_vec()).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused}");
    assert!(refused.message().contains("rate limit"), "{refused}");
    // Daily quota of lookups.
    let analyst = connect(&url, Some(&analyst)).await.unwrap();
    assert_eq!(lookups(&analyst, phones[..30].to_vec()).await.unwrap().len(), 30);
    let refused = lookups(&analyst, phones[..1].to_vec()).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted);
    assert!(refused.message().contains("daily quota"), "{refused}");

    // Enumeration: sweeping a range of consecutive numbers is caught, throttled and logged.
    let investigator = connect(&url, Some(&investigator)).await.unwrap();
    assert!(
        lookups(&investigator, phones.clone()).await.is_ok(),
        "real, scattered numbers are fine"
    );
    let sweep: Vec<String> = (0..300u64)
        .map(|offset| format!("98123{:05}", 40_000 + offset))
        .collect();
    // An investigator checks seized dumps, which can hold a numbering range densely: the sweep
    // is put on the record, not refused (other roles are throttled: see attacks.rs).
    assert_eq!(lookups(&investigator, sweep).await.unwrap().len(), 300);
    assert!(lookups(&investigator, phones[..1].to_vec()).await.is_ok());
    let log = leakdex::access::audit::AuditLog::new(&data).entries().unwrap();
    assert!(
        log.iter()
            .any(|entry| entry.body.rpc == "EnumerationDetected" && entry.body.principal == "investigator"),
        "the sweep is on the record"
    );

    served.stop().await;
}

fn der(pem: &str) -> Vec<u8> {
    leakdex::access::token::certificate_der(pem.as_bytes()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_names_the_principal_by_its_certificate() {
    use leakdex::service::client::{ClientTls, connect_tls};
    let dir = tempfile::tempdir().unwrap();
    let (data, _catalog) = indexed_corpora(dir.path(), 300, &BuildOptions::default());
    let ca = TestCa::new("leakdex test CA");
    let (server_cert, server_key) = ca.sign("localhost");
    let (partner_cert, partner_key) = ca.sign("cert-in-partner");
    let (stranger_cert, stranger_key) = ca.sign("admin");
    let rogue = TestCa::new("rogue CA");
    let (rogue_cert, rogue_key) = rogue.sign("cert-in-partner");
    let store = TokenStore::new(&data);
    // The partner's certificate is registered by its fingerprint; the names inside it count
    // for nothing: the stranger's certificate, signed by the same CA, names "admin" in vain.
    store
        .register_certificate("cert-in-partner", Role::Partner, &der(&partner_cert))
        .unwrap();
    store.create("admin", Role::Admin).unwrap();
    assert!(
        store
            .register_certificate("another-name", Role::Admin, &der(&partner_cert))
            .is_err(),
        "one certificate, one principal"
    );
    let (_, investigator) = store.create("investigator", Role::Investigator).unwrap();

    let tls = tonic::transport::ServerTlsConfig::new()
        .identity(tonic::transport::Identity::from_pem(&server_cert, &server_key))
        .client_ca_root(tonic::transport::Certificate::from_pem(&ca.pem))
        .client_auth_optional(true);
    let served = crate::common::Served::start(&data, Some(tls)).await;
    let url = served.url.clone();
    let client = |identity: Option<(&String, &String)>| ClientTls {
        ca: ca.pem.clone().into_bytes(),
        identity: identity.map(|(cert, key)| (cert.clone().into_bytes(), key.clone().into_bytes())),
        domain: Some("localhost".into()),
    };
    let phone = Person::new(11, 200).mobile;

    // A partner's certificate: partner answers, partner refusals.
    let partner = connect_tls(&url, None, &client(Some((&partner_cert, &partner_key))))
        .await
        .unwrap();
    let answers = lookups(&partner, vec![phone.clone()]).await.unwrap();
    assert!(!answers[0].hits.is_empty() && answers[0].hits.iter().all(|hit| hit.file.is_empty() && hit.count > 0));
    let denied = LookupClient::new(partner.clone())
        .search(proto::SearchRequest {
            query: "name:rahul".into(),
            limit: 1,
            corpora: Vec::new(),
            plain: false,
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    // TLS without a certificate: a token still works; nothing at all is refused.
    let with_token = connect_tls(&url, Some(&investigator), &client(None)).await.unwrap();
    assert!(lookups(&with_token, vec![phone.clone()]).await.unwrap()[0].hits[0].record > 0);
    let bare = connect_tls(&url, None, &client(None)).await.unwrap();
    assert_eq!(
        lookups(&bare, vec![phone.clone()]).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    // A certificate naming no registered principal.
    let stranger = connect_tls(&url, None, &client(Some((&stranger_cert, &stranger_key))))
        .await
        .unwrap();
    assert_eq!(
        lookups(&stranger, vec![phone.clone()]).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    // A certificate from another CA does not get through the handshake.
    let rogue_client = connect_tls(&url, None, &client(Some((&rogue_cert, &rogue_key)))).await;
    let refused = match rogue_client {
        Err(_) => true,
        Ok(connection) => lookups(&connection, vec![phone.clone()]).await.is_err(),
    };
    assert!(refused, "a certificate of a foreign CA was accepted");
    // Revoking the principal revokes its certificate.
    store.revoke("cert-in-partner").unwrap();
    assert_eq!(
        lookups(&partner, vec![phone]).await.unwrap_err().code(),
        Code::Unauthenticated
    );

    served.stop().await;
}

#[test]
fn serve_refuses_to_listen_beyond_loopback_without_tls_unless_insecure() {
    let dir = tempfile::tempdir().unwrap();
    let output = crate::common::leakdex(dir.path())
        .args(["serve", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("refusing to listen on 0.0.0.0:0 without TLS"),
        "{stderr}"
    );
    // The metrics endpoint (plain HTTP, a bearer token) follows the same rule.
    let output = crate::common::leakdex(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--metrics-listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("refusing to serve metrics on 0.0.0.0:0"), "{stderr}");
    let mut insecure = crate::common::leakdex(dir.path())
        .args(["serve", "--listen", "0.0.0.0:0", "--insecure"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(insecure.stderr.take().unwrap()),
        &mut first,
    )
    .unwrap();
    let _ = insecure.kill();
    let _ = insecure.wait();
    assert!(first.contains("INSECURE"), "{first}");
}

#[test]
fn logs_of_a_full_run_hold_no_identifier_or_record_content() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _catalog) = indexed_corpora(dir.path(), 300, &BuildOptions::default());
    let (_, token) = TokenStore::new(&data)
        .create("investigator", Role::Investigator)
        .unwrap();
    let log_path = dir.path().join("server.log");
    let mut server = crate::common::leakdex(data.root())
        .env("LEAKDEX_LOG", "debug")
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let address = (0..200)
        .find_map(|_| {
            std::thread::sleep(std::time::Duration::from_millis(25));
            let log = std::fs::read_to_string(&log_path).ok()?;
            let line = log.lines().find(|line| line.starts_with("leakdex: serving on "))?;
            Some(line.trim_start_matches("leakdex: serving on ").to_string())
        })
        .expect("the server started");
    let person = Person::new(11, 200);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let connection = connect(&format!("http://{address}"), Some(&token)).await.unwrap();
        let answers = lookups(
            &connection,
            vec![person.mobile.clone(), person.email.clone(), "garbage value!".into()],
        )
        .await
        .unwrap();
        assert!(!answers[0].hits.is_empty());
        let mut lookup = LookupClient::new(connection.clone());
        let _ = lookup
            .search(proto::SearchRequest {
                query: format!("name:\"{}\"", person.name().to_lowercase()),
                limit: 5,
                corpora: Vec::new(),
                plain: false,
            })
            .await;
        lookup
            .get_record(proto::GetRecordRequest {
                corpus: "vaccination".into(),
                file: "vaccination.csv".into(),
                record: 201,
            })
            .await
            .unwrap();
        let record = proto::SuspectRecord {
            fields: vec![
                proto::SuspectField {
                    name: "name".into(),
                    value: person.name(),
                },
                proto::SuspectField {
                    name: "mobile".into(),
                    value: person.mobile.clone(),
                },
            ],
        };
        let mut matches = ProvenanceClient::new(connection.clone())
            .r#match(tokio_stream::iter([proto::MatchRequest {
                id: "1".into(),
                record: Some(record),
                ..Default::default()
            }]))
            .await
            .unwrap()
            .into_inner();
        assert!(!matches.message().await.unwrap().unwrap().matches.is_empty());
        // A refused call logs too.
        let refused = connect(&format!("http://{address}"), Some("ldx_wrong")).await.unwrap();
        assert!(lookups(&refused, vec![person.mobile.clone()]).await.is_err());
    });
    let _ = server.kill();
    let _ = server.wait();
    let log = std::fs::read_to_string(&log_path).unwrap().to_lowercase();
    assert!(
        log.contains("debug") || log.contains("info"),
        "the server logged: {log}"
    );
    for secret in [
        person.mobile.as_str(),
        &person.email,
        &person.aadhaar,
        &person.name().to_lowercase(),
        &person.house.to_lowercase(),
        &token[4..],
    ] {
        assert!(
            !log.contains(&secret.to_lowercase()),
            "{secret:?} appears in the server log"
        );
    }
}
