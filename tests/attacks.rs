//! The attacks of issue 17, made as a hostile partner, a curious analyst, a stolen-token holder
//! and an outsider would make them against an in-process server: each must now get nothing.

use crate::common::scene::{KEYED_PHONE, SEED, Scene, code, matches, suspect};
use crate::common::{drain, lookups};
use leakdex::access::audit::AuditLog;
use leakdex::access::role::Role;
use leakdex::access::token::TokenStore;
use leakdex::service::ServerPolicy;
use leakdex::service::client::{Connection, connect};
use leakdex::service::proto::{
    self, corpora_client::CorporaClient, lookup_client::LookupClient, provenance_client::ProvenanceClient,
};
use leakdex::synth::Person;
use std::path::PathBuf;
use std::time::Duration;
use tonic::Code;

async fn search(connection: &Connection, query: &str, limit: u32) -> Result<Vec<proto::SearchHit>, tonic::Status> {
    LookupClient::new(connection.clone())
        .search(proto::SearchRequest {
            query: query.into(),
            limit,
            corpora: Vec::new(),
            plain: false,
        })
        .await
        .map(|response| response.into_inner().hits)
}

async fn attribute(connection: &Connection, records: Vec<proto::SuspectRecord>) -> proto::AttributionReport {
    ProvenanceClient::new(connection.clone())
        .attribute(tokio_stream::iter([proto::AttributeRequest {
            input: Some(proto::attribute_request::Input::Records(proto::SuspectBatch {
                records,
            })),
            ..Default::default()
        }]))
        .await
        .unwrap()
        .into_inner()
}

async fn get_record(connection: &Connection, file: &str, record: u64) -> Result<proto::Record, tonic::Status> {
    LookupClient::new(connection.clone())
        .get_record(proto::GetRecordRequest {
            corpus: "people".into(),
            file: file.into(),
            record,
        })
        .await
        .map(tonic::Response::into_inner)
}

/// Kind 1: what a role without record contents may ask must not rebuild them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_cannot_rebuild_what_redaction_hides() {
    let scene = Scene::new(ServerPolicy::default(), None).await;
    let analyst = scene.connect("analyst").await;
    let investigator = scene.connect("investigator").await;
    // Fielded ranges pinned to a record, bisected, rebuilt a record in ~1,000 calls; prefixes,
    // sets, regular expressions and fuzzy identifiers are the same oracle.
    for query in [
        "record:3 AND name:[a TO m]",
        "name:[a TO m]",
        "name:{a TO z}",
        "record:3",
        "name:\"rah\"*",
        "mobile:\"98\"*",
        "name: IN [rahul asha]",
        "aadhaar:23456789~2",
        "98123~1",
        "*",
        // An identifier beside any other clause pins one person's record; boosts rank guesses.
        "mobile:9812345678 AND dob:1985",
        "9812345678 1985",
        "+mobile:9812345678 dob:1985 dob:1986",
        "name:rahul^4 name:asha",
    ] {
        let refused = search(&analyst, query, 10).await;
        assert_eq!(code(refused), Code::InvalidArgument, "{query}");
    }
    assert!(search(&investigator, "name:[a TO m]", 10).await.is_ok());
    // Words, phrases and fuzzy names still work, with a bounded list.
    let person = Person::new(SEED, 7);
    let words = format!(
        "name:{} name:{}",
        person.first.to_lowercase(),
        person.last.to_lowercase()
    );
    assert!(!search(&analyst, &words, 10).await.unwrap().is_empty());
    let fuzzy = format!("name:{}~1", person.first.to_lowercase());
    assert!(!search(&analyst, &fuzzy, 10).await.unwrap().is_empty());
    let broad = search(&analyst, &format!("name:{}", person.last.to_lowercase()), 1000)
        .await
        .unwrap();
    assert!(!broad.is_empty() && broad.len() <= 100);
    assert!(
        broad.iter().all(|hit| hit.score == 0.0),
        "no scores: their ranking is an oracle"
    );

    // Match and Attribute with a guessed record: where it is, never which fields agreed.
    let (year, month, day) = person.birth;
    let guess = suspect(&[
        ("name", &person.name()),
        ("mobile", &person.mobile),
        ("dob", &format!("{year:04}-{month:02}-{:02}", day % 28 + 1)),
    ]);
    let full = matches(&investigator, vec![guess.clone()], 0.0).await.unwrap();
    assert!(
        full[0]
            .matches
            .iter()
            .any(|found| !found.agreeing.is_empty() && found.score > 0.0),
        "{full:?}"
    );
    let redacted = matches(&analyst, vec![guess.clone()], 0.01).await.unwrap();
    assert!(
        !redacted[0].matches.is_empty(),
        "the analyst learns where: {redacted:?}"
    );
    for found in &redacted[0].matches {
        assert!(
            found.agreeing.is_empty() && found.disagreeing.is_empty() && found.score == 0.0,
            "{found:?}"
        );
    }
    let report = attribute(&analyst, vec![guess]).await;
    assert!(
        report.corpora.iter().all(|corpus| corpus.agreeing_fields == 0.0),
        "{report:?}"
    );
    assert!(!report.verdict.contains("agree"), "{}", report.verdict);
    assert!(report.score_histogram.iter().all(|bin| *bin == 0), "{report:?}");

    // A masked phone leaves more completions than an analyst's lookups in a month.
    let shown = get_record(&analyst, "people.csv", 8).await.unwrap();
    let mobile = shown.fields.iter().find(|field| field.name == "mobile").unwrap();
    let hidden = mobile.raw.matches('X').count();
    assert!(hidden >= 8, "{mobile:?}");
    let daily = leakdex::access::limits::RoleLimits::default_for(Role::Analyst).daily_lookups;
    assert!(10u64.pow(hidden as u32) > 30 * daily);
}

