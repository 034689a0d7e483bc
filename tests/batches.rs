//! `LookupBatches` and `MatchBatches`: many requests per message, answered exactly as
//! `BatchLookup` and `Match` answer them one per message — in order, with errors inside a batch
//! answered in place, within the limits the protos state, stopped by cancellation, and with the
//! same roles, redaction and audit.

use crate::common::scene::{KEYED_PHONE, SEED, Scene, code, match_requests, matches, suspect};
use crate::common::{drain, lookup_requests, lookups};
use leakdex::access::role::Role;
use leakdex::service::client::Connection;
use leakdex::service::proto::{self, lookup_client::LookupClient, provenance_client::ProvenanceClient};
use leakdex::service::{MAX_LOOKUP_BATCH, ServerPolicy};
use leakdex::synth::Person;
use std::time::Duration;
use tonic::Code;

/// Requests per message of the batched streams below: an empty message and a single one among
/// others.
const SIZES: &[usize] = &[1, 0, 7, 3, 40, 1, 12];

/// Values that exercise every kind of answer: hits in the leak, in the canary only, none, a
/// value that cannot be read, an Aadhaar, and a dump keyed by phone.
fn values() -> Vec<String> {
    let mut values: Vec<String> = (0..SIZES.iter().sum::<usize>())
        .map(|index| Person::new(SEED, index as u64 * 7).mobile)
        .collect();
    values[1] = "not an identifier!".into();
    values[4] = Person::new(SEED, 5).mobile; // the canary's
    values[9] = Person::new(SEED, 9_999_999).mobile; // absent
    values[20] = Person::new(SEED, 3).aadhaar;
    values[30] = KEYED_PHONE.into();
    values[63] = String::new();
    values
}

/// `items` cut into messages of `sizes` items.
fn cut<T>(items: Vec<T>, sizes: &[usize]) -> Vec<Vec<T>> {
    let mut items = items.into_iter();
    sizes.iter().map(|size| items.by_ref().take(*size).collect()).collect()
}

/// The answers of one LookupBatches stream of `values` in messages of `sizes` (ids are the
/// values' positions, as [`lookups`] numbers them).
async fn lookup_batches(
    connection: &Connection,
    values: Vec<String>,
    sizes: &[usize],
) -> Result<Vec<proto::LookupBatchResponse>, tonic::Status> {
    let messages = cut(lookup_requests(values), sizes)
        .into_iter()
        .map(|requests| proto::LookupBatch { requests });
    let stream = LookupClient::new(connection.clone())
        .lookup_batches(tokio_stream::iter(messages))
        .await?
        .into_inner();
    drain(stream).await
}

/// The answers of one MatchBatches stream of `records` in messages of `sizes` (ids and
/// threshold as [`matches`] sends them).
async fn match_batches(
    connection: &Connection,
    records: Vec<proto::SuspectRecord>,
    sizes: &[usize],
    threshold: f64,
) -> Result<Vec<proto::MatchBatchResponse>, tonic::Status> {
    let messages = cut(match_requests(records, threshold), sizes)
        .into_iter()
        .map(|requests| proto::MatchBatch { requests });
    let stream = ProvenanceClient::new(connection.clone())
        .match_batches(tokio_stream::iter(messages))
        .await?
        .into_inner();
    drain(stream).await
}

