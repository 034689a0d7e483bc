//! The CLI as a client of `leakdex serve` (`--server URL`): the same commands, the same output.

use leakdex::ingest::Kind;
use leakdex::query::SearchHit;
use leakdex::service::proto::{self, corpora_client::CorporaClient, lookup_client::LookupClient};
use serde_json::{Map, Value, json};
use std::io::{BufRead, Write};
use tonic::transport::Channel;

type Failure = Box<dyn std::error::Error>;

pub async fn connect(url: &str) -> Result<Channel, Failure> {
    let channel = Channel::from_shared(url.to_string())?
        .connect()
        .await
        .map_err(|error| format!("{url}: {error}"))?;
    Ok(channel)
}

fn kind_name(value: i32) -> Option<&'static str> {
    let kind = proto::IdentifierKind::try_from(value).ok()?;
    Kind::ALL
        .into_iter()
        .find(|candidate| kind_code(*candidate) == kind)
        .map(Kind::as_str)
}

fn kind_code(kind: Kind) -> proto::IdentifierKind {
    // The proto enum lists kinds in the same order as `Kind::ALL`'s names; match by name.
    let wanted = format!("IDENTIFIER_KIND_{}", kind.as_str().to_ascii_uppercase());
    proto::IdentifierKind::from_str_name(&wanted).unwrap_or(proto::IdentifierKind::Unspecified)
}

/// Streams every query through `BatchLookup`; prints what `lookup` prints locally.
pub async fn lookup(
    channel: Channel,
    values: Vec<String>,
    reader: Option<Box<dyn BufRead + Send>>,
    kind: Option<Kind>,
    corpora: Vec<String>,
    json: bool,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let kind = kind.map_or(0, |kind| kind_code(kind) as i32);
    let (sender, receiver) = tokio::sync::mpsc::channel::<proto::LookupRequest>(4096);
    let corpora_filter = corpora.clone();
    // Responses come back in request order: the printer takes each query's text from here.
    let (texts_sender, texts) = std::sync::mpsc::channel::<String>();
    // Requests are read and sent on their own task: flow control paces it.
    let producer = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let mut id = 0usize;
        let mut send = |value: String| -> bool {
            id += 1;
            if texts_sender.send(value.clone()).is_err() {
                return false;
            }
            let request = proto::LookupRequest {
                id: id.to_string(),
                value,
                kind,
                corpora: corpora_filter.clone(),
            };
            sender.blocking_send(request).is_ok()
        };
        for value in values {
            if !send(value) {
                return Ok(());
            }
        }
        if let Some(reader) = reader {
            for line in reader.lines() {
                let line = line?;
                if !line.trim().is_empty() && !send(line) {
                    return Ok(());
                }
            }
        }
        Ok(())
    });
    let mut client = LookupClient::new(channel).max_decoding_message_size(64 << 20);
    let mut responses = client
        .batch_lookup(tokio_stream::wrappers::ReceiverStream::new(receiver))
        .await?
        .into_inner();
    while let Some(response) = responses.message().await? {
        let query = texts
            .recv()
            .map_err(|_| "the server answered more queries than were sent")?;
        let answer = answer_json(&query, &response);
        if json {
            serde_json::to_writer(&mut *out, &answer)?;
            out.write_all(b"\n")?;
        } else {
            write_text(&answer, out)?;
        }
    }
    producer.await??;
    Ok(())
}

fn answer_json(query: &str, response: &proto::LookupResponse) -> Value {
    let mut answer = Map::new();
    answer.insert("query".into(), Value::String(query.to_string()));
    if !response.error.is_empty() {
        answer.insert("error".into(), Value::String(response.error.clone()));
        return Value::Object(answer);
    }
    if let Some(kind) = kind_name(response.kind) {
        answer.insert("kind".into(), json!(kind));
    }
    answer.insert("normalized".into(), json!(response.normalized));
    answer.insert("validity".into(), json!(response.validity));
    let hits: Vec<Value> = response
        .hits
        .iter()
        .map(|hit| {
            let mut object = Map::new();
            object.insert("corpus".into(), json!(hit.corpus));
            object.insert("file".into(), json!(hit.file));
            object.insert("record".into(), json!(hit.record));
            object.insert("line".into(), json!(hit.line));
            object.insert("offset".into(), json!(hit.offset));
            object.insert("field".into(), json!(hit.field));
            if !hit.acquired.is_empty() {
                object.insert("acquired".into(), json!(hit.acquired));
            }
            Value::Object(object)
        })
        .collect();
    answer.insert("hits".into(), Value::Array(hits));
    Value::Object(answer)
}

