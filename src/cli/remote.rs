//! The CLI as a client of `leakdex serve` (`--server URL`): the same commands and, because the
//! answers are turned back into the library's own types, the same printers and output.

use super::Failure;
use super::flags::{Command, IngestArgs, LookupArgs, parse_kind};
use super::print::{print_corpora, print_ingest_report, print_range, print_search_hits, print_shown, write_answer};
use super::query::range_query;
use super::transfer::{Output, open_queries};
use leakdex::catalog::CorpusSummary;
use leakdex::query::SearchHit;
use leakdex::segment::ManifestFile;
use leakdex::segment::{BuildReport, ShownRecord};
use leakdex::service::client::{ClientTls, Connection, connect};
use leakdex::service::convert::answer_from_proto;
use leakdex::service::proto::{self, corpora_client::CorporaClient, lookup_client::LookupClient};
use std::io::{BufRead, Write};
use std::path::Path;
use std::process::ExitCode;

/// What a client of an https:// server presents: the CA that signed the server's certificate,
/// and for mutual TLS this client's certificate and key.
pub(super) fn client_tls(
    ca: Option<&Path>,
    cert: Option<&Path>,
    key: Option<&Path>,
) -> Result<Option<ClientTls>, Failure> {
    Ok(match ca {
        Some(ca) => Some(ClientTls {
            ca: std::fs::read(ca)?,
            identity: match (cert, key) {
                (Some(cert), Some(key)) => Some((std::fs::read(cert)?, std::fs::read(key)?)),
                _ => None,
            },
            domain: None,
        }),
        None => None,
    })
}

/// Commands answered by a server; they print through the same functions as the local ones.
pub(super) fn run_remote(
    url: &str,
    token: Option<&str>,
    tls: Option<ClientTls>,
    command: Command,
) -> Result<ExitCode, Failure> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let connected = match &tls {
            Some(tls) => leakdex::service::client::connect_tls(url, token, tls).await,
            None => connect(url, token).await,
        };
        let channel = connected.map_err(|error| -> Failure { error.to_string().into() })?;
        match command {
            Command::Lookup(LookupArgs {
                kind,
                corpus,
                json,
                file,
                output,
                region: _,
                require_complete,
                values,
            }) => {
                let mut out = Output::open(output.as_deref())?;
                let reader = open_queries(file.as_deref())?;
                let asked = proto::LookupRequest {
                    kind: parse_kind(kind.as_deref())?.map_or(0, |kind| proto::IdentifierKind::from(kind) as i32),
                    corpora: corpus,
                    require_complete,
                    ..Default::default()
                };
                lookup(channel, values, reader, asked, json, &mut out).await?;
                out.finish()?;
                Ok(ExitCode::SUCCESS)
            }
            Command::Search {
                json,
                limit,
                corpus,
                plain,
                query,
            } => {
                print_search_hits(&search(channel, query, plain, limit, corpus).await?, json)?;
                Ok(ExitCode::SUCCESS)
            }
            Command::RangeLookup { kind, region, value } => {
                let (kind, normalized, prefix, suffix) = range_query(kind.as_deref(), region, &value)?;
                let entries = range_lookup(channel, prefix.clone()).await?;
                print_range(kind, &normalized, &prefix, &suffix, &entries);
                Ok(ExitCode::SUCCESS)
            }
            Command::Show {
                corpus,
                file,
                record,
                json,
            } => {
                let shown = show(channel, corpus.clone(), file, record).await?;
                print_shown(&corpus, &shown, json)?;
                Ok(ExitCode::SUCCESS)
            }
            Command::Corpora { json } => {
                print_corpora(&corpora(channel).await?, json)?;
                Ok(ExitCode::SUCCESS)
            }
            Command::Ingest(IngestArgs {
                corpus,
                kind,
                acquired,
                source,
                force,
                no_text,
                json,
                paths,
                part,
                ..
            }) => {
                if part.is_some() {
                    return Err("--part splits an ingest among processes that publish to the catalog themselves (a Kubernetes Indexed Job); it is not sent to --server".into());
                }
                // The server reads the paths itself: they must be visible to it (same machine or
                // shared storage), so they are sent absolute.
                let paths = paths
                    .iter()
                    .map(|path| std::fs::canonicalize(path).map(|path| path.display().to_string()))
                    .collect::<Result<Vec<_>, _>>()?;
                let request = leakdex::service::proto::IngestRequest {
                    corpus,
                    kind: leakdex::service::proto::CorpusKind::from(kind) as i32,
                    acquired: acquired.unwrap_or_default(),
                    source: source.unwrap_or_default(),
                    paths,
                    force,
                    skip_text: no_text,
                };
                print_ingest_report(&ingest(channel, request).await?, json)
            }
            _ => Err("--server works with ingest, lookup, search, show and corpora".into()),
        }
    })
}

/// Streams every query through `BatchLookup`, each request `asked` with its id and value, and
/// prints the answers as `lookup` does locally.
async fn lookup(
    channel: Connection,
    values: Vec<String>,
    reader: Option<Box<dyn BufRead + Send>>,
    asked: proto::LookupRequest,
    json: bool,
    out: &mut impl Write,
) -> Result<(), Failure> {
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
                ..asked.clone()
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
        write_answer(&answer_from_proto(&query, &response), json, out)?;
    }
    producer.await??;
    Ok(())
}

async fn search(
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

async fn show(channel: Connection, corpus: String, file: String, record: u64) -> Result<ShownRecord, Failure> {
    let request = proto::GetRecordRequest { corpus, file, record };
    Ok(LookupClient::new(channel)
        .get_record(request)
        .await?
        .into_inner()
        .into())
}

async fn corpora(channel: Connection) -> Result<Vec<CorpusSummary>, Failure> {
    let listed = CorporaClient::new(channel)
        .list(proto::ListCorporaRequest {})
        .await?
        .into_inner();
    Ok(listed.corpora.into_iter().map(CorpusSummary::from).collect())
}

/// Ingests server-side paths through `Corpora.Ingest` and follows the job to its end; returns
/// the report a local ingest makes.
async fn ingest(channel: Connection, request: proto::IngestRequest) -> Result<BuildReport, Failure> {
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
async fn range_lookup(channel: Connection, prefix: String) -> Result<Vec<(String, Vec<String>)>, Failure> {
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