/// Kind 2: redaction by what a value is, field names included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redaction_reads_values_not_labels() {
    let scene = Scene::new(ServerPolicy::default(), None).await;
    let analyst = scene.connect("analyst").await;
    let investigator = scene.connect("investigator").await;
    let full = get_record(&investigator, "keyed.jsonl", 1).await.unwrap();
    let names: Vec<&str> = full.fields.iter().map(|field| field.name.as_str()).collect();
    assert!(names.iter().any(|name| name.contains(KEYED_PHONE)), "{names:?}");
    let shown = get_record(&analyst, "keyed.jsonl", 1).await.unwrap();
    let text = format!("{shown:?}").to_lowercase();
    for secret in [&KEYED_PHONE[2..], "22334", "sunita", "sharma", "rahul", "verma"] {
        assert!(!text.contains(secret), "{secret} in {shown:?}");
    }
    // The same through a lookup's hit (its field name) and a search's snippet.
    let answers = lookups(&analyst, vec![KEYED_PHONE.into()]).await.unwrap();
    assert!(!answers[0].hits.is_empty());
    for hit in &answers[0].hits {
        assert!(!hit.field.contains("22334"), "{hit:?}");
    }
    for hit in search(&analyst, "sunita", 10).await.unwrap() {
        assert!(
            !hit.snippet.to_lowercase().contains("sunita") && !hit.snippet.contains("22334"),
            "{hit:?}"
        );
    }
    // An ordinary record keeps what the role may see: state, gender, a locality.
    // A file named by a phone: its name is redacted too, and that name is how the record is read.
    let answers = lookups(&analyst, vec!["9822233344".into()]).await.unwrap();
    let hit = &answers[0].hits[0];
    assert_eq!(hit.file, "contacts_XXXXXXXX44.csv");
    let record = get_record(&analyst, &hit.file, hit.record).await.unwrap();
    assert_eq!(record.file, "contacts_XXXXXXXX44.csv");
    assert!(!format!("{record:?}").contains("22233"), "{record:?}");
    // A name is no identifier: guessed from a list, its locations would pin records.
    let person = Person::new(SEED, 2);
    let named = lookups(&analyst, vec![person.name()]).await.unwrap();
    assert!(
        named[0].hits.iter().all(|hit| hit.file.is_empty() && hit.record == 0),
        "{named:?}"
    );
    let shown = get_record(&analyst, "people.csv", 3).await.unwrap();
    let value = |name: &str| {
        shown
            .fields
            .iter()
            .find(|field| field.name == name)
            .unwrap()
            .raw
            .clone()
    };
    assert_eq!(value("state").to_lowercase(), person.state.to_lowercase());
    assert_eq!(value("address").to_lowercase(), person.district.to_lowercase());
}