fn write_text(answer: &Value, out: &mut impl Write) -> std::io::Result<()> {
    let text = |key: &str| answer[key].as_str().unwrap_or_default().to_string();
    if answer.get("error").is_some() {
        return writeln!(out, "{}: {}", text("query"), text("error"));
    }
    let hits = answer["hits"].as_array().cloned().unwrap_or_default();
    writeln!(
        out,
        "{} ({} {}): {} hits",
        text("query"),
        text("kind"),
        text("normalized"),
        hits.len()
    )?;
    for hit in hits {
        let acquired = hit
            .get("acquired")
            .and_then(Value::as_str)
            .map(|date| format!("  acquired {date}"))
            .unwrap_or_default();
        writeln!(
            out,
            "  {}  {}  record {}  line {}  byte {}  field {}{acquired}",
            hit["corpus"].as_str().unwrap_or_default(),
            hit["file"].as_str().unwrap_or_default(),
            hit["record"],
            hit["line"],
            hit["offset"],
            hit["field"].as_str().unwrap_or_default()
        )?;
    }
    Ok(())
}

/// Ingests server-side paths through `Corpora.Ingest` and follows the job to its end; returns
/// the report `ingest --json` prints locally.
pub async fn ingest(channel: Channel, request: proto::IngestRequest) -> Result<Value, Failure> {
    let mut corpora = CorporaClient::new(channel);
    let job = corpora.ingest(request.clone()).await?.into_inner();
    let mut updates = corpora
        .watch_job(proto::WatchJobRequest { id: job.id })
        .await?
        .into_inner();
    let mut last = None;
    while let Some(update) = updates.message().await? {
        last = Some(update);
    }
    let job = last.ok_or("the job ended without a state")?;
    if job.phase == proto::JobPhase::Failed as i32 {
        return Err(job.error.into());
    }
    let files: Vec<Value> = job
        .files
        .into_iter()
        .map(|file| {
            json!({"path": file.path, "size": file.size, "sha256": file.sha256, "records": file.records,
                   "rejected": file.rejected, "format": file.format})
        })
        .collect();
    Ok(
        json!({"corpus": request.corpus, "records": job.records, "rejected": job.rejected, "files": files,
              "segments": job.segments, "skipped": job.skipped, "errors": job.file_errors,
              "text_indexed": !request.skip_text}),
    )
}

pub async fn search(
    channel: Channel,
    query: String,
    limit: usize,
    corpora: Vec<String>,
) -> Result<Vec<SearchHit>, Failure> {
    let request = proto::SearchRequest {
        query,
        limit: limit as u32,
        corpora,
    };
    let response = LookupClient::new(channel).search(request).await?.into_inner();
    Ok(response
        .hits
        .into_iter()
        .map(|hit| SearchHit {
            corpus: hit.corpus,
            file: hit.file,
            record: hit.record,
            line: hit.line,
            offset: hit.offset,
            score: hit.score,
            snippet: hit.snippet,
        })
        .collect())
}

pub async fn show(channel: Channel, corpus: String, file: String, record: u64) -> Result<Value, Failure> {
    let request = proto::GetRecordRequest { corpus, file, record };
    let shown = LookupClient::new(channel).get_record(request).await?.into_inner();
    let fields: Vec<Value> = shown
        .fields
        .into_iter()
        .map(|field| {
            json!({"name": field.name, "kind": kind_name(field.kind).unwrap_or("other"), "validity": field.validity,
                   "raw": field.raw, "normalized": field.normalized})
        })
        .collect();
    Ok(
        json!({"file": shown.file, "record": shown.record, "line": shown.line, "offset": shown.offset,
              "decoded_latin1": shown.decoded_latin1, "fields": fields}),
    )
}

pub async fn corpora(channel: Channel) -> Result<Vec<Value>, Failure> {
    let listed = CorporaClient::new(channel)
        .list(proto::ListCorporaRequest {})
        .await?
        .into_inner();
    let optional = |text: String| {
        if text.is_empty() {
            Value::Null
        } else {
            Value::String(text)
        }
    };
    Ok(listed
        .corpora
        .into_iter()
        .map(|corpus| {
            let kind = match proto::CorpusKind::try_from(corpus.kind) {
                Ok(proto::CorpusKind::Reference) => "reference",
                Ok(proto::CorpusKind::Suspect) => "suspect",
                _ => "leak",
            };
            let files: Vec<Value> = corpus
                .files
                .into_iter()
                .map(|file| json!({"path": file.path, "size": file.size, "sha256": file.sha256, "records": file.records, "rejected": file.rejected}))
                .collect();
            json!({"name": corpus.name, "kind": kind, "acquired": optional(corpus.acquired), "source": optional(corpus.source),
                   "created": corpus.created, "records": corpus.records, "files": files, "segments": corpus.segments})
        })
        .collect())
}
