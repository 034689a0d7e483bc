//! The gRPC service, served in-process on 127.0.0.1:0 and called through generated clients.

use leakdex::access::role::Role;
use leakdex::access::token::TokenStore;
use leakdex::catalog::{Corpus, CorpusKind};
use leakdex::ingest::Region;
use leakdex::segment::text::build_text_index;
use leakdex::segment::{BuildOptions, build_segment};
use leakdex::service::client::{Connection, connect};
use leakdex::service::proto::corpora_client::CorporaClient;
use leakdex::service::proto::lookup_client::LookupClient;
use leakdex::service::proto::{self, IdentifierKind};
use leakdex::service::{ServiceState, serve};
use leakdex::storage::DataDir;
use std::path::Path;
use std::time::Duration;
use tokio::sync::oneshot;
use tonic::Code;

struct Running {
    /// An investigator's connection.
    channel: Connection,
    /// An admin's connection (corpora, ingest, deletion).
    admin: Connection,
    stop: Option<oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<()>,
    data: DataDir,
    _dir: tempfile::TempDir,
}

fn ingest(data: &DataDir, name: &str, path: &Path) {
    let catalog = crate::common::catalog_of(data);
    let corpus = Corpus {
        acquired: Some("2023-06-12".into()),
        ..Corpus::new(name, CorpusKind::Leak)
    };
    let report = build_segment(
        data,
        &*catalog,
        &corpus,
        &[path.to_path_buf()],
        &BuildOptions::default(),
    )
    .unwrap();
    for id in &report.segments {
        build_text_index(data, id).unwrap();
    }
}

async fn start() -> Running {
    let dir = tempfile::tempdir().unwrap();
    let data = crate::common::deployment(&dir.path().join("data"));
    ingest(
        &data,
        "five",
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/five"),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    // Server paths are read under the fixtures and the test's own folder only.
    let policy = leakdex::service::ServerPolicy {
        ingest_roots: vec![
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data"),
            dir.path().join("dumps"),
        ],
        ..Default::default()
    };
    std::fs::create_dir_all(dir.path().join("dumps")).unwrap();
    let state = ServiceState::open_with(
        crate::common::server_side(&data),
        crate::common::catalog_of(&data),
        Region::INDIA,
        policy,
    )
    .unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        serve(listener, state, shutdown, Duration::from_secs(5)).await.unwrap();
    });
    let url = format!("http://{address}");
    let tokens = TokenStore::new(&data);
    let (_, investigator) = tokens.create("investigator", Role::Investigator).unwrap();
    let (_, admin) = tokens.create("admin", Role::Admin).unwrap();
    let channel = connect(&url, Some(&investigator)).await.unwrap();
    let admin = connect(&url, Some(&admin)).await.unwrap();
    Running {
        channel,
        admin,
        stop: Some(stop),
        server,
        data,
        _dir: dir,
    }
}

fn request(id: usize, value: &str) -> proto::LookupRequest {
    proto::LookupRequest {
        id: id.to_string(),
        value: value.to_string(),
        kind: 0,
        corpora: Vec::new(),
        ..Default::default()
    }
}