/// Kind 3 and 9: one policy on every path — sweeps, canaries, corpus filters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_path_sweeps_into_one_detector_and_hides_canaries() {
    let limits = serde_json::json!({
        "partner": {"per_second": 1e9, "burst": 1e9, "daily_lookups": 100000000, "daily_hits": 100000000, "range_per_hour": 20}
    });
    let scene = Scene::new(ServerPolicy::default(), Some(limits)).await;
    // A stride-4 sweep in four passes through BatchLookup.
    let partner = scene.connect("partner").await;
    let mut throttled = None;
    for pass in 0..4u64 {
        let values = (0..1000u64)
            .map(|step| format!("98221{:05}", pass + 4 * step))
            .collect();
        if let Err(status) = lookups(&partner, values).await {
            throttled = Some((pass, status));
            break;
        }
    }
    let (pass, status) = throttled.expect("a stride-4 sweep was never throttled");
    assert_eq!((pass, status.code()), (0, Code::ResourceExhausted), "{status:?}");
    assert_eq!(
        code(lookups(&partner, vec!["9876543210".into()]).await),
        Code::ResourceExhausted,
        "the principal stays throttled"
    );
    // Consecutive numbers hidden among random decoys, by another partner.
    let decoyed = scene.connect("partner-2").await;
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut values = Vec::new();
    for step in 0..3000u64 {
        values.push(format!("98331{:05}", step));
        for _ in 0..44 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            values.push(format!("{}", 6_000_000_000 + state % 4_000_000_000));
        }
    }
    assert_eq!(code(lookups(&decoyed, values).await), Code::ResourceExhausted);
    // Consecutive numbers through Match.
    let analyst = scene.connect("analyst-2").await;
    let records = (0..3000u64)
        .map(|step| suspect(&[("mobile", &format!("98441{step:05}"))]))
        .collect();
    assert_eq!(code(matches(&analyst, records, 0.0).await), Code::ResourceExhausted);
    // Reading a corpus record after record.
    let analyst_3 = TokenStore::new(&scene.data)
        .create("analyst-3", Role::Analyst)
        .unwrap()
        .1;
    let analyst_3 = connect(&scene.url(), Some(&analyst_3)).await.unwrap();
    let mut read = 0;
    let refused = loop {
        match get_record(&analyst_3, "people.csv", read + 1).await {
            Ok(_) => read += 1,
            Err(status) => break status,
        }
    };
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(read < 100, "{read} records read in order before the sweep was seen");
    // Private lookups: a prefix stands for thousands of numbers, so they have an hourly budget.
    let range = LookupClient::new(scene.connect("partner-2").await);
    let mut refused = None;
    for step in 0..25u64 {
        let prefix = leakdex::query::range::hash_parts(&format!("+9198551{step:05}")).0;
        if let Err(status) = range.clone().range_lookup(proto::RangeLookupRequest { prefix }).await {
            refused = Some((step, status.code()));
            break;
        }
    }
    // The second partner is throttled already; a fresh one meets the budget itself.
    assert!(refused.is_some());
    let fresh = TokenStore::new(&scene.data)
        .create("partner-3", Role::Partner)
        .unwrap()
        .1;
    let range = LookupClient::new(connect(&scene.url(), Some(&fresh)).await.unwrap());
    let mut answered = 0;
    for step in 0..25u64 {
        let prefix = leakdex::query::range::hash_parts(&format!("+9198551{step:05}")).0;
        match range.clone().range_lookup(proto::RangeLookupRequest { prefix }).await {
            Ok(_) => answered += 1,
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                break;
            }
        }
    }
    assert_eq!(answered, 20);

    // Canaries: invisible in Match, Attribute, corpus filters and the corpus list to analysts.
    let planted = Person::new(SEED, 5);
    let analyst = scene.connect("analyst").await;
    let investigator = scene.connect("investigator").await;
    let record = suspect(&[("name", &planted.name()), ("mobile", &planted.mobile)]);
    let seen = matches(&investigator, vec![record.clone()], 0.0).await.unwrap();
    assert!(seen[0].matches.iter().any(|found| found.canary), "{seen:?}");
    let hidden = matches(&analyst, vec![record.clone()], 0.0).await.unwrap();
    assert!(!hidden[0].matches.is_empty());
    assert!(
        hidden[0]
            .matches
            .iter()
            .all(|found| !found.canary && found.corpus != "canary-copy-b")
    );
    let report = attribute(&analyst, vec![record]).await;
    assert!(
        report.canaries.is_empty() && !report.verdict.contains("CANARY"),
        "{report:?}"
    );
    let filtered = |corpus: &str| {
        let analyst = analyst.clone();
        let corpus = corpus.to_string();
        async move {
            let requests = [proto::LookupRequest {
                id: "1".into(),
                value: planted_mobile(),
                corpora: vec![corpus],
                ..Default::default()
            }];
            let mut stream = LookupClient::new(analyst)
                .batch_lookup(tokio_stream::iter(requests))
                .await
                .unwrap()
                .into_inner();
            stream.message().await.unwrap().unwrap().error
        }
    };
    assert_eq!(
        filtered("canary-copy-b").await.replace("canary-copy-b", "X"),
        filtered("made-up").await.replace("made-up", "X"),
        "a canary's name answers as a name that does not exist"
    );
    let mut corpora = CorporaClient::new(analyst.clone());
    let listed = corpora.list(proto::ListCorporaRequest {}).await.unwrap().into_inner();
    assert!(listed.corpora.iter().all(|corpus| corpus.name != "canary-copy-b"));
    let asked = corpora
        .get(proto::GetCorpusRequest {
            name: "canary-copy-b".into(),
        })
        .await;
    assert_eq!(code(asked), Code::NotFound);

    // Whoever ingests can neither plant a canary nor learn which records are canaries.
    let upload = |name: &str, kind: proto::CorpusKind, token: String| {
        let url = scene.url();
        let chunk = proto::UploadChunk {
            ingest: Some(proto::IngestRequest {
                corpus: name.into(),
                kind: kind as i32,
                skip_text: true,
                ..Default::default()
            }),
            file_name: "copy.csv".into(),
            data: format!("name,mobile\nPlanted Person,{}\n", planted.mobile).into_bytes(),
        };
        async move {
            let connection = connect(&url, Some(&token)).await.unwrap();
            let mut client = CorporaClient::new(connection);
            let job = client.upload(tokio_stream::iter([chunk])).await?.into_inner();
            let updates = client.watch_job(proto::WatchJobRequest { id: job.id }).await?;
            let mut states = drain(updates.into_inner()).await?;
            Ok::<_, tonic::Status>(states.pop().unwrap())
        }
    };
    let forged = upload("forged", proto::CorpusKind::Canary, scene.token("ingest")).await;
    assert_eq!(code(forged), Code::PermissionDenied);
    // A name taken by a canary says no more than a name taken by any corpus.
    let taken = upload("canary-copy-b", proto::CorpusKind::Leak, scene.token("ingest"))
        .await
        .unwrap_err();
    assert_eq!(taken.code(), Code::FailedPrecondition);
    assert!(
        !taken.message().replace("canary-copy-b", "X").contains("canary"),
        "{taken:?}"
    );
    let job = upload("copy-1", proto::CorpusKind::Leak, scene.token("ingest"))
        .await
        .unwrap();
    assert!(job.records == 1 && job.canaries.is_empty(), "{job:?}");
    let job = upload("copy-2", proto::CorpusKind::Leak, scene.token("admin"))
        .await
        .unwrap();
    assert!(!job.canaries.is_empty(), "admins see the canary met: {job:?}");
    // Another principal's job is not there.
    let ingest_2 = CorporaClient::new(scene.connect("ingest-2").await);
    let theirs = ingest_2
        .clone()
        .watch_job(proto::WatchJobRequest { id: job.id.clone() })
        .await;
    assert_eq!(code(theirs), Code::NotFound);

    fn planted_mobile() -> String {
        Person::new(SEED, 5).mobile
    }
}

