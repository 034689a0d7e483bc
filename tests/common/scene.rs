//! A served data directory for attacks and access tests: people in a leak corpus (with a text
//! index), a dump keyed by phone, a file named by a phone, a canary, and two tokens per role.

use super::{Served, drain};
use leakdex::access::audit::AuditLog;
use leakdex::access::role::Role;
use leakdex::access::token::TokenStore;
use leakdex::catalog::{Corpus, CorpusKind};
use leakdex::segment::text::build_text_index;
use leakdex::segment::{BuildOptions, build_segment};
use leakdex::service::ServerPolicy;
use leakdex::service::client::{Connection, connect};
use leakdex::service::proto::{self, provenance_client::ProvenanceClient};
use leakdex::storage::DataDir;
use leakdex::synth::Person;
use std::path::Path;
use tonic::Code;

pub const SEED: u64 = 23;
const PEOPLE: u64 = 300;
/// The phone of a JSON dump keyed by phone number.
pub const KEYED_PHONE: &str = "9811122334";

/// The status code of a call's result (OK for an answer).
pub fn code<T>(result: Result<T, tonic::Status>) -> Code {
    result.map_or_else(|status| status.code(), |_| Code::Ok)
}

/// Five small corpora's worth of people, a dump keyed by phone, a canary, a token per role.
pub struct Scene {
    pub dir: tempfile::TempDir,
    pub data: DataDir,
    served: Option<Served>,
    policy: ServerPolicy,
    tokens: Vec<(String, String)>,
}

fn write_people(path: &Path) {
    let mut csv = String::from("name,mobile,aadhaar,dob,address,state,district,gender\n");
    for index in 0..PEOPLE {
        let person = Person::new(SEED, index);
        let (year, month, day) = person.birth;
        csv.push_str(&format!(
            "{},{},{},{year:04}-{month:02}-{day:02},\"{}, {} - {}\",{},{},{}\n",
            person.name(),
            person.mobile,
            person.aadhaar,
            person.house,
            person.district,
            person.pincode,
            person.state,
            person.district,
            if person.male { "M" } else { "F" }
        ));
    }
    std::fs::write(path, csv).unwrap();
}

impl Scene {
    pub async fn new(policy: ServerPolicy, limits: Option<serde_json::Value>) -> Scene {
        let dir = tempfile::tempdir().unwrap();
        let clean = dir.path().join("dumps/clean");
        std::fs::create_dir_all(&clean).unwrap();
        write_people(&clean.join("people.csv"));
        std::fs::write(
            clean.join("keyed.jsonl"),
            format!(
                "{{\"+91{KEYED_PHONE}\": {{\"name\": \"Sunita Sharma\", \"state\": \"+91 98111 22334\", \"district\": \"Rahul Verma\", \"address\": \"flat 12 sunita sharma house {KEYED_PHONE}\"}}}}\n"
            ),
        )
        .unwrap();
        // A file named by the phone it is about.
        std::fs::write(
            clean.join("contacts_9822233344.csv"),
            "name,mobile\nMeena Iyer,9822233344\n",
        )
        .unwrap();
        let data = super::deployment(&dir.path().join("data"));
        let catalog = super::catalog_of(&data);
        let leak = Corpus {
            acquired: Some("2023-06-12".into()),
            ..Corpus::new("people", CorpusKind::Leak)
        };
        let report = build_segment(
            &data,
            &*catalog,
            &leak,
            std::slice::from_ref(&clean),
            &BuildOptions::default(),
        )
        .unwrap();
        assert_eq!(report.records, PEOPLE + 2, "{:?}", report.errors);
        for id in &report.segments {
            build_text_index(&data, id).unwrap();
        }
        let planted = dir.path().join("planted.csv");
        std::fs::write(
            &planted,
            format!("name,mobile\nPlanted Person,{}\n", Person::new(SEED, 5).mobile),
        )
        .unwrap();
        let canary = Corpus {
            source: Some("copy-b".into()),
            ..Corpus::new("canary-copy-b", CorpusKind::Canary)
        };
        build_segment(&data, &*catalog, &canary, &[planted], &BuildOptions::default()).unwrap();
        if let Some(limits) = limits {
            std::fs::write(data.root().join("limits.json"), limits.to_string()).unwrap();
        }
        let store = TokenStore::new(&data);
        let mut tokens = Vec::new();
        for role in Role::ALL {
            for name in [role.as_str().to_string(), format!("{role}-2")] {
                tokens.push((name.clone(), store.create(&name, role).unwrap().1));
            }
        }
        let policy = ServerPolicy {
            ingest_roots: policy.ingest_roots.iter().map(|root| dir.path().join(root)).collect(),
            ..policy
        };
        let served = Served::start_with(&data, None, policy.clone()).await;
        Scene {
            dir,
            data,
            served: Some(served),
            policy,
            tokens,
        }
    }

    pub fn url(&self) -> String {
        self.served.as_ref().unwrap().url.clone()
    }

    pub fn token(&self, name: &str) -> String {
        self.tokens.iter().find(|(known, _)| known == name).unwrap().1.clone()
    }

    pub async fn connect(&self, name: &str) -> Connection {
        connect(&self.url(), Some(&self.token(name))).await.unwrap()
    }

    /// Stops the server and starts another on the same data directory.
    pub async fn restart(&mut self) {
        self.served.take().unwrap().stop().await;
        self.served = Some(Served::start_with(&self.data, None, self.policy.clone()).await);
    }

    /// Outcomes on the record for `principal`'s calls of `rpc`.
    pub fn outcomes(&self, principal: &str, rpc: &str) -> Vec<String> {
        self.audited(principal, rpc)
            .into_iter()
            .map(|entry| entry.outcome)
            .collect()
    }

    /// The entries on the record for `principal`'s calls of `rpc`.
    pub fn audited(&self, principal: &str, rpc: &str) -> Vec<leakdex::access::audit::Body> {
        AuditLog::new(&self.data)
            .entries()
            .unwrap()
            .into_iter()
            .filter(|entry| entry.body.principal == principal && entry.body.rpc == rpc)
            .map(|entry| entry.body)
            .collect()
    }
}

pub fn suspect(fields: &[(&str, &str)]) -> proto::SuspectRecord {
    proto::SuspectRecord {
        fields: fields
            .iter()
            .map(|(name, value)| proto::SuspectField {
                name: name.to_string(),
                value: value.to_string(),
            })
            .collect(),
    }
}

/// Match requests of `records`, their ids their positions.
pub fn match_requests(records: Vec<proto::SuspectRecord>, threshold: f64) -> Vec<proto::MatchRequest> {
    records
        .into_iter()
        .enumerate()
        .map(|(id, record)| proto::MatchRequest {
            id: id.to_string(),
            record: Some(record),
            threshold,
            limit: 0,
        })
        .collect()
}

pub async fn matches(
    connection: &Connection,
    records: Vec<proto::SuspectRecord>,
    threshold: f64,
) -> Result<Vec<proto::MatchResponse>, tonic::Status> {
    let requests = match_requests(records, threshold);
    let stream = ProvenanceClient::new(connection.clone())
        .r#match(tokio_stream::iter(requests))
        .await?
        .into_inner();
    drain(stream).await
}
