//! The `leakdex` command line.

mod remote;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use leakdex::access::audit::{AuditLog, Request as AuditRequest};
use leakdex::access::role::Role;
use leakdex::access::token::TokenStore;
use leakdex::catalog::{Catalog, Corpus, CorpusKind, CorpusSummary, FileCatalog, PgCatalog};
use leakdex::ingest::{Format, Kind, Region, ScanOptions};
use leakdex::inspect::inspect;
use leakdex::query::r#match::{MatchOptions, RecordMatch, match_records, read_suspects, suspects_of_corpus};
use leakdex::query::provenance::{Report, attribute};
use leakdex::query::{Answer, Index, Query, lookup_batch, readable, search};
use leakdex::segment::text::{build_text_index_reporting, rebuild_text_index};
use leakdex::segment::{
    BuildOptions, BuildReport, IDENTIFYING_KINDS, ShownRecord, collect_garbage, delete_corpus, fingerprint,
    index_corpus,
};
use leakdex::storage::{DataDir, open_objects};
use std::io::{BufRead, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Answers and records are many small allocations; mimalloc serves them much faster than glibc's
/// allocator across threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "leakdex",
    version,
    about = "Provenance search over leaked personal-data corpora"
)]
struct Cli {
    /// Data directory (default: $LEAKDEX_DATA_DIR, else ./leakdex-data).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Ask a running `leakdex serve` instead of the local data directory (lookup, search, show,
    /// corpora), e.g. http://127.0.0.1:7070.
    #[arg(long, global = true, env = "LEAKDEX_SERVER")]
    server: Option<String>,
    /// Bearer token for --server (issued with `leakdex token create`).
    #[arg(long, global = true, env = "LEAKDEX_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// For an https:// server: the CA that signed its certificate (PEM).
    #[arg(long, global = true)]
    ca: Option<PathBuf>,
    /// For mutual TLS: this client's certificate and key (PEM).
    #[arg(long, global = true, requires = "key")]
    cert: Option<PathBuf>,
    #[arg(long, global = true, requires = "cert")]
    key: Option<PathBuf>,
    #[command(flatten)]
    backends: Backends,
    #[command(subcommand)]
    command: Command,
}

/// Where the index lives beyond the data directory: what several processes share.
#[derive(Args, Clone, Default)]
struct Backends {
    /// The catalog on PostgreSQL (postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE), shared by
    /// every process of a deployment; default: the data directory's catalog.json.
    #[arg(long = "catalog", global = true, env = "LEAKDEX_CATALOG", hide_env_values = true)]
    catalog_url: Option<String>,
    /// Published segments on S3-compatible object storage (s3://BUCKET/PREFIX; endpoint, region
    /// and keys from the AWS_* variables, AWS_ALLOW_HTTP=true for a local test server);
    /// default: the data directory.
    #[arg(long, global = true, env = "LEAKDEX_STORAGE")]
    storage: Option<String>,
    /// Bytes of segment files kept in DATA/cache/ from --storage, least recently used evicted.
    #[arg(long, global = true, default_value = "10GiB", value_parser = parse_bytes)]
    cache_size: usize,
    /// The fingerprint key (32 hex digits) that every process of a deployment shares, as a
    /// Kubernetes Secret mounts it; default: DATA/key, made on first use.
    #[arg(long, global = true, env = "LEAKDEX_KEY_FILE")]
    key_file: Option<PathBuf>,
}

#[derive(Args)]
struct ReadOptions {
    /// Force a format instead of sniffing: csv, tsv, psv, ssv, jsonl, json, sql, combo, text.
    #[arg(long)]
    format: Option<Format>,
    /// Region for phone numbers written without a country code (ISO 3166 code).
    #[arg(long, default_value = "IN")]
    region: Region,
}