/// Kind 4: `Corpora.Ingest` reads server paths under configured roots only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_paths_are_confined_to_ingest_roots() {
    let closed = Scene::new(ServerPolicy::default(), None).await;
    let admin = CorporaClient::new(closed.connect("admin").await);
    let ingest = |paths: Vec<String>| proto::IngestRequest {
        corpus: "stolen".into(),
        paths,
        skip_text: true,
        ..Default::default()
    };
    let refused = admin
        .clone()
        .ingest(ingest(vec![
            closed.dir.path().join("dumps/clean").display().to_string(),
        ]))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);

    let open = Scene::new(
        ServerPolicy {
            ingest_roots: vec![PathBuf::from("dumps")],
            ..Default::default()
        },
        None,
    )
    .await;
    let dumps = open.dir.path().join("dumps");
    let data = open.data.root().to_path_buf();
    std::os::unix::fs::symlink(data.join("key"), dumps.join("key-link")).unwrap();
    std::fs::create_dir_all(dumps.join("trap")).unwrap();
    std::os::unix::fs::symlink(&data, dumps.join("trap/data-link")).unwrap();
    let admin = CorporaClient::new(open.connect("admin").await);
    let mut messages = Vec::new();
    for path in [
        PathBuf::from("/etc/shadow"),
        data.join("key"),
        data.join("tokens.json"),
        data.join("audit.log"),
        dumps.join("key-link"),
        dumps.join("trap"),
        dumps.join("../data/key"),
        dumps.join("no-such-file.csv"),
    ] {
        let asked = path.display().to_string();
        let refused = admin.clone().ingest(ingest(vec![asked.clone()])).await.unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{asked}: {refused:?}");
        // Nothing but what was asked comes back: no resolved path, no data directory.
        let message = refused.message().replace(&asked, "PATH");
        assert!(!message.contains('/'), "{message}");
        messages.push(message);
    }
    assert!(
        messages.windows(2).all(|pair| pair[0] == pair[1]),
        "absent and forbidden read alike: {messages:?}"
    );
    let allowed = admin
        .clone()
        .ingest(ingest(vec![dumps.join("clean/people.csv").display().to_string()]))
        .await;
    assert_eq!(code(allowed), Code::Ok);
}