async fn lookup_all(channel: Connection, requests: Vec<proto::LookupRequest>) -> Vec<proto::LookupResponse> {
    let mut client = LookupClient::new(channel);
    let mut stream = client
        .batch_lookup(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    let mut responses = Vec::new();
    while let Some(response) = stream.message().await.unwrap() {
        responses.push(response);
    }
    responses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_lookup_streams_answers_in_order_with_locations() {
    let running = start().await;
    let values = [
        "9812345678",
        "+91 98765 43210",
        "nobody@nowhere.in",
        "???",
        "PRIYA.P@yahoo.co.in",
    ];
    let requests: Vec<_> = (0..20_000).map(|id| request(id, values[id % values.len()])).collect();
    let responses = lookup_all(running.channel.clone(), requests).await;
    assert_eq!(responses.len(), 20_000);
    for (position, response) in responses.iter().enumerate() {
        assert_eq!(response.id, position.to_string(), "in request order");
    }
    let phone = &responses[0];
    assert_eq!(phone.normalized, "+919812345678");
    assert_eq!(phone.kind, IdentifierKind::Phone as i32);
    assert_eq!(phone.validity, "valid");
    let files: std::collections::BTreeSet<&str> = phone.hits.iter().map(|hit| hit.file.as_ref()).collect();
    assert_eq!(
        files,
        ["combo.txt", "kyc.tsv", "legacy.sql", "orders.jsonl", "users.csv"].into()
    );
    let users = phone.hits.iter().find(|hit| hit.file == "users.csv").unwrap();
    assert_eq!(
        (users.record, users.line, users.offset, users.field.as_ref()),
        (1, 2, 43, "mobile")
    );
    assert_eq!(users.acquired, "2023-06-12");
    assert!(responses[2].hits.is_empty() && responses[2].error.is_empty());
    assert!(
        !responses[3].error.is_empty(),
        "an unreadable value gets an error, the stream goes on"
    );
    assert_eq!(responses[4].kind, IdentifierKind::Email as i32);
    // Per-request corpus filters and kinds.
    let filtered = lookup_all(
        running.channel.clone(),
        vec![
            proto::LookupRequest {
                id: "a".into(),
                value: "9812345678".into(),
                kind: IdentifierKind::Phone as i32,
                corpora: vec!["five".into()],
                ..Default::default()
            },
            proto::LookupRequest {
                id: "b".into(),
                value: "9812345678".into(),
                kind: 0,
                corpora: vec!["nope".into()],
                ..Default::default()
            },
            proto::LookupRequest {
                id: "c".into(),
                value: "9812345678".into(),
                kind: 99,
                corpora: Vec::new(),
                ..Default::default()
            },
        ],
    )
    .await;
    assert_eq!(filtered[0].hits.len(), 5);
    assert!(filtered[1].error.contains("no corpus named"), "{}", filtered[1].error);
    assert!(
        filtered[2].error.contains("unknown identifier kind"),
        "{}",
        filtered[2].error
    );
    drop(running.stop);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_get_record_and_corpora() {
    let running = start().await;
    let mut lookup = LookupClient::new(running.channel.clone());
    let found = lookup
        .search(proto::SearchRequest {
            query: "name:rahul district:pune".into(),
            limit: 10,
            corpora: Vec::new(),
            plain: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(found.hits.len(), 1);
    assert_eq!((found.hits[0].file.as_str(), found.hits[0].record), ("users.csv", 1));
    let bad = lookup
        .search(proto::SearchRequest {
            query: "name:(".into(),
            limit: 0,
            corpora: Vec::new(),
            plain: false,
        })
        .await;
    assert_eq!(bad.unwrap_err().code(), Code::InvalidArgument);
    let missing_corpus = lookup
        .search(proto::SearchRequest {
            query: "rahul".into(),
            limit: 0,
            corpora: vec!["nope".into()],
            plain: false,
        })
        .await;
    assert_eq!(missing_corpus.unwrap_err().code(), Code::NotFound);

    let record = lookup
        .get_record(proto::GetRecordRequest {
            corpus: "five".into(),
            file: "legacy.sql".into(),
            record: 5,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        record
            .fields
            .iter()
            .any(|field| field.raw == "Vijay O'Brien" && field.kind == IdentifierKind::Name as i32)
    );
    let absent = lookup
        .get_record(proto::GetRecordRequest {
            corpus: "five".into(),
            file: "legacy.sql".into(),
            record: 99,
        })
        .await;
    assert_eq!(absent.unwrap_err().code(), Code::NotFound);

    let mut corpora = CorporaClient::new(running.admin.clone());
    let listed = corpora.list(proto::ListCorporaRequest {}).await.unwrap().into_inner();
    assert_eq!(listed.corpora.len(), 1);
    assert_eq!(listed.corpora[0].records, 27);
    assert_eq!(listed.corpora[0].files.len(), 5);
    assert_eq!(
        corpora
            .get(proto::GetCorpusRequest { name: "nope".into() })
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );

    // A corpus ingested while serving is visible without a restart; a deleted one is gone.
    ingest(
        &running.data,
        "more",
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/nasty/headerless.psv"),
    );
    let responses = lookup_all(running.channel.clone(), vec![request(0, "anil.k@rediffmail.com")]).await;
    let corpora_hit: std::collections::BTreeSet<&str> =
        responses[0].hits.iter().map(|hit| hit.corpus.as_ref()).collect();
    assert_eq!(corpora_hit, ["five", "more"].into());
    let removed = corpora
        .delete(proto::DeleteCorpusRequest { name: "more".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(removed.segments_removed, 1);
    let responses = lookup_all(running.channel.clone(), vec![request(0, "anil.k@rediffmail.com")]).await;
    assert!(responses[0].hits.iter().all(|hit| hit.corpus == "five"));
    assert_eq!(
        corpora
            .delete(proto::DeleteCorpusRequest { name: "more".into() })
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_reflection_in_both_versions() {
    let running = start().await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(running.channel.clone());
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "leakdex.v1.Lookup".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        status.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );

    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let mut reflection = ServerReflectionClient::new(running.channel.clone());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = reflection
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let response = stream.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("{response:?}")
    };
    let names: Vec<&str> = list.service.iter().map(|service| service.name.as_str()).collect();
    assert!(
        names.contains(&"leakdex.v1.Lookup") && names.contains(&"leakdex.v1.Corpora"),
        "{names:?}"
    );

    use tonic_reflection::pb::v1alpha as alpha;
    let mut old = alpha::server_reflection_client::ServerReflectionClient::new(running.channel.clone());
    let request = alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(alpha::server_reflection_request::MessageRequest::FileContainingSymbol(
            "leakdex.v1.Lookup".into(),
        )),
    };
    let mut stream = old
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let response = stream.message().await.unwrap().unwrap();
    assert!(
        matches!(
            response.message_response,
            Some(alpha::server_reflection_response::MessageResponse::FileDescriptorResponse(_))
        ),
        "{response:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_lets_the_stream_in_flight_finish() {
    let mut running = start().await;
    let mut client = LookupClient::new(running.channel.clone());
    // A stream that keeps sending for a while.
    let requests = async_stream_of(5_000);
    let mut stream = client.batch_lookup(requests).await.unwrap().into_inner();
    let first = stream.message().await.unwrap().unwrap();
    assert_eq!(first.id, "0");
    running.stop.take().unwrap().send(()).unwrap();
    let mut count = 1;
    while let Some(response) = stream.message().await.unwrap() {
        assert_eq!(response.id, count.to_string());
        count += 1;
    }
    assert_eq!(count, 5_000, "the in-flight stream was answered to its end");
    running.server.await.unwrap();
    let refused = LookupClient::new(running.channel.clone())
        .search(proto::SearchRequest {
            query: "rahul".into(),
            limit: 1,
            corpora: Vec::new(),
            plain: false,
        })
        .await;
    assert!(refused.is_err(), "no new calls after shutdown");
}

/// Requests paced a little, so the stream is still open when shutdown starts.
fn async_stream_of(count: usize) -> impl tokio_stream::Stream<Item = proto::LookupRequest> {
    use tokio_stream::StreamExt;
    tokio_stream::iter(0..count).then(|id| async move {
        if id % 500 == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        request(id, "9812345678")
    })
}

async fn watch_to_end(channel: Connection, id: &str) -> Vec<proto::Job> {
    let mut corpora = CorporaClient::new(channel);
    let mut stream = corpora
        .watch_job(proto::WatchJobRequest { id: id.into() })
        .await
        .unwrap()
        .into_inner();
    let mut states = Vec::new();
    while let Some(job) = stream.message().await.unwrap() {
        states.push(job);
    }
    states
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_and_ingest_jobs_run_to_the_end() {
    use proto::JobPhase;
    let running = start().await;
    let mut corpora = CorporaClient::new(running.admin.clone());
    // Upload a dump in three pieces.
    let bytes = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/nasty/headerless.psv")).unwrap();
    let third = bytes.len() / 3;
    let ingest = proto::IngestRequest {
        corpus: "uploaded".into(),
        acquired: "2024-01-02".into(),
        ..Default::default()
    };
    let chunks = vec![
        proto::UploadChunk {
            ingest: Some(ingest),
            file_name: "../../etc/headerless.psv".into(),
            data: bytes[..third].to_vec(),
        },
        proto::UploadChunk {
            ingest: None,
            file_name: String::new(),
            data: bytes[third..2 * third].to_vec(),
        },
        proto::UploadChunk {
            ingest: None,
            file_name: String::new(),
            data: bytes[2 * third..].to_vec(),
        },
    ];
    let job = corpora.upload(tokio_stream::iter(chunks)).await.unwrap().into_inner();
    assert_eq!(job.corpus, "uploaded");
    let states = watch_to_end(running.admin.clone(), &job.id).await;
    let last = states.last().unwrap();
    assert_eq!(last.phase, JobPhase::Done as i32, "{last:?}");
    assert_eq!((last.records, last.rejected, last.segments.len()), (3, 0, 1));
    assert_eq!(last.bytes_total, bytes.len() as u64);
    let phases: Vec<i32> = states.iter().map(|state| state.phase).collect();
    assert!(
        phases.windows(2).all(|pair| pair[0] <= pair[1]),
        "phases only move forward: {phases:?}"
    );
    let responses = lookup_all(running.channel.clone(), vec![request(0, "anil.k@rediffmail.com")]).await;
    let hit = responses[0]
        .hits
        .iter()
        .find(|hit| hit.corpus == "uploaded")
        .expect("the upload is searchable");
    assert_eq!(
        (hit.file.as_ref(), hit.acquired.as_ref()),
        ("headerless.psv", "2024-01-02")
    );

    // Ingest from a server path; a second run is skipped by SHA-256.
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/nasty/semicolon.csv");
    let spec = proto::IngestRequest {
        corpus: "server".into(),
        paths: vec![fixture.display().to_string()],
        skip_text: true,
        ..Default::default()
    };
    let job = corpora.ingest(spec.clone()).await.unwrap().into_inner();
    let done = watch_to_end(running.admin.clone(), &job.id).await.pop().unwrap();
    assert_eq!((done.phase, done.records), (JobPhase::Done as i32, 2));
    let job = corpora.ingest(spec).await.unwrap().into_inner();
    let again = watch_to_end(running.admin.clone(), &job.id).await.pop().unwrap();
    assert_eq!((again.records, again.skipped.len()), (0, 1));

    let missing = proto::IngestRequest {
        corpus: "x".into(),
        paths: vec!["/no/such/dump".into()],
        ..Default::default()
    };
    assert_eq!(
        corpora.ingest(missing).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    let bad_date = proto::IngestRequest {
        corpus: "x".into(),
        acquired: "12/03/2024".into(),
        paths: vec![fixture.display().to_string()],
        ..Default::default()
    };
    assert_eq!(
        corpora.ingest(bad_date).await.unwrap_err().code(),
        Code::InvalidArgument
    );
    let unknown = corpora
        .watch_job(proto::WatchJobRequest { id: "job-nope".into() })
        .await;
    assert_eq!(unknown.unwrap_err().code(), Code::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_keep_answering_while_an_ingest_job_writes() {
    use proto::JobPhase;
    let running = start().await;
    let dumps = running.data.root().join("../dumps");
    leakdex::synth::generate(&dumps, 60_000, 9).unwrap();
    let spec = proto::IngestRequest {
        corpus: "big".into(),
        paths: vec![dumps.join("shop_orders.jsonl").display().to_string()],
        ..Default::default()
    };
    let job = CorporaClient::new(running.admin.clone())
        .ingest(spec)
        .await
        .unwrap()
        .into_inner();
    let mut rounds_during_ingest = 0;
    loop {
        let responses = lookup_all(
            running.channel.clone(),
            vec![request(0, "9812345678"), request(1, "nobody@nowhere.in")],
        )
        .await;
        assert_eq!(responses[0].hits.len(), 5, "answers stay right while the job writes");
        assert!(responses[1].hits.is_empty());
        let state = CorporaClient::new(running.admin.clone())
            .watch_job(proto::WatchJobRequest { id: job.id.clone() })
            .await
            .unwrap()
            .into_inner()
            .message()
            .await
            .unwrap()
            .unwrap();
        if state.phase == JobPhase::Done as i32 {
            assert_eq!(state.records, 60_000);
            break;
        }
        assert_ne!(state.phase, JobPhase::Failed as i32, "{}", state.error);
        rounds_during_ingest += 1;
    }
    assert!(
        rounds_during_ingest > 0,
        "the job ran long enough to overlap with lookups"
    );
    // The new corpus is now visible.
    let person = leakdex::synth::Person::new(9, 60_000 / 4 + 10);
    let responses = lookup_all(running.channel.clone(), vec![request(0, &person.email)]).await;
    assert!(
        responses[0].hits.iter().any(|hit| hit.corpus == "big"),
        "{:?}",
        responses[0]
    );
}

/// A request as the wire sees it, with fields that need not be valid UTF-8.
#[derive(Clone, PartialEq, prost::Message)]
struct LooseRequest {
    #[prost(bytes = "vec", tag = "1")]
    id: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    value: Vec<u8>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_message_mid_stream_ends_it_after_the_answers_before_it() {
    let running = start().await;
    let loose = |id: &[u8]| LooseRequest {
        id: id.to_vec(),
        value: b"9812345678".to_vec(),
    };
    // The third message's id is not UTF-8: the server cannot read it as a LookupRequest.
    let requests = vec![loose(b"0"), loose(b"1"), loose(&[0xff, 0xfe]), loose(b"3")];
    let mut grpc = tonic::client::Grpc::new(running.channel.clone());
    grpc.ready().await.unwrap();
    let codec = tonic_prost::ProstCodec::<LooseRequest, proto::LookupResponse>::default();
    let path = tonic::codegen::http::uri::PathAndQuery::from_static("/leakdex.v1.Lookup/BatchLookup");
    let mut stream = grpc
        .streaming(tonic::Request::new(tokio_stream::iter(requests)), path, codec)
        .await
        .unwrap()
        .into_inner();
    let mut answered = Vec::new();
    let failure = loop {
        match stream.message().await {
            Ok(Some(response)) => answered.push(response.id),
            Ok(None) => panic!("the stream ended without reporting the broken message"),
            Err(status) => break status,
        }
    };
    assert_eq!(answered, ["0", "1"], "the answers before it, in order, and none after");
    assert_eq!(failure.code(), Code::Internal, "{failure:?}");
    assert!(failure.message().contains("decode"), "{failure:?}");
    drop(running.stop);
}