/// What the record says of `principal`'s calls of `rpc`: queries, hits, fingerprints asked,
/// summed over its entries, and their outcomes (repeats of one outcome once).
fn on_record(scene: &Scene, principal: &str, rpc: &str) -> (u64, u64, Vec<u64>, Vec<String>) {
    let entries = scene.audited(principal, rpc);
    let mut outcomes: Vec<String> = entries.iter().map(|entry| entry.outcome.clone()).collect();
    outcomes.dedup();
    (
        entries.iter().map(|entry| entry.queries).sum(),
        entries.iter().map(|entry| entry.hits).sum(),
        entries
            .iter()
            .flat_map(|entry| entry.asked.iter().map(|asked| asked.0))
            .collect(),
        outcomes,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_lookups_answer_as_batch_lookup_does_for_every_role() {
    let scene = Scene::new(ServerPolicy::default(), None).await;
    for role in Role::ALL {
        let principal = role.as_str();
        let connection = scene.connect(principal).await;
        let single = lookups(&connection, values()).await;
        let batched = lookup_batches(&connection, values(), SIZES).await;
        match (single, batched) {
            (Ok(single), Ok(batched)) => {
                let sizes: Vec<usize> = batched.iter().map(|message| message.responses.len()).collect();
                assert_eq!(sizes, SIZES, "one answer per request, message by message");
                let flat: Vec<proto::LookupResponse> =
                    batched.into_iter().flat_map(|message| message.responses).collect();
                assert_eq!(flat, single, "as {role}: the same answers, redacted alike, in order");
                assert!(flat[1].error.contains("cannot tell"), "{:?}", flat[1]);
                assert!(flat[0].hits.iter().all(|hit| hit.corpus == "people"));
                let canary = flat[4].hits.iter().any(|hit| hit.corpus == "canary-copy-b");
                assert_eq!(canary, role.sees_canaries(), "as {role}");
            }
            (Err(single), Err(batched)) => {
                assert_eq!(single.code(), Code::PermissionDenied, "as {role}");
                assert_eq!(batched.code(), Code::PermissionDenied, "as {role}");
                assert!(!role.may(leakdex::access::role::Rpc::LookupBatches));
            }
            (single, batched) => panic!("as {role}: BatchLookup {single:?}, LookupBatches {batched:?}"),
        }
        // The record holds the same: queries, hits, what was asked (as keyed fingerprints),
        // and refusals.
        // (How many entries each stream makes depends on how its requests arrived, not what.)
        let (queries, hits, asked, outcomes) = on_record(&scene, principal, "BatchLookup");
        let batched = on_record(&scene, principal, "LookupBatches");
        assert_eq!(
            (queries, hits, &asked, &outcomes),
            (batched.0, batched.1, &batched.2, &batched.3)
        );
        if role.may(leakdex::access::role::Rpc::BatchLookup) {
            assert_eq!(queries, values().len() as u64);
            assert_eq!(asked.len(), values().len());
        } else {
            assert_eq!(outcomes, ["PermissionDenied"], "as {role}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_inside_a_batch_are_answered_in_place_and_limits_end_the_stream() {
    let scene = Scene::new(ServerPolicy::default(), None).await;
    let investigator = scene.connect("investigator").await;
    let known = Person::new(SEED, 3).mobile;
    let request = |id: &str, value: &str| proto::LookupRequest {
        id: id.into(),
        value: value.into(),
        ..Default::default()
    };
    let mixed = proto::LookupBatch {
        requests: vec![
            request("a", &known),
            request("b", "not an identifier!"),
            request("c", &"9".repeat(200_000)),
            proto::LookupRequest {
                kind: 99,
                ..request("d", &known)
            },
            proto::LookupRequest {
                corpora: vec!["no-such-corpus".into()],
                ..request("e", &known)
            },
            request("f", &known),
        ],
    };
    let over = proto::LookupBatch {
        requests: (0..=MAX_LOOKUP_BATCH)
            .map(|id| request(&id.to_string(), &known))
            .collect(),
    };
    let after = proto::LookupBatch {
        requests: vec![request("never", &known)],
    };
    let mut stream = LookupClient::new(investigator.clone())
        .lookup_batches(tokio_stream::iter([mixed, over, after]))
        .await
        .unwrap()
        .into_inner();
    let answered = stream.message().await.unwrap().unwrap().responses;
    let ids: Vec<&str> = answered.iter().map(|response| response.id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c", "d", "e", "f"]);
    assert!(!answered[0].hits.is_empty() && answered[0].error.is_empty());
    assert!(answered[1].error.contains("cannot tell"), "{:?}", answered[1].error);
    assert!(answered[2].error.contains("at most 65536"), "{:?}", answered[2].error);
    assert!(
        answered[3].error.contains("unknown identifier kind 99"),
        "{:?}",
        answered[3].error
    );
    assert!(answered[4].error.contains("no-such-corpus"), "{:?}", answered[4].error);
    assert_eq!(answered[5].hits, answered[0].hits);
    let refused = stream.message().await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().contains(&format!("at most {MAX_LOOKUP_BATCH}")),
        "{refused}"
    );
    assert_eq!(
        scene.outcomes("investigator", "LookupBatches"),
        ["", "InvalidArgument"],
        "the answered batch and the refusal are on the record"
    );
    // A message beyond gRPC's 4 MiB is refused as such.
    let huge = proto::LookupBatch {
        requests: (0..100)
            .map(|id| request(&id.to_string(), &"9".repeat(50_000)))
            .collect(),
    };
    let refused = LookupClient::new(investigator.clone())
        .lookup_batches(tokio_stream::iter([huge]))
        .await
        .unwrap()
        .into_inner()
        .message()
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::OutOfRange, "{refused}");

    // Empty messages are answered, each by an empty message.
    let empty = vec![proto::LookupBatch::default(); 10_000];
    let answered = drain(
        LookupClient::new(investigator.clone())
            .lookup_batches(tokio_stream::iter(empty))
            .await
            .unwrap()
            .into_inner(),
    )
    .await
    .unwrap();
    assert_eq!(answered.len(), 10_000);
    assert!(answered.iter().all(|answer| answer.responses.is_empty()));

    // Match: a record with nothing to match is answered with its error; the rest are matched.
    let person = Person::new(SEED, 3);
    let records = vec![
        suspect(&[("name", &person.name()), ("mobile", &person.mobile)]),
        suspect(&[("name", "")]),
        suspect(&[("aadhaar", &person.aadhaar), ("mobile", &person.mobile)]),
    ];
    let matched = match_batches(&investigator, records.clone(), &[3], 0.0).await.unwrap();
    let single = matches(&investigator, records, 0.0).await.unwrap();
    assert_eq!(matched[0].responses, single);
    assert!(
        !single[0].matches.is_empty() && single[1].error.contains("no field"),
        "{single:?}"
    );
    let over = vec![suspect(&[("mobile", &person.mobile)]); leakdex::service::MAX_MATCH_BATCH + 1];
    let refused = match_batches(&investigator, over, &[leakdex::service::MAX_MATCH_BATCH + 1], 0.0)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(refused.message().contains("at most 1000"), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_matches_answer_as_match_does_for_every_role() {
    let scene = Scene::new(ServerPolicy::default(), None).await;
    let records: Vec<proto::SuspectRecord> = (0..SIZES.iter().sum::<usize>() as u64)
        .map(|index| {
            let person = Person::new(SEED, index * 3);
            let year = person.birth.0.to_string();
            suspect(&[("Name", &person.name()), ("Mobile", &person.mobile), ("YOB", &year)])
        })
        .collect();
    for role in Role::ALL {
        let principal = role.as_str();
        let connection = scene.connect(principal).await;
        let single = matches(&connection, records.clone(), 0.0).await;
        let batched = match_batches(&connection, records.clone(), SIZES, 0.0).await;
        match (single, batched) {
            (Ok(single), Ok(batched)) => {
                let sizes: Vec<usize> = batched.iter().map(|message| message.responses.len()).collect();
                assert_eq!(sizes, SIZES);
                let flat: Vec<proto::MatchResponse> =
                    batched.into_iter().flat_map(|message| message.responses).collect();
                assert_eq!(flat, single, "as {role}");
                assert!(flat.iter().filter(|response| !response.matches.is_empty()).count() > 60);
                assert_eq!(flat[0].matches[0].score > 0.0, role.sees_contents(), "as {role}");
            }
            (Err(single), Err(batched)) => {
                assert_eq!(
                    (single.code(), batched.code()),
                    (Code::PermissionDenied, Code::PermissionDenied)
                );
            }
            (single, batched) => panic!("as {role}: Match {single:?}, MatchBatches {batched:?}"),
        }
        let (queries, hits, asked, outcomes) = on_record(&scene, principal, "Match");
        let batched = on_record(&scene, principal, "MatchBatches");
        assert_eq!(
            (queries, hits, &asked, &outcomes),
            (batched.0, batched.1, &batched.2, &batched.3)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_batched_stream_stops_the_work_and_the_server_serves_on() {
    let scene = Scene::new(ServerPolicy::default(), None).await;
    let connection = scene.connect("investigator").await;
    let known = Person::new(SEED, 3).mobile;
    // A million lookups, made as they are sent.
    let endless = {
        let known = known.clone();
        tokio_stream::iter((0..1000).map(move |message| {
            proto::LookupBatch {
                requests: (0..1000)
                    .map(|id| proto::LookupRequest {
                        id: format!("{message}.{id}"),
                        value: known.clone(),
                        ..Default::default()
                    })
                    .collect(),
            }
        }))
    };
    let mut stream = LookupClient::new(connection.clone())
        .lookup_batches(endless)
        .await
        .unwrap()
        .into_inner();
    for message in 0..3 {
        let answered = stream.message().await.unwrap().unwrap();
        assert_eq!(answered.responses.len(), 1000);
        assert_eq!(answered.responses[999].id, format!("{message}.999"));
    }
    drop(stream);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let queries = |scene: &Scene| on_record(scene, "investigator", "LookupBatches").0;
    let settled = queries(&scene);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(queries(&scene), settled, "nothing is answered after the cancellation");
    assert!(
        settled < 100_000,
        "the work stopped soon after: {settled} lookups answered"
    );
    let again = lookup_batches(&connection, vec![known], &[1]).await.unwrap();
    assert!(!again[0].responses[0].hits.is_empty());
    assert_eq!(
        code(lookups(&connection, vec!["not an identifier!".into()]).await),
        Code::Ok
    );
}