/// Kind 5: work per admitted call is bounded; nothing a caller sends stops the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbounded_work_is_refused_and_the_server_stays_up() {
    let scene = Scene::new(
        ServerPolicy {
            max_upload_bytes: 1 << 20,
            ..Default::default()
        },
        None,
    )
    .await;
    let investigator = scene.connect("investigator").await;
    let nested = format!("{}rahul{}", "(".repeat(3000), ")".repeat(3000));
    assert_eq!(code(search(&investigator, &nested, 10).await), Code::InvalidArgument);
    let fuzzy = (0..1000)
        .map(|n| format!("name:rahul{n}~2"))
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(code(search(&investigator, &fuzzy, 10).await), Code::InvalidArgument);
    let terms = (0..500).map(|n| format!("name:w{n}")).collect::<Vec<_>>().join(" OR ");
    assert_eq!(code(search(&investigator, &terms, 10).await), Code::InvalidArgument);
    assert_eq!(
        scene.outcomes("investigator", "Search"),
        ["InvalidArgument", "InvalidArgument", "InvalidArgument"],
        "refused searches are on the record"
    );
    // A lookup request far beyond any identifier is not read, and the server answers on.
    let huge = lookups(&investigator, vec!["9".repeat(200_000)]).await.unwrap();
    assert!(huge[0].error.contains("at most 65536"), "{:?}", huge[0].error);
    // A message beyond gRPC's limit is refused as such.
    let oversized = lookups(&investigator, vec!["9".repeat(5 << 20)]).await;
    assert_eq!(code(oversized), Code::OutOfRange);
    let answers = lookups(&investigator, vec![Person::new(SEED, 3).mobile]).await.unwrap();
    assert!(!answers[0].hits.is_empty());
    // Uploads: bounded, and gone once ingested or refused.
    let ingest = CorporaClient::new(scene.connect("ingest").await);
    let chunk = |first: bool, size: usize| proto::UploadChunk {
        ingest: first.then(|| proto::IngestRequest {
            corpus: "uploaded".into(),
            skip_text: true,
            ..Default::default()
        }),
        file_name: if first { "big.csv".into() } else { String::new() },
        data: vec![b'a'; size],
    };
    let too_big = ingest
        .clone()
        .upload(tokio_stream::iter([chunk(true, 600 << 10), chunk(false, 600 << 10)]))
        .await;
    assert_eq!(code(too_big), Code::ResourceExhausted);
    let mut small = chunk(true, 0);
    small.data = b"name,mobile\nAsha Rao,9876501234\n".to_vec();
    let job = ingest
        .clone()
        .upload(tokio_stream::iter([small]))
        .await
        .unwrap()
        .into_inner();
    let mut updates = ingest
        .clone()
        .watch_job(proto::WatchJobRequest { id: job.id })
        .await
        .unwrap()
        .into_inner();
    while updates.message().await.unwrap().is_some() {}
    let uploads = scene.data.root().join("uploads");
    let left = std::fs::read_dir(&uploads).map_or(0, |entries| entries.count());
    assert_eq!(left, 0, "uploads are removed when their job ends");

    // Kind 8: everything the server wrote is owner-only.
    for entry in walkdir::WalkDir::new(scene.data.root()) {
        use std::os::unix::fs::PermissionsExt;
        let entry = entry.unwrap();
        let mode = entry.metadata().unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{} has mode {mode:o}", entry.path().display());
    }
}