#[derive(Subcommand)]
enum Command {
    /// Show what is in dump files: format, encoding, record counts, rejects, field kinds.
    Inspect {
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        read: ReadOptions,
        /// Files or directories (walked recursively; zip archives are walked as folders).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Index dump files into a corpus (a new immutable segment).
    Ingest {
        #[arg(long)]
        corpus: String,
        #[arg(long, default_value = "leak")]
        kind: CorpusKind,
        /// When the data was acquired (YYYY-MM-DD).
        #[arg(long, value_parser = parse_date)]
        acquired: Option<String>,
        /// Where the data came from (custody notes).
        #[arg(long)]
        source: Option<String>,
        /// Bytes of fingerprints held in memory before sorted runs spill to disk.
        #[arg(long, default_value = "1GiB", value_parser = parse_bytes)]
        memory_budget: usize,
        /// Ingest files even if the corpus already holds the same bytes.
        #[arg(long)]
        force: bool,
        /// Publish the exact index only; build the full-text index later with `leakdex reindex-text`.
        #[arg(long)]
        no_text: bool,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        read: ReadOptions,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// List corpora with their counts.
    Corpora {
        #[arg(long)]
        json: bool,
    },
    /// Unpublish a corpus and remove its segments.
    Delete {
        #[arg(long)]
        corpus: String,
    },
    /// Which corpora hold these identifiers, and where exactly.
    Lookup {
        /// Identifier kind of every query (default: recognized from each value).
        #[arg(long)]
        kind: Option<String>,
        /// Only these corpora.
        #[arg(long)]
        corpus: Vec<String>,
        #[arg(long)]
        json: bool,
        /// Read queries from a file, one per line ('-' for standard input).
        #[arg(long)]
        file: Option<PathBuf>,
        #[arg(long, default_value = "IN")]
        region: Region,
        values: Vec<String>,
    },
    /// A private lookup: sends only the first 5 hex characters of the identifier's SHA-256 and
    /// checks the answer here (with --server, the server never learns the identifier).
    RangeLookup {
        #[arg(long)]
        kind: Option<String>,
        #[arg(long, default_value = "IN")]
        region: Region,
        value: String,
    },
    /// Full-text and fielded search: `name:"rahul sharma" district:pune`, `name:rahul~1`.
    Search {
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long)]
        corpus: Vec<String>,
        /// Look for the query's words as written: nothing in it is syntax (fields, operators,
        /// quotes, brackets).
        #[arg(long)]
        plain: bool,
        query: String,
    },
    /// Build missing full-text indexes of published segments.
    ReindexText {
        /// Rebuild the indexes that exist too (after an upgrade that indexes more, such as
        /// names in Indic scripts in Latin letters); each is replaced once its successor is built.
        #[arg(long)]
        force: bool,
    },
    /// Bearer tokens for the gRPC service: each names a principal and its role.
    #[command(subcommand)]
    Token(TokenCommand),
    /// The audit log: who asked what, when, with how many hits.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Canary records: planted in one distributed copy of a source system, so that meeting one
    /// names the copy that leaked.
    #[command(subcommand)]
    Canary(CanaryCommand),
    /// Match a suspect set's records to the indexed corpora and attribute the set: which corpus
    /// it was most likely copied from, with the evidence. Verdict first.
    Provenance {
        /// Print the report as one JSON object.
        #[arg(long)]
        json: bool,
        /// Write a self-contained HTML report here.
        #[arg(long)]
        html: Option<PathBuf>,
        /// Write each suspect record's matches, best first, as JSON Lines in input order.
        #[arg(long)]
        records: Option<PathBuf>,
        /// Attribute an ingested corpus (of kind suspect) instead of files.
        #[arg(long, conflicts_with = "paths")]
        corpus: Option<String>,
        /// Lowest match score (0 to 1) that counts as found.
        #[arg(long, default_value_t = 0.5)]
        threshold: f64,
        #[command(flatten)]
        read: ReadOptions,
        #[arg(required_unless_present = "corpus")]
        paths: Vec<PathBuf>,
    },
    /// Print a record as stored, to check a hit against its source.
    Show {
        #[arg(long)]
        corpus: String,
        #[arg(long)]
        file: String,
        /// Record number in the file (1-based, as in hits).
        #[arg(long)]
        record: u64,
        #[arg(long)]
        json: bool,
    },
    /// Recompute every segment's checksums.
    Verify {
        #[arg(long)]
        corpus: Vec<String>,
    },
    /// Serve the gRPC API (leakdex.v1 Lookup and Corpora, health, reflection).
    Serve {
        #[arg(long, default_value = "127.0.0.1:7070")]
        listen: std::net::SocketAddr,
        #[arg(long, default_value = "IN")]
        region: Region,
        /// Seconds in-flight calls get to finish after SIGTERM or Ctrl-C.
        #[arg(long, default_value_t = 10)]
        grace: u64,
        /// Serve Prometheus metrics at http://ADDR/metrics, to bearer tokens of the monitor or
        /// admin role. Plain HTTP: beyond loopback only with --insecure.
        #[arg(long)]
        metrics_listen: Option<std::net::SocketAddr>,
        /// A folder whose files `Corpora.Ingest` may read by server path (repeatable). None by
        /// default: callers upload. Symbolic links are resolved and must stay inside; the data
        /// directory is never readable this way.
        #[arg(long, env = "LEAKDEX_INGEST_ROOTS", value_delimiter = ',')]
        ingest_root: Vec<PathBuf>,
        /// Largest upload accepted, in bytes.
        #[arg(long, default_value_t = 16 << 30)]
        max_upload_bytes: u64,
        /// Serve over TLS with this certificate chain (PEM)...
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// ...and its private key (PEM).
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Accept client certificates signed by this CA (PEM): mutual TLS. A certificate must be
        /// registered to a principal (`leakdex token create --name NAME --role ROLE
        /// --certificate CERT.pem`); the names inside it are not trusted.
        #[arg(long, requires = "tls_cert")]
        client_ca: Option<PathBuf>,
        /// Listen beyond loopback without TLS. Tokens then cross the network in the clear.
        #[arg(long)]
        insecure: bool,
    },
    /// Write synthetic corpora with known overlaps.
    Gen {
        #[arg(long)]
        out: PathBuf,
        /// Records per corpus.
        #[arg(long, default_value_t = 10_000)]
        records: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Also write a bot-style suspect sample of this many records drawn from the corpora,
        /// as FILE (JSON Lines) and its truth as FILE.truth.jsonl (not inside --out, so that
        /// ingesting the corpora does not ingest the sample).
        #[arg(long, value_names = ["COUNT", "FILE"], num_args = 2)]
        suspects: Option<Vec<String>>,
        /// Also write dumps of the shapes real leaks come in (a JSON document wrapping its
        /// records, mixed and labelled identifiers, a SQL dump split into schema and data) under
        /// DIR, for the first --records people, and every identifier they hold with its file and
        /// record as DIR.truth.jsonl.
        #[arg(long, value_name = "DIR")]
        shapes: Option<PathBuf>,
    },
    /// Generate corpora and suspect samples, ingest them, look the phones up, search, and end
    /// with the provenance report of a bot-style sample, verdict first.
    Demo {
        #[arg(long, default_value = "leakdex-demo")]
        out: PathBuf,
        #[arg(long, default_value_t = 20_000)]
        records: u64,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Issue a token; it is printed once and only its SHA-256 is kept.
    Create {
        /// Who holds it (an agency's service, a person).
        #[arg(long)]
        name: String,
        /// admin, ingest, investigator, analyst, partner or monitor.
        #[arg(long)]
        role: Role,
        /// Register this client certificate (PEM) for the principal instead of printing a
        /// token: mutual TLS then names the principal by the certificate's SHA-256, never by
        /// the names inside it.
        #[arg(long)]
        certificate: Option<PathBuf>,
    },
    /// Issued tokens (never the tokens themselves).
    List,
    /// Revoke by id or name; takes effect at the server's next call, and on open streams
    /// before their next batch.
    Revoke { id_or_name: String },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the log's keyed hash chain; names every edited, deleted, inserted or reordered
    /// entry.
    Verify {
        /// An anchor printed earlier by `audit anchor` and kept off this machine: the log must
        /// still hold that entry, unchanged.
        #[arg(long)]
        anchor: Option<String>,
    },
    /// Print the last entry's sequence number and hash (SEQ:HASH) to keep off this machine.
    Anchor,
    /// Print entries, filtered by principal and time.
    Show {
        #[arg(long)]
        principal: Option<String>,
        /// From this time on (YYYY-MM-DD or RFC 3339, UTC).
        #[arg(long)]
        since: Option<String>,
        /// Up to this time (a date includes the whole day).
        #[arg(long)]
        until: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum CanaryCommand {
    /// Register the records of FILE as canaries planted in the copy SOURCE; every later ingest
    /// and provenance run that meets one reports it first.
    Add {
        /// The distributed copy the records were planted in (e.g. `state-health-dept-2023`).
        #[arg(long)]
        source: String,
        /// Corpus name for the canaries (default: canary-SOURCE).
        #[arg(long)]
        corpus: Option<String>,
        #[command(flatten)]
        read: ReadOptions,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// The registered canary corpora and the copies they were planted in.
    List,
}

fn parse_date(text: &str) -> Result<String, String> {
    if leakdex::ingest::normalize::is_iso_date(text) {
        Ok(text.to_string())
    } else {
        Err(format!("{text:?} is not a date written YYYY-MM-DD"))
    }
}

fn parse_bytes(text: &str) -> Result<usize, String> {
    let lower = text.trim().to_ascii_lowercase();
    let (digits, unit) = lower.split_at(lower.find(|c: char| !c.is_ascii_digit()).unwrap_or(lower.len()));
    let number: usize = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size such as 512MiB or 2GiB"))?;
    let multiplier = match unit.trim() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("{text:?}: unknown unit (use KiB, MiB or GiB)")),
    };
    Ok(number * multiplier)
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("LEAKDEX_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("leakdex: {error}");
            ExitCode::FAILURE
        }
    }
}

type Failure = Box<dyn std::error::Error>;

/// Opens the data directory, the catalog and the segment storage `backends` name, and checks
/// that this process's fingerprint key is the one the catalog's segments were built with.
fn open_data(data_dir: Option<&Path>, backends: &Backends) -> Result<(DataDir, Arc<dyn Catalog>), Failure> {
    let root = data_dir.map_or_else(DataDir::default_path, Path::to_path_buf);
    let mut data = DataDir::open(&root)?;
    match &backends.key_file {
        Some(key_file) => data = data.with_key_file(key_file)?,
        // A key made up here would be the one a fresh shared catalog records, and every other
        // process would then be refused.
        None if backends.catalog_url.is_some() || backends.storage.is_some() => {
            return Err(
                "--catalog and --storage are shared by every process of a deployment: give the \
                        deployment's fingerprint key with --key-file (or LEAKDEX_KEY_FILE)"
                    .into(),
            );
        }
        None => {}
    }
    if let Some(location) = &backends.storage {
        data = data.with_objects(open_objects(location)?.into(), backends.cache_size as u64)?;
    }
    let catalog: Arc<dyn Catalog> = match &backends.catalog_url {
        Some(url) => {
            // The catalog's database keeps the deployment's shared state too (tokens, the
            // audit chain, the limiter's counters).
            let shared = Arc::new(PgCatalog::connect(url)?);
            data = data.with_shared(shared.clone());
            shared
        }
        None => Arc::new(FileCatalog::open(data.root())),
    };
    catalog.check_key(&data.key_check())?;
    Ok((data, catalog))
}

fn run(cli: Cli) -> Result<ExitCode, Failure> {
    if let Some(url) = cli.server.as_deref() {
        let tls = match &cli.ca {
            Some(ca) => Some(leakdex::service::client::ClientTls {
                ca: std::fs::read(ca)?,
                identity: match (&cli.cert, &cli.key) {
                    (Some(cert), Some(key)) => Some((std::fs::read(cert)?, std::fs::read(key)?)),
                    _ => None,
                },
                domain: None,
            }),
            None => None,
        };
        return run_remote(url, cli.token.as_deref(), tls, cli.command);
    }
    let data_dir = cli.data_dir.as_deref();
    let backends = cli.backends;
    match cli.command {
        Command::Inspect { json, read, paths } => {
            let options = ScanOptions {
                format: read.format,
                region: read.region,
                ..ScanOptions::default()
            };
            Ok(run_inspect(&paths, options, json))
        }
        Command::Ingest {
            corpus,
            kind,
            acquired,
            source,
            memory_budget,
            force,
            no_text,
            json,
            read,
            paths,
        } => {
            let (data, catalog) = open_data(data_dir, &backends)?;
            let corpus = Corpus {
                acquired,
                source,
                ..Corpus::new(corpus, kind)
            };
            let (bar, on_bytes) = progress(&paths);
            let scan = ScanOptions {
                format: read.format,
                region: read.region,
                on_bytes,
                ..ScanOptions::default()
            };
            let options = BuildOptions {
                scan,
                memory_budget,
                force,
            };
            let bars = IngestBars {
                bytes: bar,
                text: std::sync::OnceLock::new(),
            };
            let indexed = index_corpus(&data, catalog.as_ref(), &corpus, &paths, &options, !no_text, &bars);
            bars.finish();
            let report = indexed?;
            audit_local(
                &data,
                "Ingest",
                report.files.len(),
                report.records as usize,
                &[(Kind::Other, corpus.name.as_str())],
            )?;
            print_ingest_report(&report, json)
        }
        Command::Corpora { json } => {
            let (data, catalog) = open_data(data_dir, &backends)?;
            collect_garbage(&data, catalog.as_ref())?;
            let corpora: Vec<CorpusSummary> = catalog.corpora()?.iter().map(Corpus::summary).collect();
            print_corpora(&corpora, json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Delete { corpus } => {
            let (data, catalog) = open_data(data_dir, &backends)?;
            let segments = delete_corpus(&data, catalog.as_ref(), &corpus)?;
            audit_local(&data, "Delete", 1, segments, &[(Kind::Other, corpus.as_str())])?;
            println!("deleted corpus {corpus} ({segments} segments)");
            Ok(ExitCode::SUCCESS)
        }
        Command::Lookup {
            kind,
            corpus,
            json,
            file,
            region,
            values,
        } => {
            let (data, catalog) = open_data(data_dir, &backends)?;
            let index = Index::open(&data, catalog.as_ref(), &corpus)?;
            run_lookup(
                &data,
                &index,
                region,
                parse_kind(kind.as_deref())?,
                file.as_deref(),
                values,
                json,
            )
        }
        Command::Search {
            json,
            limit,
            corpus,
            plain,
            query,
        } => {
            let (data, catalog) = open_data(data_dir, &backends)?;
            let index = Index::open(&data, catalog.as_ref(), &corpus)?;
            let hits = search(&index, &readable(&query, plain)?, limit, &[])?;
            audit_local(&data, "Search", 1, hits.len(), &[(Kind::Other, query.as_str())])?;
            print_search_hits(&hits, json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::ReindexText { force } => {
            let (data, catalog) = open_data(data_dir, &backends)?;
            let corpora = catalog.corpora()?;
            let segments: Vec<_> = corpora
                .iter()
                .flat_map(|corpus| corpus.published())
                .filter(|segment| force || !data.text_path(&segment.id).exists())
                .collect();
            let bar = records_bar(segments.iter().map(|segment| segment.records).sum());
            let progress = |records| bar.inc(records);
            for segment in segments {
                match force {
                    true => rebuild_text_index(&data, &segment.id, &progress)?,
                    false => build_text_index_reporting(&data, &segment.id, &progress)?,
                }
            }
            bar.finish_and_clear();
            Ok(ExitCode::SUCCESS)
        }
        Command::Show {
            corpus,
            file,
            record,
            json,
        } => {
            let (data, catalog) = open_data(data_dir, &backends)?;
            let index = Index::open(&data, catalog.as_ref(), std::slice::from_ref(&corpus))?;
            let shown = index.show(&corpus, &file, record)?;
            let address = format!("{corpus}\u{1f}{file}\u{1f}{record}");
            audit_local(
                &data,
                "GetRecord",
                1,
                usize::from(shown.is_some()),
                &[(Kind::Other, address.as_str())],
            )?;
            let Some(shown) = shown else {
                return Err(format!("corpus {corpus} has no record {record} in file {file:?}").into());
            };
            print_shown(&corpus, &shown, json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify { corpus } => {
            let (data, catalog) = open_data(data_dir, &backends)?;
            let index = Index::open(&data, catalog.as_ref(), &corpus)?;
            let mut failed = false;
            for indexed in &index.segments {
                match indexed.segment.verify() {
                    Ok(()) => println!("ok\t{}\t{}", indexed.corpus, indexed.segment.manifest.id),
                    Err(error) => {
                        failed = true;
                        println!("CORRUPT\t{}\t{error}", indexed.corpus);
                    }
                }
            }
            Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
        }
        Command::Gen {
            out,
            records,
            seed,
            suspects,
            shapes,
        } => {
            let manifest = leakdex::synth::generate(&out, records, seed)?;
            for corpus in &manifest.corpora {
                println!("{}\t{} records", out.join(&corpus.file).display(), corpus.records);
            }
            if let Some(dir) = shapes {
                let truth = leakdex::synth::write_shapes(&dir, records, seed)?;
                let truth_path = PathBuf::from(format!("{}.truth.jsonl", dir.display()));
                let mut lines = BufWriter::new(std::fs::File::create(&truth_path)?);
                for entry in &truth {
                    serde_json::to_writer(&mut lines, entry)?;
                    lines.write_all(b"\n")?;
                }
                lines.flush()?;
                println!(
                    "{}\t{} identifiers in {}",
                    truth_path.display(),
                    truth.len(),
                    dir.display()
                );
            }
            if let Some([count, file]) = suspects.as_deref() {
                let count: usize = count.parse().map_err(|_| format!("{count:?} is not a record count"))?;
                let sample = leakdex::synth::suspect_records(records, seed, count);
                let path = PathBuf::from(file);
                leakdex::synth::write_suspects(&path, &sample)?;
                let mut truth = BufWriter::new(std::fs::File::create(format!("{file}.truth.jsonl"))?);
                for suspect in &sample {
                    serde_json::to_writer(&mut truth, suspect)?;
                    truth.write_all(b"\n")?;
                }
                truth.flush()?;
                println!("{}\t{count} suspect records", path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { out, records } => run_demo(&out, records, data_dir),
        Command::RangeLookup { kind, region, value } => {
            let (kind, normalized, prefix, suffix) = range_query(kind.as_deref(), region, &value)?;
            let (data, catalog) = open_data(data_dir, &backends)?;
            let index = Index::open(&data, catalog.as_ref(), &[])?;
            let entries = leakdex::query::range::range_lookup(&index, &prefix)?;
            audit_local(&data, "RangeLookup", 1, 0, &[(Kind::Other, prefix.as_str())])?;
            let entries: Vec<(String, Vec<String>)> =
                entries.into_iter().map(|entry| (entry.suffix, entry.corpora)).collect();
            print_range(kind, &normalized, &prefix, &suffix, &entries);
            Ok(ExitCode::SUCCESS)
        }
        Command::Canary(CanaryCommand::Add {
            source,
            corpus,
            read,
            paths,
        }) => {
            let (data, catalog) = open_data(data_dir, &backends)?;
            let corpus = Corpus {
                source: Some(source.clone()),
                ..Corpus::new(corpus.unwrap_or_else(|| format!("canary-{source}")), CorpusKind::Canary)
            };
            let scan = ScanOptions {
                format: read.format,
                region: read.region,
                ..ScanOptions::default()
            };
            let options = BuildOptions {
                scan,
                ..BuildOptions::default()
            };
            // A canary is never searched: no full text.
            let report = index_corpus(&data, catalog.as_ref(), &corpus, &paths, &options, false, &())?;
            audit_local(
                &data,
                "CanaryAdd",
                report.files.len(),
                report.records as usize,
                &[(Kind::Other, corpus.name.as_str())],
            )?;
            print_ingest_report(&report, false)
        }
        Command::Token(TokenCommand::Create {
            name,
            role,
            certificate: Some(certificate),
        }) => {
            let (data, _) = open_data(data_dir, &backends)?;
            let pem = std::fs::read(&certificate).map_err(|error| format!("{}: {error}", certificate.display()))?;
            let der = leakdex::access::token::certificate_der(&pem)
                .map_err(|error| format!("{}: {error}", certificate.display()))?;
            let entry = TokenStore::new(&data).register_certificate(&name, role, &der)?;
            audit_local(&data, "TokenCreate", 1, 0, &[(Kind::Other, entry.name.as_str())])?;
            println!(
                "certificate sha256:{} registered for {} ({})",
                entry.certificate.unwrap_or_default(),
                entry.name,
                entry.role
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Token(TokenCommand::Create {
            name,
            role,
            certificate: None,
        }) => {
            let (data, _) = open_data(data_dir, &backends)?;
            let (entry, token) = TokenStore::new(&data).create(&name, role)?;
            audit_local(&data, "TokenCreate", 1, 0, &[(Kind::Other, entry.name.as_str())])?;
            eprintln!(
                "token {} for {} ({}); shown once, store it now:",
                entry.id, entry.name, entry.role
            );
            println!("{token}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Token(TokenCommand::List) => {
            let (data, _) = open_data(data_dir, &backends)?;
            for entry in TokenStore::new(&data).list()? {
                println!(
                    "{}\t{}\t{}\tcreated {}\t{}",
                    entry.id,
                    entry.name,
                    entry.role,
                    entry.created,
                    entry
                        .revoked
                        .map_or_else(|| "live".to_string(), |when| format!("revoked {when}"))
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Token(TokenCommand::Revoke { id_or_name }) => {
            let (data, _) = open_data(data_dir, &backends)?;
            let revoked = TokenStore::new(&data).revoke(&id_or_name)?;
            audit_local(&data, "TokenRevoke", 1, revoked, &[(Kind::Other, id_or_name.as_str())])?;
            println!("revoked {revoked} token(s) of {id_or_name}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit(AuditCommand::Anchor) => {
            let (data, _) = open_data(data_dir, &backends)?;
            println!("{}", AuditLog::new(&data).anchor()?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit(AuditCommand::Verify { anchor }) => {
            let (data, _) = open_data(data_dir, &backends)?;
            let anchor = anchor
                .map(|text| text.parse::<leakdex::access::audit::Anchor>())
                .transpose()?;
            match AuditLog::new(&data).verify_anchored(anchor.as_ref())? {
                Ok(entries) => {
                    println!("ok: {entries} entries, chain intact");
                    Ok(ExitCode::SUCCESS)
                }
                Err(problems) => {
                    for problem in &problems {
                        println!("TAMPERED {problem}");
                    }
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Audit(AuditCommand::Show {
            principal,
            since,
            until,
            json,
        }) => {
            let (data, _) = open_data(data_dir, &backends)?;
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            for entry in AuditLog::new(&data).entries()? {
                let body = &entry.body;
                let wanted = principal.as_ref().is_none_or(|principal| &body.principal == principal)
                    && since.as_ref().is_none_or(|since| body.time.as_str() >= since.as_str())
                    && until.as_ref().is_none_or(|until| {
                        body.time.as_str() <= until.as_str() || body.time.starts_with(until.as_str())
                    });
                if !wanted {
                    continue;
                }
                if json {
                    serde_json::to_writer(&mut out, &entry)?;
                    writeln!(out)?;
                } else {
                    // Names come from callers (a certificate, a token's holder): control characters
                    // are shown escaped, never sent to the terminal.
                    writeln!(
                        out,
                        "{}\t{}\t{}\t{}\t{}\tqueries {}\thits {}\tasked {}{}",
                        body.seq,
                        body.time,
                        body.principal.escape_debug(),
                        body.role.escape_debug(),
                        body.rpc.escape_debug(),
                        body.queries,
                        body.hits,
                        body.asked.len(),
                        if body.outcome.is_empty() {
                            String::new()
                        } else {
                            format!("\trefused {}", body.outcome.escape_debug())
                        }
                    )?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Canary(CanaryCommand::List) => {
            let (_, catalog) = open_data(data_dir, &backends)?;
            for corpus in catalog
                .corpora()?
                .iter()
                .filter(|corpus| corpus.kind == CorpusKind::Canary)
            {
                println!(
                    "{}\tplanted in {}\t{} records",
                    corpus.name,
                    corpus.source.as_deref().unwrap_or("?"),
                    corpus.summary().records
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Provenance {
            json,
            html,
            records,
            corpus,
            threshold,
            read,
            paths,
        } => {
            let (data, catalog) = open_data(data_dir, &backends)?;
            let index = Index::open(&data, catalog.as_ref(), &[])?;
            let (suspects, problems) = match &corpus {
                Some(name) => (suspects_of_corpus(&index, name)?, Vec::new()),
                None => read_suspects(
                    &paths,
                    &ScanOptions {
                        format: read.format,
                        region: read.region,
                        ..ScanOptions::default()
                    },
                ),
            };
            let options = MatchOptions {
                threshold,
                limit: usize::MAX,
                ..MatchOptions::default()
            };
            let matches = match_records(&index, &suspects, &options)?;
            let report = attribute(&index, &suspects, &matches, problems);
            let asked: Vec<(Kind, &str)> = suspects
                .iter()
                .flat_map(|suspect| &suspect.fields)
                .filter(|field| IDENTIFYING_KINDS.contains(&field.kind))
                .map(|field| (field.kind, field.value.as_str()))
                .collect();
            audit_local(&data, "Attribute", suspects.len(), report.matched, &asked)?;
            if let Some(path) = &records {
                write_record_matches(path, &matches)?;
            }
            if let Some(path) = &html {
                std::fs::write(path, leakdex::report::render_html(&report))?;
            }
            print_provenance(&report, json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve {
            listen,
            region,
            grace,
            metrics_listen,
            ingest_root,
            max_upload_bytes,
            tls_cert,
            tls_key,
            client_ca,
            insecure,
        } => {
            if let Some(address) = metrics_listen
                && !address.ip().is_loopback()
            {
                if !insecure {
                    return Err(format!(
                        "refusing to serve metrics on {address} beyond loopback: the endpoint is plain HTTP and its bearer token would cross the network in the clear. \
                         Serve it on loopback behind a TLS proxy, or give --insecure to accept the risk"
                    )
                    .into());
                }
                tracing::error!(%address, "INSECURE: serving metrics beyond loopback over plain HTTP");
                eprintln!("leakdex: INSECURE: serving metrics on {address} over plain HTTP (--insecure)");
            }
            let tls = match (&tls_cert, &tls_key) {
                (Some(cert), Some(key)) => {
                    let identity = tonic::transport::Identity::from_pem(std::fs::read(cert)?, std::fs::read(key)?);
                    let mut config = tonic::transport::ServerTlsConfig::new().identity(identity);
                    if let Some(ca) = &client_ca {
                        config = config
                            .client_ca_root(tonic::transport::Certificate::from_pem(std::fs::read(ca)?))
                            // Clients without a certificate may still present a token.
                            .client_auth_optional(true);
                    }
                    Some(config)
                }
                _ => None,
            };
            if tls.is_none() && !listen.ip().is_loopback() {
                if !insecure {
                    return Err(format!(
                        "refusing to listen on {listen} without TLS: bearer tokens and answers would cross the network in the clear. \
                         Give --tls-cert and --tls-key (and --client-ca for mutual TLS), or --insecure to accept the risk"
                    )
                    .into());
                }
                tracing::error!(%listen, "INSECURE: serving beyond loopback without TLS; tokens and answers cross the network in the clear");
                eprintln!("leakdex: INSECURE: serving on {listen} without TLS (--insecure)");
            }
            let (data, catalog) = open_data(data_dir, &backends)?;
            collect_garbage(&data, catalog.as_ref())?;
            let runtime = tokio::runtime::Runtime::new()?;
            runtime
                .block_on(async move {
                    let listener = tokio::net::TcpListener::bind(listen).await?;
                    eprintln!("leakdex: serving on {}", listener.local_addr()?);
                    let policy = leakdex::service::ServerPolicy {
                        ingest_roots: ingest_root,
                        max_upload_bytes,
                    };
                    let state = leakdex::service::ServiceState::open_with(data, catalog, region, policy)?;
                    if let Some(address) = metrics_listen {
                        let metrics = std::net::TcpListener::bind(address)?;
                        eprintln!("leakdex: metrics on http://{}/metrics", metrics.local_addr()?);
                        leakdex::service::serve_metrics(metrics, state.clone())?;
                    }
                    let grace = std::time::Duration::from_secs(grace);
                    leakdex::service::serve_tls(listener, state, shutdown_signal(), grace, tls).await
                })
                .map_err(|error| -> Failure { error.to_string().into() })?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The kind, normalized value and hash prefix and suffix of a private lookup's value.
fn range_query(kind: Option<&str>, region: Region, value: &str) -> Result<(Kind, String, String, String), Failure> {
    let query = Query {
        value: value.to_string(),
        kind: parse_kind(kind)?,
    };
    let (kind, normalized) = leakdex::query::normalize_query(&query, region)?;
    let (prefix, suffix) = leakdex::query::range::hash_parts(&normalized);
    Ok((kind, normalized, prefix, suffix))
}

/// Checks a range answer against the value's own hash.
fn print_range(kind: Kind, normalized: &str, prefix: &str, suffix: &str, entries: &[(String, Vec<String>)]) {
    let found = entries.iter().find(|(other, _)| other == suffix);
    println!(
        "{} {normalized}: sent prefix {prefix}, received {} entries",
        kind.as_str(),
        entries.len()
    );
    match found {
        Some((_, corpora)) if !corpora.is_empty() => println!("found in {}", corpora.join(", ")),
        _ => println!("not found"),
    }
}

/// Puts a local command's request on the record (before its answer is shown).
fn audit_local(data: &DataDir, rpc: &str, queries: usize, hits: usize, asked: &[(Kind, &str)]) -> Result<(), Failure> {
    let request = AuditRequest {
        queries: queries as u64,
        hits: hits as u64,
        asked: asked
            .iter()
            .map(|(kind, value)| fingerprint(&data.key(), *kind, value))
            .collect(),
        ..AuditRequest::local(rpc)
    };
    AuditLog::new(data).append(&request)?;
    Ok(())
}

/// Matches listed per suspect record, in input order.
const MATCHES_LISTED: usize = 5;

fn write_record_matches(path: &Path, matches: &[Vec<RecordMatch<'_>>]) -> Result<(), Failure> {
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    for (position, list) in matches.iter().enumerate() {
        let line = serde_json::json!({
            "record": position + 1,
            "matches": &list[..list.len().min(MATCHES_LISTED)],
        });
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

fn print_provenance(report: &Report, json: bool) -> Result<(), Failure> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if json {
        serde_json::to_writer_pretty(&mut out, report)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(out, "VERDICT\n  {}\n", report.verdict)?;
    writeln!(
        out,
        "{} suspect records: {} matched, {} found nowhere\n",
        report.records, report.matched, report.unmatched
    )?;
    writeln!(
        out,
        "{:<24} {:<10} {:<11} {:>22} {:>9} {:>16} {:>7} {:>9}  schema overlap",
        "corpus", "kind", "acquired", "containment (95% CI)", "exclusive", "best match for", "agree", "evidence"
    )?;
    for corpus in &report.corpora {
        writeln!(
            out,
            "{:<24} {:<10} {:<11} {:>6.1}% ({:>5.1}–{:>5.1}%) {:>8.1}% {:>15.1}% {:>7.1} {:>4.0} bits  {}",
            corpus.corpus,
            corpus.kind.to_string(),
            corpus.acquired.as_deref().unwrap_or("-"),
            corpus.containment * 100.0,
            corpus.ci95[0] * 100.0,
            corpus.ci95[1] * 100.0,
            corpus.exclusive * 100.0,
            corpus.ranked_first_share * 100.0,
            corpus.agreeing_fields,
            corpus.median_bits,
            corpus.schema_overlap.join(", ")
        )?;
    }
    for hit in &report.canaries {
        writeln!(
            out,
            "CANARY {} (copy {}): suspect {}:{} matches canary record {}",
            hit.canary, hit.copy, hit.suspect_file, hit.suspect_line, hit.canary_record
        )?;
    }
    if !report.unmatched_records.is_empty() {
        let listed: Vec<String> = report
            .unmatched_records
            .iter()
            .take(10)
            .map(|unmatched| format!("{}:{}", unmatched.file, unmatched.line))
            .collect();
        writeln!(out, "\nfound nowhere (first {}): {}", listed.len(), listed.join(" "))?;
    }
    for problem in &report.problems {
        writeln!(out, "unreadable: {problem}")?;
    }
    Ok(())
}

fn print_search_hits(hits: &[leakdex::query::SearchHit], json: bool) -> Result<(), Failure> {
    for hit in hits {
        if json {
            println!("{}", serde_json::to_string(hit)?);
        } else {
            println!(
                "{:.2}  {}  {}  record {}  line {}  byte {}\n      {}",
                hit.score, hit.corpus, hit.file, hit.record, hit.line, hit.offset, hit.snippet
            );
            for matched in &hit.matched {
                println!("      matched {}: {}", matched.field, matched.marked());
            }
        }
    }
    if !json {
        println!("{} hits", hits.len());
    }
    Ok(())
}

/// Commands answered by a server; they print through the same functions as the local ones.
fn run_remote(
    url: &str,
    token: Option<&str>,
    tls: Option<leakdex::service::client::ClientTls>,
    command: Command,
) -> Result<ExitCode, Failure> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let connected = match &tls {
            Some(tls) => leakdex::service::client::connect_tls(url, token, tls).await,
            None => remote::connect(url, token).await,
        };
        let channel = connected.map_err(|error| -> Failure { error.to_string().into() })?;
        match command {
            Command::Lookup {
                kind,
                corpus,
                json,
                file,
                region: _,
                values,
            } => {
                let stdout = std::io::stdout();
                let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
                let reader = open_queries(file.as_deref())?;
                remote::lookup(
                    channel,
                    values,
                    reader,
                    parse_kind(kind.as_deref())?,
                    corpus,
                    json,
                    &mut out,
                )
                .await?;
                out.flush()?;
                Ok(ExitCode::SUCCESS)
            }
            Command::Search {
                json,
                limit,
                corpus,
                plain,
                query,
            } => {
                print_search_hits(&remote::search(channel, query, plain, limit, corpus).await?, json)?;
                Ok(ExitCode::SUCCESS)
            }
            Command::RangeLookup { kind, region, value } => {
                let (kind, normalized, prefix, suffix) = range_query(kind.as_deref(), region, &value)?;
                let entries = remote::range_lookup(channel, prefix.clone()).await?;
                print_range(kind, &normalized, &prefix, &suffix, &entries);
                Ok(ExitCode::SUCCESS)
            }
            Command::Show {
                corpus,
                file,
                record,
                json,
            } => {
                let shown = remote::show(channel, corpus.clone(), file, record).await?;
                print_shown(&corpus, &shown, json)?;
                Ok(ExitCode::SUCCESS)
            }
            Command::Corpora { json } => {
                print_corpora(&remote::corpora(channel).await?, json)?;
                Ok(ExitCode::SUCCESS)
            }
            Command::Ingest {
                corpus,
                kind,
                acquired,
                source,
                force,
                no_text,
                json,
                paths,
                ..
            } => {
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
                print_ingest_report(&remote::ingest(channel, request).await?, json)
            }
            _ => Err("--server works with ingest, lookup, search, show and corpora".into()),
        }
    })
}

fn parse_kind(kind: Option<&str>) -> Result<Option<Kind>, Failure> {
    Ok(match kind {
        None | Some("auto") => None,
        Some(name) => Some(name.parse::<Kind>()?),
    })
}

/// Queries from a file, or standard input for `-`.
fn open_queries(file: Option<&Path>) -> Result<Option<Box<dyn BufRead + Send>>, Failure> {
    Ok(match file {
        None => None,
        Some(path) if path == Path::new("-") => Some(Box::new(std::io::BufReader::new(std::io::stdin()))),
        Some(path) => Some(Box::new(std::io::BufReader::with_capacity(
            1 << 20,
            std::fs::File::open(path).map_err(|error| format!("{}: {error}", path.display()))?,
        ))),
    })
}

fn print_ingest_report(report: &BuildReport, json: bool) -> Result<ExitCode, Failure> {
    // First, whatever the output format: a canary names the copy that leaked.
    for meeting in &report.canaries {
        eprintln!("CANARY: {meeting}");
    }
    if json {
        println!("{}", serde_json::to_string(report)?);
    } else {
        for skipped in &report.skipped {
            eprintln!(
                "skipped {skipped}: already in corpus {} (use --force to ingest again)",
                report.corpus
            );
        }
        for file in &report.files {
            println!(
                "{}\t{}\t{} records\t{} rejected\tsha256 {}",
                file.path, file.format, file.records, file.rejected, file.sha256
            );
        }
        println!(
            "corpus {}: {} records, {} rejected, segments {}",
            report.corpus,
            report.records,
            report.rejected,
            report.segments.join(", ")
        );
    }
    for error in &report.errors {
        eprintln!("leakdex: {error}");
    }
    Ok(if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_corpora(corpora: &[CorpusSummary], json: bool) -> Result<(), Failure> {
    if json {
        println!("{}", serde_json::to_string(corpora)?);
        return Ok(());
    }
    for corpus in corpora {
        println!(
            "{}\t{}\tacquired {}\t{} records\t{} files\t{} segments",
            corpus.name,
            corpus.kind,
            corpus.acquired.as_deref().unwrap_or("-"),
            corpus.records,
            corpus.files.len(),
            corpus.segments.len()
        );
    }
    Ok(())
}

fn print_shown(corpus: &str, shown: &ShownRecord, json: bool) -> Result<(), Failure> {
    if json {
        println!("{}", serde_json::to_string(shown)?);
        return Ok(());
    }
    println!(
        "{corpus}  {}  record {}  line {}  byte {}",
        shown.file, shown.record, shown.line, shown.offset
    );
    for field in &shown.fields {
        println!(
            "  {:<28} {:<16} {}  ->  {}",
            field.name,
            field.kind.as_str(),
            field.raw,
            field.normalized
        );
    }
    Ok(())
}

/// One lookup answer: a JSON line, or text.
fn write_answer(answer: &Answer, json: bool, out: &mut impl Write) -> Result<(), Failure> {
    if json {
        serde_json::to_writer(&mut *out, answer)?;
        out.write_all(b"\n")?;
    } else {
        write_answer_text(answer, out)?;
    }
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

/// Queries are answered in batches of this many, so any number streams in bounded memory.
const LOOKUP_BATCH: usize = 1 << 18;

fn run_lookup(
    data: &DataDir,
    index: &Index,
    region: Region,
    kind: Option<Kind>,
    file: Option<&Path>,
    values: Vec<String>,
    json: bool,
) -> Result<ExitCode, Failure> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    let audit = AuditLog::new(data);
    // Every batch is on the record before it is shown.
    let emit = |answers: Vec<Answer>, out: &mut BufWriter<std::io::StdoutLock<'_>>| -> Result<(), Failure> {
        audit.append(&AuditRequest::local("Lookup").with_answers(&data.key(), &answers))?;
        answers.iter().try_for_each(|answer| write_answer(answer, json, out))
    };
    let reader = open_queries(file)?;
    let mut batch: Vec<Query> = values.into_iter().map(|value| Query { value, kind }).collect();
    if let Some(reader) = reader {
        for line in reader.lines() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            batch.push(Query { value: line, kind });
            if batch.len() == LOOKUP_BATCH {
                emit(lookup_batch(index, region, &batch), &mut out)?;
                batch.clear();
            }
        }
    }
    if !batch.is_empty() {
        emit(lookup_batch(index, region, &batch), &mut out)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn write_answer_text(answer: &Answer, out: &mut impl Write) -> std::io::Result<()> {
    if let Some(error) = &answer.error {
        return writeln!(out, "{}: {error}", answer.query);
    }
    let hits = answer.hits.as_deref().unwrap_or_default();
    writeln!(
        out,
        "{} ({} {}): {} hits",
        answer.query,
        answer.kind.map_or("?", Kind::as_str),
        answer.normalized.as_deref().unwrap_or_default(),
        hits.len()
    )?;
    for hit in hits {
        writeln!(
            out,
            "  {}  {}  record {}  line {}  byte {}  field {}{}",
            hit.corpus,
            hit.file,
            hit.record,
            hit.line,
            hit.offset,
            hit.field,
            hit.acquired
                .map(|date| format!("  acquired {date}"))
                .unwrap_or_default()
        )?;
    }
    Ok(())
}

/// A bar of `total` records on a terminal (hidden otherwise), for the full-text index.
fn records_bar(total: u64) -> ProgressBar {
    bar(
        total,
        "full text {bar:40} {human_pos}/{human_len} records {per_sec} eta {eta}",
    )
}

/// An ingest's progress on a terminal: the input's bytes, then the records of its full text.
struct IngestBars {
    bytes: ProgressBar,
    text: std::sync::OnceLock<ProgressBar>,
}

impl IngestBars {
    fn finish(&self) {
        self.bytes.finish_and_clear();
        if let Some(text) = self.text.get() {
            text.finish_and_clear();
        }
    }
}

impl leakdex::segment::Progress for IngestBars {
    fn published(&self, report: &BuildReport) {
        self.bytes.finish_and_clear();
        let _ = self.text.set(records_bar(report.records));
    }

    fn text_indexed(&self, records: u64) {
        if let Some(text) = self.text.get() {
            text.inc(records);
        }
    }
}

/// When the exact index of a demo corpus was published: seconds since `.0`, kept in `.1`.
struct Timed<'a>(&'a std::time::Instant, &'a std::sync::OnceLock<f64>);

impl leakdex::segment::Progress for Timed<'_> {
    fn published(&self, _report: &BuildReport) {
        let _ = self.1.set(self.0.elapsed().as_secs_f64());
    }
}

/// A bar of the input's bytes on a terminal, and the callback the scan feeds it.
fn progress(paths: &[PathBuf]) -> (ProgressBar, Option<leakdex::ingest::OnBytes>) {
    let total: u64 = paths.iter().map(|path| leakdex::ingest::disk_size(path)).sum();
    let bar = bar(total, "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}");
    let counter = bar.clone();
    (bar, Some(Arc::new(move |bytes| counter.inc(bytes))))
}

/// A progress bar of `total` drawn on stderr with `template` when it is a terminal; hidden
/// otherwise (a pipe or a log gets no control characters).
fn bar(total: u64, template: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()));
    bar
}

/// Inspects with a progress bar on a terminal; exit code 1 if any file could not be read.
fn run_inspect(paths: &[PathBuf], mut options: ScanOptions, json: bool) -> ExitCode {
    let (bar, on_bytes) = progress(paths);
    options.on_bytes = on_bytes;
    let report = inspect(paths, &options);
    bar.finish_and_clear();
    if json {
        match serde_json::to_string(&report) {
            Ok(text) => println!("{text}"),
            Err(error) => eprintln!("leakdex: {error}"),
        }
    } else {
        print!("{}", report.to_text());
    }
    let failed = !report.errors.is_empty() || report.files.iter().any(|file| file.error.is_some());
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

fn run_demo(out: &Path, records: u64, data_dir: Option<&Path>) -> Result<ExitCode, Failure> {
    println!("generating {records} records per corpus into {}", out.display());
    let manifest = leakdex::synth::generate(&out.join("corpora"), records, 1)?;
    let data_root = data_dir.map_or_else(|| out.join("data"), Path::to_path_buf);
    if data_root.join("catalog.json").exists() && data_dir.is_none() {
        std::fs::remove_dir_all(&data_root)?;
    }
    let (data, catalog) = open_data(Some(&data_root), &Backends::default())?;
    for (corpus, acquired) in
        manifest
            .corpora
            .iter()
            .zip(["2021-06-01", "2022-01-15", "2022-09-30", "2023-02-11", "2019-11-20"])
    {
        let meta = Corpus {
            acquired: Some(acquired.to_string()),
            source: Some("leakdex gen".to_string()),
            ..Corpus::new(
                corpus.file.split('.').next().unwrap_or(&corpus.file).to_string(),
                CorpusKind::Leak,
            )
        };
        let started = std::time::Instant::now();
        let exact = std::sync::OnceLock::new();
        let report = index_corpus(
            &data,
            catalog.as_ref(),
            &meta,
            &[out.join("corpora").join(&corpus.file)],
            &BuildOptions::default(),
            true,
            &Timed(&started, &exact),
        )?;
        let exact = exact.get().copied().unwrap_or_default();
        println!(
            "ingested {:<14} {:>8} records: exact index in {exact:.2} s, full text by {:.2} s",
            meta.name,
            report.records,
            started.elapsed().as_secs_f64()
        );
    }
    // A bot-style suspect sample: phones from two corpora written every which way, and some
    // numbers that exist nowhere.
    let sample = leakdex::synth::suspect_phones(records, 1, 1000);
    let sample_path = out.join("suspect_phones.txt");
    std::fs::write(&sample_path, sample.join("\n"))?;
    let index = Index::open(&data, catalog.as_ref(), &[])?;
    let started = std::time::Instant::now();
    let queries = Query::detected(&sample);
    let answers = lookup_batch(&index, Region::INDIA, &queries);
    let elapsed = started.elapsed();
    let found = answers
        .iter()
        .filter(|answer| answer.hits.as_ref().is_some_and(|hits| !hits.is_empty()))
        .count();
    println!(
        "\nlooked up {} suspect phone numbers in {:.1} ms: {found} found, {} found nowhere",
        answers.len(),
        elapsed.as_secs_f64() * 1000.0,
        answers.len() - found
    );
    let mut per_corpus: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for answer in &answers {
        let mut corpora: Vec<&str> = answer.hits.iter().flatten().map(|hit| hit.corpus.as_ref()).collect();
        corpora.dedup();
        for corpus in corpora {
            *per_corpus.entry(corpus).or_default() += 1;
        }
    }
    for (corpus, count) in &per_corpus {
        println!(
            "  {corpus:<14} holds {count:>5} of them ({:.1}%)",
            *count as f64 * 100.0 / answers.len() as f64
        );
    }
    println!("\nexamples:");
    let mut text = Vec::new();
    for answer in answers
        .iter()
        .filter(|answer| answer.hits.as_ref().is_some_and(|hits| !hits.is_empty()))
        .take(3)
    {
        write_answer_text(answer, &mut text)?;
    }
    print!("{}", String::from_utf8_lossy(&text));
    let person = leakdex::synth::Person::new(1, 7);
    let query = format!(
        "name:\"{}\" district:\"{}\"",
        person.name().to_lowercase(),
        person.district.to_lowercase()
    );
    let hits = search(&index, &query, 5, &[])?;
    println!("\nsearch {query}: {} hits", hits.len());
    for hit in &hits {
        println!(
            "  {:.2}  {}  {}  record {}  {}",
            hit.score, hit.corpus, hit.file, hit.record, hit.snippet
        );
    }
    // The question leakdex exists for: a bot's records, copied from somewhere. Where from?
    let suspects_path = out.join("suspect_records.jsonl");
    leakdex::synth::write_suspects(&suspects_path, &leakdex::synth::suspect_records(records, 1, 2000))?;
    let started = std::time::Instant::now();
    let (suspects, problems) = read_suspects(std::slice::from_ref(&suspects_path), &ScanOptions::default());
    let options = MatchOptions {
        limit: usize::MAX,
        ..MatchOptions::default()
    };
    let matches = match_records(&index, &suspects, &options)?;
    let report = attribute(&index, &suspects, &matches, problems);
    let elapsed = started.elapsed();
    let html = out.join("provenance.html");
    std::fs::write(&html, leakdex::report::render_html(&report))?;
    println!(
        "\nprovenance of {} bot-style suspect records ({}) in {:.1} ms; HTML report: {}\n",
        suspects.len(),
        suspects_path.display(),
        elapsed.as_secs_f64() * 1000.0,
        html.display()
    );
    print_provenance(&report, false)?;
    println!(
        "\ndata directory: {} (try: leakdex --data-dir {} lookup --file {}; leakdex --data-dir {} provenance {})",
        data_root.display(),
        data_root.display(),
        sample_path.display(),
        data_root.display(),
        suspects_path.display()
    );
    Ok(ExitCode::SUCCESS)
}
