//! The CLI as a client of `leakdex serve` (`--server URL`): the same commands and, because the
//! answers are turned back into the library's own types, the same printers and output.

use leakdex::catalog::CorpusSummary;
use leakdex::ingest::Kind;
use leakdex::query::SearchHit;
use leakdex::segment::ManifestFile;
use leakdex::segment::{BuildReport, ShownRecord};
use leakdex::service::client::Connection;
pub use leakdex::service::client::connect;
use leakdex::service::convert::answer_from_proto;
use leakdex::service::proto::{self, corpora_client::CorporaClient, lookup_client::LookupClient};
use std::io::{BufRead, Write};

type Failure = Box<dyn std::error::Error>;

/// Streams every query through `BatchLookup` and prints the answers as `lookup` does locally.
pub async fn lookup(
    channel: Connection,
    values: Vec<String>,
    reader: Option<Box<dyn BufRead + Send>>,
    kind: Option<Kind>,
    corpora: Vec<String>,
    json: bool,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let kind = kind.map_or(0, |kind| proto::IdentifierKind::from(kind) as i32);
    let (sender, receiver) = tokio::sync::mpsc::channel::<proto::LookupRequest>(4096);
    // Responses come back in request order: the printer takes each query's text from here.
    let (texts_sender, texts) = std::sync::mpsc::channel::<String>();
    // Requests are read and sent on their own task: flow control paces it.
    let producer = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let lines = reader.into_iter().flat_map(BufRead::lines);
        let queries = values.into_iter().map(Ok).chain(lines);
        for (id, value) in queries.enumerate() {
            let value = value?;
            if value.trim().is_empty() {
                continue;
            }
            let request = proto::LookupRequest {
                id: id.to_string(),
                value: value.clone(),
                kind,
                corpora: corpora.clone(),
            };
            if texts_sender.send(value).is_err() || sender.blocking_send(request).is_err() {
                return Ok(());
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
        crate::write_answer(&answer_from_proto(&query, &response), json, out)?;
    }
    producer.await??;
    Ok(())
}

pub async fn search(
    channel: Connection,
    query: String,
    plain: bool,
    limit: usize,
    corpora: Vec<String>,
) -> Result<Vec<SearchHit>, Failure> {
    let request = proto::SearchRequest {
        query,
        limit: limit as u32,
        corpora,
        plain,
    };
    let response = LookupClient::new(channel).search(request).await?.into_inner();
    Ok(response.hits.into_iter().map(SearchHit::from).collect())
}

pub async fn show(channel: Connection, corpus: String, file: String, record: u64) -> Result<ShownRecord, Failure> {
    let request = proto::GetRecordRequest { corpus, file, record };
    Ok(LookupClient::new(channel)
        .get_record(request)
        .await?
        .into_inner()
        .into())
}

pub async fn corpora(channel: Connection) -> Result<Vec<CorpusSummary>, Failure> {
    let listed = CorporaClient::new(channel)
        .list(proto::ListCorporaRequest {})
        .await?
        .into_inner();
    Ok(listed.corpora.into_iter().map(CorpusSummary::from).collect())
}

/// Ingests server-side paths through `Corpora.Ingest` and follows the job to its end; returns
/// the report a local ingest makes.
pub async fn ingest(channel: Connection, request: proto::IngestRequest) -> Result<BuildReport, Failure> {
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
    Ok(BuildReport {
        corpus: request.corpus,
        records: job.records,
        rejected: job.rejected,
        files: job
            .files
            .into_iter()
            .map(|file| ManifestFile {
                path: file.path,
                size: file.size,
                sha256: file.sha256,
                records: file.records,
                rejected: file.rejected,
                format: file.format,
            })
            .collect(),
        segments: job.segments,
        skipped: job.skipped,
        errors: job.file_errors,
        text_indexed: !request.skip_text,
        canaries: job.canaries.into_iter().map(Into::into).collect(),
    })
}

/// A private lookup: only `prefix` leaves this machine. (suffix, corpora) of every entry.
pub async fn range_lookup(channel: Connection, prefix: String) -> Result<Vec<(String, Vec<String>)>, Failure> {
    let response = LookupClient::new(channel)
        .range_lookup(proto::RangeLookupRequest { prefix })
        .await?
        .into_inner();
    Ok(response
        .entries
        .into_iter()
        .map(|entry| (entry.suffix, entry.corpora))
        .collect())
}