/// Kind 6: a revocation reaches a stream opened before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_stops_an_open_stream() {
    let scene = Scene::new(ServerPolicy::default(), None).await;
    let investigator = scene.connect("investigator").await;
    let (sender, receiver) = tokio::sync::mpsc::channel::<proto::LookupRequest>(16);
    let mut answers = LookupClient::new(investigator)
        .batch_lookup(tokio_stream::wrappers::ReceiverStream::new(receiver))
        .await
        .unwrap()
        .into_inner();
    let ask = |id: u64| proto::LookupRequest {
        id: id.to_string(),
        value: Person::new(SEED, id).mobile,
        ..Default::default()
    };
    sender.send(ask(1)).await.unwrap();
    assert!(!answers.message().await.unwrap().unwrap().hits.is_empty());
    TokenStore::new(&scene.data).revoke("investigator").unwrap();
    let _ = sender.send(ask(2)).await;
    let ended = tokio::time::timeout(Duration::from_secs(1), answers.message())
        .await
        .expect("the stream answered on for a second after the revocation");
    assert_eq!(code(ended), Code::Unauthenticated);
}

/// Kind 7: limits and detection survive a restart; refusals are on the record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_survive_a_restart_and_refusals_are_audited() {
    let mut scene = Scene::new(ServerPolicy::default(), None).await;
    let partner = scene.connect("partner").await;
    let sweep = (0..500u64).map(|step| format!("97771{step:05}")).collect();
    assert_eq!(code(lookups(&partner, sweep).await), Code::ResourceExhausted);
    let outsider = connect(&scene.url(), Some("ldx_not-a-token")).await.unwrap();
    assert_eq!(code(search(&outsider, "rahul", 1).await), Code::Unauthenticated);
    assert_eq!(code(search(&partner, "rahul", 1).await), Code::PermissionDenied);
    scene.restart().await;
    let partner = scene.connect("partner").await;
    assert_eq!(
        code(lookups(&partner, vec!["9876543210".into()]).await),
        Code::ResourceExhausted,
        "a restart forgives no sweep"
    );
    let outcomes = scene.outcomes("partner", "BatchLookup");
    assert!(
        outcomes
            .iter()
            .filter(|outcome| *outcome == "ResourceExhausted")
            .count()
            >= 2,
        "{outcomes:?}"
    );
    assert_eq!(scene.outcomes("partner", "Search"), ["PermissionDenied"]);
    assert_eq!(scene.outcomes("unauthenticated", "Search"), ["Unauthenticated"]);
    assert!(AuditLog::new(&scene.data).verify().unwrap().is_ok());
}

/// One call of the public API with arbitrary arguments.
#[derive(Clone, Debug)]
enum Call {
    Search(String, u32),
    Lookup(Vec<(String, i32, Vec<String>)>),
    LookupBatches(Vec<Vec<(String, i32, Vec<String>)>>),
    Range(String),
    Record(String, String, u64),
    Match(Vec<(String, String)>, f64, u32),
    MatchBatches(Vec<Vec<Vec<(String, String)>>>, f64, u32),
    Attribute(Vec<(String, String)>, f64),
    List,
    Get(String),
    Delete(String),
    Ingest(Vec<String>, i32),
    Upload(String, Vec<u8>, String),
    Watch(String),
}

fn calls() -> impl proptest::strategy::Strategy<Value = Call> {
    use proptest::prelude::*;
    let text = "[a-z0-9()\\[\\]{}\":~*^+ \\-.'/\\\\]{0,48}";
    let query = prop_oneof![
        4 => text.prop_map(String::from),
        1 => (1..6000usize, "[a-z]{1,8}").prop_map(|(depth, word)| format!("{}{word}{}", "(".repeat(depth), ")".repeat(depth))),
        1 => (1..6000usize).prop_map(|depth| "(".repeat(depth)),
        1 => (1..400usize).prop_map(|terms| (0..terms).map(|n| format!("name:w{n}~2")).collect::<Vec<_>>().join(" ")),
        1 => (1..300usize).prop_map(|depth| format!("{}name:[a TO m]{}", "NOT (".repeat(depth), ")".repeat(depth))),
    ];
    let fields = proptest::collection::vec((text.prop_map(String::from), text.prop_map(String::from)), 0..6);
    let lookup = (
        text.prop_map(String::from),
        -2..30i32,
        proptest::collection::vec("[a-z-]{0,12}", 0..3),
    );
    prop_oneof![
        (query, any::<u32>()).prop_map(|(query, limit)| Call::Search(query, limit)),
        proptest::collection::vec(lookup.clone(), 1..20).prop_map(Call::Lookup),
        proptest::collection::vec(proptest::collection::vec(lookup, 0..20), 1..4).prop_map(Call::LookupBatches),
        (
            proptest::collection::vec(proptest::collection::vec(fields.clone(), 0..5), 1..4),
            -1.0..2.0f64,
            any::<u32>()
        )
            .prop_map(|(messages, threshold, limit)| Call::MatchBatches(messages, threshold, limit)),
        "[0-9a-zA-Z]{0,12}".prop_map(Call::Range),
        ("[a-z-]{0,12}", text, any::<u64>()).prop_map(|(corpus, file, record)| Call::Record(corpus, file, record)),
        (fields.clone(), -1.0..2.0f64, any::<u32>())
            .prop_map(|(fields, threshold, limit)| Call::Match(fields, threshold, limit)),
        (fields, -1.0..2.0f64).prop_map(|(fields, threshold)| Call::Attribute(fields, threshold)),
        Just(Call::List),
        text.prop_map(Call::Get),
        "[a-z]{12,20}".prop_map(Call::Delete),
        (proptest::collection::vec(text.prop_map(String::from), 0..3), -1..6i32)
            .prop_map(|(paths, kind)| Call::Ingest(paths, kind)),
        (text, proptest::collection::vec(any::<u8>(), 0..256), "[a-z]{0,8}")
            .prop_map(|(name, data, corpus)| Call::Upload(name, data, corpus)),
        text.prop_map(Call::Watch),
    ]
}

/// Makes `call`; its status code, or OK.
async fn make(connection: &Connection, call: Call) -> Code {
    let mut lookup = LookupClient::new(connection.clone());
    let mut corpora = CorporaClient::new(connection.clone());
    let record = |fields: Vec<(String, String)>| proto::SuspectRecord {
        fields: fields
            .into_iter()
            .map(|(name, value)| proto::SuspectField { name, value })
            .collect(),
    };
    match call {
        Call::Search(query, limit) => code(
            lookup
                .search(proto::SearchRequest {
                    query,
                    limit,
                    corpora: Vec::new(),
                    plain: false,
                })
                .await,
        ),
        Call::Lookup(values) => {
            let requests: Vec<_> = values
                .into_iter()
                .map(|(value, kind, corpora)| proto::LookupRequest {
                    id: String::new(),
                    value,
                    kind,
                    corpora,
                    ..Default::default()
                })
                .collect();
            match lookup.batch_lookup(tokio_stream::iter(requests)).await {
                Ok(response) => {
                    let mut stream = response.into_inner();
                    loop {
                        match stream.message().await {
                            Ok(Some(_)) => {}
                            Ok(None) => return Code::Ok,
                            Err(status) => return status.code(),
                        }
                    }
                }
                Err(status) => status.code(),
            }
        }
        Call::LookupBatches(messages) => {
            let messages: Vec<_> = messages
                .into_iter()
                .map(|requests| proto::LookupBatch {
                    requests: requests
                        .into_iter()
                        .map(|(value, kind, corpora)| proto::LookupRequest {
                            id: String::new(),
                            value,
                            kind,
                            corpora,
                            ..Default::default()
                        })
                        .collect(),
                })
                .collect();
            match lookup.lookup_batches(tokio_stream::iter(messages)).await {
                Ok(response) => code(drain(response.into_inner()).await),
                Err(status) => status.code(),
            }
        }
        Call::MatchBatches(messages, threshold, limit) => {
            let messages: Vec<_> = messages
                .into_iter()
                .map(|records| proto::MatchBatch {
                    requests: records
                        .into_iter()
                        .map(|fields| proto::MatchRequest {
                            id: String::new(),
                            record: Some(record(fields)),
                            threshold,
                            limit,
                        })
                        .collect(),
                })
                .collect();
            match ProvenanceClient::new(connection.clone())
                .match_batches(tokio_stream::iter(messages))
                .await
            {
                Ok(response) => code(drain(response.into_inner()).await),
                Err(status) => status.code(),
            }
        }
        Call::Range(prefix) => code(lookup.range_lookup(proto::RangeLookupRequest { prefix }).await),
        Call::Record(corpus, file, record) => code(
            lookup
                .get_record(proto::GetRecordRequest { corpus, file, record })
                .await,
        ),
        Call::Match(fields, threshold, limit) => {
            let request = proto::MatchRequest {
                id: "1".into(),
                record: Some(record(fields)),
                threshold,
                limit,
            };
            match ProvenanceClient::new(connection.clone())
                .r#match(tokio_stream::iter([request]))
                .await
            {
                Ok(response) => code(response.into_inner().message().await),
                Err(status) => status.code(),
            }
        }
        Call::Attribute(fields, threshold) => code(
            ProvenanceClient::new(connection.clone())
                .attribute(tokio_stream::iter([proto::AttributeRequest {
                    input: Some(proto::attribute_request::Input::Records(proto::SuspectBatch {
                        records: vec![record(fields)],
                    })),
                    threshold,
                    ..Default::default()
                }]))
                .await,
        ),
        Call::List => code(corpora.list(proto::ListCorporaRequest {}).await),
        Call::Get(name) => code(corpora.get(proto::GetCorpusRequest { name }).await),
        Call::Delete(name) => code(corpora.delete(proto::DeleteCorpusRequest { name }).await),
        Call::Ingest(paths, kind) => code(
            corpora
                .ingest(proto::IngestRequest {
                    corpus: "random".into(),
                    kind,
                    paths,
                    skip_text: true,
                    ..Default::default()
                })
                .await,
        ),
        Call::Upload(file_name, data, corpus) => code(
            corpora
                .upload(tokio_stream::iter([proto::UploadChunk {
                    ingest: Some(proto::IngestRequest {
                        corpus,
                        skip_text: true,
                        ..Default::default()
                    }),
                    file_name,
                    data,
                }]))
                .await,
        ),
        Call::Watch(id) => code(corpora.watch_job(proto::WatchJobRequest { id }).await),
    }
}

/// Random and deeply nested queries and random messages, at every RPC, from every role: the
/// server never dies, and every call is on the record.
#[test]
fn random_calls_never_stop_the_server_and_every_call_is_audited() {
    use proptest::test_runner::{Config, TestRunner};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let scene = runtime.block_on(Scene::new(ServerPolicy::default(), None));
    let connections: Vec<(String, Connection)> = runtime.block_on(async {
        let mut connections = Vec::new();
        for role in Role::ALL {
            connections.push((role.to_string(), scene.connect(role.as_str()).await));
        }
        connections
    });
    let admin = connections.iter().find(|(name, _)| name == "admin").unwrap().1.clone();
    let log = AuditLog::new(&scene.data);
    let mut runner = TestRunner::new(Config {
        cases: 96,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (0..connections.len(), calls());
    runner
        .run(&strategy, |(caller, call)| {
            let (name, connection) = &connections[caller];
            let before = log.entries().unwrap().len();
            let outcome = runtime.block_on(make(connection, call.clone()));
            let after = log.entries().unwrap();
            let recorded = after[before..].iter().any(|entry| &entry.body.principal == name);
            proptest::prop_assert!(recorded, "{call:?} as {name} ({outcome:?}) is not on the record");
            let alive = runtime.block_on(CorporaClient::new(admin.clone()).list(proto::ListCorporaRequest {}));
            proptest::prop_assert!(alive.is_ok(), "the server stopped answering after {call:?}: {alive:?}");
            Ok(())
        })
        .unwrap();
    assert_eq!(
        log.verify().unwrap().map_err(|problems| problems.len()),
        Ok(log.entries().unwrap().len() as u64)
    );
}

/// Kind 9: a principal's name is shown escaped by `audit show`, never sent to the terminal raw.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_show_escapes_what_callers_named() {
    let scene = Scene::new(ServerPolicy::default(), None).await;
    let name = "partner\u{1b}[2J\u{1b}]0;owned\u{7}";
    let token = TokenStore::new(&scene.data).create(name, Role::Partner).unwrap().1;
    let connection = connect(&scene.url(), Some(&token)).await.unwrap();
    assert_eq!(code(search(&connection, "rahul", 1).await), Code::PermissionDenied);
    let output = crate::common::leakdex(scene.data.root())
        .args(["audit", "show"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let shown = String::from_utf8(output.stdout).unwrap();
    assert!(!shown.contains('\u{1b}') && !shown.contains('\u{7}'), "{shown:?}");
    assert!(
        shown.contains("partner\\u{1b}[2J") && shown.contains("refused PermissionDenied"),
        "{shown}"
    );
}
